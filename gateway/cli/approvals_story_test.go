package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sluicegw/sluice/gateway/admin"
	"github.com/sluicegw/sluice/gateway/approvals"
	"github.com/sluicegw/sluice/gateway/auth"
	"github.com/sluicegw/sluice/gateway/config"
	"github.com/sluicegw/sluice/gateway/pluginhost"
	"github.com/sluicegw/sluice/gateway/store"
	"github.com/sluicegw/sluice/gateway/telemetry"
)

// fakeEngine is what a protocol engine does with a command a plugin sent
// for approval, through the store and approvals interfaces only: record
// the command durably, ask, wait, then run it or refuse it and record
// that.
type fakeEngine struct {
	sess *store.Session
	apr  *approvals.Manager
}

func (e *fakeEngine) run(ctx context.Context, text, fingerprint string, expiry time.Duration) (string, error) {
	cmd, _ := json.Marshal(map[string]string{"text": text, "verdict": "require_approval", "reason": "unbounded_write: DELETE without WHERE"})
	if _, err := e.sess.Durable(store.KindCommand, cmd); err != nil {
		return "", err
	}
	if g, ok := e.apr.Granted("ci-deploy", "prod-db", fingerprint); ok {
		return "granted by " + g.Request, nil
	}
	req, err := e.apr.Request(ctx, approvals.NewRequest{
		Session: e.sess.ID().String(), Identity: "ci-deploy", Target: "prod-db", Command: text,
		Reason: "unbounded_write: DELETE without WHERE", Plugin: "sql-guard", Fingerprint: fingerprint, Expiry: expiry,
	}, e.sess)
	if err != nil {
		return "", err
	}
	out, err := e.apr.Wait(ctx, req.ID)
	if err != nil {
		return "", err
	}
	if !out.Approved {
		return "refused: " + string(out.State) + ": " + out.Reason, nil
	}
	e.sess.Append(store.KindOutput, []byte(`{"text":"DELETE 42"}`))
	return "ran", nil
}

// TestApprovalStory is the "done when": a held command released by
// `sluice approvals approve` from a reviewer, one refused by `deny`, one
// expired, a retry passing on a time-window grant, and the story in
// `sluice sessions replay`, passing `sluice sessions verify`.
func TestApprovalStory(t *testing.T) {
	const opsTok, aliceTok, bobTok, ciTok = "ops-token", "alice-token", "bob-token", "ci-token"
	cfg, err := config.Parse("t.yaml", []byte(fmt.Sprintf(`
identities:
  - {name: ops, kind: human, roles: [admin], token_hashes: [%s]}
  - {name: alice, kind: human, roles: [reviewer], token_hashes: [%s]}
  - {name: bob, kind: service, roles: [reviewer], token_hashes: [%s]}
  - {name: ci-deploy, kind: service, token_hashes: [%s]}
`, auth.HashString(opsTok), auth.HashString(aliceTok), auth.HashString(bobTok), auth.HashString(ciTok))), nil)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(t.TempDir(), store.Options{MinFreeBytes: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	apr, err := approvals.New(approvals.Options{Store: st, MaxGrant: time.Hour, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer apr.Close()
	host, _ := pluginhost.New(pluginhost.Options{})
	defer host.Close(context.Background())
	srv := httptest.NewServer(admin.New(admin.Options{
		Host: host, Metrics: telemetry.NewMetrics(), Store: st, Approvals: apr, Logger: slog.New(slog.DiscardHandler),
		Auth: &auth.Authenticator{Config: func() *config.Config { return cfg }, Store: st},
	}))
	defer srv.Close()
	as := func(tok string, args ...string) (int, string, string) {
		return run(t, "", append(args, "--admin-url", srv.URL, "--token", tok)...)
	}

	sess, err := st.OpenSession(store.NewSession{Identity: "ci-deploy", Target: "prod-db", Protocol: "postgres", ClientAddr: "10.1.2.3:5000"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	eng := &fakeEngine{sess: sess, apr: apr}
	ctx := context.Background()

	// pending waits for the engine's request to show up and returns its id.
	pending := func() string {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			code, out, errOut := as(aliceTok, "approvals", "list", "--json")
			if code != 0 {
				t.Fatalf("approvals list: %d %s", code, errOut)
			}
			var list []approvals.Request
			json.Unmarshal([]byte(out), &list)
			if len(list) == 1 {
				return list[0].ID
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatal("no pending request")
		return ""
	}
	type result struct {
		out string
		err error
	}
	start := func(text, fp string, expiry time.Duration) chan result {
		ch := make(chan result, 1)
		go func() {
			out, err := eng.run(ctx, text, fp, expiry)
			ch <- result{out, err}
		}()
		return ch
	}

	// 1. Approved by a reviewer, with a 10-minute grant for the statement.
	done := start("DELETE FROM sessions", "fp-delete-sessions", time.Minute)
	id1 := pending()
	if code, out, _ := as(aliceTok, "approvals", "show", id1); code != 0 || !strings.Contains(out, "DELETE FROM sessions") || !strings.Contains(out, "0 of 1") {
		t.Errorf("show: %d\n%s", code, out)
	}
	// Neither a service identity (even with the role) nor the requester
	// may approve; an identity without a reviewer role cannot even look.
	if code, _, errOut := as(bobTok, "approvals", "approve", id1); code != ExitAuth || !strings.Contains(errOut, "human") {
		t.Errorf("a service reviewer approves: %d %s", code, errOut)
	}
	if code, _, errOut := as(ciTok, "approvals", "approve", id1); code != ExitAuth || !strings.Contains(errOut, "neither the reviewer nor the admin role") {
		t.Errorf("the requester approves: %d %s", code, errOut)
	}
	if code, out, errOut := as(aliceTok, "approvals", "approve", id1, "--grant", "10m", "--reason", "planned cleanup"); code != 0 || !strings.Contains(out, "approved") {
		t.Fatalf("approve: %d %s %s", code, out, errOut)
	}
	if r := <-done; r.err != nil || r.out != "ran" {
		t.Fatalf("approved command: %+v", r)
	}
	if code, _, errOut := as(aliceTok, "approvals", "deny", id1, "--reason", "too late"); code != ExitFailure || !strings.Contains(errOut, "already decided") {
		t.Errorf("deny after approve: %d %s", code, errOut)
	}
	// 2. The retried job passes on the grant, without a new request.
	if out, err := eng.run(ctx, "DELETE FROM sessions", "fp-delete-sessions", time.Minute); err != nil || out != "granted by "+id1 {
		t.Fatalf("retry: %q %v", out, err)
	}
	// 3. Denied.
	done = start("DELETE FROM users", "fp-delete-users", time.Minute)
	id3 := pending()
	if code, _, _ := as(aliceTok, "approvals", "deny", id3); code != ExitUsage {
		t.Errorf("deny without a reason: %d", code)
	}
	if code, out, _ := as(aliceTok, "approvals", "deny", id3, "--reason", "not during business hours"); code != 0 || !strings.Contains(out, "denied") {
		t.Fatalf("deny: %d %s", code, out)
	}
	if r := <-done; r.err != nil || r.out != "refused: denied: not during business hours" {
		t.Fatalf("denied command: %+v", r)
	}
	// 4. Expired: nobody decides in time.
	if out, err := eng.run(ctx, "DELETE FROM orders", "fp-delete-orders", 50*time.Millisecond); err != nil || !strings.HasPrefix(out, "refused: expired") {
		t.Fatalf("expired command: %q %v", out, err)
	}
	if code, out, _ := as(aliceTok, "approvals", "list", "--state", "all"); code != 0 || strings.Count(out, "\n") != 4 || !strings.Contains(out, "expired") {
		t.Errorf("list --state all: %d\n%s", code, out)
	}
	sess.Close("client quit")

	// The whole story is in the recording, and it verifies.
	code, out, _ := as(opsTok, "sessions", "replay", sess.ID().String())
	for _, want := range []string{
		"DELETE FROM sessions  => require_approval",
		"request " + id1 + ": unbounded_write",
		"request " + id1 + ": approve by alice -> approved: planned cleanup",
		"DELETE 42",
		"request " + id3 + ": deny by alice -> denied: not during business hours",
		"-> expired",
		"disconnect",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("replay lacks %q", want)
		}
	}
	if t.Failed() || code != 0 {
		t.Fatalf("replay: %d\n%s", code, out)
	}
	if code, out, _ := as(opsTok, "sessions", "verify", sess.ID().String()); code != 0 || !strings.Contains(out, "ok") {
		t.Errorf("verify: %d %s", code, out)
	}
	// Reviewers' decisions are admin actions too.
	acts, _ := st.AdminActions(time.Time{})
	var decided int
	for _, a := range acts {
		if a.Identity == "alice" && strings.HasSuffix(a.Action, "/approve") || a.Identity == "alice" && strings.HasSuffix(a.Action, "/deny") {
			decided++
		}
	}
	if decided < 3 {
		t.Errorf("%d decisions recorded as admin actions", decided)
	}
}
