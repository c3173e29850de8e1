package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicegw/sluice/gateway/admin"
	"github.com/sluicegw/sluice/gateway/auth"
	"github.com/sluicegw/sluice/gateway/config"
	"github.com/sluicegw/sluice/gateway/internal/syncbuf"
	"github.com/sluicegw/sluice/gateway/pluginhost"
	"github.com/sluicegw/sluice/gateway/store"
	"github.com/sluicegw/sluice/gateway/telemetry"
)

// TestSessionsCLI drives `sluice sessions ...` against the admin API over a
// real store holding a recorded session.
func TestSessionsCLI(t *testing.T) {
	const tok = "ops-token"
	cfg, err := config.Parse("t.yaml", []byte(fmt.Sprintf(`
identities:
  - {name: ops, kind: human, roles: [admin], token_hashes: [%s]}
  - {name: ci-deploy, kind: service}
`, auth.HashString(tok))), nil)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(t.TempDir(), store.Options{MinFreeBytes: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	host, _ := pluginhost.New(pluginhost.Options{})
	defer host.Close(context.Background())
	srv := httptest.NewServer(admin.New(admin.Options{
		Host: host, Metrics: telemetry.NewMetrics(), Store: st, Logger: slog.New(slog.DiscardHandler),
		Auth: &auth.Authenticator{Config: func() *config.Config { return cfg }, Store: st},
	}))
	defer srv.Close()

	ss, err := st.OpenSession(store.NewSession{Identity: "ci-deploy", Target: "prod-db", Protocol: "postgres", ClientAddr: "10.0.0.7:51234"}, []byte(`{"application_name":"deploy"}`))
	if err != nil {
		t.Fatal(err)
	}
	ss.Durable(store.KindCommand, []byte(`{"text":"SELECT email FROM users","verdict":"allow"}`))
	ss.Append(store.KindOutput, []byte(`{"records":[["****"]]}`))
	ss.Durable(store.KindCommand, []byte(`{"text":"DROP TABLE users","verdict":"block","reason":"destructive_ddl: drop TABLE users"}`))
	ss.Durable(store.KindApprovalRequest, []byte(`{"id":"apr-1","reason":"unbounded_write"}`))
	ss.Durable(store.KindApprovalDecision, []byte(`{"id":"apr-1","decision":"approved","reviewer":"alice","reason":"planned cleanup"}`))
	ss.Close("client quit")
	id := ss.ID().String()

	env := []string{"--admin-url", srv.URL, "--token", tok}
	cli := func(args ...string) (int, string, string) {
		return run(t, "", append(args, env...)...)
	}
	code, out, errOut := cli("sessions", "list")
	if code != 0 || !strings.Contains(out, id) || !strings.Contains(out, "ci-deploy") || !strings.Contains(out, "allow=1,block=1") {
		t.Fatalf("list: %d\n%s\n%s", code, out, errOut)
	}
	code, out, _ = cli("sessions", "list", "--identity", "nobody", "--json")
	if code != 0 || strings.TrimSpace(out) != "[]" {
		t.Errorf("list --json for nobody: %d %q", code, out)
	}
	code, out, _ = cli("sessions", "list", "--since", "1h", "--json")
	var list []store.SessionInfo
	if json.Unmarshal([]byte(out), &list); code != 0 || len(list) != 1 {
		t.Errorf("list --since 1h: %d %s", code, out)
	}
	if code, _, errOut := cli("sessions", "list", "--since", "last week"); code != ExitUsage || !strings.Contains(errOut, "--since") {
		t.Errorf("bad --since: %d %s", code, errOut)
	}
	code, out, _ = cli("sessions", "show", id)
	if code != 0 || !strings.Contains(out, "10.0.0.7:51234") || !strings.Contains(out, "client quit") {
		t.Errorf("show: %d\n%s", code, out)
	}
	code, out, _ = cli("sessions", "replay", id)
	for _, want := range []string{
		"ci-deploy -> prod-db (postgres)",
		"SELECT email FROM users  => allow",
		`{"records":[["****"]]}`,
		"DROP TABLE users  => block: destructive_ddl",
		"request apr-1: unbounded_write",
		"request apr-1: approved by alice: planned cleanup",
		"disconnect",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("replay lacks %q:\n%s", want, out)
		}
	}
	if code != 0 {
		t.Errorf("replay: %d", code)
	}
	code, out, _ = cli("sessions", "export", id, "--format", "jsonl")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var first admin.EventJSON
	if code != 0 || len(lines) != 7 || json.Unmarshal([]byte(lines[0]), &first) != nil || first.Kind != "connect" || first.Hash == "" {
		t.Errorf("export: %d\n%s", code, out)
	}
	if code, _, _ := cli("sessions", "export", id, "--format", "csv"); code != ExitUsage {
		t.Errorf("export --format csv: %d", code)
	}
	code, out, _ = cli("sessions", "verify", id)
	if code != 0 || !strings.Contains(out, "ok, 7 events") {
		t.Errorf("verify: %d %s", code, out)
	}
	unknown := store.NewID(time.Now()).String()
	if code, _, errOut := cli("sessions", "verify", unknown); code != ExitFailure || !strings.Contains(errOut, "not found") {
		t.Errorf("verify of an unknown session: %d %s", code, errOut)
	}
	if code, _, _ := cli("sessions", "show", "not-an-id"); code != ExitUsage {
		t.Errorf("show of a malformed id: %d", code)
	}
	// Authentication and reachability have their own exit codes.
	if code, _, errOut := run(t, "", "sessions", "list", "--admin-url", srv.URL, "--token", "wrong", "--data-dir", t.TempDir()); code != ExitAuth || !strings.Contains(errOut, "authentication failed") {
		t.Errorf("bad token: %d %s", code, errOut)
	}
	if code, _, errOut := run(t, "", "sessions", "list", "--admin-url", srv.URL, "--data-dir", t.TempDir()); code != ExitAuth || !strings.Contains(errOut, "no token") {
		t.Errorf("no token: %d %s", code, errOut)
	}
	if code, _, errOut := run(t, "", "sessions", "list", "--admin-url", "http://"+freePort(t), "--token", tok); code != ExitUnavailable || !strings.Contains(errOut, "cannot reach") {
		t.Errorf("no gateway: %d %s", code, errOut)
	}
}

// TestTokensAgainstServe issues, lists and revokes a token through a real
// `sluice serve`, authenticating with the bootstrap admin token the
// gateway writes into its data_dir (no identity has the admin role).
func TestTokensAgainstServe(t *testing.T) {
	dir := t.TempDir()
	adminAddr := freePort(t)
	cfgPath := filepath.Join(dir, "sluice.yaml")
	os.WriteFile(cfgPath, []byte(fmt.Sprintf(`data_dir: %s
admin:
  listen: %s
identities:
  - {name: ci-deploy, kind: service}
plugins: []
`, filepath.Join(dir, "data"), adminAddr)), 0o644)
	startServe(t, cfgPath)
	env := []string{"--admin-url", adminAddr, "--data-dir", filepath.Join(dir, "data")}
	code, out, errOut := run(t, "", append([]string{"token", "create", "--identity", "ci-deploy", "--ttl", "1h", "--note", "deploy job"}, env...)...)
	secret := strings.TrimSpace(out)
	if code != 0 || !strings.HasPrefix(secret, auth.TokenPrefix) || !strings.Contains(errOut, "shown once") {
		t.Fatalf("create: %d %q %s", code, out, errOut)
	}
	hash := auth.HashString(secret)
	code, out, _ = run(t, "", append([]string{"token", "list"}, env...)...)
	if code != 0 || !strings.Contains(out, hash) || !strings.Contains(out, "valid") || strings.Contains(out, secret) {
		t.Errorf("list: %d\n%s", code, out)
	}
	if code, _, errOut := run(t, "", append([]string{"token", "create", "--identity", "nobody"}, env...)...); code != ExitFailure || !strings.Contains(errOut, "not in the config") {
		t.Errorf("create for an unknown identity: %d %s", code, errOut)
	}
	if code, _, _ := run(t, "", append([]string{"token", "create"}, env...)...); code != ExitUsage {
		t.Errorf("create without --identity: %d", code)
	}
	// The issued token authenticates, but ci-deploy has no admin role.
	if code, _, errOut := run(t, "", "plugins", "list", "--admin-url", adminAddr, "--token", secret); code != ExitAuth || !strings.Contains(errOut, "admin role") {
		t.Errorf("plugins list as ci-deploy: %d %s", code, errOut)
	}
	if code, out, errOut := run(t, "", append([]string{"plugins", "list"}, env...)...); code != 0 || !strings.Contains(out, "NAME") {
		t.Errorf("plugins list as the bootstrap admin: %d %s %s", code, out, errOut)
	}
	if code, out, _ := run(t, "", append([]string{"token", "revoke", hash}, env...)...); code != 0 || !strings.Contains(out, "revoked token of ci-deploy") {
		t.Errorf("revoke: %d %s", code, out)
	}
	if code, _, _ := run(t, "", "plugins", "list", "--admin-url", adminAddr, "--token", secret); code != ExitAuth {
		t.Errorf("revoked token: %d", code)
	}
	code, out, _ = run(t, "", append([]string{"token", "list", "--json"}, env...)...)
	var toks []store.Token
	if json.Unmarshal([]byte(out), &toks); code != 0 || len(toks) != 1 || toks[0].Revoked.IsZero() {
		t.Errorf("list after revoke: %d %s", code, out)
	}
	if code, _, _ := run(t, "", append([]string{"token", "revoke", "sha256:nothex"}, env...)...); code != ExitUsage {
		t.Errorf("revoke of a malformed hash: %d", code)
	}
}

// startServe runs `sluice serve --config cfgPath` in-process until the
// test ends and returns once it serves (its log says "sluice serving").
// The returned buffer is the gateway's log.
func startServe(t *testing.T, cfgPath string) *syncBuffer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	logs := &syncBuffer{}
	go func() {
		done <- Main(ctx, []string{"serve", "--config", cfgPath}, strings.NewReader(""), io.Discard, logs)
	}()
	exited := false
	t.Cleanup(func() {
		cancel()
		if !exited {
			if code := <-done; code != 0 {
				t.Errorf("serve exited %d: %s", code, logs.String())
			}
		}
	})
	// A deadline for failing, not a timing assertion: a cold plugin
	// compile under -race on a busy machine takes tens of seconds.
	deadline := time.Now().Add(2 * time.Minute)
	for !strings.Contains(logs.String(), "sluice serving") {
		select {
		case code := <-done:
			exited = true
			t.Fatalf("serve exited %d before serving:\n%s", code, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not come up:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return logs
}

// TestShellSessionReplay: a recorded interactive shell (asciicast events
// as the SSH engine writes them) plays back with `sessions replay` and
// exports as an asciicast v2 file.
func TestShellSessionReplay(t *testing.T) {
	const tok = "ops-token"
	cfg, _ := config.Parse("t.yaml", []byte(fmt.Sprintf(`
identities:
  - {name: ops, kind: human, roles: [admin], token_hashes: [%s]}
`, auth.HashString(tok))), nil)
	st, err := store.Open(t.TempDir(), store.Options{MinFreeBytes: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	host, _ := pluginhost.New(pluginhost.Options{})
	defer host.Close(context.Background())
	srv := httptest.NewServer(admin.New(admin.Options{
		Host: host, Metrics: telemetry.NewMetrics(), Store: st, Logger: slog.New(slog.DiscardHandler),
		Auth: &auth.Authenticator{Config: func() *config.Config { return cfg }, Store: st},
	}))
	defer srv.Close()
	ss, _ := st.OpenSession(store.NewSession{Identity: "ci", Target: "web1", Protocol: "ssh"}, nil)
	ss.Append(store.KindOutput, []byte(`{"asciicast_header":{"version":2,"width":80,"height":24}}`))
	ss.Append(store.KindOutput, []byte(`{"asciicast":[0.01,"o","$ "]}`))
	ss.Durable(store.KindCommand, []byte(`{"text":"cat users","verdict":"allow"}`))
	ss.Append(store.KindOutput, []byte(`{"asciicast":[0.02,"o","ann: [EMAIL]\r\n"]}`))
	ss.Append(store.KindOutput, []byte(`{"asciicast":[0.03,"r","100x30"]}`))
	ss.Close("exit")
	id := ss.ID().String()
	env := []string{"--admin-url", srv.URL, "--token", tok}

	code, out, _ := run(t, "", append([]string{"sessions", "replay", id, "--speed", "100"}, env...)...)
	if code != 0 || out != "$ ann: [EMAIL]\r\n" {
		t.Errorf("terminal replay: %d %q", code, out)
	}
	code, out, _ = run(t, "", append([]string{"sessions", "replay", id, "--timeline"}, env...)...)
	if code != 0 || !strings.Contains(out, "cat users  => allow") {
		t.Errorf("timeline: %d %s", code, out)
	}
	code, out, _ = run(t, "", append([]string{"sessions", "export", id, "--format", "asciicast"}, env...)...)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 4 || !strings.Contains(lines[0], `"version":2`) || lines[3] != `[0.03,"r","100x30"]` {
		t.Errorf("asciicast export: %d\n%s", code, out)
	}
	// A session without a terminal has nothing to export as asciicast.
	plain, _ := st.OpenSession(store.NewSession{Identity: "ci"}, nil)
	plain.Close("done")
	if code, _, errOut := run(t, "", append([]string{"sessions", "export", plain.ID().String(), "--format", "asciicast"}, env...)...); code != ExitFailure || !strings.Contains(errOut, "no terminal recording") {
		t.Errorf("asciicast of a plain session: %d %s", code, errOut)
	}
}

// syncBuffer is the tests' concurrent-safe output sink.
type syncBuffer = syncbuf.Buffer
