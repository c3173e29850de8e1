package pluginhost

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/sluicegw/sluice/abi"
	"github.com/sluicegw/sluice/gateway/telemetry"
)

// Spec is the operator's configuration of one plugin (config `plugins[]`).
type Spec struct {
	Name string
	Path string
	// Config is handed to the plugin's init hook as JSON.
	Config []byte
	// OnError overrides the manifest's fail mode: fail_closed or fail_open.
	OnError string
	// Timeout is the time budget of one call.
	Timeout time.Duration
	// MemoryLimit caps the plugin's linear memory, in bytes.
	MemoryLimit int64
	// PoolSize bounds the plugin's live instances; 0 means 2*GOMAXPROCS.
	PoolSize int
	// BreakerFailures and BreakerCooldown configure the circuit breaker.
	BreakerFailures int
	BreakerCooldown time.Duration
}

// Defaults for a Spec's zero fields.
const (
	DefaultTimeout         = 100 * time.Millisecond
	DefaultMemoryLimit     = 64 << 20
	DefaultBreakerFailures = 5
	DefaultBreakerCooldown = 30 * time.Second
	// defaultInitBudget bounds instantiation: a Go guest starts its
	// runtime in _initialize, which takes milliseconds, not the budget of
	// a call. Generous, because it runs once per instance and a loaded
	// machine (CI, a benchmark beside the gateway) once took pii-mask's
	// past 5s; a guest that never returns still fails its load.
	defaultInitBudget = 30 * time.Second
)

func (s Spec) withDefaults() Spec {
	if s.Timeout <= 0 {
		s.Timeout = DefaultTimeout
	}
	if s.MemoryLimit <= 0 {
		s.MemoryLimit = DefaultMemoryLimit
	}
	if s.PoolSize <= 0 {
		s.PoolSize = 2 * runtime.GOMAXPROCS(0)
	}
	if s.BreakerFailures == 0 {
		s.BreakerFailures = DefaultBreakerFailures
	}
	if s.BreakerCooldown <= 0 {
		s.BreakerCooldown = DefaultBreakerCooldown
	}
	return s
}

func (s Spec) equal(o Spec) bool {
	return s.Name == o.Name && s.Path == o.Path && string(s.Config) == string(o.Config) && s.OnError == o.OnError &&
		s.Timeout == o.Timeout && s.MemoryLimit == o.MemoryLimit && s.PoolSize == o.PoolSize &&
		s.BreakerFailures == o.BreakerFailures && s.BreakerCooldown == o.BreakerCooldown
}

// Options configure a Host.
type Options struct {
	// Engine is "wazero" (default) or "wasmtime" (build tag wasmtime).
	Engine string
	// CacheDir keeps compiled code across restarts; "" keeps it in memory.
	CacheDir string
	Logger   *slog.Logger
	Metrics  *telemetry.Metrics
	// NoBudget disables per-call time budgets. Only benchmarks set it: a
	// runaway guest then runs forever.
	NoBudget bool
}

// Host loads, runs and hot-reloads plugins. It is safe for concurrent use.
type Host struct {
	eng      engine
	engName  string
	log      *slog.Logger
	metrics  *telemetry.Metrics
	noBudget bool

	mu      sync.Mutex
	plugins map[string]*Plugin
	specs   map[string]Spec
	watcher *fsnotify.Watcher
	watched map[string]bool // directories
}

// New creates a host with its engine.
func New(opts Options) (*Host, error) {
	if opts.Engine == "" {
		opts.Engine = "wazero"
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Metrics == nil {
		opts.Metrics = telemetry.NewMetrics()
	}
	if opts.CacheDir != "" {
		if err := os.MkdirAll(opts.CacheDir, 0o700); err != nil {
			return nil, fmt.Errorf("compile cache: %w", err)
		}
	}
	eng, err := newEngine(opts.Engine, EngineOptions{CacheDir: opts.CacheDir})
	if err != nil {
		return nil, err
	}
	return &Host{
		eng: eng, engName: opts.Engine, log: opts.Logger, metrics: opts.Metrics, noBudget: opts.NoBudget,
		plugins: map[string]*Plugin{}, specs: map[string]Spec{}, watched: map[string]bool{},
	}, nil
}

// Engine returns the engine's name.
func (h *Host) Engine() string { return h.engName }

// Plugin returns a loaded plugin.
func (h *Host) Plugin(name string) (*Plugin, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	p, ok := h.plugins[name]
	return p, ok
}

// Statuses returns the status of every plugin, sorted by name.
func (h *Host) Statuses() []Status {
	h.mu.Lock()
	ps := make([]*Plugin, 0, len(h.plugins))
	for _, p := range h.plugins {
		ps = append(ps, p)
	}
	h.mu.Unlock()
	out := make([]Status, len(ps))
	for i, p := range ps {
		out[i] = p.Status()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Load loads a plugin, or reloads it if it is loaded. A failed reload keeps
// the running version, records why in its Status, and returns the error.
func (h *Host) Load(ctx context.Context, spec Spec) (*Plugin, error) {
	spec = spec.withDefaults()
	h.mu.Lock()
	p, ok := h.plugins[spec.Name]
	if !ok {
		p = &Plugin{name: spec.Name, host: h}
	}
	h.specs[spec.Name] = spec
	h.mu.Unlock()
	if err := p.reload(ctx, spec, ok); err != nil {
		if !ok {
			h.mu.Lock()
			delete(h.specs, spec.Name)
			h.mu.Unlock()
		}
		return p, err
	}
	if !ok {
		h.mu.Lock()
		h.plugins[spec.Name] = p
		h.mu.Unlock()
	}
	h.watchDir(filepath.Dir(spec.Path))
	return p, nil
}

// Apply makes the loaded plugins match specs: new ones are loaded, changed
// ones reloaded, missing ones unloaded. Failures are joined; every plugin
// that failed keeps its previous version.
func (h *Host) Apply(ctx context.Context, specs []Spec) error {
	var errs []error
	keep := map[string]bool{}
	for _, s := range specs {
		keep[s.Name] = true
		if _, err := h.Load(ctx, s); err != nil {
			errs = append(errs, err)
		}
	}
	h.mu.Lock()
	var gone []*Plugin
	for name, p := range h.plugins {
		if !keep[name] {
			gone = append(gone, p)
			delete(h.plugins, name)
			delete(h.specs, name)
		}
	}
	h.mu.Unlock()
	for _, p := range gone {
		if g := p.cur.Swap(nil); g != nil {
			g.retire()
		}
		h.log.Info("plugin unloaded", "plugin", p.name)
	}
	return errors.Join(errs...)
}

// reload builds a new generation from spec and swaps it in. With force
// false an unchanged file and spec is a no-op.
func (p *Plugin) reload(ctx context.Context, spec Spec, existing bool) (err error) {
	p.reloadMu.Lock()
	defer p.reloadMu.Unlock()
	h := p.host
	start := time.Now()
	wasm, err := os.ReadFile(spec.Path)
	if err == nil {
		sum := sha256.Sum256(wasm)
		sha := hex.EncodeToString(sum[:])
		if g := p.cur.Load(); g != nil && g.sha == sha && g.spec.equal(spec) {
			// The file is what already serves (e.g. a broken build was
			// replaced by the good one again): nothing to reload, and no
			// error to report any more.
			if st := p.Status(); st.LastError != "" {
				st.LastError, st.LastErrorAt = "", time.Time{}
				p.status.Store(&st)
			}
			return nil
		}
		var g *generation
		g, err = p.build(ctx, spec, wasm, sha)
		if err == nil {
			old := p.cur.Swap(g)
			if old != nil {
				old.retire()
			}
			st := p.Status()
			st.Name, st.Version, st.Path, st.SHA256, st.Engine, st.LoadedAt = p.name, g.mod.Manifest.Version, spec.Path, sha, h.engName, time.Now()
			st.LastError, st.LastErrorAt = "", time.Time{}
			if existing {
				st.Reloads++
			}
			st.Generation++
			st.LastResult, st.LastResultAt = "ok", st.LoadedAt
			p.status.Store(&st)
			h.metrics.PluginReloads.WithLabelValues(p.name, "ok").Inc()
			h.log.Info("plugin loaded", "plugin", p.name, "version", g.mod.Manifest.Version, "sha256", sha[:12], "engine", h.engName, "took", time.Since(start).Round(time.Microsecond))
			return nil
		}
	}
	err = fmt.Errorf("plugin %q: %s: %w", p.name, spec.Path, err)
	st := p.Status()
	st.Name, st.LastError, st.LastErrorAt = p.name, err.Error(), time.Now()
	st.LastResult, st.LastResultAt = "error", st.LastErrorAt
	p.status.Store(&st)
	h.metrics.PluginReloads.WithLabelValues(p.name, "error").Inc()
	if existing {
		h.log.Error("plugin reload failed; keeping the running version", "plugin", p.name, "err", err)
	}
	return err
}

// build inspects, compiles, instantiates, initializes and self-tests a new
// generation, leaving one warm instance in its pool.
func (p *Plugin) build(ctx context.Context, spec Spec, wasm []byte, sha string) (*generation, error) {
	h := p.host
	mod, err := Inspect(wasm)
	if err != nil {
		return nil, err
	}
	onError := spec.OnError
	if onError == "" {
		onError = mod.Manifest.OnError
	}
	redaction := mod.Manifest.Redaction
	if redaction == "" {
		redaction = abi.DefaultRedaction
	}
	var dets []abi.Detector
	for _, d := range mod.Manifest.Detectors {
		det, _ := abi.ParseDetector(d)
		dets = append(dets, det)
	}
	caps := mod.Manifest.Capabilities
	cfg := moduleConfig{
		plugin:      p.name,
		memoryPages: uint32((spec.MemoryLimit + 65535) / 65536),
		budget:      spec.Timeout,
		initBudget:  max(defaultInitBudget, spec.Timeout),
		clock:       slices.Contains(caps, abi.CapClock),
		random:      slices.Contains(caps, abi.CapRandom),
		stdout:      slices.Contains(caps, abi.CapStdout),
		log:         newGuestLog(h.log, p.name).write,
	}
	if h.noBudget {
		cfg.budget = 0
	}
	comp, err := h.eng.compile(ctx, mod, cfg)
	if err != nil {
		return nil, err
	}
	g := &generation{
		plugin: p, spec: spec, mod: mod, comp: comp, sha: sha,
		failOpen: onError == FailOpen, redaction: redaction, detectors: dets,
		idle: make(chan *pooled, spec.PoolSize),
		sem:  make(chan struct{}, spec.PoolSize),
	}
	g.refs.Store(1)
	for fn := fnID(0); fn < numFns; fn++ {
		g.calls[fn] = h.metrics.PluginCalls.WithLabelValues(p.name, fnHooks[fn])
		g.duration[fn] = h.metrics.PluginCallDuration.WithLabelValues(p.name, fnHooks[fn])
	}
	pi, err := g.acquire(ctx)
	if err != nil {
		g.unref()
		return nil, err
	}
	if err := g.selfTest(ctx, pi); err != nil {
		g.discard(pi)
		g.unref()
		return nil, err
	}
	g.idle <- pi
	return g, nil
}

// Reload reloads one plugin from its file with its current spec.
func (h *Host) Reload(ctx context.Context, name string) error {
	h.mu.Lock()
	p, ok := h.plugins[name]
	spec := h.specs[name]
	h.mu.Unlock()
	if !ok {
		return fmt.Errorf("plugin %q is not loaded", name)
	}
	return p.reload(ctx, spec, true)
}

func (h *Host) watchDir(dir string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.watcher == nil || h.watched[dir] {
		return
	}
	if err := h.watcher.Add(dir); err != nil {
		h.log.Warn("cannot watch plugin directory; hot reload is off for it", "dir", dir, "err", err)
		return
	}
	h.watched[dir] = true
}

// Watch reloads a plugin when its file changes on disk (written in place,
// or renamed over, as deploy tools do) until ctx is done. Changes are
// debounced so a file written in several steps is read once.
func (h *Host) Watch(ctx context.Context) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("plugin watcher: %w", err)
	}
	h.mu.Lock()
	h.watcher = w
	var dirs []string
	for _, s := range h.specs {
		dirs = append(dirs, filepath.Dir(s.Path))
	}
	h.mu.Unlock()
	for _, d := range dirs {
		h.watchDir(d)
	}
	defer func() {
		h.mu.Lock()
		h.watcher, h.watched = nil, map[string]bool{}
		h.mu.Unlock()
		w.Close()
	}()
	const debounce = 50 * time.Millisecond
	timers := map[string]*time.Timer{}
	for {
		select {
		case <-ctx.Done():
			for _, t := range timers {
				t.Stop()
			}
			return nil
		case err := <-w.Errors:
			h.log.Warn("plugin watcher", "err", err)
		case ev := <-w.Events:
			if !ev.Has(fsnotify.Write) && !ev.Has(fsnotify.Create) && !ev.Has(fsnotify.Rename) {
				continue
			}
			path := filepath.Clean(ev.Name)
			for _, name := range h.pluginsAt(path) {
				if t, ok := timers[name]; ok {
					t.Reset(debounce)
					continue
				}
				timers[name] = time.AfterFunc(debounce, func() {
					if err := h.Reload(ctx, name); err == nil {
						h.log.Debug("plugin file changed", "plugin", name, "path", path)
					}
				})
			}
		}
	}
}

func (h *Host) pluginsAt(path string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var names []string
	for name, s := range h.specs {
		if filepath.Clean(s.Path) == path {
			names = append(names, name)
		}
	}
	return names
}

// Close unloads every plugin and closes the engine.
func (h *Host) Close(ctx context.Context) error {
	h.mu.Lock()
	ps := h.plugins
	h.plugins = map[string]*Plugin{}
	h.mu.Unlock()
	for _, p := range ps {
		if g := p.cur.Swap(nil); g != nil {
			g.retire()
		}
	}
	return h.eng.close(ctx)
}

// guestLog rate-limits a plugin's log lines: a token bucket of burst lines
// refilled at rate per second; dropped lines are counted and reported with
// the next line that gets through.
type guestLog struct {
	log     *slog.Logger
	mu      sync.Mutex
	tokens  float64
	last    time.Time
	dropped int
}

const (
	guestLogRate  = 20.0
	guestLogBurst = 50.0
	guestLogMax   = 1024 // bytes of one line
)

func newGuestLog(l *slog.Logger, plugin string) *guestLog {
	return &guestLog{log: l.With("plugin", plugin), tokens: guestLogBurst, last: time.Now()}
}

func (g *guestLog) write(level abi.LogLevel, msg []byte) {
	g.mu.Lock()
	now := time.Now()
	g.tokens = min(guestLogBurst, g.tokens+now.Sub(g.last).Seconds()*guestLogRate)
	g.last = now
	if g.tokens < 1 {
		g.dropped++
		g.mu.Unlock()
		return
	}
	g.tokens--
	dropped := g.dropped
	g.dropped = 0
	g.mu.Unlock()
	if len(msg) > guestLogMax {
		msg = msg[:guestLogMax]
	}
	lvl := slog.LevelInfo
	switch level {
	case abi.LogDebug:
		lvl = slog.LevelDebug
	case abi.LogWarn:
		lvl = slog.LevelWarn
	case abi.LogError:
		lvl = slog.LevelError
	}
	if dropped > 0 {
		g.log.Log(context.Background(), lvl, string(msg), "source", "guest", "dropped_before", dropped)
		return
	}
	g.log.Log(context.Background(), lvl, string(msg), "source", "guest")
}
