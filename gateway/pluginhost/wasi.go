package pluginhost

import (
	"encoding/binary"
	"sync/atomic"
	"time"
)

// The WASI preview 1 semantics of the sandbox (ABI.md 2.3) that every
// engine must give alike, written once against a plain view of linear
// memory: the sandbox clock and poll_oneoff. Each engine keeps only an
// adapter that reads the arguments in its calling convention, hands over
// its memory view and the instance's clock, and sleeps in its own way until
// the call's deadline (wazero.go, wasmtime.go).

// WASI preview 1 errno values.
const (
	wasiESuccess = 0
	wasiEBADF    = 8
	wasiEFAULT   = 21
	wasiEINVAL   = 28
)

// Sizes of WASI preview 1 poll_oneoff records.
const (
	wasiSubscriptionSize = 48
	wasiEventSize        = 32
)

// fakeWallSec is the instant of the fake realtime clock: 2022-01-01T00:00:00Z.
const fakeWallSec = 1640995200

// sandboxMonoBase is the origin of the real monotonic clock given to guests
// with the clock capability, one for the process.
var sandboxMonoBase = time.Now()

// sandboxClock is the clock of one instance (ABI.md 2.3). Without the clock
// capability it is fake: a fixed instant, 2022-01-01 UTC for realtime and 0
// for monotonic, that advances 1 ns per read; a sleep returns at once and
// advances it by the time slept. One per instance, so instances are
// deterministic. With the capability it is the wall clock and a monotonic
// clock from sandboxMonoBase. Only realtime (id 0) and monotonic (1) exist.
type sandboxClock struct {
	realTime bool // the clock capability
	// n is the fake time, in ns from the fixed instant: reads plus sleeps,
	// saturating at 1<<63-1 (a guest may sleep "forever").
	n atomic.Int64
}

func newSandboxClock(capability bool) *sandboxClock {
	return &sandboxClock{realTime: capability}
}

// now reads clock id; a read of the fake clock advances it by 1 ns first.
// It is false for a clock that does not exist.
func (c *sandboxClock) now(id uint32) (uint64, bool) {
	if id > 1 {
		return 0, false
	}
	if c.realTime {
		return realNow(id), true
	}
	return fakeNow(id, c.advance(1)), true
}

// peek reads clock id without advancing the fake clock, for absolute
// deadlines. It is false for a clock that does not exist.
func (c *sandboxClock) peek(id uint32) (uint64, bool) {
	if id > 1 {
		return 0, false
	}
	if c.realTime {
		return realNow(id), true
	}
	return fakeNow(id, c.n.Load()), true
}

func realNow(id uint32) uint64 {
	if id == 0 {
		return uint64(time.Now().UnixNano())
	}
	return uint64(time.Since(sandboxMonoBase))
}

func fakeNow(id uint32, n int64) uint64 {
	if id == 0 {
		return fakeWallSec*uint64(time.Second) + uint64(n)
	}
	return uint64(n)
}

// walltime reads the realtime clock as seconds and nanoseconds (wazero's
// sys.Walltime), advancing the fake clock by 1 ns.
func (c *sandboxClock) walltime() (int64, int32) {
	if c.realTime {
		t := time.Now()
		return t.Unix(), int32(t.Nanosecond())
	}
	n := c.advance(1)
	return fakeWallSec + n/1e9, int32(n % 1e9)
}

// nanotime reads the monotonic clock (wazero's sys.Nanotime), advancing
// the fake clock by 1 ns.
func (c *sandboxClock) nanotime() int64 {
	if c.realTime {
		return int64(time.Since(sandboxMonoBase))
	}
	return c.advance(1)
}

// sleep is a fake sleep (wazero's sys.Nanosleep): it returns at once,
// advancing the fake clock by ns.
func (c *sandboxClock) sleep(ns int64) { c.advance(uint64(max(ns, 0))) }

// advance moves the fake clock ns ahead, saturating rather than wrapping,
// and returns the new time.
func (c *sandboxClock) advance(ns uint64) int64 {
	for {
		n := c.n.Load()
		next := int64(1<<63 - 1)
		if ns < uint64(next-n) {
			next = n + int64(ns)
		}
		if c.n.CompareAndSwap(n, next) {
			return next
		}
	}
}

// span returns mem[ptr : ptr+n], or false when it is out of bounds.
func span(mem []byte, ptr uint32, n uint64) ([]byte, bool) {
	end := uint64(ptr) + n
	if end > uint64(len(mem)) {
		return nil, false
	}
	return mem[ptr:end], true
}

// wasiPollOneoff is poll_oneoff(in, out, nsubscriptions, *nevents) on the
// linear memory mem. An engine's own would block in the host, where the
// engine cannot interrupt it, and knows neither the call's deadline nor
// how to fail the call. Here descriptor subscriptions are ready at once
// (stdin at end of file, stdout and stderr writable; others EBADF);
// otherwise the earliest clock subscription fires: without the clock
// capability at once, advancing the fake clock by its timeout (virtual
// time), with it after sleep(timeout), the engine's real sleep, which is
// cut short at the call's deadline.
//
// timedOut is sleep's report that it was cut short: nothing has been
// written, and the adapter must end the call as a timeout.
func wasiPollOneoff(mem []byte, in, out, n, neventsPtr uint32, clk *sandboxClock, sleep func(ns uint64) (timedOut bool)) (errno uint32, timedOut bool) {
	if n == 0 {
		return wasiEINVAL, false
	}
	subs, ok := span(mem, in, uint64(n)*wasiSubscriptionSize)
	if !ok {
		return wasiEFAULT, false
	}
	events, ok := span(mem, out, uint64(n)*wasiEventSize)
	if !ok {
		return wasiEFAULT, false
	}
	nevents, ok := span(mem, neventsPtr, 4)
	if !ok {
		return wasiEFAULT, false
	}
	// Copy what the events need first: the guest may pass overlapping
	// subscription and event buffers.
	type sub struct {
		userdata uint64
		tag      uint8
		errno    uint16
		fdFlags  uint16
		timeout  uint64
	}
	var small [8]sub
	all := small[:0]
	if n > uint32(len(small)) {
		all = make([]sub, 0, n)
	}
	var minTimeout uint64
	haveClock, haveReady := false, false
	for i := uint32(0); i < n; i++ {
		b := subs[i*wasiSubscriptionSize:]
		s := sub{userdata: binary.LittleEndian.Uint64(b), tag: b[8]}
		switch s.tag {
		case 0: // clock
			id := binary.LittleEndian.Uint32(b[16:])
			s.timeout = binary.LittleEndian.Uint64(b[24:])
			if id > 1 {
				s.errno, haveReady = wasiEINVAL, true
				break
			}
			if binary.LittleEndian.Uint16(b[40:])&1 != 0 { // absolute
				now, _ := clk.peek(id)
				s.timeout = max(s.timeout, now) - now
			}
			if !haveClock || s.timeout < minTimeout {
				minTimeout = s.timeout
			}
			haveClock = true
		case 1, 2: // fd_read, fd_write
			fd := binary.LittleEndian.Uint32(b[16:])
			switch {
			case s.tag == 1 && fd == 0:
				s.fdFlags = 1 // hangup: stdin is empty
			case s.tag == 2 && (fd == 1 || fd == 2):
			default:
				s.errno = wasiEBADF
			}
			haveReady = true
		default:
			s.errno, haveReady = wasiEINVAL, true
		}
		all = append(all, s)
	}
	if !haveReady {
		if !clk.realTime {
			clk.advance(minTimeout)
		} else if sleep(minTimeout) {
			return 0, true
		}
	}
	k := uint32(0)
	for _, s := range all {
		fires := s.tag != 0 || s.errno != 0
		if s.tag == 0 && s.errno == 0 {
			fires = !haveReady && s.timeout == minTimeout
		}
		if !fires {
			continue
		}
		ev := events[k*wasiEventSize : (k+1)*wasiEventSize]
		clear(ev)
		binary.LittleEndian.PutUint64(ev, s.userdata)
		binary.LittleEndian.PutUint16(ev[8:], s.errno)
		ev[10] = s.tag
		binary.LittleEndian.PutUint16(ev[24:], s.fdFlags)
		k++
	}
	binary.LittleEndian.PutUint32(nevents, k)
	return wasiESuccess, false
}
