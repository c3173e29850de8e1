package pgwire

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// psycopgScript runs through sluice with libpq under psycopg2: server-side
// parameters (psycopg2 interpolates client-side and uses the simple
// protocol), a masked SELECT, a refused DROP that fails the transaction,
// and a rollback.
const psycopgScript = `
import os, sys, psycopg2
conn = psycopg2.connect(os.environ["DSN"])
cur = conn.cursor()
cur.execute("SELECT id, email, score FROM customers WHERE id <= %s ORDER BY id", (3,))
print("rows", cur.fetchall())
try:
    cur.execute("DROP TABLE customers")
    print("dropped")
except psycopg2.Error as e:
    print("refused", e.pgcode, e.pgerror.strip().splitlines()[0])
conn.rollback()
cur.execute("SELECT count(*) FROM customers")
print("count", cur.fetchone()[0])
conn.close()
`

func TestPsycopg2(t *testing.T) {
	// Debian's python3-psycopg2 is for the system interpreter, whatever
	// python3 comes first in PATH.
	python := "/usr/bin/python3"
	if _, err := os.Stat(python); err != nil {
		python = "python3"
	}
	if exec.Command(python, "-c", "import psycopg2").Run() != nil {
		t.Skip("python3-psycopg2 is not installed (Debian package python3-psycopg2)")
	}
	e := newEnv(t, envOptions{guard: true, mask: true})
	cmd := exec.Command(python, "-c", psycopgScript)
	cmd.Env = append(os.Environ(), "DSN="+e.dsn("ci-bot", botToken), "PGCLIENTENCODING=UTF8")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	want := "rows [(1, '****', 10), (2, '****', 20), (3, None, 30)]\n" +
		"refused 42501 ERROR:  blocked by sluice policy: destructive_ddl"
	if !strings.HasPrefix(string(out), want) || !strings.Contains(string(out), "count 3") {
		t.Fatalf("got:\n%s\nwant prefix:\n%s", out, want)
	}
}
