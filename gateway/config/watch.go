package config

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicegw/sluice/gateway/telemetry"
)

// DefaultDebounce is how long a config directory must be quiet before the
// file is re-read. Editors and deploy tools change a file in several steps
// (truncate and write, write a temporary file and rename it over, swap a
// symlink); reading after the first step would see a half-written file.
const DefaultDebounce = 100 * time.Millisecond

// ApplyFunc takes a new snapshot into use. old is the running snapshot,
// new the one just loaded; old.Diff(new) says what changed.
//
// It returns an error to refuse the new snapshot, for example when a change
// needs a restart (data_dir, a listen address). The watcher then keeps old,
// logs the error and counts the reload as failed. An ApplyFunc that refuses
// should refuse before changing anything.
//
// Calls are serialized: one at a time, from the watcher's goroutine or from
// a caller of [Watcher.Reload]. An ApplyFunc must not call Reload.
type ApplyFunc func(old, new *Config) error

// WatchOptions tune [Watch]. The zero value is ready to use.
type WatchOptions struct {
	// Logger receives one record per reload attempt: Info when a new
	// snapshot is applied, Error (with the reason) when one is rejected.
	// Nil means slog.Default().
	Logger *slog.Logger
	// Registerer, if not nil, gets the counter
	// sluice_config_reloads_total{result="ok|error"}. When an identical
	// counter is already registered (telemetry.Metrics has one) it is reused.
	Registerer prometheus.Registerer
	// Debounce overrides DefaultDebounce.
	Debounce time.Duration
	// Environ supplies the environment for overrides and ${VAR} expansion
	// on every reload. Nil means os.Environ.
	Environ func() []string
}

// Watcher reloads a config file when it changes. Create it with [Watch].
// Its methods are safe for concurrent use.
type Watcher struct {
	path     string // as the snapshot has it, so paths resolve the same way
	abs      string // what is read
	apply    ApplyFunc
	logger   *slog.Logger
	debounce time.Duration
	environ  func() []string
	reloads  *prometheus.CounterVec // nil without a Registerer
	fsw      *fsnotify.Watcher

	current atomic.Pointer[Config]

	mu       sync.Mutex // serializes reloads, so ApplyFunc calls never overlap
	lastSeen string     // digest of the content last tried, or the read error
	lastErr  error      // outcome of that try

	done chan struct{}
	err  error // why the watch stopped, if not ctx; written before done closes
}

// Watch starts watching the file current was loaded from, until ctx is
// done. When the file's content changes, it is loaded again (with the same
// environment rules as [Load]); a valid snapshot is handed to apply and,
// if apply accepts it, becomes Current. An invalid file, or one apply
// refuses, leaves the running snapshot in place: the reason is logged and
// counted, and the next change is tried afresh.
//
// It watches the file's directory, not the file, so that editors that write
// a new file and rename it over the old one, and Kubernetes ConfigMap
// volumes that swap a ..data symlink, are followed. Every event in the
// directory leads, after the debounce, to a re-read; the content's SHA-256
// decides whether anything changed, so touches and unrelated files cost one
// read and nothing else.
//
// An empty file is not applied: while valid YAML (all defaults, so no
// plugins and no targets), on a running gateway it is far more likely a
// write caught half-way.
//
// Watch returns once the watch is established, so a directory that cannot
// be watched is an error here rather than a silent log line later. A
// snapshot from [Default] has no file and cannot be watched.
func Watch(ctx context.Context, current *Config, apply ApplyFunc, opts WatchOptions) (*Watcher, error) {
	if current == nil || apply == nil {
		return nil, errors.New("watch config: current snapshot and apply func are required")
	}
	if current.embedded {
		return nil, errors.New("watch config: the embedded default configuration has no file to watch")
	}
	abs, err := filepath.Abs(current.path)
	if err != nil {
		return nil, fmt.Errorf("watch config: %w", err)
	}
	w := &Watcher{
		path:     current.path,
		abs:      abs,
		apply:    apply,
		logger:   opts.Logger,
		debounce: opts.Debounce,
		environ:  opts.Environ,
		lastSeen: string(current.digest[:]),
		done:     make(chan struct{}),
	}
	if w.logger == nil {
		w.logger = slog.Default()
	}
	if w.debounce <= 0 {
		w.debounce = DefaultDebounce
	}
	if w.environ == nil {
		w.environ = os.Environ
	}
	if opts.Registerer != nil {
		if w.reloads, err = reloadCounter(opts.Registerer); err != nil {
			return nil, fmt.Errorf("watch config: %w", err)
		}
	}
	w.current.Store(current)

	w.fsw, err = fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("watch config: %w", err)
	}
	if err := w.fsw.Add(filepath.Dir(abs)); err != nil {
		w.fsw.Close()
		return nil, fmt.Errorf("watch config directory: %w", err)
	}
	go w.run(ctx)
	return w, nil
}

func reloadCounter(reg prometheus.Registerer) (*prometheus.CounterVec, error) {
	c := telemetry.NewConfigReloads()
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(*prometheus.CounterVec); ok {
				c = existing
				err = nil
			}
		}
		if err != nil {
			return nil, fmt.Errorf("register %s: %w", telemetry.MetricConfigReloads, err)
		}
	}
	// Export both series from the start, so a rate() over them works before
	// the first reload.
	c.WithLabelValues(telemetry.ResultOK)
	c.WithLabelValues(telemetry.ResultError)
	return c, nil
}

// Current returns the running snapshot: the last one apply accepted.
func (w *Watcher) Current() *Config { return w.current.Load() }

// Reload re-reads the file now, as a change event would after the debounce,
// and returns the outcome: nil when the new snapshot was applied or the
// content is the running one, else why it was not. When the content is
// the same as at the last failed attempt, that attempt's error is returned
// again without calling apply. It is what SIGHUP or an admin "reload"
// should call.
func (w *Watcher) Reload() error { return w.reload() }

// Done is closed when the watch has stopped, after ctx is done or the
// file-system watch failed (see Err). Reload still works after that.
func (w *Watcher) Done() <-chan struct{} { return w.done }

// Err returns why the watch stopped, or nil if it stopped because ctx was
// done or has not stopped.
func (w *Watcher) Err() error {
	select {
	case <-w.done:
		return w.err
	default:
		return nil
	}
}

func (w *Watcher) run(ctx context.Context) {
	defer close(w.done)
	defer w.fsw.Close()

	// The file may have changed between Load and Watch; check once, after
	// the same quiet period as for an event, in case it is being written.
	timer := time.NewTimer(w.debounce)
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-w.fsw.Events:
			if !ok {
				w.err = errors.New("watch config: file-system watch closed")
				return
			}
			w.logger.Debug("config directory changed", "event", ev.String())
			timer.Reset(w.debounce)
		case err, ok := <-w.fsw.Errors:
			if !ok {
				w.err = errors.New("watch config: file-system watch closed")
				return
			}
			// Usually an event queue overflow, which may have swallowed the
			// event that mattered: re-read to be sure.
			w.logger.Warn("config watch error", "path", w.abs, "err", err)
			timer.Reset(w.debounce)
		case <-timer.C:
			_ = w.reload()
		}
	}
}

func (w *Watcher) reload() error {
	w.mu.Lock()
	defer w.mu.Unlock()

	src, err := os.ReadFile(w.abs)
	seen := ""
	if err != nil {
		err = fmt.Errorf("read config: %w", err)
		seen = err.Error()
	} else {
		sum := sha256.Sum256(src)
		seen = string(sum[:])
	}
	if seen == w.lastSeen {
		return w.lastErr
	}
	w.lastSeen = seen

	old := w.current.Load()
	if err == nil && seen == string(old.digest[:]) {
		// Back to the running content after a failed edit: nothing to apply.
		if w.lastErr != nil {
			w.logger.Info("config file is back to the running version", "path", w.abs)
		}
		w.lastErr = nil
		return nil
	}

	var next *Config
	if err == nil && len(bytes.TrimSpace(src)) == 0 {
		// Valid YAML meaning "all defaults", i.e. no plugins and no targets,
		// but far more likely a write caught half-way or a mistake; the
		// next write brings another event.
		err = errors.New("read config: the file is empty")
	}
	if err == nil {
		next, err = parse(w.path, src, w.environ(), false)
	}
	if err == nil {
		if aerr := w.apply(old, next); aerr != nil {
			err = fmt.Errorf("apply config: %w", aerr)
		}
	}
	if err != nil {
		w.lastErr = err
		w.count(telemetry.ResultError)
		w.logger.Error("config reload failed; keeping the running configuration", "path", w.abs, "err", err)
		return err
	}
	w.current.Store(next)
	w.lastErr = nil
	w.count(telemetry.ResultOK)
	w.logger.Info("config reloaded", "path", w.abs, "changed", old.Diff(next).Sections())
	return nil
}

func (w *Watcher) count(result string) {
	if w.reloads != nil {
		w.reloads.WithLabelValues(result).Inc()
	}
}
