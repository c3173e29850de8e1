package policy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluicegw/sluice/abi"
	"github.com/sluicegw/sluice/gateway/internal/syncbuf"
	"github.com/sluicegw/sluice/gateway/pluginhost"
	"github.com/sluicegw/sluice/gateway/records"
)

var testEngine = "wazero"

// cacheDir is shared by the package's hosts so the example plugin is
// compiled once per run, not once per test.
var cacheDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sluice-policy-test")
	if err != nil {
		panic(err)
	}
	cacheDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func newHost(t testing.TB) *pluginhost.Host {
	t.Helper()
	h, err := pluginhost.New(pluginhost.Options{Engine: testEngine, CacheDir: cacheDir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close(context.Background()) })
	return h
}

// loadFixture loads the host's WAT fixture with a mode and manifest.
func loadFixture(t testing.TB, h *pluginhost.Host, name, mode, manifest string) *pluginhost.Plugin {
	t.Helper()
	wasm, err := os.ReadFile(filepath.Join("..", "pluginhost", "testdata", "fixture.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	if wasm, err = pluginhost.SetManifest(wasm, []byte(manifest)); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), name+".wasm")
	os.WriteFile(path, wasm, 0o644)
	p, err := h.Load(context.Background(), pluginhost.Spec{Name: name, Path: path, Config: []byte(`{"mode":"` + mode + `"}`), Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

const fixtureManifest = `{"abi":1,"name":"fixture","version":"1","hooks":["command","records"]}`

func loadExample(t testing.TB, h *pluginhost.Host, name, config string) *pluginhost.Plugin {
	t.Helper()
	path := filepath.Join("..", "..", "sdk", "go", "example", "json-field-mask.wasm")
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%s is not built: run `make plugins` (make test does)", path)
	}
	p, err := h.Load(context.Background(), pluginhost.Spec{Name: name, Path: path, Config: []byte(config), Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestChainEvaluate(t *testing.T) {
	h := newHost(t)
	fx := loadFixture(t, h, "fx", "n", fixtureManifest)
	mask := loadExample(t, h, "mask", `{"fields":["email"]}`)
	var cb abi.CommandBuilder
	cases := []struct {
		chain Chain
		text  string
		want  abi.Verdict
	}{
		{Chain{mask, fx}, "DROP TABLE t", abi.Block},
		{Chain{fx, mask}, "ALTER TABLE t", abi.RequireApproval},
		{Chain{mask}, "DROP TABLE t", abi.Allow},
		{Chain{}, "anything", abi.Allow},
	}
	for _, c := range cases {
		cb.Reset()
		cb.Set(abi.CommandSQL, c.text, "ci", "db")
		res := c.chain.Evaluate(context.Background(), &cb)
		if res.Verdict != c.want || res.Err() != nil {
			t.Errorf("%q: got %v (%q, %v), want %v", c.text, res.Verdict, res.Reason, res.Err(), c.want)
		}
	}
}

func TestChainFailsClosed(t *testing.T) {
	h := newHost(t)
	p := loadFixture(t, h, "fx", "n", fixtureManifest)
	var cb abi.CommandBuilder
	cb.Set(abi.CommandSQL, "SELECT 1", "ci", "db")
	// The plugin is unloaded (removed from the config) while a chain still
	// holds it: every call fails, and a command that no plugin could judge
	// is blocked.
	if err := h.Apply(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	res := Chain{p}.Evaluate(context.Background(), &cb)
	if res.Verdict != abi.Block || res.Err() == nil || !strings.Contains(res.Reason, "fail_closed") {
		t.Fatalf("got %v %q %v", res.Verdict, res.Reason, res.Err())
	}
}

// TestMaskerChainOrder: the second plugin sees the first one's edits.
func TestMaskerChainOrder(t *testing.T) {
	h := newHost(t)
	mask := loadExample(t, h, "mask", `{"fields":["email"],"mask":"xy"}`)
	fx := loadFixture(t, h, "fx", "n", fixtureManifest)
	var tb Table
	tb.Columns = []string{"email", "name"}
	tb.AddRecord()
	tb.AddField(0, abi.KindString, false, []byte("ann@example.com"))
	tb.AddField(1, abi.KindString, false, []byte("Ann"))
	if err := NewMasker(Chain{mask, fx}).Mask(context.Background(), &tb); err != nil {
		t.Fatal(err)
	}
	// json-field-mask turned the email into "xy"; the fixture then starred
	// every value in place: "**" (two bytes, not fifteen) proves the order.
	v0, _, c0 := tb.Field(0)
	v1, _, c1 := tb.Field(1)
	if string(v0) != "**" || string(v1) != "***" || !c0 || !c1 {
		t.Fatalf("got %q %q", v0, v1)
	}
}

func TestMaskerFailClosedRedactsEverything(t *testing.T) {
	h := newHost(t)
	fx := loadFixture(t, h, "fx", "t", fixtureManifest)
	var tb Table
	tb.Columns = []string{"a"}
	for _, v := range []string{"secret-1", "secret-2"} {
		tb.AddRecord()
		tb.AddField(0, abi.KindString, false, []byte(v))
	}
	err := NewMasker(Chain{fx}).Mask(context.Background(), &tb)
	var pe *pluginhost.PluginError
	if !errors.As(err, &pe) || pe.Kind != pluginhost.FailTrap || !FailedClosed(err) {
		t.Fatalf("got %v", err)
	}
	for f := 0; f < 2; f++ {
		if v, _, _ := tb.Field(f); string(v) != abi.DefaultRedaction {
			t.Fatalf("field %d: %q", f, v)
		}
	}
}

// slowReader hands out its chunks one at a time with a pause between.
type slowReader struct {
	chunks []string
	pause  time.Duration
}

func (r *slowReader) Read(p []byte) (int, error) {
	if len(r.chunks) == 0 {
		return 0, io.EOF
	}
	time.Sleep(r.pause)
	n := copy(p, r.chunks[0])
	r.chunks[0] = r.chunks[0][n:]
	if r.chunks[0] == "" {
		r.chunks = r.chunks[1:]
	}
	return n, nil
}

// syncBuffer records when the first byte was written.
type syncBuffer struct {
	bytes.Buffer
	first time.Time
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	if b.first.IsZero() && len(p) > 0 {
		b.first = time.Now()
	}
	return b.Buffer.Write(p)
}

// TestMaskStreamFlushesSlowInput: a live stream is not held back until a
// batch fills: the first record comes out before the input ends.
func TestMaskStreamFlushesSlowInput(t *testing.T) {
	h := newHost(t)
	mask := loadExample(t, h, "mask", `{"fields":["email"]}`)
	in := &slowReader{chunks: []string{"{\"email\":\"a@b.co\"}\n", "{\"email\":\"c@d.co\"}\n"}, pause: 500 * time.Millisecond}
	var out syncBuffer
	st, err := MaskStream(context.Background(), NewMasker(Chain{mask}), in, &out, StreamOptions{Format: records.FormatNDJSON})
	end := time.Now()
	if err != nil {
		t.Fatal(err)
	}
	if out.String() != "{\"email\":\"****\"}\n{\"email\":\"****\"}\n" || st.Records != 2 || st.Batches != 2 {
		t.Fatalf("out %q stats %+v", out.String(), st)
	}
	// The second chunk arrives 500ms after the first; the first record must
	// have been written before it (ordering, not a timing threshold).
	if !out.first.Before(end.Add(-250 * time.Millisecond)) {
		t.Fatalf("first output at %v, stream ended at %v: partial batch not flushed", out.first, end)
	}
}

func TestMaskStreamSniffsAndKeepsOrder(t *testing.T) {
	h := newHost(t)
	mask := loadExample(t, h, "mask", `{"fields":["email"]}`)
	var in strings.Builder
	var want strings.Builder
	in.WriteString("email,n\n")
	want.WriteString("email,n\n")
	for i := 0; i < 1000; i++ {
		in.WriteString("x@y.zz," + strings.Repeat("9", i%7) + "\n")
		want.WriteString("****," + strings.Repeat("9", i%7) + "\n")
	}
	var out bytes.Buffer
	st, err := MaskStream(context.Background(), NewMasker(Chain{mask}), strings.NewReader(in.String()), &out, StreamOptions{BatchRecords: 64})
	if err != nil {
		t.Fatal(err)
	}
	if st.Format != records.FormatCSV || out.String() != want.String() || st.Batches < 16 {
		t.Fatalf("format %v, batches %d, equal %v", st.Format, st.Batches, out.String() == want.String())
	}
}

func TestMaskStreamMalformedStopsBeforeRecord(t *testing.T) {
	h := newHost(t)
	mask := loadExample(t, h, "mask", `{"fields":["email"]}`)
	var out bytes.Buffer
	_, err := MaskStream(context.Background(), NewMasker(Chain{mask}), strings.NewReader("{\"email\":\"a@b.co\"}\n{\"email\":\"leak@x.io\"\n"), &out, StreamOptions{Format: records.FormatNDJSON})
	var se *records.SyntaxError
	if !errors.As(err, &se) || se.Line != 2 || strings.Contains(out.String(), "leak") || out.String() != "{\"email\":\"****\"}\n" {
		t.Fatalf("err %v, out %q", err, out.String())
	}
}

// TestMaskAllocsDoNotGrowWithRows is the allocation budget of the masking
// hot path: whatever a batch costs (a context and timer for the call's
// budget, the engine's call bookkeeping), it must not cost more per row.
func TestMaskAllocsDoNotGrowWithRows(t *testing.T) {
	h := newHost(t)
	mask := loadExample(t, h, "mask", `{"fields":["email"]}`)
	m := NewMasker(Chain{mask})
	allocs := func(rows int) float64 {
		var tb Table
		tb.Columns = []string{"email", "name"}
		fill := func() {
			tb.Reset()
			for i := 0; i < rows; i++ {
				tb.AddRecord()
				tb.AddField(0, abi.KindString, false, []byte("ann@example.com"))
				tb.AddField(1, abi.KindString, false, []byte("Ann"))
			}
		}
		fill()
		m.Mask(context.Background(), &tb) // warm the table, plan and arena
		return testing.AllocsPerRun(50, func() {
			fill()
			if err := m.Mask(context.Background(), &tb); err != nil {
				t.Fatal(err)
			}
		})
	}
	few, many := allocs(16), allocs(256)
	t.Logf("allocations per batch: %.0f at 16 rows, %.0f at 256 rows", few, many)
	if many > few+1 {
		t.Fatalf("allocations grow with rows: %.0f at 16 rows, %.0f at 256", few, many)
	}
}

// TestMaskStreamSniffDoesNotWaitFor64KiB: with the format sniffed, a slow
// stream is detected once two lines are in, not once 64 KiB are.
func TestMaskStreamSniffDoesNotWaitFor64KiB(t *testing.T) {
	h := newHost(t)
	mask := loadExample(t, h, "mask", `{"fields":["email"]}`)
	in := &slowReader{chunks: []string{"{\"email\":\"a@b.co\"}\n", "{\"email\":\"c@d.co\"}\n", "{\"email\":\"e@f.co\"}\n"}, pause: 400 * time.Millisecond}
	var out syncBuffer
	st, err := MaskStream(context.Background(), NewMasker(Chain{mask}), in, &out, StreamOptions{})
	end := time.Now()
	if err != nil {
		t.Fatal(err)
	}
	if st.Format != records.FormatNDJSON || strings.Count(out.String(), `"****"`) != 3 {
		t.Fatalf("format %v, out %q", st.Format, out.String())
	}
	// The third line arrives 400ms after the second: the first records
	// must be out before it.
	if !out.first.Before(end.Add(-200 * time.Millisecond)) {
		t.Fatalf("first output at %v, stream ended at %v", out.first, end)
	}
}

// TestPlanFollowsSchema: a SQL connection reuses one Masker for result
// sets whose columns differ but have the same count; the plan must follow
// the names, or a column the last plan ignored would pass unmasked.
func TestPlanFollowsSchema(t *testing.T) {
	h := newHost(t)
	m := NewMasker(Chain{loadExample(t, h, "mask", `{"fields":["email"]}`)})
	for _, cols := range [][]string{{"email", "id"}, {"id", "email"}, {"email", "id"}} {
		var tb Table
		tb.Columns = cols
		tb.Types = []abi.ColumnType{abi.TypeText, abi.TypeText}
		tb.AddRecord()
		for _, c := range cols {
			v := "7"
			if c == "email" {
				v = "ann@example.com"
			}
			tb.AddField(slices.Index(cols, c), abi.KindString, false, []byte(v))
		}
		if err := m.Mask(context.Background(), &tb); err != nil {
			t.Fatal(err)
		}
		for f := range 2 {
			if v, _, _ := tb.Field(f); string(v) == "ann@example.com" {
				t.Fatalf("columns %v: the email passed unmasked", cols)
			}
		}
	}
}

// With several workers, batches are masked at once and written in order:
// the output and the counts are exactly those of one worker, for a body
// of many batches whose schema grows on the way, slow input included.
func TestMaskStreamWorkersKeepOrder(t *testing.T) {
	h := newHost(t)
	mask := loadExample(t, h, "mask", `{"fields":["email"]}`)
	var in strings.Builder
	for i := range 3000 {
		fmt.Fprintf(&in, `{"n":%d,"email":"u%d@example.com"`, i, i)
		if i%500 == 499 {
			fmt.Fprintf(&in, `,"extra%d":"x"`, i) // a column that appears late
		}
		in.WriteString("}\n")
	}
	run := func(workers int, r io.Reader) (string, StreamStats) {
		var out bytes.Buffer
		st, err := MaskStream(context.Background(), NewMasker(Chain{mask}), r, &out,
			StreamOptions{Format: records.FormatNDJSON, BatchRecords: 64, Workers: workers})
		if err != nil {
			t.Fatal(err)
		}
		return out.String(), st
	}
	want, wantSt := run(1, strings.NewReader(in.String()))
	if strings.Contains(want, "@example.com") || wantSt.Batches < 40 {
		t.Fatalf("one worker: %d batches, unmasked e-mails: %v", wantSt.Batches, strings.Contains(want, "@example.com"))
	}
	for _, workers := range []int{2, 4} {
		got, st := run(workers, strings.NewReader(in.String()))
		if got != want || st.Records != wantSt.Records || st.MaskedFields != wantSt.MaskedFields {
			t.Errorf("%d workers: output equal %v, records %d/%d, masked %d/%d", workers, got == want,
				st.Records, wantSt.Records, st.MaskedFields, wantSt.MaskedFields)
		}
		got, _ = run(workers, smallReads{strings.NewReader(in.String()), 700})
		if got != want {
			t.Errorf("%d workers, small reads: output differs", workers)
		}
	}
	// Malformed input still stops at the record, with nothing of it out.
	var out bytes.Buffer
	bad := in.String() + "{\"email\":\"leak@x.io\"\n"
	_, err := MaskStream(context.Background(), NewMasker(Chain{mask}), strings.NewReader(bad), &out,
		StreamOptions{Format: records.FormatNDJSON, BatchRecords: 64, Workers: 3})
	var se *records.SyntaxError
	if !errors.As(err, &se) || se.Line != 3001 || strings.Contains(out.String(), "leak") || out.String() != want {
		t.Fatalf("malformed with workers: err %v, leaked %v, rest equal %v", err, strings.Contains(out.String(), "leak"), out.String() == want)
	}
}

// A fail-closed plugin failure redacts its batches with workers too.
func TestMaskStreamWorkersFailClosed(t *testing.T) {
	h := newHost(t)
	fx := loadFixture(t, h, "fx", "t", fixtureManifest)
	var in strings.Builder
	for i := range 500 {
		fmt.Fprintf(&in, "{\"secret\":\"s-%d\"}\n", i)
	}
	var out bytes.Buffer
	st, err := MaskStream(context.Background(), NewMasker(Chain{fx}), strings.NewReader(in.String()), &out,
		StreamOptions{Format: records.FormatNDJSON, BatchRecords: 50, Workers: 2})
	if !FailedClosed(err) || st.FailedBatches != st.Batches || strings.Contains(out.String(), "s-1") {
		t.Fatalf("err %v, failed %d of %d batches, leaked %v", err, st.FailedBatches, st.Batches, strings.Contains(out.String(), "s-1"))
	}
}

// With workers, a live stream that pauses right after a full batch still
// gets that batch out within FlushAfter, not at the next input.
func TestMaskStreamWorkersFlushOnPause(t *testing.T) {
	h := newHost(t)
	mask := loadExample(t, h, "mask", `{"fields":["email"]}`)
	pr, pw := io.Pipe()
	out := &syncbuf.Buffer{}
	done := make(chan error, 1)
	go func() {
		_, err := MaskStream(context.Background(), NewMasker(Chain{mask}), pr, out,
			StreamOptions{Format: records.FormatNDJSON, BatchRecords: 8, Workers: 2, FlushAfter: 20 * time.Millisecond})
		done <- err
	}()
	var in strings.Builder
	for i := range 8 {
		fmt.Fprintf(&in, "{\"email\":\"u%d@x.io\"}\n", i)
	}
	time.Sleep(100 * time.Millisecond) // the stream's first timer has long fired
	pw.Write([]byte(in.String()))      // exactly one batch, then silence
	deadline := time.Now().Add(5 * time.Second)
	for strings.Count(out.String(), "\n") < 8 {
		if time.Now().After(deadline) {
			t.Fatalf("the batch was held back during the pause: %q", out.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	pw.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "@x.io") {
		t.Errorf("unmasked: %q", out.String())
	}
}
