// Package sluice is the Go SDK for sluice policy plugins: WebAssembly
// modules that mask fields in records and block commands or send them to a
// human for approval. It implements the guest side of the plugin ABI v1
// (abi/ABI.md) on top of package abi: importing it gives a module the
// exports the host looks for (sluice_abi_v1, sluice_arena, sluice_init,
// sluice_command, sluice_records, sluice_plan, sluice_selftest), and the
// plugin only fills in a Plugin with Go functions and calls Register.
//
// A complete plugin that blocks DELETE and UPDATE without WHERE and masks
// a column named "ssn":
//
//	package main
//
//	import "github.com/sluicegw/sluice/sdk/go/sluice"
//
//	func init() {
//		sluice.Register(sluice.Plugin{
//			Command: func(c *sluice.Command) sluice.Verdict {
//				if c.Has("where", "false") {
//					return sluice.Block("DELETE or UPDATE without WHERE")
//				}
//				return sluice.Allow()
//			},
//			Records: func(b *sluice.Batch, e *sluice.Edits) error {
//				for f := range b.Fields() {
//					if !f.Null && string(f.Name) == "ssn" {
//						e.ReplaceString(f, "***-**-****")
//					}
//				}
//				return nil
//			},
//		})
//	}
//
//	func main() {} // required by the go tool, never run: see below
//
// with a manifest, manifest.json:
//
//	{"abi": 1, "name": "no-unbounded-writes", "version": "0.1.0",
//	 "hooks": ["command", "records"], "on_error": "fail_closed"}
//
// Build a WASI reactor and add the manifest as a custom section (the Go
// toolchain cannot emit one):
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o plugin.wasm .
//	sluice plugin manifest set plugin.wasm manifest.json
//	sluice plugin test plugin.wasm --vectors vectors
//
// # Rules
//
// Register from an init function. A -buildmode=c-shared module runs the
// package initializers in _initialize and never runs main. Building without
// -buildmode=c-shared produces a WASI command (it exports _start), which the
// host refuses to load.
//
// Views alias the arena. A Batch, Command, Field, Column and every []byte
// read from them point into the arena the host rewrites on every call; copy
// what you keep beyond the hook call. Init's config is the same.
//
// Allocate nothing per batch. Dispatch itself allocates nothing (the tests
// check it with testing.AllocsPerRun), and the views, the iterators
// (Batch.Fields, Batch.Records, Record.Fields, Command.Facts) and the edits
// do not either. Precompute in Init what depends on the config, compare
// names with string(f.Name) == "x" (no allocation), and reuse buffers you
// keep in package variables. A Go garbage collection inside a call eats the
// call's time budget.
//
// Hooks must be repeatable. When the output does not fit, the dispatcher
// returns NO_SPACE and the host grows the arena, writes the same input again
// and repeats the call.
//
// # Failures
//
// An error from a hook, a verdict or action the ABI does not know, or a Go
// panic inside a hook (including a failed bounds check) becomes a FAILED
// status with the message as its output: a clean plugin failure, to which
// the host applies the plugin's fail mode (fail_closed by default: block
// the command, redact the batch). What the dispatcher cannot catch, such as
// a Go runtime fatal error (out of memory, stack overflow), a trap or an
// infinite loop, is stopped by the host (memory limit, time budget) and
// handled by the same fail mode, after which the instance is discarded.
//
// # Concurrency
//
// A wasm instance runs one call at a time, so nothing here is locked; the
// host runs a pool of instances for parallelism, each with its own package
// variables. Register, the dispatcher and Harness are not safe for
// concurrent use in native code either.
//
// # Testing
//
// Harness runs a Plugin natively through the same dispatch code as the wasm
// exports, with batches and commands built by abi.BatchBuilder and
// abi.CommandBuilder, and applies the edits as the host does. The language
// neutral vectors (sluice plugin test --vectors) then check the built
// module inside the real host.
package sluice
