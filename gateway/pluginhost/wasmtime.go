//go:build wasmtime

package pluginhost

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bytecodealliance/wasmtime-go/v39"

	"github.com/sluicegw/sluice/abi"
)

// The wasmtime backend (build tag `wasmtime`). It mirrors wazero.go:
//
//   - One wasmtime.Engine per engine (per Host) with epoch interruption, and
//     one ticker goroutine that advances the epoch every epochTick while the
//     engine or any of its compiled generations is alive. A call sets its
//     store's deadline to ceil(budget/epochTick)+1 ticks, so a runaway guest
//     traps (wasmtime.Interrupt) within about its budget, at the next loop
//     back-edge or function entry; that trap is classified as a timeout.
//   - One wasmtime.Module and one wasmtime.Linker per compiled generation.
//     The linker has WASI preview 1 (no preopens, args, env or inherited
//     stdio) with the functions that could leak host state or stall the
//     gateway shadowed to match ABI.md 2.3: clock_time_get, random_get,
//     fd_write and poll_oneoff. Plus sluice_v1.log.
//   - One wasmtime.Store per instance, with a memory limit.
//   - An optional on-disk cache of compiled code under
//     <CacheDir>/wasmtime/<cache key>/<sha256 of the wasm>.cwasm.

func init() { engines["wasmtime"] = newWasmtime }

const (
	// wasmtimeGoVersion is the wasmtime-go release in go.mod. It is part of
	// the compilation cache key; bump it with go.mod.
	wasmtimeGoVersion = "v39.0.1"
	// wasmtimeConfigID identifies the engine configuration built in
	// newWasmtime for the compilation cache key; change it with that
	// configuration.
	wasmtimeConfigID = "strategy=auto,opt=default,epoch_interruption=1"

	// epochTick is the period of the epoch ticker, the granularity of time
	// budgets.
	epochTick = time.Millisecond
	// noEpochDeadline is the deadline, in ticks, of calls without a budget:
	// about 146 million years, and far from overflowing the epoch counter.
	noEpochDeadline = 1 << 62

	// Store limits besides the memory size (ABI.md 2.2: one module, one
	// linear memory).
	wasmtimeMaxTableElements = 1 << 20
	wasmtimeMaxInstances     = 1
	wasmtimeMaxTables        = 8
	wasmtimeMaxMemories      = 1
)

// wasmtimeCacheDirName names the cache subdirectory of this version and
// configuration, so an upgrade never even tries the old entries.
var wasmtimeCacheDirName = func() string {
	sum := sha256.Sum256([]byte(wasmtimeConfigID))
	return wasmtimeGoVersion + "-" + runtime.GOOS + "-" + runtime.GOARCH + "-" + hex.EncodeToString(sum[:6])
}()

type wasmtimeEngine struct {
	eng *wasmtime.Engine
	// cacheDir is <CacheDir>/wasmtime/<key>, or "" without an on-disk cache.
	cacheDir string

	// The ticker runs until the engine is closed and its last compiled
	// generation is closed, so that calls still in flight after close keep
	// their budgets.
	mu     sync.Mutex
	closed bool
	live   int
	stop   chan struct{}
	done   chan struct{}

	// Cache counters, for tests.
	cacheHits, cacheMisses, cacheWrites atomic.Int64
}

func newWasmtime(opts EngineOptions) (engine, error) {
	cfg := wasmtime.NewConfig()
	cfg.SetEpochInterruption(true)
	e := &wasmtimeEngine{
		eng:  wasmtime.NewEngineWithConfig(cfg),
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	if opts.CacheDir != "" {
		dir := filepath.Join(opts.CacheDir, "wasmtime", wasmtimeCacheDirName)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			e.eng.Close()
			return nil, fmt.Errorf("wasmtime: compilation cache %s: %w", opts.CacheDir, err)
		}
		e.cacheDir = dir
	}
	go e.tick()
	return e, nil
}

func (e *wasmtimeEngine) tick() {
	defer close(e.done)
	t := time.NewTicker(epochTick)
	defer t.Stop()
	for {
		select {
		case <-e.stop:
			return
		case <-t.C:
			e.eng.IncrementEpoch()
		}
	}
}

func (e *wasmtimeEngine) close(ctx context.Context) error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	last := e.live == 0
	e.mu.Unlock()
	if last {
		e.shutdown()
	}
	return nil
}

func (e *wasmtimeEngine) shutdown() {
	close(e.stop)
	<-e.done
	e.eng.Close()
}

// ref counts a compiled generation against the engine.
func (e *wasmtimeEngine) ref() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return errors.New("wasmtime: engine closed")
	}
	e.live++
	return nil
}

func (e *wasmtimeEngine) unref() {
	e.mu.Lock()
	e.live--
	last := e.closed && e.live == 0
	e.mu.Unlock()
	if last {
		e.shutdown()
	}
}

func (e *wasmtimeEngine) compile(ctx context.Context, mod *Module, cfg moduleConfig) (compiled, error) {
	if err := e.ref(); err != nil {
		return nil, err
	}
	m, err := e.module(mod.Bytes)
	if err != nil {
		e.unref()
		return nil, fmt.Errorf("wasmtime: compile: %w", err)
	}
	l, err := newWasmtimeLinker(e.eng, cfg)
	if err != nil {
		m.Close()
		e.unref()
		return nil, fmt.Errorf("wasmtime: linker: %w", err)
	}
	c := &wasmtimeCompiled{e: e, mod: mod, cfg: cfg, module: m, linker: l}
	// As on wazero: without a call budget nothing is interrupted, not even
	// instantiation; with one, instantiation and the setup calls get
	// initBudget.
	if cfg.budget > 0 {
		c.budget, c.setupBudget = cfg.budget, cfg.initBudget
	}
	c.ticks, c.setupTicks = epochTicks(c.budget), epochTicks(c.setupBudget)
	return c, nil
}

// epochTicks converts a budget to an epoch deadline: ceil(budget/tick)+1,
// the +1 because the first tick may come at once.
func epochTicks(budget time.Duration) uint64 {
	if budget <= 0 {
		return noEpochDeadline
	}
	return uint64((budget+epochTick-1)/epochTick) + 1
}

// module compiles wasm, or loads its compiled code from the cache. A cache
// entry that is unreadable, fails its checksum or that wasmtime refuses is
// ignored and rewritten.
func (e *wasmtimeEngine) module(wasm []byte) (*wasmtime.Module, error) {
	if e.cacheDir == "" {
		return newWasmtimeModule(e.eng, wasm)
	}
	sum := sha256.Sum256(wasm)
	path := filepath.Join(e.cacheDir, hex.EncodeToString(sum[:])+".cwasm")
	if b, err := os.ReadFile(path); err == nil {
		if payload, ok := cwasmPayload(b); ok {
			if m, err := wasmtime.NewModuleDeserialize(e.eng, payload); err == nil {
				e.cacheHits.Add(1)
				return m, nil
			}
		}
	}
	e.cacheMisses.Add(1)
	m, err := newWasmtimeModule(e.eng, wasm)
	if err != nil {
		return nil, err
	}
	if ser, err := m.Serialize(); err == nil && writeCwasm(path, ser) == nil {
		e.cacheWrites.Add(1)
	}
	return m, nil
}

func newWasmtimeModule(eng *wasmtime.Engine, wasm []byte) (*wasmtime.Module, error) {
	m, err := wasmtime.NewModule(eng, wasm)
	if err != nil {
		return nil, plainErr(err)
	}
	return m, nil
}

// A cache file is cwasmMagic, the SHA-256 of the payload, and the payload
// (wasmtime's serialized module). wasmtime checks its own header (version,
// configuration, CPU features) but not the code itself, and the file is not
// synced, so the checksum catches torn and corrupted files before native
// code is loaded from them. The cache directory must be trusted (New
// creates it 0700): whoever can write it can run code in the gateway.
var cwasmMagic = []byte("SLCWASM1")

func cwasmPayload(b []byte) ([]byte, bool) {
	h := len(cwasmMagic) + sha256.Size
	if len(b) < h || !bytes.Equal(b[:len(cwasmMagic)], cwasmMagic) {
		return nil, false
	}
	payload := b[h:]
	sum := sha256.Sum256(payload)
	if !bytes.Equal(sum[:], b[len(cwasmMagic):h]) {
		return nil, false
	}
	return payload, true
}

// writeCwasm writes a cache file atomically: a temporary file renamed over
// the entry, so readers see the old file, the new one, or none.
func writeCwasm(path string, payload []byte) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*.cwasm")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	sum := sha256.Sum256(payload)
	for _, b := range [][]byte{cwasmMagic, sum[:], payload} {
		if _, err = f.Write(b); err != nil {
			return err
		}
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

type wasmtimeCompiled struct {
	e      *wasmtimeEngine
	mod    *Module
	cfg    moduleConfig
	module *wasmtime.Module
	linker *wasmtime.Linker

	// budget bounds a call, setupBudget instantiation, _initialize and
	// the setup calls (fnID.setup); 0 is no limit. ticks and setupTicks
	// are the same as epoch deadlines.
	budget, setupBudget time.Duration
	ticks, setupTicks   uint64
	closeOnce           sync.Once
}

func (c *wasmtimeCompiled) close(ctx context.Context) error {
	c.closeOnce.Do(func() {
		c.linker.Close()
		c.module.Close()
		c.e.unref()
	})
	return nil
}

func (c *wasmtimeCompiled) instantiate(ctx context.Context) (_ instance, err error) {
	st := &wasmtimeState{}
	st.clock.realTime = c.cfg.clock
	store := wasmtime.NewStoreWithData(c.e.eng, st)
	defer func() {
		if r := recover(); r != nil { // see call
			store.Close()
			err = fmt.Errorf("host function panicked: %v", r)
		}
	}()
	store.Limiter(int64(c.cfg.memoryPages)*65536, wasmtimeMaxTableElements, wasmtimeMaxInstances, wasmtimeMaxTables, wasmtimeMaxMemories)
	// A WASI context with nothing: no args, env, preopens or stdio (stdin
	// reads EOF, stdout and stderr are shadowed below anyway).
	store.SetWasi(wasmtime.NewWasiConfig())
	in := &wasmtimeInstance{store: store, st: st, c: c}
	// One budget for instantiation (a start function) and _initialize,
	// as on wazero.
	in.setDeadline(c.setupTicks, c.setupBudget)
	inst, err := c.linker.Instantiate(store, c.module)
	if err != nil {
		err = in.err(err)
		store.Close()
		return nil, err
	}
	ext := inst.GetExport(store, "memory")
	if ext == nil || ext.Memory() == nil {
		store.Close()
		return nil, errors.New(`missing export "memory"`)
	}
	in.mem = ext.Memory()
	ext.Close()
	st.mem = in.mem
	if c.mod.HasReactorInit {
		f := inst.GetFunc(store, abi.ReactorInit)
		if f == nil {
			store.Close()
			return nil, fmt.Errorf("missing export %q", abi.ReactorInit)
		}
		if _, err = f.Call(store); err != nil {
			err = in.err(err)
			store.Close()
			return nil, fmt.Errorf("%s: %w", abi.ReactorInit, err)
		}
	}
	for id := fnID(0); id < numFns; id++ {
		in.fns[id] = inst.GetFunc(store, fnNames[id])
	}
	return in, nil
}

// wasmtimeState is an instance's state that its host functions need; it is
// the store's data. Only the goroutine calling into the instance touches it.
type wasmtimeState struct {
	mem   *wasmtime.Memory // nil until instantiation returns
	clock sandboxClock
	rng   *rand.ChaCha8
	// deadline is when the current call's budget runs out, kept only with
	// the clock capability (real sleeps are cut short at it); timedOut says
	// a host function stopped the call because of it.
	deadline time.Time
	timedOut bool
}

type wasmtimeInstance struct {
	store *wasmtime.Store
	st    *wasmtimeState
	c     *wasmtimeCompiled
	mem   *wasmtime.Memory
	fns   [numFns]*wasmtime.Func
	// view caches the memory between calls: it changes only during calls.
	view   []byte
	viewOK bool
}

func (in *wasmtimeInstance) setDeadline(ticks uint64, budget time.Duration) {
	in.store.SetEpochDeadline(ticks)
	if in.c.cfg.clock {
		in.st.deadline = time.Time{}
		if budget > 0 {
			in.st.deadline = time.Now().Add(budget)
		}
	}
}

func (in *wasmtimeInstance) call(fn fnID, a, b uint32) (_ uint32, err error) {
	// wasmtime-go re-raises a panic of a host function here, after the
	// guest has unwound; it is a failed call, not a crashed gateway.
	defer func() {
		if r := recover(); r != nil {
			in.viewOK = false
			err = fmt.Errorf("host function panicked: %v", r)
		}
	}()
	f := in.fns[fn]
	if f == nil {
		return 0, fmt.Errorf("missing export %q", fnNames[fn])
	}
	if fn.setup() {
		in.setDeadline(in.c.setupTicks, in.c.setupBudget)
	} else {
		in.setDeadline(in.c.ticks, in.c.budget)
	}
	var res any
	switch fn {
	case fnArena:
		res, err = f.Call(in.store, int32(a))
	case fnSelfTest:
		res, err = f.Call(in.store)
	default:
		res, err = f.Call(in.store, int32(a), int32(b))
	}
	in.viewOK = false
	if err != nil {
		return 0, in.err(err)
	}
	v, ok := res.(int32)
	if !ok {
		return 0, fmt.Errorf("%s returned %T, want i32", fnNames[fn], res)
	}
	return uint32(v), nil
}

func (in *wasmtimeInstance) memory() []byte {
	if !in.viewOK {
		in.view = in.mem.UnsafeData(in.store)
		in.viewOK = true
	}
	return in.view
}

func (in *wasmtimeInstance) close() {
	in.view, in.viewOK = nil, false
	in.store.Close()
}

// err classifies a failed call: an epoch interrupt (or a host function
// stopped at the deadline) is a timeout, proc_exit an exit, anything else
// a trap. The wasmtime objects are turned into plain errors at once.
func (in *wasmtimeInstance) err(err error) error {
	if in.st.timedOut {
		in.st.timedOut = false
		return fmt.Errorf("%w: %v", errTimeout, plainErr(err))
	}
	var trap *wasmtime.Trap
	if errors.As(err, &trap) {
		code := trap.Code()
		msg := trimBacktrace(trap.Message())
		trap.Close()
		if code != nil && *code == wasmtime.Interrupt {
			return fmt.Errorf("%w: %s", errTimeout, msg)
		}
		return errors.New(msg)
	}
	var we *wasmtime.Error
	if errors.As(err, &we) {
		if status, ok := we.ExitStatus(); ok {
			we.Close()
			return fmt.Errorf("%w with code %d", errExit, status)
		}
	}
	return plainErr(err)
}

// plainErr copies a wasmtime error's message and frees it.
func plainErr(err error) error {
	switch e := err.(type) {
	case *wasmtime.Trap:
		msg := e.Message()
		e.Close()
		return errors.New(trimBacktrace(msg))
	case *wasmtime.Error:
		msg := e.Error()
		e.Close()
		return errors.New(trimBacktrace(msg))
	}
	return err
}

// trimBacktrace puts the cause of a wasmtime error message first (it comes
// last, after the wasm backtrace) and drops the native stack backtrace
// that wasmtime appends when RUST_BACKTRACE is set: frames of the gateway,
// not of the plugin. The wasm backtrace stays.
func trimBacktrace(msg string) string {
	if i := strings.Index(msg, "\nStack backtrace:"); i >= 0 {
		msg = msg[:i]
	}
	msg = strings.TrimRight(msg, "\n ")
	if head, cause, ok := strings.Cut(msg, "\n\nCaused by:\n"); ok {
		msg = strings.TrimSpace(cause) + "\n" + head
	}
	return msg
}

// Results of host functions, shared: wasmtime-go only reads them.
var (
	resultSuccess = []wasmtime.Val{wasmtime.ValI32(wasiESuccess)}
	resultBadf    = []wasmtime.Val{wasmtime.ValI32(wasiEBADF)}
	resultFault   = []wasmtime.Val{wasmtime.ValI32(wasiEFAULT)}
	resultInval   = []wasmtime.Val{wasmtime.ValI32(wasiEINVAL)}
)

// results maps the errno values of wasi.go to their results.
func results(errno uint32) []wasmtime.Val {
	switch errno {
	case wasiESuccess:
		return resultSuccess
	case wasiEBADF:
		return resultBadf
	case wasiEFAULT:
		return resultFault
	case wasiEINVAL:
		return resultInval
	}
	return []wasmtime.Val{wasmtime.ValI32(int32(errno))}
}

const wasiModule = "wasi_snapshot_preview1"

// fakeRandSeed seeds the deterministic random stream of every instance
// without the random capability.
var fakeRandSeed = sha256.Sum256([]byte("sluice_v1 random_get without the random capability"))

// wasmtimeHost holds the host functions of one compiled generation.
type wasmtimeHost struct {
	cfg moduleConfig
}

func newWasmtimeLinker(eng *wasmtime.Engine, cfg moduleConfig) (*wasmtime.Linker, error) {
	l := wasmtime.NewLinker(eng)
	if err := l.DefineWasi(); err != nil {
		l.Close()
		return nil, plainErr(err)
	}
	l.AllowShadowing(true)
	h := &wasmtimeHost{cfg: cfg}
	i32, i64 := wasmtime.NewValType(wasmtime.KindI32), wasmtime.NewValType(wasmtime.KindI64)
	errnoFn := func(params ...*wasmtime.ValType) *wasmtime.FuncType {
		return wasmtime.NewFuncType(params, []*wasmtime.ValType{i32})
	}
	defs := []struct {
		module, name string
		ty           *wasmtime.FuncType
		f            func(*wasmtime.Caller, []wasmtime.Val) ([]wasmtime.Val, *wasmtime.Trap)
	}{
		{abi.ImportModule, abi.ImportLog, wasmtime.NewFuncType([]*wasmtime.ValType{i32, i32, i32}, nil), h.log},
		{wasiModule, "clock_time_get", errnoFn(i32, i64, i32), h.clockTimeGet},
		{wasiModule, "fd_write", errnoFn(i32, i32, i32, i32), h.fdWrite},
		{wasiModule, "poll_oneoff", errnoFn(i32, i32, i32, i32), h.pollOneoff},
	}
	if !cfg.random {
		defs = append(defs, struct {
			module, name string
			ty           *wasmtime.FuncType
			f            func(*wasmtime.Caller, []wasmtime.Val) ([]wasmtime.Val, *wasmtime.Trap)
		}{wasiModule, "random_get", errnoFn(i32, i32), h.randomGet})
	}
	for _, d := range defs {
		if err := l.FuncNew(d.module, d.name, d.ty, d.f); err != nil {
			l.Close()
			return nil, fmt.Errorf("%s.%s: %w", d.module, d.name, plainErr(err))
		}
	}
	return l, nil
}

func callerState(c *wasmtime.Caller) *wasmtimeState {
	st, _ := c.Data().(*wasmtimeState)
	return st
}

// guestMemory returns the caller's linear memory.
func guestMemory(c *wasmtime.Caller, st *wasmtimeState) []byte {
	if st != nil && st.mem != nil {
		return st.mem.UnsafeData(c)
	}
	// During instantiation (a start function calling the host).
	ext := c.GetExport("memory")
	if ext == nil {
		return nil
	}
	defer ext.Close()
	if m := ext.Memory(); m != nil {
		return m.UnsafeData(c)
	}
	return nil
}

func u32arg(v wasmtime.Val) uint32 { return uint32(v.I32()) }

// log is sluice_v1.log(level, ptr, len). Out-of-bounds lines are dropped
// (as on wazero).
func (h *wasmtimeHost) log(c *wasmtime.Caller, args []wasmtime.Val) ([]wasmtime.Val, *wasmtime.Trap) {
	mem := guestMemory(c, callerState(c))
	if msg, ok := span(mem, u32arg(args[1]), uint64(u32arg(args[2]))); ok {
		h.cfg.log(abi.LogLevel(args[0].I32()), msg)
	}
	return nil, nil
}

// clockTimeGet is clock_time_get(id, precision, *time) on the instance's
// sandboxClock: fake without the clock capability, real with it. Only
// realtime (0) and monotonic (1) exist, as on wazero.
func (h *wasmtimeHost) clockTimeGet(c *wasmtime.Caller, args []wasmtime.Val) ([]wasmtime.Val, *wasmtime.Trap) {
	st := callerState(c)
	out, ok := span(guestMemory(c, st), u32arg(args[2]), 8)
	if !ok {
		return resultFault, nil
	}
	t, ok := st.clock.now(u32arg(args[0]))
	if !ok {
		return resultInval, nil
	}
	binary.LittleEndian.PutUint64(out, t)
	return resultSuccess, nil
}

// randomGet is random_get(buf, len) without the random capability: a
// deterministic stream, the same for every instance.
func (h *wasmtimeHost) randomGet(c *wasmtime.Caller, args []wasmtime.Val) ([]wasmtime.Val, *wasmtime.Trap) {
	st := callerState(c)
	buf, ok := span(guestMemory(c, st), u32arg(args[0]), uint64(u32arg(args[1])))
	if !ok {
		return resultFault, nil
	}
	if st.rng == nil {
		st.rng = rand.NewChaCha8(fakeRandSeed)
	}
	st.rng.Read(buf)
	return resultSuccess, nil
}

// fdWrite is fd_write(fd, iovs, iovs_len, *nwritten). fd 1 and 2 go to the
// plugin's log with the stdout capability and are discarded without it;
// either way the whole write is reported done, so guests do not retry.
// There are no other writable descriptors.
func (h *wasmtimeHost) fdWrite(c *wasmtime.Caller, args []wasmtime.Val) ([]wasmtime.Val, *wasmtime.Trap) {
	fd := args[0].I32()
	if fd != 1 && fd != 2 {
		return resultBadf, nil
	}
	mem := guestMemory(c, callerState(c))
	n := u32arg(args[2])
	iovs, ok := span(mem, u32arg(args[1]), uint64(n)*8)
	if !ok {
		return resultFault, nil
	}
	nwritten, ok := span(mem, u32arg(args[3]), 4)
	if !ok {
		return resultFault, nil
	}
	// Check every buffer before writing any.
	var total uint64
	for i := uint32(0); i < n; i++ {
		buf, l := binary.LittleEndian.Uint32(iovs[8*i:]), binary.LittleEndian.Uint32(iovs[8*i+4:])
		if _, ok := span(mem, buf, uint64(l)); !ok {
			return resultFault, nil
		}
		total += uint64(l)
	}
	if total > 1<<32-1 {
		return resultInval, nil
	}
	if h.cfg.stdout {
		level := abi.LogInfo
		if fd == 2 {
			level = abi.LogWarn
		}
		for i := uint32(0); i < n; i++ {
			buf, l := binary.LittleEndian.Uint32(iovs[8*i:]), binary.LittleEndian.Uint32(iovs[8*i+4:])
			if l > 0 {
				h.cfg.log(level, mem[buf:buf+l])
			}
		}
	}
	binary.LittleEndian.PutUint32(nwritten, uint32(total))
	return resultSuccess, nil
}

// pollOneoff is poll_oneoff(in, out, nsubscriptions, *nevents): see
// wasiPollOneoff. wasmtime's own would block in the host, where the epoch
// cannot interrupt it, so a guest's sleep could outlast its budget. Here a
// real sleep is cut short at the call's deadline, which traps the call as a
// timeout.
func (h *wasmtimeHost) pollOneoff(c *wasmtime.Caller, args []wasmtime.Val) ([]wasmtime.Val, *wasmtime.Trap) {
	st := callerState(c)
	errno, timedOut := wasiPollOneoff(guestMemory(c, st), u32arg(args[0]), u32arg(args[1]), u32arg(args[2]), u32arg(args[3]),
		&st.clock, func(ns uint64) bool {
			d := time.Duration(min(ns, uint64(1<<63-1)))
			cut := false
			if !st.deadline.IsZero() {
				if left := time.Until(st.deadline); d > left {
					d, cut = max(left, 0), true
				}
			}
			if d > 0 {
				time.Sleep(d)
			}
			return cut
		})
	if timedOut {
		st.timedOut = true
		return nil, wasmtime.NewTrap("time budget exceeded while sleeping in poll_oneoff")
	}
	return results(errno), nil
}
