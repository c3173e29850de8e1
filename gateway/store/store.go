package store

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// FormatVersion is the key layout version this package reads and writes.
const FormatVersion = 1

// Key prefixes (see the package doc).
const (
	prefixVersion  = 'v'
	prefixSession  = 's'
	prefixEvent    = 'e'
	prefixApproval = 'a'
	prefixToken    = 'k'
	prefixAdmin    = 'm'
)

// Defaults of Options.
const (
	DefaultSessionQuota  = 64 << 20
	DefaultMinFreeBytes  = 256 << 20
	DefaultFlushInterval = time.Second
	DefaultSyncInterval  = 10 * time.Millisecond
)

// ErrStoreFull is returned when the disk is too full to record: new
// sessions are refused and running ones must end.
var ErrStoreFull = errors.New("store: disk nearly full, recording refused (free space below store.min_free_bytes)")

// ErrClosed is returned by a closed store or session.
var ErrClosed = errors.New("store: closed")

// ErrNotFound is returned for an unknown session, approval or token.
var ErrNotFound = errors.New("store: not found")

// Options configure Open. The zero value is usable.
type Options struct {
	// FS is the filesystem (default: the OS's). Tests pass an in-memory or
	// error-injecting one.
	FS vfs.FS
	// SessionQuota caps the bytes recorded per session (default 64 MiB;
	// negative: no cap).
	SessionQuota int64
	// MinFreeBytes is the free disk space below which new sessions are
	// refused (default 256 MiB; negative: no check).
	MinFreeBytes int64
	// FlushInterval is how often buffered events are written (default 1s).
	FlushInterval time.Duration
	// SyncInterval bounds how long an event recorded with
	// [Session.Written] waits for its group sync (default 10ms).
	SyncInterval time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Store is an open store. Safe for concurrent use.
type Store struct {
	db   *pebble.DB
	fs   vfs.FS
	dir  string
	opts Options

	mu       sync.Mutex
	sessions map[ID]*Session // open sessions, for the flusher
	closed   bool

	free     atomic.Int64 // last measured free bytes (-1: unknown)
	freeAt   atomic.Int64 // unix nanos of that measurement
	adminSeq atomic.Uint64

	// unsynced is set by Written; syncKick wakes the group syncer.
	unsynced atomic.Bool
	syncKick chan struct{}

	stop chan struct{}
	done chan struct{}
	sync chan struct{} // closed when the group syncer has stopped
}

// Open opens (creating if needed) the store in dir.
func Open(dir string, opts Options) (*Store, error) {
	if opts.FS == nil {
		opts.FS = vfs.Default
	}
	if opts.SessionQuota == 0 {
		opts.SessionQuota = DefaultSessionQuota
	}
	if opts.MinFreeBytes == 0 {
		opts.MinFreeBytes = DefaultMinFreeBytes
	}
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = DefaultFlushInterval
	}
	if opts.SyncInterval <= 0 {
		opts.SyncInterval = DefaultSyncInterval
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if err := opts.FS.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	db, err := pebble.Open(dir, &pebble.Options{FS: opts.FS, Logger: quietLogger{}})
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", dir, err)
	}
	s := &Store{db: db, fs: opts.FS, dir: dir, opts: opts, sessions: map[ID]*Session{},
		stop: make(chan struct{}), done: make(chan struct{}), sync: make(chan struct{}), syncKick: make(chan struct{}, 1)}
	s.free.Store(-1)
	if err := s.checkVersion(); err != nil {
		db.Close()
		return nil, err
	}
	if err := s.endOrphans(); err != nil {
		db.Close()
		return nil, err
	}
	go s.flusher()
	go s.groupSyncer()
	return s, nil
}

// endOrphans ends the sessions a previous process left open (it was
// killed): their end is their last event's time, and the record says why.
// The record and the events were written in the same batches, so the
// record's head is the last event that reached the disk.
func (s *Store) endOrphans() error {
	var orphans []SessionInfo
	err := s.scan([]byte{prefixSession}, func(_, v []byte) error {
		var info SessionInfo
		if err := json.Unmarshal(v, &info); err != nil {
			return err
		}
		if info.Open() {
			orphans = append(orphans, info)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: reading sessions: %w", err)
	}
	for _, info := range orphans {
		id, err := ParseID(info.ID)
		if err != nil {
			return err
		}
		info.End = info.Start
		if err := s.Events(id, max(info.Events, 1), func(e Event) error { info.End = e.Time; return nil }); err != nil {
			return err
		}
		info.EndReason = "gateway stopped without ending the session"
		v, err := json.Marshal(&info)
		if err != nil {
			return err
		}
		if err := s.db.Set(sessionKey(id), v, pebble.Sync); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) checkVersion() error {
	v, closer, err := s.db.Get([]byte{prefixVersion})
	if errors.Is(err, pebble.ErrNotFound) {
		it, err := s.db.NewIter(nil)
		if err != nil {
			return err
		}
		empty := !it.First()
		it.Close()
		if !empty {
			return fmt.Errorf("store: %s holds data without a format version: not a sluice store", s.dir)
		}
		return s.db.Set([]byte{prefixVersion}, []byte(strconv.Itoa(FormatVersion)), pebble.Sync)
	}
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	defer closer.Close()
	if string(v) != strconv.Itoa(FormatVersion) {
		return fmt.Errorf("store: %s has format version %s; this sluice reads version %d", s.dir, v, FormatVersion)
	}
	return nil
}

// Close ends every open session (flushing what they buffered) and closes
// the database.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	open := make([]*Session, 0, len(s.sessions))
	for _, ss := range s.sessions {
		open = append(open, ss)
	}
	s.mu.Unlock()
	close(s.stop)
	<-s.done
	<-s.sync
	var errs []error
	for _, ss := range open {
		if err := ss.Close("gateway shutdown"); err != nil && !errors.Is(err, ErrClosed) {
			errs = append(errs, err)
		}
	}
	errs = append(errs, s.db.Close())
	return errors.Join(errs...)
}

// groupSyncer syncs the WAL at most SyncInterval after an event was
// recorded with Written: one fsync for every record written in that
// interval, by every session, instead of one per record.
func (s *Store) groupSyncer() {
	defer close(s.sync)
	t := time.NewTimer(time.Hour)
	t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-s.syncKick:
		}
		t.Reset(s.opts.SyncInterval)
		select {
		case <-s.stop:
			t.Stop()
			return
		case <-t.C:
		}
		// Cleared first: an event written during the commits kicks
		// again, and one written before it is committed by them.
		s.unsynced.Store(false)
		for _, ss := range s.openSessions() {
			ss.Flush()
		}
		s.db.LogData(nil, pebble.Sync)
	}
}

// openSessions returns the sessions open now.
func (s *Store) openSessions() []*Session {
	s.mu.Lock()
	defer s.mu.Unlock()
	open := make([]*Session, 0, len(s.sessions))
	for _, ss := range s.sessions {
		open = append(open, ss)
	}
	return open
}

// markUnsynced asks the group syncer for a sync.
func (s *Store) markUnsynced() {
	if s.unsynced.CompareAndSwap(false, true) {
		select {
		case s.syncKick <- struct{}{}:
		default:
		}
	}
}

// flusher writes buffered events every FlushInterval.
func (s *Store) flusher() {
	defer close(s.done)
	t := time.NewTicker(s.opts.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			for _, ss := range s.openSessions() {
				ss.Flush()
			}
		}
	}
}

// freeBytes returns the free space of the store's disk, measured at most
// once a second (statfs is cheap, but not per command).
func (s *Store) freeBytes() int64 {
	now := time.Now().UnixNano()
	if f := s.free.Load(); f >= 0 && now-s.freeAt.Load() < int64(time.Second) {
		return f
	}
	u, err := s.fs.GetDiskUsage(s.dir)
	if err != nil {
		return -1 // unknown: do not refuse on a filesystem that cannot say
	}
	s.free.Store(int64(u.AvailBytes))
	s.freeAt.Store(now)
	return int64(u.AvailBytes)
}

// full reports whether free space is below min (never when unknown or
// the check is off).
func (s *Store) full(min int64) bool {
	if s.opts.MinFreeBytes < 0 {
		return false
	}
	f := s.freeBytes()
	return f >= 0 && f < min
}

// ID identifies a session: start time (Unix ms) and 8 random bytes.
type ID [16]byte

// NewID returns a fresh ID for a session starting at t.
func NewID(t time.Time) ID {
	var id ID
	binary.BigEndian.PutUint64(id[:8], uint64(t.UnixMilli()))
	if _, err := rand.Read(id[8:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return id
}

// String is the ID in hex (32 characters), the form users see.
func (id ID) String() string { return hex.EncodeToString(id[:]) }

// ParseID parses the hex form.
func ParseID(s string) (ID, error) {
	var id ID
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(id) {
		return id, fmt.Errorf("store: %q is not a session id (32 hex digits)", s)
	}
	copy(id[:], b)
	return id, nil
}

// Start is the start time encoded in the ID.
func (id ID) Start() time.Time {
	return time.UnixMilli(int64(binary.BigEndian.Uint64(id[:8]))).UTC()
}

func sessionKey(id ID) []byte { return append([]byte{prefixSession}, id[:]...) }

func eventKey(id ID, seq uint64) []byte {
	k := make([]byte, 0, 1+16+8)
	k = append(k, prefixEvent)
	k = append(k, id[:]...)
	return binary.BigEndian.AppendUint64(k, seq)
}

// prefixEnd is the smallest key after every key with prefix p.
func prefixEnd(p []byte) []byte {
	end := bytes.Clone(p)
	for i := len(end) - 1; i >= 0; i-- {
		end[i]++
		if end[i] != 0 {
			return end[:i+1]
		}
	}
	return nil
}

// quietLogger drops Pebble's informational logs and keeps its fatal
// behaviour: a failed WAL write leaves the database in an unknown state,
// and the only safe answer is to stop (see the package doc).
type quietLogger struct{}

func (quietLogger) Infof(string, ...any) {}
func (quietLogger) Errorf(format string, args ...any) {
	slog.Error("store: pebble: " + fmt.Sprintf(format, args...))
}
func (quietLogger) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf(format, args...))
}
