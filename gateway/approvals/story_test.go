package approvals

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/sluicegw/sluice/gateway/store"
)

// engine is what a protocol engine does with a command, minus the
// protocol: record it, consult a grant, hold it for approval, run it or
// refuse it.
type engine struct {
	m       *Manager
	session *store.Session
	info    store.SessionInfo
}

func (e *engine) exec(ctx context.Context, text, verdict string) error {
	fp := "fp:" + text
	rec := func(kind store.Kind, v any) {
		data, _ := json.Marshal(v)
		if _, err := e.session.Durable(kind, data); err != nil {
			panic(err)
		}
	}
	rec(store.KindCommand, map[string]string{"text": text, "verdict": verdict})
	if verdict == "require_approval" {
		if g, ok := e.m.Granted(e.info.Identity, e.info.Target, fp); ok {
			rec(store.KindOutput, map[string]string{"ran": text, "grant": g.Request})
			return nil
		}
		req, err := e.m.Request(ctx, NewRequest{
			Session: e.info.ID, Identity: e.info.Identity, Target: e.info.Target, Command: text,
			Analysis: json.RawMessage(`{"kind":"ddl"}`), Reason: "ddl needs a human", Plugin: "ddl-guard",
			Fingerprint: fp, Expiry: 10 * time.Minute,
		}, e.session)
		if err != nil {
			return err
		}
		out, err := e.m.Wait(ctx, req.ID)
		if err != nil {
			return err
		}
		if !out.Approved {
			err := fmt.Errorf("%s: %s", out.State, out.Reason)
			rec(store.KindError, map[string]string{"error": err.Error()})
			return err
		}
	}
	rec(store.KindOutput, map[string]string{"ran": text})
	return nil
}

// TestStory plays an engine's session through approve (with a window
// grant a retry then uses), deny and expiry, as a reviewer following the
// admin feed would, and checks the session's recording.
func TestStory(t *testing.T) {
	clock := newClock()
	s := openStore(t, nil, clock)
	m := newManager(t, s, clock, nil)
	ctx := context.Background()
	feed := m.Watch(ctx)

	ss, err := s.OpenSession(store.NewSession{Identity: "ci-deploy", Target: "prod-db", Protocol: "postgres", ClientAddr: "10.0.0.7:5432"}, []byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	eng := &engine{m: m, session: ss, info: ss.Info()}
	run := func(text, verdict string) <-chan error {
		ch := make(chan error, 1)
		go func() { ch <- eng.exec(ctx, text, verdict) }()
		return ch
	}
	// created waits for the next request to show up in the feed, as the
	// admin API's long poll would see it.
	created := func() *Request {
		for {
			ev := recv(t, feed)
			if ev.Type == EventCreated {
				return ev.Request
			}
		}
	}

	if err := recv(t, run("SELECT 1", "allow")); err != nil {
		t.Fatal(err)
	}

	// Held, then approved for an hour.
	done := run("ALTER TABLE a ADD c int", "require_approval")
	req1 := created()
	if req1.Session != eng.info.ID || req1.Identity != "ci-deploy" || req1.Command != "ALTER TABLE a ADD c int" {
		t.Fatalf("request %+v", req1)
	}
	select {
	case err := <-done:
		t.Fatalf("command not held: %v", err)
	default:
	}
	if _, err := m.Approve(req1.ID, alice, "planned migration", GrantSpec{Window: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if err := recv(t, done); err != nil {
		t.Fatalf("approved command: %v", err)
	}
	// The job retries: the grant lets it through without a request.
	if err := recv(t, run("ALTER TABLE a ADD c int", "require_approval")); err != nil {
		t.Fatalf("granted retry: %v", err)
	}

	// Denied.
	done = run("DROP TABLE b", "require_approval")
	req2 := created()
	if _, err := m.Deny(req2.ID, bob, "not today"); err != nil {
		t.Fatal(err)
	}
	if err := recv(t, done); err == nil || err.Error() != "denied: not today" {
		t.Fatalf("denied command: %v", err)
	}

	// Nobody answers.
	done = run("TRUNCATE c", "require_approval")
	req3 := created()
	clock.Advance(10 * time.Minute)
	if err := recv(t, done); err == nil || err.Error() != "expired: no decision within 10m0s" {
		t.Fatalf("expired command: %v", err)
	}
	if err := ss.Close("client quit"); err != nil {
		t.Fatal(err)
	}

	type step struct {
		kind  store.Kind
		field string // "id", "text" or "ran"
		want  string
	}
	want := []step{
		{store.KindConnect, "", ""},
		{store.KindCommand, "text", "SELECT 1"},
		{store.KindOutput, "ran", "SELECT 1"},
		{store.KindCommand, "text", "ALTER TABLE a ADD c int"},
		{store.KindApprovalRequest, "id", req1.ID},
		{store.KindApprovalDecision, "id", req1.ID},
		{store.KindOutput, "ran", "ALTER TABLE a ADD c int"},
		{store.KindCommand, "text", "ALTER TABLE a ADD c int"},
		{store.KindOutput, "grant", req1.ID},
		{store.KindCommand, "text", "DROP TABLE b"},
		{store.KindApprovalRequest, "id", req2.ID},
		{store.KindApprovalDecision, "id", req2.ID},
		{store.KindError, "", ""},
		{store.KindCommand, "text", "TRUNCATE c"},
		{store.KindApprovalRequest, "id", req3.ID},
		{store.KindApprovalDecision, "id", req3.ID},
		{store.KindError, "", ""},
		{store.KindDisconnect, "", ""},
	}
	var got []store.Event
	if err := s.Events(ss.ID(), 1, func(e store.Event) error { got = append(got, e); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		for _, e := range got {
			t.Logf("%d %s %s", e.Seq, e.Kind, e.Data)
		}
		t.Fatalf("%d events, want %d", len(got), len(want))
	}
	var decisions []decisionEvent
	for i, w := range want {
		e := got[i]
		var fields map[string]any
		if len(e.Data) > 0 {
			if err := json.Unmarshal(e.Data, &fields); err != nil {
				t.Fatal(err)
			}
		}
		if e.Kind != w.kind || (w.field != "" && fields[w.field] != w.want) {
			t.Fatalf("event %d: %s %s, want %s with %s=%q", e.Seq, e.Kind, e.Data, w.kind, w.field, w.want)
		}
		if e.Kind == store.KindApprovalDecision {
			var d decisionEvent
			json.Unmarshal(e.Data, &d)
			decisions = append(decisions, d)
		}
		if e.Kind == store.KindApprovalRequest && (fields["command"] == "" || fields["fingerprint"] == "" || fields["analysis"] == nil) {
			t.Fatalf("request event %s", e.Data)
		}
	}
	if d := decisions[0]; d.State != Approved || d.Reviewer != "alice" || d.Reason != "planned migration" || d.Grant == nil || d.Grant.Once {
		t.Fatalf("approval %+v", d)
	}
	if d := decisions[1]; d.State != Denied || d.Reviewer != "bob" || d.Reason != "not today" || d.Vote != "deny" {
		t.Fatalf("denial %+v", d)
	}
	if d := decisions[2]; d.State != Expired || d.Reviewer != "" || d.Vote != "expire" {
		t.Fatalf("expiry %+v", d)
	}
	v, err := s.Verify(ss.ID())
	if err != nil || !v.OK {
		t.Fatalf("verify %+v %v", v, err)
	}
	info, _ := s.Session(ss.ID())
	if info.Verdicts["require_approval"] != 4 || info.Verdicts["allow"] != 1 {
		t.Fatalf("verdicts %v", info.Verdicts)
	}

	// The admin view agrees.
	for id, st := range map[string]State{req1.ID: Approved, req2.ID: Denied, req3.ID: Expired} {
		r, err := m.Get(id)
		if err != nil || r.State != st {
			t.Fatalf("%s: %+v %v", id, r, err)
		}
	}
	if _, err := m.Approve(req3.ID, alice, "", GrantSpec{}); !errors.Is(err, ErrExpired) {
		t.Fatalf("late approval: %v", err)
	}
}
