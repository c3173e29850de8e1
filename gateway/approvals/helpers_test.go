package approvals

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/sluicegw/sluice/gateway/internal/syncbuf"
	"github.com/sluicegw/sluice/gateway/store"
)

// fakeClock is a manual clock: timers fire (each in its own goroutine,
// as time.AfterFunc does) only when Advance passes their time.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	at      time.Time
	f       func()
	stopped bool
}

func newClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) func() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{at: c.now.Add(d), f: f}
	if d <= 0 {
		go f()
		return func() bool { return false }
	}
	c.timers = append(c.timers, t)
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		was := !t.stopped
		t.stopped = true
		return was
	}
}

// Advance moves the clock and starts the functions of the timers due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due []func()
	keep := c.timers[:0]
	for _, t := range c.timers {
		switch {
		case t.stopped:
		case !t.at.After(c.now):
			t.stopped = true
			due = append(due, t.f)
		default:
			keep = append(keep, t)
		}
	}
	c.timers = keep
	c.mu.Unlock()
	for _, f := range due {
		go f()
	}
}

// openStore opens a store on an in-memory filesystem that outlives it,
// so a test can reopen it ("restart").
func openStore(t *testing.T, fs vfs.FS, clock *fakeClock) *store.Store {
	t.Helper()
	if fs == nil {
		fs = vfs.NewMem()
	}
	opts := store.Options{FS: fs, MinFreeBytes: -1}
	if clock != nil {
		opts.Now = clock.Now
	}
	s, err := store.Open("db", opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func newManager(t *testing.T, s *store.Store, clock *fakeClock, tweak func(*Options)) *Manager {
	t.Helper()
	opts := Options{Store: s, Now: clock.Now, AfterFunc: clock.AfterFunc, Logger: testLogger(t, nil)}
	if tweak != nil {
		tweak(&opts)
	}
	m, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

var (
	alice = Reviewer{Name: "alice", Human: true, Roles: []string{"reviewer"}}
	bob   = Reviewer{Name: "bob", Human: true, Roles: []string{"admin", "reviewer"}}
	carol = Reviewer{Name: "carol", Human: true, Roles: []string{"reviewer"}}
)

func sqlRequest(session, identity, text string) NewRequest {
	return NewRequest{
		Session: session, Identity: identity, Target: "prod-db", Command: text,
		Analysis: json.RawMessage(`{"kind":"alter","tables":["t"]}`), Reason: "schema change", Plugin: "ddl-guard",
		Fingerprint: "fp-" + text,
	}
}

// recorder is a Recorder that keeps what it is given, and can fail.
type recorder struct {
	mu     sync.Mutex
	kinds  []store.Kind
	datas  [][]byte
	failAt int // fail the nth call (1-based); 0: never
}

func (r *recorder) Durable(kind store.Kind, data []byte) (uint64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failAt > 0 && len(r.kinds)+1 == r.failAt {
		r.failAt = 0
		return 0, errors.New("disk on fire")
	}
	r.kinds = append(r.kinds, kind)
	r.datas = append(r.datas, append([]byte(nil), data...))
	return uint64(len(r.kinds)), nil
}

func (r *recorder) decisions(t *testing.T) []decisionEvent {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []decisionEvent
	for i, k := range r.kinds {
		if k == store.KindApprovalDecision {
			var d decisionEvent
			if err := json.Unmarshal(r.datas[i], &d); err != nil {
				t.Fatal(err)
			}
			out = append(out, d)
		}
	}
	return out
}

// waitAsync starts a Wait and returns where its result will arrive.
func waitAsync(m *Manager, id string) <-chan waitResult {
	ch := make(chan waitResult, 1)
	go func() {
		out, err := m.Wait(context.Background(), id)
		ch <- waitResult{out, err}
	}()
	return ch
}

type waitResult struct {
	out Outcome
	err error
}

// within is the generous bound for something that must happen; tests
// never assert how long it took.
const within = 20 * time.Second

func recv[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(within):
		t.Fatal("timed out")
		panic("unreachable")
	}
}

// testLogger logs to the test's log, and to also if not nil.
func testLogger(t *testing.T, also io.Writer) *slog.Logger {
	w := io.Writer(tlogWriter{t})
	if also != nil {
		w = io.MultiWriter(w, also)
	}
	return slog.New(slog.NewTextHandler(w, nil))
}

type tlogWriter struct{ t *testing.T }

func (w tlogWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// syncBuffer is the tests' concurrent-safe output sink.
type syncBuffer = syncbuf.Buffer
