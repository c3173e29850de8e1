package httpgw

import (
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sluicegw/sluice/gateway/config"
)

// Credential kinds.
const (
	CredentialNone   = "none"
	CredentialBearer = "bearer"
	CredentialBasic  = "basic"
	CredentialHeader = "header"
)

// Credential is the upstream credential sluice adds to every request it
// forwards. The client never sees it; it is never logged or recorded.
type Credential struct {
	// Kind is bearer ("Authorization: Bearer <secret>"), basic
	// ("Authorization: Basic base64(user:secret)"), header ("<Header>:
	// <secret>") or none. Empty: derived from the target's upstream (basic
	// when upstream.user is set, bearer when only upstream.password is).
	Kind string
	// Header is the header name for kind header (e.g. X-Api-Key).
	Header string
	// User is the basic-auth user (default: the target's upstream.user).
	User string
	// Env names an environment variable that holds the secret; File a file
	// that holds it (one trailing newline is dropped). Neither: the
	// target's upstream.password.
	Env, File string
}

// resolvedCredential is the header sluice sets; empty name: none.
type resolvedCredential struct {
	name, value string
}

func (c Credential) resolve(u config.Upstream) (resolvedCredential, error) {
	secret := u.Password
	switch {
	case c.Env != "" && c.File != "":
		return resolvedCredential{}, errors.New("give an environment variable or a file, not both")
	case c.Env != "":
		v, ok := os.LookupEnv(c.Env)
		if !ok {
			return resolvedCredential{}, fmt.Errorf("environment variable %s is not set", c.Env)
		}
		secret = v
	case c.File != "":
		b, err := os.ReadFile(c.File)
		if err != nil {
			// The error names the file, never its content.
			return resolvedCredential{}, fmt.Errorf("cannot read the secret file: %w", err)
		}
		secret = strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	}
	user := c.User
	if user == "" {
		user = u.User
	}
	kind := c.Kind
	if kind == "" {
		switch {
		case user != "":
			kind = CredentialBasic
		case secret != "":
			kind = CredentialBearer
		default:
			kind = CredentialNone
		}
	}
	if strings.ContainsAny(secret, "\r\n\x00") || strings.ContainsAny(user, "\r\n\x00:") {
		return resolvedCredential{}, errors.New("the secret or user holds a line break, NUL or (user) a colon")
	}
	switch kind {
	case CredentialNone:
		return resolvedCredential{}, nil
	case CredentialBearer:
		if secret == "" {
			return resolvedCredential{}, errors.New("bearer: the secret is empty")
		}
		return resolvedCredential{"Authorization", "Bearer " + secret}, nil
	case CredentialBasic:
		if user == "" {
			return resolvedCredential{}, errors.New("basic: no user")
		}
		return resolvedCredential{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+secret))}, nil
	case CredentialHeader:
		if c.Header == "" || !validToken(c.Header) {
			return resolvedCredential{}, fmt.Errorf("header: %q is not a header name", c.Header)
		}
		if isHopByHop(c.Header) || strings.EqualFold(c.Header, "Host") {
			return resolvedCredential{}, fmt.Errorf("header: %s cannot carry a credential", c.Header)
		}
		if secret == "" {
			return resolvedCredential{}, errors.New("header: the secret is empty")
		}
		return resolvedCredential{c.Header, secret}, nil
	}
	return resolvedCredential{}, fmt.Errorf("kind %q is not bearer, basic, header or none", kind)
}

// upstream is the target's backend and the client that talks to it.
type upstream struct {
	scheme string // http or https
	host   string // host[:port], the Host header
	prefix string // path prefix, without a trailing slash
	client *fasthttp.HostClient
}

func newUpstream(o Options) (*upstream, error) {
	addr := o.Target.Upstream.Address
	if !strings.Contains(addr, "://") {
		addr = "http://" + addr
	}
	u, err := url.Parse(addr)
	if err != nil {
		return nil, fmt.Errorf("upstream.address: %v", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("upstream.address: scheme %q is not http or https", u.Scheme)
	}
	if u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, errors.New("upstream.address: want host:port or an http(s) URL without user, query or fragment")
	}
	up := &upstream{scheme: u.Scheme, host: u.Host, prefix: strings.TrimSuffix(u.EscapedPath(), "/")}
	dialAddr := u.Host
	if u.Port() == "" {
		if u.Scheme == "https" {
			dialAddr = net.JoinHostPort(u.Hostname(), "443")
		} else {
			dialAddr = net.JoinHostPort(u.Hostname(), "80")
		}
	}
	timeout := o.UpstreamTimeout
	hc := &fasthttp.HostClient{
		Addr:  dialAddr,
		IsTLS: u.Scheme == "https",
		Dial: func(addr string) (net.Conn, error) {
			d := net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
			if timeout <= 0 {
				d.Timeout = 30 * time.Second
			}
			c, err := d.Dial("tcp", addr)
			if err != nil {
				return nil, err
			}
			// Each wait for upstream bytes is bounded, not the whole
			// response: a long stream is fine, a stalled one is not.
			return &deadlineConn{Conn: c, read: timeout, write: timeout}, nil
		},
		MaxConns:                  o.MaxConns,
		MaxConnWaitTimeout:        5 * time.Second,
		MaxIdemponentCallAttempts: 1,
		// Forward exactly the target the policy judged.
		DisablePathNormalizing:   true,
		NoDefaultUserAgentHeader: true,
		StreamResponseBody:       true,
	}
	if hc.IsTLS {
		tc := &tls.Config{MinVersion: tls.VersionTLS12}
		if o.UpstreamTLS != nil {
			tc = o.UpstreamTLS.Clone()
		}
		if tc.ServerName == "" {
			tc.ServerName = u.Hostname()
		}
		hc.TLSConfig = tc
	}
	up.client = hc
	return up, nil
}

func (u *upstream) close() {
	u.client.CloseIdleConnections()
}

// hopByHop are the headers of one connection (RFC 9110 §7.6.1), never
// forwarded; so are the headers a Connection header names.
var hopByHop = []string{
	"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "TE", "Trailer", "Transfer-Encoding", "Upgrade",
}

func isHopByHop(name string) bool {
	for _, h := range hopByHop {
		if strings.EqualFold(h, name) {
			return true
		}
	}
	return false
}

// connectionTokens returns the header names a Connection header lists.
func connectionTokens(v []byte) []string {
	var out []string
	for _, t := range strings.Split(string(v), ",") {
		if t = strings.TrimSpace(t); t != "" && validToken(t) {
			out = append(out, t)
		}
	}
	return out
}

// validToken reports whether s is an RFC 9110 §5.6.2 token.
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
