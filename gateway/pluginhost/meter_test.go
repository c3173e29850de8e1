package pluginhost

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/sys"

	"github.com/sluicegw/sluice/abi"
)

// The loop-metering rewriter (meter.go) on hand-written fixtures:
// testdata/meter*.wat (built by `make fixtures`) and
// testdata/meter_features/*.wat (built by hand with feature flags; see the
// command in each file).

// meterFeatures is what the tests' runtimes enable: the default (core 2.0
// with SIMD) and the proposals of the feature fixtures that wazero runs.
const meterFeatures = api.CoreFeaturesV2 | experimental.CoreFeaturesTailCall |
	experimental.CoreFeaturesThreads | experimental.CoreFeaturesExtendedConst

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// newMeterRuntime returns a wazero runtime with the host modules the
// fixtures import: "env" (meter_env.wasm) and sluice_v1 with yield.
func newMeterRuntime(t testing.TB, yield api.GoFunc) wazero.Runtime {
	t.Helper()
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCoreFeatures(meterFeatures))
	t.Cleanup(func() { rt.Close(ctx) })
	if _, err := rt.InstantiateWithConfig(ctx, readTestdata(t, "meter_env.wasm"), wazero.NewModuleConfig().WithName("env")); err != nil {
		t.Fatal(err)
	}
	_, err := rt.NewHostModuleBuilder(abi.ImportModule).
		NewFunctionBuilder().WithGoFunction(yield, nil, nil).Export(meterYield).
		NewFunctionBuilder().WithGoFunction(api.GoFunc(func(context.Context, []uint64) {}),
		[]api.ValueType{api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeI32}, nil).Export(abi.ImportLog).
		Instantiate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return rt
}

type meterCall struct {
	fn   string
	args []uint64
}

func f32arg(f float32) uint64 { return uint64(math.Float32bits(f)) }

// meterCases are the fixtures whose exports are called before and after
// metering, in this order on one instance each.
var meterCases = []struct {
	file  string
	calls []meterCall
}{
	{"meter.wasm", []meterCall{
		{"started", nil}, {"k", nil}, {"imported", []uint64{2, 3}},
		{"sum", []uint64{1000}}, {"sum_again", []uint64{5000}}, {"nested", []uint64{37, 53}},
		{"machine", []uint64{1000}}, {"fib", []uint64{20}},
		{"indirect", []uint64{0, 7, 3}}, {"indirect", []uint64{1, 7, 3}}, {"indirect", []uint64{4, 7, 3}}, {"indirect", []uint64{5, 7, 3}},
		{"passive", nil}, {"reffunc", []uint64{10}}, {"multi", []uint64{100}}, {"bulk", nil},
		{"conv", []uint64{f32arg(-3.7)}}, {"conv", []uint64{f32arg(1e20)}},
		{"sel", []uint64{0}}, {"sel", []uint64{1}}, {"consts", nil}, {"tree", []uint64{12}},
	}},
	{"meter_simd.wasm", []meterCall{{"simd", []uint64{0}}, {"simd", []uint64{1000}}}},
	{"meter_min.wasm", []meterCall{{"count", []uint64{5000}}}},
	{"meter_features/tail.wasm", []meterCall{{"count", []uint64{1_000_000, 0}}, {"count_indirect", []uint64{100_000, 0}}}},
	{"meter_features/threads.wasm", []meterCall{{"f", []uint64{100}}}},
	{"meter_features/extconst.wasm", []meterCall{{"f", nil}}},
	{"fixture.wasm", []meterCall{{"sluice_arena", []uint64{100}}, {"sluice_selftest", nil}}},
}

// runMeterCalls instantiates wasm as name and runs calls; it returns their
// results and the final memory.
func runMeterCalls(t *testing.T, rt wazero.Runtime, name string, wasm []byte, calls []meterCall) ([]string, []byte) {
	t.Helper()
	ctx := context.Background()
	m, err := rt.InstantiateWithConfig(ctx, wasm, wazero.NewModuleConfig().WithName(name))
	if err != nil {
		t.Fatalf("%s: instantiate: %v", name, err)
	}
	var got []string
	for _, c := range calls {
		f := m.ExportedFunction(c.fn)
		if f == nil {
			t.Fatalf("%s: no export %q", name, c.fn)
		}
		res, err := f.Call(ctx, c.args...)
		got = append(got, fmt.Sprintf("%s%v = %v (%v)", c.fn, c.args, res, err))
	}
	var mem []byte
	if _, ok := m.ExportedMemoryDefinitions()["memory"]; ok {
		mem = bytes.Clone(wazeroView(m.ExportedMemory("memory")))
	}
	return got, mem
}

func TestMeterSameResults(t *testing.T) {
	for _, c := range meterCases {
		t.Run(c.file, func(t *testing.T) {
			orig := readTestdata(t, c.file)
			metered, err := meterModule(orig)
			if err != nil {
				t.Fatal(err)
			}
			var yields atomic.Int64
			rt := newMeterRuntime(t, func(context.Context, []uint64) { yields.Add(1) })
			want, wantMem := runMeterCalls(t, rt, "orig", orig, c.calls)
			got, gotMem := runMeterCalls(t, rt, "metered", metered, c.calls)
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("metered %s, want %s", got[i], want[i])
				}
			}
			if !bytes.Equal(gotMem, wantMem) {
				t.Error("the memories differ after the calls")
			}
			t.Logf("%d bytes -> %d, %d yields; %s", len(orig), len(metered), yields.Load(), strings.Join(want, "; "))
		})
	}
}

// TestMeterYieldCount checks that yield is called once per meterInterval
// loop iterations and function entries.
func TestMeterYieldCount(t *testing.T) {
	metered, err := meterModule(readTestdata(t, "meter.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	var yields atomic.Int64
	rt := newMeterRuntime(t, func(context.Context, []uint64) { yields.Add(1) })
	m, err := rt.InstantiateWithConfig(context.Background(), metered, wazero.NewModuleConfig().WithName(""))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		fn      string
		arg     uint64
		metered int64 // loop iterations and function entries
	}{
		// sum(n): one entry, n+1 loop headers.
		{"sum", 1_000_000, 1_000_002},
		// tree(n): 2^(n+1)-1 entries.
		{"tree", 16, 1<<17 - 1},
	} {
		before := yields.Load()
		// The counter carries over: it was anywhere in (0, meterInterval].
		if _, err := m.ExportedFunction(c.fn).Call(context.Background(), c.arg); err != nil {
			t.Fatal(err)
		}
		n := yields.Load() - before
		if lo, hi := c.metered/meterInterval, c.metered/meterInterval+1; n < lo || n > hi {
			t.Errorf("%s(%d): %d yields, want %d..%d", c.fn, c.arg, n, lo, hi)
		}
	}
}

// TestMeterTimeouts runs code that never returns, metered, with wazero's
// termination checks off, under wazeroYield: every call must end in a
// deadline exit error, not before its budget, both with a call context
// (as wazeroInstance.call) and with a plain context (as instantiation).
func TestMeterTimeouts(t *testing.T) {
	ctx := context.Background()
	rt := newMeterRuntime(t, wazeroYield)
	inst := func(file string) api.Module {
		metered, err := meterModule(readTestdata(t, file))
		if err != nil {
			t.Fatal(err)
		}
		m, err := rt.InstantiateWithConfig(ctx, metered, wazero.NewModuleConfig().WithName(""))
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	const budget = 20 * time.Millisecond
	for _, c := range []struct {
		file, fn string
		args     []uint64
	}{
		{"meter.wasm", "spin", []uint64{0}},
		{"meter.wasm", "spin_first", nil},
		{"meter.wasm", "tree", []uint64{60}},
		{"meter_features/tail.wasm", "forever", []uint64{0}},
	} {
		for _, plain := range []bool{false, true} {
			m := inst(c.file)
			start := time.Now()
			var callCtx context.Context
			if plain {
				var cancel context.CancelFunc
				callCtx, cancel = context.WithTimeout(ctx, budget)
				defer cancel()
			} else {
				cc := newCallContext(ctx)
				cc.arm(budget)
				defer cc.disarm()
				callCtx = cc
			}
			_, err := m.ExportedFunction(c.fn).Call(callCtx, c.args...)
			took := time.Since(start)
			var ee *sys.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != sys.ExitCodeDeadlineExceeded || classify(wazeroErr(err)) != FailTimeout {
				t.Fatalf("%s %s (plain context %v): %v", c.file, c.fn, plain, err)
			}
			if took < budget {
				t.Errorf("%s %s (plain context %v): stopped after %v, before its budget of %v", c.file, c.fn, plain, took, budget)
			}
			t.Logf("%s %s (plain context %v): budget %v, stopped after %v", c.file, c.fn, plain, budget, took)
		}
	}
	// A canceled plain context (a caller giving up during instantiation).
	m := inst("meter.wasm")
	cctx, cancel := context.WithCancel(ctx)
	time.AfterFunc(budget, cancel)
	_, err := m.ExportedFunction("spin").Call(cctx, 0)
	var ee *sys.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != sys.ExitCodeContextCanceled {
		t.Fatalf("canceled: %v", err)
	}
}

// TestMeterEngine checks the wazero engine's wiring: with a budget the
// module is metered and a spinning call is stopped as a timeout; without
// one (benchmarks) it is compiled as is.
func TestMeterEngine(t *testing.T) {
	wasm, err := SetManifest(readTestdata(t, "fixture.wasm"), []byte(fixtureManifest))
	if err != nil {
		t.Fatal(err)
	}
	mod, err := Inspect(wasm)
	if err != nil {
		t.Fatal(err)
	}
	e, err := newWazero(EngineOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.close(context.Background())
	cfg := benchModuleConfig()
	cfg.memoryPages = 16
	for _, budget := range []time.Duration{0, 100 * time.Millisecond} {
		cfg.budget = budget
		c, err := e.compile(context.Background(), mod, cfg)
		if err != nil {
			t.Fatal(err)
		}
		wc := c.(*wazeroCompiled)
		if want := budget > 0 && wazeroInterrupt != "close"; wc.metered != want {
			t.Errorf("budget %v: metered %v", budget, wc.metered)
		}
		var first string
		if imports := wc.cm.ImportedFunctions(); len(imports) > 0 {
			mod, name, _ := imports[0].Import()
			first = mod + "." + name
		}
		if yield := abi.ImportModule + "." + meterYield; (first == yield) != wc.metered {
			t.Errorf("budget %v: metered %v, first import %s", budget, wc.metered, first)
		}
		c.close(context.Background())
	}
}

// TestMeterOverrunCallSucceeds checks that a call that returns after its
// budget's timer fired, before its metered code checked the deadline,
// keeps its results and does not fail the instance's next call.
func TestMeterOverrunCallSucceeds(t *testing.T) {
	if wazeroInterrupt == "close" {
		t.Skip("not metered")
	}
	wasm, err := SetManifest(readTestdata(t, "fixture.wasm"), []byte(fixtureManifest))
	if err != nil {
		t.Fatal(err)
	}
	mod, err := Inspect(wasm)
	if err != nil {
		t.Fatal(err)
	}
	e, err := newWazero(EngineOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.close(context.Background())
	cfg := benchModuleConfig()
	cfg.memoryPages = 16
	var in *wazeroInstance
	// sluice_init logs a line: the budget's timer "fires" then, while the
	// guest runs.
	cfg.log = func(abi.LogLevel, []byte) { in.cctx.expired.Store(true) }
	c, err := e.compile(context.Background(), mod, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.close(context.Background())
	i, err := c.instantiate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer i.close()
	in = i.(*wazeroInstance)
	old := in.cctx
	if st, err := in.call(fnInit, 0, 0); err != nil || st != 0 {
		t.Fatalf("the overrun call: status %d, %v", st, err)
	}
	if in.cctx == old || in.cctx.expired.Load() {
		t.Fatal("the spent context was not replaced")
	}
	if st, err := in.call(fnSelfTest, 0, 0); err != nil || st != 0 {
		t.Fatalf("the next call: status %d, %v", st, err)
	}
}

func TestMeterRefusesItsImport(t *testing.T) {
	metered, err := meterModule(readTestdata(t, "fixture.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	wasm, err := SetManifest(metered, []byte(fixtureManifest))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Inspect(wasm); err == nil || !strings.Contains(err.Error(), `invalid import["sluice_v1"."yield"]`) {
		t.Fatalf("a guest importing sluice_v1.yield: %v", err)
	}
}

// TestMeterKeepsNames checks that the "name" section follows the function
// indices (traps name the right functions) and that custom sections stay.
func TestMeterKeepsNames(t *testing.T) {
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCoreFeatures(meterFeatures))
	defer rt.Close(ctx)
	for _, file := range []string{"meter.wasm", "meter_features/tail.wasm"} {
		orig, err := setCustomSection(readTestdata(t, file), "x.keep", []byte("kept"))
		if err != nil {
			t.Fatal(err)
		}
		metered, err := meterModule(orig)
		if err != nil {
			t.Fatal(err)
		}
		info, err := parseWasm(metered)
		if err != nil {
			t.Fatal(err)
		}
		if string(info.customs["x.keep"]) != "kept" {
			t.Errorf("%s: custom section lost", file)
		}
		a, err := rt.CompileModule(ctx, orig)
		if err != nil {
			t.Fatal(err)
		}
		b, err := rt.CompileModule(ctx, metered)
		if err != nil {
			t.Fatal(err)
		}
		bx := b.ExportedFunctions()
		named := 0
		for name, def := range a.ExportedFunctions() {
			got := bx[name]
			if got == nil || got.Name() != def.Name() || fmt.Sprint(got.ParamNames()) != fmt.Sprint(def.ParamNames()) {
				t.Errorf("%s: export %q: function %q %v, want %q %v", file, name, got.Name(), got.ParamNames(), def.Name(), def.ParamNames())
			}
			if def.Name() != "" {
				named++
			}
		}
		if _, ok := parseWasmCustom(t, orig, "name"); ok && named == 0 {
			t.Fatalf("%s: no named exports", file)
		}
	}
}

func parseWasmCustom(t *testing.T, wasm []byte, name string) ([]byte, bool) {
	t.Helper()
	info, err := parseWasm(wasm)
	if err != nil {
		t.Fatal(err)
	}
	b, ok := info.customs[name]
	return b, ok
}

// TestMeterRenumberNames renumbers every function-indexed subsection of a
// "name" section (functions, locals, labels) and keeps the others; a
// malformed one is dropped.
func TestMeterRenumberNames(t *testing.T) {
	sub := func(id byte, b ...byte) []byte { return append(appendU32([]byte{id}, uint32(len(b))), b...) }
	sec := []byte{4, 'n', 'a', 'm', 'e'}
	sec = append(sec, sub(0, 1, 'm')...)                  // module name
	sec = append(sec, sub(1, 2, 0, 1, 'a', 5, 1, 'b')...) // functions 0 "a", 5 "b"
	sec = append(sec, sub(2, 1, 5, 1, 0, 1, 'x')...)      // function 5: local 0 "x"
	sec = append(sec, sub(3, 1, 0, 1, 2, 1, 'l')...)      // function 0: label 2 "l"
	sec = append(sec, sub(4, 1, 0, 1, 't')...)            // type 0 "t"
	want := []byte{4, 'n', 'a', 'm', 'e'}
	want = append(want, sub(0, 1, 'm')...)
	want = append(want, sub(1, 2, 1, 1, 'a', 6, 1, 'b')...)
	want = append(want, sub(2, 1, 6, 1, 0, 1, 'x')...)
	want = append(want, sub(3, 1, 1, 1, 2, 1, 'l')...)
	want = append(want, sub(4, 1, 0, 1, 't')...)
	m := &meterer{}
	if got, ok := m.renumberNames(sec); !ok || !bytes.Equal(got, want) {
		t.Fatalf("got % x (%v)\nwant % x", got, ok, want)
	}
	if _, ok := m.renumberNames(append(sec, 1, 9, 1)); ok {
		t.Fatal("a truncated subsection was accepted")
	}
}

// wasmModule assembles a module of the type () -> (), one function of
// that type with body (locals included), and an export "f".
func wasmModule(body []byte) []byte {
	sec := func(id byte, b []byte) []byte { return append(appendU32([]byte{id}, uint32(len(b))), b...) }
	m := append([]byte(nil), wasmMagic...)
	m = append(m, sec(secType, []byte{1, 0x60, 0, 0})...)
	m = append(m, sec(secFunction, []byte{1, 0})...)
	m = append(m, sec(secExport, []byte{1, 1, 'f', extFunc, 0})...)
	code := appendU32([]byte{1}, uint32(len(body)))
	return append(m, sec(secCode, append(code, body...))...)
}

func TestMeterRefuses(t *testing.T) {
	eh := readTestdata(t, "meter_features/eh.wasm")
	for _, c := range []struct {
		name string
		wasm []byte
		want string
	}{
		{"relaxed SIMD", wasmModule([]byte{0, 0xfd, 0xff, 0x03, 0x0b}), "meter: function 0: unknown opcode 0xfd 0x1ff at byte "},
		{"SIMD hole", wasmModule([]byte{0, 0xfd, 0x9a, 0x01, 0x0b}), "unknown opcode 0xfd 0x9a"},
		{"ref.eq", wasmModule([]byte{0, 0xd3, 0x0b}), "unknown opcode 0xd3"},
		{"misc", wasmModule([]byte{0, 0xfc, 0x12, 0x0b}), "unknown opcode 0xfc 0x12"},
		{"atomic", wasmModule([]byte{0, 0xfe, 0x04, 0x0b}), "unknown opcode 0xfe 0x4"},
		{"unknown", wasmModule([]byte{0, 0x27, 0x0b}), "unknown opcode 0x27"},
		{"legacy exceptions", eh, "legacy exception handling"},
		{"no end", wasmModule([]byte{0, 0x01}), "malformed module"},
		{"after end", wasmModule([]byte{0, 0x0b, 0x01}), "bytes after its end"},
		{"bad local type", wasmModule([]byte{1, 1, 0x55, 0x0b}), "unknown value type 0x55"},
		{"bad block type", wasmModule([]byte{0, 0x02, 0x7a, 0x0b, 0x0b}), "invalid block type"},
		{"not wasm", []byte("hello"), "not a WebAssembly module"},
	} {
		out, err := meterModule(c.wasm)
		if err == nil || !strings.Contains(err.Error(), c.want) || out != nil {
			t.Errorf("%s: %v, want an error with %q", c.name, err, c.want)
		}
	}
}

// TestMeterFeatures meters modules wazero does not run (multiple memories,
// 64-bit memory): the rewriter reads them, and the output still has every
// export.
func TestMeterFeatures(t *testing.T) {
	for _, file := range []string{"meter_features/multimem.wasm", "meter_features/memory64.wasm"} {
		out, err := meterModule(readTestdata(t, file))
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		info, err := parseWasm(out)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if e, ok := info.export("f"); !ok || e.index != 1 || len(info.imports) != 1 {
			t.Errorf("%s: export %v, imports %v", file, e, info.imports)
		}
	}
}

// meterSeeds are the fuzz seeds: every fixture, and the Go example if it
// is built (`make plugins`) and this is not a fuzzing run (each mutation
// of its 3.5 MB would take seconds to compile).
func meterSeeds(t testing.TB) [][]byte {
	var seeds [][]byte
	globs := []string{"testdata/*.wasm", "testdata/meter_features/*.wasm"}
	if f := flag.Lookup("test.fuzz"); f == nil || f.Value.String() == "" {
		globs = append(globs, examplePlugin)
	}
	for _, glob := range globs {
		paths, _ := filepath.Glob(glob)
		for _, p := range paths {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			seeds = append(seeds, b)
		}
	}
	return seeds
}

// FuzzMeterModule: whatever wazero compiles, meterModule refuses or turns
// into a module that wazero compiles too.
func FuzzMeterModule(f *testing.F) {
	for _, s := range meterSeeds(f) {
		f.Add(s)
	}
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCoreFeatures(meterFeatures))
	f.Cleanup(func() { rt.Close(ctx) })
	f.Fuzz(func(t *testing.T, wasm []byte) {
		// As the host: Inspect reads the module (parseWasm) before an
		// engine sees it.
		if _, err := parseWasm(wasm); err != nil {
			return
		}
		// meterModule first: it reads every vector element by element, so
		// what it accepts declares no count its bytes do not back, which
		// wazero preallocates (a table section declaring 2^28 tables
		// makes it run out of memory, fatally).
		out, err := meterModule(wasm)
		if err != nil {
			return
		}
		cm, err := rt.CompileModule(ctx, wasm)
		if err != nil {
			return
		}
		cm.Close(ctx)
		cm, err = rt.CompileModule(ctx, out)
		if err != nil {
			t.Fatalf("wazero compiles the module but not its metered version: %v", err)
		}
		cm.Close(ctx)
	})
}

// FuzzMeterBody is FuzzMeterModule on the code of one function () -> ()
// (locals included), which keeps most inputs past the module's structure.
func FuzzMeterBody(f *testing.F) {
	for _, body := range [][]byte{
		{0, 0x0b},
		{0, 0x03, 0x40, 0x0c, 0x00, 0x0b, 0x0b}, // loop br 0
		{1, 1, 0x7f, 0x02, 0x40, 0x03, 0x40, 0x20, 0x00, 0x0d, 0x01, 0x0b, 0x0b, 0x0b}, // block loop br_if
		{0, 0x41, 0x00, 0x0e, 0x01, 0x00, 0x00, 0x0b},                                  // br_table
		{0, 0x10, 0x00, 0x0b}, // call 0 (itself)
		{0, 0xfd, 0x0c, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x1a, 0x0b}, // v128.const drop
	} {
		f.Add(body)
	}
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCoreFeatures(meterFeatures))
	f.Cleanup(func() { rt.Close(ctx) })
	f.Fuzz(func(t *testing.T, body []byte) {
		wasm := wasmModule(body)
		out, err := meterModule(wasm)
		if err != nil {
			return
		}
		cm, err := rt.CompileModule(ctx, wasm)
		if err != nil {
			return
		}
		cm.Close(ctx)
		cm, err = rt.CompileModule(ctx, out)
		if err != nil {
			t.Fatalf("wazero compiles the module but not its metered version: %v", err)
		}
		cm.Close(ctx)
	})
}

// BenchmarkMeterExample prices metering on the guest alone: the engine's
// call of the Go example's sluice_records on 16 and 256 one-field records
// (benchRaw), with the budget (metered on wazero) and without.
func BenchmarkMeterExample(b *testing.B) {
	path := filepath.Join(b.TempDir(), "json-field-mask.wasm")
	if err := os.WriteFile(path, readExample(b), 0o644); err != nil {
		b.Fatal(err)
	}
	benchEngines(b, func(b *testing.B, eng string) {
		for _, bm := range budgetModes {
			b.Run(bm.name, func(b *testing.B) {
				h := newBenchHost(b, Options{Engine: eng, NoBudget: bm.noBudget})
				p, err := h.Load(context.Background(), Spec{Name: "json-field-mask", Path: path, Config: []byte(exampleConfig)})
				if err != nil {
					b.Fatal(err)
				}
				b.Run("raw-records16", func(b *testing.B) { benchRaw(b, p, 16) })
				b.Run("raw-records256", func(b *testing.B) { benchRaw(b, p, 256) })
			})
		}
	})
}

// BenchmarkMeterModule: metering the 3.5 MB Go example (once per load;
// wazero's compilation cache is keyed by the metered bytes).
func BenchmarkMeterModule(b *testing.B) {
	wasm := readExample(b)
	b.SetBytes(int64(len(wasm)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := meterModule(wasm); err != nil {
			b.Fatal(err)
		}
	}
}
