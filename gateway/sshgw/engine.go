package sshgw

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/sluicegw/sluice/gateway/approvals"
	"github.com/sluicegw/sluice/gateway/auth"
	"github.com/sluicegw/sluice/gateway/config"
	"github.com/sluicegw/sluice/gateway/internal/netserve"
	"github.com/sluicegw/sluice/gateway/policy"
	"github.com/sluicegw/sluice/gateway/store"
)

// Limits and defaults.
const (
	// DefaultHandshakeTimeout bounds the SSH handshake and client
	// authentication (OpenSSH's LoginGraceTime is 120s; a gateway for
	// machines needs less).
	DefaultHandshakeTimeout = 30 * time.Second
	// DefaultUpstreamTimeout bounds connecting to the upstream and its
	// handshake.
	DefaultUpstreamTimeout = 30 * time.Second
	// DefaultMaxChannels caps the session channels open at once on one
	// client connection (OpenSSH's MaxSessions is 10).
	DefaultMaxChannels = 10
	// DefaultMaxAuthTries is how many authentication attempts a client
	// gets per connection (OpenSSH's MaxAuthTries is 6).
	DefaultMaxAuthTries = 6
	// DefaultKeepaliveCountMax is how many upstream keepalives may go
	// unanswered (OpenSSH's ServerAliveCountMax is 3).
	DefaultKeepaliveCountMax = 3
	// DefaultMaxRecordedOutput caps the masked output recorded per stream
	// (stdout, stderr) of one command; the store's session quota caps the
	// session as well.
	DefaultMaxRecordedOutput = 64 << 10
	// hostKeyFile is the generated host key under DataDir.
	hostKeyFile = "ssh/ssh_host_ed25519_key"
)

// Exit statuses sluice sends itself.
const (
	// ExitRefused is the exit status of a command sluice did not run
	// (blocked, denied, expired): POSIX shells' "found but not executable".
	ExitRefused = 126
	// ExitGatewayError is the exit status when sluice could not run a
	// command (the upstream is unreachable, recording failed): ssh's own
	// status for a connection error.
	ExitGatewayError = 255
)

// Options configure an Engine. Target, Auth and Store are required, and
// an upstream credential (UpstreamKey, UpstreamKeyFile or
// Target.Upstream.Password) and an upstream host key check
// (UpstreamKnownHosts or UpstreamHostKeyFingerprint).
type Options struct {
	// Target is the ssh target this engine serves: its name, upstream
	// (address host:port, user; password if no key is given), allow list
	// and plugins.
	Target config.Target
	// Config, if set, returns the running config: the target's allow list
	// is read from it (by Target.Name) when a client authenticates, so a
	// reload applies to new connections. The upstream is fixed at New.
	Config func() *config.Config
	// Auth turns a password (a sluice token) into an identity.
	Auth *auth.Authenticator
	// UserKeys returns the public keys that authenticate as an identity
	// (until the config has identities[].ssh_keys). Nil: no key logins,
	// tokens only.
	UserKeys func(identity string) []ssh.PublicKey
	// UserCAKeys are the certificate authorities whose OpenSSH user
	// certificates authenticate: a certificate whose principals include
	// the identity (the SSH user name), within its validity window.
	// Critical options other than source-address (which is enforced),
	// force-command included, are refused. Nil: no certificates.
	UserCAKeys []ssh.PublicKey
	// Chain returns the target's plugin chain; it is read for every
	// command, so a reload applies at once. An error fails closed:
	// commands are refused. Nil: no plugins.
	Chain func() (policy.Chain, error)
	// Store records sessions. Required.
	Store *store.Store
	// Approvals holds commands a plugin sent for approval. Nil: such
	// commands are refused.
	Approvals *approvals.Manager
	// DataDir is where the host key is generated on first start
	// (<DataDir>/ssh/ssh_host_ed25519_key) when HostKey is nil.
	DataDir string
	// HostKey is the key sluice presents to clients. Nil: an ed25519 key
	// generated under DataDir on first start, its fingerprint logged.
	HostKey ssh.Signer
	// UpstreamKey is the private key sluice logs in to the upstream with.
	// The client never sees it.
	UpstreamKey ssh.Signer
	// UpstreamKeyFile is an OpenSSH private key file (unencrypted), read
	// at New, when UpstreamKey is nil.
	UpstreamKeyFile string
	// UpstreamKeyEnv names an environment variable holding the private
	// key (PEM, unencrypted), read at New, when UpstreamKey and
	// UpstreamKeyFile are not given: a CI secret. Unset, empty or not a
	// key is an error of New; its value is never logged.
	UpstreamKeyEnv string
	// UpstreamKnownHosts is an OpenSSH known_hosts file that must list
	// the upstream's host key.
	UpstreamKnownHosts string
	// UpstreamHostKeyFingerprint pins the upstream's host key by its
	// SHA-256 fingerprint as ssh-keygen -lf prints it ("SHA256:..."). An
	// unknown or changed key is refused: never trust on first use.
	UpstreamHostKeyFingerprint string
	// HandshakeTimeout bounds the client handshake and authentication
	// (default DefaultHandshakeTimeout).
	HandshakeTimeout time.Duration
	// UpstreamTimeout bounds the upstream connection and handshake
	// (default DefaultUpstreamTimeout).
	UpstreamTimeout time.Duration
	// MaxChannels caps the session channels of one client connection
	// (default DefaultMaxChannels).
	MaxChannels int
	// MaxRecordedOutput caps the recorded masked output per stream and
	// command (default DefaultMaxRecordedOutput; negative: none).
	MaxRecordedOutput int
	// IdleTimeout closes a client connection on which no bytes went
	// either way for this long (client keepalives count). 0: never.
	IdleTimeout time.Duration
	// SessionTimeout closes a client connection this long after it
	// authenticated. 0: never.
	SessionTimeout time.Duration
	// KeepaliveInterval is how often keepalive@openssh.com goes to the
	// upstream while its connection is open. 0: never.
	KeepaliveInterval time.Duration
	// KeepaliveCountMax is how many keepalive intervals may pass without
	// an answer before the upstream connection is given up (default
	// DefaultKeepaliveCountMax), as OpenSSH's ServerAliveCountMax.
	KeepaliveCountMax int
	// PassBinaryOutput lets output chunks that are not text (a NUL byte,
	// or not UTF-8) reach the client unmasked, recorded by size only.
	// False: every byte is masked as text lines (lossless for text).
	PassBinaryOutput bool
	// Ciphers are the ciphers offered to clients (ssh.ciphers). Nil:
	// config.DefaultSSHCiphers.
	Ciphers []string
	// Logger (default slog.Default()).
	Logger *slog.Logger
}

// Engine serves one ssh target. Safe for concurrent use.
type Engine struct {
	o       Options
	log     *slog.Logger
	hostKey ssh.Signer
	up      *ssh.ClientConfig

	ctx    context.Context
	cancel context.CancelFunc

	srv netserve.Server // listeners and connections
}

// New checks the options, loads or generates the host key, and prepares
// the upstream client (credential and host key check).
func New(o Options) (*Engine, error) {
	if o.Target.Protocol != "" && o.Target.Protocol != config.ProtocolSSH {
		return nil, fmt.Errorf("sshgw: target %q: protocol is %s, not ssh", o.Target.Name, o.Target.Protocol)
	}
	if o.Target.Name == "" {
		return nil, errors.New("sshgw: Options.Target has no name")
	}
	if o.Auth == nil || o.Store == nil {
		return nil, errors.New("sshgw: Options.Auth and Options.Store are required")
	}
	if o.Chain == nil {
		o.Chain = func() (policy.Chain, error) { return nil, nil }
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.HandshakeTimeout <= 0 {
		o.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if o.UpstreamTimeout <= 0 {
		o.UpstreamTimeout = DefaultUpstreamTimeout
	}
	if o.MaxChannels <= 0 {
		o.MaxChannels = DefaultMaxChannels
	}
	if o.KeepaliveCountMax <= 0 {
		o.KeepaliveCountMax = DefaultKeepaliveCountMax
	}
	if o.MaxRecordedOutput == 0 {
		o.MaxRecordedOutput = DefaultMaxRecordedOutput
	}
	e := &Engine{o: o, log: o.Logger.With("target", o.Target.Name, "protocol", "ssh")}
	up, err := upstreamConfig(o)
	if err != nil {
		return nil, fmt.Errorf("sshgw: target %q: %w", o.Target.Name, err)
	}
	e.up = up
	e.hostKey = o.HostKey
	if e.hostKey == nil {
		if o.DataDir == "" {
			return nil, errors.New("sshgw: Options.DataDir is required to generate a host key when Options.HostKey is nil")
		}
		k, created, err := loadOrCreateHostKey(filepath.Join(o.DataDir, hostKeyFile))
		if err != nil {
			return nil, fmt.Errorf("sshgw: host key: %w", err)
		}
		e.hostKey = k
		fp := ssh.FingerprintSHA256(k.PublicKey())
		if created {
			e.log.Info("sshgw: generated a host key", "fingerprint", fp)
		} else {
			e.log.Info("sshgw: using host key", "fingerprint", fp)
		}
	}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	return e, nil
}

// HostKey returns the public key sluice presents to clients (for their
// known_hosts).
func (e *Engine) HostKey() ssh.PublicKey { return e.hostKey.PublicKey() }

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

// loadOrCreateHostKey reads an OpenSSH private key, or generates an
// ed25519 key there (mode 0600) if the file does not exist.
func loadOrCreateHostKey(path string) (ssh.Signer, bool, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		s, err := ssh.ParsePrivateKey(b)
		if err != nil {
			return nil, false, fmt.Errorf("%s: %w", path, err)
		}
		return s, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, err
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, false, err
	}
	blk, err := ssh.MarshalPrivateKey(priv, "sluice ssh gateway")
	if err != nil {
		return nil, false, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, false, err
	}
	// O_EXCL: two engines starting at once must not overwrite each
	// other's key after one logged its fingerprint.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return loadOrCreateHostKey(path)
	}
	if err != nil {
		return nil, false, err
	}
	if err := pem.Encode(f, blk); err != nil {
		f.Close()
		return nil, false, err
	}
	if err := f.Close(); err != nil {
		return nil, false, err
	}
	s, err := ssh.NewSignerFromKey(priv)
	return s, true, err
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
