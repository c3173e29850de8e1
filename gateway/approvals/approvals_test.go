package approvals

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
)

func TestApproveReleasesWait(t *testing.T) {
	clock := newClock()
	m := newManager(t, openStore(t, nil, clock), clock, nil)
	rec := &recorder{}
	req, err := m.Request(context.Background(), sqlRequest("s1", "ci-deploy", "ALTER TABLE t ADD c int"), rec)
	if err != nil {
		t.Fatal(err)
	}
	if req.State != Pending || req.Required != 1 || req.Expires != clock.Now().Add(DefaultExpiry) {
		t.Fatalf("request: %+v", req)
	}
	res := waitAsync(m, req.ID)
	got, err := m.Approve(req.ID, alice, "looks fine", GrantSpec{})
	if err != nil {
		t.Fatal(err)
	}
	if got.State != Approved || got.Grant == nil || !got.Grant.Once || len(got.Votes) != 1 {
		t.Fatalf("approved: %+v", got)
	}
	r := recv(t, res)
	if r.err != nil || !r.out.Approved || r.out.State != Approved || r.out.Reason != "looks fine" ||
		len(r.out.Reviewers) != 1 || r.out.Reviewers[0] != "alice" || r.out.Grant == nil || !r.out.Grant.Once {
		t.Fatalf("outcome: %+v, %v", r.out, r.err)
	}
	// The once grant was the held command's: no second run, no grant for a retry.
	if _, err := m.Wait(context.Background(), req.ID); !errors.Is(err, ErrAlreadyDecided) {
		t.Fatalf("second Wait: %v", err)
	}
	if _, ok := m.Granted("ci-deploy", "prod-db", req.Fingerprint); ok {
		t.Fatal("a once grant is not a window grant")
	}
	if _, err := m.Deny(req.ID, bob, "too late"); !errors.Is(err, ErrAlreadyDecided) {
		t.Fatalf("deny after approve: %v", err)
	}
	// Persisted and recorded.
	stored, err := m.Get(req.ID)
	if err != nil || stored.State != Approved {
		t.Fatalf("Get: %+v %v", stored, err)
	}
	ds := rec.decisions(t)
	if len(rec.kinds) != 2 || len(ds) != 1 || ds[0].Vote != "approve" || ds[0].Reviewer != "alice" || !ds[0].Final || ds[0].State != Approved {
		t.Fatalf("session events: %v %+v", rec.kinds, ds)
	}
}

func TestDecisionRules(t *testing.T) {
	clock := newClock()
	m := newManager(t, openStore(t, nil, clock), clock, func(o *Options) { o.Required = 2 })
	ctx := context.Background()
	req, err := m.Request(ctx, sqlRequest("s1", "alice", "DROP INDEX i"), nil)
	if err != nil {
		t.Fatal(err)
	}
	svc := Reviewer{Name: "ci-bot", Human: false, Roles: []string{"reviewer"}}
	noRole := Reviewer{Name: "dave", Human: true, Roles: []string{"admin"}}
	anonymous := Reviewer{Human: true, Roles: []string{"reviewer"}}
	for _, r := range []Reviewer{svc, noRole, anonymous} {
		if _, err := m.Approve(req.ID, r, "", GrantSpec{}); !errors.Is(err, ErrNotReviewer) {
			t.Errorf("approve by %s: %v", r.Name, err)
		}
		if _, err := m.Deny(req.ID, r, ""); !errors.Is(err, ErrNotReviewer) {
			t.Errorf("deny by %s: %v", r.Name, err)
		}
	}
	if _, err := m.Approve(req.ID, alice, "mine", GrantSpec{}); !errors.Is(err, ErrSelfApproval) {
		t.Errorf("self approval: %v", err)
	}
	if _, err := m.Approve("nope", bob, "", GrantSpec{}); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown id: %v", err)
	}
	if _, err := m.Get("nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get unknown: %v", err)
	}
	if _, err := m.Wait(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Wait unknown: %v", err)
	}
	// Distinct approvals: bob twice is one.
	r1, err := m.Approve(req.ID, bob, "ok", GrantSpec{})
	if err != nil || r1.State != Pending || r1.Approvals() != 1 {
		t.Fatalf("first approval: %+v %v", r1, err)
	}
	if _, err := m.Approve(req.ID, bob, "ok again", GrantSpec{}); !errors.Is(err, ErrAlreadyVoted) {
		t.Errorf("same reviewer twice: %v", err)
	}
	// One deny decides, even after an approval; the requester may deny
	// (withdraw) its own request.
	d, err := m.Deny(req.ID, alice, "withdrawn")
	if err != nil || d.State != Denied {
		t.Fatalf("deny: %+v %v", d, err)
	}
	out, err := m.Wait(ctx, req.ID)
	if err != nil || out.Approved || out.State != Denied || out.Reason != "withdrawn" || out.Reviewers[0] != "alice" {
		t.Fatalf("outcome: %+v %v", out, err)
	}
	if _, err := m.Approve(req.ID, carol, "", GrantSpec{}); !errors.Is(err, ErrAlreadyDecided) {
		t.Errorf("approve after deny: %v", err)
	}

	// Expired: the clock decides even before the timer runs.
	req2, err := m.Request(ctx, sqlRequest("s1", "ci", "DROP INDEX j"), nil)
	if err != nil {
		t.Fatal(err)
	}
	clock.mu.Lock()
	clock.now = clock.now.Add(DefaultExpiry) // no timers fired
	clock.mu.Unlock()
	if _, err := m.Approve(req2.ID, bob, "", GrantSpec{}); !errors.Is(err, ErrExpired) {
		t.Fatalf("approve after expiry: %v", err)
	}
	if _, err := m.Deny(req2.ID, bob, ""); !errors.Is(err, ErrExpired) {
		t.Fatalf("deny after expiry: %v", err)
	}
	if out, err := m.Wait(ctx, req2.ID); err != nil || out.State != Expired || out.Approved {
		t.Fatalf("expired outcome: %+v %v", out, err)
	}
}

func TestRequiredPerTarget(t *testing.T) {
	clock := newClock()
	m := newManager(t, openStore(t, nil, clock), clock, func(o *Options) {
		o.Required = 2
		o.RequiredByTarget = map[string]int{"dev-db": 1}
	})
	ctx := context.Background()
	nr := sqlRequest("s", "ci", "ALTER TABLE t")
	nr.Target = "dev-db"
	dev, _ := m.Request(ctx, nr, nil)
	prod, _ := m.Request(ctx, sqlRequest("s", "ci", "ALTER TABLE t"), nil)
	if dev.Required != 1 || prod.Required != 2 {
		t.Fatalf("required: dev %d prod %d", dev.Required, prod.Required)
	}
	if r, _ := m.Approve(dev.ID, alice, "", GrantSpec{}); r.State != Approved {
		t.Fatalf("dev: %s", r.State)
	}
	if r, _ := m.Approve(prod.ID, alice, "a", GrantSpec{Window: time.Hour}); r.State != Pending {
		t.Fatalf("prod after one: %s", r.State)
	}
	r, err := m.Approve(prod.ID, bob, "b", GrantSpec{Window: 10 * time.Minute})
	if err != nil || r.State != Approved {
		t.Fatalf("prod after two: %+v %v", r, err)
	}
	// The narrowest window of the approvers.
	if g := r.Grant; g == nil || g.Once || !g.Expires.Equal(clock.Now().Add(10*time.Minute)) || len(g.Reviewers) != 2 {
		t.Fatalf("grant: %+v", r.Grant)
	}
	if _, err := New(Options{Store: m.opts.Store, RequiredByTarget: map[string]int{"x": 0}}); err == nil {
		t.Fatal("zero required approvals accepted")
	}
}

func TestWindowGrant(t *testing.T) {
	clock := newClock()
	m := newManager(t, openStore(t, nil, clock), clock, func(o *Options) { o.MaxGrant = 2 * time.Hour })
	ctx := context.Background()
	nr := sqlRequest("s1", "ci-deploy", "UPDATE accounts SET x = 1 WHERE id = 7")
	req, _ := m.Request(ctx, nr, nil)
	if _, err := m.Approve(req.ID, alice, "", GrantSpec{Window: 3 * time.Hour}); !errors.Is(err, ErrGrant) {
		t.Fatalf("window above max: %v", err)
	}
	if _, err := m.Approve(req.ID, alice, "", GrantSpec{Window: -time.Second}); !errors.Is(err, ErrGrant) {
		t.Fatalf("negative window: %v", err)
	}
	res := waitAsync(m, req.ID)
	if _, err := m.Approve(req.ID, alice, "retries ok", GrantSpec{Window: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if r := recv(t, res); r.err != nil || !r.out.Approved || r.out.Grant.Once {
		t.Fatalf("outcome %+v %v", r.out, r.err)
	}
	g, ok := m.Granted("ci-deploy", "prod-db", nr.Fingerprint)
	if !ok || g.Request != req.ID || !g.Expires.Equal(clock.Now().Add(time.Hour)) || g.Reviewers[0] != "alice" {
		t.Fatalf("Granted: %+v %v", g, ok)
	}
	for _, q := range [][3]string{
		{"other-job", "prod-db", nr.Fingerprint},
		{"ci-deploy", "other-db", nr.Fingerprint},
		{"ci-deploy", "prod-db", "fp-other"},
		{"ci-deploy", "prod-db", ""},
	} {
		if _, ok := m.Granted(q[0], q[1], q[2]); ok {
			t.Errorf("Granted(%q) should be false", q)
		}
	}
	clock.Advance(time.Hour)
	if _, ok := m.Granted("ci-deploy", "prod-db", nr.Fingerprint); ok {
		t.Fatal("grant outlived its window")
	}

	// No fingerprint: once only. MaxGrant < 0: once only.
	nr2 := sqlRequest("s1", "ci-deploy", "x")
	nr2.Fingerprint = ""
	req2, _ := m.Request(ctx, nr2, nil)
	if _, err := m.Approve(req2.ID, alice, "", GrantSpec{Window: time.Minute}); !errors.Is(err, ErrGrant) {
		t.Fatalf("window without fingerprint: %v", err)
	}
	m2 := newManager(t, openStore(t, nil, clock), clock, func(o *Options) { o.MaxGrant = -1 })
	req3, _ := m2.Request(ctx, nr, nil)
	if _, err := m2.Approve(req3.ID, alice, "", GrantSpec{Window: time.Minute}); !errors.Is(err, ErrGrant) {
		t.Fatalf("window with grants off: %v", err)
	}
}

func TestExpiryByTimer(t *testing.T) {
	clock := newClock()
	m := newManager(t, openStore(t, nil, clock), clock, nil)
	rec := &recorder{}
	nr := sqlRequest("s1", "ci", "TRUNCATE t")
	nr.Expiry = time.Minute
	req, _ := m.Request(context.Background(), nr, rec)
	if !req.Expires.Equal(clock.Now().Add(time.Minute)) {
		t.Fatalf("expires %s", req.Expires)
	}
	res := waitAsync(m, req.ID)
	clock.Advance(59 * time.Second)
	if r, _ := m.Get(req.ID); r.State != Pending {
		t.Fatalf("expired early: %s", r.State)
	}
	clock.Advance(time.Second)
	r := recv(t, res)
	if r.err != nil || r.out.State != Expired || r.out.Approved || r.out.Reason != "no decision within 1m0s" {
		t.Fatalf("outcome %+v %v", r.out, r.err)
	}
	ds := rec.decisions(t)
	if len(ds) != 1 || ds[0].Vote != "expire" || ds[0].State != Expired || !ds[0].Final {
		t.Fatalf("decisions %+v", ds)
	}
}

func TestWaitContextAndClose(t *testing.T) {
	clock := newClock()
	m := newManager(t, openStore(t, nil, clock), clock, nil)
	req, _ := m.Request(context.Background(), sqlRequest("s1", "ci", "ALTER"), nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := m.Wait(ctx, req.ID); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Wait: %v", err)
	}
	// The client left; the request is still there for reviewers.
	if r, _ := m.Get(req.ID); r.State != Pending {
		t.Fatalf("state %s", r.State)
	}
	res := waitAsync(m, req.ID)
	m.Close()
	if r := recv(t, res); !errors.Is(r.err, ErrClosed) {
		t.Fatalf("Wait at Close: %v", r.err)
	}
	if _, err := m.Approve(req.ID, alice, "", GrantSpec{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Approve after Close: %v", err)
	}
	if _, err := m.Request(context.Background(), sqlRequest("s1", "ci", "ALTER"), nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("Request after Close: %v", err)
	}
}

func TestRecorderFailure(t *testing.T) {
	clock := newClock()
	m := newManager(t, openStore(t, nil, clock), clock, nil)
	ctx := context.Background()
	// The session cannot record the request: no request.
	if _, err := m.Request(ctx, sqlRequest("s1", "ci", "ALTER"), &recorder{failAt: 1}); err == nil {
		t.Fatal("request not recorded in the session, but created")
	}
	if l, _ := m.List(Filter{}); len(l) != 0 {
		t.Fatalf("listed %d", len(l))
	}
	// The session cannot record the decision: the decision stands, the
	// command does not run.
	req, err := m.Request(ctx, sqlRequest("s1", "ci", "ALTER"), &recorder{failAt: 2})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Approve(req.ID, alice, "", GrantSpec{}); err != nil {
		t.Fatal(err)
	}
	out, err := m.Wait(ctx, req.ID)
	if err == nil || out.State != Approved {
		t.Fatalf("Wait: %+v %v", out, err)
	}
}

func TestListAndGet(t *testing.T) {
	clock := newClock()
	m := newManager(t, openStore(t, nil, clock), clock, nil)
	ctx := context.Background()
	var ids []string
	for i, who := range []string{"ci-a", "ci-b", "ci-a"} {
		nr := sqlRequest("s", who, "ALTER")
		if i == 2 {
			nr.Target = "dev-db"
		}
		r, err := m.Request(ctx, nr, nil)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
		clock.Advance(time.Second)
	}
	m.Deny(ids[1], alice, "no")
	all, err := m.List(Filter{})
	if err != nil || len(all) != 3 || all[0].ID != ids[2] || all[2].ID != ids[0] {
		t.Fatalf("List: %v %v", all, err)
	}
	for f, want := range map[Filter][]string{
		{State: Pending}:                      {ids[2], ids[0]},
		{State: Denied}:                       {ids[1]},
		{Identity: "ci-a"}:                    {ids[2], ids[0]},
		{Target: "dev-db"}:                    {ids[2]},
		{Identity: "ci-a", Target: "prod-db"}: {ids[0]},
		{Limit: 1}:                            {ids[2]},
		{State: Expired}:                      nil,
	} {
		got, err := m.List(f)
		if err != nil {
			t.Fatal(err)
		}
		var gotIDs []string
		for _, r := range got {
			gotIDs = append(gotIDs, r.ID)
		}
		if len(gotIDs) != len(want) {
			t.Errorf("List(%+v) = %v, want %v", f, gotIDs, want)
			continue
		}
		for i := range want {
			if gotIDs[i] != want[i] {
				t.Errorf("List(%+v) = %v, want %v", f, gotIDs, want)
			}
		}
	}
	// Returned requests are copies.
	r, _ := m.Get(ids[0])
	r.State = Approved
	r.Analysis[0] = 'X'
	if again, _ := m.Get(ids[0]); again.State != Pending || again.Analysis[0] != '{' {
		t.Fatal("Get returned shared state")
	}
}

func TestRestart(t *testing.T) {
	clock := newClock()
	fs := vfs.NewMem()
	s := openStore(t, fs, clock)
	m := newManager(t, s, clock, nil)
	ctx := context.Background()
	short := sqlRequest("s1", "ci", "ALTER a")
	short.Expiry = time.Minute
	rShort, _ := m.Request(ctx, short, nil)
	rLong, _ := m.Request(ctx, sqlRequest("s1", "ci", "ALTER b"), nil)
	rGrant, _ := m.Request(ctx, sqlRequest("s1", "ci", "ALTER c"), nil)
	if _, err := m.Approve(rGrant.ID, alice, "", GrantSpec{Window: 30 * time.Minute}); err != nil {
		t.Fatal(err)
	}
	m.Close()
	s.Close()

	clock.Advance(2 * time.Minute) // down for two minutes
	s2 := openStore(t, fs, clock)
	m2 := newManager(t, s2, clock, nil)
	// The short one expired while we were down; it is expired at start.
	got, err := m2.Get(rShort.ID)
	if err != nil || got.State != Expired {
		t.Fatalf("short: %+v %v", got, err)
	}
	if out, err := m2.Wait(ctx, rShort.ID); err != nil || out.State != Expired {
		t.Fatalf("short Wait: %+v %v", out, err)
	}
	// The long one is pending, can be decided, and still expires on time.
	if got, _ := m2.Get(rLong.ID); got.State != Pending {
		t.Fatalf("long: %s", got.State)
	}
	if l, _ := m2.List(Filter{State: Pending}); len(l) != 1 || l[0].ID != rLong.ID {
		t.Fatalf("pending after restart: %v", l)
	}
	res := waitAsync(m2, rLong.ID)
	clock.Advance(DefaultExpiry)
	if r := recv(t, res); r.err != nil || r.out.State != Expired {
		t.Fatalf("long outcome: %+v %v", r.out, r.err)
	}
	// The window grant survived.
	if g, ok := m2.Granted("ci", "prod-db", "fp-ALTER c"); !ok || g.Request != rGrant.ID {
		t.Fatalf("grant after restart: %+v %v", g, ok)
	}
}
