package approvals

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sluicegw/sluice/gateway/store"
)

// Errors of Approve, Deny, Wait and Get. They are wrapped with the
// request's ID; test with errors.Is.
var (
	ErrNotFound       = errors.New("approvals: no such request")
	ErrAlreadyDecided = errors.New("approvals: request already decided")
	ErrSelfApproval   = errors.New("approvals: an identity cannot approve its own request")
	ErrNotReviewer    = errors.New("approvals: only a human identity with the reviewer role may decide")
	ErrExpired        = errors.New("approvals: request expired")
	ErrAlreadyVoted   = errors.New("approvals: reviewer already approved this request")
	ErrGrant          = errors.New("approvals: grant not allowed")
	ErrClosed         = errors.New("approvals: manager closed")
)

// Defaults of Options.
const (
	DefaultRequired = 1
	DefaultExpiry   = 15 * time.Minute
	DefaultMaxGrant = time.Hour
	// keepDecided is how long a decided request stays in memory (Get and
	// Wait find it there); after that it is only in the store.
	keepDecided = time.Hour
)

// RoleReviewer is the role a Reviewer needs (config.RoleReviewer).
const RoleReviewer = "reviewer"

// State is where a request stands.
type State string

// States. Pending is the only one that changes.
const (
	Pending  State = "pending"
	Approved State = "approved"
	Denied   State = "denied"
	Expired  State = "expired"
)

// Recorder records an event in the session that holds the command;
// *store.Session satisfies it.
type Recorder interface {
	Durable(kind store.Kind, data []byte) (uint64, error)
}

// Reviewer is the identity that calls Approve or Deny, as the admin API
// authenticated it.
type Reviewer struct {
	Name  string
	Human bool // identities[].kind is human
	Roles []string
}

func (r Reviewer) mayReview() bool {
	return r.Name != "" && r.Human && slices.Contains(r.Roles, RoleReviewer)
}

// NewRequest is what the engine knows when a command needs approval.
// Command must already be masked: it is stored, shown and sent as is.
type NewRequest struct {
	Session     string          // store session ID
	Identity    string          // who runs the command
	Target      string          // where
	Command     string          // masked command text
	Analysis    json.RawMessage // the core's analysis (JSON), may be nil
	Reason      string          // the plugin's reason
	Plugin      string          // the plugin that asked, if known
	Fingerprint string          // statement fingerprint; "" allows only once grants
	// Expiry overrides Options.DefaultExpiry when positive.
	Expiry time.Duration
}

// Vote is one reviewer's approve or deny (or the expiry, with no
// reviewer).
type Vote struct {
	Reviewer string    `json:"reviewer,omitempty"`
	Approve  bool      `json:"approve"`
	Reason   string    `json:"reason,omitempty"`
	Grant    GrantSpec `json:"grant,omitzero"`
	Time     time.Time `json:"time"`
}

// Request is an approval request. Values returned by the Manager are
// copies: changing them changes nothing.
type Request struct {
	ID          string          `json:"id"`
	Session     string          `json:"session,omitempty"`
	Identity    string          `json:"identity"`
	Target      string          `json:"target"`
	Command     string          `json:"command"`
	Analysis    json.RawMessage `json:"analysis,omitempty"`
	Reason      string          `json:"reason,omitempty"`
	Plugin      string          `json:"plugin,omitempty"`
	Fingerprint string          `json:"fingerprint,omitempty"`
	Created     time.Time       `json:"created"`
	Expires     time.Time       `json:"expires"`
	Required    int             `json:"required"` // approvals needed
	State       State           `json:"state"`
	Votes       []Vote          `json:"votes,omitempty"`
	Decided     time.Time       `json:"decided,omitzero"`
	Grant       *Grant          `json:"grant,omitempty"` // when approved
}

// Approvals is the number of approvals so far.
func (r *Request) Approvals() int {
	n := 0
	for _, v := range r.Votes {
		if v.Approve {
			n++
		}
	}
	return n
}

func (r *Request) clone() *Request {
	c := *r
	c.Votes = slices.Clone(r.Votes)
	c.Analysis = slices.Clone(r.Analysis)
	if r.Grant != nil {
		g := r.Grant.clone()
		c.Grant = &g
	}
	return &c
}

// GrantSpec is what an approver grants: the zero value approves the held
// command once; a positive Window approves the identity for the
// statement's fingerprint on the target for that long.
type GrantSpec struct {
	Window time.Duration `json:"window,omitempty"`
}

// Grant is what an approved request allows.
type Grant struct {
	Request     string    `json:"request"`
	Identity    string    `json:"identity"`
	Target      string    `json:"target"`
	Fingerprint string    `json:"fingerprint,omitempty"`
	Once        bool      `json:"once"`
	Expires     time.Time `json:"expires,omitzero"` // window grants
	Reviewers   []string  `json:"reviewers"`
}

func (g Grant) clone() Grant { g.Reviewers = slices.Clone(g.Reviewers); return g }

// Outcome is what Wait tells the engine.
type Outcome struct {
	State     State
	Approved  bool
	Reason    string   // the deciding vote's reason, or why it expired
	Reviewers []string // approvers, or the denier
	Grant     *Grant   // when approved
}

// Options configure New.
type Options struct {
	// Store persists requests. Required.
	Store *store.Store
	// Required is the number of distinct approvals a request needs
	// (default 1).
	Required int
	// RequiredByTarget overrides Required for some targets.
	RequiredByTarget map[string]int
	// MaxGrant bounds a window grant (default 1h; negative: only once
	// grants).
	MaxGrant time.Duration
	// DefaultExpiry is how long a request waits for a decision
	// (default 15m).
	DefaultExpiry time.Duration
	// Webhook, if set, is notified of created and decided requests.
	Webhook *WebhookConfig
	// Now and AfterFunc are the clock (default time.Now and
	// time.AfterFunc); tests pass a fake to expire deterministically.
	// AfterFunc must call f in its own goroutine and return a function
	// that stops the timer.
	Now       func() time.Time
	AfterFunc func(d time.Duration, f func()) (stop func() bool)
	// Logger (default slog.Default()).
	Logger *slog.Logger
}

// Manager holds approval requests. Safe for concurrent use.
type Manager struct {
	opts  Options
	log   *slog.Logger
	hub   hub
	notif *notifier // nil without a webhook

	mu      sync.Mutex
	reqs    map[string]*entry
	grants  map[grantKey]Grant // window grants by identity, target, fingerprint
	closed  bool
	closing chan struct{}
	ops     sync.WaitGroup // operations in flight, for Close
}

// entry is a request in memory.
type entry struct {
	// mu serializes the changes of one request, across its store write
	// and session event, so that exactly one final decision is made and
	// votes are recorded in order.
	mu sync.Mutex

	// Guarded by Manager.mu:
	req      *Request // current state; replaced, never modified
	stop     func() bool
	consumed bool // a once grant was handed to a Wait

	rec    Recorder      // nil for requests loaded at start
	done   chan struct{} // closed after the final decision
	recErr error         // recording the final decision failed; set before done closes
}

type grantKey struct{ identity, target, fingerprint string }

// New starts a manager: it loads the pending requests and live window
// grants from the store and expires the requests whose time ran out
// while the gateway was down.
func New(opts Options) (*Manager, error) {
	if opts.Store == nil {
		return nil, errors.New("approvals: Options.Store is required")
	}
	if opts.Required <= 0 {
		opts.Required = DefaultRequired
	}
	opts.RequiredByTarget = maps.Clone(opts.RequiredByTarget) // read without a lock
	for t, n := range opts.RequiredByTarget {
		if n <= 0 {
			return nil, fmt.Errorf("approvals: required approvals for target %q is %d; must be at least 1", t, n)
		}
	}
	if opts.MaxGrant == 0 {
		opts.MaxGrant = DefaultMaxGrant
	}
	if opts.DefaultExpiry <= 0 {
		opts.DefaultExpiry = DefaultExpiry
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.AfterFunc == nil {
		opts.AfterFunc = func(d time.Duration, f func()) func() bool { return time.AfterFunc(d, f).Stop }
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	m := &Manager{opts: opts, log: opts.Logger.With("component", "approvals"),
		reqs: map[string]*entry{}, grants: map[grantKey]Grant{}, closing: make(chan struct{})}
	m.hub.init()
	if opts.Webhook != nil {
		n, err := newNotifier(*opts.Webhook, m.log)
		if err != nil {
			return nil, err
		}
		m.notif = n
	}
	var loaded []*Request
	err := opts.Store.Approvals(func(id string, v []byte) error {
		var r Request
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("approvals: request %s in the store: %w", id, err)
		}
		loaded = append(loaded, &r)
		return nil
	})
	if err != nil {
		m.notif.close()
		return nil, err
	}
	now := m.opts.Now()
	var due []string
	m.mu.Lock()
	for _, r := range loaded {
		switch {
		case r.State == Pending:
			e := &entry{req: r, done: make(chan struct{})}
			m.reqs[r.ID] = e
			if now.Before(r.Expires) {
				m.armLocked(e, r.Expires.Sub(now))
			} else {
				due = append(due, r.ID)
			}
		case r.State == Approved && r.Grant != nil && !r.Grant.Once && now.Before(r.Grant.Expires):
			m.addGrantLocked(*r.Grant)
		}
	}
	m.mu.Unlock()
	for _, id := range due {
		m.expire(id)
	}
	return m, nil
}

// Close stops the timers and the webhook and waits for operations in
// flight. Pending requests stay pending in the store; Wait returns
// ErrClosed.
func (m *Manager) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	for _, e := range m.reqs {
		if e.stop != nil {
			e.stop()
		}
	}
	close(m.closing)
	m.mu.Unlock()
	m.ops.Wait()
	m.notif.close()
	return nil
}

// begin registers an operation, refused after Close; call m.ops.Done().
func (m *Manager) begin() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	m.ops.Add(1)
	return nil
}

// RequiredFor is the number of approvals a request on target needs.
func (m *Manager) RequiredFor(target string) int {
	if n, ok := m.opts.RequiredByTarget[target]; ok {
		return n
	}
	return m.opts.Required
}

// Request creates a request and records it in the session (rec may be
// nil). It returns once the request is in the store and the session; the
// engine then calls Wait.
func (m *Manager) Request(ctx context.Context, nr NewRequest, rec Recorder) (*Request, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if nr.Identity == "" || nr.Target == "" {
		return nil, errors.New("approvals: a request needs an identity and a target")
	}
	if err := m.begin(); err != nil {
		return nil, err
	}
	defer m.ops.Done()
	now := m.opts.Now().UTC()
	expiry := nr.Expiry
	if expiry <= 0 {
		expiry = m.opts.DefaultExpiry
	}
	r := &Request{
		ID: store.NewID(now).String(), Session: nr.Session, Identity: nr.Identity, Target: nr.Target,
		Command: nr.Command, Analysis: slices.Clone(nr.Analysis), Reason: nr.Reason, Plugin: nr.Plugin,
		Fingerprint: nr.Fingerprint, Created: now, Expires: now.Add(expiry),
		Required: m.RequiredFor(nr.Target), State: Pending,
	}
	// The session first: a request the audit trail does not show must not
	// exist for reviewers either.
	if rec != nil {
		data, err := json.Marshal(requestEvent{ID: r.ID, Identity: r.Identity, Target: r.Target,
			Command: r.Command, Analysis: r.Analysis, Reason: r.Reason, Plugin: r.Plugin,
			Fingerprint: r.Fingerprint, Expires: r.Expires, Required: r.Required})
		if err != nil {
			return nil, fmt.Errorf("approvals: request %s: %w", r.ID, err)
		}
		if _, err := rec.Durable(store.KindApprovalRequest, data); err != nil {
			return nil, fmt.Errorf("approvals: recording request %s in session %s: %w", r.ID, r.Session, err)
		}
	}
	if err := m.opts.Store.PutApproval(r.ID, r); err != nil {
		err = fmt.Errorf("approvals: storing request %s: %w", r.ID, err)
		if rec != nil { // close the session's account of it; the engine refuses the command
			data, _ := json.Marshal(decisionEvent{ID: r.ID, State: Denied, Final: true, Vote: "error", Reason: err.Error()})
			rec.Durable(store.KindApprovalDecision, data)
		}
		return nil, err
	}
	e := &entry{req: r, rec: rec, done: make(chan struct{})}
	e.mu.Lock() // "created" goes out before any vote's event
	defer e.mu.Unlock()
	m.mu.Lock()
	m.pruneLocked(now)
	m.reqs[r.ID] = e
	m.armLocked(e, expiry)
	m.mu.Unlock()
	m.hub.publish(Event{Type: EventCreated, Time: now, Request: r.clone()})
	m.notif.enqueue(EventCreated, r, "")
	return r.clone(), nil
}

// armLocked starts the expiry timer of e. Caller holds m.mu, which the
// timer's function takes too, so it cannot run before e is in the map.
func (m *Manager) armLocked(e *entry, d time.Duration) {
	id := e.req.ID
	e.stop = m.opts.AfterFunc(d, func() { m.expire(id) })
}

// pruneLocked forgets decided requests (they stay in the store) and
// expired grants. Caller holds m.mu.
func (m *Manager) pruneLocked(now time.Time) {
	for id, e := range m.reqs {
		if e.req.State != Pending && now.Sub(e.req.Decided) > keepDecided {
			delete(m.reqs, id)
		}
	}
	for k, g := range m.grants {
		if !now.Before(g.Expires) {
			delete(m.grants, k)
		}
	}
}

func (m *Manager) addGrantLocked(g Grant) {
	k := grantKey{g.Identity, g.Target, g.Fingerprint}
	if old, ok := m.grants[k]; !ok || g.Expires.After(old.Expires) {
		m.grants[k] = g.clone()
	}
}

// Granted reports whether a window grant lets identity run a statement
// with fingerprint on target now, without a new request. Once grants are
// never returned: they belong to the held command.
func (m *Manager) Granted(identity, target, fingerprint string) (Grant, bool) {
	if fingerprint == "" {
		return Grant{}, false
	}
	now := m.opts.Now()
	k := grantKey{identity, target, fingerprint}
	m.mu.Lock()
	defer m.mu.Unlock()
	g, ok := m.grants[k]
	if !ok {
		return Grant{}, false
	}
	if !now.Before(g.Expires) {
		delete(m.grants, k)
		return Grant{}, false
	}
	return g.clone(), true
}

// Get returns a request.
func (m *Manager) Get(id string) (*Request, error) {
	m.mu.Lock()
	e, ok := m.reqs[id]
	var r *Request
	if ok {
		r = e.req
	}
	m.mu.Unlock()
	if ok {
		return r.clone(), nil
	}
	var sr Request
	if err := m.opts.Store.Approval(id, &sr); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
		}
		return nil, err
	}
	return &sr, nil
}

// Filter selects requests for List. Zero fields match everything.
type Filter struct {
	State    State
	Identity string
	Target   string
	Limit    int // newest first; 0: no limit
}

// List returns the requests that match f, newest first, from the store
// (every change reaches the store before anyone hears of it).
func (m *Manager) List(f Filter) ([]*Request, error) {
	var all []*Request
	err := m.opts.Store.Approvals(func(id string, v []byte) error {
		var r Request
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("approvals: request %s in the store: %w", id, err)
		}
		if (f.State != "" && r.State != f.State) || (f.Identity != "" && r.Identity != f.Identity) ||
			(f.Target != "" && r.Target != f.Target) {
			return nil
		}
		all = append(all, &r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	// The store's order is by ID, which starts with the creation time in
	// milliseconds; the sort makes it exact (and stable within a tie).
	slices.SortFunc(all, func(a, b *Request) int {
		if c := b.Created.Compare(a.Created); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	if f.Limit > 0 && len(all) > f.Limit {
		all = all[:f.Limit]
	}
	return all, nil
}

// Approve records r's approval of request id. The request is approved
// when it has its required number of distinct approvals; until then it
// stays pending (the returned request shows the votes so far).
func (m *Manager) Approve(id string, r Reviewer, reason string, grant GrantSpec) (*Request, error) {
	if !r.mayReview() {
		return nil, fmt.Errorf("%w: %q", ErrNotReviewer, r.Name)
	}
	if grant.Window < 0 {
		return nil, fmt.Errorf("%w: negative window %s", ErrGrant, grant.Window)
	}
	if grant.Window > 0 && grant.Window > m.opts.MaxGrant {
		if m.opts.MaxGrant < 0 {
			return nil, fmt.Errorf("%w: only once grants are allowed", ErrGrant)
		}
		return nil, fmt.Errorf("%w: window %s exceeds the maximum of %s", ErrGrant, grant.Window, m.opts.MaxGrant)
	}
	return m.vote(id, Vote{Reviewer: r.Name, Approve: true, Reason: reason, Grant: grant})
}

// Deny records r's denial of request id, which decides it.
func (m *Manager) Deny(id string, r Reviewer, reason string) (*Request, error) {
	if !r.mayReview() {
		return nil, fmt.Errorf("%w: %q", ErrNotReviewer, r.Name)
	}
	return m.vote(id, Vote{Reviewer: r.Name, Reason: reason})
}

func (m *Manager) vote(id string, v Vote) (*Request, error) {
	if err := m.begin(); err != nil {
		return nil, err
	}
	defer m.ops.Done()
	e, err := m.lookup(id)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	cur := m.current(e)
	now := m.opts.Now().UTC()
	switch {
	case cur.State == Expired:
		return cur.clone(), fmt.Errorf("%w: %s", ErrExpired, id)
	case cur.State != Pending:
		return cur.clone(), fmt.Errorf("%w: %s is %s", ErrAlreadyDecided, id, cur.State)
	case !now.Before(cur.Expires):
		// The timer has not run yet; the clock decides, not the race.
		if err := m.expireLocked(e, cur, now); err != nil {
			return nil, err
		}
		return m.current(e).clone(), fmt.Errorf("%w: %s", ErrExpired, id)
	case v.Approve && v.Reviewer == cur.Identity:
		return cur.clone(), fmt.Errorf("%w: %q on %s", ErrSelfApproval, v.Reviewer, id)
	case v.Approve && v.Grant.Window > 0 && cur.Fingerprint == "":
		return cur.clone(), fmt.Errorf("%w: request %s has no statement fingerprint, only a once grant is possible", ErrGrant, id)
	}
	if v.Approve && slices.ContainsFunc(cur.Votes, func(o Vote) bool { return o.Approve && o.Reviewer == v.Reviewer }) {
		return cur.clone(), fmt.Errorf("%w: %q on %s", ErrAlreadyVoted, v.Reviewer, id)
	}
	v.Time = now
	next := cur.clone()
	next.Votes = append(next.Votes, v)
	switch {
	case !v.Approve:
		next.State, next.Decided = Denied, now
	case next.Approvals() >= next.Required:
		next.State, next.Decided = Approved, now
		next.Grant = grantOf(next, now)
	}
	if err := m.commit(e, next, v); err != nil {
		return nil, err
	}
	return next.clone(), nil
}

// grantOf is the grant of an approved request: the narrowest any
// approver chose.
func grantOf(r *Request, now time.Time) *Grant {
	g := &Grant{Request: r.ID, Identity: r.Identity, Target: r.Target, Fingerprint: r.Fingerprint}
	var window time.Duration
	for _, v := range r.Votes {
		if !v.Approve {
			continue
		}
		g.Reviewers = append(g.Reviewers, v.Reviewer)
		if v.Grant.Window <= 0 {
			g.Once = true
		} else if window == 0 || v.Grant.Window < window {
			window = v.Grant.Window
		}
	}
	if !g.Once {
		g.Expires = now.Add(window)
	}
	return g
}

func (m *Manager) lookup(id string) (*entry, error) {
	m.mu.Lock()
	e, ok := m.reqs[id]
	m.mu.Unlock()
	if ok {
		return e, nil
	}
	// Decided long ago (pruned) or never existed.
	var r Request
	if err := m.opts.Store.Approval(id, &r); err == nil {
		if r.State == Expired {
			return nil, fmt.Errorf("%w: %s", ErrExpired, id)
		}
		return nil, fmt.Errorf("%w: %s is %s", ErrAlreadyDecided, id, r.State)
	}
	return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
}

func (m *Manager) current(e *entry) *Request {
	m.mu.Lock()
	defer m.mu.Unlock()
	return e.req
}

// expire is the timer's function.
func (m *Manager) expire(id string) {
	if m.begin() != nil {
		return
	}
	defer m.ops.Done()
	m.mu.Lock()
	e, ok := m.reqs[id]
	m.mu.Unlock()
	if !ok {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	cur := m.current(e)
	if cur.State != Pending {
		return
	}
	now := m.opts.Now().UTC()
	if now.Before(cur.Expires) { // the wall clock was set back: wait the rest
		m.mu.Lock()
		if !m.closed {
			m.armLocked(e, cur.Expires.Sub(now))
		}
		m.mu.Unlock()
		return
	}
	if err := m.expireLocked(e, cur, now); err != nil {
		// Pending in the store, expired by the clock: the next vote or
		// restart expires it; retry soon meanwhile.
		m.log.Error("expiring approval request", "id", id, "err", err)
		m.mu.Lock()
		if !m.closed {
			m.armLocked(e, time.Second)
		}
		m.mu.Unlock()
	}
}

// expireLocked expires a pending request. Caller holds e.mu.
func (m *Manager) expireLocked(e *entry, cur *Request, now time.Time) error {
	next := cur.clone()
	next.State, next.Decided = Expired, now
	return m.commit(e, next, Vote{Reason: fmt.Sprintf("no decision within %s", cur.Expires.Sub(cur.Created).Round(time.Second)), Time: now})
}

// commit stores next, publishes it, records the vote in the session and,
// if next is decided, releases the waiter. Caller holds e.mu.
func (m *Manager) commit(e *entry, next *Request, v Vote) error {
	if err := m.opts.Store.PutApproval(next.ID, next); err != nil {
		return fmt.Errorf("approvals: storing request %s: %w", next.ID, err)
	}
	final := next.State != Pending
	m.mu.Lock()
	e.req = next
	if final {
		if e.stop != nil {
			e.stop()
		}
		if next.Grant != nil && !next.Grant.Once {
			m.addGrantLocked(*next.Grant)
		}
	}
	m.mu.Unlock()

	ev := Event{Time: v.Time, Reviewer: v.Reviewer, Final: final, Request: next.clone()}
	switch next.State {
	case Pending, Approved:
		ev.Type = EventApproved
	case Denied:
		ev.Type = EventDenied
	case Expired:
		ev.Type = EventExpired
	}
	var recErr error
	if e.rec != nil {
		d := decisionEvent{ID: next.ID, State: next.State, Final: final, Reviewer: v.Reviewer, Reason: v.Reason,
			Approvals: next.Approvals(), Required: next.Required, Grant: next.Grant}
		switch {
		case next.State == Expired:
			d.Vote = "expire"
		case v.Approve:
			d.Vote = "approve"
		default:
			d.Vote = "deny"
		}
		data, err := json.Marshal(d)
		if err == nil {
			_, err = e.rec.Durable(store.KindApprovalDecision, data)
		}
		if err != nil {
			recErr = fmt.Errorf("approvals: recording the decision on %s in session %s: %w", next.ID, next.Session, err)
			m.log.Warn("approval decision not recorded in its session", "id", next.ID, "session", next.Session, "err", err)
		}
	}
	if final {
		e.recErr = recErr
		close(e.done)
	}
	m.hub.publish(ev)
	if final {
		m.notif.enqueue(ev.Type, next, v.Reviewer)
	}
	return nil
}

// Wait blocks until request id is decided (or expired), ctx ends or the
// manager closes. The engine runs the command only if the error is nil
// and Outcome.Approved. A once grant goes to one Wait only: a second Wait
// on that request gets ErrAlreadyDecided. An error after the decision
// (the decision could not be recorded in the session) comes with the
// Outcome; the command must not run then either.
func (m *Manager) Wait(ctx context.Context, id string) (Outcome, error) {
	m.mu.Lock()
	e, ok := m.reqs[id]
	m.mu.Unlock()
	if !ok {
		// Decided long ago (pruned; its holder is gone) or unknown.
		var err error
		if e, err = m.lookup(id); err != nil {
			return Outcome{}, err
		}
	}
	select {
	case <-e.done:
	case <-ctx.Done():
		return Outcome{}, ctx.Err()
	case <-m.closing:
		return Outcome{}, ErrClosed
	}
	m.mu.Lock()
	r := e.req
	if r.State == Approved && r.Grant != nil && r.Grant.Once {
		if e.consumed {
			m.mu.Unlock()
			return Outcome{}, fmt.Errorf("%w: once grant of %s already used", ErrAlreadyDecided, id)
		}
		e.consumed = true
	}
	m.mu.Unlock()
	out := outcomeOf(r)
	if e.recErr != nil {
		return out, e.recErr
	}
	return out, nil
}

func outcomeOf(r *Request) Outcome {
	out := Outcome{State: r.State, Approved: r.State == Approved}
	if n := len(r.Votes); n > 0 {
		out.Reason = r.Votes[n-1].Reason
	}
	switch r.State {
	case Approved:
		for _, v := range r.Votes {
			if v.Approve {
				out.Reviewers = append(out.Reviewers, v.Reviewer)
			}
		}
		if r.Grant != nil {
			g := r.Grant.clone()
			out.Grant = &g
		}
	case Denied:
		out.Reviewers = []string{r.Votes[len(r.Votes)-1].Reviewer}
	case Expired:
		out.Reason = fmt.Sprintf("no decision within %s", r.Expires.Sub(r.Created).Round(time.Second))
	}
	return out
}

// requestEvent is the data of a KindApprovalRequest session event.
type requestEvent struct {
	ID          string          `json:"id"`
	Identity    string          `json:"identity"`
	Target      string          `json:"target"`
	Command     string          `json:"command"`
	Analysis    json.RawMessage `json:"analysis,omitempty"`
	Reason      string          `json:"reason,omitempty"`
	Plugin      string          `json:"plugin,omitempty"`
	Fingerprint string          `json:"fingerprint,omitempty"`
	Expires     time.Time       `json:"expires"`
	Required    int             `json:"required"`
}

// decisionEvent is the data of a KindApprovalDecision session event: one
// vote, and where it left the request.
type decisionEvent struct {
	ID        string `json:"id"`
	Vote      string `json:"vote"` // approve, deny, expire, error
	Reviewer  string `json:"reviewer,omitempty"`
	Reason    string `json:"reason,omitempty"`
	State     State  `json:"state"`
	Final     bool   `json:"final"`
	Approvals int    `json:"approvals"`
	Required  int    `json:"required"`
	Grant     *Grant `json:"grant,omitempty"`
}
