package httpgw

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"github.com/sluicegw/sluice/gateway/config"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicegw/sluice/gateway/policy"
)

// TestProxy: a Go client through sluice to a real upstream: the upstream
// gets sluice's credential and X-Forwarded-*, never the client's token or
// hop-by-hop headers; the client gets the upstream's answer without its
// hop-by-hop headers; the connection is kept alive; the request is
// recorded before it is forwarded.
func TestProxy(t *testing.T) {
	g := startGateway(t, nil, nil)
	c := &http.Client{Transport: &http.Transport{}}
	defer c.CloseIdleConnections()

	req, _ := http.NewRequest("GET", g.url+"/v1/things?q=1&r=%2F", nil)
	req.Header.Set("Authorization", "Bearer "+ciToken)
	req.Header.Set("Connection", "X-Private")
	req.Header.Set("X-Private", "hop")
	req.Header.Set("X-Forwarded-For", "10.9.8.7")
	req.Header.Set("X-Custom", "kept")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var s seen
	json.NewDecoder(resp.Body).Decode(&s)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if !s.CredentialOK {
		t.Error("the upstream did not get sluice's credential")
	}
	if s.URI != "/v1/things?q=1&r=%2F" {
		t.Errorf("upstream URI %q", s.URI)
	}
	if s.Host != g.up.addr {
		t.Errorf("upstream Host %q, want %q", s.Host, g.up.addr)
	}
	if got := s.Header.Get("X-Forwarded-For"); got != "10.9.8.7, 127.0.0.1" {
		t.Errorf("X-Forwarded-For %q", got)
	}
	if s.Header.Get("X-Forwarded-Proto") != "http" || s.Header.Get("X-Forwarded-Host") != g.addr {
		t.Errorf("X-Forwarded-Proto %q, -Host %q", s.Header.Get("X-Forwarded-Proto"), s.Header.Get("X-Forwarded-Host"))
	}
	if s.Header.Get("X-Private") != "" || s.Header.Get("X-Custom") != "kept" {
		t.Errorf("headers: %v", s.Header)
	}
	// A GET is a read: its record is written before forwarding and
	// synced with the next group (store.sync_reads), so it is in the
	// store moments later; a POST's is synced before it is forwarded.
	rid := resp.Header.Get(requestIDHeader)
	for deadline := time.Now().Add(10 * time.Second); !recorded(g.st, rid); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the GET's command event never reached the store")
		}
	}
	post, _ := http.NewRequest("POST", g.url+"/v1/things", strings.NewReader(`{"a":1}`))
	post.Header.Set("Authorization", "Bearer "+ciToken)
	post.Header.Set("Content-Type", "application/json")
	presp, err := c.Do(post)
	if err != nil {
		t.Fatal(err)
	}
	var ps seen
	json.NewDecoder(presp.Body).Decode(&ps)
	presp.Body.Close()
	if !ps.RecordedFirst {
		t.Error("the POST reached the upstream before its command event was recorded")
	}
	if resp.Header.Get("X-Hop") != "" || resp.Header.Get("Keep-Alive") != "" {
		t.Errorf("hop-by-hop headers reached the client: %v", resp.Header)
	}
	if resp.Header.Get(requestIDHeader) == "" {
		t.Error("no request ID")
	}

	// Keep-alive: the second request reuses the connection.
	var reused bool
	trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused }}
	req, _ = http.NewRequestWithContext(httptrace.WithClientTrace(t.Context(), trace), "GET", g.url+"/again", nil)
	req.Header.Set("Authorization", "Bearer "+ciToken)
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if !reused {
		t.Error("the connection was not kept alive")
	}

	// HEAD passes without a body.
	resp, body := get(t, c, "HEAD", g.url+"/customers.json", ciToken, nil)
	if resp.StatusCode != 200 || len(body) != 0 {
		t.Errorf("HEAD: %d %q", resp.StatusCode, body)
	}

	// One session for the connection, with its requests.
	c.CloseIdleConnections()
	g.e.Close()
	ev := strings.Join(g.events(t), "\n")
	for _, want := range []string{`ci auth {"identity":"ci","method":"bearer","result":"ok","source":"config"}`,
		`"text":"GET /v1/things?q=1\u0026r=%2F","verdict":"allow"`, `"text":"GET /again"`, `"status":200`, "disconnect"} {
		if !strings.Contains(ev, want) {
			t.Errorf("recording lacks %s:\n%s", want, ev)
		}
	}
}

// TestAuth: no token, a bad token and an identity the target does not
// allow are refused with 401 (and a challenge) or 403, a JSON body, and a
// recorded event; the upstream never hears of them.
func TestAuth(t *testing.T) {
	g := startGateway(t, nil, nil)
	cases := []struct {
		name   string
		args   []string
		status int
		chall  string
	}{
		{"no token", nil, 401, `WWW-Authenticate: Bearer realm="sluice"` + "\r\n"},
		{"basic", []string{"-u", "ci:" + ciToken}, 401, `error="invalid_token"`},
		{"bad token", []string{"-H", bearer("slc_nope")}, 401, `error="invalid_token"`},
		{"not allowed", []string{"-H", bearer(otherToken)}, 403, ""},
	}
	for _, c := range cases {
		raw, _ := curl(t, append(c.args, g.url+"/customers.json")...)
		if statusOf(raw) != c.status || !strings.Contains(strings.ToLower(raw), strings.ToLower(c.chall)) {
			t.Errorf("%s: %s", c.name, raw)
		}
		var body errorBody
		if err := json.Unmarshal([]byte(bodyOf(raw)), &body); err != nil || body.Error == "" || body.RequestID == "" {
			t.Errorf("%s: body %q: %v", c.name, bodyOf(raw), err)
		}
		if strings.Contains(raw, "user1@example.com") {
			t.Errorf("%s: data leaked", c.name)
		}
	}
	if n := g.up.count(); n != 0 {
		t.Errorf("the upstream saw %d requests", n)
	}
	g.e.Close()
	ev := strings.Join(g.events(t), "\n")
	for _, want := range []string{`"reason":"authentication failed: no bearer token"`, `"reason":"authentication failed: unknown token"`,
		`"identity":"other","method":"bearer","reason":"identity not allowed on target api"`} {
		if !strings.Contains(ev, want) {
			t.Errorf("recording lacks %s:\n%s", want, ev)
		}
	}
	if strings.Contains(ev, "slc_nope") || strings.Contains(ev, ciToken) {
		t.Error("a client token was recorded")
	}
}

// TestCredentialNeverLeaks: the upstream secret, from an environment
// variable or a file, reaches the upstream and nothing else: not one byte
// of any response (successes, refusals, upstream errors), log line or
// recorded event holds it.
func TestCredentialNeverLeaks(t *testing.T) {
	const secret = "HEADER-SECRET-91c2d7e0aa"
	file := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(file, []byte(secret+"\n"), 0o600)
	t.Setenv("HTTPGW_TEST_SECRET", secret)
	for _, cred := range []Credential{
		{Kind: CredentialHeader, Header: "X-Api-Key", Env: "HTTPGW_TEST_SECRET"},
		{Kind: CredentialBearer, File: file},
		{Kind: CredentialBasic, User: "svc", Env: "HTTPGW_TEST_SECRET"},
	} {
		t.Run(cred.Kind, func(t *testing.T) {
			g := startGateway(t, policy.Chain{plugin(t, "pii-mask", "")}, func(o *Options) { o.Credential = cred })
			g.up.setExpect(func(h http.Header) bool {
				switch cred.Kind {
				case CredentialHeader:
					return h.Get("X-Api-Key") == secret && h.Get("Authorization") == ""
				case CredentialBasic:
					u, p, ok := (&http.Request{Header: h}).BasicAuth()
					return ok && u == "svc" && p == secret
				}
				return h.Get("Authorization") == "Bearer "+secret
			})
			var all strings.Builder
			for _, args := range [][]string{
				{"-H", bearer(ciToken), g.url + "/echo"},
				{"-H", bearer(ciToken), g.url + "/customers.json"},
				{"-H", bearer(ciToken), g.url + "/customers.ndjson"},
				{"-H", bearer(ciToken), "-H", "X-Api-Key: client-value", g.url + "/echo"},
				{"-H", bearer(ciToken), "-X", "POST", "--data-binary", "hello", g.url + "/echo"},
				{"-H", bearer("wrong"), g.url + "/echo"},
				{"-H", bearer(otherToken), g.url + "/echo"},
				{g.url + "/echo"},
			} {
				raw, _ := curl(t, args...)
				all.WriteString(raw)
			}
			g.up.srv.Close() // upstream errors too
			raw, _ := curl(t, "-H", bearer(ciToken), g.url+"/echo")
			if statusOf(raw) != 502 {
				t.Errorf("upstream down: %s", raw)
			}
			all.WriteString(raw)
			for _, s := range g.up.all() {
				if !s.CredentialOK {
					t.Errorf("the upstream did not get the credential on %s %s", s.Method, s.URI)
				}
				if cred.Kind == CredentialHeader && s.Header.Get("X-Api-Key") == "client-value" {
					t.Error("the client's header overrode sluice's credential")
				}
			}
			g.e.Close()
			g.st.Close()
			leaks := map[string]string{"responses": all.String(), "logs": g.logs.String()}
			// Every byte of the store, not only what the API returns.
			filepath.Walk(g.dir, func(p string, info os.FileInfo, err error) error {
				if err == nil && !info.IsDir() {
					b, _ := os.ReadFile(p)
					leaks["store file "+p] = string(b)
				}
				return nil
			})
			basic := "c3ZjOkhFQURFUi1TRUNSRVQtOTFjMmQ3ZTBhYQ" // base64("svc:"+secret), unpadded prefix
			for where, text := range leaks {
				if strings.Contains(text, secret) || strings.Contains(text, basic) {
					t.Errorf("the upstream secret leaked into %s", where)
				}
			}
			if !strings.Contains(g.logs.String(), "forwarding failed") {
				t.Error("the logs were not captured")
			}
		})
	}
}

// TestTLS: sluice terminates TLS for its clients (X-Forwarded-Proto https)
// and verifies an https:// upstream against the roots it is given; an
// upstream it cannot verify gets 502, not a request.
func TestTLS(t *testing.T) {
	var sawProto string
	var mu sync.Mutex
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		sawProto = r.Header.Get("X-Forwarded-Proto")
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"email":"user1@example.com","ok":true}`))
	}))
	up.Config.ErrorLog = log.New(io.Discard, "", 0) // the untrusted case fails handshakes
	up.StartTLS()
	defer up.Close()
	roots := x509.NewCertPool()
	roots.AddCert(up.Certificate())
	for _, trusted := range []bool{true, false} {
		g := startGateway(t, policy.Chain{plugin(t, "pii-mask", "")}, func(o *Options) {
			o.Target.Upstream.Address = up.URL // https://127.0.0.1:port
			if trusted {
				o.UpstreamTLS = &tls.Config{RootCAs: roots}
			}
			// The gateway serves the same test certificate.
			o.TLSConfig = &tls.Config{Certificates: up.TLS.Certificates}
		})
		c := up.Client() // trusts the test certificate
		resp, body := get(t, c, "GET", strings.Replace(g.url, "http://", "https://", 1)+"/x", ciToken, nil)
		if trusted {
			mu.Lock()
			proto := sawProto
			mu.Unlock()
			if resp.StatusCode != 200 || string(body) != `{"email":"[EMAIL]","ok":true}` || proto != "https" {
				t.Errorf("trusted upstream: %d %s (X-Forwarded-Proto %q)", resp.StatusCode, body, proto)
			}
		} else if resp.StatusCode != 502 {
			t.Errorf("untrusted upstream: %d %s", resp.StatusCode, body)
		}
	}
}

// TestRequestTarget: what the policy judges is what the upstream gets: an
// absolute-form target is reduced to its path and query (never a Host of
// the client's choosing), a path starting with "//" stays a path, and
// asterisk-form gets 400.
func TestRequestTarget(t *testing.T) {
	g := startGateway(t, nil, nil)
	cases := []struct{ sent, forwarded string }{
		{"http://evil.example/abs?x=1", "/abs?x=1"},
		{"https://evil.example", "/"},
		{"http://evil.example?q=1", "/?q=1"},
		{"//evil.example/x?y=1", "//evil.example/x?y=1"},
		{"/a/%2e%2e/b?c=%2F", "/a/%2e%2e/b?c=%2F"},
	}
	for _, c := range cases {
		status, _ := rawRequest(t, g.addr, func(nc net.Conn) {
			fmt.Fprintf(nc, "GET %s HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer %s\r\nConnection: close\r\n\r\n", c.sent, ciToken)
		})
		if c.sent[1] == '/' {
			// net/http's ServeMux redirects a path with "//" to its clean
			// form (307) before any handler: it got a path, not a host.
			if status != 307 {
				t.Errorf("%s: %d", c.sent, status)
			}
			continue
		}
		if s := g.up.last(); status != 200 || s.URI != c.forwarded || s.Host != g.up.addr {
			t.Errorf("%s: %d, forwarded %q to host %q", c.sent, status, s.URI, s.Host)
		}
	}
	status, _ := rawRequest(t, g.addr, func(nc net.Conn) {
		fmt.Fprintf(nc, "OPTIONS * HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer %s\r\nConnection: close\r\n\r\n", ciToken)
	})
	if status != 400 {
		t.Errorf("OPTIONS *: %d", status)
	}
	g.e.Close()
	if ev := strings.Join(g.events(t), "\n"); !strings.Contains(ev, `"text":"GET /abs?x=1"`) {
		t.Errorf("the judged target is not the forwarded one:\n%s", ev)
	}
}

// TestReload: the allow list and the chain are read for every request, so
// a reloaded config applies to the next request on the same connection.
func TestReload(t *testing.T) {
	var cfg atomic.Pointer[config.Config]
	var chain atomic.Pointer[policy.Chain]
	chain.Store(&policy.Chain{})
	g := startGateway(t, nil, func(o *Options) {
		cfg.Store(o.Config())
		o.Config = cfg.Load
		o.Auth.Config = cfg.Load
		o.Chain = func() (policy.Chain, error) { return *chain.Load(), nil }
	})
	c := &http.Client{}
	defer c.CloseIdleConnections()
	if resp, _ := get(t, c, "GET", g.url+"/customers.json", ciToken, nil); resp.StatusCode != 200 {
		t.Fatalf("before: %d", resp.StatusCode)
	}
	chain.Store(&policy.Chain{plugin(t, "pii-mask", "")})
	if resp, body := get(t, c, "GET", g.url+"/customers.json", ciToken, nil); resp.StatusCode != 200 || rawEmail.Match(body) {
		t.Errorf("a new masking plugin did not apply: %d %.100s", resp.StatusCode, body)
	}
	next, err := config.Parse("t.yaml", []byte(strings.Replace(string(mustYAML(t, g.up.addr)), "allow: [ci]", "allow: [other]", 1)), nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Store(next)
	if resp, _ := get(t, c, "GET", g.url+"/customers.json", ciToken, nil); resp.StatusCode != 403 {
		t.Errorf("ci removed from the allow list: %d", resp.StatusCode)
	}
	if resp, _ := get(t, c, "GET", g.url+"/customers.json", otherToken, nil); resp.StatusCode != 200 {
		t.Errorf("other added to the allow list: %d", resp.StatusCode)
	}
}
