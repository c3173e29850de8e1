//go:build wasmtime

package pluginhost

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bytecodealliance/wasmtime-go/v39"

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
		entry = filepath.Join(cacheDir, "wasmtime", wasmtimeCacheDirName, p.Status().SHA256+".cwasm")
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

// wasiWAT exercises the shadowed WASI functions. sluice_command(op, b):
// 0 reads realtime to 100 and monotonic to 108 and 116; 1 fills 200..232
// with random_get; 2 fd_writes "hello" and " world" to fd b; 4 polls a
// relative monotonic clock of b ms and reads monotonic to 116; 5 proc_exit(b);
// 6 reads a clock to an out-of-bounds address; 7 loops forever; 8 polls
// stdin and a clock; 9 loads out of bounds; 10 recurses forever; 11
// divides by b.
const wasiWAT = `(module
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "random_get" (func $random (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (import "sluice_v1" "log" (func $log (param i32 i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 400) "hello world")
  (func (export "sluice_abi_v1"))
  (func (export "sluice_arena") (param i32) (result i32) (i32.const 1024))
  (func $sub (param $at i32) (param $userdata i64) (param $tag i32) (param $arg i32) (param $timeout i64)
    (memory.fill (local.get $at) (i32.const 0) (i32.const 48))
    (i64.store (local.get $at) (local.get $userdata))
    (i32.store8 offset=8 (local.get $at) (local.get $tag))
    (i32.store offset=16 (local.get $at) (local.get $arg))
    (i64.store offset=24 (local.get $at) (local.get $timeout)))
  (func (export "sluice_command") (param $op i32) (param $b i32) (result i32)
    (if (i32.eq (local.get $op) (i32.const 0)) (then
      (return (i32.add (i32.add
        (call $clock (i32.const 0) (i64.const 0) (i32.const 100))
        (call $clock (i32.const 1) (i64.const 0) (i32.const 108)))
        (call $clock (i32.const 1) (i64.const 0) (i32.const 116))))))
    (if (i32.eq (local.get $op) (i32.const 1)) (then
      (drop (call $random (i32.const 200) (i32.const 16)))
      (return (call $random (i32.const 216) (i32.const 16)))))
    (if (i32.eq (local.get $op) (i32.const 2)) (then
      (i32.store (i32.const 300) (i32.const 400))
      (i32.store (i32.const 304) (i32.const 5))
      (i32.store (i32.const 308) (i32.const 405))
      (i32.store (i32.const 312) (i32.const 6))
      (return (call $write (local.get $b) (i32.const 300) (i32.const 2) (i32.const 320)))))
    (if (i32.eq (local.get $op) (i32.const 4)) (then
      (call $sub (i32.const 512) (i64.const 7) (i32.const 0) (i32.const 1)
        (i64.mul (i64.extend_i32_u (local.get $b)) (i64.const 1000000)))
      (return (i32.add
        (call $poll (i32.const 512) (i32.const 600) (i32.const 1) (i32.const 700))
        (call $clock (i32.const 1) (i64.const 0) (i32.const 116))))))
    (if (i32.eq (local.get $op) (i32.const 5)) (then (call $exit (local.get $b))))
    (if (i32.eq (local.get $op) (i32.const 6)) (then
      (return (call $clock (i32.const 0) (i64.const 0) (i32.const 65535)))))
    (if (i32.eq (local.get $op) (i32.const 7)) (then (loop $l (br $l))))
    (if (i32.eq (local.get $op) (i32.const 8)) (then
      (call $sub (i32.const 512) (i64.const 1) (i32.const 0) (i32.const 1) (i64.const 1000000000000))
      (call $sub (i32.const 560) (i64.const 2) (i32.const 1) (i32.const 0) (i64.const 0))
      (return (call $poll (i32.const 512) (i32.const 600) (i32.const 2) (i32.const 700)))))
    (if (i32.eq (local.get $op) (i32.const 9)) (then
      (return (i32.load (i32.const -16)))))
    (if (i32.eq (local.get $op) (i32.const 10)) (then
      (return (call $recurse (local.get $b)))))
    (if (i32.eq (local.get $op) (i32.const 11)) (then
      (return (i32.div_u (i32.const 1) (local.get $b)))))
    (i32.const -1))
  (func $recurse (param i32) (result i32)
    (i32.add (call $recurse (i32.add (local.get 0) (i32.const 1))) (i32.const 1)))
)`

type logLine struct {
	level abi.LogLevel
	msg   string
}

// wasiInstance compiles wasiWAT on a fresh wasmtime engine with cfg
// (filling in its limits and log) and instantiates it.
func wasiInstance(t *testing.T, cfg moduleConfig) (instance, func() []logLine) {
	t.Helper()
	wasm, err := wasmtime.Wat2Wasm(wasiWAT)
	if err != nil {
		t.Fatal(err)
	}
	if wasm, err = SetManifest(wasm, []byte(`{"abi":1,"name":"wasi","version":"1","hooks":["command"]}`)); err != nil {
		t.Fatal(err)
	}
	mod, err := Inspect(wasm)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var lines []logLine
	cfg.memoryPages = 16
	cfg.initBudget = time.Second
	cfg.log = func(level abi.LogLevel, msg []byte) {
		mu.Lock()
		lines = append(lines, logLine{level, string(msg)})
		mu.Unlock()
	}
	e, err := newWasmtime(EngineOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := e.compile(context.Background(), mod, cfg)
	if err != nil {
		t.Fatal(err)
	}
	in, err := c.instantiate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		in.close()
		c.close(context.Background())
		e.close(context.Background())
	})
	return in, func() []logLine {
		mu.Lock()
		defer mu.Unlock()
		return append([]logLine(nil), lines...)
	}
}

func callOK(t *testing.T, in instance, a, b uint32) {
	t.Helper()
	st, err := in.call(fnCommand, a, b)
	if err != nil || st != 0 {
		t.Fatalf("op %d(%d): status %d, err %v", a, b, int32(st), err)
	}
}

func u64at(in instance, off int) uint64 { return binary.LittleEndian.Uint64(in.memory()[off:]) }

func TestWasmtimeSandboxClock(t *testing.T) {
	for _, budget := range []time.Duration{time.Second, 0} {
		in, _ := wasiInstance(t, moduleConfig{budget: budget})
		callOK(t, in, 0, 0)
		if got, want := u64at(in, 100), fakeWallBase+1; got != want {
			t.Errorf("realtime %d, want %d", got, want)
		}
		if a, b := u64at(in, 108), u64at(in, 116); a != 2 || b != 3 {
			t.Errorf("monotonic %d, %d: want 2, 3", a, b)
		}
		// A sleep without the clock capability returns at once and
		// advances the fake clock by the timeout.
		start := time.Now()
		callOK(t, in, 4, 10_000)
		if took := time.Since(start); took > time.Second {
			t.Errorf("fake sleep of 10s took %v", took)
		}
		if got := u64at(in, 116); got < 10_000*uint64(time.Millisecond) {
			t.Errorf("monotonic after a 10s sleep: %d", got)
		}
		if n, ud := binary.LittleEndian.Uint32(in.memory()[700:]), u64at(in, 600); n != 1 || ud != 7 {
			t.Errorf("poll_oneoff: %d events, userdata %d", n, ud)
		}
		// An out-of-bounds pointer is EFAULT, not a trap.
		if st, err := in.call(fnCommand, 6, 0); err != nil || st != errnoFault {
			t.Errorf("out of bounds: %d %v", st, err)
		}
		// A ready descriptor wins over a clock.
		callOK(t, in, 8, 0)
		if n, ud := binary.LittleEndian.Uint32(in.memory()[700:]), u64at(in, 600); n != 1 || ud != 2 {
			t.Errorf("poll_oneoff stdin: %d events, userdata %d", n, ud)
		}
	}

	in, _ := wasiInstance(t, moduleConfig{clock: true, budget: time.Second})
	callOK(t, in, 0, 0)
	if got, now := u64at(in, 100), uint64(time.Now().UnixNano()); got > now || now-got > uint64(time.Minute) {
		t.Errorf("real clock: %d, now %d", got, now)
	}
	start := time.Now()
	callOK(t, in, 4, 20)
	if took := time.Since(start); took < 20*time.Millisecond {
		t.Errorf("real sleep of 20ms took %v", took)
	}
}

// TestWasmtimeSleepIsBounded checks that a guest sleeping in the host
// (where the epoch cannot interrupt it) is stopped at its budget.
func TestWasmtimeSleepIsBounded(t *testing.T) {
	in, _ := wasiInstance(t, moduleConfig{clock: true, budget: 50 * time.Millisecond})
	start := time.Now()
	_, err := in.call(fnCommand, 4, 60_000)
	if took := time.Since(start); !errors.Is(err, errTimeout) || took > 5*time.Second {
		t.Fatalf("sleep of 60s with a 50ms budget: %v after %v", err, took)
	}
}

func TestWasmtimeSandboxRandom(t *testing.T) {
	var first []byte
	for i := 0; i < 2; i++ {
		in, _ := wasiInstance(t, moduleConfig{budget: time.Second})
		callOK(t, in, 1, 0)
		got := bytes.Clone(in.memory()[200:232])
		if bytes.Equal(got[:16], got[16:]) || bytes.Equal(got, make([]byte, 32)) {
			t.Fatalf("random_get: %x", got)
		}
		if first == nil {
			first = got
		} else if !bytes.Equal(first, got) {
			t.Fatalf("random_get without the capability differs between instances: %x, %x", first, got)
		}
	}
	in, _ := wasiInstance(t, moduleConfig{random: true, budget: time.Second})
	callOK(t, in, 1, 0)
	if bytes.Equal(first, in.memory()[200:232]) {
		t.Fatal("random_get with the capability is the deterministic stream")
	}
}

func TestWasmtimeSandboxStdout(t *testing.T) {
	for _, stdout := range []bool{false, true} {
		in, lines := wasiInstance(t, moduleConfig{stdout: stdout, budget: time.Second})
		for _, fd := range []uint32{1, 2} {
			binary.LittleEndian.PutUint32(in.memory()[320:], 0)
			callOK(t, in, 2, fd)
			if n := binary.LittleEndian.Uint32(in.memory()[320:]); n != 11 {
				t.Errorf("stdout %v fd %d: nwritten %d, want 11", stdout, fd, n)
			}
		}
		if st, err := in.call(fnCommand, 2, 7); err != nil || st != errnoBadf {
			t.Errorf("fd 7: %d %v", st, err)
		}
		want := []logLine(nil)
		if stdout {
			want = []logLine{{abi.LogInfo, "hello"}, {abi.LogInfo, " world"}, {abi.LogWarn, "hello"}, {abi.LogWarn, " world"}}
		}
		if got := lines(); !slices.Equal(got, want) {
			t.Errorf("stdout %v: log %q, want %q", stdout, got, want)
		}
	}
}

func TestWasmtimeExitAndTimeout(t *testing.T) {
	in, _ := wasiInstance(t, moduleConfig{budget: time.Second})
	if _, err := in.call(fnCommand, 5, 3); !errors.Is(err, errExit) || !strings.Contains(err.Error(), "code 3") {
		t.Fatalf("proc_exit: %v", err)
	}
	for _, budget := range []time.Duration{5 * time.Millisecond, 30 * time.Millisecond} {
		in, _ := wasiInstance(t, moduleConfig{budget: budget})
		start := time.Now()
		_, err := in.call(fnCommand, 7, 0)
		took := time.Since(start)
		if !errors.Is(err, errTimeout) || took < budget || took > budget+time.Second {
			t.Fatalf("loop with a budget of %v: %v after %v", budget, err, took)
		}
		t.Logf("budget %v: stopped after %v", budget, took)
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

// TestWasmtimeTraps checks that traps raised through signals (out-of-bounds
// access, stack overflow, division by zero) are plain traps and leave the
// process and the next instance fine.
func TestWasmtimeTraps(t *testing.T) {
	for _, op := range []uint32{9, 10, 11} {
		in, _ := wasiInstance(t, moduleConfig{budget: time.Second})
		_, err := in.call(fnCommand, op, 0)
		if err == nil || classify(err) != FailTrap || strings.Contains(err.Error(), "Stack backtrace") {
			t.Fatalf("op %d: %v (%s)", op, err, classify(err))
		}
		t.Logf("op %d: %s", op, strings.SplitN(err.Error(), "\n", 2)[0])
		in, _ = wasiInstance(t, moduleConfig{budget: time.Second})
		callOK(t, in, 0, 0)
	}
}
