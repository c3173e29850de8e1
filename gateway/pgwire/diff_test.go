package pgwire

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// diffScript mixes result shapes, types, NULLs, errors mid-script,
// notices, transactions and empty queries.
var diffScript = []string{
	"SELECT 1 AS a, 'two' AS b, NULL::int AS c, 1.5::numeric AS d, true AS e",
	"SELECT id, name, email, score, meta FROM customers ORDER BY id",
	"SELECT x, x * 2 AS y FROM generate_series(1, 500) x",
	"SELECT '2024-01-02 03:04:05+00'::timestamptz AS ts, ARRAY[1,2,NULL] AS arr, '\\x0102'::bytea AS b, '10.0.0.1'::inet AS ip",
	"BEGIN; CREATE TEMP TABLE d (i int); INSERT INTO d VALUES (1), (2); SELECT count(*) FROM d; COMMIT",
	"SELECT 1/0",
	"SELECT 1; SELECT nonexistent_column FROM customers; SELECT 2",
	"DO $$ BEGIN RAISE NOTICE 'hello %', 42; END $$",
	"",
	";",
	"SHOW TimeZone",
	"SELECT repeat('x', 3000000) AS big",
}

func summarize(results []*pgconn.Result, err error) string {
	var b strings.Builder
	for _, r := range results {
		for _, f := range r.FieldDescriptions {
			fmt.Fprintf(&b, "%s:%d ", f.Name, f.DataTypeOID)
		}
		for _, row := range r.Rows {
			b.WriteString("\n  ")
			for _, v := range row {
				if v == nil {
					b.WriteString("NULL|")
				} else if len(v) > 100 {
					fmt.Fprintf(&b, "<%d bytes>|", len(v))
				} else {
					b.Write(v)
					b.WriteByte('|')
				}
			}
		}
		fmt.Fprintf(&b, "\n  %s %v\n", r.CommandTag, r.Err)
	}
	if err != nil {
		fmt.Fprintf(&b, "error %s %s\n", pgCode(err), err)
	}
	return b.String()
}

// The same script straight to PostgreSQL and through sluice without
// plugins gives the same results, in the simple and extended protocols.
func TestDifferential(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := ctxT(t)
	direct := backendConn(t)
	defer direct.Close(ctx)
	via, err := pgconn.Connect(ctx, e.dsn("ci-bot", botToken))
	if err != nil {
		t.Fatal(err)
	}
	defer via.Close(ctx)
	for _, sql := range diffScript {
		want := summarize(direct.Exec(ctx, sql).ReadAll())
		got := summarize(via.Exec(ctx, sql).ReadAll())
		if got != want {
			t.Errorf("%s\nthrough sluice:\n%s\ndirect:\n%s", sql, got, want)
		}
		if !strings.Contains(sql, ";") && sql != "" && !strings.HasPrefix(sql, "DO") {
			res := direct.ExecParams(ctx, sql, nil, nil, nil, nil).Read()
			want := summarize([]*pgconn.Result{res}, nil)
			res = via.ExecParams(ctx, sql, nil, nil, nil, nil).Read()
			got := summarize([]*pgconn.Result{res}, nil)
			if got != want {
				t.Errorf("extended: %s\nthrough sluice:\n%s\ndirect:\n%s", sql, got, want)
			}
		}
	}
	via.Close(ctx)
	// Without masking plugins the rows are recorded as they were sent.
	_, evs := e.events(t)
	var out strings.Builder
	for _, ev := range evs {
		if ev.Kind == "output" {
			out.Write(ev.Data)
		}
	}
	if !strings.Contains(out.String(), `"rows":[["1","Ann","ann@example.com","10","{\"tier\": \"gold\"}"]`) {
		t.Errorf("rows not recorded:\n%.2000s", out.String())
	}
}

// A pgx batch is one pipeline: masked rows, a refusal in the middle,
// results in order.
func TestPgxBatch(t *testing.T) {
	e := newEnv(t, envOptions{guard: true, mask: true})
	c := e.pgx(t, nil)
	ctx := ctxT(t)
	b := &pgx.Batch{}
	b.Queue("SELECT email FROM customers WHERE id = $1", 1)
	b.Queue("SELECT count(*) FROM customers")
	b.Queue("SELECT email FROM customers WHERE id = $1", 2)
	br := c.SendBatch(ctx, b)
	var email string
	var n int
	if err := br.QueryRow().Scan(&email); err != nil || email != "****" {
		t.Fatalf("1: %q %v", email, err)
	}
	if err := br.QueryRow().Scan(&n); err != nil || n != 3 {
		t.Fatalf("2: %d %v", n, err)
	}
	if err := br.QueryRow().Scan(&email); err != nil || email != "****" {
		t.Fatalf("3: %q %v", email, err)
	}
	if err := br.Close(); err != nil {
		t.Fatal(err)
	}
	b = &pgx.Batch{}
	b.Queue("SELECT 1")
	b.Queue("TRUNCATE customers")
	b.Queue("SELECT 2")
	err := c.SendBatch(ctx, b).Close()
	if pgCode(err) != "42501" {
		t.Fatalf("batch with TRUNCATE: %v", err)
	}
	if err := c.QueryRow(ctx, "SELECT count(*) FROM customers").Scan(&n); err != nil || n != 3 {
		t.Fatalf("after: %d %v", n, err)
	}
}

var _ = context.Background
