package policy

// Throughput of the masking path with the json-field-mask example plugin
// (sdk/go/example, built by `make plugins`) next to the same rule written
// natively in Go, over ~200-byte NDJSON records. See bench/README.md.
//
//	go test -run '^$' -bench 'Mask' -benchmem ./gateway/policy/
//	go test -run '^$' -bench 'Mask' -benchmem -tags wasmtime ./gateway/policy/
//
// BenchmarkMaskPath/batch=N/MODE runs one batch of N records per op through
// the path MaskStream runs (records tokenizer -> copy into the batch ->
// Table -> masking -> records writer), synchronously, so that the only
// difference between modes is who masks:
//
//	native           the rule in Go (nativeMasker below), on the same Table
//	ENGINE-budget    the Wasm plugin through Masker, time budget on (default)
//	ENGINE-nobudget  the same with Options.NoBudget
//
// Each Wasm mode reports x-native: its records/s over the native mode's,
// measured just before it in the same run (the ratio is what matters on a
// noisy machine). Before timing, every mode's output is checked to be
// byte-identical to the native one's.
//
// BenchmarkMaskStream runs MaskStream itself (reader goroutine, batches of
// 256) over 4096 records per op, with the plugin and with no plugin at all
// (passthrough: tokenizing and re-writing only).

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sluicegw/sluice/abi"
	"github.com/sluicegw/sluice/gateway/pluginhost"
	"github.com/sluicegw/sluice/gateway/records"
)

// benchRecordSize is the size of every generated record, newline included;
// all records have the same size so that b.SetBytes is exact.
const benchRecordSize = 200

// maskConfig is the config of both the plugin and the native masker.
const maskConfig = `{"fields":["email"]}`

// examplePlugin is the example plugin built by `make plugins`.
var examplePlugin = filepath.Join("..", "..", "sdk", "go", "example", "json-field-mask.wasm")

// benchNDJSON returns n NDJSON records of exactly benchRecordSize bytes:
// an email among seven other fields of the usual kinds.
func benchNDJSON(n int) []byte {
	names := []string{"Ann Smith", "Bob Jones", "Chloé Durand", "Dawid Kowalski", "Eve Adams"}
	plans := []string{"free", "pro", "enterprise"}
	var buf bytes.Buffer
	for i := range n {
		name := names[i%len(names)]
		user := strings.ToLower(strings.Fields(name)[0])
		head := fmt.Sprintf(`{"id":%d,"name":%q,"email":"%s.%d@example.com","plan":%q,"active":%t,"balance":%d.%02d,"created_at":"2024-%02d-%02dT12:%02d:00Z","note":"`,
			100000+i, name, user, i, plans[i%len(plans)], i%3 != 0, i*37%100000, i%100, 1+i%12, 1+i%28, i%60)
		pad := benchRecordSize - len(head) - len("\"}\n")
		if pad < 0 {
			panic("record template too long")
		}
		buf.WriteString(head)
		for j := range pad {
			buf.WriteByte("abcdefghij klmnopqrst"[(i+j)%21])
		}
		buf.WriteString("\"}\n")
	}
	return buf.Bytes()
}

// loopReader reads data over and over: an endless stream of records.
type loopReader struct {
	data []byte
	off  int
}

func (r *loopReader) Read(p []byte) (int, error) {
	n := copy(p, r.data[r.off:])
	r.off = (r.off + n) % len(r.data)
	return n, nil
}

// maskFunc masks a filled table: a Masker, or the native rule.
type maskFunc func(ctx context.Context, t *Table) error

// pipeline is MaskStream's path without its reader goroutine: records are
// read and copied into slots, put into a Table by maskSlots, masked, and
// written with the edits the table holds, exactly as MaskStream's flush
// does.
type pipeline struct {
	rd     records.Reader
	wr     records.Writer
	schema *records.Schema
	known  int
	slots  []*slot
	t      Table
	edits  []records.Edit
	none   *Masker // no plugins: maskSlots only fills the table
}

func newPipeline(in io.Reader, out io.Writer) *pipeline {
	rd := records.NewReader(in, records.FormatNDJSON, records.Options{})
	return &pipeline{
		rd: rd, wr: records.NewWriter(out, records.FormatNDJSON, records.Options{}),
		schema: rd.Schema(), none: NewMasker(nil),
	}
}

// batch runs n records through the path and returns their bytes.
func (pl *pipeline) batch(ctx context.Context, n int, m *Masker, native *nativeMasker) (int, error) {
	for len(pl.slots) < n {
		pl.slots = append(pl.slots, &slot{})
	}
	batch := pl.slots[:n]
	size := 0
	for _, s := range batch {
		rec, err := pl.rd.Next()
		if err != nil {
			return size, err
		}
		rec.CopyTo(&s.rec, s.alloc)
		size += len(rec.Raw)
	}
	for ; pl.known < pl.schema.Len(); pl.known++ {
		pl.t.Columns = append(pl.t.Columns, pl.schema.Column(pl.known))
	}
	t := &pl.t
	if native != nil {
		if err := maskSlots(ctx, pl.none, t, batch); err != nil {
			return size, err
		}
		native.mask(t)
	} else if err := maskSlots(ctx, m, t, batch); err != nil {
		return size, err
	}
	for r, s := range batch {
		pl.edits = pl.edits[:0]
		if t.Dropped(r) {
			pl.edits = append(pl.edits, records.Edit{Op: records.EditDrop})
		} else {
			first, end := t.Fields(r)
			for f := first; f < end; f++ {
				v, null, changed := t.Field(f)
				switch {
				case !changed:
				case null:
					pl.edits = append(pl.edits, records.Edit{Op: records.EditNullify, Field: f - first})
				default:
					pl.edits = append(pl.edits, records.Edit{Op: records.EditReplace, Field: f - first, Data: v})
				}
			}
		}
		if err := pl.wr.Write(&s.rec, pl.edits); err != nil {
			return size, err
		}
	}
	return size, pl.wr.Flush()
}

// nativeMasker is json-field-mask's rule (sdk/go/example/mask.go) in Go
// on the host: every non-NULL value of a listed column (exact name, or
// "*.NAME" as a suffix) becomes the mask. Column matching runs when the
// schema grows, as the plugin's plan is cached per schema.
type nativeMasker struct {
	exact, suffixes []string
	maskText        []byte
	listed          []bool // by column
}

func newNativeMasker(fields []string, mask string) *nativeMasker {
	n := &nativeMasker{maskText: []byte(mask)}
	for _, f := range fields {
		name, wildcard := strings.CutPrefix(f, "*.")
		n.exact = append(n.exact, name)
		if wildcard {
			n.suffixes = append(n.suffixes, "."+name)
		}
	}
	return n
}

func (n *nativeMasker) matches(col string) bool {
	for _, x := range n.exact {
		if col == x {
			return true
		}
	}
	for _, s := range n.suffixes {
		if strings.HasSuffix(col, s) {
			return true
		}
	}
	return false
}

func (n *nativeMasker) mask(t *Table) {
	for c := len(n.listed); c < len(t.Columns); c++ {
		n.listed = append(n.listed, n.matches(t.Columns[c]))
	}
	for f := range t.col {
		if n.listed[t.col[f]] && !t.null[f] {
			t.set(f, n.maskText)
		}
	}
}

// benchMode is one way of masking: natively, or the plugin on an engine
// with or without a time budget.
type benchMode struct {
	name   string
	masker *Masker       // nil for native
	native *nativeMasker // nil for Wasm
}

// benchModes loads the example plugin on every engine compiled in, with
// and without a budget. Compiled code is cached on disk (benchCacheDir) so
// repeated runs skip the multi-second compiles.
func benchModes(b *testing.B) []benchMode {
	b.Helper()
	if _, err := os.Stat(examplePlugin); err != nil {
		b.Skipf("%v: build the example plugin with `make plugins`", err)
	}
	modes := []benchMode{{name: "native", native: newNativeMasker([]string{"email"}, "****")}}
	for _, eng := range pluginhost.Engines() {
		for _, noBudget := range []bool{false, true} {
			h, err := pluginhost.New(pluginhost.Options{Engine: eng, NoBudget: noBudget, CacheDir: benchCacheDir()})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { h.Close(context.Background()) })
			p, err := h.Load(context.Background(), pluginhost.Spec{Name: "json-field-mask", Path: examplePlugin, Config: []byte(maskConfig)})
			if err != nil {
				b.Fatal(err)
			}
			name := eng + "-budget"
			if noBudget {
				name = eng + "-nobudget"
			}
			modes = append(modes, benchMode{name: name, masker: NewMasker(Chain{p})})
		}
	}
	return modes
}

// benchCacheDir is the compilation cache shared by benchmark runs:
// $SLUICE_BENCH_CACHE, or sluice-bench-cache under the temp directory.
func benchCacheDir() string {
	if d := os.Getenv("SLUICE_BENCH_CACHE"); d != "" {
		return d
	}
	return filepath.Join(os.TempDir(), "sluice-bench-cache")
}

// checkSameOutput runs 1000 records through every mode in batches of 16
// and fails unless all outputs are byte-identical and masked.
func checkSameOutput(b *testing.B, modes []benchMode, data []byte) {
	b.Helper()
	var want []byte
	for _, m := range modes {
		var out bytes.Buffer
		pl := newPipeline(bytes.NewReader(data), &out)
		for done := 0; done < 1000; done += 16 {
			if _, err := pl.batch(context.Background(), min(16, 1000-done), m.masker, m.native); err != nil {
				b.Fatalf("%s: %v", m.name, err)
			}
		}
		if want == nil {
			want = out.Bytes()
			if !bytes.Contains(want, []byte(`"email":"****"`)) || bytes.Contains(want, []byte("@example.com")) {
				b.Fatalf("%s: output not masked: %.300s", m.name, want)
			}
			continue
		}
		if !bytes.Equal(out.Bytes(), want) {
			b.Fatalf("%s: output differs from native:\n%.300s\nwant\n%.300s", m.name, out.Bytes(), want)
		}
	}
}

func BenchmarkMaskPath(b *testing.B) {
	data := benchNDJSON(4096)
	modes := benchModes(b)
	checkSameOutput(b, modes, data)
	ctx := context.Background()
	for _, size := range []int{1, 16, 256} {
		b.Run("batch="+strconv.Itoa(size), func(b *testing.B) {
			var nativeRate float64
			for _, m := range modes {
				b.Run(m.name, func(b *testing.B) {
					pl := newPipeline(&loopReader{data: data}, io.Discard)
					// Warm up: schema, plan, buffers, instance.
					for range 4 {
						if _, err := pl.batch(ctx, size, m.masker, m.native); err != nil {
							b.Fatal(err)
						}
					}
					b.SetBytes(int64(size * benchRecordSize))
					b.ReportAllocs()
					for b.Loop() {
						if _, err := pl.batch(ctx, size, m.masker, m.native); err != nil {
							b.Fatal(err)
						}
					}
					rate := float64(b.N*size) / b.Elapsed().Seconds()
					b.ReportMetric(rate, "records/s")
					if m.native != nil {
						nativeRate = rate
					} else if nativeRate > 0 {
						b.ReportMetric(rate/nativeRate, "x-native")
					}
				})
			}
		})
	}
}

func BenchmarkMaskStream(b *testing.B) {
	const n = 4096
	data := benchNDJSON(n)
	modes := benchModes(b)
	ctx := context.Background()
	for _, m := range modes {
		if m.masker == nil {
			m = benchMode{name: "passthrough", masker: NewMasker(nil)}
		}
		b.Run(m.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				st, err := MaskStream(ctx, m.masker, bytes.NewReader(data), io.Discard, StreamOptions{Format: records.FormatNDJSON})
				if err != nil || st.Records != n {
					b.Fatalf("%d records, %v", st.Records, err)
				}
			}
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

// TestBenchPipelineNative checks the benchmark's native path on its own
// (no plugin needed): the generated records have the advertised size, and
// the native rule masks every email and nothing else.
func TestBenchPipelineNative(t *testing.T) {
	data := benchNDJSON(100)
	if len(data) != 100*benchRecordSize {
		t.Fatalf("generated %d bytes, want %d", len(data), 100*benchRecordSize)
	}
	var out bytes.Buffer
	pl := newPipeline(bytes.NewReader(data), &out)
	native := newNativeMasker([]string{"*.email"}, "****")
	for range 100 / 20 {
		if _, err := pl.batch(context.Background(), 20, nil, native); err != nil {
			t.Fatal(err)
		}
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	in := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != 100 {
		t.Fatalf("%d lines out", len(lines))
	}
	for i, l := range lines {
		at := strings.Index(in[i], `"email":"`)
		end := at + strings.Index(in[i][at+9:], `"`) + 10
		if want := in[i][:at] + `"email":"****"` + in[i][end:]; l != want {
			t.Fatalf("line %d:\n got %s\nwant %s", i, l, want)
		}
	}
	// The Table the native rule saw has the plugin-facing kinds.
	if k := pl.t.kind[0]; k != abi.KindNumber {
		t.Fatalf("id kind %v", k)
	}
}
