//go:build wasmtime

package pluginhost

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicegw/sluice/abi"
)

// With the wasmtime build tag every test of the package runs on wasmtime.
func init() { testEngine = "wasmtime" }

func TestWasmtimeCompileCache(t *testing.T) {
	cacheDir := t.TempDir()
	path := writeFixture(t, t.TempDir(), "fixture", fixtureManifest)
	// load opens a host on cacheDir, loads the fixture, checks that it
	// works and returns the engine's cache counters and the entry's path.
	load := func(t *testing.T) (hits, misses, writes int64, entry string) {
		t.Helper()
		h, err := New(Options{Engine: "wasmtime", CacheDir: cacheDir})
		if err != nil {
			t.Fatal(err)
		}
		defer h.Close(context.Background())
		p, err := h.Load(context.Background(), Spec{Name: "fixture", Path: path})
		if err != nil {
			t.Fatal(err)
		}
		var cb abi.CommandBuilder
		cb.Set(abi.CommandSQL, "DROP TABLE x", "ci", "db")
		if d, err := p.Command(context.Background(), &cb); err != nil || d.Verdict != abi.Block {
			t.Fatalf("command: %v %v", d, err)
		}
		e := h.eng.(*wasmtimeEngine)
		// The key is the code the engine compiles: the module without its
		// manifest section (Module.Bytes).
		file, _ := os.ReadFile(path)
		mod, err := Inspect(file)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(mod.Bytes)
		entry = filepath.Join(cacheDir, "wasmtime", wasmtimeCacheDirName, hex.EncodeToString(sum[:])+".cwasm")
		return e.cacheHits.Load(), e.cacheMisses.Load(), e.cacheWrites.Load(), entry
	}
	checkEntry := func(t *testing.T, entry string) {
		t.Helper()
		b, err := os.ReadFile(entry)
		if err != nil {
			t.Fatalf("cache entry: %v", err)
		}
		if _, ok := cwasmPayload(b); !ok {
			t.Fatalf("cache entry %s is not valid", entry)
		}
		tmps, _ := filepath.Glob(filepath.Join(filepath.Dir(entry), ".tmp-*"))
		if len(tmps) != 0 {
			t.Fatalf("temporary files left behind: %v", tmps)
		}
	}

	// First host: compiles and writes the entry.
	hits, misses, writes, entry := load(t)
	if hits != 0 || misses != 1 || writes != 1 {
		t.Fatalf("cold: hits %d misses %d writes %d", hits, misses, writes)
	}
	checkEntry(t, entry)
	if !strings.Contains(entry, wasmtimeGoVersion) {
		t.Fatalf("cache key %s lacks the wasmtime-go version", entry)
	}

	// Second host: loads the compiled code from the entry.
	if hits, misses, writes, _ = load(t); hits != 1 || misses != 0 || writes != 0 {
		t.Fatalf("warm: hits %d misses %d writes %d", hits, misses, writes)
	}

	// Corrupted entries are ignored, recompiled and rewritten: a flipped
	// byte in the code, a truncated file, garbage, and an entry with a
	// valid checksum that wasmtime refuses.
	good, _ := os.ReadFile(entry)
	flipped := bytes.Clone(good)
	flipped[len(flipped)/2] ^= 0xff
	var refused bytes.Buffer
	refused.Write(cwasmMagic)
	junk := []byte("not a serialized wasmtime module")
	sum := sha256.Sum256(junk)
	refused.Write(sum[:])
	refused.Write(junk)
	for name, b := range map[string][]byte{
		"flipped":   flipped,
		"truncated": good[:len(good)/3],
		"garbage":   []byte("garbage"),
		"empty":     nil,
		"refused":   refused.Bytes(),
	} {
		t.Run(name, func(t *testing.T) {
			if err := os.WriteFile(entry, b, 0o600); err != nil {
				t.Fatal(err)
			}
			if hits, misses, writes, _ := load(t); hits != 0 || misses != 1 || writes != 1 {
				t.Fatalf("hits %d misses %d writes %d", hits, misses, writes)
			}
			checkEntry(t, entry)
			if hits, misses, _, _ := load(t); hits != 1 || misses != 0 {
				t.Fatalf("after rewrite: hits %d misses %d", hits, misses)
			}
		})
	}
}

// TestWasmtimeTickerLifetime checks that the epoch ticker outlives Close
// while a compiled generation is alive, and stops with the last one.
func TestWasmtimeTickerLifetime(t *testing.T) {
	e, err := newWasmtime(EngineOptions{})
	if err != nil {
		t.Fatal(err)
	}
	we := e.(*wasmtimeEngine)
	wasm, _ := os.ReadFile(filepath.Join("testdata", "fixture.wasm"))
	wasm, _ = SetManifest(wasm, []byte(fixtureManifest))
	mod, err := Inspect(wasm)
	if err != nil {
		t.Fatal(err)
	}
	c, err := e.compile(context.Background(), mod, moduleConfig{memoryPages: 16, budget: time.Second, initBudget: time.Second, log: func(abi.LogLevel, []byte) {}})
	if err != nil {
		t.Fatal(err)
	}
	e.close(context.Background())
	select {
	case <-we.done:
		t.Fatal("ticker stopped while a compiled generation is alive")
	case <-time.After(10 * time.Millisecond):
	}
	if _, err := e.compile(context.Background(), mod, moduleConfig{}); err == nil {
		t.Fatal("compile after close succeeded")
	}
	c.close(context.Background())
	select {
	case <-we.done:
	case <-time.After(5 * time.Second):
		t.Fatal("ticker still running after the last generation closed")
	}
}
