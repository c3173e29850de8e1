// Package nativetest runs conformance vectors against a Go plugin natively,
// through the Go SDK's Harness (the dispatch code the module's exports
// run), so a Go plugin's `go test` checks its vectors without building the
// module. Command cases get the host's own analysis, as in the gateway.
// Stream cases (format + input) need the host's tokenizers and are left to
// the conformance suite, which runs every case through the real host.
//
// A Go plugin's test is one line:
//
//	func TestVectors(t *testing.T) { nativetest.Run(t, "vectors", hooks) }
package nativetest

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicegw/sluice/abi"
	"github.com/sluicegw/sluice/conformance"
	"github.com/sluicegw/sluice/sdk/go/sluice"
)

// Run runs every dir/*.json vector file against the plugin newPlugin
// returns (a fresh one per case, as each instance is).
func Run(t *testing.T, dir string, newPlugin func() sluice.Plugin) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no vectors in %s: %v", dir, err)
	}
	total, streams := 0, 0
	for _, file := range files {
		vf, err := conformance.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if vf.WantLoadError != "" {
			total++
			t.Run(filepath.Base(file), func(t *testing.T) {
				err := sluice.NewHarness(newPlugin()).Init(vf.Config)
				if err == nil || !strings.Contains(err.Error(), vf.WantLoadError) {
					t.Fatalf("init error %v, want one containing %q", err, vf.WantLoadError)
				}
			})
			continue
		}
		for _, c := range vf.Cases {
			if c.Input != nil {
				streams++
				continue
			}
			total++
			t.Run(filepath.Base(file)+"/"+c.Name, func(t *testing.T) {
				runCase(t, newPlugin(), vf.Config, c)
			})
		}
	}
	t.Logf("%d batch and command cases in %d files (%d stream cases run by the conformance suite)", total, len(files), streams)
}

func runCase(t *testing.T, p sluice.Plugin, fileConfig json.RawMessage, c conformance.Case) {
	config := fileConfig
	if c.Config != nil {
		config = c.Config
	}
	h := sluice.NewHarness(p)
	if err := h.Init(config); err != nil {
		t.Fatalf("init %s: %v", config, err)
	}
	if p.SelfTest != nil {
		if err := h.SelfTest(); err != nil {
			t.Fatalf("selftest with %s: %v", config, err)
		}
	}
	switch {
	case c.Batch != nil && c.Command == nil:
		runBatch(t, h, c)
	case c.Command != nil && c.Batch == nil:
		runCommand(t, h, c)
	default:
		t.Fatal("a case is exactly one of batch, command or input")
	}
}

func runBatch(t *testing.T, h *sluice.Harness, c conformance.Case) {
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
	var want [][]conformance.Value
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
		want = append(want, c.WantRecords...)
	}
	got, err := h.Records(&bb)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("got %d records, want %d", len(got), len(want))
	}
	for r, w := range want {
		for i, wv := range w {
			g := got[r][i]
			if wv.Null != g.Null || (!wv.Null && wv.S != string(g.Data)) {
				t.Fatalf("record %d column %s: got %s, want %s", r, c.Batch.Columns[i].Name, g, wv)
			}
		}
	}
}

func runCommand(t *testing.T, h *sluice.Harness, c conformance.Case) {
	if c.Want == nil {
		t.Fatal("a command case needs want")
	}
	var cb abi.CommandBuilder
	if err := c.Command.Encode(&cb); err != nil {
		t.Fatal(err)
	}
	v, err := h.Command(&cb)
	if err != nil {
		t.Fatal(err)
	}
	if got := conformance.VerdictName(v.Decision); got != c.Want.Verdict || !strings.Contains(v.Reason, c.Want.ReasonContains) {
		t.Errorf("%s %q, want %s containing %q", got, v.Reason, c.Want.Verdict, c.Want.ReasonContains)
	}
}
