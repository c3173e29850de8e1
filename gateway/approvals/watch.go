package approvals

import (
	"context"
	"errors"
	"sync"
	"time"
)

// ErrMissed is returned by Changes when events after since are no longer
// kept (the caller fell too far behind, or since is from before a
// restart): the caller lists again and continues from Seq.
var ErrMissed = errors.New("approvals: events missed; list again")

// EventType says what happened to a request.
type EventType string

// Event types.
const (
	EventCreated  EventType = "created"
	EventApproved EventType = "approved" // a vote; Final when it approved the request
	EventDenied   EventType = "denied"
	EventExpired  EventType = "expired"
)

// Event is one change of a request, for the admin API's long poll or
// server-sent events.
type Event struct {
	Seq      uint64    `json:"seq"` // 1, 2, ... since the manager started
	Type     EventType `json:"type"`
	Final    bool      `json:"final"`              // the request is decided
	Reviewer string    `json:"reviewer,omitempty"` // who voted
	Time     time.Time `json:"time"`
	Request  *Request  `json:"request"` // as it stands after the event
}

// keptEvents is how many recent events Changes can return: a client
// that falls further behind lists again.
const keptEvents = 1024

// hub keeps the last keptEvents events and wakes long polls.
type hub struct {
	mu      sync.Mutex
	seq     uint64
	ring    []Event // ring[(seq-1) % keptEvents] is event seq
	changed chan struct{}
}

func (h *hub) init() {
	h.ring = make([]Event, keptEvents)
	h.changed = make(chan struct{})
}

func (h *hub) publish(ev Event) {
	h.mu.Lock()
	h.seq++
	ev.Seq = h.seq
	h.ring[(h.seq-1)%keptEvents] = ev
	close(h.changed) // wakes every long poll at once
	h.changed = make(chan struct{})
	h.mu.Unlock()
}

// Seq is the sequence number of the latest event (0: none yet). Read it
// before List, then call Changes(ctx, seq) to follow from there.
func (m *Manager) Seq() uint64 {
	m.hub.mu.Lock()
	defer m.hub.mu.Unlock()
	return m.hub.seq
}

// Changes returns the events after since, oldest first, waiting until
// there is at least one, ctx ends (ctx.Err()) or the manager closes
// (ErrClosed). It fails with ErrMissed when some of them are gone.
// Events' requests are shared among callers: do not modify them.
func (m *Manager) Changes(ctx context.Context, since uint64) ([]Event, error) {
	h := &m.hub
	for {
		h.mu.Lock()
		if since > h.seq || (h.seq > keptEvents && since < h.seq-keptEvents) {
			h.mu.Unlock()
			return nil, ErrMissed
		}
		if since < h.seq {
			out := make([]Event, 0, h.seq-since)
			for s := since + 1; s <= h.seq; s++ {
				out = append(out, h.ring[(s-1)%keptEvents])
			}
			h.mu.Unlock()
			return out, nil
		}
		wake := h.changed
		h.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-m.closing:
			return nil, ErrClosed
		}
	}
}

// Watch sends the events after the current one until ctx ends, the
// manager closes or the receiver falls more than keptEvents behind; then
// it closes the channel (the receiver lists again and watches again).
func (m *Manager) Watch(ctx context.Context) <-chan Event {
	ch := make(chan Event, 16)
	since := m.Seq()
	go func() {
		defer close(ch)
		for {
			evs, err := m.Changes(ctx, since)
			if err != nil {
				return
			}
			for _, ev := range evs {
				select {
				case ch <- ev:
				case <-ctx.Done():
					return
				}
				since = ev.Seq
			}
		}
	}()
	return ch
}
