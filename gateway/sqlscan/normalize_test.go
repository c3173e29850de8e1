package sqlscan

import (
	"strings"
	"testing"

	pgparser "github.com/pganalyze/pg_query_go/v6/parser"
)

// TestQuickNormalizeMatchesPgQuery checks the Go lexer against
// libpg_query's normalization: where the lexer answers, the answer is
// pg_query's, byte for byte; where it is unsure, it says so.
func TestQuickNormalizeMatchesPgQuery(t *testing.T) {
	quick := []string{
		"SELECT abalance FROM pgbench_accounts WHERE aid = 48213;",
		"SELECT 1",
		"select * from t where a = 'x''y' and b = 3.5e-3 and c = .5 and d = 12.",
		"SELECT name, email FROM customers WHERE id IN (1, 2, 3) ORDER BY name",
		"UPDATE pgbench_accounts SET abalance = abalance + 5 WHERE aid = 7",
		"INSERT INTO t (a, b) VALUES ('alice@example.com', 42) RETURNING id",
		`SELECT "weird ""name""" FROM "T1" WHERE x = 'é' AND y = $1 AND z = 5`,
		"SELECT a$b, t2.c FROM t2 WHERE d > 1::int AND e = 'it''s'",
		"DELETE FROM t WHERE created < '2024-01-01' AND id <> 0",
		"SELECT * FROM t WHERE a = $2 AND b = 7 AND c = $1",
		"SELECT interval '1 day', date '2024-02-03'",
	}
	for _, sql := range quick {
		got, ok := quickNormalize(sql)
		if !ok {
			t.Errorf("quickNormalize gave up on %q", sql)
			continue
		}
		want, err := pgparser.Normalize(sql)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("quickNormalize(%q)\n got %q\nwant %q (pg_query)", sql, got, want)
		}
	}
	unsure := []string{
		"SELECT 1 -- comment 5",
		"SELECT /* 5 */ 1",
		"SELECT E'\\x41'",
		"SELECT 'a\\'",
		"SELECT $$body 5$$",
		"SELECT $tag$x$tag$",
		"SELECT -5",
		"SELECT a - 5",
		"SELECT x'1F', b'101', U&'d\\0061t'",
		"SELECT 0x1F",
		"SELECT 1_000",
		"SELECT 'unterminated",
		"SELECT \"unterminated",
		"SELECT 1e",
		"SELECT 'a' 'b'",
		"SELECT 'a'\n'b'",
		"SELECT a FROM t ORDER BY 1",
		"SELECT a, b FROM t GROUP BY a, 2",
		"SELECT a + 1 FROM t GROUP BY a + 1",
		"SELECT a FROM t ORDER BY a LIMIT 3",
	}
	for _, sql := range unsure {
		if got, ok := quickNormalize(sql); ok {
			t.Errorf("quickNormalize(%q) = %q, want it to leave the text to pg_query", sql, got)
		}
		// Normalize still answers (or fails like pg_query).
		n, err := Normalize(sql)
		if _, perr := pgparser.Normalize(sql); (err == nil) != (perr == nil) || err == nil && strings.Contains(n, "5$$") {
			t.Errorf("Normalize(%q) = %q, %v; pg_query error %v", sql, n, err, perr)
		}
	}
}

func TestNormalizedKeysKeepTheWaysApart(t *testing.T) {
	a, _ := normalizedKey("SELECT 5")
	b, _ := normalizedKey("SELECT E'x'")
	if a == b {
		t.Errorf("a quick and a pg_query normalization share the key %q", a)
	}
}

func FuzzQuickNormalize(f *testing.F) {
	for _, s := range []string{"SELECT 1", "SELECT 'a''b' FROM \"t\" WHERE x = $1", "SELECT .5e3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sql string) {
		got, ok := quickNormalize(sql)
		if !ok {
			return
		}
		want, err := pgparser.Normalize(sql)
		if err != nil {
			return // not SQL: pg_query refuses, the analysis reports it
		}
		if got != want {
			t.Errorf("quickNormalize(%q) = %q, pg_query %q", sql, got, want)
		}
	})
}

func BenchmarkNormalize(b *testing.B) {
	const sql = "SELECT abalance FROM pgbench_accounts WHERE aid = 48213;"
	b.Run("quick", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			quickNormalize(sql)
		}
	})
	b.Run("pg_query", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			pgparser.Normalize(sql)
		}
	})
}
