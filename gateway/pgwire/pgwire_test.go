package pgwire

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sluicegw/sluice/gateway/auth"
	"github.com/sluicegw/sluice/gateway/store"
)

func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

type customer struct {
	id    int
	email *string
}

func queryEmails(t *testing.T, c *pgx.Conn, mode pgx.QueryExecMode) []customer {
	t.Helper()
	rows, err := c.Query(ctxT(t), "SELECT id, email FROM customers ORDER BY id", mode)
	if err != nil {
		t.Fatal(err)
	}
	var out []customer
	for rows.Next() {
		var cu customer
		if err := rows.Scan(&cu.id, &cu.email); err != nil {
			t.Fatal(err)
		}
		out = append(out, cu)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%v: %v", mode, err)
	}
	return out
}

// The core path with pgx in every query mode: emails masked (NULL stays
// NULL, other columns untouched), DROP TABLE refused with 42501 and the
// plugin's reason while the connection stays usable, a refusal inside a
// transaction failing it as PostgreSQL would, and neither the backend's
// user nor its password in any byte the client got, any recorded event
// or the log.
func TestPgxMaskBlockAndSecrets(t *testing.T) {
	e := newEnv(t, envOptions{guard: true, mask: true})
	received := &syncBuffer{}
	c := e.pgx(t, received)
	ctx := ctxT(t)

	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeExec,
		pgx.QueryExecModeCacheStatement, pgx.QueryExecModeDescribeExec, pgx.QueryExecModeCacheDescribe} {
		got := queryEmails(t, c, mode)
		if len(got) != 3 || got[0].id != 1 || got[0].email == nil || *got[0].email != "****" ||
			got[1].email == nil || *got[1].email != "****" || got[2].email != nil {
			t.Errorf("%v: %+v", mode, got)
		}
	}
	// Binary result formats: the int and jsonb columns decode, the
	// masked text column too.
	var name, email string
	var score int
	var meta map[string]any
	if err := c.QueryRow(ctx, "SELECT name, email, score, meta FROM customers WHERE id = $1", 1).Scan(&name, &email, &score, &meta); err != nil {
		t.Fatal(err)
	}
	if name != "Ann" || email != "****" || score != 10 || meta["tier"] != "gold" {
		t.Errorf("row 1: %q %q %d %v", name, email, score, meta)
	}

	_, err := c.Exec(ctx, "DROP TABLE customers")
	if pgCode(err) != "42501" || !strings.Contains(err.Error(), "destructive_ddl") {
		t.Fatalf("DROP TABLE: %v", err)
	}
	_, err = c.Exec(ctx, "DROP TABLE customers", pgx.QueryExecModeSimpleProtocol)
	if pgCode(err) != "42501" {
		t.Fatalf("DROP TABLE (simple): %v", err)
	}
	var one int
	if err := c.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("after a refusal: %v", err)
	}
	// In a transaction the refusal fails the transaction.
	tx, err := c.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "DROP TABLE customers"); pgCode(err) != "42501" {
		t.Fatalf("DROP in a transaction: %v", err)
	}
	if _, err := tx.Exec(ctx, "SELECT 1"); pgCode(err) != "25P02" {
		t.Fatalf("after a refusal in a transaction: %v (want 25P02, in failed transaction)", err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.QueryRow(ctx, "SELECT count(*) FROM customers").Scan(&one); err != nil || one != 3 {
		t.Fatalf("customers after all that: %d %v", one, err)
	}
	c.Close(ctx)

	cmds := e.commands(t)
	joined := strings.Join(cmds, "\n")
	if !strings.Contains(joined, `"verdict":"block"`) || !strings.Contains(joined, `DROP TABLE customers`) {
		t.Errorf("commands recorded:\n%s", joined)
	}
	_, evs := e.events(t)
	var recorded strings.Builder
	for _, ev := range evs {
		recorded.Write(ev.Data)
		recorded.WriteByte('\n')
	}
	if !strings.Contains(recorded.String(), "****") {
		t.Errorf("no masked output recorded:\n%s", recorded.String())
	}
	for _, secret := range []string{testPG.password, testPG.user} {
		if strings.Contains(received.String(), secret) {
			t.Errorf("the client received %q", secret)
		}
		if strings.Contains(recorded.String(), secret) {
			t.Errorf("the store recorded %q", secret)
		}
		if strings.Contains(e.logs.String(), secret) {
			t.Errorf("the log has %q", secret)
		}
	}
	for _, raw := range []string{"ann@example.com", "bob@example.org"} {
		if strings.Contains(received.String(), raw) || strings.Contains(recorded.String(), raw) {
			t.Errorf("%s reached the client or the store", raw)
		}
	}
}

func psql(t *testing.T, e *env, token string, args ...string) (string, string, error) {
	t.Helper()
	cmd := exec.Command("/usr/bin/psql", append([]string{"-X", "-v", "ON_ERROR_STOP=1", strings.Replace(e.dsn("ci-bot", ""), "password=''", "", 1)}, args...)...)
	cmd.Env = append(os.Environ(), "PGPASSWORD="+token, "PGCLIENTENCODING=UTF8", "PGCONNECT_TIMEOUT=30")
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	return out.String(), errOut.String(), err
}

// psql, a client sluice did not write: masked SELECT, refused DROP, a
// meta-command.
func TestPsql(t *testing.T) {
	if _, err := os.Stat("/usr/bin/psql"); err != nil {
		t.Skip("no psql")
	}
	e := newEnv(t, envOptions{guard: true, mask: true})
	out, errOut, err := psql(t, e, botToken, "-c", "SELECT id, email FROM customers ORDER BY id")
	if err != nil || !strings.Contains(out, "****") || strings.Contains(out, "@example") || !strings.Contains(out, "(3 rows)") {
		t.Fatalf("psql SELECT: %v\n%s\n%s", err, out, errOut)
	}
	out, errOut, err = psql(t, e, botToken, "-c", "DROP TABLE customers")
	if err == nil || !strings.Contains(errOut, "blocked by sluice policy") || !strings.Contains(errOut, "destructive_ddl") {
		t.Fatalf("psql DROP: %v\n%s\n%s", err, out, errOut)
	}
	out, errOut, err = psql(t, e, botToken, "-c", `\d customers`)
	if err != nil || !strings.Contains(out, "email") {
		t.Fatalf(`psql \d: %v\n%s\n%s`, err, out, errOut)
	}
	out, errOut, err = psql(t, e, "wrong-token", "-c", "SELECT 1")
	if err == nil || !strings.Contains(errOut, "authentication failed") {
		t.Fatalf("psql with a wrong token: %v\n%s\n%s", err, out, errOut)
	}
}

// Every refusal at login looks the same to the client and is recorded.
func TestAuthRefusals(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := ctxT(t)
	cases := []struct{ user, token string }{
		{"ci-bot", "wrong"},         // bad token
		{"nobody", botToken},        // unknown identity, someone's token
		{"intruder", intruderToken}, // valid, not allowed on the target
		{"intruder", botToken},      // a token presented under another name
		{"ci-bot", ""},              // no token
	}
	for _, tc := range cases {
		_, err := pgconn.Connect(ctx, e.dsn(tc.user, tc.token))
		if pgCode(err) != "28P01" || !strings.Contains(err.Error(), "authentication failed") {
			t.Errorf("%s/%q: %v", tc.user, tc.token, err)
		}
	}
	infos, evs := e.events(t)
	denied := 0
	for _, ev := range evs {
		if ev.Kind == store.KindAuth && strings.Contains(string(ev.Data), `"result":"denied"`) {
			denied++
		}
	}
	if denied != len(cases) || len(infos) != len(cases) {
		t.Errorf("%d sessions, %d denied auth events; want %d", len(infos), denied, len(cases))
	}
	// The good one works.
	pc, err := pgconn.Connect(ctx, e.dsn("ci-bot", botToken))
	if err != nil {
		t.Fatal(err)
	}
	pc.Close(ctx)
}

// Startup refusals: no TLS, parameters that could change the session,
// the wrong database.
func TestStartupRefusals(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := ctxT(t)
	for _, tc := range []struct{ dsn, code, msg string }{
		// Without TLS the token is asked for with SCRAM, which only
		// issued tokens can answer (TestScram); a config token fails.
		{strings.Replace(e.dsn("ci-bot", botToken), "sslmode=require", "sslmode=disable", 1), "28P01", "authentication failed"},
		{e.dsn("ci-bot", botToken) + " options='-c role=postgres'", "0A000", `"options" is not allowed`},
		{strings.Replace(e.dsn("ci-bot", botToken), "dbname="+targetName, "dbname=postgres", 1), "3D000", "serves the target"},
		{e.dsn("ci-bot", botToken) + " work_mem=1GB", "42704", `"work_mem" is not allowed`},
		{e.dsn("ci-bot", botToken) + " client_encoding=LATIN1", "22023", "use UTF8"},
	} {
		_, err := pgconn.Connect(ctx, tc.dsn)
		if pgCode(err) != tc.code || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: %v (want %s %q)", tc.dsn, err, tc.code, tc.msg)
		}
	}
	pc, err := pgconn.Connect(ctx, e.dsn("ci-bot", botToken)+" application_name=job-42 search_path=public timezone=UTC")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close(ctx)
	if got := pc.ParameterStatus("application_name"); got != "job-42" {
		t.Errorf("application_name %q", got)
	}
	if got := pc.ParameterStatus("session_authorization"); got != "ci-bot" {
		t.Errorf("session_authorization %q", got)
	}
}

// SCRAM-SHA-256: a token issued by sluice logs in without TLS and without
// crossing the wire, through pgx and psql (libpq); a wrong, revoked or
// config-only token fails like any other; client_auth forces a method.
func TestScram(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := ctxT(t)
	issue := func(identity string) (string, [32]byte) {
		secret, hash := auth.NewToken()
		h, _ := auth.ParseHash(hash)
		now := time.Now()
		if err := e.st.PutToken(h, auth.NewStoreToken(identity, secret, now, now.Add(time.Hour), "scram test")); err != nil {
			t.Fatal(err)
		}
		return secret, h
	}
	tok, h := issue("ci-bot")
	issue("ci-bot") // a second token of the same identity: both must work
	plain := func(token string) string {
		return strings.Replace(e.dsn("ci-bot", token), "sslmode=require", "sslmode=disable", 1)
	}
	pc, err := pgconn.Connect(ctx, plain(tok))
	if err != nil {
		t.Fatalf("SCRAM login with an issued token: %v", err)
	}
	if err := pc.Exec(ctx, "SELECT 1").Close(); err != nil {
		t.Fatal(err)
	}
	pc.Close(ctx)
	if _, err := os.Stat("/usr/bin/psql"); err == nil {
		cmd := exec.Command("/usr/bin/psql", "-X", "-tA", "-c", "SELECT 41 + 1", strings.Replace(plain(""), "password=''", "", 1))
		cmd.Env = append(os.Environ(), "PGPASSWORD="+tok, "PGCLIENTENCODING=UTF8", "PGCONNECT_TIMEOUT=30")
		if out, err := cmd.CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != "42" {
			t.Errorf("psql over SCRAM: %v\n%s", err, out)
		}
	}
	for name, dsn := range map[string]string{
		"wrong token":       plain(tok + "x"),
		"config-only token": plain(botToken),
		"other identity":    strings.Replace(plain(tok), "user=ci-bot", "user=intruder", 1),
	} {
		if _, err := pgconn.Connect(ctx, dsn); pgCode(err) != "28P01" {
			t.Errorf("%s: %v, want 28P01", name, err)
		}
	}
	rec, _ := e.st.TokenByHash(h)
	rec.Revoked = time.Now()
	e.st.PutToken(h, rec)
	if _, err := pgconn.Connect(ctx, plain(tok)); pgCode(err) != "28P01" {
		t.Errorf("revoked token: %v, want 28P01", err)
	}
	if !strings.Contains(e.logs.String(), "revoked") {
		t.Errorf("the log does not say why the revoked token failed:\n%s", e.logs.String())
	}
	// The auth events say which method was used.
	infos, _ := e.st.Sessions(store.Filter{})
	scram := 0
	for _, in := range infos {
		id, _ := store.ParseID(in.ID)
		e.st.Events(id, 0, func(ev store.Event) error {
			if ev.Kind == store.KindAuth && strings.Contains(string(ev.Data), `"method":"SCRAM-SHA-256"`) {
				scram++
			}
			return nil
		})
	}
	if scram < 1 {
		t.Errorf("no auth event records the SCRAM method")
	}

	// client_auth: password refuses plaintext; scram-sha-256 over TLS.
	pw := newEnv(t, envOptions{clientAuth: "password"})
	if _, err := pgconn.Connect(ctx, strings.Replace(pw.dsn("ci-bot", botToken), "sslmode=require", "sslmode=disable", 1)); pgCode(err) != "28000" || !strings.Contains(err.Error(), "requires TLS") {
		t.Errorf("client_auth password without TLS: %v", err)
	}
	sc := newEnv(t, envOptions{clientAuth: "scram-sha-256"})
	secret, hash := auth.NewToken()
	h2, _ := auth.ParseHash(hash)
	sc.st.PutToken(h2, auth.NewStoreToken("ci-bot", secret, time.Now(), time.Now().Add(time.Hour), ""))
	if pc, err := pgconn.Connect(ctx, sc.dsn("ci-bot", secret)); err != nil {
		t.Errorf("SCRAM over TLS: %v", err)
	} else {
		pc.Close(ctx)
	}
	if _, err := pgconn.Connect(ctx, sc.dsn("ci-bot", botToken)); pgCode(err) != "28P01" {
		t.Errorf("client_auth scram-sha-256 with a config token over TLS: %v, want 28P01", err)
	}
}
