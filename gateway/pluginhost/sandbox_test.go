package pluginhost

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicegw/sluice/abi"
)

// The sandbox of ABI.md 2.3, checked on testEngine (every engine, one build
// tag at a time) with testdata/wasi.wat, whose header lists its operations.

type logLine struct {
	level abi.LogLevel
	msg   string
}

// wasiInstance compiles testdata/wasi.wasm on a fresh engine with cfg
// (filling in its limits and log) and instantiates it. lines returns what
// the instance logged.
func wasiInstance(t *testing.T, cfg moduleConfig) (in instance, lines func() []logLine) {
	t.Helper()
	wasm, err := os.ReadFile(filepath.Join("testdata", "wasi.wasm"))
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
	var logged []logLine
	cfg.plugin = "wasi"
	cfg.memoryPages = 16
	cfg.initBudget = 5 * time.Second
	cfg.log = func(level abi.LogLevel, msg []byte) {
		mu.Lock()
		logged = append(logged, logLine{level, string(msg)})
		mu.Unlock()
	}
	e, err := newEngine(testEngine, EngineOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := e.compile(context.Background(), mod, cfg)
	if err != nil {
		e.close(context.Background())
		t.Fatal(err)
	}
	if in, err = c.instantiate(context.Background()); err != nil {
		c.close(context.Background())
		e.close(context.Background())
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
		return slices.Clone(logged)
	}
}

// callOK runs op(b) and fails unless it returned errno 0.
func callOK(t *testing.T, in instance, op, b uint32) {
	t.Helper()
	if st, err := in.call(fnCommand, op, b); err != nil || st != 0 {
		t.Fatalf("op %d(%#x): status %d, err %v", op, b, int32(st), err)
	}
}

// callErrno runs op(b) and fails unless it returned errno want.
func callErrno(t *testing.T, in instance, op, b, want uint32) {
	t.Helper()
	if st, err := in.call(fnCommand, op, b); err != nil || st != want {
		t.Errorf("op %d(%#x): status %d, err %v; want errno %d", op, b, int32(st), err, want)
	}
}

func u64at(in instance, off int) uint64 { return binary.LittleEndian.Uint64(in.memory()[off:]) }

// pollEvents returns the events poll_oneoff wrote: [userdata, errno, type,
// fd_readwrite flags] each.
func pollEvents(in instance) [][4]uint64 {
	mem := in.memory()
	n := binary.LittleEndian.Uint32(mem[700:])
	var evs [][4]uint64
	for i := range min(n, 4) {
		ev := mem[600+32*i:]
		evs = append(evs, [4]uint64{binary.LittleEndian.Uint64(ev), uint64(binary.LittleEndian.Uint16(ev[8:])),
			uint64(ev[10]), uint64(binary.LittleEndian.Uint16(ev[24:]))})
	}
	if n > 4 {
		evs = append(evs, [4]uint64{uint64(n)}) // garbage, shown in the failure
	}
	return evs
}

// The fake clock: a fixed instant that advances 1 ns per read; a sleep
// returns at once and advances it by the time slept; a ready descriptor
// wins over a clock. With and without a call budget.
func TestSandboxFakeClock(t *testing.T) {
	for _, budget := range []time.Duration{time.Second, 0} {
		t.Run(budget.String(), func(t *testing.T) {
			in, _ := wasiInstance(t, moduleConfig{budget: budget})
			callOK(t, in, 0, 0)
			if got, want := u64at(in, 100), fakeWallSec*uint64(time.Second)+1; got != want {
				t.Errorf("realtime %d, want %d", got, want)
			}
			if a, b := u64at(in, 108), u64at(in, 116); a != 2 || b != 3 {
				t.Errorf("monotonic %d, %d: want 2, 3", a, b)
			}

			start := time.Now()
			callOK(t, in, 4, 10_000)
			if took := time.Since(start); took > time.Second {
				t.Errorf("fake sleep of 10s took %v", took)
			}
			if got, want := u64at(in, 116), 4+10*uint64(time.Second); got != want {
				t.Errorf("monotonic after a 10s sleep: %d, want %d", got, want)
			}
			if evs, want := pollEvents(in), [][4]uint64{{7, 0, 0, 0}}; !slices.Equal(evs, want) {
				t.Errorf("poll_oneoff events %v, want %v", evs, want)
			}

			// An absolute realtime clock 5 s ahead.
			callOK(t, in, 12, 5_000)
			if a, b := u64at(in, 100), u64at(in, 108); b != a+5*uint64(time.Second)+1 {
				t.Errorf("realtime %d, then %d after sleeping until 5s later", a, b)
			}
			if evs, want := pollEvents(in), [][4]uint64{{9, 0, 0, 0}}; !slices.Equal(evs, want) {
				t.Errorf("poll_oneoff absolute events %v, want %v", evs, want)
			}

			// A descriptor is ready at once: the 1000 s clock next to it
			// neither fires nor advances the clock.
			callOK(t, in, 0, 0)
			before := u64at(in, 116)
			for _, c := range []struct {
				sub  uint32
				want [4]uint64
			}{
				{0x100, [4]uint64{2, 0, 1, 1}},            // stdin: at end of file (hangup)
				{0x201, [4]uint64{2, 0, 2, 0}},            // stdout: writable
				{0x202, [4]uint64{2, 0, 2, 0}},            // stderr: writable
				{0x107, [4]uint64{2, wasiEBADF, 1, 0}},    // no such descriptor
				{0x203, [4]uint64{2, wasiEBADF, 2, 0}},    // no preopened directory
				{0x200, [4]uint64{2, wasiEBADF, 2, 0}},    // stdin is not writable
				{0x101, [4]uint64{2, wasiEBADF, 1, 0}},    // stdout is not readable
				{0x300, [4]uint64{2, wasiEINVAL, 3, 0}},   // not an event type
				{0x1000, [4]uint64{2, wasiEINVAL, 16, 0}}, // not an event type
			} {
				callOK(t, in, 8, c.sub)
				if evs, want := pollEvents(in), [][4]uint64{c.want}; !slices.Equal(evs, want) {
					t.Errorf("poll_oneoff clock and %#x: events %v, want %v", c.sub, evs, want)
				}
			}
			callOK(t, in, 0, 0)
			if after := u64at(in, 108); after != before+2 {
				t.Errorf("monotonic %d before polling descriptors, %d after", before, after)
			}
		})
	}
}

// The real clock: real instants, and a real sleep.
func TestSandboxRealClock(t *testing.T) {
	in, _ := wasiInstance(t, moduleConfig{clock: true, budget: 5 * time.Second})
	callOK(t, in, 0, 0)
	if got, now := u64at(in, 100), uint64(time.Now().UnixNano()); got > now || now-got > uint64(time.Minute) {
		t.Errorf("real clock: %d, now %d", got, now)
	}
	if a, b := u64at(in, 108), u64at(in, 116); b < a || a == 2 {
		t.Errorf("real monotonic clock: %d then %d", a, b)
	}

	start := time.Now()
	callOK(t, in, 4, 20)
	if took := time.Since(start); took < 20*time.Millisecond {
		t.Errorf("real sleep of 20ms took %v", took)
	}
	if evs, want := pollEvents(in), [][4]uint64{{7, 0, 0, 0}}; !slices.Equal(evs, want) {
		t.Errorf("poll_oneoff events %v, want %v", evs, want)
	}

	callOK(t, in, 12, 20)
	if a, b := u64at(in, 100), u64at(in, 108); b < a+uint64(20*time.Millisecond) {
		t.Errorf("realtime %d, then %d after sleeping until 20ms later", a, b)
	}
	if evs, want := pollEvents(in), [][4]uint64{{9, 0, 0, 0}}; !slices.Equal(evs, want) {
		t.Errorf("poll_oneoff absolute events %v, want %v", evs, want)
	}

	// A ready descriptor does not wait for the clock.
	start = time.Now()
	callOK(t, in, 8, 0x100)
	if took := time.Since(start); took > time.Second {
		t.Errorf("poll_oneoff of stdin next to a 1000s clock took %v", took)
	}
	if evs, want := pollEvents(in), [][4]uint64{{2, 0, 1, 1}}; !slices.Equal(evs, want) {
		t.Errorf("poll_oneoff stdin events %v, want %v", evs, want)
	}
}

// TestSandboxSleepIsBounded checks that a guest sleeping in the host
// (where the engine cannot interrupt guest code) is stopped at its budget,
// as a timeout.
func TestSandboxSleepIsBounded(t *testing.T) {
	for _, op := range []uint32{4, 12} {
		in, _ := wasiInstance(t, moduleConfig{clock: true, budget: 50 * time.Millisecond})
		start := time.Now()
		_, err := in.call(fnCommand, op, 60_000)
		if took := time.Since(start); !errors.Is(err, errTimeout) || took > 5*time.Second {
			t.Fatalf("op %d: sleep of 60s with a 50ms budget: %v after %v", op, err, took)
		}
	}
}

// Without the random capability random_get is a deterministic stream per
// instance: the same for every instance; with it, it is random.
func TestSandboxRandom(t *testing.T) {
	stream := func(cfg moduleConfig) []byte {
		in, _ := wasiInstance(t, cfg)
		callOK(t, in, 1, 0)
		got := bytes.Clone(in.memory()[200:232])
		callOK(t, in, 1, 0)
		got = append(got, in.memory()[200:232]...)
		for i := 0; i < len(got); i += 16 {
			if chunk := got[i : i+16]; bytes.Equal(chunk, make([]byte, 16)) || bytes.Count(got, chunk) != 1 {
				t.Fatalf("random_get repeats or is zero: %x", got)
			}
		}
		return got
	}
	first := stream(moduleConfig{budget: time.Second})
	if again := stream(moduleConfig{budget: time.Second}); !bytes.Equal(first, again) {
		t.Fatalf("random_get without the capability differs between instances:\n%x\n%x", first, again)
	}
	a, b := stream(moduleConfig{random: true, budget: time.Second}), stream(moduleConfig{random: true, budget: time.Second})
	if bytes.Equal(a, first) || bytes.Equal(b, first) {
		t.Fatal("random_get with the capability is the deterministic stream")
	}
	if bytes.Equal(a, b) {
		t.Fatal("random_get with the capability is the same in two instances")
	}
}

// fd 1 and 2 are discarded without the stdout capability and go to the
// log with it; either way the whole write is reported done. There are no
// other writable descriptors.
func TestSandboxStdout(t *testing.T) {
	for _, stdout := range []bool{false, true} {
		in, lines := wasiInstance(t, moduleConfig{stdout: stdout, budget: time.Second})
		for _, fd := range []uint32{1, 2} {
			binary.LittleEndian.PutUint32(in.memory()[330:], 0)
			callOK(t, in, 2, fd)
			if n := binary.LittleEndian.Uint32(in.memory()[330:]); n != 11 {
				t.Errorf("stdout %v fd %d: nwritten %d, want 11", stdout, fd, n)
			}
		}
		for _, fd := range []uint32{0, 3, 7} {
			callErrno(t, in, 2, fd, wasiEBADF)
		}
		var want []logLine
		if stdout {
			want = []logLine{{abi.LogInfo, "hello"}, {abi.LogInfo, " world"}, {abi.LogWarn, "hello"}, {abi.LogWarn, " world"}}
		}
		if got := lines(); !slices.Equal(got, want) {
			t.Errorf("stdout %v: log %q, want %q", stdout, got, want)
		}
	}
}

// No files, no sockets: nothing is preopened, nothing can be opened or
// accepted.
func TestSandboxNoFilesOrSockets(t *testing.T) {
	in, _ := wasiInstance(t, moduleConfig{clock: true, random: true, stdout: true, budget: time.Second})
	callErrno(t, in, 3, 3, wasiEBADF)  // fd_prestat_get: no preopened directory
	callErrno(t, in, 13, 3, wasiEBADF) // path_open
	callErrno(t, in, 14, 3, wasiEBADF) // sock_accept
}

// An out-of-bounds pointer given to a WASI function is EFAULT, not a trap.
func TestSandboxFault(t *testing.T) {
	for _, clock := range []bool{false, true} {
		in, lines := wasiInstance(t, moduleConfig{clock: clock, budget: time.Second})
		for b := uint32(0); b <= 7; b++ {
			callErrno(t, in, 6, b, wasiEFAULT)
		}
		callOK(t, in, 0, 0) // the instance still works
		if got := lines(); len(got) != 0 {
			t.Errorf("logged %q", got)
		}
	}
}

func TestSandboxExitAndTimeout(t *testing.T) {
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

// TestSandboxTraps checks that traps (out-of-bounds access, stack overflow,
// division by zero; signals on wasmtime) are plain traps and leave the
// process and the next instance fine.
func TestSandboxTraps(t *testing.T) {
	for _, op := range []uint32{9, 10, 11} {
		// A budget far beyond the trap: recursing down to the engine's
		// stack limit takes seconds under the race detector, and function
		// entries are metered on wazero, so a short budget would turn the
		// stack overflow into a timeout.
		in, _ := wasiInstance(t, moduleConfig{budget: time.Minute})
		_, err := in.call(fnCommand, op, 0)
		if err == nil || classify(err) != FailTrap || strings.Contains(err.Error(), "Stack backtrace") {
			t.Fatalf("op %d: %v (%s)", op, err, classify(err))
		}
		t.Logf("op %d: %s", op, strings.SplitN(err.Error(), "\n", 2)[0])
		in, _ = wasiInstance(t, moduleConfig{budget: time.Second})
		callOK(t, in, 0, 0)
	}
}
