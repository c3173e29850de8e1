//go:build cgo

package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicegw/sluice/abi"
	"github.com/sluicegw/sluice/conformance"
	"github.com/sluicegw/sluice/gateway/sqlscan"
	"github.com/sluicegw/sluice/sdk/go/sluice"
)

var verdictNames = map[abi.Verdict]string{abi.Allow: "allow", abi.Block: "block", abi.RequireApproval: "approve"}

// TestVectors runs vectors/*.json natively through the SDK's dispatch (the
// code the wasm exports run), with the host's own SQL analysis (sqlscan)
// for cases without facts, as `sluice plugin test` does against the module.
func TestVectors(t *testing.T) {
	files, err := filepath.Glob("vectors/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no vectors: %v", err)
	}
	total := 0
	for _, file := range files {
		vf, err := conformance.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if vf.Plugin != "sql-guard" {
			t.Fatalf("%s: plugin %q", file, vf.Plugin)
		}
		if vf.WantLoadError != "" {
			total++
			t.Run(filepath.Base(file), func(t *testing.T) {
				err := sluice.NewHarness(hooks()).Init(vf.Config)
				if err == nil || !strings.Contains(err.Error(), vf.WantLoadError) {
					t.Fatalf("init error %v, want one containing %q", err, vf.WantLoadError)
				}
			})
			continue
		}
		for _, c := range vf.Cases {
			total++
			t.Run(filepath.Base(file)+"/"+c.Name, func(t *testing.T) {
				config := vf.Config
				if c.Config != nil {
					config = c.Config
				}
				h := sluice.NewHarness(hooks())
				if err := h.Init(config); err != nil {
					t.Fatalf("init %s: %v", config, err)
				}
				if err := h.SelfTest(); err != nil {
					t.Fatalf("selftest with %s: %v", config, err)
				}
				if c.Command == nil || c.Want == nil {
					t.Fatal("sql-guard vectors are command cases with want")
				}
				kind, ok := conformance.CommandKind(c.Command.Kind)
				if !ok {
					t.Fatalf("unknown command kind %q", c.Command.Kind)
				}
				var cb abi.CommandBuilder
				cb.Set(kind, c.Command.Text, "vector", "vector")
				if c.Command.Facts == nil && kind == abi.CommandSQL {
					a, err := sqlscan.Analyze(c.Command.Text)
					if err != nil {
						t.Fatal(err)
					}
					a.AddFacts(&cb)
				}
				for _, f := range c.Command.Facts {
					stmt, _ := f[0].(float64)
					key, _ := f[1].(string)
					val, _ := f[2].(string)
					cb.AddFact(int(stmt), key, val)
				}
				v, err := h.Command(&cb)
				if err != nil {
					t.Fatal(err)
				}
				if got := verdictNames[v.Decision]; got != c.Want.Verdict || !strings.Contains(v.Reason, c.Want.ReasonContains) {
					t.Errorf("%s %q, want %s containing %q", got, v.Reason, c.Want.Verdict, c.Want.ReasonContains)
				}
			})
		}
	}
	t.Logf("%d cases in %d files", total, len(files))
}
