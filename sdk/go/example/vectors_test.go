package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicegw/sluice/abi"
	"github.com/sluicegw/sluice/sdk/go/sluice"
)

// vectorFile is the language-neutral conformance vector format that
// `sluice plugin test --vectors` reads. Decoding it strictly here keeps the
// files to the format.
type vectorFile struct {
	Plugin string          `json:"plugin"`
	Config json.RawMessage `json:"config"`
	Cases  []vectorCase    `json:"cases"`
}

type vectorCase struct {
	Name        string          `json:"name"`
	Config      json.RawMessage `json:"config"`
	Batch       *vectorBatch    `json:"batch"`
	WantRecords [][]*string     `json:"want_records"`
	Format      string          `json:"format"`
	Input       *string         `json:"input"`
	WantOutput  *string         `json:"want_output"`
	Command     *vectorCommand  `json:"command"`
	Want        *vectorWant     `json:"want"`
}

type vectorBatch struct {
	Columns []struct {
		Name string `json:"name"`
		Type string `json:"type"`
	} `json:"columns"`
	Records [][]*string `json:"records"`
}

type vectorCommand struct {
	Kind  string  `json:"kind"`
	Text  string  `json:"text"`
	Facts [][]any `json:"facts"`
}

type vectorWant struct {
	Verdict        string `json:"verdict"`
	ReasonContains string `json:"reason_contains"`
}

var columnTypes = map[string]abi.ColumnType{
	"unknown": abi.TypeUnknown, "text": abi.TypeText, "int": abi.TypeInt, "float": abi.TypeFloat,
	"bool": abi.TypeBool, "json": abi.TypeJSON, "bytes": abi.TypeBytes, "timestamp": abi.TypeTimestamp,
}

// kindOf is the field kind a host tokenizer gives a value of a column type.
func kindOf(t abi.ColumnType) abi.Kind {
	switch t {
	case abi.TypeInt, abi.TypeFloat:
		return abi.KindNumber
	case abi.TypeBool:
		return abi.KindBool
	case abi.TypeBytes:
		return abi.KindBytes
	}
	return abi.KindString
}

var commandKinds = map[string]abi.CommandKind{"sql": abi.CommandSQL, "shell": abi.CommandShell, "http": abi.CommandHTTP}

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
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var vf vectorFile
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&vf); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if vf.Plugin != "json-field-mask" || len(vf.Cases) == 0 {
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

func runVector(t *testing.T, fileConfig json.RawMessage, c vectorCase) {
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
	kinds := 0
	if c.Batch != nil {
		kinds++
		runBatchVector(t, h, c)
	}
	if c.Command != nil {
		kinds++
		runCommandVector(t, h, c)
	}
	if c.Format != "" {
		kinds++
		switch c.Format {
		case "ndjson", "json", "csv", "text":
		default:
			t.Fatalf("unknown format %q", c.Format)
		}
		if c.Input == nil || c.WantOutput == nil {
			t.Fatal("a format case needs input and want_output")
		}
		t.Skip("format cases need the host's tokenizers: run sluice plugin test")
	}
	if kinds != 1 {
		t.Fatalf("a case is exactly one of batch, command or format; this one is %d", kinds)
	}
}

func runBatchVector(t *testing.T, h *sluice.Harness, c vectorCase) {
	if c.WantRecords == nil {
		t.Fatal("a batch case needs want_records")
	}
	var bb abi.BatchBuilder
	var types []abi.ColumnType
	for _, col := range c.Batch.Columns {
		typ, ok := columnTypes[col.Type]
		if !ok {
			t.Fatalf("column %s: unknown type %q", col.Name, col.Type)
		}
		bb.AddColumn([]byte(col.Name), typ, 0)
		types = append(types, typ)
	}
	for r, rec := range c.Batch.Records {
		if len(rec) != len(types) {
			t.Fatalf("record %d has %d values for %d columns", r, len(rec), len(types))
		}
		bb.BeginRecord()
		for i, v := range rec {
			if v == nil {
				bb.AddField(i, abi.KindNull, true, nil)
			} else {
				bb.AddField(i, kindOf(types[i]), false, []byte(*v))
			}
		}
	}
	got, err := h.Records(&bb)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(c.WantRecords) {
		t.Fatalf("got %d records %v, want %d", len(got), got, len(c.WantRecords))
	}
	for r, want := range c.WantRecords {
		for i, w := range want {
			g := got[r][i]
			if (w == nil) != g.Null || (w != nil && *w != string(g.Data)) {
				t.Errorf("record %d column %s: got %s, want %s", r, c.Batch.Columns[i].Name, g, show(w))
			}
		}
	}
}

func show(s *string) string {
	if s == nil {
		return "NULL"
	}
	return *s
}

func runCommandVector(t *testing.T, h *sluice.Harness, c vectorCase) {
	if c.Want == nil {
		t.Fatal("a command case needs want")
	}
	kind, ok := commandKinds[c.Command.Kind]
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
