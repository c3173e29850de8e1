//go:build wasm

package main

// keyedHash is the HMAC-SHA256 of the hash and fpe strategies. In Wasm it
// is hmacSHA256: crypto/sha256 has no assembly there, and its generic
// code is about twice as slow as sha256Block in Go's Wasm code.
type keyedHash = hmacSHA256

func newKeyedHash(key []byte) *keyedHash { return newHMACSHA256(key) }
