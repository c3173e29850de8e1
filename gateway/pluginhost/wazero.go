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
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
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
	if c.cfg.clock {
		// A real sleep is cut at the call's budget: the engine can only
		// interrupt guest code, not a host function that blocks.
		sleepCap := time.Duration(1<<63 - 1)
		if c.cfg.budget > 0 {
			sleepCap = c.cfg.budget
		}
		mc = mc.WithSysWalltime().WithSysNanotime().
			WithNanosleep(func(ns int64) { time.Sleep(min(time.Duration(ns), sleepCap)) })
	} else {
		fc := &fakeClock{}
		mc = mc.WithWalltime(fc.walltime, 1).WithNanotime(fc.nanotime, 1).WithNanosleep(fc.sleep)
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
	in := &wazeroInstance{mod: m, mem: m.Memory(), budget: c.cfg.budget, setupBudget: c.cfg.initBudget}
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
	ctx := context.Background()
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

func (c *fakeClock) sleep(ns int64) { c.n.Add(ns) }

// logWriter turns guest stdout/stderr writes into log lines.
type logWriter struct {
	log   func(abi.LogLevel, []byte)
	level abi.LogLevel
}

func (w logWriter) Write(p []byte) (int, error) {
	w.log(w.level, p)
	return len(p), nil
}

var _ io.Writer = logWriter{}
