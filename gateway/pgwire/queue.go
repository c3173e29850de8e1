package pgwire

import (
	"sync"

	"github.com/jackc/pgx/v5/pgproto3"
)

// pending is a message forwarded to the backend that owes the client a
// response, in the order sent. The relay matches each backend message to
// the head of the queue: that is how it knows which portal's rows it is
// masking, which responses are sluice's own (internal), and which
// ErrorResponse stands for a refusal.
type pending struct {
	op     byte   // 'Q' Query, 'P' Parse, 'B' Bind, 'D' Describe, 'E' Execute, 'C' Close, 'S' Sync
	object byte   // Describe and Close: 'S' statement or 'P' portal
	name   string // the portal (B, D, E, C) or statement (P, C)
	// internal: sluice's own Describe of a portal; its response is kept
	// for masking and not relayed.
	internal bool
	// refuse: this message stands for a refused command (a statement
	// that cannot parse, sent so the backend fails the transaction as
	// PostgreSQL would); its ErrorResponse is replaced by this one.
	refuse *pgproto3.ErrorResponse
	// copy: a COPY TO STDOUT whose output is masked by this plan.
	copy *copyPlan
}

// queue is the FIFO of pending responses, pushed by run before it writes
// to the backend and popped by the relay.
type queue struct {
	mu    sync.Mutex
	items []pending
	// skipUntilSync: the backend reported an error in an extended-protocol
	// message and ignores everything until the next Sync (section 55.2.3
	// "Extended Query"), so nothing pushed before that Sync gets a response.
	skipUntilSync bool
}

func (q *queue) push(p pending) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.skipUntilSync {
		if p.op != 'S' {
			return
		}
		q.skipUntilSync = false
	}
	q.items = append(q.items, p)
}

func (q *queue) head() (pending, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) == 0 {
		return pending{}, false
	}
	return q.items[0], true
}

func (q *queue) pop() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) > 0 {
		q.items[0] = pending{}
		q.items = q.items[1:]
	}
	if len(q.items) == 0 && cap(q.items) > 1024 {
		q.items = nil
	}
}

// dropUntilSync forgets what the backend will ignore after an error: the
// entries up to the next Sync, or all and the ones pushed until a Sync.
func (q *queue) dropUntilSync() {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.items) > 0 && q.items[0].op != 'S' {
		q.items[0] = pending{}
		q.items = q.items[1:]
	}
	if len(q.items) == 0 {
		q.skipUntilSync = true
	}
}
