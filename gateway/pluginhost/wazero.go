package pluginhost

import (
	"context"
	"crypto/rand"
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
	rt      wazero.Runtime
	cm      wazero.CompiledModule
	mod     *Module
	cfg     moduleConfig
	metered bool // see compile
}

func (e *wazeroEngine) compile(ctx context.Context, mod *Module, cfg moduleConfig) (compiled, error) {
	// With a budget, calls are interrupted through loop metering (see
	// meter.go and RATIONALE.md): the module is rewritten to call
	// sluice_v1.yield every meterInterval loop iterations and function
	// entries, and wazero compiles no termination checks and starts no
	// watcher per call. The metered bytes key the compilation cache.
	metered := cfg.budget > 0 && wazeroInterrupt != "close"
	code := mod.Bytes
	if metered {
		var err error
		if code, err = meterModule(mod.Bytes); err != nil {
			return nil, fmt.Errorf("wazero: %w", err)
		}
	}
	rc := wazero.NewRuntimeConfig().
		WithCompilationCache(e.cache).
		WithMemoryLimitPages(min(cfg.memoryPages, maxWazeroPages)).
		// Without metering, interruption needs termination checks
		// compiled into every loop header (not function entries: loop-free
		// recursion is not interrupted), and a watcher per call; see
		// RATIONALE.md.
		WithCloseOnContextDone(cfg.budget > 0 && !metered)
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
	host := rt.NewHostModuleBuilder(abi.ImportModule).
		NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, m api.Module, stack []uint64) {
			level, ptr, n := api.DecodeI32(stack[0]), api.DecodeU32(stack[1]), api.DecodeU32(stack[2])
			if msg, ok := m.Memory().Read(ptr, n); ok {
				logf(abi.LogLevel(level), msg)
			}
		}), []api.ValueType{api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeI32}, nil).
		Export(abi.ImportLog)
	if metered {
		host = host.NewFunctionBuilder().WithGoFunction(api.GoFunc(wazeroYield), nil, nil).Export(meterYield)
	}
	if _, err := host.Instantiate(ctx); err != nil {
		rt.Close(ctx)
		return nil, fmt.Errorf("wazero: host module: %w", err)
	}
	cm, err := rt.CompileModule(ctx, code)
	if err != nil {
		rt.Close(ctx)
		return nil, fmt.Errorf("wazero: compile: %w", err)
	}
	return &wazeroCompiled{rt: rt, cm: cm, mod: mod, cfg: cfg, metered: metered}, nil
}

// wazeroInterrupt selects how calls with a budget are interrupted on
// wazero: "meter" (loop metering, the default) or "close" (wazero's
// WithCloseOnContextDone: a termination check exiting to Go at every loop
// back-edge and a watcher goroutine per call). It exists to compare the
// two in one benchmark session: build a test binary with
// -ldflags=-X=github.com/sluicegw/sluice/gateway/pluginhost.wazeroInterrupt=close
var wazeroInterrupt = "meter"

// wazeroYield is sluice_v1.yield, which metered guest code calls every
// meterInterval loop iterations and function entries (meter.go). It
// returns at once while the call's deadline has not passed, and else ends
// the call as a timeout, the way wazeroPoll ends a sleep: wazero returns
// the exit error from the call as is, and the host discards the instance.
// Being Go code entered through a function call, it is also where the
// goroutine running a spinning guest can be preempted (for the GC's
// stop-the-world).
func wazeroYield(ctx context.Context, _ []uint64) {
	if c, ok := ctx.(*callContext); ok {
		if time.Since(c.deadline) < 0 && !c.expired.Load() {
			return
		}
		panic(sys.NewExitError(sys.ExitCodeDeadlineExceeded))
	}
	// Instantiation and _initialize run under a context of their own.
	if err := ctx.Err(); err != nil {
		code := sys.ExitCodeDeadlineExceeded
		if errors.Is(err, context.Canceled) {
			code = sys.ExitCodeContextCanceled
		}
		panic(sys.NewExitError(code))
	}
	if deadline, ok := ctx.Deadline(); ok && !time.Now().Before(deadline) {
		panic(sys.NewExitError(sys.ExitCodeDeadlineExceeded))
	}
}

func (c *wazeroCompiled) close(ctx context.Context) error { return c.rt.Close(ctx) }

func (c *wazeroCompiled) instantiate(ctx context.Context) (instance, error) {
	mc := wazero.NewModuleConfig().WithName("").WithStartFunctions()
	// base is the parent of every context the instance runs under; it
	// carries the instance's clock, which wazeroPoll reads and (fake)
	// advances.
	clk := newSandboxClock(c.cfg.clock)
	if c.cfg.clock {
		// Real clocks (clk.nanotime so that wazeroPoll reads the same
		// monotonic clock); wazeroPoll sleeps.
		mc = mc.WithSysWalltime().WithNanotime(clk.nanotime, 1)
	} else {
		// Nanosleep is only used by wazero's poll_oneoff, replaced; the
		// fake one is set for any other sleeper.
		mc = mc.WithWalltime(clk.walltime, 1).WithNanotime(clk.nanotime, 1).WithNanosleep(clk.sleep)
	}
	base := context.WithValue(context.Background(), sandboxClockKey{}, clk)
	ctx = context.WithValue(ctx, sandboxClockKey{}, clk)
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
	in := &wazeroInstance{mod: m, mem: m.Memory(), base: base, budget: c.cfg.budget, setupBudget: c.cfg.initBudget, metered: c.metered}
	if c.cfg.budget > 0 {
		in.cctx = newCallContext(base)
	}
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
	cctx   *callContext    // the calls' context when they have a budget
	budget time.Duration
	// setupBudget bounds arena, init and selftest calls, which may start
	// a guest runtime's allocator; see moduleConfig.initBudget.
	setupBudget time.Duration
	metered     bool // the module is metered (wazeroCompiled.metered)
}

func (in *wazeroInstance) call(fn fnID, a, b uint32) (uint32, error) {
	f := in.fns[fn]
	if f == nil {
		return 0, fmt.Errorf("missing export %q", fnNames[fn])
	}
	in.stack[0], in.stack[1] = uint64(a), uint64(b)
	ctx := in.base
	if in.cctx != nil {
		budget := in.budget
		if fn.setup() {
			budget = in.setupBudget
		}
		if !in.cctx.arm(budget) {
			return 0, fmt.Errorf("%w: an earlier call's budget expired", errTimeout)
		}
		defer in.cctx.disarm()
		ctx = in.cctx
	}
	if err := f.CallWithStack(ctx, in.stack[:]); err != nil {
		return 0, wazeroErr(err)
	}
	if in.metered && in.cctx != nil && in.cctx.expired.Load() {
		// The call returned after its deadline but before metered code
		// got to check it (less than meterInterval loop iterations or
		// calls late). Its results stand; only a blocked poll_oneoff
		// watches the context, and the spent one is replaced, so that the
		// next call does not fail for this one.
		in.cctx = newCallContext(in.base)
	}
	return uint32(in.stack[0]), nil
}

// callContext is the context of one instance's calls, re-armed per call:
// a call's budget then costs a timer reset instead of a
// context.WithTimeout (4 allocations, ~0.4 µs; bench/README.md). It
// expires once. Metered modules (meter.go) read its deadline in
// wazeroYield, and only wazeroPoll waits on Done; without metering wazero
// closes the module when Done fires, and the host discards the instance.
type callContext struct {
	base     context.Context
	done     chan struct{}
	timer    *time.Timer
	deadline time.Time // written by the calling goroutine before each call
	expired  atomic.Bool
}

func newCallContext(base context.Context) *callContext {
	c := &callContext{base: base, done: make(chan struct{})}
	c.timer = time.AfterFunc(time.Hour, func() {
		if c.expired.CompareAndSwap(false, true) {
			close(c.done)
		}
	})
	c.timer.Stop()
	return c
}

// arm starts the budget of a call; false if the context already expired.
func (c *callContext) arm(budget time.Duration) bool {
	if c.expired.Load() {
		return false
	}
	c.deadline = time.Now().Add(budget)
	c.timer.Reset(budget)
	return true
}

func (c *callContext) disarm() { c.timer.Stop() }

func (c *callContext) Deadline() (time.Time, bool) { return c.deadline, true }
func (c *callContext) Done() <-chan struct{}       { return c.done }
func (c *callContext) Value(key any) any           { return c.base.Value(key) }

func (c *callContext) Err() error {
	if c.expired.Load() {
		return context.DeadlineExceeded
	}
	return nil
}

func (in *wazeroInstance) memory() []byte { return wazeroView(in.mem) }

func (in *wazeroInstance) close() {
	if in.cctx != nil {
		in.cctx.disarm()
	}
	in.mod.Close(context.Background())
}

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

// sandboxClockKey keys an instance's *sandboxClock in the contexts it runs
// under.
type sandboxClockKey struct{}

// wazeroPoll is WASI poll_oneoff (wasiPollOneoff) for one compiled
// generation. It replaces wazero's, which sleeps through ModuleConfig's
// Nanosleep: that knows neither the call's deadline nor how to fail the
// call, so a real sleep could only be capped at a whole budget from its
// start (outlasting the call, or cutting a setup call's longer budget
// short) and the call then went on as if it had slept; wazero's also
// reports a clock as fired next to a ready stdin, makes a writable stdout
// wait for the clock, and refuses absolute clocks (ENOTSUP).
type wazeroPoll struct {
	clock bool // the clock capability
	// budget says calls have a deadline (moduleConfig.budget > 0); without
	// one nothing is interrupted, not even a sleep.
	budget bool
}

func (p *wazeroPoll) pollOneoff(ctx context.Context, m api.Module, stack []uint64) {
	clk, _ := ctx.Value(sandboxClockKey{}).(*sandboxClock)
	if clk == nil {
		clk = newSandboxClock(p.clock) // not reached: every instance context has one
	}
	errno, _ := wasiPollOneoff(wazeroView(m.Memory()),
		api.DecodeU32(stack[0]), api.DecodeU32(stack[1]), api.DecodeU32(stack[2]), api.DecodeU32(stack[3]),
		clk, func(ns uint64) bool { p.sleep(ctx, ns); return false })
	stack[0] = uint64(errno)
}

// wazeroView returns the whole linear memory, as a view. api.Memory's
// Size is a uint32 that wraps to 0 at 4 GiB, which is why compile caps
// wazero memories one page short of it (maxWazeroPages).
func wazeroView(mem api.Memory) []byte {
	b, _ := mem.Read(0, mem.Size())
	return b
}

// maxWazeroPages keeps a linear memory below 4 GiB, where Size wraps.
const maxWazeroPages = 65535

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
