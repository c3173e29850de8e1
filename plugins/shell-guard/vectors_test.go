//go:build !wasip1

// The vectors need the host's shell analysis (gateway/shellscan) and the
// conformance reader, which import host-only packages: native only.

package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicegw/sluice/abi"
	"github.com/sluicegw/sluice/conformance"
	"github.com/sluicegw/sluice/gateway/shellscan"
	"github.com/sluicegw/sluice/sdk/go/sluice"
)

var verdictNames = map[abi.Verdict]string{abi.Allow: "allow", abi.Block: "block", abi.RequireApproval: "approve"}

// TestVectors runs vectors/*.json natively through the SDK's dispatch, with
// the host's real shell analysis for cases without facts, as `sluice plugin
// test` does against the built module.
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
		if vf.Plugin != "shell-guard" || len(vf.Cases) == 0 {
			t.Fatalf("%s: plugin %q with %d cases", file, vf.Plugin, len(vf.Cases))
		}
		for _, c := range vf.Cases {
			total++
			t.Run(filepath.Base(file)+"/"+c.Name, func(t *testing.T) {
				runVector(t, vf.Config, c)
			})
		}
	}
	t.Logf("%d cases in %d files", total, len(files))
}

func runVector(t *testing.T, fileConfig json.RawMessage, c conformance.Case) {
	config := fileConfig
	if c.Config != nil {
		config = c.Config
	}
	if config == nil {
		config = json.RawMessage(`{}`)
	}
	h := sluice.NewHarness(hooks())
	if err := h.Init(config); err != nil {
		t.Fatalf("init %s: %v", config, err)
	}
	if err := h.SelfTest(); err != nil {
		t.Fatalf("selftest with %s: %v", config, err)
	}
	if c.Command == nil || c.Want == nil {
		t.Fatal("a shell-guard case is a command with want")
	}
	kind, ok := conformance.CommandKind(c.Command.Kind)
	if !ok {
		t.Fatalf("unknown command kind %q", c.Command.Kind)
	}
	var cb abi.CommandBuilder
	cb.Set(kind, c.Command.Text, "vector", "vector")
	if c.Command.Facts == nil && kind == abi.CommandShell {
		shellscan.Analyze(c.Command.Text).AddFacts(&cb)
	}
	for _, f := range c.Command.Facts {
		stmt, ok1 := f[0].(float64)
		key, ok2 := f[1].(string)
		val, ok3 := f[2].(string)
		if len(f) != 3 || !ok1 || !ok2 || !ok3 {
			t.Fatalf("fact %v: want [stmt, key, value]", f)
		}
		cb.AddFact(int(stmt), key, val)
	}
	v, err := h.Command(&cb)
	if err != nil {
		t.Fatal(err)
	}
	if got := verdictNames[v.Decision]; got != c.Want.Verdict {
		t.Errorf("%s: verdict %s (%q), want %s", c.Command.Text, got, v.Reason, c.Want.Verdict)
	}
	if !strings.Contains(v.Reason, c.Want.ReasonContains) {
		t.Errorf("%s: reason %q does not contain %q", c.Command.Text, v.Reason, c.Want.ReasonContains)
	}
}
