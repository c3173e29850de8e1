package sluice_test

import (
	"fmt"

	"github.com/sluicegw/sluice/abi"
	"github.com/sluicegw/sluice/sdk/go/sluice"
)

// guard is the plugin of the package documentation. A real plugin passes
// it to sluice.Register from an init function.
var guard = sluice.Plugin{
	Command: func(c *sluice.Command) sluice.Verdict {
		if c.Has("where", "false") {
			return sluice.Block("DELETE or UPDATE without WHERE")
		}
		return sluice.Allow()
	},
	Records: func(b *sluice.Batch, e *sluice.Edits) error {
		for f := range b.Fields() {
			if !f.Null && string(f.Name) == "ssn" {
				e.ReplaceString(f, "***-**-****")
			}
		}
		return nil
	},
}

// Harness runs a plugin natively through the same dispatch code as the wasm
// exports, so a plugin is unit-tested with go test.
func ExampleHarness() {
	h := sluice.NewHarness(guard)

	var cb abi.CommandBuilder
	cb.Set(abi.CommandSQL, "DELETE FROM users", "ci-deploy", "prod-db")
	cb.AddFact(0, "tag", "DELETE")
	cb.AddFact(0, "where", "false")
	v, err := h.Command(&cb)
	fmt.Println(v.Decision, v.Reason, err)

	var bb abi.BatchBuilder
	name := bb.AddColumn([]byte("name"), abi.TypeText, 25)
	ssn := bb.AddColumn([]byte("ssn"), abi.TypeText, 25)
	bb.BeginRecord()
	bb.AddField(name, abi.KindString, false, []byte("Ann"))
	bb.AddField(ssn, abi.KindString, false, []byte("123-45-6789"))
	bb.BeginRecord()
	bb.AddField(name, abi.KindString, false, []byte("Bob"))
	bb.AddField(ssn, abi.KindNull, true, nil)
	records, err := h.Records(&bb)
	fmt.Println(records, err)
	// Output:
	// block DELETE or UPDATE without WHERE <nil>
	// [[Ann ***-**-****] [Bob NULL]] <nil>
}
