package pluginhost

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicegw/sluice/abi"
)

// Plugin is one configured plugin. Its current generation (a compiled
// version with its instance pool) is swapped atomically by a reload; calls
// in flight finish on the generation they started on.
type Plugin struct {
	name    string
	host    *Host
	cur     atomic.Pointer[generation]
	breaker breaker
	status  atomic.Pointer[Status]
	// reloadMu serializes reloads of this plugin.
	reloadMu sync.Mutex
}

// Status is what the admin API and `sluice plugin` show of a plugin.
type Status struct {
	Name     string    `json:"name"`
	Version  string    `json:"version"`
	Path     string    `json:"path"`
	SHA256   string    `json:"sha256"`
	Engine   string    `json:"engine"`
	LoadedAt time.Time `json:"loaded_at"`
	// LastError is the last failed reload; the plugin keeps serving the
	// version above.
	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
	Reloads     int       `json:"reloads"`
	// Generation numbers the serving version: 1 for the first load, one
	// more for each version swapped in.
	Generation int `json:"generation"`
	// LastResult is the result of the last load or reload: "ok" or
	// "error" (then LastError says why), at LastResultAt.
	LastResult   string    `json:"last_result,omitempty"`
	LastResultAt time.Time `json:"last_result_at,omitzero"`
}

// Name returns the configured name.
func (p *Plugin) Name() string { return p.name }

// Status returns a copy of the plugin's status.
func (p *Plugin) Status() Status {
	if s := p.status.Load(); s != nil {
		return *s
	}
	return Status{Name: p.name}
}

// An unloaded plugin (removed from the config, or its host closed) has no
// generation: every call on it fails with FailInit, so callers that still
// hold it apply the fail mode, and the accessors below answer as for a
// fail-closed plugin with every hook.

// Manifest returns the manifest of the serving version.
func (p *Plugin) Manifest() abi.Manifest {
	if g := p.cur.Load(); g != nil {
		return g.mod.Manifest
	}
	return abi.Manifest{}
}

// HasHook reports whether the serving version implements hook.
func (p *Plugin) HasHook(hook string) bool {
	if g := p.cur.Load(); g != nil {
		return g.mod.HasHook(hook)
	}
	return true
}

// FailOpen reports the effective fail mode of the serving version.
func (p *Plugin) FailOpen() bool {
	if g := p.cur.Load(); g != nil {
		return g.failOpen
	}
	return false
}

// Redaction returns the text the host writes for redacted values.
func (p *Plugin) Redaction() string {
	if g := p.cur.Load(); g != nil {
		return g.redaction
	}
	return abi.DefaultRedaction
}

// Detectors returns the host-native detectors the plugin asked for. The
// slice is shared (it is read once per batch): callers must not modify it.
func (p *Plugin) Detectors() []abi.Detector {
	if g := p.cur.Load(); g != nil {
		return g.detectors
	}
	return nil
}

var errUnloaded = errors.New("plugin is not loaded")

// generation is one loaded version of a plugin: compiled code, limits and a
// bounded pool of instances.
type generation struct {
	plugin    *Plugin
	spec      Spec
	mod       *Module
	comp      compiled
	sha       string
	failOpen  bool
	redaction string
	detectors []abi.Detector

	idle  chan *pooled  // idle instances
	sem   chan struct{} // one token per live instance
	refs  atomic.Int64  // live instances + 1 while current
	once  sync.Once     // closes comp when refs reaches 0
	plans sync.Map      // schema key -> []abi.Action

	calls    [numFns]prometheus.Counter
	duration [numFns]prometheus.Observer
}

// pooled is an instance with its arena.
type pooled struct {
	in        instance
	arena     uint32 // guest address of the arena
	arenaSize uint32
}

const (
	minArena = 64 << 10
	// maxNoSpaceRetries bounds how often a hook may ask for more output
	// space for one input: each retry doubles the arena.
	maxNoSpaceRetries = 4
)

func (g *generation) unref() {
	if g.refs.Add(-1) == 0 {
		g.once.Do(func() { g.comp.close(context.Background()) })
	}
}

// tryRef takes a reference unless the generation is already closed.
func (g *generation) tryRef() bool {
	for {
		n := g.refs.Load()
		if n <= 0 {
			return false
		}
		if g.refs.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// retire stops handing out this generation's instances: idle ones close
// now, busy ones when they are released.
func (g *generation) retire() {
	for {
		select {
		case pi := <-g.idle:
			g.discard(pi)
		default:
			g.unref()
			return
		}
	}
}

func (g *generation) discard(pi *pooled) {
	pi.in.close()
	<-g.sem
	g.unref()
}

// acquire returns an idle instance or creates one, waiting when the pool
// is at its size.
func (g *generation) acquire(ctx context.Context) (*pooled, error) {
	select {
	case pi := <-g.idle:
		return pi, nil
	default:
	}
	select {
	case pi := <-g.idle:
		return pi, nil
	case g.sem <- struct{}{}:
		if !g.tryRef() {
			<-g.sem
			return nil, errRetired
		}
		pi, err := g.newInstance(ctx)
		if err != nil {
			<-g.sem
			g.unref()
			return nil, err
		}
		return pi, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

var errRetired = errors.New("generation retired")

func (g *generation) release(pi *pooled, broken bool) {
	if broken || g.plugin.cur.Load() != g {
		g.discard(pi)
		return
	}
	select {
	case g.idle <- pi:
	default:
		g.discard(pi)
	}
}

// newInstance instantiates, sets up the arena and runs sluice_init.
func (g *generation) newInstance(ctx context.Context) (*pooled, error) {
	in, err := g.comp.instantiate(ctx)
	if err != nil {
		return nil, &PluginError{Plugin: g.plugin.name, Hook: "instantiate", Kind: FailInit, FailOpen: g.failOpen, Err: err}
	}
	pi := &pooled{in: in}
	cfg := g.spec.Config
	if len(cfg) == 0 {
		cfg = []byte("{}")
	}
	if err := g.ensureArena(pi, AlignUpInt(len(cfg))+abi.OutputHeaderSize+minArena); err != nil {
		in.close()
		return nil, &PluginError{Plugin: g.plugin.name, Hook: "arena", Kind: FailInit, FailOpen: g.failOpen, Err: err}
	}
	if g.mod.HasInit {
		writeCfg := func(dst []byte) { copy(dst, cfg) }
		writeCfg(in.memory()[pi.arena:])
		payload, err := g.callHook(pi, fnInit, len(cfg), writeCfg)
		if err != nil {
			in.close()
			var pe *PluginError
			if errors.As(err, &pe) {
				pe.Kind = FailInit
				return nil, pe
			}
			return nil, err
		}
		_ = payload
	}
	return pi, nil
}

// processStart anchors monotonic: time.Since reads only the monotonic
// clock, about half the cost of time.Now on the per-call path.
var processStart = time.Now()

func monotonic() time.Duration { return time.Since(processStart) }

// AlignUpInt rounds n up to the ABI alignment.
func AlignUpInt(n int) int { return abi.AlignUp(n) }

// ensureArena makes the arena at least size bytes.
func (g *generation) ensureArena(pi *pooled, size int) error {
	if size <= int(pi.arenaSize) {
		return nil
	}
	want := max(minArena, int(pi.arenaSize))
	for want < size {
		want *= 2
	}
	if want > int(g.spec.MemoryLimit) {
		return fmt.Errorf("arena of %d bytes exceeds the memory limit of %d bytes", want, g.spec.MemoryLimit)
	}
	ptr, err := pi.in.call(fnArena, uint32(want), 0)
	if err != nil {
		return err
	}
	if ptr == 0 || ptr%abi.Align != 0 || uint64(ptr)+uint64(want) > uint64(len(pi.in.memory())) {
		return fmt.Errorf("%s(%d) returned an invalid region at %d", abi.ExportArena, want, ptr)
	}
	pi.arena, pi.arenaSize = ptr, uint32(want)
	return nil
}

// callHook calls a data hook whose input (inLen bytes) is already in the
// arena and returns the payload of its output, a view valid until the
// next call on the instance. NO_SPACE is handled by growing the arena,
// writing the input again with write (the guest may have changed it: in
// place edits are written into the input) and repeating the call (ABI
// §2.4).
func (g *generation) callHook(pi *pooled, fn fnID, inLen int, write func(dst []byte)) ([]byte, error) {
	start := monotonic()
	g.calls[fn].Inc()
	defer func() { g.duration[fn].Observe((monotonic() - start).Seconds()) }()
	for try := 0; ; try++ {
		outOff := abi.AlignUp(inLen)
		if err := g.ensureArenaKeep(pi, outOff+abi.OutputHeaderSize+max(minArena/4, inLen/2), inLen); err != nil {
			return nil, g.fail(fn, FailABI, err)
		}
		st, err := pi.in.call(fn, uint32(inLen), uint32(outOff))
		if err != nil {
			kind := classify(err)
			if kind == FailTrap && g.atMemoryLimit(pi) {
				kind = FailMemory
			}
			return nil, g.fail(fn, kind, err)
		}
		mem := pi.in.memory()
		region := mem[pi.arena+uint32(outOff) : pi.arena+pi.arenaSize]
		switch abi.Status(int32(st)) {
		case abi.StatusOK:
			payload, err := abi.ParseOutput(region)
			if err != nil {
				return nil, g.fail(fn, FailABI, err)
			}
			return payload, nil
		case abi.StatusNoSpace:
			if try >= maxNoSpaceRetries {
				return nil, g.fail(fn, FailABI, errors.New("output does not fit after growing the arena"))
			}
			if err := g.ensureArena(pi, int(pi.arenaSize)*2); err != nil {
				return nil, g.fail(fn, FailABI, err)
			}
			write(pi.in.memory()[pi.arena : pi.arena+uint32(inLen)])
		case abi.StatusBadInput, abi.StatusFailed:
			msg := "no message"
			if payload, err := abi.ParseOutput(region); err == nil && len(payload) > 0 {
				msg = string(payload[:min(len(payload), 512)])
			}
			return nil, g.fail(fn, FailStatus, fmt.Errorf("%s: %s", abi.Status(int32(st)), msg))
		default:
			return nil, g.fail(fn, FailABI, fmt.Errorf("unknown status %d", int32(st)))
		}
	}
}

// ensureArenaKeep grows the arena to size, keeping its first keep bytes.
func (g *generation) ensureArenaKeep(pi *pooled, size, keep int) error {
	if size <= int(pi.arenaSize) {
		return nil
	}
	saved := append([]byte(nil), pi.in.memory()[pi.arena:pi.arena+uint32(keep)]...)
	if err := g.ensureArena(pi, size); err != nil {
		return err
	}
	copy(pi.in.memory()[pi.arena:], saved)
	return nil
}

// atMemoryLimit tells a trap caused by running out of memory from others:
// engines report a failed memory.grow to the guest, not to the host, and
// guests trap soon after, with memory near the limit.
func (g *generation) atMemoryLimit(pi *pooled) bool {
	return int64(len(pi.in.memory())) >= g.spec.MemoryLimit-g.spec.MemoryLimit/8
}

func (g *generation) fail(fn fnID, kind FailureKind, err error) error {
	return &PluginError{Plugin: g.plugin.name, Hook: fnHooks[fn], Kind: kind, FailOpen: g.failOpen, Err: err}
}

// do runs f on an instance of the current generation, with the breaker,
// metrics and instance disposal around it.
func (p *Plugin) do(ctx context.Context, hook string, f func(g *generation, pi *pooled) error) error {
	g := p.cur.Load()
	if g == nil {
		return &PluginError{Plugin: p.name, Hook: hook, Kind: FailInit, Err: errUnloaded}
	}
	if !p.breaker.allow() {
		return &PluginError{Plugin: p.name, Hook: hook, Kind: FailBreaker, FailOpen: g.failOpen, Err: errors.New("circuit breaker open")}
	}
	var pi *pooled
	var err error
	for {
		pi, err = g.acquire(ctx)
		if err != errRetired {
			break
		}
		if g = p.cur.Load(); g == nil {
			return &PluginError{Plugin: p.name, Hook: hook, Kind: FailInit, Err: errUnloaded}
		}
	}
	if err != nil {
		p.recordFailure(hook, err)
		return err
	}
	err = f(g, pi)
	if err == nil {
		g.release(pi, false)
		if p.breaker.success() {
			p.host.metrics.BreakerOpen.WithLabelValues(p.name).Set(0)
		}
		return nil
	}
	return p.failed(g, pi, hook, err)
}

// failed releases the instance after a failed call: a plugin failure
// other than a FAILED status leaves the instance suspect, so it is
// discarded. Kept out of do so the success path does not make pe escape.
func (p *Plugin) failed(g *generation, pi *pooled, hook string, err error) error {
	var pe *PluginError
	isPlugin := errors.As(err, &pe)
	g.release(pi, isPlugin && pe.Kind != FailStatus)
	if isPlugin {
		p.recordFailure(hook, err)
	}
	return err
}

func (p *Plugin) recordFailure(hook string, err error) {
	kind := FailInit
	var pe *PluginError
	if errors.As(err, &pe) {
		kind = pe.Kind
	}
	m := p.host.metrics
	m.PluginErrors.WithLabelValues(p.name, hook, string(kind)).Inc()
	if kind == FailTimeout {
		m.PluginTimeouts.WithLabelValues(p.name).Inc()
	}
	if g := p.cur.Load(); kind != FailBreaker && g != nil && p.breaker.failure(time.Now(), g.spec.BreakerFailures, g.spec.BreakerCooldown) {
		m.BreakerOpen.WithLabelValues(p.name).Set(1)
		p.host.log.Warn("plugin circuit breaker open", "plugin", p.name, "cooldown", g.spec.BreakerCooldown)
	}
	if kind != FailBreaker {
		p.host.log.Warn("plugin call failed", "plugin", p.name, "hook", hook, "kind", kind, "err", err)
	}
}

// Decision is the verdict of a command hook.
type Decision struct {
	Verdict abi.Verdict
	Reason  string
	Plugin  string
}

// Command evaluates a command. On a plugin failure it returns the fail
// mode's decision (fail_closed: Block) together with the *PluginError.
func (p *Plugin) Command(ctx context.Context, cb *abi.CommandBuilder) (Decision, error) {
	d := Decision{Plugin: p.name}
	err := p.do(ctx, abi.HookCommand, func(g *generation, pi *pooled) error {
		n := cb.Size()
		if err := g.ensureArena(pi, abi.AlignUp(n)+abi.OutputHeaderSize+minArena/4); err != nil {
			return g.fail(fnCommand, FailABI, err)
		}
		write := func(dst []byte) { cb.Encode(dst) }
		write(pi.in.memory()[pi.arena : pi.arena+uint32(n)])
		payload, err := g.callHook(pi, fnCommand, n, write)
		if err != nil {
			return err
		}
		v, reason, err := abi.ParseVerdict(payload)
		if err != nil {
			return g.fail(fnCommand, FailABI, err)
		}
		d.Verdict, d.Reason = v, string(reason)
		return nil
	})
	if err != nil {
		var pe *PluginError
		if errors.As(err, &pe) && pe.FailOpen {
			return Decision{Verdict: abi.Allow, Plugin: p.name, Reason: "plugin failed open: " + string(pe.Kind)}, err
		}
		return Decision{Verdict: abi.Block, Plugin: p.name, Reason: fmt.Sprintf("plugin %s failed (%s); blocked by fail_closed", p.name, failKind(err))}, err
	}
	return d, nil
}

func failKind(err error) FailureKind {
	var pe *PluginError
	if errors.As(err, &pe) {
		return pe.Kind
	}
	return FailInit
}

// Records sends a batch to the records hook and calls apply with the
// batch as the guest left it and the validated edits, while the instance
// is still held (both are views into guest memory). A *PluginError means
// the caller applies the fail mode.
func (p *Plugin) Records(ctx context.Context, bb *abi.BatchBuilder, apply func(b *abi.Batch, e *abi.Edits) error) error {
	return p.do(ctx, abi.HookRecords, func(g *generation, pi *pooled) error {
		n := bb.Size()
		if err := g.ensureArena(pi, abi.AlignUp(n)+abi.OutputHeaderSize+max(minArena/4, n/2)); err != nil {
			return g.fail(fnRecords, FailABI, err)
		}
		write := func(dst []byte) { bb.Encode(dst) }
		write(pi.in.memory()[pi.arena : pi.arena+uint32(n)])
		payload, err := g.callHook(pi, fnRecords, n, write)
		if err != nil {
			return err
		}
		mem := pi.in.memory()
		b, err := abi.ParseBatch(mem[pi.arena : pi.arena+uint32(n)])
		if err != nil {
			return g.fail(fnRecords, FailABI, fmt.Errorf("guest corrupted the batch: %w", err))
		}
		edits, err := abi.ParseEdits(payload, &b)
		if err != nil {
			return g.fail(fnRecords, FailABI, err)
		}
		return apply(&b, &edits)
	})
}

// Plan returns the plugin's per-column actions for a schema (bb holds the
// columns; records are ignored), cached per key for this generation. A
// plugin without a plan hook inspects every column (nil).
func (p *Plugin) Plan(ctx context.Context, key string, bb *abi.BatchBuilder) ([]abi.Action, error) {
	g := p.cur.Load()
	if g == nil {
		return nil, &PluginError{Plugin: p.name, Hook: abi.HookPlan, Kind: FailInit, Err: errUnloaded}
	}
	if !g.mod.HasHook(abi.HookPlan) {
		return nil, nil
	}
	if v, ok := g.plans.Load(key); ok {
		return v.([]abi.Action), nil
	}
	var actions []abi.Action
	err := p.do(ctx, abi.HookPlan, func(g *generation, pi *pooled) error {
		n := bb.SchemaSize()
		if err := g.ensureArena(pi, abi.AlignUp(n)+abi.OutputHeaderSize+minArena/4); err != nil {
			return g.fail(fnPlan, FailABI, err)
		}
		n = bb.EncodeSchema(pi.in.memory()[pi.arena : pi.arena+uint32(n)])
		payload, err := g.callHook(pi, fnPlan, n, func(dst []byte) { bb.EncodeSchema(dst) })
		if err != nil {
			return err
		}
		raw, err := abi.ParsePlan(payload, bb.NumColumns())
		if err != nil {
			return g.fail(fnPlan, FailABI, err)
		}
		actions = make([]abi.Action, len(raw))
		for i, a := range raw {
			actions[i] = abi.Action(a)
		}
		g.plans.Store(key, actions)
		return nil
	})
	return actions, err
}

// selfTest runs the selftest hook on a fresh instance of g.
func (g *generation) selfTest(ctx context.Context, pi *pooled) error {
	if !g.mod.HasHook(abi.HookSelfTest) {
		return nil
	}
	st, err := pi.in.call(fnSelfTest, 0, 0)
	if err != nil {
		return fmt.Errorf("selftest: %w", err)
	}
	if abi.Status(int32(st)) != abi.StatusOK {
		return fmt.Errorf("selftest: %s", abi.Status(int32(st)))
	}
	return nil
}

// breaker is a consecutive-failure circuit breaker: after `failures`
// failures in a row it opens for `cooldown`; then calls go through again
// (half-open) and the first failure reopens it while a success closes it.
// Concurrent updates race benignly (a count may be off by one); the healthy
// path is two atomic loads.
type breaker struct {
	openUntil atomic.Int64 // unix nanos; 0 when closed
	count     atomic.Int64
}

func (b *breaker) allow() bool {
	u := b.openUntil.Load()
	return u == 0 || time.Now().UnixNano() >= u
}

// success closes the breaker and reports whether it had opened.
func (b *breaker) success() bool {
	if b.count.Load() != 0 {
		b.count.Store(0)
	}
	if b.openUntil.Load() == 0 {
		return false
	}
	b.openUntil.Store(0)
	return true
}

// failure records a failure and reports whether the breaker just opened.
func (b *breaker) failure(now time.Time, failures int, cooldown time.Duration) bool {
	if failures <= 0 {
		return false
	}
	if b.count.Add(1) >= int64(failures) {
		// Half-open after the cooldown: one more failure reopens it.
		b.count.Store(int64(failures - 1))
		b.openUntil.Store(now.Add(cooldown).UnixNano())
		return true
	}
	return false
}
