package store

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// DeleteBefore removes every session that started before t, with its
// events (two range deletes), except sessions still open. It returns how
// many sessions it removed.
func (s *Store) DeleteBefore(t time.Time) (int, error) {
	var cut ID
	binary.BigEndian.PutUint64(cut[:8], uint64(t.UnixMilli()))
	s.mu.Lock()
	var oldestOpen *ID
	for id := range s.sessions {
		if id.Start().Before(t) && (oldestOpen == nil || string(id[:]) < string(oldestOpen[:])) {
			id := id
			oldestOpen = &id
		}
	}
	s.mu.Unlock()
	if oldestOpen != nil {
		cut = *oldestOpen // keep open sessions (and everything after them)
	}
	n := 0
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixSession}, UpperBound: sessionKey(cut)})
	if err != nil {
		return 0, err
	}
	for ok := it.First(); ok; ok = it.Next() {
		n++
	}
	if err := it.Close(); err != nil {
		return 0, err
	}
	if n == 0 {
		return 0, nil
	}
	b := s.db.NewBatch()
	defer b.Close()
	b.DeleteRange([]byte{prefixSession}, sessionKey(cut), nil)
	b.DeleteRange([]byte{prefixEvent}, append([]byte{prefixEvent}, cut[:]...), nil)
	if err := b.Commit(pebble.Sync); err != nil {
		return 0, err
	}
	return n, nil
}

// Token is a stored token: only the SHA-256 of the secret is kept.
type Token struct {
	Hash string `json:"hash"` // "sha256:<hex>"
	// Scram is the token's SCRAM-SHA-256 verifier (PostgreSQL's
	// format), for PostgreSQL clients that authenticate with SCRAM.
	Scram    string    `json:"scram,omitempty"`
	Identity string    `json:"identity"`
	Created  time.Time `json:"created"`
	Expires  time.Time `json:"expires,omitzero"`
	Revoked  time.Time `json:"revoked,omitzero"`
	Note     string    `json:"note,omitempty"`
}

// Valid reports whether the token may be used at now.
func (t *Token) Valid(now time.Time) bool {
	return t.Revoked.IsZero() && (t.Expires.IsZero() || now.Before(t.Expires))
}

// HashToken is the stored form of a token secret.
func HashToken(secret string) [32]byte { return sha256.Sum256([]byte(secret)) }

func tokenKey(h [32]byte) []byte { return append([]byte{prefixToken}, h[:]...) }

// PutToken stores (or replaces) a token record.
func (s *Store) PutToken(h [32]byte, t Token) error {
	v, err := json.Marshal(&t)
	if err != nil {
		return err
	}
	return s.db.Set(tokenKey(h), v, pebble.Sync)
}

// TokenByHash returns the token record stored under a hash.
func (s *Store) TokenByHash(h [32]byte) (Token, error) {
	var t Token
	v, closer, err := s.db.Get(tokenKey(h))
	if errors.Is(err, pebble.ErrNotFound) {
		return t, ErrNotFound
	}
	if err != nil {
		return t, err
	}
	defer closer.Close()
	if err := json.Unmarshal(v, &t); err != nil {
		return t, fmt.Errorf("store: token record: %w", err)
	}
	return t, nil
}

// LookupToken finds the token whose secret is secret. The lookup is by
// hash (a secret is never stored or compared); the final comparison of
// the stored hash is constant-time anyway.
func (s *Store) LookupToken(secret string) (Token, error) {
	h := HashToken(secret)
	t, err := s.TokenByHash(h)
	if err != nil {
		return t, err
	}
	want := fmt.Sprintf("sha256:%x", h)
	if subtle.ConstantTimeCompare([]byte(t.Hash), []byte(want)) != 1 {
		return Token{}, ErrNotFound
	}
	return t, nil
}

// Tokens lists every token record.
func (s *Store) Tokens() ([]Token, error) {
	var out []Token
	err := s.scan([]byte{prefixToken}, func(_, v []byte) error {
		var t Token
		if err := json.Unmarshal(v, &t); err != nil {
			return err
		}
		out = append(out, t)
		return nil
	})
	return out, err
}

// PutApproval stores an approval request record (JSON of the caller's
// type) under its ID.
func (s *Store) PutApproval(id string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return s.db.Set(append([]byte{prefixApproval}, id...), b, pebble.Sync)
}

// Approval loads an approval record into v.
func (s *Store) Approval(id string, v any) error {
	b, closer, err := s.db.Get(append([]byte{prefixApproval}, id...))
	if errors.Is(err, pebble.ErrNotFound) {
		return fmt.Errorf("approval %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return err
	}
	defer closer.Close()
	return json.Unmarshal(b, v)
}

// Approvals calls fn with every approval record's JSON.
func (s *Store) Approvals(fn func(id string, v []byte) error) error {
	return s.scan([]byte{prefixApproval}, func(k, v []byte) error { return fn(string(k[1:]), v) })
}

// AdminAction is one recorded admin API action.
type AdminAction struct {
	Time     time.Time       `json:"time"`
	Identity string          `json:"identity"`
	Action   string          `json:"action"` // e.g. "approve", "token.revoke"
	Object   string          `json:"object,omitempty"`
	Detail   json.RawMessage `json:"detail,omitempty"`
}

// RecordAdmin durably records an admin action.
func (s *Store) RecordAdmin(a AdminAction) error {
	if a.Time.IsZero() {
		a.Time = s.opts.Now().UTC()
	}
	v, err := json.Marshal(&a)
	if err != nil {
		return err
	}
	k := []byte{prefixAdmin}
	k = binary.BigEndian.AppendUint64(k, uint64(a.Time.UnixNano()))
	k = binary.BigEndian.AppendUint64(k, s.adminSeq.Add(1))
	return s.db.Set(k, v, pebble.Sync)
}

// AdminActions lists admin actions at or after since, oldest first.
func (s *Store) AdminActions(since time.Time) ([]AdminAction, error) {
	var out []AdminAction
	lower := binary.BigEndian.AppendUint64([]byte{prefixAdmin}, uint64(max(since.UnixNano(), 0)))
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: []byte{prefixAdmin + 1}})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		var a AdminAction
		if err := json.Unmarshal(it.Value(), &a); err != nil {
			return out, err
		}
		out = append(out, a)
	}
	return out, it.Error()
}

func (s *Store) scan(prefix []byte, fn func(k, v []byte) error) error {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return err
	}
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		if err := fn(it.Key(), it.Value()); err != nil {
			return err
		}
	}
	return it.Error()
}
