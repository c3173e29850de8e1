package pluginhost

import (
	"encoding/binary"
	"slices"
	"testing"
	"time"
)

// Unit tests of wasi.go on plain memory; sandbox_test.go checks the same
// semantics through every engine.

func TestSandboxClockFake(t *testing.T) {
	c := newSandboxClock(false)
	wall := fakeWallSec * uint64(time.Second)
	for i, r := range []struct {
		id   uint32
		want uint64
	}{{0, wall + 1}, {1, 2}, {1, 3}, {0, wall + 4}} {
		if got, ok := c.now(r.id); !ok || got != r.want {
			t.Fatalf("read %d: %d, %v; want %d", i, got, ok, r.want)
		}
	}
	if got, ok := c.peek(1); !ok || got != 4 {
		t.Fatalf("peek: %d, %v; want 4", got, ok)
	}
	if got, ok := c.peek(0); !ok || got != wall+4 {
		t.Fatalf("peek realtime: %d, %v; want %d", got, ok, wall+4)
	}
	for _, id := range []uint32{2, 3, 1 << 31} {
		if _, ok := c.now(id); ok {
			t.Fatalf("clock %d exists", id)
		}
		if _, ok := c.peek(id); ok {
			t.Fatalf("clock %d exists (peek)", id)
		}
	}
	if got := c.nanotime(); got != 5 {
		t.Fatalf("nanotime %d, want 5", got)
	}
	c.sleep(-7) // a negative sleep does not move the clock back
	c.sleep(int64(2 * time.Second))
	if sec, nsec := c.walltime(); sec != fakeWallSec+2 || nsec != 6 {
		t.Fatalf("walltime %d.%09d, want %d.000000006", sec, nsec, fakeWallSec+2)
	}
	// Sleeping forever saturates: the clock stays at its end, never wraps.
	c.advance(1<<64 - 1)
	for range 2 {
		if got, _ := c.now(1); got != 1<<63-1 {
			t.Fatalf("monotonic after sleeping forever: %d", got)
		}
	}
	if got := c.nanotime(); got != 1<<63-1 {
		t.Fatalf("nanotime after sleeping forever: %d", got)
	}
}

func TestSandboxClockReal(t *testing.T) {
	c := newSandboxClock(true)
	before := uint64(time.Now().UnixNano())
	got, ok := c.now(0)
	after := uint64(time.Now().UnixNano())
	if !ok || got < before || got > after {
		t.Fatalf("realtime %d, want in [%d, %d]", got, before, after)
	}
	a, _ := c.now(1)
	b, _ := c.peek(1)
	n := c.nanotime()
	if b < a || uint64(n) < b || a == 1 {
		t.Fatalf("monotonic %d, %d, %d", a, b, n)
	}
	if sec, _ := c.walltime(); sec < time.Now().Unix()-60 {
		t.Fatalf("walltime %d", sec)
	}
	if _, ok := c.now(2); ok {
		t.Fatal("clock 2 exists")
	}
}

// pollMem is guest memory for wasiPollOneoff: subscriptions at 0, events
// at 1024, the event count at 2048.
type pollMem []byte

const (
	pollIn, pollOut, pollNevents = 0, 1024, 2048
)

func newPollMem() pollMem { return make(pollMem, 4096) }

func (m pollMem) clock(i int, userdata uint64, id uint32, timeout uint64, abs bool) {
	b := m[pollIn+wasiSubscriptionSize*i:]
	binary.LittleEndian.PutUint64(b, userdata)
	b[8] = 0
	binary.LittleEndian.PutUint32(b[16:], id)
	binary.LittleEndian.PutUint64(b[24:], timeout)
	if abs {
		b[40] = 1
	}
}

func (m pollMem) fd(i int, userdata uint64, tag uint8, fd uint32) {
	b := m[pollIn+wasiSubscriptionSize*i:]
	binary.LittleEndian.PutUint64(b, userdata)
	b[8] = tag
	binary.LittleEndian.PutUint32(b[16:], fd)
}

// events returns [userdata, errno, type, flags] of each event written.
func (m pollMem) events(out uint32) [][4]uint64 {
	var evs [][4]uint64
	for i := range binary.LittleEndian.Uint32(m[pollNevents:]) {
		ev := m[out+wasiEventSize*i:]
		evs = append(evs, [4]uint64{binary.LittleEndian.Uint64(ev), uint64(binary.LittleEndian.Uint16(ev[8:])),
			uint64(ev[10]), uint64(binary.LittleEndian.Uint16(ev[24:]))})
	}
	return evs
}

func noSleep(t *testing.T) func(uint64) bool {
	return func(ns uint64) bool { t.Fatalf("slept %d ns with the fake clock", ns); return false }
}

func TestWasiPollOneoffFake(t *testing.T) {
	poll := func(m pollMem, clk *sandboxClock, n uint32) [][4]uint64 {
		t.Helper()
		errno, timedOut := wasiPollOneoff(m, pollIn, pollOut, n, pollNevents, clk, noSleep(t))
		if errno != wasiESuccess || timedOut {
			t.Fatalf("errno %d, timed out %v", errno, timedOut)
		}
		return m.events(pollOut)
	}
	clk := newSandboxClock(false)
	m := newPollMem()
	// The earliest clocks fire (both at 3 s), the clock advances by 3 s.
	m.clock(0, 10, 1, 5e9, false)
	m.clock(1, 11, 1, 3e9, false)
	m.clock(2, 12, 0, 3e9, false)
	if evs, want := poll(m, clk, 3), [][4]uint64{{11, 0, 0, 0}, {12, 0, 0, 0}}; !slices.Equal(evs, want) {
		t.Fatalf("events %v, want %v", evs, want)
	}
	if got, _ := clk.peek(1); got != 3e9 {
		t.Fatalf("clock %d after sleeping 3s", got)
	}
	// Absolute: 2 s from now (before a relative 4 s), or in the past (at
	// once, without moving the clock).
	m.clock(0, 20, 1, 5e9, true)
	m.clock(1, 21, 1, 4e9, false)
	if evs, want := poll(m, clk, 2), [][4]uint64{{20, 0, 0, 0}}; !slices.Equal(evs, want) {
		t.Fatalf("absolute events %v, want %v", evs, want)
	}
	if got, _ := clk.peek(1); got != 5e9 {
		t.Fatalf("clock %d after sleeping until 5s", got)
	}
	m.clock(0, 22, 0, fakeWallSec*uint64(time.Second)+1e9, true)
	if evs, want := poll(m, clk, 2), [][4]uint64{{22, 0, 0, 0}}; !slices.Equal(evs, want) {
		t.Fatalf("absolute events in the past %v, want %v", evs, want)
	}
	if got, _ := clk.peek(1); got != 5e9 {
		t.Fatalf("clock %d after a deadline in the past", got)
	}
	// An unknown clock, a descriptor or an unknown type is ready at once;
	// the clock next to it neither fires nor advances the clock.
	for _, c := range []struct {
		set  func()
		want [4]uint64
	}{
		{func() { m.clock(1, 2, 2, 0, false) }, [4]uint64{2, wasiEINVAL, 0, 0}},
		{func() { m.clock(1, 2, 7, 0, true) }, [4]uint64{2, wasiEINVAL, 0, 0}},
		{func() { m.fd(1, 2, 1, 0) }, [4]uint64{2, 0, 1, 1}},
		{func() { m.fd(1, 2, 2, 1) }, [4]uint64{2, 0, 2, 0}},
		{func() { m.fd(1, 2, 2, 2) }, [4]uint64{2, 0, 2, 0}},
		{func() { m.fd(1, 2, 1, 1) }, [4]uint64{2, wasiEBADF, 1, 0}},
		{func() { m.fd(1, 2, 2, 3) }, [4]uint64{2, wasiEBADF, 2, 0}},
		{func() { m.fd(1, 2, 9, 0) }, [4]uint64{2, wasiEINVAL, 9, 0}},
	} {
		m.clock(0, 1, 1, 1000e9, false)
		c.set()
		if evs := poll(m, clk, 2); !slices.Equal(evs, [][4]uint64{c.want}) {
			t.Errorf("events %v, want %v", evs, [][4]uint64{c.want})
		}
		if got, _ := clk.peek(1); got != 5e9 {
			t.Fatalf("clock %d: moved next to a ready subscription", got)
		}
	}
	// Overlapping subscriptions and events, more than fit the stack copy.
	m = newPollMem()
	for i := range 10 {
		m.fd(i, uint64(100+i), 2, 1)
	}
	if errno, _ := wasiPollOneoff(m, pollIn, pollIn+8, 10, pollNevents, clk, noSleep(t)); errno != wasiESuccess {
		t.Fatalf("errno %d", errno)
	}
	evs := m.events(pollIn + 8)
	if len(evs) != 10 {
		t.Fatalf("%d events, want 10", len(evs))
	}
	for i, ev := range evs {
		if want := [4]uint64{uint64(100 + i), 0, 2, 0}; ev != want {
			t.Fatalf("event %d: %v, want %v", i, ev, want)
		}
	}
}

func TestWasiPollOneoffReal(t *testing.T) {
	clk := newSandboxClock(true)
	m := newPollMem()
	m.clock(0, 1, 1, 7e6, false)
	m.clock(1, 2, 0, uint64(time.Now().Add(time.Hour).UnixNano()), true)
	var slept []uint64
	errno, timedOut := wasiPollOneoff(m, pollIn, pollOut, 2, pollNevents, clk, func(ns uint64) bool {
		slept = append(slept, ns)
		return false
	})
	if errno != wasiESuccess || timedOut || !slices.Equal(slept, []uint64{7e6}) {
		t.Fatalf("errno %d, timed out %v, slept %v", errno, timedOut, slept)
	}
	if evs, want := m.events(pollOut), [][4]uint64{{1, 0, 0, 0}}; !slices.Equal(evs, want) {
		t.Fatalf("events %v, want %v", evs, want)
	}
	// A ready descriptor does not sleep.
	m.fd(1, 2, 1, 0)
	if errno, _ := wasiPollOneoff(m, pollIn, pollOut, 2, pollNevents, clk, noSleep(t)); errno != wasiESuccess {
		t.Fatalf("errno %d", errno)
	}
	// A sleep cut short at the deadline writes nothing.
	m = newPollMem()
	m.clock(0, 1, 1, 60e9, false)
	binary.LittleEndian.PutUint32(m[pollNevents:], 77)
	errno, timedOut = wasiPollOneoff(m, pollIn, pollOut, 1, pollNevents, clk, func(uint64) bool { return true })
	if !timedOut || binary.LittleEndian.Uint32(m[pollNevents:]) != 77 || !slices.Equal(m[pollOut:pollOut+wasiEventSize], make([]byte, wasiEventSize)) {
		t.Fatalf("timed out sleep: errno %d, timed out %v, memory written", errno, timedOut)
	}
}

func TestWasiPollOneoffErrors(t *testing.T) {
	clk := newSandboxClock(false)
	m := newPollMem()
	m.clock(0, 1, 1, 0, false)
	size := uint32(len(m))
	for _, c := range []struct {
		in, out, n, nevents uint32
		want                uint32
	}{
		{pollIn, pollOut, 0, pollNevents, wasiEINVAL},
		{size - wasiSubscriptionSize + 1, pollOut, 1, pollNevents, wasiEFAULT},
		{pollIn, size - wasiEventSize + 1, 1, pollNevents, wasiEFAULT},
		{pollIn, pollOut, 1, size - 3, wasiEFAULT},
		{pollIn, pollOut, 1 << 31, pollNevents, wasiEFAULT}, // n*48 overflows 32 bits
		{1<<32 - 1, pollOut, 1, pollNevents, wasiEFAULT},
	} {
		errno, timedOut := wasiPollOneoff(m, c.in, c.out, c.n, c.nevents, clk, noSleep(t))
		if errno != c.want || timedOut {
			t.Errorf("poll_oneoff(%d, %d, %d, %d): errno %d, timed out %v; want %d", c.in, c.out, c.n, c.nevents, errno, timedOut, c.want)
		}
	}
	if got, _ := clk.peek(1); got != 0 {
		t.Fatalf("a failed poll_oneoff moved the clock to %d", got)
	}
	if errno, _ := wasiPollOneoff(nil, 0, 0, 1, 0, clk, noSleep(t)); errno != wasiEFAULT {
		t.Fatalf("no memory: errno %d", errno)
	}
}
