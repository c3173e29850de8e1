//go:build !wasm

package sluice

import "encoding/binary"

// u32 reads the little-endian uint32 at b[i:i+4].
func u32(b []byte, i int) uint32 { return binary.LittleEndian.Uint32(b[i:]) }
