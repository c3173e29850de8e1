//go:build wasip1

package sluice

import "unsafe"

// hostLog is the ABI's only sluice import (ABI.md 2.3):
// sluice_v1.log(level i32, ptr i32, len i32).
//
//go:wasmimport sluice_v1 log
func hostLog(level int32, ptr unsafe.Pointer, n uint32)

func defaultLogSink(level LogLevel, msg string) {
	hostLog(int32(level), unsafe.Pointer(unsafe.StringData(msg)), uint32(len(msg)))
}
