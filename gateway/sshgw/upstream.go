package sshgw

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// upstreamConfig builds the client config sluice logs in to the upstream
// with: the held key (or password) and a host key check that never
// trusts on first use.
func upstreamConfig(o Options) (*ssh.ClientConfig, error) {
	up := o.Target.Upstream
	if up.Address == "" {
		return nil, errors.New("upstream.address is required")
	}
	if _, _, err := net.SplitHostPort(up.Address); err != nil {
		return nil, fmt.Errorf("upstream.address %q: %w", up.Address, err)
	}
	if up.User == "" {
		return nil, errors.New("upstream.user is required: the account sluice logs in as")
	}
	cc := &ssh.ClientConfig{User: up.User, Timeout: o.UpstreamTimeout}
	signer := o.UpstreamKey
	if signer == nil && o.UpstreamKeyFile != "" {
		b, err := os.ReadFile(o.UpstreamKeyFile)
		if err != nil {
			return nil, fmt.Errorf("upstream key: %w", err)
		}
		if signer, err = ssh.ParsePrivateKey(b); err != nil {
			// The file's bytes never reach the message.
			return nil, fmt.Errorf("upstream key %s: %w", o.UpstreamKeyFile, err)
		}
	}
	if signer == nil && o.UpstreamKeyFile == "" && o.UpstreamKeyEnv != "" {
		v, ok := os.LookupEnv(o.UpstreamKeyEnv)
		if !ok || strings.TrimSpace(v) == "" {
			return nil, fmt.Errorf("upstream key: environment variable %s is not set or empty", o.UpstreamKeyEnv)
		}
		var err error
		if signer, err = ssh.ParsePrivateKey([]byte(v)); err != nil {
			// The variable's value never reaches the message.
			return nil, fmt.Errorf("upstream key from environment variable %s: %w", o.UpstreamKeyEnv, err)
		}
	}
	if signer != nil {
		cc.Auth = append(cc.Auth, ssh.PublicKeys(signer))
	}
	if up.Password != "" {
		cc.Auth = append(cc.Auth, ssh.Password(up.Password))
	}
	if len(cc.Auth) == 0 {
		return nil, errors.New("no upstream credential: set an upstream key (Options.UpstreamKey, UpstreamKeyFile or UpstreamKeyEnv) or upstream.password")
	}
	switch {
	case o.UpstreamKnownHosts != "" && o.UpstreamHostKeyFingerprint != "":
		return nil, errors.New("upstream host key: give a known_hosts file or a fingerprint, not both")
	case o.UpstreamKnownHosts != "":
		cb, err := knownhosts.New(o.UpstreamKnownHosts)
		if err != nil {
			return nil, fmt.Errorf("upstream known_hosts: %w", err)
		}
		cc.HostKeyCallback = cb
		// Offer only the algorithms the file has keys of, so a host with
		// several keys shows the one that is listed.
		cc.HostKeyAlgorithms = knownAlgorithms(cb, up.Address)
	case o.UpstreamHostKeyFingerprint != "":
		want := o.UpstreamHostKeyFingerprint
		if !strings.HasPrefix(want, "SHA256:") {
			return nil, fmt.Errorf("upstream host key fingerprint %q: want SHA256:... as ssh-keygen -lf prints it", want)
		}
		cc.HostKeyCallback = func(host string, _ net.Addr, key ssh.PublicKey) error {
			got := ssh.FingerprintSHA256(key)
			if subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
				return fmt.Errorf("upstream host key mismatch for %s: got %s, want %s", host, got, want)
			}
			return nil
		}
	default:
		return nil, errors.New("no upstream host key check: set a known_hosts file or a pinned SHA256 fingerprint (sluice never trusts a host key on first use)")
	}
	return cc, nil
}

// knownAlgorithms lists the host key algorithms of the keys known_hosts
// has for addr, asking the callback with a key that cannot match (the
// knownhosts.KeyError then lists the known ones). Nil: the defaults.
func knownAlgorithms(cb ssh.HostKeyCallback, addr string) []string {
	err := cb(addr, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}, probeKey{})
	var ke *knownhosts.KeyError
	if !errors.As(err, &ke) {
		return nil
	}
	var algs []string
	for _, k := range ke.Want {
		switch k.Key.Type() {
		case ssh.KeyAlgoRSA:
			algs = append(algs, ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256)
		default:
			algs = append(algs, k.Key.Type())
		}
	}
	return algs
}

// probeKey is a public key no known_hosts line matches.
type probeKey struct{}

func (probeKey) Type() string                        { return "sluice-probe" }
func (probeKey) Marshal() []byte                     { return []byte("sluice-probe") }
func (probeKey) Verify([]byte, *ssh.Signature) error { return errors.New("probe key") }

// dialUpstream connects and logs in to the upstream. The context ends a
// connection attempt in progress.
func (e *Engine) dialUpstream(ctx context.Context) (*ssh.Client, error) {
	d := net.Dialer{Timeout: e.o.UpstreamTimeout}
	addr := e.o.Target.Upstream.Address
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	defer stop()
	nc.SetDeadline(time.Now().Add(e.o.UpstreamTimeout))
	c, chans, reqs, err := ssh.NewClientConn(nc, addr, e.up)
	if err != nil {
		nc.Close()
		return nil, err
	}
	nc.SetDeadline(time.Time{})
	return ssh.NewClient(c, chans, reqs), nil
}
