package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// Session returns a session's record.
func (s *Store) Session(id ID) (SessionInfo, error) {
	var info SessionInfo
	v, closer, err := s.db.Get(sessionKey(id))
	if errors.Is(err, pebble.ErrNotFound) {
		return info, fmt.Errorf("session %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return info, err
	}
	defer closer.Close()
	if err := json.Unmarshal(v, &info); err != nil {
		return info, fmt.Errorf("store: session %s: %w", id, err)
	}
	return info, nil
}

// Filter selects sessions. Zero fields match everything.
type Filter struct {
	Identity, Target, Protocol string
	Since, Until               time.Time // start time within [Since, Until)
	Limit                      int       // newest first; 0: no limit
}

// Sessions lists session records, newest first.
func (s *Store) Sessions(f Filter) ([]SessionInfo, error) {
	lower := []byte{prefixSession}
	if !f.Since.IsZero() {
		lower = binary.BigEndian.AppendUint64(lower, uint64(f.Since.UnixMilli()))
	}
	upper := []byte{prefixSession + 1}
	if !f.Until.IsZero() {
		upper = binary.BigEndian.AppendUint64([]byte{prefixSession}, uint64(f.Until.UnixMilli()))
	}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out []SessionInfo
	for ok := it.Last(); ok; ok = it.Prev() {
		var info SessionInfo
		if err := json.Unmarshal(it.Value(), &info); err != nil {
			return out, fmt.Errorf("store: session record %x: %w", it.Key(), err)
		}
		if (f.Identity != "" && info.Identity != f.Identity) || (f.Target != "" && info.Target != f.Target) ||
			(f.Protocol != "" && info.Protocol != f.Protocol) {
			continue
		}
		out = append(out, info)
		if f.Limit > 0 && len(out) >= f.Limit {
			break
		}
	}
	return out, it.Error()
}

// Events calls fn for the events of a session in order, from sequence
// number from (1 for all). fn's Event is valid only during the call.
func (s *Store) Events(id ID, from uint64, fn func(Event) error) error {
	if _, err := s.Session(id); err != nil {
		return err
	}
	lower := eventKey(id, max(from, 1))
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: prefixEnd(eventKey(id, 0)[:17])})
	if err != nil {
		return err
	}
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		k := it.Key()
		if len(k) != 25 {
			return fmt.Errorf("store: session %s: malformed event key %x", id, k)
		}
		e, err := decodeEvent(binary.BigEndian.Uint64(k[17:]), it.Value())
		if err != nil {
			return fmt.Errorf("session %s event %d: %w", id, binary.BigEndian.Uint64(k[17:]), err)
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return it.Error()
}
