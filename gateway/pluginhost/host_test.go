package pluginhost

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicegw/sluice/abi"
)

// testEngine is the engine every test in this package runs against; the
// wasmtime build tag switches it (see engine_wasmtime_test.go).
var testEngine = "wazero"

func newTestHost(t testing.TB) *Host {
	t.Helper()
	h, err := New(Options{Engine: testEngine})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close(context.Background()) })
	return h
}

// writeFixture writes testdata/NAME.wasm with the manifest set to dir and
// returns its path.
func writeFixture(t testing.TB, dir, name, manifest string) string {
	t.Helper()
	wasm, err := os.ReadFile(filepath.Join("testdata", name+".wasm"))
	if err != nil {
		t.Fatal(err)
	}
	if manifest != "" {
		if wasm, err = SetManifest(wasm, []byte(manifest)); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, name+".wasm")
	if err := os.WriteFile(path, wasm, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

const fixtureManifest = `{"abi":1,"name":"fixture","version":"1.0.0","hooks":["command","records","selftest"]}`

func loadFixture(t testing.TB, h *Host, mode string, mutate func(*Spec)) (*Plugin, error) {
	t.Helper()
	spec := Spec{Name: "fixture", Path: writeFixture(t, t.TempDir(), "fixture", fixtureManifest),
		Config: []byte(`{"mode":"` + mode + `"}`), Timeout: 200 * time.Millisecond}
	if mutate != nil {
		mutate(&spec)
	}
	return h.Load(context.Background(), spec)
}

func TestInspectErrors(t *testing.T) {
	dir := t.TempDir()
	notWasm := filepath.Join(dir, "x.wasm")
	os.WriteFile(notWasm, []byte("#!/bin/sh\necho hi\n"), 0o644)
	cases := []struct{ name, path, want string }{
		{"not wasm", notWasm, "not a WebAssembly module"},
		{"wrong abi version", writeFixture(t, dir, "v2", ""), "plugin targets ABI v2; this host speaks v1"},
		{"command module", writeFixture(t, dir, "command", ""), `command-style module (exports "_start") without a reactor entry`},
		{"missing manifest", writeFixture(t, dir, "fixture", ""), `missing custom section "sluice.manifest"`},
		{"bad import", writeFixture(t, dir, "badimport", `{"abi":1,"name":"b","version":"1","hooks":["records"]}`), `invalid import["sluice_v1"."clock"]: unknown`},
		{"bad signature", writeFixture(t, dir, "badsig", `{"abi":1,"name":"b","version":"1","hooks":["records"]}`), `invalid export "sluice_records": signature (i32) -> (i32), want (i32, i32) -> (i32)`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wasm, _ := os.ReadFile(c.path)
			_, err := Inspect(wasm)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want %q", err, c.want)
			}
		})
	}
}

func TestManifestErrors(t *testing.T) {
	cases := []struct{ manifest, want string }{
		{`{"abi":2,"name":"x","version":"1","hooks":["records"]}`, "plugin targets ABI v2; this host speaks v1"},
		{`{"abi":1,"name":"X Y","version":"1","hooks":["records"]}`, `name "X Y"`},
		{`{"abi":1,"name":"x","version":"1","hooks":["rows"]}`, `hooks[0]: "rows" is not one of`},
		{`{"abi":1,"name":"x","version":"1","hooks":["records"],"capabilities":["net"]}`, `capabilities[0]: "net"`},
		{`{"abi":1,"name":"x","version":"1","hooks":["records"],"detector":["email"]}`, `unknown field "detector"`},
		{`{"abi":1,"name":"x","version":"1","hooks":["records"],"on_error":"maybe"}`, `on_error: "maybe"`},
	}
	for _, c := range cases {
		if _, err := ParseManifest([]byte(c.manifest)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.manifest, err, c.want)
		}
	}
}

func TestCommandVerdicts(t *testing.T) {
	h := newTestHost(t)
	p, err := loadFixture(t, h, "n", nil)
	if err != nil {
		t.Fatal(err)
	}
	var cb abi.CommandBuilder
	for text, want := range map[string]abi.Verdict{"DROP TABLE x": abi.Block, "ALTER x": abi.RequireApproval, "SELECT 1": abi.Allow, "": abi.Allow} {
		cb.Reset()
		cb.Set(abi.CommandSQL, text, "ci", "orders")
		d, err := p.Command(context.Background(), &cb)
		if err != nil || d.Verdict != want {
			t.Errorf("%q: got %v %q %v, want %v", text, d.Verdict, d.Reason, err, want)
		}
	}
}

func fixtureBatch(bb *abi.BatchBuilder) {
	bb.Reset()
	c := bb.AddColumn([]byte("email"), abi.TypeText, 0)
	bb.BeginRecord()
	bb.AddField(c, abi.KindString, false, []byte("ann@example.com"))
	bb.BeginRecord()
	bb.AddField(c, abi.KindNull, true, nil)
	bb.BeginRecord()
	bb.AddField(c, abi.KindString, false, []byte("żółw@example.pl"))
}

func TestRecordsInPlace(t *testing.T) {
	h := newTestHost(t)
	p, err := loadFixture(t, h, "n", nil)
	if err != nil {
		t.Fatal(err)
	}
	var bb abi.BatchBuilder
	fixtureBatch(&bb)
	var got []string
	err = p.Records(context.Background(), &bb, func(b *abi.Batch, e *abi.Edits) error {
		for it := e.Iter(); it.Next(); {
			ed := it.Edit()
			if ed.Op != abi.EditInPlace {
				t.Errorf("op %v", ed.Op)
			}
			v := b.Field(ed.Target).Value
			got = append(got, string(v[ed.Off:ed.Off+ed.Len]))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{strings.Repeat("*", 15), strings.Repeat("*", len("żółw@example.pl"))}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("got %q want %q", got, want)
	}
}

func TestFailures(t *testing.T) {
	cases := []struct {
		mode string
		kind FailureKind
	}{
		{"l", FailTimeout},
		{"t", FailTrap},
		{"m", FailMemory},
		{"f", FailStatus},
		{"x", FailABI},
	}
	for _, c := range cases {
		t.Run(string(c.kind), func(t *testing.T) {
			h := newTestHost(t)
			p, err := loadFixture(t, h, c.mode, func(s *Spec) {
				s.MemoryLimit = 4 << 20
				s.Timeout = time.Second
				if c.kind == FailTimeout {
					s.Timeout = 50 * time.Millisecond
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			var bb abi.BatchBuilder
			fixtureBatch(&bb)
			called := false
			err = p.Records(context.Background(), &bb, func(*abi.Batch, *abi.Edits) error { called = true; return nil })
			var pe *PluginError
			if !errors.As(err, &pe) || pe.Kind != c.kind || pe.FailOpen || called {
				t.Fatalf("got %v (called %v), want kind %s", err, called, c.kind)
			}
			// The plugin keeps serving commands after a failed call: the
			// broken instance was discarded and a fresh one takes over.
			var cb abi.CommandBuilder
			cb.Set(abi.CommandSQL, "DROP", "a", "b")
			if d, err := p.Command(context.Background(), &cb); err != nil || d.Verdict != abi.Block {
				t.Fatalf("after failure: %v %v", d, err)
			}
		})
	}
}

func TestFailModesForCommands(t *testing.T) {
	h := newTestHost(t)
	// init fails -> no instance can be created -> the command fails closed.
	p, err := loadFixture(t, h, "i", nil)
	if err == nil || !strings.Contains(err.Error(), "init failed on purpose") {
		t.Fatalf("load with failing init: %v", err)
	}
	_ = p
	p, err = loadFixture(t, h, "s", nil)
	if err == nil || !strings.Contains(err.Error(), "selftest") {
		t.Fatalf("load with failing selftest: %v", err)
	}
}

func TestTimeoutFailClosedAndOpen(t *testing.T) {
	for _, mode := range []string{FailClosed, FailOpen} {
		t.Run(mode, func(t *testing.T) {
			h := newTestHost(t)
			p, err := loadFixture(t, h, "l", func(s *Spec) { s.OnError = mode; s.Timeout = 20 * time.Millisecond })
			if err != nil {
				t.Fatal(err)
			}
			var bb abi.BatchBuilder
			fixtureBatch(&bb)
			err = p.Records(context.Background(), &bb, func(*abi.Batch, *abi.Edits) error { return nil })
			var pe *PluginError
			if !errors.As(err, &pe) || pe.Kind != FailTimeout || pe.FailOpen != (mode == FailOpen) {
				t.Fatalf("got %v", err)
			}
		})
	}
}

func TestBreakerOpens(t *testing.T) {
	h := newTestHost(t)
	p, err := loadFixture(t, h, "t", func(s *Spec) { s.BreakerFailures = 3; s.BreakerCooldown = time.Hour })
	if err != nil {
		t.Fatal(err)
	}
	var bb abi.BatchBuilder
	fixtureBatch(&bb)
	var kinds []FailureKind
	for i := 0; i < 5; i++ {
		err := p.Records(context.Background(), &bb, func(*abi.Batch, *abi.Edits) error { return nil })
		var pe *PluginError
		errors.As(err, &pe)
		kinds = append(kinds, pe.Kind)
	}
	want := []FailureKind{FailTrap, FailTrap, FailTrap, FailBreaker, FailBreaker}
	for i := range want {
		if kinds[i] != want[i] {
			t.Fatalf("got %v, want %v", kinds, want)
		}
	}
}

func TestGuestLogAndStatus(t *testing.T) {
	h := newTestHost(t)
	p, err := loadFixture(t, h, "n", nil)
	if err != nil {
		t.Fatal(err)
	}
	st := p.Status()
	if st.Version != "1.0.0" || len(st.SHA256) != 64 || st.Engine != testEngine || st.LastError != "" {
		t.Fatalf("status %+v", st)
	}
}

// TestHotReloadUnderLoad reloads the plugin 100 times while goroutines
// call it, and checks that no call fails and that a broken replacement
// never takes over.
func TestHotReloadUnderLoad(t *testing.T) {
	h := newTestHost(t)
	dir := t.TempDir()
	path := writeFixture(t, dir, "fixture", fixtureManifest)
	p, err := h.Load(context.Background(), Spec{Name: "fixture", Path: path, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	good, _ := os.ReadFile(path)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var calls, failures atomic.Int64
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var cb abi.CommandBuilder
			cb.Set(abi.CommandSQL, "DROP TABLE t", "ci", "db")
			for ctx.Err() == nil {
				d, err := p.Command(context.Background(), &cb)
				calls.Add(1)
				if err != nil || d.Verdict != abi.Block {
					failures.Add(1)
				}
			}
		}()
	}
	for i := 0; i < 100; i++ {
		// Every reload is a real new version (the manifest's version
		// changes the bytes), and every tenth replacement is broken.
		var wasm []byte
		if i%10 == 9 {
			wasm = []byte("\x00asm\x01\x00\x00\x00garbage")
		} else {
			wasm, _ = SetManifest(good, []byte(`{"abi":1,"name":"fixture","version":"1.1.`+strconv.Itoa(i)+`","hooks":["command","records","selftest"]}`))
		}
		os.WriteFile(path, wasm, 0o644)
		err := h.Reload(context.Background(), "fixture")
		if (i%10 == 9) != (err != nil) {
			t.Fatalf("reload %d: %v", i, err)
		}
	}
	cancel()
	wg.Wait()
	if failures.Load() != 0 {
		t.Fatalf("%d of %d calls failed during reloads", failures.Load(), calls.Load())
	}
	st := p.Status()
	if st.Version != "1.1.98" || st.LastError == "" || st.Reloads != 90 || st.Generation != 91 || st.LastResult != "error" {
		t.Fatalf("status after reloads: %+v", st)
	}
	t.Logf("%d calls, 0 failures, 100 reloads", calls.Load())
}

func TestWatchReloadsChangedFile(t *testing.T) {
	h := newTestHost(t)
	dir := t.TempDir()
	path := writeFixture(t, dir, "fixture", fixtureManifest)
	p, err := h.Load(context.Background(), Spec{Name: "fixture", Path: path})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go h.Watch(ctx)
	good, _ := os.ReadFile(path)
	next, _ := SetManifest(good, []byte(`{"abi":1,"name":"fixture","version":"2.0.0","hooks":["command","records","selftest"]}`))
	// Replace the file the way deploy tools do: write aside, rename over.
	deadline := time.Now().Add(10 * time.Second)
	for p.Status().Version != "2.0.0" {
		if time.Now().After(deadline) {
			t.Fatalf("file change not picked up: %+v", p.Status())
		}
		tmp := filepath.Join(dir, ".fixture.tmp")
		os.WriteFile(tmp, next, 0o644)
		os.Rename(tmp, path)
		time.Sleep(100 * time.Millisecond)
	}
}
