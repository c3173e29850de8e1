// Package conformance runs a plugin against language-neutral test vectors:
// JSON files of cases (a batch of records, a formatted stream, or a
// command) with the result the plugin must produce. `sluice plugin test`
// is its command line; the Go tests in this folder run every SDK example
// and bundled plugin against its vectors, and the host's own vectors in
// vectors/ against the fixture plugins in testdata/.
//
// The runner drives the plugin through the same code the gateway uses
// (pluginhost and policy), so a vector that passes here behaves the same in
// `sluice mask` and `sluice serve`. The format is described in README.md.
//
// Run* functions are safe for concurrent use; each call owns its host.
package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/sluicegw/sluice/abi"
	"github.com/sluicegw/sluice/gateway/pluginhost"
	"github.com/sluicegw/sluice/gateway/policy"
	"github.com/sluicegw/sluice/gateway/records"
	"github.com/sluicegw/sluice/gateway/shellscan"
	"github.com/sluicegw/sluice/gateway/sqlscan"
)

// File is one vector file.
type File struct {
	// Plugin names the plugin the vectors are for (informational).
	Plugin string `json:"plugin"`
	// Config is the plugin config for every case without its own.
	Config json.RawMessage `json:"config,omitempty"`
	// OnError overrides the plugin's fail mode for every case.
	OnError string `json:"on_error,omitempty"`
	// WantLoadError, when set, says the plugin must fail to load with an
	// error containing it (wrong ABI version, failing init); no case runs.
	WantLoadError string `json:"want_load_error,omitempty"`
	Cases         []Case `json:"cases"`
}

// Case is one vector. Exactly one of Batch, Format+Input, Command is set.
type Case struct {
	Name   string          `json:"name"`
	Config json.RawMessage `json:"config,omitempty"`

	Batch       *Batch    `json:"batch,omitempty"`
	WantRecords [][]Value `json:"want_records,omitempty"`

	Format     string  `json:"format,omitempty"`
	Input      *string `json:"input,omitempty"`
	WantOutput *string `json:"want_output,omitempty"`

	Command *Command `json:"command,omitempty"`
	Want    *Want    `json:"want,omitempty"`

	// WantFailure says the plugin call must fail with this kind (trap,
	// timeout, memory, abi, status, or "any"); the fail mode's result is
	// still checked against want_records / want_output / want.
	WantFailure string `json:"want_failure,omitempty"`
}

// Batch is a table of records: values are strings or null, one per column.
type Batch struct {
	Columns []Column  `json:"columns"`
	Records [][]Value `json:"records"`
	// RepeatRecords repeats Records this many times (for size vectors);
	// want_records is then repeated too.
	RepeatRecords int `json:"repeat_records,omitempty"`
}

// Column is a batch column.
type Column struct {
	Name string `json:"name"`
	Type string `json:"type,omitempty"`
}

// Value is a string, null, or {"repeat": "ab", "times": 3} for large
// values.
type Value struct {
	S    string
	Null bool
}

// UnmarshalJSON implements the three forms of a Value.
func (v *Value) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*v = Value{Null: true}
		return nil
	}
	if len(b) > 0 && b[0] == '{' {
		var r struct {
			Repeat string `json:"repeat"`
			Times  int    `json:"times"`
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil {
			return fmt.Errorf("value: %w", err)
		}
		if r.Times < 0 || len(r.Repeat)*r.Times > 64<<20 {
			return errors.New("value: repeat out of range (at most 64 MiB)")
		}
		*v = Value{S: strings.Repeat(r.Repeat, r.Times)}
		return nil
	}
	return json.Unmarshal(b, &v.S)
}

func (v Value) String() string {
	if v.Null {
		return "null"
	}
	if len(v.S) > 80 {
		return strconv.Quote(v.S[:60]) + fmt.Sprintf("...(%d bytes)", len(v.S))
	}
	return strconv.Quote(v.S)
}

// Command is a command case's input.
type Command struct {
	Kind     string  `json:"kind"`
	Text     string  `json:"text"`
	Identity string  `json:"identity,omitempty"`
	Target   string  `json:"target,omitempty"`
	Facts    [][]any `json:"facts,omitempty"` // [stmt, key, value]
}

// Want is a command case's expected verdict.
type Want struct {
	Verdict        string `json:"verdict"` // allow, block, approve
	ReasonContains string `json:"reason_contains,omitempty"`
}

// Options configure a run.
type Options struct {
	// Engine is the Wasm engine ("" means wazero).
	Engine string
	// CacheDir keeps compiled plugins across runs ("" keeps them in
	// memory for the run).
	CacheDir string
}

func newHost(opts Options) (*pluginhost.Host, error) {
	return pluginhost.New(pluginhost.Options{Engine: opts.Engine, CacheDir: opts.CacheDir})
}

// Result is the outcome of one case.
type Result struct {
	File, Case string
	// Err is empty when the case passed, else a readable diff.
	Err string
}

// Report collects results.
type Report struct {
	Passed, Failed int
	Results        []Result
}

func (r *Report) add(file, name string, err error) {
	res := Result{File: file, Case: name}
	if err != nil {
		res.Err = err.Error()
		r.Failed++
	} else {
		r.Passed++
	}
	r.Results = append(r.Results, res)
}

// Print writes a line per case and a summary.
func (r *Report) Print(w io.Writer) {
	for _, res := range r.Results {
		if res.Err == "" {
			fmt.Fprintf(w, "ok   %s: %s\n", res.File, res.Case)
			continue
		}
		fmt.Fprintf(w, "FAIL %s: %s\n", res.File, res.Case)
		for _, line := range strings.Split(strings.TrimRight(res.Err, "\n"), "\n") {
			fmt.Fprintf(w, "     %s\n", line)
		}
	}
	fmt.Fprintf(w, "%d passed, %d failed\n", r.Passed, r.Failed)
}

// RunDir runs every *.json file in dir (sorted) against the plugin.
func RunDir(ctx context.Context, opts Options, plugin, dir string) (*Report, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no vector files (*.json) in %s", dir)
	}
	sort.Strings(files)
	host, err := newHost(opts)
	if err != nil {
		return nil, err
	}
	defer host.Close(ctx)
	rep := &Report{}
	for _, f := range files {
		if err := runFile(ctx, host, plugin, f, rep); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// ReadFile decodes a vector file strictly: unknown keys are errors.
func ReadFile(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f File
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &f, nil
}

// RunFile runs one vector file, adding its results to rep. It returns an
// error only when the file cannot be read or the plugin not found.
func RunFile(ctx context.Context, opts Options, plugin, path string, rep *Report) error {
	host, err := newHost(opts)
	if err != nil {
		return err
	}
	defer host.Close(ctx)
	return runFile(ctx, host, plugin, path, rep)
}

// runFile runs a vector file on host; plugins it loads are unloaded after.
func runFile(ctx context.Context, host *pluginhost.Host, plugin, path string, rep *Report) error {
	vf, err := ReadFile(path)
	if err != nil {
		return err
	}
	if _, err := os.Stat(plugin); err != nil {
		return err
	}
	defer host.Apply(ctx, nil)
	base := filepath.Base(path)

	// One loaded plugin per distinct config.
	loaded := map[string]*pluginhost.Plugin{}
	load := func(cfg json.RawMessage) (*pluginhost.Plugin, error) {
		if len(cfg) == 0 {
			cfg = vf.Config
		}
		var compact bytes.Buffer
		if len(cfg) > 0 {
			if err := json.Compact(&compact, cfg); err != nil {
				return nil, fmt.Errorf("config: %w", err)
			}
		}
		key := compact.String()
		if p, ok := loaded[key]; ok {
			return p, nil
		}
		p, err := host.Load(ctx, pluginhost.Spec{
			Name: fmt.Sprintf("case-%d", len(loaded)), Path: plugin, Config: compact.Bytes(), OnError: vf.OnError,
			// Vectors check behaviour, not the breaker: keep it closed.
			BreakerFailures: -1,
		})
		if err != nil {
			return nil, err
		}
		loaded[key] = p
		return p, nil
	}

	if vf.WantLoadError != "" {
		_, err := load(nil)
		switch {
		case err == nil:
			rep.add(base, "load", fmt.Errorf("plugin loaded; want a load error containing %q", vf.WantLoadError))
		case !strings.Contains(err.Error(), vf.WantLoadError):
			rep.add(base, "load", fmt.Errorf("load error:\n  got:  %v\n  want: ...%s...", err, vf.WantLoadError))
		default:
			rep.add(base, "load", nil)
		}
		return nil
	}
	for i, c := range vf.Cases {
		name := c.Name
		if name == "" {
			name = fmt.Sprintf("case %d", i)
		}
		p, err := load(c.Config)
		if err != nil {
			rep.add(base, name, fmt.Errorf("loading the plugin: %w", err))
			continue
		}
		rep.add(base, name, runCase(ctx, p, &c))
	}
	return nil
}

func runCase(ctx context.Context, p *pluginhost.Plugin, c *Case) error {
	n := 0
	if c.Batch != nil {
		n++
	}
	if c.Input != nil {
		n++
	}
	if c.Command != nil {
		n++
	}
	if n != 1 {
		return errors.New("a case needs exactly one of batch, input (with format) or command")
	}
	switch {
	case c.Batch != nil:
		return runBatch(ctx, p, c)
	case c.Input != nil:
		return runStream(ctx, p, c)
	default:
		return runCommand(ctx, p, c)
	}
}

// checkFailure compares a call's error with want_failure.
func checkFailure(err error, want string) error {
	var pe *pluginhost.PluginError
	switch {
	case want == "" && err != nil:
		return fmt.Errorf("plugin failed: %v", err)
	case want == "":
		return nil
	case err == nil:
		return fmt.Errorf("plugin succeeded; want a %s failure", want)
	case !errors.As(err, &pe):
		return fmt.Errorf("got error %v; want a %s plugin failure", err, want)
	case want != "any" && string(pe.Kind) != want:
		return fmt.Errorf("plugin failed with %s; want %s (%v)", pe.Kind, want, err)
	}
	return nil
}

var columnTypes = map[string]abi.ColumnType{
	"": abi.TypeText, "unknown": abi.TypeUnknown, "text": abi.TypeText, "int": abi.TypeInt, "float": abi.TypeFloat,
	"bool": abi.TypeBool, "json": abi.TypeJSON, "bytes": abi.TypeBytes, "timestamp": abi.TypeTimestamp,
}

// ColumnType parses a vector column type ("" is text).
func ColumnType(name string) (abi.ColumnType, bool) {
	t, ok := columnTypes[name]
	return t, ok
}

// CommandKind parses a vector command kind (sql, shell, http).
func CommandKind(name string) (abi.CommandKind, bool) {
	k, ok := commandKinds[name]
	return k, ok
}

// FieldKind is the kind a host tokenizer gives the values of a column type.
func FieldKind(t abi.ColumnType) abi.Kind {
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

func runBatch(ctx context.Context, p *pluginhost.Plugin, c *Case) error {
	var t policy.Table
	var kinds []abi.Kind
	for i, col := range c.Batch.Columns {
		ct, ok := ColumnType(col.Type)
		if !ok {
			return fmt.Errorf("columns[%d].type %q: want text, int, float, bool, json, bytes, timestamp or unknown", i, col.Type)
		}
		t.Columns = append(t.Columns, col.Name)
		t.Types = append(t.Types, ct)
		kinds = append(kinds, FieldKind(ct))
	}
	repeat := max(1, c.Batch.RepeatRecords)
	for range repeat {
		for ri, rec := range c.Batch.Records {
			if len(rec) != len(kinds) {
				return fmt.Errorf("records[%d]: %d values for %d columns", ri, len(rec), len(kinds))
			}
			t.AddRecord()
			for ci, v := range rec {
				k := kinds[ci]
				if v.Null {
					k = abi.KindNull
				}
				t.AddField(ci, k, v.Null, []byte(v.S))
			}
		}
	}
	err := policy.NewMasker(policy.Chain{p}).Mask(ctx, &t)
	if err := checkFailure(err, c.WantFailure); err != nil {
		return err
	}
	var want [][]Value
	for range repeat {
		want = append(want, c.WantRecords...)
	}
	var got [][]Value
	for r := 0; r < t.NumRecords(); r++ {
		if t.Dropped(r) {
			continue
		}
		var row []Value
		first, end := t.Fields(r)
		for f := first; f < end; f++ {
			v, null, _ := t.Field(f)
			row = append(row, Value{S: string(v), Null: null})
		}
		got = append(got, row)
	}
	return diffRecords(got, want)
}

func diffRecords(got, want [][]Value) error {
	var b strings.Builder
	if len(got) != len(want) {
		fmt.Fprintf(&b, "records: got %d, want %d\n", len(got), len(want))
	}
	shown := 0
	for i := 0; i < min(len(got), len(want)) && shown < 10; i++ {
		if rowString(got[i]) != rowString(want[i]) {
			fmt.Fprintf(&b, "record %d:\n  got:  %s\n  want: %s\n", i, rowString(got[i]), rowString(want[i]))
			shown++
		}
	}
	if b.Len() == 0 {
		return nil
	}
	return errors.New(b.String())
}

func rowString(row []Value) string {
	s := make([]string, len(row))
	for i, v := range row {
		s[i] = v.String()
	}
	return "[" + strings.Join(s, ", ") + "]"
}

func runStream(ctx context.Context, p *pluginhost.Plugin, c *Case) error {
	if c.WantOutput == nil {
		return errors.New("an input case needs want_output")
	}
	var f records.Format
	if c.Format != "" && c.Format != "auto" {
		var err error
		if f, err = records.ParseFormat(c.Format); err != nil {
			return err
		}
	}
	var out bytes.Buffer
	_, err := policy.MaskStream(ctx, policy.NewMasker(policy.Chain{p}), strings.NewReader(*c.Input), &out, policy.StreamOptions{Format: f})
	if err := checkFailure(err, c.WantFailure); err != nil {
		return err
	}
	if out.String() != *c.WantOutput {
		return fmt.Errorf("output:\n  got:  %q\n  want: %q", out.String(), *c.WantOutput)
	}
	return nil
}

var commandKinds = map[string]abi.CommandKind{"sql": abi.CommandSQL, "shell": abi.CommandShell, "http": abi.CommandHTTP}

// Encode builds the command a case describes into cb, with the host's own
// analysis (sqlscan, shellscan) when the case gives no facts.
func (c *Command) Encode(cb *abi.CommandBuilder) error {
	kind, ok := CommandKind(c.Kind)
	if !ok {
		return fmt.Errorf("command.kind %q: want sql, shell or http", c.Kind)
	}
	cb.Reset()
	cb.Set(kind, c.Text, c.Identity, c.Target)
	if c.Facts == nil {
		// No facts given: the host's own analysis, as the gateway would
		// hand it to the plugin.
		switch kind {
		case abi.CommandSQL:
			a, err := sqlscan.Analyze(c.Text)
			if err != nil {
				return fmt.Errorf("command: %w", err)
			}
			a.AddFacts(cb)
		case abi.CommandShell:
			shellscan.Analyze(c.Text).AddFacts(cb)
		}
	}
	for i, fact := range c.Facts {
		if len(fact) != 3 {
			return fmt.Errorf("command.facts[%d]: want [stmt, key, value]", i)
		}
		stmt, ok1 := fact[0].(float64)
		key, ok2 := fact[1].(string)
		val, ok3 := fact[2].(string)
		if !ok1 || !ok2 || !ok3 {
			return fmt.Errorf("command.facts[%d]: want [number, string, string]", i)
		}
		cb.AddFact(int(stmt), key, val)
	}
	return nil
}

// VerdictName is a verdict as vectors spell it: allow, block, approve.
func VerdictName(v abi.Verdict) string { return v.String() }

func runCommand(ctx context.Context, p *pluginhost.Plugin, c *Case) error {
	if c.Want == nil {
		return errors.New("a command case needs want")
	}
	var cb abi.CommandBuilder
	if err := c.Command.Encode(&cb); err != nil {
		return err
	}
	res := policy.Chain{p}.Evaluate(ctx, &cb)
	if err := checkFailure(res.Err(), c.WantFailure); err != nil {
		return err
	}
	if got := res.Verdict.String(); got != c.Want.Verdict {
		return fmt.Errorf("verdict:\n  got:  %s (%q)\n  want: %s", got, res.Reason, c.Want.Verdict)
	}
	if c.Want.ReasonContains != "" && !strings.Contains(res.Reason, c.Want.ReasonContains) {
		return fmt.Errorf("reason:\n  got:  %q\n  want: ...%s...", res.Reason, c.Want.ReasonContains)
	}
	return nil
}
