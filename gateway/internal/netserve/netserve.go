// Package netserve is the accept loop the protocol engines share: it
// serves connections from one or more listeners, each in its own
// goroutine, and tracks listeners and connections so that Shutdown can
// end them all and Wait can wait for their goroutines. The zero value is
// ready to use; a Server is safe for concurrent use.
package netserve

import (
	"errors"
	"net"
	"sync"
	"time"
)

// Server tracks listeners and connections.
type Server struct {
	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[net.Conn]struct{}
	closed    bool
	wg        sync.WaitGroup
}

// Serve accepts connections on ln and runs handle for each in its own
// goroutine (the connection is closed when handle returns), until ln
// fails or Shutdown is called; it returns nil after Shutdown. Temporary
// accept errors (too many open files) back off instead of spinning.
func (s *Server) Serve(ln net.Listener, handle func(net.Conn)) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ln.Close()
		return nil
	}
	if s.listeners == nil {
		s.listeners, s.conns = map[net.Listener]struct{}{}, map[net.Conn]struct{}{}
	}
	s.listeners[ln] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
	}()
	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.Closed() {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		if !s.track(nc) {
			nc.Close()
			return nil
		}
		go func() {
			defer s.wg.Done()
			defer s.untrack(nc)
			handle(nc)
		}()
	}
}

// Shutdown closes every listener and connection and reports whether this
// call did it (false: it was already shut down).
func (s *Server) Shutdown() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.closed = true
	for ln := range s.listeners {
		ln.Close()
	}
	for nc := range s.conns {
		nc.Close()
	}
	return true
}

// Wait waits for the goroutines of every served connection.
func (s *Server) Wait() { s.wg.Wait() }

// Closed reports whether Shutdown was called.
func (s *Server) Closed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

func (s *Server) track(nc net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[nc] = struct{}{}
	s.wg.Add(1)
	return true
}

func (s *Server) untrack(nc net.Conn) {
	s.mu.Lock()
	delete(s.conns, nc)
	s.mu.Unlock()
	nc.Close()
}
