package sshgw

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/sluicegw/sluice/gateway/store"
)

// connEpoch is the origin of activityConn's clock: time.Since of it reads
// the monotonic clock, which a wall clock change does not move.
var connEpoch = time.Now()

// activityConn notes when bytes last went either way on a client
// connection, for the idle timeout: one atomic store per read or write,
// no timer reset and no allocation on the data path; a watcher compares
// it with the clock when its own timer fires.
type activityConn struct {
	net.Conn
	last atomic.Int64 // time.Since(connEpoch) of the last byte
}

func newActivityConn(nc net.Conn) *activityConn {
	c := &activityConn{Conn: nc}
	c.touch()
	return c
}

func (c *activityConn) touch() { c.last.Store(int64(time.Since(connEpoch))) }

// quiet is how long no byte went either way.
func (c *activityConn) quiet() time.Duration {
	return time.Since(connEpoch) - time.Duration(c.last.Load())
}

func (c *activityConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.touch()
	}
	return n, err
}

func (c *activityConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if n > 0 {
		c.touch()
	}
	return n, err
}

// watchTimeouts closes the connection when it has been idle for
// Options.IdleTimeout or has lasted Options.SessionTimeout, telling the
// client's open sessions why on stderr; the reason ends the recorded
// session. It returns when the connection ends.
func (c *conn) watchTimeouts(ac *activityConn) {
	idle, total := c.e.o.IdleTimeout, c.e.o.SessionTimeout
	var idleT, totalT *time.Timer
	var idleC, totalC <-chan time.Time
	if idle > 0 {
		idleT = time.NewTimer(idle)
		defer idleT.Stop()
		idleC = idleT.C
	}
	if total > 0 {
		totalT = time.NewTimer(total)
		defer totalT.Stop()
		totalC = totalT.C
	}
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-totalC:
			c.expire(fmt.Sprintf("session timeout (%s)", total), fmt.Sprintf("sluice: this connection reached its time limit of %s: closing it", total))
			return
		case <-idleC:
			// Activity moved the deadline: sleep until the new one.
			if q := ac.quiet(); q < idle {
				idleT.Reset(idle - q)
				continue
			}
			c.expire(fmt.Sprintf("idle timeout (%s)", idle), fmt.Sprintf("sluice: no data for %s: closing the connection", idle))
			return
		}
	}
}

// expireNoticeWait bounds how long telling the sessions why may hold up
// closing a connection whose client does not read.
const expireNoticeWait = time.Second

// expire ends the connection for a reason of sluice's own: each open
// session hears msg on stderr, the recorded session ends with reason.
func (c *conn) expire(reason, msg string) {
	c.chMu.Lock()
	c.endReason = reason
	open := make([]*session, 0, len(c.open))
	for s := range c.open {
		open = append(open, s)
	}
	c.chMu.Unlock()
	c.e.log.Info("sshgw: closing a connection", "identity", c.identity, "client", c.addr, "reason", reason)
	told := make(chan struct{})
	go func() {
		defer close(told)
		for _, s := range open {
			s.tell(msg)
		}
	}()
	select {
	case <-told:
	case <-time.After(expireNoticeWait):
	}
	c.sc.Close()
}

// tell is stderr for a goroutine that is not the session's own: the
// terminal flag is read under the lock.
func (s *session) tell(line string) {
	s.mu.Lock()
	tty := s.pty != nil
	s.mu.Unlock()
	if tty {
		io.WriteString(s.ch.Stderr(), "\r\n"+line+"\r\n")
		return
	}
	io.WriteString(s.ch.Stderr(), line+"\n")
}

// track and untrack keep the connection's open sessions, for expire.
func (c *conn) track(s *session) {
	c.chMu.Lock()
	if c.open == nil {
		c.open = make(map[*session]struct{})
	}
	c.open[s] = struct{}{}
	c.chMu.Unlock()
}

func (c *conn) untrack(s *session) {
	c.chMu.Lock()
	delete(c.open, s)
	c.chMu.Unlock()
}

// keepalive sends keepalive@openssh.com on the upstream connection every
// Options.KeepaliveInterval, as OpenSSH's ServerAliveInterval. Any reply
// counts (sshd answers with a failure). When KeepaliveCountMax intervals
// pass with one unanswered, the upstream is given up: closed, so the
// commands on it end (exit status 255, recorded), and the next command
// dials again. x/crypto/ssh waits for each reply in SendRequest, so one
// request at a time is outstanding, on a goroutine of its own.
func (c *conn) keepalive(up *ssh.Client) {
	defer c.wg.Done()
	interval, max := c.e.o.KeepaliveInterval, c.e.o.KeepaliveCountMax
	closed := make(chan struct{})
	go func() {
		up.Wait()
		close(closed)
	}()
	answered := make(chan struct{}, 1)
	t := time.NewTicker(interval)
	defer t.Stop()
	waiting, missed := false, 0
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-closed:
			return
		case <-answered:
			waiting, missed = false, 0
		case <-t.C:
			if !waiting {
				waiting = true
				go func() {
					if _, _, err := up.SendRequest("keepalive@openssh.com", true, nil); err == nil {
						answered <- struct{}{}
					}
				}()
				continue
			}
			if missed++; missed < max {
				continue
			}
			why := fmt.Sprintf("no answer to keepalives for %s (%d x %s)", time.Duration(max)*interval, max, interval)
			c.upMu.Lock()
			if c.up == up {
				c.up = nil
			}
			if c.lost == nil {
				c.lost = make(map[*ssh.Client]string)
			}
			c.lost[up] = why
			c.upMu.Unlock()
			c.e.log.Warn("sshgw: upstream not answering: closing it", "identity", c.identity, "upstream", c.target.Upstream.Address, "reason", why)
			c.sess.Append(store.KindError, mustJSON(map[string]any{"error": "upstream: " + why + ": connection closed"}))
			up.Close()
			return
		}
	}
}

// lostReason says why sluice closed an upstream connection, if it did.
func (c *conn) lostReason(up *ssh.Client) string {
	c.upMu.Lock()
	defer c.upMu.Unlock()
	return c.lost[up]
}

// upstreamExit turns how an upstream command's Wait ended into the exit
// the client gets: an upstream given up (keepalives) is exit status 255
// with a line on stderr, not a command without exit status.
func (s *session) upstreamExit(up *ssh.Client, werr error) exitResult {
	r := exitResult{}
	var ee *ssh.ExitError
	switch {
	case werr == nil:
	case errors.As(werr, &ee):
		r.status, r.signal = uint32(ee.ExitStatus()), ee.Signal()
	default:
		if why := s.c.lostReason(up); why != "" {
			s.stderr("sluice: lost the upstream host (" + why + "): the command's outcome is unknown")
			r.status = ExitGatewayError
			return r
		}
		// ExitMissingError, or the channel went away.
		r.none = true
	}
	return r
}
