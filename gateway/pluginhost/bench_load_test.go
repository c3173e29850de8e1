package pluginhost

// Benchmarks of loading plugins: compiling the example plugin (a ~3.5 MB Go
// module, sdk/go/example, built by `make plugins`) cold and from the
// compilation caches, instantiating it, and hot reload latency. Every
// engine compiled in is measured. See bench/README.md.
//
//	go test -run '^$' -bench 'Compile|Instantiate|Reload' ./gateway/pluginhost/
//
// BenchmarkCompile/ENGINE/MODE, one compile per op:
//
//	cold        a new engine with an empty cache compiles the module
//	disk-cache  a new engine (a restarted gateway) on a cache directory
//	            that already holds the module (wazero's CompilationCache
//	            dir, wasmtime's .cwasm files)
//	mem-cache   wazero only: the same engine compiles the same bytes again
//	            (its in-memory cache; wasmtime has none)
//
// BenchmarkInstantiate/ENGINE: one new instance of the example: instantiate,
// _initialize (the Go runtime starting), the arena and sluice_init. A
// reload, and a pool growing under load, pay it.
//
// BenchmarkReload/ENGINE/PLUGIN/MODE: hot reload latency, one reload per
// op. Each op writes a new version (a changed manifest version, so new
// bytes, so no compilation cache hit) next to the plugin, renames it over
// the plugin, and waits until Plugin.Status reports the new version, i.e.
// until the new generation serves. MODE watch has Host.Watch running
// (fsnotify, 50ms debounce, build); direct calls Host.Reload right after
// the rename (the build alone).

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/sluicegw/sluice/abi"
)

// examplePlugin is the Go SDK's example plugin, built by `make plugins`.
var examplePlugin = filepath.Join("..", "..", "sdk", "go", "example", "json-field-mask.wasm")

const exampleConfig = `{"fields":["email"]}`

// readExample returns the example plugin's bytes, or skips.
func readExample(b *testing.B) []byte {
	b.Helper()
	wasm, err := os.ReadFile(examplePlugin)
	if err != nil {
		b.Skipf("%v: build the example plugin with `make plugins`", err)
	}
	return wasm
}

// benchModuleConfig is what Host.Load gives an engine for a plugin with
// the default spec.
func benchModuleConfig() moduleConfig {
	return moduleConfig{
		plugin: "bench", memoryPages: DefaultMemoryLimit / 65536,
		budget: DefaultTimeout, initBudget: defaultInitBudget,
		log: func(abi.LogLevel, []byte) {},
	}
}

func BenchmarkCompile(b *testing.B) {
	mod, err := Inspect(readExample(b))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	cfg := benchModuleConfig()
	compileOnce := func(b *testing.B, eng string, opts EngineOptions) {
		e, err := newEngine(eng, opts)
		if err != nil {
			b.Fatal(err)
		}
		c, err := e.compile(ctx, mod, cfg)
		if err != nil {
			b.Fatal(err)
		}
		c.close(ctx)
		e.close(ctx)
	}
	benchEngines(b, func(b *testing.B, eng string) {
		b.Run("cold", func(b *testing.B) {
			b.SetBytes(int64(len(mod.Bytes)))
			for b.Loop() {
				compileOnce(b, eng, EngineOptions{})
			}
		})
		b.Run("disk-cache", func(b *testing.B) {
			opts := EngineOptions{CacheDir: b.TempDir()}
			if eng == "wasmtime" {
				// Host.New creates the directory; the engine expects it.
				os.MkdirAll(opts.CacheDir, 0o700)
			}
			compileOnce(b, eng, opts) // fills the cache
			b.SetBytes(int64(len(mod.Bytes)))
			for b.Loop() {
				compileOnce(b, eng, opts)
			}
		})
		if eng == "wazero" {
			b.Run("mem-cache", func(b *testing.B) {
				e, err := newEngine(eng, EngineOptions{})
				if err != nil {
					b.Fatal(err)
				}
				defer e.close(ctx)
				c, err := e.compile(ctx, mod, cfg)
				if err != nil {
					b.Fatal(err)
				}
				c.close(ctx)
				b.SetBytes(int64(len(mod.Bytes)))
				for b.Loop() {
					c, err := e.compile(ctx, mod, cfg)
					if err != nil {
						b.Fatal(err)
					}
					c.close(ctx)
				}
			})
		}
	})
}

func BenchmarkInstantiate(b *testing.B) {
	path := filepath.Join(b.TempDir(), "json-field-mask.wasm")
	if err := os.WriteFile(path, readExample(b), 0o644); err != nil {
		b.Fatal(err)
	}
	benchEngines(b, func(b *testing.B, eng string) {
		h := newBenchHost(b, Options{Engine: eng})
		p, err := h.Load(context.Background(), Spec{Name: "json-field-mask", Path: path, Config: []byte(exampleConfig)})
		if err != nil {
			b.Fatal(err)
		}
		g := p.cur.Load()
		b.ReportAllocs()
		for b.Loop() {
			pi, err := g.newInstance(context.Background())
			if err != nil {
				b.Fatal(err)
			}
			pi.in.close()
		}
	})
}

func BenchmarkReload(b *testing.B) {
	fixture, err := os.ReadFile(filepath.Join("testdata", "fixture.wasm"))
	if err != nil {
		b.Fatal(err)
	}
	fm, err := ParseManifest([]byte(fixtureManifest))
	if err != nil {
		b.Fatal(err)
	}
	type reloadCase struct {
		name     string
		manifest abi.Manifest
		config   string
		wasm     []byte
		modes    []string
	}
	plugins := []reloadCase{{"fixture", fm, `{"mode":"n"}`, fixture, []string{"watch", "direct"}}}
	if example, err := os.ReadFile(examplePlugin); err == nil {
		m, err := Inspect(example)
		if err != nil {
			b.Fatal(err)
		}
		// Compiling the example takes seconds: the watch mode only.
		plugins = append(plugins, reloadCase{"example", m.Manifest, exampleConfig, example, []string{"watch"}})
	}
	benchEngines(b, func(b *testing.B, eng string) {
		for _, pl := range plugins {
			for _, mode := range pl.modes {
				b.Run(pl.name+"/"+mode, func(b *testing.B) {
					benchReload(b, eng, pl.name, pl.manifest, pl.config, pl.wasm, mode == "watch")
				})
			}
		}
	})
}

// versioned returns wasm with manifest m, its version set to v.
func versioned(b *testing.B, wasm []byte, m abi.Manifest, v string) []byte {
	b.Helper()
	m.Version = v
	raw, err := json.Marshal(m)
	if err != nil {
		b.Fatal(err)
	}
	out, err := SetManifest(wasm, raw)
	if err != nil {
		b.Fatal(err)
	}
	return out
}

func benchReload(b *testing.B, eng, name string, manifest abi.Manifest, config string, wasm []byte, watch bool) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h := newBenchHost(b, Options{Engine: eng})
	dir := b.TempDir()
	path := filepath.Join(dir, name+".wasm")
	if err := os.WriteFile(path, versioned(b, wasm, manifest, "1.0.0"), 0o644); err != nil {
		b.Fatal(err)
	}
	p, err := h.Load(ctx, Spec{Name: name, Path: path, Config: []byte(config)})
	if err != nil {
		b.Fatal(err)
	}
	if watch {
		done := make(chan struct{})
		go func() { h.Watch(ctx); close(done) }()
		defer func() { cancel(); <-done }()
		// Let the watcher register the directory.
		for !benchWatching(h, dir) {
			time.Sleep(time.Millisecond)
		}
	}
	tmp := filepath.Join(dir, "."+name+".tmp")
	var worst time.Duration
	i := 0
	for b.Loop() {
		b.StopTimer()
		i++
		v := "2.0." + strconv.Itoa(i)
		if err := os.WriteFile(tmp, versioned(b, wasm, manifest, v), 0o644); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		if err := os.Rename(tmp, path); err != nil {
			b.Fatal(err)
		}
		if !watch {
			if err := h.Reload(ctx, name); err != nil {
				b.Fatal(err)
			}
		}
		deadline := start.Add(time.Minute)
		for p.Status().Version != v {
			if time.Now().After(deadline) {
				b.Fatalf("version %s not serving after a minute: %+v", v, p.Status())
			}
			time.Sleep(100 * time.Microsecond)
		}
		worst = max(worst, time.Since(start))
	}
	b.ReportMetric(float64(worst)/1e6, "max-ms")
	b.ReportMetric(float64(b.Elapsed())/float64(b.N)/1e6, "ms/reload")
}

// benchWatching reports whether Watch has registered dir.
func benchWatching(h *Host, dir string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.watched[dir]
}
