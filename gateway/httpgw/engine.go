package httpgw

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sluicegw/sluice/gateway/approvals"
	"github.com/sluicegw/sluice/gateway/auth"
	"github.com/sluicegw/sluice/gateway/config"
	"github.com/sluicegw/sluice/gateway/policy"
	"github.com/sluicegw/sluice/gateway/store"
)

// Limits and defaults of Options.
const (
	// DefaultHeaderTimeout bounds reading a request line and its headers
	// (and a body small enough to be read with them); a client slower than
	// that gets 408 (RFC 9110 §15.5.9).
	DefaultHeaderTimeout = 10 * time.Second
	// DefaultBodyIdleTimeout is the longest wait for the next bytes of a
	// request body being streamed to the upstream; then 408.
	DefaultBodyIdleTimeout = 30 * time.Second
	// DefaultWriteIdleTimeout is the longest a write to a client may block
	// (a client that stopped reading); then the connection is closed.
	DefaultWriteIdleTimeout = 60 * time.Second
	// DefaultIdleTimeout is how long a keep-alive connection may wait for
	// its next request.
	DefaultIdleTimeout = 90 * time.Second
	// DefaultUpstreamTimeout bounds connecting to the upstream and each
	// wait for its bytes (the response header included); then 504.
	DefaultUpstreamTimeout = 60 * time.Second
	// DefaultMaxHeaderBytes caps the request line plus headers; past it
	// 431 (RFC 6585 §5). nginx's large_client_header_buffers is 8k per
	// line; 16 KiB leaves room for a JWT or two.
	DefaultMaxHeaderBytes = 16 << 10
	// DefaultMaxRequestBody caps a request body; past it 413 (RFC 9110
	// §15.5.14). A declared Content-Length over it is refused before
	// anything is forwarded; a chunked body is cut where it crosses it.
	DefaultMaxRequestBody = 32 << 20
	// DefaultApprovalWait is how long a request that needs approval is
	// held before the client gets 202 and a Retry-After.
	DefaultApprovalWait = 30 * time.Second
	// DefaultRetryAfter is the Retry-After of that 202.
	DefaultRetryAfter = 10 * time.Second
	// DefaultMaxRecordedBody caps the masked response body recorded per
	// request (the store's session quota caps the session as well).
	DefaultMaxRecordedBody = 64 << 10
	// bodyPrefetch is the request body size read together with the
	// headers; larger bodies are streamed (fasthttp's MaxRequestBodySize
	// is this threshold when StreamRequestBody is on, not a limit).
	bodyPrefetch = 64 << 10
	// maxHeaderFacts caps the header.NAME facts of one request.
	maxHeaderFacts = 64
	// shutdownGrace is how long Close lets requests in flight finish.
	shutdownGrace = 5 * time.Second
)

// UnknownContentType values of Options.UnknownContentType.
const (
	UnknownPass  = "pass"
	UnknownBlock = "block"
)

// Options configure an Engine. Target, Auth and Store are required.
type Options struct {
	// SyncReads syncs the record of a GET, HEAD or OPTIONS request before
	// forwarding it, like every other request (store.sync_reads). False:
	// such records are written at once and synced in a group within the
	// store's SyncInterval (store.Session.Written).
	SyncReads bool
	// Target is the http target this engine serves: name, listen address,
	// upstream (host:port, or an http:// or https:// URL whose path is a
	// prefix of every forwarded path), allow list and plugins.
	Target config.Target
	// Config, if set, returns the running config: the target's allow list
	// is read from it (by Target.Name) for every request, so a reload
	// applies at once. The upstream is fixed at New.
	Config func() *config.Config
	// Auth turns the client's "Authorization: Bearer" token into an
	// identity.
	Auth *auth.Authenticator
	// Chain returns the target's plugin chain; read for every request, so
	// a reload applies at once. Nil: no plugins.
	Chain func() (policy.Chain, error)
	// Store records sessions. Required.
	Store *store.Store
	// Approvals holds requests a plugin sent for approval. Nil: such
	// requests are refused (403).
	Approvals *approvals.Manager
	// Logger (default slog.Default()).
	Logger *slog.Logger

	// OIDC lists the issuers whose ID tokens are accepted as
	// "Authorization: Bearer <JWT>", mapped to config identities by
	// claim rules. Nil: sluice tokens only.
	OIDC []OIDCIssuer

	// Credential is what sluice adds to every upstream request. The zero
	// value derives it from Target.Upstream: basic auth when User is set,
	// else a bearer token when Password is set, else none.
	Credential Credential

	// TLSConfig, if set, terminates TLS on the listener (HTTPS).
	TLSConfig *tls.Config
	// UpstreamTLS configures https:// upstreams (RootCAs for a private
	// CA, client certificates). Nil: the system roots. The server name
	// is always verified unless the config says InsecureSkipVerify.
	UpstreamTLS *tls.Config

	// Timeouts (see the Default... constants; negative: none).
	HeaderTimeout    time.Duration
	BodyIdleTimeout  time.Duration
	WriteIdleTimeout time.Duration
	IdleTimeout      time.Duration
	UpstreamTimeout  time.Duration

	// MaxHeaderBytes caps the request line and headers (default
	// DefaultMaxHeaderBytes).
	MaxHeaderBytes int
	// MaxRequestBody caps a request body (default DefaultMaxRequestBody;
	// negative: no cap).
	MaxRequestBody int64
	// MaxConns caps concurrent upstream connections (default 1024).
	MaxConns int

	// UnknownContentType is what happens to a response whose content type
	// sluice cannot mask while the chain has masking plugins: "pass"
	// (default; recorded without its body) or "block" (502).
	UnknownContentType string
	// MaskRequestBody runs request bodies of the media types sluice masks
	// in responses through the masking chain before they are forwarded
	// (chunked), e.g. logs posted to a log API. An encoded (gzip, ...)
	// body is refused with 415 then.
	MaskRequestBody bool
	// FactHeaders lists the request headers handed to plugins as
	// header.NAME facts (case-insensitive). Nil: every header except
	// Authorization, Proxy-Authorization and Cookie (at most 64).
	FactHeaders []string

	// ApprovalWait is how long a request that needs approval is held
	// (default DefaultApprovalWait); past it the client gets 202.
	ApprovalWait time.Duration
	// RetryAfter is the Retry-After sent with that 202 (default
	// DefaultRetryAfter).
	RetryAfter time.Duration
	// MaxRecordedBody caps the response body bytes recorded per request
	// (default DefaultMaxRecordedBody; negative: no body recorded).
	MaxRecordedBody int
}

// Engine serves one http target. Safe for concurrent use.
type Engine struct {
	o        Options
	log      *slog.Logger
	srv      *fasthttp.Server
	up       *upstream
	cred     resolvedCredential
	oidc     *oidcVerifier
	factSet  map[string]bool
	ctx      context.Context
	cancel   context.CancelFunc
	https    bool
	approval approvalHolds

	mu       sync.Mutex
	conns    map[net.Conn]*clientConn
	closed   bool
	draining bool           // Close waits for wg: no more Add
	wg       sync.WaitGroup // response and WebSocket goroutines
}

// New checks the options, resolves the upstream credential (reading its
// environment variable or file) and prepares the upstream client.
func New(o Options) (*Engine, error) {
	if o.Target.Protocol != "" && o.Target.Protocol != config.ProtocolHTTP {
		return nil, fmt.Errorf("httpgw: target %q: protocol is %s, not http", o.Target.Name, o.Target.Protocol)
	}
	if o.Target.Name == "" {
		return nil, errors.New("httpgw: Options.Target has no name")
	}
	if o.Auth == nil || o.Store == nil {
		return nil, errors.New("httpgw: Options.Auth and Options.Store are required")
	}
	if o.Chain == nil {
		o.Chain = func() (policy.Chain, error) { return nil, nil }
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	def := func(d *time.Duration, v time.Duration) {
		switch {
		case *d == 0:
			*d = v
		case *d < 0:
			*d = 0
		}
	}
	def(&o.HeaderTimeout, DefaultHeaderTimeout)
	def(&o.BodyIdleTimeout, DefaultBodyIdleTimeout)
	def(&o.WriteIdleTimeout, DefaultWriteIdleTimeout)
	def(&o.IdleTimeout, DefaultIdleTimeout)
	def(&o.UpstreamTimeout, DefaultUpstreamTimeout)
	def(&o.ApprovalWait, DefaultApprovalWait)
	def(&o.RetryAfter, DefaultRetryAfter)
	if o.MaxHeaderBytes <= 0 {
		o.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if o.MaxRequestBody == 0 {
		o.MaxRequestBody = DefaultMaxRequestBody
	}
	if o.MaxConns <= 0 {
		o.MaxConns = 1024
	}
	if o.MaxRecordedBody == 0 {
		o.MaxRecordedBody = DefaultMaxRecordedBody
	}
	switch o.UnknownContentType {
	case "":
		o.UnknownContentType = UnknownPass
	case UnknownPass, UnknownBlock:
	default:
		return nil, fmt.Errorf("httpgw: target %q: unknown content type action %q is not pass or block", o.Target.Name, o.UnknownContentType)
	}
	cred, err := o.Credential.resolve(o.Target.Upstream)
	if err != nil {
		return nil, fmt.Errorf("httpgw: target %q: upstream credential: %w", o.Target.Name, err)
	}
	var oidc *oidcVerifier
	if len(o.OIDC) > 0 {
		if oidc, err = newOIDCVerifier(o.OIDC, time.Now); err != nil {
			return nil, fmt.Errorf("httpgw: target %q: %w", o.Target.Name, err)
		}
	}
	up, err := newUpstream(o)
	if err != nil {
		return nil, fmt.Errorf("httpgw: target %q: %w", o.Target.Name, err)
	}
	e := &Engine{
		o: o, up: up, cred: cred, oidc: oidc,
		log:   o.Logger.With("target", o.Target.Name, "protocol", "http"),
		https: o.TLSConfig != nil,
		conns: map[net.Conn]*clientConn{},
	}
	if o.FactHeaders != nil {
		e.factSet = map[string]bool{}
		for _, h := range o.FactHeaders {
			e.factSet[lowerASCII(h)] = true
		}
	}
	e.approval.ids = map[string]*hold{}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	e.srv = &fasthttp.Server{
		Handler:      e.handle,
		ErrorHandler: e.errorHandler,
		ConnState:    e.connState,
		// A client that asks before sending a body (Expect: 100-continue,
		// as curl does past 1 MiB) learns of a body too large before it
		// sends it (RFC 9110 §10.1.1).
		ExpectHandler: func(ctx *fasthttp.RequestCtx) int {
			if cl := ctx.Request.Header.ContentLength(); o.MaxRequestBody > 0 && int64(cl) > o.MaxRequestBody {
				ctx.Response.Header.SetContentType("application/json")
				ctx.Response.SetBody(mustJSON(errorBody{Error: "request body too large"}))
				return fasthttp.StatusRequestEntityTooLarge
			}
			return fasthttp.StatusContinue
		},
		Logger: fasthttpLogger{e.log},
		// Request limits (see the constants).
		ReadBufferSize:     o.MaxHeaderBytes,
		ReadTimeout:        o.HeaderTimeout,
		IdleTimeout:        o.IdleTimeout,
		MaxRequestBodySize: bodyPrefetch,
		StreamRequestBody:  true,
		// A proxy passes bodies through: never parse a form.
		DisablePreParseMultipartForm: true,
		// The upstream's Server and Content-Type are the client's
		// business; sluice adds neither.
		NoDefaultServerHeader: true,
		NoDefaultContentType:  true,
		// fasthttp would log parts of a malformed request; they may hold
		// a token.
		SecureErrorLogMessage: true,
		CloseOnShutdown:       true,
	}
	return e, nil
}

// Serve accepts clients on ln until ln fails or the engine is closed. It
// returns nil after Close. It may be called for several listeners.
func (e *Engine) Serve(ln net.Listener) error {
	e.mu.Lock()
	closed := e.closed
	e.mu.Unlock()
	if closed {
		ln.Close()
		return nil
	}
	var l net.Listener = &deadlineListener{Listener: ln, write: e.o.WriteIdleTimeout}
	if e.o.TLSConfig != nil {
		l = tls.NewListener(l, e.o.TLSConfig)
	}
	err := e.srv.Serve(l)
	if e.isClosed() {
		return nil
	}
	return err
}

// Close stops accepting, lets requests in flight finish for a few seconds,
// closes what is left, and ends every open session. Held approvals return
// at once (their requests stay pending for reviewers).
func (e *Engine) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	e.mu.Unlock()
	e.cancel()
	ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	err := e.srv.ShutdownWithContext(ctx)
	cancel()
	if errors.Is(err, context.DeadlineExceeded) {
		err = nil
	}
	e.mu.Lock()
	e.draining = true
	left := make([]*clientConn, 0, len(e.conns))
	for nc, cc := range e.conns {
		nc.Close()
		left = append(left, cc)
	}
	e.mu.Unlock()
	e.wg.Wait()
	for _, cc := range left {
		cc.close("gateway shutting down")
	}
	e.up.close()
	return err
}

// track counts a goroutine that Close waits for; false once Close waits
// (the caller then gives up what it was about to start).
func (e *Engine) track() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.draining {
		return false
	}
	e.wg.Add(1)
	return true
}

func (e *Engine) isClosed() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.closed
}

// target returns the running config's entry for this target (the allow
// list may have changed), or the one given to New.
func (e *Engine) target() config.Target {
	if e.o.Config != nil {
		if cfg := e.o.Config(); cfg != nil {
			if t, ok := cfg.Target(e.o.Target.Name); ok {
				return t
			}
			// Removed from the config: nobody may use it any more.
			t := e.o.Target
			t.Allow = nil
			return t
		}
	}
	return e.o.Target
}

// connState keeps the per-connection state: a connection's sessions end
// when it closes.
func (e *Engine) connState(nc net.Conn, st fasthttp.ConnState) {
	// A hijacked connection (a WebSocket) stays listed, so Close can
	// close it; its hijack handler removes it and ends its sessions.
	if st != fasthttp.StateClosed {
		return
	}
	e.mu.Lock()
	cc := e.conns[nc]
	delete(e.conns, nc)
	e.mu.Unlock()
	if cc == nil {
		return
	}
	cc.mu.Lock()
	up := cc.pendingUpstream
	cc.pendingUpstream = nil
	cc.mu.Unlock()
	if up != nil {
		up.Close()
	}
	cc.close("client disconnected")
}

// conn returns the state of the request's connection.
func (e *Engine) conn(ctx *fasthttp.RequestCtx) *clientConn {
	nc := ctx.Conn()
	e.mu.Lock()
	defer e.mu.Unlock()
	cc := e.conns[nc]
	if cc == nil {
		cc = &clientConn{e: e, addr: ctx.RemoteAddr().String(), sessions: map[string]*store.Session{}}
		e.conns[nc] = cc
	}
	return cc
}

// fasthttpLogger sends fasthttp's own messages to the engine's logger.
type fasthttpLogger struct{ l *slog.Logger }

func (f fasthttpLogger) Printf(format string, args ...any) {
	f.l.Debug("httpgw: " + fmt.Sprintf(format, args...))
}

// deadlineListener gives every accepted connection a write deadline that
// moves with each write, so a client that stops reading is cut off while
// one that reads a long stream slowly is not.
type deadlineListener struct {
	net.Listener
	write time.Duration
}

func (l *deadlineListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil || l.write <= 0 {
		return c, err
	}
	return &deadlineConn{Conn: c, write: l.write}, nil
}

// deadlineConn moves the read deadline before every read and the write
// deadline before every write, when set.
type deadlineConn struct {
	net.Conn
	read, write time.Duration
}

func (c *deadlineConn) Read(p []byte) (int, error) {
	if c.read > 0 {
		c.Conn.SetReadDeadline(time.Now().Add(c.read))
	}
	return c.Conn.Read(p)
}

func (c *deadlineConn) Write(p []byte) (int, error) {
	if c.write > 0 {
		c.Conn.SetWriteDeadline(time.Now().Add(c.write))
	}
	return c.Conn.Write(p)
}
