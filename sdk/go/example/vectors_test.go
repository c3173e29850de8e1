//go:build !wasip1

package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicegw/sluice/abi"
	"github.com/sluicegw/sluice/conformance"
	"github.com/sluicegw/sluice/sdk/go/sluice"
)

var verdictNames = map[abi.Verdict]string{abi.Allow: "allow", abi.Block: "block", abi.RequireApproval: "approve"}

// TestVectors runs the batch and command cases of vectors/*.json natively
// through the SDK's dispatch (the same code the wasm exports run). The
// format cases (ndjson, json, csv, text input) need the host's tokenizers
// and re-framing; `sluice plugin test` runs them against the built module.
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
		if vf.Plugin != "json-field-mask" || len(vf.Cases) == 0 {
			t.Fatalf("%s: plugin %q with %d cases", file, vf.Plugin, len(vf.Cases))
		}
		for _, c := range vf.Cases {
			// Stream cases need the host's tokenizers: the conformance
			// suite runs every case, these included, through the real host.
			if c.Input != nil {
				continue
			}
			total++
			t.Run(filepath.Base(file)+"/"+c.Name, func(t *testing.T) {
				runVector(t, vf.Config, c)
			})
		}
	}
	t.Logf("%d batch and command cases in %d files", total, len(files))
}

func runVector(t *testing.T, fileConfig json.RawMessage, c conformance.Case) {
	config := fileConfig
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
	switch {
	case c.Batch != nil && c.Command == nil:
		runBatchVector(t, h, c)
	case c.Command != nil && c.Batch == nil:
		runCommandVector(t, h, c)
	default:
		t.Fatal("a case is exactly one of batch, command or input")
	}
}

func runBatchVector(t *testing.T, h *sluice.Harness, c conformance.Case) {
	if c.WantRecords == nil {
		t.Fatal("a batch case needs want_records")
	}
	var bb abi.BatchBuilder
	var types []abi.ColumnType
	for _, col := range c.Batch.Columns {
		typ, ok := conformance.ColumnType(col.Type)
		if !ok {
			t.Fatalf("column %s: unknown type %q", col.Name, col.Type)
		}
		bb.AddColumn([]byte(col.Name), typ, 0)
		types = append(types, typ)
	}
	repeat := max(1, c.Batch.RepeatRecords)
	for range repeat {
		for r, rec := range c.Batch.Records {
			if len(rec) != len(types) {
				t.Fatalf("record %d has %d values for %d columns", r, len(rec), len(types))
			}
			bb.BeginRecord()
			for i, v := range rec {
				if v.Null {
					bb.AddField(i, abi.KindNull, true, nil)
				} else {
					bb.AddField(i, conformance.FieldKind(types[i]), false, []byte(v.S))
				}
			}
		}
	}
	var wantRecords [][]conformance.Value
	for range repeat {
		wantRecords = append(wantRecords, c.WantRecords...)
	}
	got, err := h.Records(&bb)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(wantRecords) {
		t.Fatalf("got %d records, want %d", len(got), len(wantRecords))
	}
	for r, want := range wantRecords {
		for i, w := range want {
			g := got[r][i]
			if w.Null != g.Null || (!w.Null && w.S != string(g.Data)) {
				t.Fatalf("record %d column %s: got %s, want %s", r, c.Batch.Columns[i].Name, g, w)
			}
		}
	}
}

func runCommandVector(t *testing.T, h *sluice.Harness, c conformance.Case) {
	if c.Want == nil {
		t.Fatal("a command case needs want")
	}
	kind, ok := conformance.CommandKind(c.Command.Kind)
	if !ok {
		t.Fatalf("unknown command kind %q", c.Command.Kind)
	}
	var cb abi.CommandBuilder
	cb.Set(kind, c.Command.Text, "vector", "vector")
	for _, f := range c.Command.Facts {
		if len(f) != 3 {
			t.Fatalf("fact %v: want [stmt, key, value]", f)
		}
		stmt, ok1 := f[0].(float64)
		key, ok2 := f[1].(string)
		val, ok3 := f[2].(string)
		if !ok1 || !ok2 || !ok3 {
			t.Fatalf("fact %v: want [stmt, key, value]", f)
		}
		cb.AddFact(int(stmt), key, val)
	}
	v, err := h.Command(&cb)
	if err != nil {
		t.Fatal(err)
	}
	if got := verdictNames[v.Decision]; got != c.Want.Verdict {
		t.Errorf("verdict %s (%q), want %s", got, v.Reason, c.Want.Verdict)
	}
	if !strings.Contains(v.Reason, c.Want.ReasonContains) {
		t.Errorf("reason %q does not contain %q", v.Reason, c.Want.ReasonContains)
	}
}
