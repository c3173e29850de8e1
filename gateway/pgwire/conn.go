package pgwire

import (
	"context"
	"errors"
	"net"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/sluicegw/sluice/abi"
	"github.com/sluicegw/sluice/gateway/config"
	"github.com/sluicegw/sluice/gateway/sqlscan"
	"github.com/sluicegw/sluice/gateway/store"
)

// conn is one client connection and its backend connection. Two
// goroutines work on it: run (client -> backend: policy, forwarding) and
// relay (backend -> client: masking). They share the queue of responses
// the backend owes, and the client writer (wmu).
type conn struct {
	e    *Engine
	nc   net.Conn // the accepted connection
	cc   net.Conn // the client's stream: nc, or TLS over it
	tls  bool
	addr string
	cr   *clientReader
	be   *pgproto3.Backend // reads client messages from cr

	ctx    context.Context
	cancel context.CancelFunc

	wmu sync.Mutex
	out []byte // client output not yet written

	bc   net.Conn           // backend connection
	fe   *pgproto3.Frontend // reads backend messages, through brd
	brd  *backendReader     // holds back rows too large to read whole
	bout []byte             // backend output not yet written (run only)

	pid           uint32 // the client's cancel key, sluice's own
	secret        []byte
	backendPID    uint32
	backendSecret []byte

	identity string
	target   config.Target
	sess     *store.Session

	q queue

	// run's state.
	scan    sqlscan.Session
	cb      abi.CommandBuilder
	stmts   map[string]bool   // prepared statements the backend may run
	blocked map[string]string // statement name -> why its Parse was refused
	portals map[string]bool
	// execs describes protocol-level statements for their execution
	// events; unnamedFresh: the unnamed statement was just parsed, and its
	// first Bind is the execution its command event already stands for.
	execs        map[string]execEvent
	unnamedFresh bool
	checked      commandEvent // the record check made of the last command
	skipping     bool         // a refused extended-protocol message: ignore until Sync
	copyPlan     *copyPlan    // set by check for an allowed COPY TO STDOUT to mask

	// A command held for approval; CancelRequest ends the wait.
	waitMu     sync.Mutex
	waitCancel context.CancelFunc

	recordedRows int // relay only

	writeDeadlineSet time.Time // under wmu
}

// writeMsgs encodes messages for the client; flush sends them.
func (c *conn) writeMsgs(msgs ...pgproto3.BackendMessage) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	for _, m := range msgs {
		c.out = encode(c.out, m)
	}
}

func encode[M interface{ Encode([]byte) ([]byte, error) }](dst []byte, m M) []byte {
	out, err := m.Encode(dst)
	if err != nil {
		// Only messages over 1 GiB fail to encode; sluice never builds one.
		return dst
	}
	return out
}

func (c *conn) flush() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.flushLocked()
}

func (c *conn) flushLocked() error {
	if len(c.out) == 0 {
		return nil
	}
	// A client that stops reading is cut off after 5 minutes. Moving the
	// deadline costs a timer update, so it moves once a minute at most.
	if now := time.Now(); now.After(c.writeDeadlineSet.Add(time.Minute)) {
		c.writeDeadlineSet = now
		c.cc.SetWriteDeadline(now.Add(5 * time.Minute))
	}
	_, err := c.cc.Write(c.out)
	if cap(c.out) > 1<<20 {
		c.out = nil
	} else {
		c.out = c.out[:0]
	}
	return err
}

// sendNow writes messages to the client at once (between whole messages
// of the relay, which holds wmu while it encodes).
func (c *conn) sendNow(msgs ...pgproto3.BackendMessage) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	for _, m := range msgs {
		c.out = encode(c.out, m)
	}
	return c.flushLocked()
}

// toBackend encodes a message for the backend (run only).
func (c *conn) toBackend(m pgproto3.FrontendMessage) {
	c.bout = encode(c.bout, m)
}

func (c *conn) flushBackend() error {
	if len(c.bout) == 0 {
		return nil
	}
	_, err := c.bc.Write(c.bout)
	if cap(c.bout) > 1<<20 {
		c.bout = nil
	} else {
		c.bout = c.bout[:0]
	}
	return err
}

// run serves the session after startup: the relay in a goroutine, the
// client's messages here. Either side ending ends both.
func (c *conn) run() {
	c.stmts, c.blocked, c.portals, c.execs = map[string]bool{}, map[string]string{}, map[string]bool{}, map[string]execEvent{}
	relayDone := make(chan string, 1)
	go func() { relayDone <- c.relay() }()
	reason := c.clientLoop()
	c.cancel()
	c.bc.Close()
	c.cc.Close()
	if r := <-relayDone; reason == "" {
		reason = r
	}
	c.e.unregisterKey(c)
	if reason == "" {
		reason = "client disconnected"
	}
	c.closeSession(reason)
	c.e.log.Info("pgwire: session ended", "identity", c.identity, "session", c.sess.ID().String(), "reason", reason)
}

// ends reports whether err is a closed connection.
func ends(err error) bool {
	return errors.Is(err, net.ErrClosed)
}
