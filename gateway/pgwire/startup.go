package pgwire

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/sluicegw/sluice/gateway/auth"
	"github.com/sluicegw/sluice/gateway/config"
	"github.com/sluicegw/sluice/gateway/store"
)

// Startup packet codes (PostgreSQL protocol, "Message Formats").
const (
	codeSSLRequest    = 80877103
	codeGSSENCRequest = 80877104
	codeCancelRequest = 80877102
)

// SQLSTATEs sluice sends itself (PostgreSQL Appendix A).
const (
	codeInsufficientPrivilege = "42501" // BLOCK, denied approvals
	codeInvalidPassword       = "28P01" // every authentication failure
	codeInvalidAuthSpec       = "28000" // TLS required
	codeProtocolViolation     = "08P01"
	codeFeatureNotSupported   = "0A000"
	codeUndefinedObject       = "42704" // unknown startup parameter
	codeInvalidParameterValue = "22023"
	codeInvalidCatalogName    = "3D000" // wrong database
	codeConnectionFailure     = "08006"
	codeCannotConnectNow      = "57P03"
	codeProgramLimitExceeded  = "54000"
	codeQueryCanceled         = "57014"
	codeInvalidStatementName  = "26000"
	codeInvalidCursorName     = "34000"
	codeDiskFull              = "53100"
)

// errorResponse is an ErrorResponse with severity ERROR or FATAL.
func errorResponse(severity, code, msg string) *pgproto3.ErrorResponse {
	return &pgproto3.ErrorResponse{Severity: severity, SeverityUnlocalized: severity, Code: code, Message: msg}
}

// readStartupPacket reads one untyped startup-phase packet straight from
// r, without buffering: nothing the client sent after it is read, so
// bytes pipelined behind an SSLRequest reach the TLS handshake (which
// refuses them) instead of being taken as protocol messages
// (CVE-2021-23214).
func readStartupPacket(r io.Reader) (pgproto3.FrontendMessage, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := int(int32(binary.BigEndian.Uint32(hdr[:])))
	if n < 8 || n > maxStartupPacketLen {
		return nil, fmt.Errorf("invalid length of startup packet: %d", n)
	}
	body := make([]byte, n-4)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, err
	}
	return decodeStartupPacket(body)
}

func decodeStartupPacket(body []byte) (pgproto3.FrontendMessage, error) {
	code := binary.BigEndian.Uint32(body)
	var msg pgproto3.FrontendMessage
	switch {
	case code == codeSSLRequest:
		if len(body) != 4 {
			return nil, errors.New("invalid SSLRequest length")
		}
		return &pgproto3.SSLRequest{}, nil
	case code == codeGSSENCRequest:
		if len(body) != 4 {
			return nil, errors.New("invalid GSSENCRequest length")
		}
		return &pgproto3.GSSEncRequest{}, nil
	case code == codeCancelRequest:
		msg = &pgproto3.CancelRequest{}
	case code>>16 == 3:
		msg = &pgproto3.StartupMessage{}
	default:
		return nil, fmt.Errorf("unsupported frontend protocol %d.%d: sluice supports 3.0", code>>16, code&0xffff)
	}
	if err := msg.Decode(body); err != nil {
		return nil, err
	}
	return msg, nil
}

// startupParams are the run-time parameters a client may set in its
// StartupMessage; they are passed to the backend. Anything else is
// refused: `options` can set any GUC (-c role=..., session_authorization),
// and `replication` opens a walsender.
var startupParams = map[string]bool{
	"application_name":                    true,
	"client_encoding":                     true,
	"datestyle":                           true,
	"timezone":                            true,
	"extra_float_digits":                  true,
	"search_path":                         true,
	"intervalstyle":                       true,
	"bytea_output":                        true,
	"statement_timeout":                   true,
	"lock_timeout":                        true,
	"idle_in_transaction_session_timeout": true,
	"idle_session_timeout":                true,
	"standard_conforming_strings":         true,
	"client_min_messages":                 true,
	"default_transaction_isolation":       true,
	"default_transaction_read_only":       true,
	"lc_monetary":                         true,
	"lc_numeric":                          true,
	"lc_time":                             true,
	"geqo":                                true,
}

// checkParams returns the parameters to pass to the backend, or the
// error to send the client.
func checkParams(sm *pgproto3.StartupMessage) (map[string]string, []string, *pgproto3.ErrorResponse) {
	out := map[string]string{}
	var unrecognized []string
	for k, v := range sm.Parameters {
		switch lk := strings.ToLower(k); {
		case lk == "user" || lk == "database":
		case strings.HasPrefix(k, "_pq_."):
			// Protocol extensions: answered with NegotiateProtocolVersion
			// as not recognized, as PostgreSQL does.
			unrecognized = append(unrecognized, k)
		case lk == "options":
			return nil, nil, errorResponse("FATAL", codeFeatureNotSupported,
				`startup parameter "options" is not allowed through sluice (it can set any server setting); set allowed parameters one by one`)
		case lk == "replication":
			return nil, nil, errorResponse("FATAL", codeFeatureNotSupported,
				`replication connections are not supported through sluice`)
		case lk == "client_encoding":
			if !isUTF8(v) {
				return nil, nil, errorResponse("FATAL", codeInvalidParameterValue,
					fmt.Sprintf(`client_encoding %q is not supported through sluice: use UTF8 (PGCLIENTENCODING=UTF8)`, v))
			}
			out[k] = "UTF8"
		case startupParams[lk]:
			out[k] = v
		default:
			return nil, nil, errorResponse("FATAL", codeUndefinedObject,
				fmt.Sprintf(`startup parameter %q is not allowed through sluice; allowed: %s`, k, strings.Join(allowedParamNames(), ", ")))
		}
	}
	slices.Sort(unrecognized)
	return out, unrecognized, nil
}

func isUTF8(v string) bool {
	switch strings.ToUpper(strings.NewReplacer("-", "", "_", "").Replace(v)) {
	case "UTF8", "UNICODE":
		return true
	}
	return false
}

func allowedParamNames() []string {
	var names []string
	for k := range startupParams {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

// serveConn runs one client connection from its first byte to its end.
func (e *Engine) serveConn(nc net.Conn) {
	c := &conn{e: e, nc: nc, cc: nc, addr: nc.RemoteAddr().String()}
	c.ctx, c.cancel = context.WithCancel(e.ctx)
	defer c.cancel()
	nc.SetDeadline(time.Now().Add(startupTimeout))
	sm, ok := c.negotiate()
	if !ok {
		return
	}
	if !c.startup(sm) {
		return
	}
	nc.SetDeadline(time.Time{})
	c.run()
}

// negotiate handles SSLRequest, GSSENCRequest and CancelRequest until the
// StartupMessage.
func (c *conn) negotiate() (*pgproto3.StartupMessage, bool) {
	for {
		msg, err := readStartupPacket(c.cc)
		if err != nil {
			if !errors.Is(err, io.EOF) {
				c.e.log.Debug("pgwire: bad startup packet", "client", c.addr, "err", err)
				c.fatal(codeProtocolViolation, err.Error())
			}
			return nil, false
		}
		switch m := msg.(type) {
		case *pgproto3.SSLRequest:
			if c.tls {
				c.fatal(codeProtocolViolation, "SSLRequest after TLS was negotiated")
				return nil, false
			}
			if _, err := c.nc.Write([]byte{'S'}); err != nil {
				return nil, false
			}
			tc := tls.Server(c.nc, c.e.tls)
			if err := tc.HandshakeContext(c.ctx); err != nil {
				c.e.log.Debug("pgwire: TLS handshake failed", "client", c.addr, "err", err)
				return nil, false
			}
			c.cc, c.tls = tc, true
		case *pgproto3.GSSEncRequest:
			if _, err := c.cc.Write([]byte{'N'}); err != nil {
				return nil, false
			}
		case *pgproto3.CancelRequest:
			c.e.handleCancel(m)
			return nil, false
		case *pgproto3.StartupMessage:
			return m, true
		}
	}
}

// fatal sends a FATAL ErrorResponse (best effort) before the connection
// closes.
func (c *conn) fatal(code, msg string) {
	c.writeMsgs(errorResponse("FATAL", code, msg))
	c.flush()
}

// errClientGone: the client left or broke the protocol during
// authentication (already answered where it could be).
var errClientGone = errors.New("client gone")

// authMethod picks how the client proves its token (targets[].client_auth):
// "password" (cleartext, only over TLS unless the target allows
// cleartext), auth.ScramMechanism, or "" when none is allowed.
func (c *conn) authMethod() string {
	switch c.e.o.ClientAuth {
	case "scram-sha-256":
		return auth.ScramMechanism
	case "password":
		if c.tls || c.e.o.AllowCleartext {
			return "password"
		}
		return ""
	default: // auto
		if c.tls || c.e.o.AllowCleartext {
			return "password"
		}
		return auth.ScramMechanism
	}
}

// authPassword asks for the token as a cleartext password: a bearer
// secret the gateway must see anyway (section 53.3.1
// "AuthenticationCleartextPassword").
func (c *conn) authPassword() (auth.Result, error) {
	c.writeMsgs(&pgproto3.AuthenticationCleartextPassword{})
	if err := c.flush(); err != nil {
		return auth.Result{}, errClientGone
	}
	if err := c.be.SetAuthType(pgproto3.AuthTypeCleartextPassword); err != nil {
		return auth.Result{}, errClientGone
	}
	msg, err := c.be.Receive()
	if err != nil {
		return auth.Result{}, errClientGone
	}
	pm, ok := msg.(*pgproto3.PasswordMessage)
	if !ok {
		c.fatal(codeProtocolViolation, fmt.Sprintf("expected a password message, got %T", msg))
		return auth.Result{}, errClientGone
	}
	return c.e.o.Auth.Token(pm.Password)
}

// authScram runs SCRAM-SHA-256 (section 53.3.1 "SASL Authentication"):
// the token never crosses the wire, so it is safe without TLS. Only
// tokens issued by sluice (which keep a verifier) can log in this way.
func (c *conn) authScram(user string) (auth.Result, error) {
	sc := c.e.o.Auth.Scram(user)
	c.writeMsgs(&pgproto3.AuthenticationSASL{AuthMechanisms: []string{auth.ScramMechanism}})
	if err := c.flush(); err != nil {
		return auth.Result{}, errClientGone
	}
	if err := c.be.SetAuthType(pgproto3.AuthTypeSASL); err != nil {
		return auth.Result{}, errClientGone
	}
	msg, err := c.be.Receive()
	if err != nil {
		return auth.Result{}, errClientGone
	}
	init, ok := msg.(*pgproto3.SASLInitialResponse)
	if !ok || init.AuthMechanism != auth.ScramMechanism {
		c.fatal(codeProtocolViolation, "expected a SCRAM-SHA-256 SASLInitialResponse (sluice offers only SCRAM-SHA-256)")
		return auth.Result{}, errClientGone
	}
	first, err := sc.First(init.Data)
	if err != nil {
		return auth.Result{}, fmt.Errorf("%w: %v", auth.ErrDenied, err)
	}
	c.writeMsgs(&pgproto3.AuthenticationSASLContinue{Data: first})
	if err := c.flush(); err != nil {
		return auth.Result{}, errClientGone
	}
	if err := c.be.SetAuthType(pgproto3.AuthTypeSASLContinue); err != nil {
		return auth.Result{}, errClientGone
	}
	if msg, err = c.be.Receive(); err != nil {
		return auth.Result{}, errClientGone
	}
	resp, ok := msg.(*pgproto3.SASLResponse)
	if !ok {
		c.fatal(codeProtocolViolation, fmt.Sprintf("expected a SASLResponse, got %T", msg))
		return auth.Result{}, errClientGone
	}
	final, res, err := sc.Final(resp.Data)
	if err != nil {
		return res, err
	}
	c.writeMsgs(&pgproto3.AuthenticationSASLFinal{Data: final})
	return res, nil
}

// startup checks the StartupMessage, authenticates the client, connects
// to the backend and sends the client what a server sends after
// authentication. It reports whether the session is ready.
func (c *conn) startup(sm *pgproto3.StartupMessage) bool {
	c.cr = &clientReader{conn: c.cc}
	c.be = pgproto3.NewBackend(c.cr, c.cc)
	c.be.SetMaxBodyLen(c.e.o.MaxMessageLen)
	params, unrecognized, perr := checkParams(sm)
	if perr != nil {
		c.writeMsgs(perr)
		c.flush()
		return false
	}
	if sm.ProtocolVersion != pgproto3.ProtocolVersion30 || len(unrecognized) > 0 {
		// Protocol 3.2 and later: answer with the newest minor version
		// sluice speaks (section 55.2.1 "Protocol versions").
		c.writeMsgs(&pgproto3.NegotiateProtocolVersion{NewestMinorProtocol: 0, UnrecognizedOptions: unrecognized})
	}
	user, database := sm.Parameters["user"], sm.Parameters["database"]
	if database == "" {
		database = user
	}
	if user == "" {
		c.fatal(codeInvalidAuthSpec, "no user name given: connect with user=<your sluice identity>")
		return false
	}
	t := c.e.target()
	if database != t.Name {
		c.fatal(codeInvalidCatalogName, fmt.Sprintf("database %q does not exist: this sluice listener serves the target %q", database, t.Name))
		return false
	}
	method := c.authMethod()
	if method == "" {
		c.fatal(codeInvalidAuthSpec, "sluice requires TLS for password authentication: connect with sslmode=require")
		return false
	}
	var res auth.Result
	var err error
	if method == auth.ScramMechanism {
		res, err = c.authScram(user)
	} else {
		res, err = c.authPassword()
	}
	if errors.Is(err, errClientGone) {
		return false
	}
	reason := ""
	switch {
	case err != nil:
		reason = err.Error()
	case res.Identity.Name != user:
		// A valid token presented under another identity's name.
		reason = fmt.Sprintf("token of %s presented as %s", res.Identity.Name, user)
	case !t.Allows(user):
		reason = fmt.Sprintf("identity %s is not allowed on target %s", user, t.Name)
	}
	if reason != "" {
		c.authFailed(user, reason)
		return false
	}
	c.identity = user
	c.target = t
	sess, err := c.e.o.Store.OpenSession(store.NewSession{Identity: user, Target: t.Name, Protocol: "postgres", ClientAddr: c.addr},
		mustJSON(map[string]any{"database": database, "application_name": params["application_name"], "tls": c.tls}))
	if err != nil {
		c.e.log.Error("pgwire: cannot record the session: refusing the client", "identity", user, "err", err)
		c.fatal(codeCannotConnectNow, "sluice cannot record this session now; try again later")
		return false
	}
	c.sess = sess
	if _, err := sess.Durable(store.KindAuth, mustJSON(map[string]any{"result": "ok", "identity": user, "source": res.Source, "method": method, "tls": c.tls})); err != nil {
		c.fatal(codeCannotConnectNow, "sluice cannot record this session now; try again later")
		c.closeSession("recording failed")
		return false
	}
	hc, err := c.e.connectUpstream(c.ctx, t, params)
	if err != nil {
		// pgconn's errors name the backend user ("failed to connect to
		// `user=... database=...`"): it stays out of the log, and the
		// client hears less still.
		c.e.log.Warn("pgwire: cannot connect to the backend", "identity", user, "err", scrubSecrets(err.Error(), t.Upstream))
		c.fatal(codeConnectionFailure, "sluice could not connect to the database server")
		c.closeSession("backend unavailable")
		return false
	}
	if hc.Frontend.ReadBufferLen() != 0 {
		// The backend said more than it should have before the first
		// query: sluice cannot take over a stream in mid-message.
		hc.Conn.Close()
		c.fatal(codeConnectionFailure, "sluice could not connect to the database server")
		c.closeSession("backend protocol error")
		return false
	}
	c.bc, c.brd = hc.Conn, newBackendReader(hc.Conn, c.e.o.MaxBufferedRow)
	c.fe = pgproto3.NewFrontend(c.brd, hc.Conn)
	c.backendPID, c.backendSecret = hc.PID, hc.SecretKey
	c.e.registerKey(c)
	c.writeMsgs(&pgproto3.AuthenticationOk{})
	names := make([]string, 0, len(hc.ParameterStatuses))
	for k := range hc.ParameterStatuses {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		c.writeMsgs(c.parameterStatus(k, hc.ParameterStatuses[k]))
	}
	c.writeMsgs(&pgproto3.BackendKeyData{ProcessID: c.pid, SecretKey: c.secret},
		&pgproto3.ReadyForQuery{TxStatus: hc.TxStatus})
	if err := c.flush(); err != nil {
		c.bc.Close()
		c.e.unregisterKey(c)
		c.closeSession("client gone")
		return false
	}
	c.e.log.Info("pgwire: session started", "identity", user, "client", c.addr, "session", sess.ID().String(), "tls", c.tls)
	return true
}

// parameterStatus rewrites what would name the backend's user: the client
// is its sluice identity (session_authorization is GUC_REPORT since
// PostgreSQL 14).
func (c *conn) parameterStatus(name, value string) *pgproto3.ParameterStatus {
	if strings.EqualFold(name, "session_authorization") {
		value = c.identity
	}
	return &pgproto3.ParameterStatus{Name: name, Value: value}
}

// authFailed records a refused login and sends the one generic error.
// The attempt is a session of its own (identity: the name the client
// claimed) with an auth event that says why, ended at once, so `sluice
// sessions list` shows failed logins next to the others.
func (c *conn) authFailed(user, reason string) {
	c.e.log.Warn("pgwire: authentication failed", "user", user, "client", c.addr, "reason", reason)
	if len(user) > 128 {
		user = user[:128]
	}
	sess, err := c.e.o.Store.OpenSession(store.NewSession{Identity: user, Target: c.e.o.Target.Name, Protocol: "postgres", ClientAddr: c.addr}, nil)
	if err == nil {
		sess.Durable(store.KindAuth, mustJSON(map[string]any{"result": "denied", "user": user, "method": "password", "reason": reason}))
		sess.Close("authentication failed")
	} else {
		c.e.log.Error("pgwire: cannot record a failed login", "err", err)
	}
	c.fatal(codeInvalidPassword, auth.ErrDenied.Error())
}

func (c *conn) closeSession(reason string) {
	if c.sess != nil {
		c.sess.Close(reason)
	}
}

// connectUpstream logs in to the backend with the credential sluice holds
// and hijacks the connection: from then on, sluice speaks the protocol on
// it itself. pgconn does the authentication (SCRAM-SHA-256, md5,
// password) and TLS as libpq's sslmode says.
func (e *Engine) connectUpstream(ctx context.Context, t config.Target, params map[string]string) (*pgconn.HijackedConn, error) {
	host, port, err := net.SplitHostPort(t.Upstream.Address)
	if err != nil {
		return nil, fmt.Errorf("upstream.address %q: %w", t.Upstream.Address, err)
	}
	dsn := "host=" + dsnQuote(host) + " port=" + dsnQuote(port) + " sslmode=" + dsnQuote(e.o.UpstreamSSLMode)
	if e.o.UpstreamRootCert != "" {
		dsn += " sslrootcert=" + dsnQuote(e.o.UpstreamRootCert)
	}
	cfg, err := pgconn.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	cfg.User, cfg.Password, cfg.Database = t.Upstream.User, t.Upstream.Password, t.Upstream.Database
	cfg.RuntimeParams = params
	if _, ok := params["client_encoding"]; !ok {
		params["client_encoding"] = "UTF8"
	}
	cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	pc, err := pgconn.ConnectConfig(cctx, cfg)
	if err != nil {
		return nil, err
	}
	hc, err := pc.Hijack()
	if err != nil {
		pc.Close(ctx)
		return nil, err
	}
	return hc, nil
}

// dsnQuote quotes a keyword/value connection string value.
func dsnQuote(v string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
}

// scrubSecrets removes the backend's user name and password from a text.
func scrubSecrets(s string, u config.Upstream) string {
	if u.Password != "" {
		s = strings.ReplaceAll(s, u.Password, "[redacted]")
	}
	if u.User != "" {
		s = strings.ReplaceAll(s, u.User, "[backend user]")
	}
	return s
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
