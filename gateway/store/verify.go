package store

import (
	"encoding/hex"
	"fmt"
)

// Verification is the result of Verify.
type Verification struct {
	Session string `json:"session"`
	OK      bool   `json:"ok"`
	Events  uint64 `json:"events"` // events read
	Head    string `json:"head"`   // hash of the last event, to compare with a copy kept elsewhere
	// BadSeq is the first sequence number that fails (0 when OK), and
	// Problem says how: "modified", "deleted", "inserted", "reordered",
	// "truncated" (events missing at the end), "malformed".
	BadSeq  uint64 `json:"bad_seq,omitempty"`
	Problem string `json:"problem,omitempty"`
	Detail  string `json:"detail,omitempty"`
}

// Verify recomputes a session's hash chain and compares it with the
// stored hashes and the head in the session record.
//
// Each event stores its sequence number, its predecessor's hash and its
// own hash, so the first failure says what happened:
//
//   - its own hash does not cover its content: it was modified;
//   - it was chained to another predecessor than the one stored before
//     it: the predecessor was rewritten, hash included (modified);
//   - its stored sequence number differs from its key: events were moved.
//     A later number means events were deleted and the rest renumbered,
//     unless the missing one turns up further on (reordered); an earlier
//     one means an event was inserted, or a copy of one (reordered if the
//     original is gone).
//
// The chain is unkeyed SHA-256: someone who can write the store can also
// recompute every hash. Compare Head with a copy kept elsewhere (an
// export, a log line) to catch that.
func (s *Store) Verify(id ID) (Verification, error) {
	info, err := s.Session(id)
	if err != nil {
		return Verification{}, err
	}
	var events []Event
	if err := s.Events(id, 1, func(e Event) error {
		events = append(events, e)
		return nil
	}); err != nil {
		return Verification{Session: id.String(), Events: uint64(len(events)), BadSeq: uint64(len(events)) + 1,
			Problem: "malformed", Detail: err.Error()}, nil
	}
	v := Verification{Session: id.String(), Events: uint64(len(events))}
	v.BadSeq, v.Problem, v.Detail = check(id, events, info)
	v.OK = v.Problem == ""
	if len(events) > 0 {
		v.Head = events[len(events)-1].HashHex()
	}
	return v, nil
}

func check(id ID, events []Event, info SessionInfo) (uint64, string, string) {
	prev := genesis(id)
	for i, e := range events {
		key := uint64(i) + 1
		if e.Seq != key {
			return key, "deleted", fmt.Sprintf("event %d is missing (the next stored is %d)", key, e.Seq)
		}
		if chainHash(e.Prev, e.storedSeq, e.Time.UnixNano(), e.Kind, e.Data) != e.Hash {
			return key, "modified", fmt.Sprintf("event %d (%s): its content does not match its hash", key, e.Kind)
		}
		if e.storedSeq != key {
			return key, moved(events, i), fmt.Sprintf("the event stored as %d was recorded as %d", key, e.storedSeq)
		}
		if e.Prev != prev {
			return key - 1, "modified", fmt.Sprintf("event %d was rewritten, hash included: event %d was chained to another one", key-1, key)
		}
		prev = e.Hash
	}
	n := uint64(len(events))
	switch {
	case n < info.Events:
		return n + 1, "truncated", fmt.Sprintf("the session record says %d events; %d are stored", info.Events, n)
	case n > info.Events:
		return info.Events + 1, "inserted", fmt.Sprintf("%d events stored after the recorded head (event %d)", n-info.Events, info.Events)
	case n > 0 && hex.EncodeToString(prev[:]) != info.Head:
		return n, "modified", "the last event's hash differs from the head in the session record"
	}
	return 0, "", ""
}

// moved classifies the first event whose stored number differs from its
// position i.
func moved(events []Event, i int) string {
	want := uint64(i) + 1
	got := events[i].storedSeq
	if got > want {
		for _, e := range events[i+1:] {
			if e.storedSeq == want {
				return "reordered"
			}
		}
		return "deleted"
	}
	for _, e := range events[i+1:] {
		if e.storedSeq == got {
			return "inserted" // a copy: the original is still further on
		}
	}
	if events[got-1].storedSeq == got {
		return "inserted"
	}
	return "reordered"
}
