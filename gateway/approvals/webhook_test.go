package approvals

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// hook is a webhook endpoint that answers each attempt with the next
// status of a script (then 200), and keeps what it received.
type hook struct {
	mu       sync.Mutex
	statuses []int
	attempts int
	bodies   []webhookBody
	headers  []http.Header
	got      chan struct{} // a signal per delivered body
	block    chan struct{} // if set, every attempt waits for it
	arrived  chan struct{} // a signal per attempt that started
}

func newHook(t *testing.T, statuses ...int) (*hook, *httptest.Server) {
	h := &hook{statuses: statuses, got: make(chan struct{}, 100), arrived: make(chan struct{}, 100)}
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return h, ts
}

func (h *hook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.arrived <- struct{}{}
	if h.block != nil {
		<-h.block
	}
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	h.attempts++
	status := http.StatusOK
	if len(h.statuses) > 0 {
		status, h.statuses = h.statuses[0], h.statuses[1:]
	}
	if status == http.StatusOK {
		var b webhookBody
		if err := json.Unmarshal(body, &b); err != nil {
			status = http.StatusBadRequest
		} else {
			h.bodies = append(h.bodies, b)
			h.headers = append(h.headers, r.Header.Clone())
		}
	}
	h.mu.Unlock()
	w.WriteHeader(status)
	if status == http.StatusOK {
		h.got <- struct{}{}
	}
}

func fastWebhook(url string) *WebhookConfig {
	return &WebhookConfig{URL: url, Headers: map[string]string{"Authorization": "Bearer s3cret"},
		Backoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond, Timeout: within}
}

// waitStats polls the counters until cond holds (bounded by within).
func waitStats(t *testing.T, m *Manager, cond func(WebhookStats) bool) WebhookStats {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		st := m.WebhookStats()
		if cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("webhook stats never matched: %+v", st)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestWebhookRetries(t *testing.T) {
	h, ts := newHook(t, http.StatusServiceUnavailable, http.StatusTooManyRequests, http.StatusBadGateway)
	clock := newClock()
	m := newManager(t, openStore(t, nil, clock), clock, func(o *Options) { o.Webhook = fastWebhook(ts.URL) })
	req, err := m.Request(context.Background(), sqlRequest("s1", "ci-deploy", "ALTER TABLE t ADD <x> & y"), nil)
	if err != nil {
		t.Fatal(err)
	}
	recv(t, h.got)
	if _, err := m.Deny(req.ID, alice, "not on a Friday"); err != nil {
		t.Fatal(err)
	}
	recv(t, h.got)
	st := waitStats(t, m, func(s WebhookStats) bool { return s.Sent == 2 })
	if st.Retries != 3 || st.Failed != 0 || st.Dropped != 0 || st.Queued != 0 {
		t.Fatalf("stats %+v", st)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.attempts != 5 || len(h.bodies) != 2 {
		t.Fatalf("attempts %d bodies %d", h.attempts, len(h.bodies))
	}
	c, d := h.bodies[0], h.bodies[1]
	if c.Event != EventCreated || c.Request.ID != req.ID || c.Request.Command != "ALTER TABLE t ADD <x> & y" || c.Request.Analysis != nil {
		t.Fatalf("created body %+v", c)
	}
	if !strings.Contains(c.Text, "Approval needed: *ci-deploy* on *prod-db*") || !strings.Contains(c.Text, "`ALTER TABLE t ADD &lt;x&gt; &amp; y`") {
		t.Fatalf("created text %q", c.Text)
	}
	if d.Event != EventDenied || d.Reviewer != "alice" || d.Request.State != Denied ||
		!strings.Contains(d.Text, "Denied by alice") || !strings.Contains(d.Text, "not on a Friday") {
		t.Fatalf("denied body %+v", d)
	}
	for _, hd := range h.headers {
		if hd.Get("Authorization") != "Bearer s3cret" || hd.Get("Content-Type") != "application/json" {
			t.Fatalf("headers %v", hd)
		}
	}
}

func TestWebhookGivesUp(t *testing.T) {
	// A 4xx is the webhook's configuration, not a hiccup: not retried.
	h, ts := newHook(t, http.StatusNotFound)
	clock := newClock()
	m := newManager(t, openStore(t, nil, clock), clock, func(o *Options) { o.Webhook = fastWebhook(ts.URL) })
	m.Request(context.Background(), sqlRequest("s1", "ci", "ALTER"), nil)
	st := waitStats(t, m, func(s WebhookStats) bool { return s.Failed == 1 })
	if st.Retries != 0 || st.Sent != 0 {
		t.Fatalf("stats %+v", st)
	}
	// 5xx until the attempts run out.
	h2, ts2 := newHook(t, 500, 500, 500, 500)
	cfg := fastWebhook(ts2.URL)
	cfg.Attempts = 3
	m2 := newManager(t, openStore(t, nil, clock), clock, func(o *Options) { o.Webhook = cfg })
	m2.Request(context.Background(), sqlRequest("s1", "ci", "ALTER"), nil)
	st = waitStats(t, m2, func(s WebhookStats) bool { return s.Failed == 1 })
	h.mu.Lock()
	h2.mu.Lock()
	defer h.mu.Unlock()
	defer h2.mu.Unlock()
	if st.Retries != 2 || h.attempts != 1 || h2.attempts != 3 {
		t.Fatalf("stats %+v, attempts %d and %d", st, h.attempts, h2.attempts)
	}
}

// TestWebhookStuck: a webhook that does not answer holds nothing but its
// own queue, which drops the oldest notifications.
func TestWebhookStuck(t *testing.T) {
	h, ts := newHook(t)
	h.block = make(chan struct{})
	clock := newClock()
	cfg := fastWebhook(ts.URL)
	cfg.QueueSize = 2
	var logged syncBuffer
	m := newManager(t, openStore(t, nil, clock), clock, func(o *Options) {
		o.Webhook = cfg
		o.Logger = testLogger(t, &logged)
	})
	ctx := context.Background()
	first, _ := m.Request(ctx, sqlRequest("s1", "ci", "ALTER 0"), nil)
	recv(t, h.arrived) // the sender is stuck on it

	done := make(chan []string)
	go func() {
		var ids []string
		for i := range 4 {
			r, err := m.Request(ctx, sqlRequest("s1", "ci", "ALTER "+string(rune('1'+i))), nil)
			if err != nil {
				t.Error(err)
			}
			ids = append(ids, r.ID)
		}
		done <- ids
	}()
	ids := recv(t, done) // requests were not held by the webhook
	st := m.WebhookStats()
	if st.Dropped != 2 || st.Queued != 2 {
		t.Fatalf("stats %+v", st)
	}
	if n := strings.Count(logged.String(), "queue full, dropped the oldest"); n != 2 {
		t.Fatalf("%d drops logged:\n%s", n, logged.String())
	}
	close(h.block)
	waitStats(t, m, func(s WebhookStats) bool { return s.Sent == 3 })
	h.mu.Lock()
	var got []string
	for _, b := range h.bodies {
		got = append(got, b.Request.ID)
	}
	h.mu.Unlock()
	if want := []string{first.ID, ids[2], ids[3]}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("delivered %v, want the first and the two newest %v", got, want)
	}
}

// TestWebhookClose: Close does not wait for a webhook that hangs.
func TestWebhookClose(t *testing.T) {
	h, ts := newHook(t)
	h.block = make(chan struct{})
	defer close(h.block) // before ts.Close (cleanup), which waits for handlers
	clock := newClock()
	m := newManager(t, openStore(t, nil, clock), clock, func(o *Options) { o.Webhook = fastWebhook(ts.URL) })
	m.Request(context.Background(), sqlRequest("s1", "ci", "ALTER"), nil)
	m.Request(context.Background(), sqlRequest("s1", "ci", "ALTER"), nil)
	recv(t, h.arrived)
	closed := make(chan error)
	go func() { closed <- m.Close() }()
	if err := recv(t, closed); err != nil {
		t.Fatal(err)
	}
	if st := m.WebhookStats(); st.Dropped != 2 || st.Queued != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// TestWebhookSecretNotLogged: a chat webhook's URL path is its secret.
func TestWebhookSecretNotLogged(t *testing.T) {
	ts := httptest.NewServer(http.NotFoundHandler())
	ts.Close() // connection refused
	cfg := fastWebhook(ts.URL + "/services/T0/B0/SECRET")
	cfg.Attempts = 2
	var logged syncBuffer
	clock := newClock()
	m := newManager(t, openStore(t, nil, clock), clock, func(o *Options) {
		o.Webhook = cfg
		o.Logger = testLogger(t, &logged)
	})
	m.Request(context.Background(), sqlRequest("s1", "ci", "ALTER"), nil)
	waitStats(t, m, func(s WebhookStats) bool { return s.Failed == 1 })
	if l := logged.String(); !strings.Contains(l, "approval notification failed") || strings.Contains(l, "SECRET") {
		t.Fatalf("log:\n%s", l)
	}
}

func TestWebhookConfig(t *testing.T) {
	clock := newClock()
	s := openStore(t, nil, clock)
	for _, u := range []string{"", "ftp://x/y", "http://", "::"} {
		if _, err := New(Options{Store: s, Webhook: &WebhookConfig{URL: u}}); err == nil {
			t.Errorf("url %q accepted", u)
		}
	}
}

func TestWebhookText(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	r := &Request{ID: "r1", Identity: "ci", Target: "db", Command: strings.Repeat("é", 200) + "`x`", Reason: "ddl",
		Created: now, Expires: now.Add(15 * time.Minute), Required: 2, State: Pending}
	txt := webhookText(EventCreated, r)
	if !strings.Contains(txt, "…`") || strings.Contains(txt, "\uFFFD") || !strings.Contains(txt, "expires 2026-11-29 12:15:00 UTC, needs 2 approvals.") {
		t.Fatalf("created %q", txt)
	}
	r.State, r.Votes = Approved, []Vote{{Reviewer: "alice", Approve: true}, {Reviewer: "bob", Approve: true}}
	r.Grant = &Grant{Expires: now.Add(time.Hour)}
	if txt := webhookText(EventApproved, r); txt != "Approved by alice, bob: request r1 of *ci* on *db*, statement allowed until 2026-11-29 13:00:00 UTC." {
		t.Fatalf("approved %q", txt)
	}
	r.State, r.Votes, r.Grant = Expired, nil, nil
	if txt := webhookText(EventExpired, r); txt != "Expired: request r1 of *ci* on *db*, no decision within 15m0s." {
		t.Fatalf("expired %q", txt)
	}
}
