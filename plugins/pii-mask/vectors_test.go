//go:build cgo

// The vectors run with the host's own SQL and shell analysis, which links
// the cgo SQL parser: native builds only (never the wasip1 module).

package main

import (
	"testing"

	"github.com/sluicegw/sluice/conformance/nativetest"
)

// TestVectors runs vectors/*.json through the SDK's dispatch (the code the
// module's exports run); `sluice plugin test` and the conformance suite run
// every case, streams included, against the built module.
func TestVectors(t *testing.T) { nativetest.Run(t, "vectors", hooks) }
