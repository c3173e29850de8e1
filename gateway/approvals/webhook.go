package approvals

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// Defaults of WebhookConfig.
const (
	DefaultWebhookTimeout    = 5 * time.Second
	DefaultWebhookAttempts   = 5
	DefaultWebhookBackoff    = time.Second
	DefaultWebhookMaxBackoff = time.Minute
	DefaultWebhookQueue      = 256
	// maxCommandInText keeps a long statement from flooding a chat
	// channel; the full (masked) text is in the "request" field.
	maxCommandInText = 300
)

// WebhookConfig configures the notification of created and decided
// requests.
type WebhookConfig struct {
	// URL receives a POST of a JSON body: "text" (a line for Slack or a
	// compatible chat), "event" (created, approved, denied, expired),
	// "reviewer" and "request" (the request without its analysis).
	URL string
	// Headers are added to every POST (e.g. Authorization).
	Headers map[string]string
	// Timeout bounds one attempt (default 5s).
	Timeout time.Duration
	// Attempts is the number of tries per notification (default 5).
	// Network errors, 429 and 5xx are retried; other statuses are not.
	Attempts int
	// Backoff is the wait before the first retry (default 1s); it doubles
	// after each retry, up to MaxBackoff (default 1m). A 429's
	// Retry-After, in seconds, is honoured up to MaxBackoff.
	Backoff, MaxBackoff time.Duration
	// QueueSize bounds the notifications waiting to be sent (default
	// 256); when full the oldest is dropped.
	QueueSize int
	// Client sends the requests (default: http.Client without redirects).
	Client *http.Client
}

// WebhookStats counts notifications since New.
type WebhookStats struct {
	Queued  int    `json:"queued"`  // waiting now
	Sent    uint64 `json:"sent"`    // delivered (2xx)
	Failed  uint64 `json:"failed"`  // given up after the last attempt or a permanent error
	Retries uint64 `json:"retries"` // attempts after a first failure
	Dropped uint64 `json:"dropped"` // pushed out of a full queue, or left at Close
}

// WebhookStats returns the webhook's counters (zero without a webhook).
func (m *Manager) WebhookStats() WebhookStats {
	n := m.notif
	if n == nil {
		return WebhookStats{}
	}
	n.mu.Lock()
	q := len(n.queue)
	n.mu.Unlock()
	return WebhookStats{Queued: q, Sent: n.sent.Load(), Failed: n.failed.Load(),
		Retries: n.retries.Load(), Dropped: n.dropped.Load()}
}

// notifier posts to the webhook from one goroutine, so notifications
// arrive in order and a slow endpoint costs one connection.
type notifier struct {
	cfg WebhookConfig
	log *slog.Logger

	mu    sync.Mutex
	queue [][]byte // JSON bodies, oldest first
	wake  chan struct{}

	sent, failed, retries, dropped atomic.Uint64

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
}

func newNotifier(cfg WebhookConfig, log *slog.Logger) (*notifier, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("approvals: webhook url: want an absolute http or https URL")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultWebhookTimeout
	}
	if cfg.Attempts <= 0 {
		cfg.Attempts = DefaultWebhookAttempts
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = DefaultWebhookBackoff
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = DefaultWebhookMaxBackoff
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = DefaultWebhookQueue
	}
	if cfg.Client == nil {
		// A webhook that redirects is misconfigured; following it could
		// send the headers (a token) elsewhere.
		cfg.Client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	ctx, cancel := context.WithCancel(context.Background())
	// Log the host only: chat webhooks carry their secret in the path.
	n := &notifier{cfg: cfg, log: log.With("webhook", u.Scheme+"://"+u.Host), wake: make(chan struct{}, 1),
		ctx: ctx, cancel: cancel, done: make(chan struct{})}
	go n.run()
	return n, nil
}

// close stops the sender, abandoning an attempt in flight and the queue.
func (n *notifier) close() {
	if n == nil {
		return
	}
	n.cancel()
	<-n.done
	n.mu.Lock()
	left := len(n.queue)
	n.queue = nil
	n.mu.Unlock()
	if left > 0 {
		n.dropped.Add(uint64(left))
		n.log.Warn("approval notifications not sent at shutdown", "count", left)
	}
}

// webhookBody is the JSON posted.
type webhookBody struct {
	Text     string    `json:"text"`
	Event    EventType `json:"event"`
	Reviewer string    `json:"reviewer,omitempty"`
	Request  *Request  `json:"request"`
}

// enqueue queues a notification; it never blocks on the webhook.
func (n *notifier) enqueue(t EventType, r *Request, reviewer string) {
	if n == nil {
		return
	}
	rc := r.clone()
	rc.Analysis = nil // can be large, and chat does not need it
	body, err := json.Marshal(webhookBody{Text: webhookText(t, rc), Event: t, Reviewer: reviewer, Request: rc})
	if err != nil {
		n.log.Error("approval notification", "id", r.ID, "err", err)
		return
	}
	n.mu.Lock()
	if len(n.queue) >= n.cfg.QueueSize {
		n.queue[0] = nil
		n.queue = n.queue[1:]
		d := n.dropped.Add(1)
		n.log.Warn("approval notification queue full, dropped the oldest", "queue_size", n.cfg.QueueSize, "dropped_total", d)
	}
	n.queue = append(n.queue, body)
	n.mu.Unlock()
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

func (n *notifier) run() {
	defer close(n.done)
	for {
		n.mu.Lock()
		for len(n.queue) == 0 {
			n.mu.Unlock()
			select {
			case <-n.wake:
			case <-n.ctx.Done():
				return
			}
			n.mu.Lock()
		}
		body := n.queue[0]
		n.queue[0] = nil
		n.queue = n.queue[1:]
		n.mu.Unlock()
		n.deliver(body)
		if n.ctx.Err() != nil {
			return
		}
	}
}

// deliver posts one body with retries.
func (n *notifier) deliver(body []byte) {
	backoff := n.cfg.Backoff
	var lastErr error
	attempt := 1
	for ; attempt <= n.cfg.Attempts; attempt++ {
		if attempt > 1 {
			n.retries.Add(1)
		}
		wait, err := n.post(body)
		if err == nil {
			n.sent.Add(1)
			return
		}
		if n.ctx.Err() != nil { // Close cut it short: not the webhook's failure
			n.dropped.Add(1)
			return
		}
		lastErr = err
		var perm permanentError
		if errors.As(err, &perm) || attempt == n.cfg.Attempts {
			break
		}
		wait = max(wait, backoff)
		backoff = min(2*backoff, n.cfg.MaxBackoff)
		t := time.NewTimer(min(wait, n.cfg.MaxBackoff))
		select {
		case <-t.C:
		case <-n.ctx.Done():
			t.Stop()
			n.dropped.Add(1)
			return
		}
	}
	n.log.Warn("approval notification failed", "attempts", min(attempt, n.cfg.Attempts), "err", lastErr)
	n.failed.Add(1) // after the log line, so a reader of the counter finds it
}

type permanentError struct{ error }

// post makes one attempt. On a retryable failure it may return how long
// the server asked to wait.
func (n *notifier) post(body []byte) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(n.ctx, n.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return 0, permanentError{err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "sluice-approvals")
	for k, v := range n.cfg.Headers {
		req.Header.Set(k, v)
	}
	resp, err := n.cfg.Client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) { // without the URL and its secret path
			err = fmt.Errorf("%s: %w", ue.Op, ue.Err)
		}
		return 0, err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	resp.Body.Close()
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return 0, nil
	case resp.StatusCode == http.StatusTooManyRequests:
		var wait time.Duration
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
			wait = time.Duration(s) * time.Second
		}
		return wait, fmt.Errorf("status %s", resp.Status)
	case resp.StatusCode >= 500:
		return 0, fmt.Errorf("status %s", resp.Status)
	default:
		return 0, permanentError{fmt.Errorf("status %s (not retried)", resp.Status)}
	}
}

// webhookText is the chat line. Slack's mrkdwn needs &, < and > escaped
// (api.slack.com/reference/surfaces/formatting#escaping).
func webhookText(t EventType, r *Request) string {
	var b strings.Builder
	who := fmt.Sprintf("*%s* on *%s*", r.Identity, r.Target)
	switch t {
	case EventCreated:
		cmd := r.Command
		if len(cmd) > maxCommandInText {
			i := maxCommandInText
			for i > 0 && !utf8.RuneStart(cmd[i]) {
				i--
			}
			cmd = cmd[:i] + "…"
		}
		fmt.Fprintf(&b, "Approval needed: %s wants to run `%s`", who, strings.ReplaceAll(cmd, "`", "'"))
		if r.Reason != "" {
			fmt.Fprintf(&b, " (%s)", r.Reason)
		}
		fmt.Fprintf(&b, ". Request %s expires %s", r.ID, r.Expires.UTC().Format("2006-01-02 15:04:05 UTC"))
		if r.Required > 1 {
			fmt.Fprintf(&b, ", needs %d approvals", r.Required)
		}
		b.WriteString(".")
	case EventApproved:
		o := outcomeOf(r)
		fmt.Fprintf(&b, "Approved by %s: request %s of %s", strings.Join(o.Reviewers, ", "), r.ID, who)
		if g := r.Grant; g != nil && !g.Once {
			fmt.Fprintf(&b, ", statement allowed until %s", g.Expires.UTC().Format("2006-01-02 15:04:05 UTC"))
		}
		b.WriteString(".")
	case EventDenied:
		o := outcomeOf(r)
		fmt.Fprintf(&b, "Denied by %s: request %s of %s", strings.Join(o.Reviewers, ", "), r.ID, who)
		if o.Reason != "" {
			fmt.Fprintf(&b, " (%s)", o.Reason)
		}
		b.WriteString(".")
	case EventExpired:
		fmt.Fprintf(&b, "Expired: request %s of %s, %s.", r.ID, who, outcomeOf(r).Reason)
	}
	return slackEscaper.Replace(b.String())
}

var slackEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")
