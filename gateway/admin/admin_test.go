package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicegw/sluice/gateway/auth"
	"github.com/sluicegw/sluice/gateway/config"
	"github.com/sluicegw/sluice/gateway/pluginhost"
	"github.com/sluicegw/sluice/gateway/store"
	"github.com/sluicegw/sluice/gateway/telemetry"
)

const (
	adminToken    = "admin-secret"
	reviewerToken = "reviewer-secret"
)

type fixture struct {
	t     *testing.T
	url   string
	store *store.Store
	path  string // the plugin file
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	cfg, err := config.Parse("test.yaml", []byte(fmt.Sprintf(`
identities:
  - {name: ops, kind: human, roles: [admin], token_hashes: [%s]}
  - {name: alice, kind: human, roles: [reviewer], token_hashes: [%s]}
  - {name: ci, kind: service}
`, auth.HashString(adminToken), auth.HashString(reviewerToken))), nil)
	if err != nil {
		t.Fatal(err)
	}
	metrics := telemetry.NewMetrics()
	host, err := pluginhost.New(pluginhost.Options{Metrics: metrics})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { host.Close(context.Background()) })
	wasm, err := os.ReadFile(filepath.Join("..", "pluginhost", "testdata", "fixture.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	wasm, _ = pluginhost.SetManifest(wasm, []byte(`{"abi":1,"name":"fixture","version":"1.2.3","hooks":["records"]}`))
	path := filepath.Join(t.TempDir(), "fixture.wasm")
	os.WriteFile(path, wasm, 0o644)
	if _, err := host.Load(context.Background(), pluginhost.Spec{Name: "fx", Path: path}); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(t.TempDir(), store.Options{MinFreeBytes: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	srv := httptest.NewServer(New(Options{
		Host: host, Metrics: metrics, Store: st,
		Auth:        &auth.Authenticator{Config: func() *config.Config { return cfg }, Store: st},
		MaxTokenTTL: 48 * time.Hour, Logger: slog.New(slog.DiscardHandler),
	}))
	t.Cleanup(srv.Close)
	return &fixture{t: t, url: srv.URL, store: st, path: path}
}

func (f *fixture) do(method, path, token, body string) (int, string, http.Header) {
	f.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, f.url+path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func TestOpenEndpoints(t *testing.T) {
	f := newFixture(t)
	if code, body, _ := f.do("GET", "/healthz", "", ""); code != 200 || body != "ok\n" {
		t.Errorf("healthz: %d %q", code, body)
	}
	f.do("POST", "/v1/plugins/fx/reload", adminToken, "")
	if code, body, _ := f.do("GET", "/metrics", "", ""); code != 200 || !strings.Contains(body, `sluice_plugin_reloads_total{plugin="fx",result="ok"}`) {
		t.Errorf("metrics: %d", code)
	}
	if code, _, _ := f.do("DELETE", "/healthz", "", ""); code != 405 {
		t.Errorf("DELETE /healthz: %d", code)
	}
}

func TestAuthentication(t *testing.T) {
	f := newFixture(t)
	code, body, h := f.do("GET", "/v1/plugins", "", "")
	if code != 401 || !strings.Contains(h.Get("WWW-Authenticate"), "Bearer") || !strings.Contains(body, "bearer token is required") {
		t.Errorf("no token: %d %s %v", code, body, h)
	}
	if code, body, _ := f.do("GET", "/v1/plugins", "wrong", ""); code != 401 || !strings.Contains(body, "authentication failed") {
		t.Errorf("bad token: %d %s", code, body)
	}
	if code, body, _ := f.do("GET", "/v1/plugins", reviewerToken, ""); code != 403 || !strings.Contains(body, "alice does not have the admin role") {
		t.Errorf("reviewer on an admin endpoint: %d %s", code, body)
	}
	if code, body, _ := f.do("GET", "/v1/whoami", reviewerToken, ""); code != 200 || !strings.Contains(body, `"identity": "alice"`) {
		t.Errorf("whoami: %d %s", code, body)
	}
	if code, _, _ := f.do("GET", "/v1/nope", adminToken, ""); code != 404 {
		t.Errorf("unknown endpoint: %d", code)
	}
	// Every authenticated-route request is an admin action, refused ones
	// included (the unknown endpoint has no route).
	acts, err := f.store.AdminActions(time.Time{})
	if err != nil || len(acts) != 4 {
		t.Fatalf("admin actions: %d %v", len(acts), err)
	}
	if acts[2].Identity != "alice" || acts[2].Action != "GET /v1/plugins" || !strings.Contains(string(acts[2].Detail), `"status":403`) {
		t.Errorf("action %+v", acts[2])
	}
}

func TestPlugins(t *testing.T) {
	f := newFixture(t)
	code, body, _ := f.do("GET", "/v1/plugins", adminToken, "")
	var st []pluginhost.Status
	if err := json.Unmarshal([]byte(body), &st); code != 200 || err != nil || len(st) != 1 || st[0].Version != "1.2.3" {
		t.Errorf("plugins: %d %s", code, body)
	}
	if code, body, _ := f.do("POST", "/v1/plugins/fx/reload", adminToken, ""); code != 200 || !strings.Contains(body, `"version": "1.2.3"`) {
		t.Errorf("reload: %d %s", code, body)
	}
	if code, _, _ := f.do("POST", "/v1/plugins/nope/reload", adminToken, ""); code != 404 {
		t.Errorf("reload of an unknown plugin: %d", code)
	}
	os.WriteFile(f.path, []byte("not wasm"), 0o644)
	if code, body, _ := f.do("POST", "/v1/plugins/fx/reload", adminToken, ""); code != 422 || !strings.Contains(body, "not a WebAssembly module") || !strings.Contains(body, `"version": "1.2.3"`) {
		t.Errorf("reload of a broken file: %d %s", code, body)
	}
}

func TestSessions(t *testing.T) {
	f := newFixture(t)
	ss, err := f.store.OpenSession(store.NewSession{Identity: "ci", Target: "db", Protocol: "postgres"}, []byte(`{"client":"psql"}`))
	if err != nil {
		t.Fatal(err)
	}
	ss.Durable(store.KindCommand, []byte(`{"text":"SELECT 1","verdict":"allow"}`))
	ss.Append(store.KindOutput, []byte("not json"))
	ss.Close("bye")
	id := ss.ID().String()

	code, body, _ := f.do("GET", "/v1/sessions?identity=ci", adminToken, "")
	var list []store.SessionInfo
	if json.Unmarshal([]byte(body), &list); code != 200 || len(list) != 1 || list[0].ID != id {
		t.Fatalf("list: %d %s", code, body)
	}
	if code, body, _ := f.do("GET", "/v1/sessions?identity=other", adminToken, ""); code != 200 || strings.TrimSpace(body) != "[]" {
		t.Errorf("empty list: %d %s", code, body)
	}
	if code, _, _ := f.do("GET", "/v1/sessions?since=yesterday", adminToken, ""); code != 400 {
		t.Errorf("bad since: %d", code)
	}
	if code, body, _ := f.do("GET", "/v1/sessions/"+id, adminToken, ""); code != 200 || !strings.Contains(body, `"end_reason": "bye"`) {
		t.Errorf("show: %d %s", code, body)
	}
	code, body, h := f.do("GET", "/v1/sessions/"+id+"/events", adminToken, "")
	lines := strings.Split(strings.TrimSpace(body), "\n")
	if code != 200 || h.Get("Content-Type") != "application/x-ndjson" || len(lines) != 4 {
		t.Fatalf("events: %d %s", code, body)
	}
	var ev EventJSON
	if err := json.Unmarshal([]byte(lines[2]), &ev); err != nil || ev.Kind != "output" || string(ev.Data) != `"not json"` {
		t.Errorf("event 3: %s %v", lines[2], err)
	}
	if code, body, _ := f.do("GET", "/v1/sessions/"+id+"/events?from=4", adminToken, ""); code != 200 || strings.Count(body, "\n") != 1 {
		t.Errorf("events from 4: %d %s", code, body)
	}
	if code, body, _ := f.do("GET", "/v1/sessions/"+id+"/verify", adminToken, ""); code != 200 || !strings.Contains(body, `"ok": true`) {
		t.Errorf("verify: %d %s", code, body)
	}
	if code, _, _ := f.do("GET", "/v1/sessions/xyz", adminToken, ""); code != 400 {
		t.Errorf("bad id: %d", code)
	}
	if code, _, _ := f.do("GET", "/v1/sessions/"+store.NewID(time.Now()).String(), adminToken, ""); code != 404 {
		t.Errorf("unknown id: %d", code)
	}
}

func TestTokens(t *testing.T) {
	f := newFixture(t)
	code, body, _ := f.do("POST", "/v1/tokens", adminToken, `{"identity":"ci","ttl":"24h","note":"deploy job"}`)
	var issued IssuedToken
	if err := json.Unmarshal([]byte(body), &issued); code != 201 || err != nil || !strings.HasPrefix(issued.Secret, auth.TokenPrefix) || issued.Identity != "ci" {
		t.Fatalf("create: %d %s", code, body)
	}
	if auth.HashString(issued.Secret) != issued.Hash {
		t.Fatal("hash does not match the secret")
	}
	// The issued token authenticates (ci has no role: whoami only).
	if code, body, _ := f.do("GET", "/v1/whoami", issued.Secret, ""); code != 200 || !strings.Contains(body, `"identity": "ci"`) {
		t.Errorf("whoami with the issued token: %d %s", code, body)
	}
	code, body, _ = f.do("GET", "/v1/tokens", adminToken, "")
	if code != 200 || strings.Contains(body, issued.Secret) || !strings.Contains(body, issued.Hash) {
		t.Errorf("list: %d %s", code, body)
	}
	for _, bad := range []string{`{"identity":"nobody"}`, `{"identity":"ci","ttl":"1000h"}`, `{"identity":"ci","ttl":"-1h"}`, `{"identity":"ci","x":1}`, `nope`} {
		if code, body, _ := f.do("POST", "/v1/tokens", adminToken, bad); code != 400 {
			t.Errorf("create %s: %d %s", bad, code, body)
		}
	}
	if code, body, _ := f.do("DELETE", "/v1/tokens/"+issued.Hash, adminToken, ""); code != 200 || !strings.Contains(body, `"revoked"`) {
		t.Errorf("revoke: %d %s", code, body)
	}
	if code, _, _ := f.do("GET", "/v1/whoami", issued.Secret, ""); code != 401 {
		t.Errorf("revoked token accepted: %d", code)
	}
	if code, _, _ := f.do("DELETE", "/v1/tokens/sha256:00", adminToken, ""); code != 400 {
		t.Errorf("bad hash: %d", code)
	}
	if code, _, _ := f.do("DELETE", "/v1/tokens/"+auth.HashString("never issued"), adminToken, ""); code != 404 {
		t.Errorf("unknown hash: %d", code)
	}
}
