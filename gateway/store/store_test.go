package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

func openMem(t *testing.T, opts Options) (*Store, vfs.FS) {
	t.Helper()
	if opts.FS == nil {
		opts.FS = vfs.NewMem()
	}
	if opts.MinFreeBytes == 0 {
		opts.MinFreeBytes = -1 // the in-memory FS reports no disk usage
	}
	s, err := Open("db", opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, opts.FS
}

func cmd(text, verdict string) []byte {
	b, _ := json.Marshal(map[string]string{"text": text, "verdict": verdict})
	return b
}

// record makes a session with n command events and an output event after
// each, and closes it.
func record(t *testing.T, s *Store, n int) ID {
	t.Helper()
	ss, err := s.OpenSession(NewSession{Identity: "ci", Target: "db", Protocol: "postgres", ClientAddr: "127.0.0.1:5"}, []byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if _, err := ss.Durable(KindCommand, cmd(fmt.Sprintf("SELECT %d", i), "allow")); err != nil {
			t.Fatal(err)
		}
		ss.Append(KindOutput, []byte(fmt.Sprintf(`{"rows":[["%d"]]}`, i)))
	}
	ss.AddBytes(10, 20)
	if err := ss.Close("client quit"); err != nil {
		t.Fatal(err)
	}
	return ss.ID()
}

func TestSessionRoundTrip(t *testing.T) {
	s, _ := openMem(t, Options{})
	id := record(t, s, 3)
	info, err := s.Session(id)
	if err != nil {
		t.Fatal(err)
	}
	// connect + 3 x (command, output) + disconnect
	if info.Events != 8 || info.Open() || info.EndReason != "client quit" || info.Verdicts["allow"] != 3 ||
		info.BytesIn != 10 || info.BytesOut != 20 || info.Identity != "ci" {
		t.Fatalf("record %+v", info)
	}
	var kinds []string
	if err := s.Events(id, 1, func(e Event) error {
		kinds = append(kinds, string(e.Kind))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want := "connect command output command output command output disconnect"
	if got := strings.Join(kinds, " "); got != want {
		t.Fatalf("events %q, want %q", got, want)
	}
	v, err := s.Verify(id)
	if err != nil || !v.OK || v.Events != 8 || v.Head != info.Head {
		t.Fatalf("verify %+v %v", v, err)
	}
	if _, err := s.Session(NewID(time.Now())); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown session: %v", err)
	}
}

func TestSessionsFilter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := now
	s, _ := openMem(t, Options{Now: func() time.Time { return clock }})
	var ids []ID
	for i, who := range []string{"ci", "bot", "ci"} {
		clock = now.Add(time.Duration(i) * time.Hour)
		ss, err := s.OpenSession(NewSession{Identity: who, Target: "db", Protocol: "postgres"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, ss.ID())
		ss.Close("done")
	}
	all, _ := s.Sessions(Filter{})
	if len(all) != 3 || all[0].ID != ids[2].String() {
		t.Fatalf("all: %+v", all)
	}
	ci, _ := s.Sessions(Filter{Identity: "ci"})
	if len(ci) != 2 {
		t.Fatalf("ci: %d", len(ci))
	}
	since, _ := s.Sessions(Filter{Since: now.Add(30 * time.Minute)})
	if len(since) != 2 {
		t.Fatalf("since: %d", len(since))
	}
	one, _ := s.Sessions(Filter{Limit: 1})
	if len(one) != 1 {
		t.Fatalf("limit: %d", len(one))
	}
}

// tamper edits the raw events of a session and checks what Verify says.
func TestVerifyDetectsTampering(t *testing.T) {
	type raw struct {
		key, val []byte
	}
	load := func(s *Store, id ID) []raw {
		var out []raw
		s.scan(eventKey(id, 0)[:17], func(k, v []byte) error {
			out = append(out, raw{append([]byte(nil), k...), append([]byte(nil), v...)})
			return nil
		})
		return out
	}
	set := func(s *Store, k, v []byte) {
		if err := s.db.Set(k, v, pebble.Sync); err != nil {
			t.Fatal(err)
		}
	}
	del := func(s *Store, k []byte) {
		if err := s.db.Delete(k, pebble.Sync); err != nil {
			t.Fatal(err)
		}
	}
	// rewrite replaces the events from position i on with evs, renumbered
	// from i+1, keeping their stored values (an attacker moving records).
	rewrite := func(s *Store, id ID, evs []raw, from int, vals [][]byte) {
		for _, e := range evs[from:] {
			del(s, e.key)
		}
		for j, v := range vals {
			set(s, eventKey(id, uint64(from+j+1)), v)
		}
	}
	// forge re-chains event values from position i so their own hashes
	// and prevs are right (an attacker who recomputes hashes).
	forge := func(id ID, prev [32]byte, vals [][]byte, from uint64) [][]byte {
		var out [][]byte
		for j, v := range vals {
			e, err := decodeEvent(0, v)
			if err != nil {
				t.Fatal(err)
			}
			e.Seq, e.Prev = from+uint64(j), prev
			e.Hash = chainHash(prev, e.Seq, e.Time.UnixNano(), e.Kind, e.Data)
			prev = e.Hash
			out = append(out, encodeEvent(nil, &e))
		}
		return out
	}
	vals := func(evs []raw) [][]byte {
		var out [][]byte
		for _, e := range evs {
			out = append(out, e.val)
		}
		return out
	}
	hashOf := func(v []byte) [32]byte {
		e, _ := decodeEvent(0, v)
		return e.Hash
	}
	cases := []struct {
		name    string
		tamper  func(s *Store, id ID, evs []raw)
		problem string
		seq     uint64
	}{
		{"content edited", func(s *Store, id ID, evs []raw) {
			v := append([]byte(nil), evs[3].val...)
			i := strings.Index(string(v), "SELECT 1")
			v[i+7] = '9'
			set(s, evs[3].key, v)
		}, "modified", 4},
		{"content edited and its hash recomputed", func(s *Store, id ID, evs []raw) {
			e, _ := decodeEvent(0, evs[3].val)
			e.Seq = 4
			e.Data = cmd("DROP TABLE x", "allow")
			e.Hash = chainHash(e.Prev, 4, e.Time.UnixNano(), e.Kind, e.Data)
			set(s, evs[3].key, encodeEvent(nil, &e))
		}, "modified", 4},
		{"event deleted", func(s *Store, id ID, evs []raw) { del(s, evs[2].key) }, "deleted", 3},
		{"event deleted, the rest renumbered", func(s *Store, id ID, evs []raw) {
			rewrite(s, id, evs, 2, vals(evs[3:]))
		}, "deleted", 3},
		{"event deleted, the rest renumbered and re-chained", func(s *Store, id ID, evs []raw) {
			rewrite(s, id, evs, 2, forge(id, hashOf(evs[1].val), vals(evs[3:]), 3))
		}, "truncated", 8},
		{"two events swapped", func(s *Store, id ID, evs []raw) {
			set(s, evs[3].key, evs[4].val)
			set(s, evs[4].key, evs[3].val)
		}, "reordered", 4},
		{"event inserted, the rest renumbered", func(s *Store, id ID, evs []raw) {
			fake := forge(id, hashOf(evs[2].val), [][]byte{evs[3].val}, 4)
			rewrite(s, id, evs, 3, append(fake, vals(evs[3:])...))
		}, "inserted", 5},
		{"event duplicated", func(s *Store, id ID, evs []raw) {
			rewrite(s, id, evs, 3, append([][]byte{evs[2].val}, vals(evs[3:])...))
		}, "inserted", 4},
		{"event appended after the head", func(s *Store, id ID, evs []raw) {
			fake := forge(id, hashOf(evs[len(evs)-1].val), [][]byte{evs[1].val}, uint64(len(evs)+1))
			set(s, eventKey(id, uint64(len(evs)+1)), fake[0])
		}, "inserted", 9},
		{"tail cut", func(s *Store, id ID, evs []raw) {
			del(s, evs[len(evs)-1].key)
			del(s, evs[len(evs)-2].key)
		}, "truncated", 7},
		{"garbage value", func(s *Store, id ID, evs []raw) { set(s, evs[5].key, []byte{1, 2, 3}) }, "malformed", 6},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := openMem(t, Options{})
			id := record(t, s, 3) // 8 events
			evs := load(s, id)
			if len(evs) != 8 {
				t.Fatalf("%d events", len(evs))
			}
			tc.tamper(s, id, evs)
			v, err := s.Verify(id)
			if err != nil {
				t.Fatal(err)
			}
			if v.OK || v.Problem != tc.problem || v.BadSeq != tc.seq {
				t.Fatalf("verify: %+v; want %s at %d", v, tc.problem, tc.seq)
			}
			t.Logf("%s: %s", v.Problem, v.Detail)
		})
	}
}

func TestQuotaTruncates(t *testing.T) {
	s, _ := openMem(t, Options{SessionQuota: 100})
	ss, err := s.OpenSession(NewSession{Identity: "ci"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	big := []byte(`{"rows":"` + strings.Repeat("x", 60) + `"}`)
	if !ss.Append(KindOutput, big) {
		t.Fatal("first output refused")
	}
	if ss.Append(KindOutput, big) {
		t.Fatal("output past the quota recorded")
	}
	if ss.Append(KindOutput, []byte(`{}`)) {
		t.Fatal("output after truncation recorded")
	}
	// Commands are still recorded.
	if _, err := ss.Durable(KindCommand, cmd("DELETE FROM t WHERE id = 1", "allow")); err != nil {
		t.Fatal(err)
	}
	ss.Close("done")
	var kinds []string
	s.Events(ss.ID(), 1, func(e Event) error { kinds = append(kinds, string(e.Kind)); return nil })
	if got := strings.Join(kinds, " "); got != "connect output truncated command disconnect" {
		t.Fatalf("events: %s", got)
	}
	info, _ := s.Session(ss.ID())
	if !info.Truncated {
		t.Fatal("record not marked truncated")
	}
	if v, _ := s.Verify(ss.ID()); !v.OK {
		t.Fatalf("verify %+v", v)
	}
}

// fullFS reports as much free space as the test says.
type fullFS struct {
	vfs.FS
	mu   sync.Mutex
	free uint64
}

func (f *fullFS) GetDiskUsage(string) (vfs.DiskUsage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return vfs.DiskUsage{AvailBytes: f.free, TotalBytes: 1 << 40}, nil
}

func (f *fullFS) setFree(n uint64) {
	f.mu.Lock()
	f.free = n
	f.mu.Unlock()
}

func TestDiskFull(t *testing.T) {
	fs := &fullFS{FS: vfs.NewMem(), free: 1 << 30}
	s, err := Open("db", Options{FS: fs, MinFreeBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	running, err := s.OpenSession(NewSession{Identity: "ci"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Below the reserve: new sessions are refused, running ones go on.
	fs.setFree(900 << 10)
	s.freeAt.Store(0) // skip the once-a-second cache
	if _, err := s.OpenSession(NewSession{Identity: "ci"}, nil); !errors.Is(err, ErrStoreFull) {
		t.Fatalf("new session on a full disk: %v", err)
	}
	if _, err := running.Durable(KindCommand, cmd("SELECT 1", "allow")); err != nil {
		t.Fatalf("running session below the reserve: %v", err)
	}
	// Below half the reserve: output is cut with a marker, commands fail.
	fs.setFree(100 << 10)
	s.freeAt.Store(0)
	if running.Append(KindOutput, []byte(`{}`)) {
		t.Fatal("output recorded on a full disk")
	}
	if _, err := running.Durable(KindCommand, cmd("SELECT 2", "allow")); !errors.Is(err, ErrStoreFull) {
		t.Fatalf("command on a full disk: %v", err)
	}
	if err := running.Close("store full"); err != nil {
		t.Fatal(err)
	}
	var kinds []string
	s.Events(running.ID(), 1, func(e Event) error { kinds = append(kinds, string(e.Kind)); return nil })
	if got := strings.Join(kinds, " "); got != "connect command truncated disconnect" {
		t.Fatalf("events: %s", got)
	}
	if v, _ := s.Verify(running.ID()); !v.OK {
		t.Fatalf("verify %+v", v)
	}
}

func TestFormatVersion(t *testing.T) {
	fs := vfs.NewMem()
	s, err := Open("db", Options{FS: fs, MinFreeBytes: -1})
	if err != nil {
		t.Fatal(err)
	}
	s.db.Set([]byte{prefixVersion}, []byte("2"), pebble.Sync)
	s.Close()
	if _, err := Open("db", Options{FS: fs, MinFreeBytes: -1}); err == nil || !strings.Contains(err.Error(), "format version 2; this sluice reads version 1") {
		t.Fatalf("newer format: %v", err)
	}
	// A Pebble directory that is not a sluice store.
	db, err := pebble.Open("other", &pebble.Options{FS: fs})
	if err != nil {
		t.Fatal(err)
	}
	db.Set([]byte("x"), []byte("y"), pebble.Sync)
	db.Close()
	if _, err := Open("other", Options{FS: fs, MinFreeBytes: -1}); err == nil || !strings.Contains(err.Error(), "not a sluice store") {
		t.Fatalf("foreign db: %v", err)
	}
}

func TestReopenEndsOrphans(t *testing.T) {
	fs := vfs.NewMem()
	s, err := Open("db", Options{FS: fs, MinFreeBytes: -1})
	if err != nil {
		t.Fatal(err)
	}
	ss, _ := s.OpenSession(NewSession{Identity: "ci"}, nil)
	ss.Durable(KindCommand, cmd("SELECT 1", "allow"))
	// Simulate a crash: close the database under the open session.
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	close(s.stop)
	<-s.done
	s.db.Close()

	s2, err := Open("db", Options{FS: fs, MinFreeBytes: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	info, err := s2.Session(ss.ID())
	if err != nil {
		t.Fatal(err)
	}
	if info.Open() || !strings.Contains(info.EndReason, "without ending") || info.Events != 2 {
		t.Fatalf("orphan: %+v", info)
	}
	if v, _ := s2.Verify(ss.ID()); !v.OK {
		t.Fatalf("verify %+v", v)
	}
}

func TestRetention(t *testing.T) {
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := base
	s, _ := openMem(t, Options{Now: func() time.Time { return clock }})
	var ids []ID
	for d := range 5 {
		clock = base.Add(time.Duration(d) * 24 * time.Hour)
		ids = append(ids, record(t, s, 2))
	}
	clock = base.Add(36 * time.Hour)
	openSess, _ := s.OpenSession(NewSession{Identity: "long"}, nil) // still open: kept
	_ = openSess
	n, err := s.DeleteBefore(base.Add(48 * time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Fatalf("deleted %d sessions, want 2", n)
	}
	for i, id := range ids {
		_, err := s.Session(id)
		if (i < 2) != errors.Is(err, ErrNotFound) {
			t.Fatalf("session %d: %v", i, err)
		}
	}
	// The events went too.
	count := 0
	s.scan(eventKey(ids[0], 0)[:17], func(_, _ []byte) error { count++; return nil })
	if count != 0 {
		t.Fatalf("%d events of a deleted session left", count)
	}
	if _, err := s.Session(openSess.ID()); err != nil {
		t.Fatalf("open session deleted: %v", err)
	}
}

func TestTokens(t *testing.T) {
	s, _ := openMem(t, Options{})
	h := HashToken("s3cret")
	now := time.Now()
	if err := s.PutToken(h, Token{Hash: fmt.Sprintf("sha256:%x", h), Identity: "ci", Created: now, Expires: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	tok, err := s.LookupToken("s3cret")
	if err != nil || tok.Identity != "ci" || !tok.Valid(now) || tok.Valid(now.Add(2*time.Hour)) {
		t.Fatalf("lookup %+v %v", tok, err)
	}
	if _, err := s.LookupToken("other"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown token: %v", err)
	}
	tok.Revoked = now
	s.PutToken(h, tok)
	tok, _ = s.LookupToken("s3cret")
	if tok.Valid(now) {
		t.Fatal("revoked token valid")
	}
	all, _ := s.Tokens()
	if len(all) != 1 || strings.Contains(fmt.Sprint(all), "s3cret") {
		t.Fatalf("tokens %+v", all)
	}
}

func TestAdminActions(t *testing.T) {
	s, _ := openMem(t, Options{})
	t0 := time.Now()
	for i := range 3 {
		if err := s.RecordAdmin(AdminAction{Identity: "alice", Action: "approve", Object: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	as, err := s.AdminActions(t0.Add(-time.Second))
	if err != nil || len(as) != 3 || as[2].Object != "2" {
		t.Fatalf("%+v %v", as, err)
	}
}

func TestConcurrentSessions(t *testing.T) {
	s, _ := openMem(t, Options{FlushInterval: 5 * time.Millisecond})
	const sessions, commands = 32, 50
	var wg sync.WaitGroup
	ids := make([]ID, sessions)
	for i := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ss, err := s.OpenSession(NewSession{Identity: fmt.Sprint("bot", i)}, nil)
			if err != nil {
				t.Error(err)
				return
			}
			ids[i] = ss.ID()
			for j := range commands {
				if _, err := ss.Durable(KindCommand, cmd(fmt.Sprint(j), "allow")); err != nil {
					t.Error(err)
					return
				}
				ss.Append(KindOutput, []byte(`{"n":1}`))
			}
			ss.Close("done")
		}()
	}
	wg.Wait()
	for _, id := range ids {
		v, err := s.Verify(id)
		if err != nil || !v.OK || v.Events != 2+2*commands {
			t.Fatalf("%s: %+v %v", id, v, err)
		}
	}
}

func TestIDs(t *testing.T) {
	t0 := time.UnixMilli(1700000000123)
	id := NewID(t0)
	if !id.Start().Equal(t0) {
		t.Fatalf("start %v", id.Start())
	}
	p, err := ParseID(id.String())
	if err != nil || p != id {
		t.Fatal(err)
	}
	if _, err := ParseID("xyz"); err == nil {
		t.Fatal("bad id parsed")
	}
	if binary.BigEndian.Uint64(id[:8]) != 1700000000123 {
		t.Fatal("layout")
	}
}

// TestWrittenIsGroupSynced checks that an event recorded with Written
// reaches the store by itself within SyncInterval (no Flush, no Close,
// the flusher far away), and that a later Durable commits it in order.
func TestWrittenIsGroupSynced(t *testing.T) {
	s, _ := openMem(t, Options{FlushInterval: time.Hour, SyncInterval: 5 * time.Millisecond})
	ss, err := s.OpenSession(NewSession{Identity: "ci", Target: "db"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	seq, err := ss.Written(KindCommand, cmd("SELECT 1", "allow"))
	if err != nil {
		t.Fatal(err)
	}
	found := func(want uint64) bool {
		ok := false
		s.Events(ss.ID(), want, func(e Event) error {
			ok = e.Seq == want
			return errStopTest
		})
		return ok
	}
	deadline := time.Now().Add(10 * time.Second)
	for !found(seq) {
		if time.Now().After(deadline) {
			t.Fatal("a Written event never reached the store without a Flush")
		}
		time.Sleep(time.Millisecond)
	}
	// Written, then Durable: both are there the moment Durable returns.
	r, _ := ss.Written(KindCommand, cmd("SELECT 2", "allow"))
	w, err := ss.Durable(KindCommand, cmd("UPDATE t SET n = 1", "allow"))
	if err != nil {
		t.Fatal(err)
	}
	if !found(r) || !found(w) || w != r+1 {
		t.Errorf("read %d and write %d not both recorded in order", r, w)
	}
	if err := ss.Close("done"); err != nil {
		t.Fatal(err)
	}
	if v, err := s.Verify(ss.ID()); err != nil || !v.OK {
		t.Errorf("verify: %+v %v", v, err)
	}
}
