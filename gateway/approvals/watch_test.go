package approvals

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestChanges(t *testing.T) {
	clock := newClock()
	m := newManager(t, openStore(t, nil, clock), clock, func(o *Options) { o.Required = 2 })
	ctx := context.Background()
	if m.Seq() != 0 {
		t.Fatalf("seq %d", m.Seq())
	}
	// A long poll waits for the first event.
	polled := make(chan []Event, 1)
	go func() {
		evs, err := m.Changes(ctx, 0)
		if err != nil {
			t.Error(err)
		}
		polled <- evs
	}()
	req, _ := m.Request(ctx, sqlRequest("s", "ci", "ALTER"), nil)
	evs := recv(t, polled)
	if len(evs) != 1 || evs[0].Seq != 1 || evs[0].Type != EventCreated || evs[0].Request.ID != req.ID {
		t.Fatalf("first poll: %+v", evs)
	}
	m.Approve(req.ID, alice, "", GrantSpec{})
	m.Approve(req.ID, bob, "", GrantSpec{})
	evs, err := m.Changes(ctx, 1)
	if err != nil || len(evs) != 2 {
		t.Fatalf("second poll: %+v %v", evs, err)
	}
	if e := evs[0]; e.Type != EventApproved || e.Final || e.Reviewer != "alice" || e.Request.State != Pending || e.Request.Approvals() != 1 {
		t.Fatalf("partial: %+v", e)
	}
	if e := evs[1]; e.Type != EventApproved || !e.Final || e.Reviewer != "bob" || e.Request.State != Approved {
		t.Fatalf("final: %+v", e)
	}
	req2, _ := m.Request(ctx, sqlRequest("s", "ci", "DROP"), nil)
	m.Deny(req2.ID, carol, "no")
	m.Request(ctx, sqlRequest("s", "ci", "DROP"), nil)
	clock.Advance(DefaultExpiry)
	var types []EventType
	for since := uint64(3); len(types) < 4; {
		evs, err := m.Changes(ctx, since)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			types = append(types, e.Type)
			since = e.Seq
		}
	}
	if want := []EventType{EventCreated, EventDenied, EventCreated, EventExpired}; len(types) != 4 || types[0] != want[0] || types[1] != want[1] || types[2] != want[2] || types[3] != want[3] {
		t.Fatalf("types %v", types)
	}

	// A cancelled poll, a client from the future (before a restart), a
	// client too far behind.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := m.Changes(cctx, m.Seq()); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
	if _, err := m.Changes(ctx, m.Seq()+1); !errors.Is(err, ErrMissed) {
		t.Fatalf("future: %v", err)
	}
	for range keptEvents {
		m.hub.publish(Event{Type: EventCreated})
	}
	if _, err := m.Changes(ctx, 1); !errors.Is(err, ErrMissed) {
		t.Fatalf("behind: %v", err)
	}
	if evs, err := m.Changes(ctx, m.Seq()-keptEvents); err != nil || len(evs) != keptEvents {
		t.Fatalf("oldest kept: %d %v", len(evs), err)
	}
}

func TestWatch(t *testing.T) {
	clock := newClock()
	m := newManager(t, openStore(t, nil, clock), clock, nil)
	ctx, cancel := context.WithCancel(context.Background())
	ch := m.Watch(ctx)
	req, _ := m.Request(context.Background(), sqlRequest("s", "ci", "ALTER"), nil)
	m.Approve(req.ID, alice, "", GrantSpec{})
	if e := recv(t, ch); e.Type != EventCreated || e.Request.ID != req.ID {
		t.Fatalf("%+v", e)
	}
	if e := recv(t, ch); e.Type != EventApproved || !e.Final {
		t.Fatalf("%+v", e)
	}
	cancel()
	drained(t, ch)
	// Close ends a watch too.
	ch = m.Watch(context.Background())
	m.Close()
	drained(t, ch)
}

// drained waits for ch to close.
func drained(t *testing.T, ch <-chan Event) {
	t.Helper()
	timeout := time.After(within)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-timeout:
			t.Fatal("watch channel not closed")
		}
	}
}
