package pgwire

import (
	"errors"
	"io"
	"net"
	"sync"
	"time"
)

// clientReader is the client stream as the protocol decoder reads it,
// with a way to notice that the client went away while sluice is not
// reading it (a statement waiting for approval): watch reads ahead into a
// buffer that later reads are served from, so nothing the client sent
// meanwhile is lost, and reports when the stream ends.
type clientReader struct {
	conn net.Conn

	mu      sync.Mutex
	ahead   []byte // read by watch, not yet by the decoder
	err     error  // the stream's end, seen by watch
	watchMu sync.Mutex
}

func (r *clientReader) Read(p []byte) (int, error) {
	r.mu.Lock()
	if len(r.ahead) > 0 {
		n := copy(p, r.ahead)
		r.ahead = r.ahead[n:]
		r.mu.Unlock()
		return n, nil
	}
	err := r.err
	r.mu.Unlock()
	if err != nil {
		return 0, err
	}
	return r.conn.Read(p)
}

// watch reads ahead until stop is called or the stream ends; gone is
// called once if it ends. The caller must not Read meanwhile.
func (r *clientReader) watch(gone func()) (stop func()) {
	r.watchMu.Lock()
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		for {
			n, err := r.conn.Read(buf)
			r.mu.Lock()
			r.ahead = append(r.ahead, buf[:n]...)
			over := len(r.ahead) > 1<<20
			r.mu.Unlock()
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					return // stopped
				}
				r.mu.Lock()
				r.err = err
				r.mu.Unlock()
				gone()
				return
			}
			if over {
				// A client that keeps sending while it waits: stop reading
				// ahead (TCP pushes back) rather than buffer without bound.
				return
			}
		}
	}()
	return func() {
		// A deadline in the past interrupts the pending Read; a timeout
		// leaves a TLS stream usable (crypto/tls keeps only permanent
		// errors).
		r.conn.SetReadDeadline(time.Unix(1, 0))
		<-done
		r.conn.SetReadDeadline(time.Time{})
		r.watchMu.Unlock()
	}
}

var _ io.Reader = (*clientReader)(nil)
