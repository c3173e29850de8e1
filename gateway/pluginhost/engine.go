package pluginhost

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sluicegw/sluice/abi"
)

// engine is one Wasm runtime backend. The wazero backend is the default;
// the wasmtime backend is compiled in with the build tag `wasmtime`. One
// test suite runs against every registered engine.
type engine interface {
	// compile compiles an inspected module for one plugin generation.
	compile(ctx context.Context, mod *Module, cfg moduleConfig) (compiled, error)
	close(ctx context.Context) error
}

// moduleConfig is what an engine needs to sandbox one plugin.
type moduleConfig struct {
	plugin string
	// memoryPages caps linear memory (64 KiB pages).
	memoryPages uint32
	// budget is the time budget of one call; 0 disables interruption
	// (only for benchmarks: a runaway guest then runs forever).
	budget time.Duration
	// initBudget bounds instantiation, _initialize, and the setup calls
	// (arena, init, selftest): for a Go guest they start its runtime and
	// allocator, which must not be judged by the budget of one batch.
	initBudget            time.Duration
	clock, random, stdout bool
	// log receives the guest's sluice_v1.log lines and, with the stdout
	// capability, its stdout and stderr. It must not retain msg.
	log func(level abi.LogLevel, msg []byte)
}

type compiled interface {
	// instantiate creates an instance and runs _initialize if exported.
	instantiate(ctx context.Context) (instance, error)
	close(ctx context.Context) error
}

// fnID names the exports an instance calls.
type fnID int

const (
	fnArena fnID = iota
	fnInit
	fnCommand
	fnRecords
	fnPlan
	fnSelfTest
	numFns
)

// setup reports whether fn prepares an instance rather than serves a
// call: those run under moduleConfig.initBudget, not the call budget.
func (fn fnID) setup() bool { return fn == fnArena || fn == fnInit || fn == fnSelfTest }

var fnNames = [numFns]string{
	fnArena:    abi.ExportArena,
	fnInit:     abi.ExportInit,
	fnCommand:  abi.ExportCommand,
	fnRecords:  abi.ExportRecords,
	fnPlan:     abi.ExportPlan,
	fnSelfTest: abi.ExportSelfTest,
}

var fnHooks = [numFns]string{
	fnArena:    "arena",
	fnInit:     "init",
	fnCommand:  abi.HookCommand,
	fnRecords:  abi.HookRecords,
	fnPlan:     abi.HookPlan,
	fnSelfTest: abi.HookSelfTest,
}

// instance is one instantiated module. It serves one caller at a time.
type instance interface {
	// call calls fn with its arguments (arena takes a, selftest none) under
	// the time budget. Any error means the instance is unusable.
	call(fn fnID, a, b uint32) (uint32, error)
	// memory returns the whole linear memory. The view is invalidated by
	// any call (memory may grow and move).
	memory() []byte
	close()
}

// FailureKind classifies a plugin failure for logs, metrics and fail modes.
type FailureKind string

const (
	FailTrap    FailureKind = "trap"    // a Wasm trap or guest panic
	FailTimeout FailureKind = "timeout" // the call exceeded its budget
	FailExit    FailureKind = "exit"    // the guest called proc_exit
	FailMemory  FailureKind = "memory"  // the guest hit its memory limit
	FailABI     FailureKind = "abi"     // bad status or invalid output
	FailInit    FailureKind = "init"    // instantiation or sluice_init failed
	FailBreaker FailureKind = "breaker" // the circuit breaker is open
	FailStatus  FailureKind = "status"  // the hook returned FAILED or BAD_INPUT
)

// PluginError is a failed plugin call. The host has already discarded the
// instance; the caller applies the fail mode (FailOpen says which).
type PluginError struct {
	Plugin   string
	Hook     string
	Kind     FailureKind
	FailOpen bool
	Err      error
}

func (e *PluginError) Error() string {
	return fmt.Sprintf("plugin %q: %s: %s: %v", e.Plugin, e.Hook, e.Kind, e.Err)
}

func (e *PluginError) Unwrap() error { return e.Err }

// errTimeout and errExit are wrapped by engines so callers can classify.
var (
	errTimeout = errors.New("time budget exceeded")
	errExit    = errors.New("guest exited")
)

func classify(err error) FailureKind {
	switch {
	case errors.Is(err, errTimeout):
		return FailTimeout
	case errors.Is(err, errExit):
		return FailExit
	}
	return FailTrap
}

var engines = map[string]func(opts EngineOptions) (engine, error){
	"wazero": newWazero,
}

// EngineOptions configure an engine.
type EngineOptions struct {
	// CacheDir holds compiled code across restarts; "" keeps it in memory.
	CacheDir string
}

// Engines lists the engines compiled into this binary.
func Engines() []string {
	var names []string
	for _, n := range []string{"wazero", "wasmtime"} {
		if _, ok := engines[n]; ok {
			names = append(names, n)
		}
	}
	return names
}

func newEngine(name string, opts EngineOptions) (engine, error) {
	f, ok := engines[name]
	if !ok {
		if name == "wasmtime" {
			return nil, fmt.Errorf("engine %q is not compiled into this binary: build with -tags wasmtime", name)
		}
		return nil, fmt.Errorf("unknown engine %q (have %v)", name, Engines())
	}
	return f(opts)
}
