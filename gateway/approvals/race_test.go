package approvals

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/sluicegw/sluice/gateway/store"
)

// TestDecisionRace runs approvers, deniers, a waiter and the clock
// against each other on many requests at once, and checks that each
// request got exactly one final decision and that everyone agrees on it:
// the callers, the waiter, the store, the session and the event feed.
func TestDecisionRace(t *testing.T) {
	const requests = 60
	clock := newClock()
	s := openStore(t, nil, clock)
	m := newManager(t, s, clock, func(o *Options) { o.RequiredByTarget = map[string]int{"two": 2} })
	ctx := context.Background()
	feed := m.Watch(ctx)

	approvers := []Reviewer{alice, bob, carol, {Name: "dave", Human: true, Roles: []string{"reviewer"}}}
	deniers := []Reviewer{{Name: "eve", Human: true, Roles: []string{"reviewer"}}, {Name: "frank", Human: true, Roles: []string{"reviewer"}}}

	type call struct {
		approve bool
		req     *Request
		err     error
	}
	type job struct {
		req     *Request
		session *store.Session
		calls   chan call
		wait    <-chan waitResult
	}
	jobs := make([]*job, requests)
	for i := range jobs {
		ss, err := s.OpenSession(store.NewSession{Identity: "ci", Target: "db", Protocol: "postgres"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		nr := sqlRequest(ss.ID().String(), "ci", fmt.Sprintf("ALTER TABLE t%d", i))
		if i%2 == 1 {
			nr.Target = "two"
		}
		// Expiries spread over the clock's run, so some requests expire
		// while reviewers are voting and others are decided first.
		nr.Expiry = time.Duration(10+i*7) * time.Second
		req, err := m.Request(ctx, nr, ss)
		if err != nil {
			t.Fatal(err)
		}
		jobs[i] = &job{req: req, session: ss, calls: make(chan call, len(approvers)+len(deniers))}
	}

	start := make(chan struct{})
	var wg sync.WaitGroup
	for _, j := range jobs {
		j.wait = waitAsync(m, j.req.ID)
		for _, r := range approvers {
			wg.Go(func() {
				<-start
				got, err := m.Approve(j.req.ID, r, "ok", GrantSpec{})
				j.calls <- call{true, got, err}
			})
		}
		for _, r := range deniers {
			wg.Go(func() {
				<-start
				runtime.Gosched()
				got, err := m.Deny(j.req.ID, r, "no")
				j.calls <- call{false, got, err}
			})
		}
	}
	wg.Go(func() {
		<-start
		for range 100 {
			clock.Advance(5 * time.Second)
			runtime.Gosched()
		}
	})
	close(start)
	wg.Wait()
	clock.Advance(time.Hour) // expire whatever nobody decided

	finals := map[string]int{}
	for _, j := range jobs {
		close(j.calls)
		final := recv(t, j.wait)
		if final.err != nil || final.out.State == Pending {
			t.Fatalf("%s: Wait: %+v %v", j.req.ID, final.out, final.err)
		}
		stored, err := m.Get(j.req.ID)
		if err != nil || stored.State != final.out.State {
			t.Fatalf("%s: stored %+v %v, waiter saw %s", j.req.ID, stored, err, final.out.State)
		}
		finals[string(stored.State)]++

		// Callers: the successful ones are votes the request shows; at most
		// one made the final decision (none if it expired); the others were
		// told why.
		deciders, approvals, denials := 0, 0, 0
		for c := range j.calls {
			if c.err != nil {
				if !errors.Is(c.err, ErrAlreadyDecided) && !errors.Is(c.err, ErrExpired) {
					t.Errorf("%s: unexpected error %v", j.req.ID, c.err)
				}
				continue
			}
			if c.approve {
				approvals++
			} else {
				denials++
			}
			if c.req.State != Pending {
				deciders++
				if c.req.State != stored.State {
					t.Errorf("%s: caller saw %s, stored %s", j.req.ID, c.req.State, stored.State)
				}
			}
		}
		wantDeciders := 1
		if stored.State == Expired {
			wantDeciders = 0
		}
		if deciders != wantDeciders || denials > 1 || approvals+denials != len(stored.Votes) {
			t.Errorf("%s (%s): deciders %d approvals %d denials %d votes %d", j.req.ID, stored.State, deciders, approvals, denials, len(stored.Votes))
		}
		if stored.State == Approved && approvals != stored.Required {
			t.Errorf("%s: approved with %d approvals, needs %d", j.req.ID, approvals, stored.Required)
		}

		// Session: the request, then one event per vote, the last one final.
		if err := j.session.Close("done"); err != nil {
			t.Fatal(err)
		}
		var kinds []store.Kind
		var last decisionEvent
		nFinal := 0
		err = s.Events(j.session.ID(), 1, func(e store.Event) error {
			kinds = append(kinds, e.Kind)
			if e.Kind == store.KindApprovalDecision {
				if err := json.Unmarshal(e.Data, &last); err != nil {
					return err
				}
				if last.Final {
					nFinal++
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		wantEvents := 2 + len(stored.Votes) + 1 // connect, request, votes, disconnect
		if stored.State == Expired {
			wantEvents++ // and the expiry
		}
		if nFinal != 1 || !last.Final || last.State != stored.State || len(kinds) != wantEvents {
			t.Errorf("%s: session events %v, finals %d, last %+v", j.req.ID, kinds, nFinal, last)
		}
		if v, err := s.Verify(j.session.ID()); err != nil || !v.OK {
			t.Errorf("%s: verify %+v %v", j.req.ID, v, err)
		}
	}
	t.Logf("outcomes: %v", finals)

	// The feed: per request, created first and exactly one final event.
	created, finalEvents := map[string]bool{}, map[string]int{}
	for len(created) < requests || len(finalEvents) < requests {
		ev := recv(t, feed)
		id := ev.Request.ID
		if ev.Type == EventCreated {
			created[id] = true
			continue
		}
		if !created[id] {
			t.Fatalf("%s: %s before created", id, ev.Type)
		}
		if ev.Final {
			finalEvents[id]++
		}
	}
	for id, n := range finalEvents {
		if n != 1 {
			t.Errorf("%s: %d final events", id, n)
		}
	}
}
