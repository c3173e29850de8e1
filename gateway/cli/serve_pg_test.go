package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicegw/sluice/gateway/auth"
	"github.com/sluicegw/sluice/gateway/internal/pgtest"
	"github.com/sluicegw/sluice/gateway/store"
)

// TestServePostgres runs `sluice serve` with a postgres target in front of
// a real PostgreSQL and drives it with psql, as the README's PostgreSQL
// walkthrough does: rows come back masked, DROP TABLE is refused with
// 42501, a DELETE without WHERE waits for `sluice approvals approve` and
// then runs, and the session is recorded, verifies and replays through
// the CLI.
func TestServePostgres(t *testing.T) {
	pg, err := pgtest.Start("sluice_owner", "Owner-Secret-91c2", "shop")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skipf("no PostgreSQL: %v", err)
	}
	defer pg.Stop()
	psql := filepath.Join(pg.Bin, "psql")
	direct := fmt.Sprintf("host=127.0.0.1 port=%s user=%s dbname=%s sslmode=disable", strings.Split(pg.Addr, ":")[1], pg.User, pg.Database)
	run := func(dsn, password, sql string) (string, error) {
		cmd := exec.Command(psql, dsn, "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql)
		cmd.Env = append(os.Environ(), "PGPASSWORD="+password, "PGCLIENTENCODING=UTF8", "PGCONNECT_TIMEOUT=10")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := run(direct, pg.Password, `CREATE TABLE customers (id int, email text); INSERT INTO customers VALUES (1, 'ann@example.com'), (2, 'bob@example.org')`); err != nil {
		t.Fatalf("fixture: %v\n%s", err, out)
	}

	root, _ := filepath.Abs(filepath.Join("..", ".."))
	for _, p := range []string{"plugins/sql-guard/sql-guard.wasm", "sdk/go/example/json-field-mask.wasm"} {
		if _, err := os.Stat(filepath.Join(root, p)); err != nil {
			t.Fatalf("%s is not built: run `make plugins` (make test does)", p)
		}
	}
	dir := t.TempDir()
	adminAddr, pgAddr := freePort(t), freePort(t)
	const token, reviewerToken = "ci-token-5b1e", "alice-token-77c0"
	cfgPath := filepath.Join(dir, "sluice.yaml")
	os.WriteFile(cfgPath, []byte(fmt.Sprintf(`data_dir: %s
admin: {listen: %s}
identities:
  - {name: ci-deploy, kind: service, token_hashes: [%s]}
  - {name: alice, kind: human, roles: [reviewer], token_hashes: [%s]}
plugins:
  - {name: sql-guard, path: %s, config: {unbounded_write: approve}}
  - {name: mask, path: %s, config: {fields: [email]}}
targets:
  - name: shop
    protocol: postgres
    listen: %s
    upstream: {address: %q, database: shop, user: sluice_owner, password: "${SHOP_PG_PASSWORD}", sslmode: disable}
    allow: [ci-deploy]
    plugins: [sql-guard, mask]
`, filepath.Join(dir, "data"), adminAddr, auth.HashString(token), auth.HashString(reviewerToken),
		filepath.Join(root, "plugins/sql-guard/sql-guard.wasm"), filepath.Join(root, "sdk/go/example/json-field-mask.wasm"),
		pgAddr, pg.Addr)), 0o644)
	t.Setenv("SHOP_PG_PASSWORD", pg.Password)
	stderr := startServe(t, cfgPath)

	via := fmt.Sprintf("host=127.0.0.1 port=%s user=ci-deploy dbname=shop sslmode=require", strings.Split(pgAddr, ":")[1])
	out, err := run(via, token, `SELECT id, email FROM customers ORDER BY id`)
	if err != nil || strings.Contains(out, "@example") || !strings.Contains(out, "1|") {
		t.Fatalf("masked select: %v\n%s", err, out)
	}
	out, err = run(via, token, `DROP TABLE customers`)
	if err == nil || !strings.Contains(out, "destructive_ddl") {
		t.Fatalf("DROP TABLE through sluice: %v\n%s", err, out)
	}
	if out, err := run(direct, pg.Password, `SELECT count(*) FROM customers`); err != nil || strings.TrimSpace(out) != "2" {
		t.Fatalf("the table after the refused DROP: %v %s", err, out)
	}
	// A DELETE without WHERE waits for a reviewer; approved, it runs.
	del := exec.Command(psql, via, "-X", "-v", "ON_ERROR_STOP=1", "-c", `DELETE FROM customers`)
	del.Env = append(os.Environ(), "PGPASSWORD="+token, "PGCLIENTENCODING=UTF8", "PGCONNECT_TIMEOUT=10")
	var delOut strings.Builder
	del.Stdout, del.Stderr = &delOut, &delOut
	if err := del.Start(); err != nil {
		t.Fatal(err)
	}
	reviewer := func(args ...string) (int, string, string) {
		return run2(t, append(args, "--admin-url", adminAddr, "--token", reviewerToken)...)
	}
	var reqID string
	for i := 0; reqID == "" && i < 300; i++ {
		code, out, _ := reviewer("approvals", "list", "--json")
		var reqs []struct {
			ID      string `json:"id"`
			State   string `json:"state"`
			Command string `json:"command"`
		}
		if code == 0 && json.Unmarshal([]byte(out), &reqs) == nil {
			for _, r := range reqs {
				if r.State == "pending" && strings.Contains(r.Command, "DELETE") {
					reqID = r.ID
				}
			}
		}
		if reqID == "" {
			time.Sleep(100 * time.Millisecond)
		}
	}
	if reqID == "" {
		del.Process.Kill()
		del.Wait()
		t.Fatalf("no pending approval for the DELETE; psql said:\n%s", delOut.String())
	}
	if code, out, errOut := reviewer("approvals", "approve", reqID, "--reason", "test data"); code != 0 {
		t.Fatalf("approve: %d %s %s", code, out, errOut)
	}
	if err := del.Wait(); err != nil || !strings.Contains(delOut.String(), "DELETE 2") || !strings.Contains(delOut.String(), reqID) {
		t.Fatalf("the approved DELETE: %v\n%s", err, delOut.String())
	}
	if out, err := run(via, "wrong-token", `SELECT 1`); err == nil || !strings.Contains(out, "authentication failed") {
		t.Fatalf("bad token: %v\n%s", err, out)
	}
	if strings.Contains(stderr.String(), pg.Password) {
		t.Fatal("the backend password is in the gateway's log")
	}

	// The sessions are recorded and verify, through the admin API.
	data := filepath.Join(dir, "data")
	code, list, errOut := run2(t, "sessions", "list", "--identity", "ci-deploy", "--json", "--admin-url", adminAddr, "--data-dir", data)
	var infos []store.SessionInfo
	if json.Unmarshal([]byte(list), &infos); code != 0 || len(infos) < 2 {
		t.Fatalf("sessions list: %d %s %s", code, list, errOut)
	}
	for _, info := range infos {
		if code, out, _ := run2(t, "sessions", "verify", info.ID, "--admin-url", adminAddr, "--data-dir", data); code != 0 {
			t.Errorf("verify %s: %s", info.ID, out)
		}
		if code, out, _ := run2(t, "sessions", "export", info.ID, "--admin-url", adminAddr, "--data-dir", data); code != 0 || strings.Contains(out, pg.Password) || strings.Contains(out, "ann@example.com") {
			t.Errorf("export %s: %d, or it holds the backend password or an unmasked email", info.ID, code)
		}
	}
	code, replay, _ := run2(t, "sessions", "replay", infos[len(infos)-1].ID, "--admin-url", adminAddr, "--data-dir", data)
	for _, info := range infos {
		if _, r, _ := run2(t, "sessions", "replay", info.ID, "--admin-url", adminAddr, "--data-dir", data); strings.Contains(r, "DELETE FROM customers") {
			if !strings.Contains(r, reqID) || !strings.Contains(r, "approve by alice") {
				t.Errorf("the replay of the DELETE's session does not show the approval:\n%s", r)
			}
		}
	}
	if code != 0 || !strings.Contains(replay, "SELECT id, email FROM customers") {
		t.Errorf("replay of the first session: %d\n%s", code, replay)
	}
}

// run2 runs the CLI in-process (run without the stdin argument).
func run2(t *testing.T, args ...string) (int, string, string) { return run(t, "", args...) }
