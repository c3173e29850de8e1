package sshgw

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/sluicegw/sluice/gateway/auth"
	"github.com/sluicegw/sluice/gateway/config"
	"github.com/sluicegw/sluice/gateway/store"
)

// Permissions extensions sluice sets on a successful login.
const (
	extIdentity = "sluice-identity"
	extMethod   = "sluice-method"
	extDetail   = "sluice-detail" // key fingerprint or token source
)

// conn is one authenticated client connection: one store session, one
// upstream connection (dialed for the first command), its channels.
type conn struct {
	e        *Engine
	sc       *ssh.ServerConn
	identity string
	addr     string
	target   config.Target
	sess     *store.Session
	ctx      context.Context
	cancel   context.CancelFunc

	upMu sync.Mutex
	up   *ssh.Client
	lost map[*ssh.Client]string // upstreams given up (keepalives), why

	chMu      sync.Mutex
	chans     int
	open      map[*session]struct{} // sessions to tell when sluice ends the connection
	endReason string                // why sluice ended it (timeouts); "" the client left
	wg        sync.WaitGroup
}

// authAttempt is one refused authentication attempt, for the recording.
type authAttempt struct {
	User   string `json:"user"`
	Method string `json:"method"`
	Key    string `json:"key,omitempty"` // SHA256 fingerprint of an offered key
	Reason string `json:"reason"`
}

// authLog collects the refused attempts of one connection; the callbacks
// of x/crypto/ssh run on the connection's goroutine, the mutex is for the
// race detector's peace of mind.
type authLog struct {
	mu       sync.Mutex
	attempts []authAttempt
}

func (l *authLog) add(a authAttempt) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.attempts) < 2*DefaultMaxAuthTries {
		l.attempts = append(l.attempts, a)
	}
}

func (l *authLog) list() []authAttempt {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]authAttempt(nil), l.attempts...)
}

// serverConfig is the server side of one connection: the callbacks see
// the target as it was when the client connected.
func (e *Engine) serverConfig(t config.Target, log *authLog) *ssh.ServerConfig {
	ciphers := e.o.Ciphers
	if len(ciphers) == 0 {
		ciphers = config.DefaultSSHCiphers
	}
	cfg := &ssh.ServerConfig{
		Config:        ssh.Config{Ciphers: ciphers},
		MaxAuthTries:  DefaultMaxAuthTries,
		ServerVersion: "SSH-2.0-sluice",
		PublicKeyCallback: func(meta ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			user, fp := meta.User(), ssh.FingerprintSHA256(key)
			cert, isCert := key.(*ssh.Certificate)
			method := "publickey"
			var certPerms *ssh.Permissions
			reason := ""
			if isCert {
				method = "certificate"
				fp = fmt.Sprintf("%s serial %d id %q CA %s", ssh.FingerprintSHA256(cert.Key), cert.Serial, cert.KeyId,
					ssh.FingerprintSHA256(cert.SignatureKey))
				var err error
				if certPerms, err = e.certChecker().Authenticate(meta, key); err != nil {
					reason = strings.TrimPrefix(err.Error(), "ssh: ")
				} else if sa, ok := certPerms.CriticalOptions["source-address"]; ok && !sourceAllowed(meta.RemoteAddr(), sa) {
					// x/crypto/ssh would refuse it too, after this
					// callback: checked here so the refusal is recorded.
					reason = fmt.Sprintf("source address %s not in the certificate's source-address %s", meta.RemoteAddr(), sa)
				}
			}
			switch {
			case reason != "":
			case !e.identityExists(user):
				reason = "no such identity"
			case !isCert && !e.keyListed(user, key):
				reason = "key not listed for the identity"
			case !t.Allows(user):
				reason = fmt.Sprintf("identity %s is not allowed on target %s", user, t.Name)
			}
			if reason != "" {
				log.add(authAttempt{User: user, Method: method, Key: fp, Reason: reason})
				return nil, auth.ErrDenied
			}
			perms := &ssh.Permissions{Extensions: map[string]string{extIdentity: user, extMethod: method, extDetail: fp}}
			if certPerms != nil {
				// source-address, enforced by x/crypto/ssh after this
				// callback (the only critical option the checker lets
				// through).
				perms.CriticalOptions = certPerms.CriticalOptions
			}
			return perms, nil
		},
		PasswordCallback: func(meta ssh.ConnMetadata, password []byte) (*ssh.Permissions, error) {
			user := meta.User()
			res, err := e.o.Auth.Token(string(password))
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
				log.add(authAttempt{User: user, Method: "password", Reason: reason})
				return nil, auth.ErrDenied
			}
			return &ssh.Permissions{Extensions: map[string]string{extIdentity: user, extMethod: "password", extDetail: res.Source}}, nil
		},
	}
	cfg.AddHostKey(e.hostKey)
	return cfg
}

// identityExists reports whether the running config names the identity
// (always true without a config: UserKeys decides alone).
func (e *Engine) identityExists(name string) bool {
	if e.o.Config == nil {
		return true
	}
	cfg := e.o.Config()
	if cfg == nil {
		return true
	}
	_, ok := cfg.Identity(name)
	return ok
}

// certChecker checks user certificates against Options.UserCAKeys.
func (e *Engine) certChecker() *ssh.CertChecker {
	return &ssh.CertChecker{
		IsUserAuthority: func(ca ssh.PublicKey) bool {
			want := ca.Marshal()
			for _, k := range e.o.UserCAKeys {
				if bytes.Equal(k.Marshal(), want) {
					return true
				}
			}
			return false
		},
	}
}

// sourceAllowed reports whether addr is in a certificate's
// source-address list (comma-separated addresses and CIDR blocks,
// PROTOCOL.certkeys).
func sourceAllowed(addr net.Addr, list string) bool {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return false
	}
	for _, s := range strings.Split(list, ",") {
		s = strings.TrimSpace(s)
		if _, n, err := net.ParseCIDR(s); err == nil {
			if n.Contains(tcp.IP) {
				return true
			}
		} else if ip := net.ParseIP(s); ip != nil && ip.Equal(tcp.IP) {
			return true
		}
	}
	return false
}

func (e *Engine) keyListed(identity string, key ssh.PublicKey) bool {
	if e.o.UserKeys == nil {
		return false
	}
	want := key.Marshal()
	for _, k := range e.o.UserKeys(identity) {
		// A certificate is not its signature key: only plain keys match.
		if k != nil && bytes.Equal(k.Marshal(), want) {
			return true
		}
	}
	return false
}

// serveConn runs one client connection: handshake and authentication,
// then its channels until the client leaves or the engine closes.
func (e *Engine) serveConn(nc net.Conn) {
	addr := nc.RemoteAddr().String()
	t := e.target()
	var log authLog
	nc.SetDeadline(time.Now().Add(e.o.HandshakeTimeout))
	ac := newActivityConn(nc)
	sc, chans, reqs, err := ssh.NewServerConn(ac, e.serverConfig(t, &log))
	if err != nil {
		if attempts := log.list(); len(attempts) > 0 {
			e.authFailed(addr, attempts)
		} else {
			e.log.Debug("sshgw: handshake failed", "client", addr, "err", err)
		}
		return
	}
	nc.SetDeadline(time.Time{})
	defer sc.Close()
	c := &conn{e: e, sc: sc, addr: addr, target: t,
		identity: sc.Permissions.Extensions[extIdentity]}
	c.ctx, c.cancel = context.WithCancel(e.ctx)
	defer c.cancel()
	method, detail := sc.Permissions.Extensions[extMethod], sc.Permissions.Extensions[extDetail]
	sess, err := e.o.Store.OpenSession(store.NewSession{Identity: c.identity, Target: t.Name, Protocol: "ssh", ClientAddr: addr},
		mustJSON(map[string]any{"client_version": string(sc.ClientVersion())}))
	if err != nil {
		// SSH has no error to send outside a channel: the client sees the
		// connection close.
		e.log.Error("sshgw: cannot record the session: refusing the client", "identity", c.identity, "err", err)
		return
	}
	c.sess = sess
	authEv := map[string]any{"result": "ok", "identity": c.identity, "method": method}
	if method != "password" {
		authEv["key"] = detail
	} else {
		authEv["source"] = detail
	}
	if failed := log.list(); len(failed) > 0 {
		authEv["refused_before"] = failed
	}
	if _, err := sess.Durable(store.KindAuth, mustJSON(authEv)); err != nil {
		e.log.Error("sshgw: cannot record the session: refusing the client", "identity", c.identity, "err", err)
		sess.Close("recording failed")
		return
	}
	e.log.Info("sshgw: session started", "identity", c.identity, "client", addr, "method", method, "session", sess.ID().String())
	go c.globalRequests(reqs)
	if e.o.IdleTimeout > 0 || e.o.SessionTimeout > 0 {
		go c.watchTimeouts(ac)
	}
	for nch := range chans {
		c.channel(nch)
	}
	// The client is gone: so is every channel. Closing the upstream
	// connection first unblocks commands still running there (a command
	// that neither reads nor writes would otherwise hold its channel, and
	// this goroutine, until it exits).
	c.cancel()
	c.upMu.Lock()
	if c.up != nil {
		c.up.Close()
	}
	c.upMu.Unlock()
	c.wg.Wait()
	reason := "client disconnected"
	c.chMu.Lock()
	if c.endReason != "" {
		reason = c.endReason
	}
	c.chMu.Unlock()
	if e.ctx.Err() != nil {
		reason = "gateway shutting down"
	}
	sess.Close(reason)
}

// authFailed records a connection whose client never authenticated: a
// session of its own (identity: the first name the client claimed) with
// an auth event listing why each attempt was refused, ended at once, so
// `sluice sessions list` shows failed logins next to the others. The
// client saw only "Permission denied", whatever the reason.
func (e *Engine) authFailed(addr string, attempts []authAttempt) {
	user := attempts[0].User
	if len(user) > 128 {
		user = user[:128]
	}
	e.log.Warn("sshgw: authentication failed", "user", user, "client", addr, "attempts", len(attempts), "reason", attempts[len(attempts)-1].Reason)
	sess, err := e.o.Store.OpenSession(store.NewSession{Identity: user, Target: e.o.Target.Name, Protocol: "ssh", ClientAddr: addr}, nil)
	if err != nil {
		e.log.Error("sshgw: cannot record a failed login", "err", err)
		return
	}
	sess.Durable(store.KindAuth, mustJSON(map[string]any{"result": "denied", "user": user, "attempts": attempts}))
	sess.Close("authentication failed")
}

// globalRequests refuses every global request: remote port forwarding
// (tcpip-forward, streamlocal-forward@openssh.com) and anything else.
// Keepalives (keepalive@openssh.com) get their failure reply, which is
// all OpenSSH expects.
func (c *conn) globalRequests(reqs <-chan *ssh.Request) {
	for req := range reqs {
		switch req.Type {
		case "tcpip-forward", "streamlocal-forward@openssh.com":
			c.e.log.Warn("sshgw: remote port forwarding refused", "identity", c.identity, "request", req.Type)
			c.sess.Append(store.KindError, mustJSON(map[string]any{"refused": req.Type, "error": "remote port forwarding is not allowed"}))
		}
		if req.WantReply {
			req.Reply(false, nil)
		}
	}
}

// channel accepts session channels (up to MaxChannels at once) and
// rejects every other kind with a message the client prints.
func (c *conn) channel(nch ssh.NewChannel) {
	var refuse string
	switch nch.ChannelType() {
	case "session":
		c.chMu.Lock()
		full := c.chans >= c.e.o.MaxChannels
		if !full {
			c.chans++
		}
		c.chMu.Unlock()
		if full {
			nch.Reject(ssh.ResourceShortage, fmt.Sprintf("sluice: at most %d sessions per connection", c.e.o.MaxChannels))
			return
		}
		ch, reqs, err := nch.Accept()
		if err != nil {
			c.releaseChannel()
			return
		}
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			defer c.releaseChannel()
			c.session(ch, reqs)
		}()
		return
	case "direct-tcpip", "direct-streamlocal@openssh.com":
		refuse = "sluice: port forwarding is not allowed on this target"
	case "x11":
		refuse = "sluice: X11 forwarding is not allowed on this target"
	case "auth-agent@openssh.com":
		refuse = "sluice: agent forwarding is not allowed on this target"
	default:
		nch.Reject(ssh.UnknownChannelType, "sluice: unknown channel type "+nch.ChannelType())
		return
	}
	c.e.log.Warn("sshgw: channel refused", "identity", c.identity, "type", nch.ChannelType())
	c.sess.Append(store.KindError, mustJSON(map[string]any{"refused": nch.ChannelType(), "error": refuse}))
	nch.Reject(ssh.Prohibited, refuse)
}

func (c *conn) releaseChannel() {
	c.chMu.Lock()
	c.chans--
	c.chMu.Unlock()
}

// upstream returns the connection's upstream client, dialing it for the
// first command. A failed dial is not cached: the next command retries.
func (c *conn) upstream() (*ssh.Client, error) {
	c.upMu.Lock()
	defer c.upMu.Unlock()
	if c.up != nil {
		return c.up, nil
	}
	up, err := c.e.dialUpstream(c.ctx)
	if err != nil {
		return nil, err
	}
	if c.ctx.Err() != nil {
		up.Close()
		return nil, errors.New("client gone")
	}
	c.up = up
	if c.e.o.KeepaliveInterval > 0 {
		c.wg.Add(1)
		go c.keepalive(up)
	}
	return up, nil
}
