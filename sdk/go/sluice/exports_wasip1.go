//go:build wasip1

package sluice

import "unsafe"

// The module's exports (ABI.md 2.2). They live in this package, not in the
// plugin's main package, so importing sluice is all a plugin needs. Every
// hook is exported whatever the plugin registered: a hook the plugin did
// not register returns StatusFailed with a message, and the manifest's
// "hooks" decides which ones the host calls.

// arenaWords owns the arena; allocating it as []uint64 makes it 8-byte
// aligned. The Go heap does not move objects, so its address is stable.
var (
	arenaWords []uint64
	arena      []byte
)

// maxArena bounds a request; the memory limit the host sets (default
// 64 MiB) stops it far earlier.
const maxArena = 1 << 31

//go:wasmexport sluice_abi_v1
func exportABIv1() {}

// exportArena returns the address of a region of at least size bytes, 8-byte
// aligned, kept for the life of the instance; it reallocates only to grow
// (the host writes its input again after a grow, so nothing is copied).
// It returns 0 for a request it cannot satisfy; running out of linear
// memory is a Go runtime fatal error, i.e. a trap the host's fail mode
// handles.
//
//go:wasmexport sluice_arena
func exportArena(size uint32) uint32 {
	if uint64(size) > maxArena {
		return 0
	}
	if int(size) > len(arenaWords)*8 || len(arenaWords) == 0 {
		arenaWords = make([]uint64, max((int(size)+7)/8, 1))
	}
	base := unsafe.Pointer(&arenaWords[0])
	// The arena is exactly as large as the host believes, so an output that
	// fits here fits the host's view.
	arena = unsafe.Slice((*byte)(base), int(size))
	return uint32(uintptr(base))
}

//go:wasmexport sluice_init
func exportInit(inLen, outOff uint32) int32 {
	return int32(registered.init(arena, inLen, outOff))
}

//go:wasmexport sluice_command
func exportCommand(inLen, outOff uint32) int32 {
	return int32(registered.command(arena, inLen, outOff))
}

//go:wasmexport sluice_records
func exportRecords(inLen, outOff uint32) int32 {
	return int32(registered.records(arena, inLen, outOff))
}

//go:wasmexport sluice_plan
func exportPlan(inLen, outOff uint32) int32 {
	return int32(registered.plan(arena, inLen, outOff))
}

//go:wasmexport sluice_selftest
func exportSelfTest() int32 {
	st, msg := registered.selfTest()
	if msg != "" {
		Log(LogError, msg)
	}
	return int32(st)
}
