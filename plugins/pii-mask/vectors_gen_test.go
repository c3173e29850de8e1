package main

// The vector files are generated from the tables of this package's tests:
//
//	go test ./plugins/pii-mask/ -run TestWriteVectors -update
//
// Every expected value is written by hand in a table, except the hash and
// fpe outputs (marked pinned), which are keyed pseudo-random: they are
// computed once by the plugin, checked for their properties by
// TestStrategies, and pinned here so a change shows up as a diff.

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sluicegw/sluice/abi"
	"github.com/sluicegw/sluice/sdk/go/sluice"
)

var update = flag.Bool("update", false, "rewrite vectors/*.json from the test tables")

type vFile struct {
	Plugin        string          `json:"plugin"`
	Config        json.RawMessage `json:"config,omitempty"`
	WantLoadError string          `json:"want_load_error,omitempty"`
	Cases         []vCase         `json:"cases"`
}

type vColumn struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

type vBatch struct {
	Columns []vColumn   `json:"columns"`
	Records [][]*string `json:"records"`
}

type vCase struct {
	Name        string          `json:"name"`
	Config      json.RawMessage `json:"config,omitempty"`
	Batch       *vBatch         `json:"batch,omitempty"`
	WantRecords [][]*string     `json:"want_records,omitempty"`
	Format      string          `json:"format,omitempty"`
	Input       *string         `json:"input,omitempty"`
	WantOutput  *string         `json:"want_output,omitempty"`
}

func s(v string) *string { return &v }

// null is a NULL value in a table.
var null *string

// tcase is a batch case of a table: columns "name:type", one record, and
// the wanted record; want == nil means pinned (computed by the plugin).
type tcase struct {
	name   string
	config string
	cols   []string
	in     []*string
	want   []*string
}

func (c tcase) batch() *vBatch {
	b := &vBatch{Records: [][]*string{c.in}}
	for _, col := range c.cols {
		name, typ, _ := strings.Cut(col, ":")
		if typ == "" {
			typ = "text"
		}
		b.Columns = append(b.Columns, vColumn{name, typ})
	}
	return b
}

var typeByName = map[string]abi.ColumnType{"text": abi.TypeText, "unknown": abi.TypeUnknown, "int": abi.TypeInt,
	"float": abi.TypeFloat, "bool": abi.TypeBool, "json": abi.TypeJSON, "bytes": abi.TypeBytes, "timestamp": abi.TypeTimestamp}

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

// run runs c through the plugin (the SDK's dispatch) and returns the
// record.
func (c tcase) run(t testing.TB) []*string {
	t.Helper()
	h := sluice.NewHarness(hooks())
	if err := h.Init([]byte(c.config)); err != nil {
		t.Fatalf("%s: %v", c.name, err)
	}
	var bb abi.BatchBuilder
	b := c.batch()
	var cols []int
	var types []abi.ColumnType
	for _, col := range b.Columns {
		ct := typeByName[col.Type]
		cols = append(cols, bb.AddColumn([]byte(col.Name), ct, 0))
		types = append(types, ct)
	}
	bb.BeginRecord()
	for i, v := range c.in {
		if v == nil {
			bb.AddField(cols[i], abi.KindNull, true, nil)
		} else {
			bb.AddField(cols[i], kindOf(types[i]), false, []byte(*v))
		}
	}
	got, err := h.Records(&bb)
	if err != nil {
		t.Fatalf("%s: %v", c.name, err)
	}
	var out []*string
	for _, v := range got[0] {
		if v.Null {
			out = append(out, nil)
		} else {
			out = append(out, s(string(v.Data)))
		}
	}
	return out
}

func str(p *string) string {
	if p == nil {
		return "NULL"
	}
	return strconv.Quote(*p)
}

func equalRecords(a, b []*string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if (a[i] == nil) != (b[i] == nil) || a[i] != nil && *a[i] != *b[i] {
			return false
		}
	}
	return true
}

// TestTables runs every table case natively; TestVectors runs the
// generated files (cgo builds), `sluice plugin test` the built module.
func TestTables(t *testing.T) {
	for _, table := range [][]tcase{strategyCases, typeCases, fieldCases, customCases} {
		for _, c := range table {
			if c.want == nil {
				continue
			}
			if got := c.run(t); !equalRecords(got, c.want) {
				var g, w []string
				for i := range got {
					g = append(g, str(got[i]))
				}
				for i := range c.want {
					w = append(w, str(c.want[i]))
				}
				t.Errorf("%s: got %v, want %v", c.name, g, w)
			}
		}
	}
}

func TestWriteVectors(t *testing.T) {
	if !*update {
		t.Skip("run with -update to rewrite vectors/")
	}
	write := func(name string, f vFile) {
		f.Plugin = "pii-mask"
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(f); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join("vectors", name), buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	table := func(cases []tcase) []vCase {
		var out []vCase
		for _, c := range cases {
			want := c.want
			name := c.name
			if want == nil {
				want = c.run(t)
				name += " (pinned)"
			}
			vc := vCase{Name: name, Batch: c.batch(), WantRecords: [][]*string{want}}
			if c.config != "" {
				vc.Config = json.RawMessage(c.config)
			}
			out = append(out, vc)
		}
		return out
	}

	var det []vCase
	n := map[string]int{}
	for _, c := range detectorCases {
		kind := "fp"
		if len(c.pii) > 0 {
			kind = "tp"
		}
		key := kind + " " + entityNames[c.ent]
		n[key]++
		det = append(det, vCase{
			Name:        key + " " + strconv.Itoa(n[key]) + ": " + c.in,
			Batch:       &vBatch{Columns: []vColumn{{"v", "text"}}, Records: [][]*string{{s(c.in)}}},
			WantRecords: [][]*string{{s(masked(c.in, c.pii, defaultLabels[c.ent]))}},
		})
	}
	write("detectors.json", vFile{Config: json.RawMessage(`{}`), Cases: det})

	var look []vCase
	for i, in := range lookalikes {
		look = append(look, vCase{
			Name:        "fp lookalike " + strconv.Itoa(i+1) + ": " + in,
			Batch:       &vBatch{Columns: []vColumn{{"v", "text"}}, Records: [][]*string{{s(in)}}},
			WantRecords: [][]*string{{s(in)}},
		})
	}
	write("lookalikes.json", vFile{Config: json.RawMessage(`{}`), Cases: look})

	write("strategies.json", vFile{Cases: table(strategyCases)})
	write("fields.json", vFile{Cases: table(fieldCases)})
	write("custom.json", vFile{Cases: table(customCases)})

	var streams []vCase
	for _, c := range streamCases {
		streams = append(streams, vCase{Name: c.name, Config: json.RawMessage(c.config), Format: c.format, Input: s(c.in), WantOutput: s(c.want)})
	}
	write("streams.json", vFile{Config: json.RawMessage(`{}`), Cases: streams})

	for _, c := range loadErrorCases {
		write("bad_"+c.file+".json", vFile{Config: json.RawMessage(c.config), WantLoadError: c.want, Cases: []vCase{}})
	}
}
