package config

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/sluicegw/sluice/gateway/internal/syncbuf"
	"github.com/sluicegw/sluice/gateway/telemetry"
)

type applied struct{ old, new *Config }

type watchFixture struct {
	t       *testing.T
	dir     string
	file    string
	w       *Watcher
	applied chan applied
	logs    *syncBuffer
	reg     *prometheus.Registry
	refuse  error // returned by apply when set before a change
	mu      sync.Mutex
}

const watchV1 = "log: {level: info}\nplugins:\n  - {name: a, path: a.wasm}\n"
const watchV2 = "log: {level: debug}\nplugins:\n  - {name: a, path: a.wasm, timeout: 2s}\n"

func startWatch(t *testing.T, content string, reg *prometheus.Registry) *watchFixture {
	t.Helper()
	f := &watchFixture{t: t, dir: t.TempDir(), applied: make(chan applied, 10), logs: &syncBuffer{}, reg: reg}
	f.file = filepath.Join(f.dir, "sluice.yaml")
	f.write(content)
	cur, err := loadFile(f.file, nil)
	if err != nil {
		t.Fatal(err)
	}
	if f.reg == nil {
		f.reg = prometheus.NewRegistry()
	}
	ctx, cancel := context.WithCancel(context.Background())
	f.w, err = Watch(ctx, cur, func(old, new *Config) error {
		f.mu.Lock()
		refuse := f.refuse
		f.mu.Unlock()
		if refuse != nil {
			return refuse
		}
		f.applied <- applied{old, new}
		return nil
	}, WatchOptions{
		Logger:     slog.New(slog.NewTextHandler(f.logs, nil)),
		Registerer: f.reg,
		Debounce:   20 * time.Millisecond,
		Environ:    func() []string { return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		<-f.w.Done()
		if err := f.w.Err(); err != nil {
			t.Errorf("watch stopped with %v", err)
		}
	})
	return f
}

func (f *watchFixture) write(content string) {
	f.t.Helper()
	if err := os.WriteFile(f.file, []byte(content), 0o600); err != nil {
		f.t.Fatal(err)
	}
}

// replace writes content to a temporary file and renames it over the
// config, as vim, most deploy tools and atomic writers do.
func (f *watchFixture) replace(content string) {
	f.t.Helper()
	tmp := filepath.Join(f.dir, ".sluice.yaml.tmp")
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		f.t.Fatal(err)
	}
	if err := os.Rename(tmp, f.file); err != nil {
		f.t.Fatal(err)
	}
}

func (f *watchFixture) waitApplied() applied {
	f.t.Helper()
	select {
	case a := <-f.applied:
		return a
	case <-time.After(5 * time.Second):
		f.t.Fatalf("apply not called; logs:\n%s", f.logs.String())
		return applied{}
	}
}

func (f *watchFixture) waitLog(substr string) {
	f.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(f.logs.String(), substr) {
		if time.Now().After(deadline) {
			f.t.Fatalf("no log containing %q; logs:\n%s", substr, f.logs.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (f *watchFixture) noApply(within time.Duration) {
	f.t.Helper()
	select {
	case a := <-f.applied:
		f.t.Fatalf("apply called unexpectedly with %v", a.new)
	case <-time.After(within):
	}
}

func (f *watchFixture) reloads(result string) float64 {
	f.t.Helper()
	families, err := f.reg.Gather()
	if err != nil {
		f.t.Fatal(err)
	}
	for _, fam := range families {
		if fam.GetName() != telemetry.MetricConfigReloads {
			continue
		}
		for _, m := range fam.GetMetric() {
			if labelValue(m, "result") == result {
				return m.GetCounter().GetValue()
			}
		}
	}
	f.t.Fatalf("no %s{result=%q}", telemetry.MetricConfigReloads, result)
	return 0
}

func labelValue(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

func TestWatchAppliesChange(t *testing.T) {
	f := startWatch(t, watchV1, nil)
	first := f.w.Current()

	f.write(watchV2)
	a := f.waitApplied()
	if a.old != first {
		t.Error("old is not the running snapshot")
	}
	if a.new.Log().Level != "debug" {
		t.Errorf("new snapshot log level %q", a.new.Log().Level)
	}
	if d := a.old.Diff(a.new); !d.Log || !d.Plugins() || d.ChangedPlugins[0] != "a" {
		t.Errorf("Diff = %+v", d)
	}
	// Current moves once apply has returned; the log line comes after.
	f.waitLog("config reloaded")
	if f.w.Current() != a.new {
		t.Error("Current is not the applied snapshot")
	}
	if got := f.reloads("ok"); got != 1 {
		t.Errorf("ok reloads = %v, want 1", got)
	}

	// Touching the file without changing it applies nothing.
	now := time.Now()
	os.Chtimes(f.file, now, now)
	f.write(watchV2)
	f.noApply(150 * time.Millisecond)
}

func TestWatchKeepsRunningSnapshotOnInvalidFile(t *testing.T) {
	f := startWatch(t, watchV1, nil)
	first := f.w.Current()

	f.write(watchV1 + "targets:\n  - name: t\n    upstrem: {}\n")
	f.waitLog("config reload failed")
	f.noApply(100 * time.Millisecond)
	if f.w.Current() != first {
		t.Error("running snapshot replaced by an invalid file")
	}
	logs := f.logs.String()
	if !strings.Contains(logs, "targets[0].upstrem: unknown key") || !strings.Contains(logs, "targets[0].protocol: missing") {
		t.Errorf("log does not say why:\n%s", logs)
	}
	if got := f.reloads("error"); got != 1 {
		t.Errorf("error reloads = %v, want 1", got)
	}
	// Reload reports the same error without trying again.
	if err := f.w.Reload(); err == nil || !strings.Contains(err.Error(), "unknown key") {
		t.Errorf("Reload() = %v", err)
	}
	if got := f.reloads("error"); got != 1 {
		t.Errorf("error reloads after Reload = %v, want still 1", got)
	}

	// Fixing the file applies it.
	f.write(watchV2)
	if a := f.waitApplied(); a.old != first || a.new.Log().Level != "debug" {
		t.Errorf("applied %v -> %v", a.old, a.new)
	}
}

func TestWatchRenameReplace(t *testing.T) {
	f := startWatch(t, watchV1, nil)
	f.replace(watchV2)
	if a := f.waitApplied(); a.new.Log().Level != "debug" {
		t.Errorf("level = %q", a.new.Log().Level)
	}
	// And again: the watch survives the old inode going away.
	f.replace(watchV1)
	if a := f.waitApplied(); a.new.Log().Level != "info" {
		t.Errorf("level = %q", a.new.Log().Level)
	}
}

// Kubernetes mounts a ConfigMap as sluice.yaml -> ..data/sluice.yaml with
// ..data -> ..<timestamp>, and updates it by swapping the ..data symlink.
// No event names sluice.yaml itself.
func TestWatchSymlinkSwap(t *testing.T) {
	dir := t.TempDir()
	mkVersion := func(name, content string) {
		if err := os.Mkdir(filepath.Join(dir, name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name, "sluice.yaml"), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	mkVersion("..v1", watchV1)
	if err := os.Symlink("..v1", filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "sluice.yaml")
	if err := os.Symlink("..data/sluice.yaml", file); err != nil {
		t.Fatal(err)
	}
	cur, err := loadFile(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan *Config, 1)
	w, err := Watch(t.Context(), cur, func(_, n *Config) error { got <- n; return nil },
		WatchOptions{Debounce: 20 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}

	mkVersion("..v2", watchV2)
	if err := os.Symlink("..v2", filepath.Join(dir, "..data_tmp")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	select {
	case n := <-got:
		if n.Log().Level != "debug" {
			t.Errorf("level %q", n.Log().Level)
		}
		for w.Current() != n {
			time.Sleep(time.Millisecond) // until apply has returned
		}
	case <-time.After(5 * time.Second):
		t.Fatal("symlink swap not picked up")
	}
}

func TestWatchApplyRefuses(t *testing.T) {
	f := startWatch(t, watchV1, nil)
	first := f.w.Current()
	f.mu.Lock()
	f.refuse = errors.New("data_dir changed; restart sluice")
	f.mu.Unlock()

	f.write(watchV2)
	f.waitLog("restart sluice")
	if f.w.Current() != first {
		t.Error("refused snapshot became current")
	}
	if got := f.reloads("error"); got != 1 {
		t.Errorf("error reloads = %v", got)
	}
}

func TestWatchSharesTelemetryCounter(t *testing.T) {
	m := telemetry.NewMetrics()
	f := startWatch(t, watchV1, m.Registry)
	f.write(watchV2)
	f.waitApplied()
	f.waitLog("config reloaded")
	var metric dto.Metric
	if err := m.ConfigReloads.WithLabelValues("ok").Write(&metric); err != nil {
		t.Fatal(err)
	}
	if metric.GetCounter().GetValue() != 1 {
		t.Errorf("telemetry's ConfigReloads{ok} = %v, want 1", metric.GetCounter().GetValue())
	}
}

func TestWatchCatchesUpAtStart(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "sluice.yaml")
	os.WriteFile(file, []byte(watchV1), 0o600)
	cur, err := loadFile(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Changed after Load, before Watch.
	os.WriteFile(file, []byte(watchV2), 0o600)
	got := make(chan *Config, 1)
	if _, err := Watch(t.Context(), cur, func(_, n *Config) error { got <- n; return nil },
		WatchOptions{Logger: slog.New(slog.DiscardHandler)}); err != nil {
		t.Fatal(err)
	}
	select {
	case n := <-got:
		if n.Log().Level != "debug" {
			t.Errorf("level %q", n.Log().Level)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("change before Watch not applied")
	}
}

// syncBuffer is the tests' concurrent-safe output sink.
type syncBuffer = syncbuf.Buffer
