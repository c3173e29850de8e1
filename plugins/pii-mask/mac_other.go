//go:build !wasm

package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"hash"
)

// keyedHash is the HMAC-SHA256 of the hash and fpe strategies. Natively
// it is crypto/hmac, whose SHA-256 has assembly (the same MACs:
// TestSHA256 checks hmacSHA256, the Wasm build's, against it).
type keyedHash struct{ h hash.Hash }

func newKeyedHash(key []byte) *keyedHash { return &keyedHash{hmac.New(sha256.New, key)} }

func (k *keyedHash) Reset()              { k.h.Reset() }
func (k *keyedHash) Write(p []byte)      { k.h.Write(p) }
func (k *keyedHash) Sum(b []byte) []byte { return k.h.Sum(b) }
