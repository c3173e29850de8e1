package pgwire

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/sluicegw/sluice/gateway/approvals"
	"github.com/sluicegw/sluice/gateway/auth"
	"github.com/sluicegw/sluice/gateway/config"
	"github.com/sluicegw/sluice/gateway/internal/netserve"
	"github.com/sluicegw/sluice/gateway/policy"
	"github.com/sluicegw/sluice/gateway/store"
)

// Limits and defaults.
const (
	// DefaultMaxMessageLen caps the body of one client message (Query,
	// Parse, Bind, CopyData, ...). PostgreSQL itself accepts up to 1 GiB
	// (PG_MAX_MESSAGE_LEN, "MaxAllocSize"); a gateway that buffers whole
	// messages needs a smaller bound so a client cannot make it allocate
	// without limit.
	DefaultMaxMessageLen = 64 << 20
	// maxStartupPacketLen is PostgreSQL's MAX_STARTUP_PACKET_LENGTH
	// (src/include/libpq/pqcomm.h): the longest StartupMessage,
	// SSLRequest, GSSENCRequest or CancelRequest.
	maxStartupPacketLen = 10000
	// DefaultMaskBatchRows is the most DataRows handed to the masking
	// chain in one call; a batch is also flushed when the backend has sent
	// nothing more for now, so interactive results are not delayed.
	DefaultMaskBatchRows = 256
	// maskBatchBytes flushes a batch holding this many bytes of values.
	maskBatchBytes = 256 << 10
	// DefaultMaxRecordedRows caps the masked rows recorded per session
	// (the store's session quota caps the bytes as well).
	DefaultMaxRecordedRows = 10000
	// startupTimeout bounds TLS, startup and authentication.
	startupTimeout = 30 * time.Second
)

// Options configure an Engine. Target, Auth and Store are required.
type Options struct {
	// Target is the postgres target this engine serves: its name (the
	// database clients ask for), listen address and upstream.
	Target config.Target
	// Config, if set, returns the running config: the target's allow list
	// and upstream are read from it (by Target.Name) when a client
	// connects, so a reload applies to new connections.
	Config func() *config.Config
	// Auth turns the password a client sends (a sluice token) into an
	// identity.
	Auth *auth.Authenticator
	// Chain returns the target's plugin chain; it is read for every
	// command and every result set, so a reload applies at once. An error
	// (a plugin of the target is not loaded) fails closed: commands are
	// refused and a result that should be masked ends the session. Nil:
	// no plugins.
	Chain func() (policy.Chain, error)
	// Store records sessions. Required.
	Store *store.Store
	// Approvals holds commands a plugin sent for approval. Nil: such
	// commands are refused.
	Approvals *approvals.Manager
	// DataDir is where the self-signed certificate is generated on first
	// start (<DataDir>/tls/pgwire.crt and .key) when TLSConfig is nil.
	DataDir string
	// TLSConfig, if set, is used for clients' SSLRequest instead of the
	// generated certificate.
	TLSConfig *tls.Config
	// SyncReads syncs the record of a read-only statement before
	// forwarding it, as for every other command (store.sync_reads).
	// False: it is recorded with store.Session.Written and synced in a
	// group within the store's SyncInterval.
	SyncReads bool
	// ClientAuth is how clients prove their token (targets[].client_auth):
	// "auto" (default: a cleartext password over TLS, SCRAM-SHA-256
	// without), "scram-sha-256" or "password".
	ClientAuth string
	// AllowCleartext lets clients send their token without TLS. Off by
	// default: a token is a bearer secret. For tests on loopback.
	AllowCleartext bool
	// UpstreamSSLMode is libpq's sslmode for the backend connection:
	// disable, allow, prefer (default), require, verify-ca, verify-full.
	UpstreamSSLMode string
	// UpstreamRootCert is a PEM file of CAs for verify-ca and verify-full.
	UpstreamRootCert string
	// MaxMessageLen caps one client message body (default
	// DefaultMaxMessageLen).
	MaxMessageLen int
	// MaskBatchRows is the most rows per masking call (default
	// DefaultMaskBatchRows).
	MaskBatchRows int
	// MaxBufferedRow is the largest DataRow read whole (default
	// DefaultMaxBufferedRow); larger ones are streamed: passed through
	// unmasked targets as they arrive, masked in chunks through a spool
	// file on masked targets.
	MaxBufferedRow int
	// MaxRecordedRows caps the masked rows recorded per session (default
	// DefaultMaxRecordedRows; negative: none recorded).
	MaxRecordedRows int
	// Logger (default slog.Default()).
	Logger *slog.Logger
}

// Engine serves one postgres target. Safe for concurrent use.
type Engine struct {
	o   Options
	log *slog.Logger
	tls *tls.Config

	ctx    context.Context
	cancel context.CancelFunc

	mu   sync.Mutex
	srv  netserve.Server  // listeners and connections
	keys map[uint32]*conn // by the process ID sluice gave the client
}

// New checks the options and prepares TLS (generating the self-signed
// certificate under DataDir on first start).
func New(o Options) (*Engine, error) {
	if o.Target.Protocol != "" && o.Target.Protocol != config.ProtocolPostgres {
		return nil, fmt.Errorf("pgwire: target %q: protocol is %s, not postgres", o.Target.Name, o.Target.Protocol)
	}
	if o.Target.Name == "" {
		return nil, errors.New("pgwire: Options.Target has no name")
	}
	if o.Auth == nil || o.Store == nil {
		return nil, errors.New("pgwire: Options.Auth and Options.Store are required")
	}
	if o.Chain == nil {
		o.Chain = func() (policy.Chain, error) { return nil, nil }
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.MaxMessageLen <= 0 {
		o.MaxMessageLen = DefaultMaxMessageLen
	}
	if o.MaxBufferedRow <= 0 {
		o.MaxBufferedRow = DefaultMaxBufferedRow
	}
	if o.MaskBatchRows <= 0 {
		o.MaskBatchRows = DefaultMaskBatchRows
	}
	if o.MaxRecordedRows == 0 {
		o.MaxRecordedRows = DefaultMaxRecordedRows
	}
	if o.UpstreamSSLMode == "" {
		o.UpstreamSSLMode = "prefer"
	}
	e := &Engine{o: o, log: o.Logger.With("target", o.Target.Name, "protocol", "postgres"),
		keys: map[uint32]*conn{}}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	if o.TLSConfig != nil {
		e.tls = o.TLSConfig.Clone()
	} else {
		if o.DataDir == "" {
			return nil, errors.New("pgwire: Options.DataDir is required to generate a certificate when Options.TLSConfig is nil")
		}
		cert, fp, created, err := loadOrCreateCert(o.DataDir)
		if err != nil {
			return nil, err
		}
		if created {
			e.log.Info("pgwire: generated a self-signed certificate", "sha256", fp)
		} else {
			e.log.Info("pgwire: using certificate", "sha256", fp)
		}
		e.tls = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	return e, nil
}

// Serve accepts clients on ln until ln fails or the engine is closed.
// It returns nil after Close. It may be called for several listeners.
func (e *Engine) Serve(ln net.Listener) error { return e.srv.Serve(ln, e.serveConn) }

// Close stops every listener and ends every connection, then waits for
// their goroutines.
func (e *Engine) Close() error {
	if !e.srv.Shutdown() {
		return nil
	}
	e.cancel()
	e.srv.Wait()
	return nil
}

// target returns the target as the running config has it now.
func (e *Engine) target() config.Target {
	if e.o.Config != nil {
		if cfg := e.o.Config(); cfg != nil {
			if t, ok := cfg.Target(e.o.Target.Name); ok {
				return t
			}
		}
	}
	return e.o.Target
}

// registerKey gives c a process ID and secret key of its own, which the
// client uses in a CancelRequest; sluice maps them to the backend's.
func (e *Engine) registerKey(c *conn) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for {
		var b [8]byte
		rand.Read(b[:])
		pid := binary.BigEndian.Uint32(b[:4]) & 0x7fffffff
		if _, used := e.keys[pid]; pid == 0 || used {
			continue
		}
		c.pid = pid
		c.secret = b[4:8:8]
		e.keys[pid] = c
		return
	}
}

func (e *Engine) unregisterKey(c *conn) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.keys[c.pid] == c {
		delete(e.keys, c.pid)
	}
}

// cancelFor returns the connection whose key this is.
func (e *Engine) cancelFor(pid uint32, secret []byte) *conn {
	e.mu.Lock()
	c := e.keys[pid]
	e.mu.Unlock()
	if c == nil || subtle.ConstantTimeCompare(c.secret, secret) != 1 {
		return nil
	}
	return c
}

var _ io.Closer = (*Engine)(nil)
