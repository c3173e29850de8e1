package httpgw

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicegw/sluice/gateway/approvals"
	"github.com/sluicegw/sluice/gateway/auth"
	"github.com/sluicegw/sluice/gateway/config"
	"github.com/sluicegw/sluice/gateway/internal/syncbuf"
	"github.com/sluicegw/sluice/gateway/pluginhost"
	"github.com/sluicegw/sluice/gateway/policy"
	"github.com/sluicegw/sluice/gateway/store"
)

// Tokens of the test identities, and the upstream's own secret, which
// must never come back.
const (
	ciToken       = "slc_ci-token-for-tests"
	otherToken    = "slc_other-token-for-tests"
	aliceToken    = "slc_alice-token-for-tests"
	upstreamToken = "UPSTREAM-SECRET-7f3a9c1e5b"
)

var cacheDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sluice-httpgw-test")
	if err != nil {
		panic(err)
	}
	cacheDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// customer is one fake customer record the upstream serves.
type customer struct {
	ID    int    `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
	Note  string `json:"note"`
}

func fakeCustomer(i int) customer {
	return customer{ID: i, Name: fmt.Sprintf("Customer %d", i), Email: fmt.Sprintf("user%d@example.com", i),
		Note: fmt.Sprintf("order ORD-%06d shipped", i)}
}

// seen is what the upstream saw of one request.
type seen struct {
	Method, URI, Host string
	Header            http.Header
	BodyLen           int64
	BodySHA           string
	CredentialOK      bool
	Body              string // of /logs
	RecordedFirst     bool   // the command event was in the store before the upstream saw the request
}

// testUpstream is a real net/http server on a free port that serves fake
// customers as JSON, NDJSON, CSV and text, and echoes what it saw.
type testUpstream struct {
	t      testing.TB
	srv    *http.Server
	ln     net.Listener
	addr   string
	expect func(http.Header) bool // the injected credential check
	st     *store.Store           // to check the recording order, when set

	mu   sync.Mutex
	seen []seen
}

func startUpstream(t testing.TB) *testUpstream {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := &testUpstream{t: t, ln: ln, addr: ln.Addr().String(),
		expect: func(h http.Header) bool { return h.Get("Authorization") == "Bearer "+upstreamToken }}
	mux := http.NewServeMux()
	mux.HandleFunc("/customers.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		list := make([]customer, 20)
		for i := range list {
			list[i] = fakeCustomer(i)
		}
		json.NewEncoder(w).Encode(map[string]any{"customers": list, "count": len(list)})
	})
	mux.HandleFunc("/customers.ndjson", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		if n == 0 {
			n = 50
		}
		w.Header().Set("Content-Type", "application/x-ndjson")
		bw := bufio.NewWriterSize(w, 64<<10)
		enc := json.NewEncoder(bw)
		for i := range n {
			if err := enc.Encode(fakeCustomer(i)); err != nil {
				return
			}
		}
		bw.Flush()
	})
	mux.HandleFunc("/customers.csv", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/csv")
		fmt.Fprintln(w, "id,name,email,note")
		for i := range 20 {
			c := fakeCustomer(i)
			fmt.Fprintf(w, "%d,%s,%s,%s\n", c.ID, c.Name, c.Email, c.Note)
		}
	})
	mux.HandleFunc("/notes.txt", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		for i := range 20 {
			fmt.Fprintf(w, "call %s about %s\n", fakeCustomer(i).Email, fakeCustomer(i).Note)
		}
	})
	mux.HandleFunc("/customers.json.gz", func(w http.ResponseWriter, r *http.Request) {
		// Compressed whatever the client asked, as some servers do.
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Encoding", "gzip")
		zw := gzip.NewWriter(w)
		json.NewEncoder(zw).Encode([]customer{fakeCustomer(1), fakeCustomer(2)})
		zw.Close()
	})
	small := smallJSON()
	mux.HandleFunc("/small.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(small)
	})
	mux.HandleFunc("/broken.ndjson", func(w http.ResponseWriter, r *http.Request) {
		// Valid records, then a malformed one that holds an e-mail.
		w.Header().Set("Content-Type", "application/x-ndjson")
		enc := json.NewEncoder(w)
		for i := range 5000 {
			enc.Encode(fakeCustomer(i))
		}
		fmt.Fprintf(w, "{\"email\": \"user99999@example.com\", oops\n")
		for i := range 100 {
			enc.Encode(fakeCustomer(i))
		}
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(10 * time.Second):
		case <-r.Context().Done():
		}
	})
	mux.HandleFunc("/blob", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		fmt.Fprintf(w, "raw %s bytes", fakeCustomer(7).Email)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		h := sha256.New()
		var kept bytes.Buffer
		n, _ := io.Copy(h, io.TeeReader(r.Body, &limitedBuffer{&kept, 64 << 10}))
		s := seen{Method: r.Method, URI: r.RequestURI, Host: r.Host, Header: r.Header.Clone(), BodyLen: n,
			BodySHA: hex.EncodeToString(h.Sum(nil))}
		if r.URL.Path == "/logs" {
			s.Body = kept.String()
		}
		u.mu.Lock()
		s.CredentialOK = u.expect(r.Header)
		u.mu.Unlock()
		s.Header.Del("Authorization") // the credential is checked, not echoed
		if v := s.Header.Get("X-Api-Key"); v != "" && v != "client-value" {
			s.Header.Set("X-Api-Key", "[sluice's]")
		}
		if u.st != nil {
			s.RecordedFirst = recorded(u.st, r.Header.Get(requestIDHeader))
		}
		u.mu.Lock()
		u.seen = append(u.seen, s)
		u.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Connection", "X-Hop")
		w.Header().Set("X-Hop", "must not reach the client")
		w.Header().Set("Keep-Alive", "timeout=5")
		json.NewEncoder(w).Encode(s)
	})
	u.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go u.srv.Serve(ln)
	t.Cleanup(func() { u.srv.Close() })
	return u
}

// smallJSON is a 1 KB JSON response of fake customers.
func smallJSON() []byte {
	var list []customer
	for i := 0; ; i++ {
		b, _ := json.Marshal(list)
		if len(b) > 900 {
			return b
		}
		list = append(list, fakeCustomer(i))
	}
}

func (u *testUpstream) last() seen {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.seen) == 0 {
		u.t.Fatal("the upstream saw no request")
	}
	return u.seen[len(u.seen)-1]
}

func (u *testUpstream) setExpect(f func(http.Header) bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.expect = f
}

func (u *testUpstream) all() []seen {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]seen(nil), u.seen...)
}

func (u *testUpstream) count() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.seen)
}

// recorded reports whether a command event with the request ID is in the
// store.
func recorded(st *store.Store, rid string) bool {
	ss, _ := st.Sessions(store.Filter{})
	for _, s := range ss {
		id, _ := store.ParseID(s.ID)
		found := false
		st.Events(id, 1, func(e store.Event) error {
			if e.Kind == store.KindCommand && bytes.Contains(e.Data, []byte(rid)) {
				found = true
			}
			return nil
		})
		if found {
			return true
		}
	}
	return false
}

// gateway is an engine under test with everything it needs.
type gateway struct {
	e     *Engine
	st    *store.Store
	apr   *approvals.Manager
	up    *testUpstream
	url   string // http://127.0.0.1:port
	addr  string
	logs  *syncBuffer
	chain policy.Chain
	dir   string // the store's directory
}

// plugin loads a bundled plugin (plugins/NAME/NAME.wasm).
func plugin(t testing.TB, name, cfg string) *pluginhost.Plugin {
	t.Helper()
	path := filepath.Join("..", "..", "plugins", name, name+".wasm")
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%v: build the bundled plugins with `make plugins`", err)
	}
	h, err := pluginhost.New(pluginhost.Options{Engine: "wazero", CacheDir: cacheDir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close(context.Background()) })
	p, err := h.Load(context.Background(), pluginhost.Spec{Name: name, Path: path, Config: []byte(cfg), Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func testConfig(t testing.TB, upstreamAddr string) *config.Config {
	t.Helper()
	cfg, err := config.Parse("t.yaml", mustYAML(t, upstreamAddr), nil)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// mustYAML is the test config: three identities and the target "api".
func mustYAML(t testing.TB, upstreamAddr string) []byte {
	return []byte(fmt.Sprintf(`
identities:
  - {name: ci, kind: service, token_hashes: [%s]}
  - {name: other, kind: service, token_hashes: [%s]}
  - {name: alice, kind: human, roles: [reviewer], token_hashes: [%s]}
targets:
  - name: api
    protocol: http
    listen: 127.0.0.1:0
    upstream: {address: "%s", password: "%s"}
    allow: [ci]
`, auth.HashString(ciToken), auth.HashString(otherToken), auth.HashString(aliceToken), upstreamAddr, upstreamToken))
}

// startGateway starts an upstream and an engine in front of it; tweak may
// change the options.
func startGateway(t testing.TB, chain policy.Chain, tweak func(*Options)) *gateway {
	t.Helper()
	up := startUpstream(t)
	storeDir := t.TempDir()
	st, err := store.Open(storeDir, store.Options{MinFreeBytes: -1, FlushInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	up.st = st
	logs := &syncBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	apr, err := approvals.New(approvals.Options{Store: st, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t, up.addr)
	tgt, _ := cfg.Target("api")
	o := Options{
		Target: tgt, Config: func() *config.Config { return cfg },
		Auth:  &auth.Authenticator{Config: func() *config.Config { return cfg }, Store: st},
		Chain: func() (policy.Chain, error) { return chain, nil }, Store: st, Approvals: apr, Logger: logger,
	}
	if tweak != nil {
		tweak(&o)
	}
	e, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- e.Serve(ln) }()
	g := &gateway{e: e, st: st, apr: apr, up: up, addr: ln.Addr().String(), url: "http://" + ln.Addr().String(), logs: logs, chain: chain, dir: storeDir}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		apr.Close()
		st.Close()
	})
	return g
}

// events returns every recorded event of every session, as kind + JSON.
func (g *gateway) events(t *testing.T) []string {
	t.Helper()
	ss, err := g.st.Sessions(store.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, s := range ss {
		id, _ := store.ParseID(s.ID)
		g.st.Events(id, 1, func(e store.Event) error {
			out = append(out, fmt.Sprintf("%s %s %s", s.Identity, e.Kind, e.Data))
			return nil
		})
	}
	return out
}

// curl runs /usr/bin/curl and returns the whole raw response (headers
// included, -i) and the exit code.
func curl(t *testing.T, args ...string) (string, int) {
	t.Helper()
	if _, err := exec.LookPath("curl"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("curl is not installed; CI installs it")
		}
		t.Skip("curl is not installed")
	}
	cmd := exec.Command("curl", append([]string{"-sS", "-i", "--max-time", "120"}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String() + errb.String(), code
}

// statusOf returns the status code of a raw curl -i response (the last
// one, after any 100 Continue).
func statusOf(raw string) int {
	st := 0
	for _, line := range strings.Split(raw, "\n") {
		if strings.HasPrefix(line, "HTTP/1.1 ") && len(line) >= 12 {
			st, _ = strconv.Atoi(line[9:12])
		}
	}
	return st
}

// bodyOf returns the body of a raw curl -i response.
func bodyOf(raw string) string {
	parts := strings.Split(raw, "\r\n\r\n")
	for i := range parts {
		if strings.HasPrefix(parts[i], "HTTP/1.1 100") {
			continue
		}
		return strings.Join(parts[i+1:], "\r\n\r\n")
	}
	return ""
}

func bearer(tok string) string { return "Authorization: Bearer " + tok }

// get sends one request with a Go client.
func get(t *testing.T, c *http.Client, method, url, token string, body io.Reader) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// limitedBuffer keeps the first n bytes written to it.
type limitedBuffer struct {
	b *bytes.Buffer
	n int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := l.n - l.b.Len(); room > 0 {
		l.b.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

// syncBuffer is the tests' concurrent-safe output sink.
type syncBuffer = syncbuf.Buffer
