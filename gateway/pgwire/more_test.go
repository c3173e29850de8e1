package pgwire

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sluicegw/sluice/gateway/pluginhost"
	"github.com/sluicegw/sluice/gateway/policy"
	"github.com/sluicegw/sluice/gateway/store"
)

// Values quoted in errors do not get around masking.
func TestErrorsDoNotLeakMaskedValues(t *testing.T) {
	e := newEnv(t, envOptions{guard: true, mask: true})
	c := e.pgx(t, nil)
	_, err := c.Exec(ctxT(t), "SELECT email::int FROM customers WHERE id = 1")
	if pgCode(err) != "22P02" || strings.Contains(err.Error(), "ann@example.com") {
		t.Fatalf("cast error: %v", err)
	}
}

// pii-mask finds e-mail addresses whatever the column is called.
func TestPIIMask(t *testing.T) {
	path := filepath.Join("..", "..", "plugins", "pii-mask", "pii-mask.wasm")
	if _, err := os.Stat(path); err != nil {
		t.Skipf("%v: build it with `make plugins`", err)
	}
	e := newEnv(t, envOptions{})
	h, err := pluginhost.New(pluginhost.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close(context.Background()) })
	p, err := h.Load(context.Background(), pluginhost.Spec{Name: "pii-mask", Path: path})
	if err != nil {
		t.Fatal(err)
	}
	chain := policy.Chain{p}
	e.chain.Store(&chain)
	c := e.pgx(t, nil)
	ctx := ctxT(t)
	var contact string
	if err := c.QueryRow(ctx, "SELECT 'mail ' || email AS contact FROM customers WHERE id = 1").Scan(&contact); err != nil {
		t.Fatal(err)
	}
	if contact != "mail [EMAIL]" {
		t.Errorf("contact: %q", contact)
	}
	_, err = c.Exec(ctx, "SELECT ('x' || email)::int FROM customers WHERE id = 2")
	if err == nil || strings.Contains(err.Error(), "bob@example.org") {
		t.Errorf("error: %v", err)
	}
}

// A backend that dies mid-query: the client gets an error, the gateway
// serves the next client.
func TestBackendDiesMidQuery(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := ctxT(t)
	cfg, _ := pgx.ParseConfig(e.dsn("ci-bot", botToken) + " application_name=victim")
	c, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	done := make(chan error, 1)
	go func() { _, err := c.Exec(ctx, "SELECT pg_sleep(120)"); done <- err }()
	waitSleeping(t, 1)
	pc := backendConn(t)
	defer pc.Close(ctx)
	if err := pc.Exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'victim'").Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err == nil {
		t.Fatal("the query survived its backend")
	}
	c2 := e.pgx(t, nil)
	var one int
	if err := c2.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil {
		t.Fatal(err)
	}
}

// pgbench through sluice, TPC-B and select-only, simple and extended
// protocols, with sql-guard and masking on.
func TestPgbench(t *testing.T) {
	needPG(t)
	bench := filepath.Join(testPG.bin, "pgbench")
	if _, err := os.Stat(bench); err != nil {
		t.Skip("no pgbench")
	}
	if testing.Short() {
		t.Skip("-short")
	}
	// Initialise straight on the backend: pgbench -i drops its tables,
	// which sql-guard refuses.
	pbench := func(dsn, password string, args ...string) string {
		t.Helper()
		cmd := exec.Command(bench, append(args, dsn)...)
		cmd.Env = append(os.Environ(), "PGPASSWORD="+password, "PGCLIENTENCODING=UTF8")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("pgbench %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	port := strings.Split(testPG.addr, ":")[1]
	pbench(fmt.Sprintf("host=127.0.0.1 port=%s user=%s dbname=%s sslmode=disable", port, testPG.user, testPG.database),
		testPG.password, "-i", "-s", "1", "-q", "-I", "dtgvp")
	e := newEnv(t, envOptions{guard: true, mask: true})
	dsn := strings.Replace(e.dsn("ci-bot", ""), "password=''", "", 1)
	for _, args := range [][]string{
		{"-n", "-c", "4", "-j", "2", "-t", "25"},
		{"-n", "-S", "-c", "4", "-j", "2", "-t", "100", "-M", "extended"},
		{"-n", "-S", "-c", "2", "-t", "100", "-M", "prepared"},
	} {
		out := pbench(dsn, botToken, args...)
		if !strings.Contains(out, "number of failed transactions: 0") {
			t.Errorf("pgbench %v:\n%s", args, out)
		}
	}
	_ = time.Second
}

// A backend that refuses sluice's credential: the client gets a generic
// error; neither the client nor the log learns the backend user or
// password.
func TestBackendLoginFails(t *testing.T) {
	e := newEnv(t, envOptions{upstreamPassword: "Wrong-Backend-Secret-1234"})
	_, err := pgxConnectErr(t, e)
	if pgCode(err) != "08006" || strings.Contains(err.Error(), testPG.user) {
		t.Fatalf("%v", err)
	}
	for _, secret := range []string{testPG.user, "Wrong-Backend-Secret-1234"} {
		if strings.Contains(e.logs.String(), secret) {
			t.Errorf("the log has %q:\n%s", secret, e.logs.String())
		}
	}
	if !strings.Contains(e.logs.String(), "cannot connect to the backend") {
		t.Errorf("the failure is not logged:\n%s", e.logs.String())
	}
}

func pgxConnectErr(t *testing.T, e *env) (*pgx.Conn, error) {
	c, err := pgx.Connect(ctxT(t), e.dsn("ci-bot", botToken))
	if err == nil {
		c.Close(context.Background())
	}
	return c, err
}

// Without its policy a target refuses commands and rows.
func TestChainUnavailableFailsClosed(t *testing.T) {
	e := newEnv(t, envOptions{guard: true, mask: true})
	c := e.pgx(t, nil)
	ctx := ctxT(t)
	var n int
	if err := c.QueryRow(ctx, "SELECT count(*) FROM customers").Scan(&n); err != nil {
		t.Fatal(err)
	}
	missing := errors.New(`plugin "pii-mask" of target orders is not loaded`)
	e.chainErr.Store(&missing)
	_, err := c.Exec(ctx, "SELECT 1")
	if pgCode(err) != "42501" || !strings.Contains(err.Error(), "policy of this target is unavailable") {
		t.Fatalf("command without a policy: %v", err)
	}
}

// Every run of a prepared statement is recorded, before it is forwarded:
// an execute event per Bind with the statement's normalized text and the
// number of parameters (not their values); the first run of an unnamed
// statement is its command event.
func TestExecutionsRecorded(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := ctxT(t)
	c := e.pgx(t, nil) // cache-statement mode: named statements
	for i := 1; i <= 3; i++ {
		var name string
		if err := c.QueryRow(ctx, "SELECT name FROM customers WHERE id = $1", i).Scan(&name); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 2 {
		if _, err := c.Exec(ctx, "UPDATE scratch SET note = $1 WHERE id = $2", "secret-note", i); err != nil {
			t.Fatal(err)
		}
	}
	var one int
	if err := c.QueryRow(ctx, "SELECT 1", pgx.QueryExecModeExec).Scan(&one); err != nil {
		t.Fatal(err)
	}
	c.Close(ctx)
	_, evs := e.events(t)
	runs := map[string]int{}
	for _, ev := range evs {
		if ev.Kind != store.KindExecute {
			continue
		}
		var d execEvent
		if err := json.Unmarshal(ev.Data, &d); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(ev.Data), "secret-note") {
			t.Errorf("a parameter value was recorded: %s", ev.Data)
		}
		runs[d.Text]++
		if d.Params == 0 || d.Statement == "" {
			t.Errorf("execute event %s", ev.Data)
		}
	}
	if runs["SELECT name FROM customers WHERE id = $1"] != 3 || runs["UPDATE scratch SET note = $1 WHERE id = $2"] != 2 || len(runs) != 2 {
		t.Errorf("executions recorded: %v", runs)
	}
}
