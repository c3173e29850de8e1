package httpgw

import (
	"encoding/json"
	"net"
	"sync"

	"github.com/sluicegw/sluice/gateway/auth"
	"github.com/sluicegw/sluice/gateway/store"
)

// anonymous is the session identity of requests that did not
// authenticate. It is not a valid identity name (those start with a letter
// or digit), so it cannot be confused with one.
const anonymous = "-"

// clientConn is the state of one client connection: its sessions, one per
// identity that used it (see the package doc, "Sessions").
type clientConn struct {
	e    *Engine
	addr string

	mu       sync.Mutex
	sessions map[string]*store.Session // by identity name
	closed   bool
	streams  int // response goroutines still recording
	// pendingUpstream is the upstream connection of a WebSocket whose 101
	// is being written; the hijack handler takes it.
	pendingUpstream net.Conn
	idle            *sync.Cond // signalled when streams drops to 0
}

// begin counts a response goroutine that will record into a session; end
// is its end.
func (cc *clientConn) begin() {
	cc.mu.Lock()
	cc.streams++
	cc.mu.Unlock()
}

func (cc *clientConn) end() {
	cc.mu.Lock()
	cc.streams--
	if cc.streams == 0 && cc.idle != nil {
		cc.idle.Broadcast()
	}
	cc.mu.Unlock()
}

// session returns the connection's session for an identity, opening it
// (with its auth event, durably) on first use.
func (cc *clientConn) session(identity string, res *auth.Result) (*store.Session, error) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if s := cc.sessions[identity]; s != nil {
		return s, nil
	}
	if cc.closed {
		return nil, store.ErrClosed
	}
	s, err := cc.e.o.Store.OpenSession(store.NewSession{
		Identity: identity, Target: cc.e.o.Target.Name, Protocol: "http", ClientAddr: cc.addr,
	}, mustJSON(map[string]any{"tls": cc.e.https}))
	if err != nil {
		return nil, err
	}
	if res != nil {
		if _, err := s.Durable(store.KindAuth, mustJSON(map[string]any{
			"result": "ok", "identity": identity, "source": res.Source, "method": "bearer",
		})); err != nil {
			s.Close("recording failed")
			return nil, err
		}
	}
	cc.sessions[identity] = s
	return s, nil
}

// close ends the connection's sessions once the responses still being
// streamed have recorded their output.
func (cc *clientConn) close(reason string) {
	cc.mu.Lock()
	for cc.streams > 0 {
		if cc.idle == nil {
			cc.idle = sync.NewCond(&cc.mu)
		}
		cc.idle.Wait()
	}
	cc.closed = true
	ss := cc.sessions
	cc.sessions = map[string]*store.Session{}
	cc.mu.Unlock()
	for _, s := range ss {
		s.Close(reason)
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
