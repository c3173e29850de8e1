package pluginhost

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"

	"github.com/sluicegw/sluice/abi"
)

// wazeroEngine runs plugins on wazero's optimizing compiler. Each plugin
// generation gets its own wazero.Runtime because the memory limit is a
// runtime setting; compiled code is shared through one CompilationCache
// (on disk under data_dir when configured).
type wazeroEngine struct {
	cache wazero.CompilationCache
}

func newWazero(opts EngineOptions) (engine, error) {
	e := &wazeroEngine{}
	if opts.CacheDir != "" {
		c, err := wazero.NewCompilationCacheWithDir(opts.CacheDir)
		if err != nil {
			return nil, fmt.Errorf("wazero: compilation cache %s: %w", opts.CacheDir, err)
		}
		e.cache = c
	} else {
		e.cache = wazero.NewCompilationCache()
	}
	return e, nil
}

func (e *wazeroEngine) close(ctx context.Context) error { return e.cache.Close(ctx) }

type wazeroCompiled struct {
	rt  wazero.Runtime
	cm  wazero.CompiledModule
	mod *Module
	cfg moduleConfig
}

func (e *wazeroEngine) compile(ctx context.Context, mod *Module, cfg moduleConfig) (compiled, error) {
	rc := wazero.NewRuntimeConfig().
		WithCompilationCache(e.cache).
		WithMemoryLimitPages(cfg.memoryPages).
		// Interruption needs termination checks compiled into every loop
		// and function entry, and a watcher per call; see RATIONALE.md.
		WithCloseOnContextDone(cfg.budget > 0)
	rt := wazero.NewRuntimeWithConfig(ctx, rc)
	// WASI preview 1 with poll_oneoff replaced (see wazeroPoll).
	wasi := rt.NewHostModuleBuilder(wasi_snapshot_preview1.ModuleName)
	wasi_snapshot_preview1.NewFunctionExporter().ExportFunctions(wasi)
	poll := &wazeroPoll{clock: cfg.clock, budget: cfg.budget > 0}
	wasi.NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(poll.pollOneoff),
			[]api.ValueType{api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeI32},
			[]api.ValueType{api.ValueTypeI32}).
		Export("poll_oneoff")
	if _, err := wasi.Instantiate(ctx); err != nil {
		rt.Close(ctx)
		return nil, fmt.Errorf("wazero: wasi: %w", err)
	}
	logf := cfg.log
	_, err := rt.NewHostModuleBuilder(abi.ImportModule).
		NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, m api.Module, stack []uint64) {
			level, ptr, n := api.DecodeI32(stack[0]), api.DecodeU32(stack[1]), api.DecodeU32(stack[2])
			if msg, ok := m.Memory().Read(ptr, n); ok {
				logf(abi.LogLevel(level), msg)
			}
		}), []api.ValueType{api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeI32}, nil).
		Export(abi.ImportLog).
		Instantiate(ctx)
	if err != nil {
		rt.Close(ctx)
		return nil, fmt.Errorf("wazero: host module: %w", err)
	}
	cm, err := rt.CompileModule(ctx, mod.Bytes)
	if err != nil {
		rt.Close(ctx)
		return nil, fmt.Errorf("wazero: compile: %w", err)
	}
	return &wazeroCompiled{rt: rt, cm: cm, mod: mod, cfg: cfg}, nil
}

func (c *wazeroCompiled) close(ctx context.Context) error { return c.rt.Close(ctx) }

func (c *wazeroCompiled) instantiate(ctx context.Context) (instance, error) {
	mc := wazero.NewModuleConfig().WithName("").WithStartFunctions()
	// base is the parent of every context the instance runs under; without
	// the clock capability it carries the instance's fake clock, which
	// wazeroPoll advances.
	base := context.Background()
	if c.cfg.clock {
		// Real clocks (wazeroNanotime so that wazeroPoll reads the same
		// monotonic clock); wazeroPoll sleeps.
		mc = mc.WithSysWalltime().WithNanotime(wazeroNanotime, 1)
	} else {
		fc := &fakeClock{}
		// Nanosleep is only used by wazero's poll_oneoff, replaced; the
		// fake one is set for any other sleeper.
		mc = mc.WithWalltime(fc.walltime, 1).WithNanotime(fc.nanotime, 1).WithNanosleep(fc.sleep)
		base = context.WithValue(base, fakeClockKey{}, fc)
		ctx = context.WithValue(ctx, fakeClockKey{}, fc)
	}
	if c.cfg.random {
		mc = mc.WithRandSource(rand.Reader)
	}
	if c.cfg.stdout {
		mc = mc.WithStdout(logWriter{c.cfg.log, abi.LogInfo}).WithStderr(logWriter{c.cfg.log, abi.LogWarn})
	}
	ictx, cancel := context.WithTimeout(ctx, c.cfg.initBudget)
	defer cancel()
	m, err := c.rt.InstantiateModule(ictx, c.cm, mc)
	if err != nil {
		return nil, wazeroErr(err)
	}
	in := &wazeroInstance{mod: m, mem: m.Memory(), base: base, budget: c.cfg.budget, setupBudget: c.cfg.initBudget}
	if in.mem == nil {
		m.Close(ctx)
		return nil, errors.New(`missing export "memory"`)
	}
	if c.mod.HasReactorInit {
		if _, err := m.ExportedFunction(abi.ReactorInit).Call(ictx); err != nil {
			m.Close(ctx)
			return nil, fmt.Errorf("%s: %w", abi.ReactorInit, wazeroErr(err))
		}
	}
	for id := fnID(0); id < numFns; id++ {
		in.fns[id] = m.ExportedFunction(fnNames[id])
	}
	return in, nil
}

type wazeroInstance struct {
	mod    api.Module
	mem    api.Memory
	fns    [numFns]api.Function
	stack  [2]uint64
	base   context.Context // see instantiate
	budget time.Duration
	// setupBudget bounds arena, init and selftest calls, which may start
	// a guest runtime's allocator; see moduleConfig.initBudget.
	setupBudget time.Duration
}

func (in *wazeroInstance) call(fn fnID, a, b uint32) (uint32, error) {
	f := in.fns[fn]
	if f == nil {
		return 0, fmt.Errorf("missing export %q", fnNames[fn])
	}
	in.stack[0], in.stack[1] = uint64(a), uint64(b)
	ctx := in.base
	if in.budget > 0 {
		budget := in.budget
		if fn.setup() {
			budget = in.setupBudget
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, budget)
		defer cancel()
	}
	if err := f.CallWithStack(ctx, in.stack[:]); err != nil {
		return 0, wazeroErr(err)
	}
	return uint32(in.stack[0]), nil
}

func (in *wazeroInstance) memory() []byte {
	b, _ := in.mem.Read(0, in.mem.Size())
	return b
}

func (in *wazeroInstance) close() { in.mod.Close(context.Background()) }

func wazeroErr(err error) error {
	var ee *sys.ExitError
	if errors.As(err, &ee) {
		switch ee.ExitCode() {
		case sys.ExitCodeDeadlineExceeded:
			return fmt.Errorf("%w: %v", errTimeout, err)
		case sys.ExitCodeContextCanceled:
			return fmt.Errorf("%w: canceled: %v", errTimeout, err)
		}
		return fmt.Errorf("%w with code %d", errExit, ee.ExitCode())
	}
	return err
}

// fakeClock is the sandbox's clock (ABI.md 2.3): a fixed instant, 2022-01-01
// UTC, that advances 1 ns per read; a sleep returns at once and advances it
// by the time slept. One per instance, so instances are deterministic.
type fakeClock struct{ n atomic.Int64 }

const fakeWallSec = 1640995200 // 2022-01-01T00:00:00Z, as wasmtime.go

func (c *fakeClock) walltime() (int64, int32) {
	n := c.n.Add(1)
	return fakeWallSec + n/1e9, int32(n % 1e9)
}

func (c *fakeClock) nanotime() int64 { return c.n.Add(1) }

func (c *fakeClock) sleep(ns int64) { c.advance(uint64(max(ns, 0))) }

// advance moves the clock ns ahead, saturating rather than wrapping: a
// guest may sleep "forever".
func (c *fakeClock) advance(ns uint64) {
	for {
		n := c.n.Load()
		next := int64(1<<63 - 1)
		if ns < uint64(next-n) {
			next = n + int64(ns)
		}
		if c.n.CompareAndSwap(n, next) {
			return
		}
	}
}

// now reads clock id (0 realtime, 1 monotonic) without advancing it.
func (c *fakeClock) now(id uint32) uint64 {
	n := uint64(c.n.Load())
	if id == 0 {
		return fakeWallSec*uint64(time.Second) + n
	}
	return n
}

// fakeClockKey keys an instance's *fakeClock in the contexts it runs under.
type fakeClockKey struct{}

// wazeroMonoBase is the origin of the real monotonic clock given to guests
// with the clock capability.
var wazeroMonoBase = time.Now()

func wazeroNanotime() int64 { return int64(time.Since(wazeroMonoBase)) }

// wazeroPoll is WASI poll_oneoff for one compiled generation. It replaces
// wazero's, which sleeps through ModuleConfig's Nanosleep: that knows
// neither the call's deadline nor how to fail the call, so a real sleep
// could only be capped at a whole budget from its start (outlasting the
// call, or cutting a setup call's longer budget short) and the call then
// went on as if it had slept; wazero's also reports a clock as fired next
// to a ready stdin, makes a writable stdout wait for the clock, and refuses
// absolute clocks (ENOTSUP). As on wasmtime (wasmtime.go, pollOneoff): descriptor
// subscriptions are ready at once (stdin at end of file, stdout and stderr
// writable, others EBADF); otherwise the earliest clock fires, without the
// clock capability at once, advancing the instance's fake clock by its
// timeout, with it after a real sleep that ends the call as a timeout when
// it would outlast the call's budget.
type wazeroPoll struct {
	clock bool // the clock capability
	// budget says calls have a deadline (moduleConfig.budget > 0); without
	// one nothing is interrupted, not even a sleep.
	budget bool
}

// WASI preview 1 values used by wazeroPoll (wasmtime.go has its own).
const (
	wasiESuccess  = 0
	wasiEBADF     = 8
	wasiEFAULT    = 21
	wasiEINVAL    = 28
	pollSubSize   = 48 // a subscription
	pollEventSize = 32 // an event
)

func (p *wazeroPoll) pollOneoff(ctx context.Context, m api.Module, stack []uint64) {
	stack[0] = uint64(p.poll(ctx, m, api.DecodeU32(stack[0]), api.DecodeU32(stack[1]), api.DecodeU32(stack[2]), api.DecodeU32(stack[3])))
}

func (p *wazeroPoll) poll(ctx context.Context, m api.Module, in, out, n, neventsPtr uint32) uint32 {
	if n == 0 {
		return wasiEINVAL
	}
	if uint64(n)*pollSubSize > 1<<32-1 {
		return wasiEFAULT
	}
	mem := m.Memory()
	subs, ok := mem.Read(in, n*pollSubSize)
	if !ok {
		return wasiEFAULT
	}
	events, ok := mem.Read(out, n*pollEventSize)
	if !ok {
		return wasiEFAULT
	}
	if _, ok := mem.Read(neventsPtr, 4); !ok {
		return wasiEFAULT
	}
	fc, _ := ctx.Value(fakeClockKey{}).(*fakeClock)
	if fc == nil && !p.clock {
		fc = &fakeClock{} // not reached: every instance context has one
	}
	// Copy what the events need first: the guest may pass overlapping
	// subscription and event buffers.
	type sub struct {
		userdata uint64
		tag      uint8
		errno    uint16
		fdFlags  uint16
		timeout  uint64
	}
	var small [8]sub
	all := small[:0]
	if n > uint32(len(small)) {
		all = make([]sub, 0, n)
	}
	var minTimeout uint64
	haveClock, haveReady := false, false
	for i := uint32(0); i < n; i++ {
		b := subs[i*pollSubSize:]
		s := sub{userdata: binary.LittleEndian.Uint64(b), tag: b[8]}
		switch s.tag {
		case 0: // clock
			id := binary.LittleEndian.Uint32(b[16:])
			s.timeout = binary.LittleEndian.Uint64(b[24:])
			if id > 1 {
				s.errno, haveReady = wasiEINVAL, true
				break
			}
			if binary.LittleEndian.Uint16(b[40:])&1 != 0 { // absolute
				var now uint64
				switch {
				case fc != nil:
					now = fc.now(id)
				case id == 0:
					now = uint64(time.Now().UnixNano())
				default:
					now = uint64(wazeroNanotime())
				}
				s.timeout = max(s.timeout, now) - now
			}
			if !haveClock || s.timeout < minTimeout {
				minTimeout = s.timeout
			}
			haveClock = true
		case 1, 2: // fd_read, fd_write
			fd := binary.LittleEndian.Uint32(b[16:])
			switch {
			case s.tag == 1 && fd == 0:
				s.fdFlags = 1 // hangup: stdin is empty
			case s.tag == 2 && (fd == 1 || fd == 2):
			default:
				s.errno = wasiEBADF
			}
			haveReady = true
		default:
			s.errno, haveReady = wasiEINVAL, true
		}
		all = append(all, s)
	}
	if !haveReady {
		if fc != nil {
			fc.advance(minTimeout)
		} else {
			p.sleep(ctx, minTimeout)
		}
	}
	k := uint32(0)
	for _, s := range all {
		fires := s.tag != 0 || s.errno != 0
		if s.tag == 0 && s.errno == 0 {
			fires = !haveReady && s.timeout == minTimeout
		}
		if !fires {
			continue
		}
		ev := events[k*pollEventSize : (k+1)*pollEventSize]
		clear(ev)
		binary.LittleEndian.PutUint64(ev, s.userdata)
		binary.LittleEndian.PutUint16(ev[8:], s.errno)
		ev[10] = s.tag
		binary.LittleEndian.PutUint16(ev[24:], s.fdFlags)
		k++
	}
	mem.WriteUint32Le(neventsPtr, k)
	return wasiESuccess
}

// sleep sleeps ns with the clock capability. A sleep that would outlast
// the call's deadline (or is interrupted by its cancellation) ends the
// call there, as a timeout: the host function returns to no guest code.
func (p *wazeroPoll) sleep(ctx context.Context, ns uint64) {
	d := time.Duration(min(ns, 1<<63-1))
	if !p.budget {
		time.Sleep(d)
		return
	}
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < d {
		d = -1 // wait for the deadline
	}
	var timer <-chan time.Time
	if d >= 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		timer = t.C
	}
	select {
	case <-timer:
		return
	case <-ctx.Done():
	}
	code := sys.ExitCodeDeadlineExceeded
	if errors.Is(ctx.Err(), context.Canceled) {
		code = sys.ExitCodeContextCanceled
	}
	// As wazero's proc_exit: wazero returns this error from the call as is.
	panic(sys.NewExitError(code))
}

// logWriter turns guest stdout/stderr writes into log lines.
type logWriter struct {
	log   func(abi.LogLevel, []byte)
	level abi.LogLevel
}

func (w logWriter) Write(p []byte) (int, error) {
	if len(p) > 0 { // wazero writes empty iovecs too
		w.log(w.level, p)
	}
	return len(p), nil
}

var _ io.Writer = logWriter{}
