//go:build wasm

package sluice

import "unsafe"

// u32 reads the little-endian uint32 at b[i:i+4] (Wasm is little-endian
// and allows unaligned loads). It is small enough to be inlined even into
// a large function, where binary.LittleEndian.Uint32 is not (the inliner's
// budget in big functions is 20), and each call would cost a Go-Wasm call.
// Callers slice b so that i+4 <= len(b); the index check covers b[i].
func u32(b []byte, i int) uint32 { return *(*uint32)(unsafe.Pointer(&b[i])) }
