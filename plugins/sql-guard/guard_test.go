package main

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/sluicegw/sluice/abi"
	"github.com/sluicegw/sluice/sdk/go/sluice"
)

func mustGuard(t testing.TB, config string) *guard {
	t.Helper()
	g, err := newGuard([]byte(config))
	if err != nil {
		t.Fatalf("config %s: %v", config, err)
	}
	return g
}

func TestDecideOnFacts(t *testing.T) {
	stmt := func(i int, kv ...string) factList {
		var l factList
		for k := 0; k+1 < len(kv); k += 2 {
			l = append(l, fact(i, kv[k], kv[k+1]))
		}
		return l
	}
	join := func(ls ...factList) factList { return slices.Concat(ls...) }
	cases := []struct {
		name   string
		config string
		facts  factList
		want   abi.Verdict
		reason string
	}{
		{"select", `{}`, stmt(0, "tag", "SELECT", "writes", "false", "function", "now"), abi.Allow, ""},
		{"no facts", `{}`, nil, abi.Allow, ""},
		{"drop table", `{}`, stmt(0, "tag", "DROP TABLE", "drop", "TABLE", "write_relation", "public.users"), abi.Block,
			"destructive_ddl: statement 0 (DROP TABLE): drop TABLE public.users"},
		{"second statement", `{}`, join(stmt(0, "tag", "SELECT"), stmt(1, "tag", "TRUNCATE TABLE", "truncate", "true", "write_relation", "t")), abi.Block,
			"destructive_ddl: statement 1 (TRUNCATE TABLE): truncate t"},
		{"truncate false is nothing", `{}`, stmt(0, "tag", "X", "truncate", "false", "alter_drop", "false"), abi.Allow, ""},
		{"where true", `{}`, stmt(0, "tag", "DELETE", "where", "true"), abi.Allow, ""},
		{"where false", `{}`, stmt(0, "tag", "DELETE", "where", "false", "write_relation", "t"), abi.Block, "unbounded_write: statement 0 (DELETE): DELETE/UPDATE without WHERE on t"},
		{"quoted function", `{}`, stmt(0, "tag", "SELECT", "function", `x."pg.read"."PG_READ_FILE"`), abi.Block, "server_code_and_files"},
		{"look-alike function", `{}`, stmt(0, "tag", "SELECT", "function", "my_pg_read_file"), abi.Allow, ""},
		{"set_config", `{}`, stmt(0, "tag", "SELECT", "function", "pg_catalog.set_config"), abi.Block, "dangerous_functions: statement 0 (SELECT): function pg_catalog.set_config"},
		{"set role", `{}`, stmt(0, "tag", "SET", "set", "role"), abi.Block, "session_escape"},
		{"set timeout", `{}`, stmt(0, "tag", "SET", "set", "statement_timeout"), abi.Allow, ""},
		{"reset all", `{}`, stmt(0, "tag", "RESET", "reset", "ALL"), abi.Block, "RESET ALL"},
		{"parse error", `{}`, stmt(0, "parse_error", "syntax error", "parse_error_position", "1"), abi.Block, "unparseable: statement 0 (?): does not parse: syntax error (at byte 1)"},
		{"approve", `{"destructive_ddl":"approve"}`, join(stmt(0, "tag", "DROP TABLE", "drop", "TABLE"), stmt(1, "tag", "DROP VIEW", "drop", "VIEW")), abi.RequireApproval,
			"requires approval: destructive_ddl: statement 0 (DROP TABLE): drop TABLE; destructive_ddl: statement 1 (DROP VIEW): drop VIEW"},
		{"block after approve", `{"destructive_ddl":"approve"}`, join(stmt(0, "tag", "DROP TABLE", "drop", "TABLE"), stmt(1, "tag", "GRANT", "privilege", "grant")), abi.Block, "privileges: statement 1 (GRANT)"},
		{"earliest block wins", `{}`, join(stmt(1, "tag", "GRANT", "privilege", "grant"), stmt(0, "tag", "DELETE", "where", "false")), abi.Block, "statement 0 (DELETE)"},
		{"allow", `{"privileges":"allow"}`, stmt(0, "tag", "GRANT", "privilege", "grant"), abi.Allow, ""},
		{"read_only", `{"read_only":true}`, stmt(0, "tag", "INSERT", "writes", "true"), abi.Block, "read_only: statement 0 (INSERT)"},
		{"read_only read", `{"read_only":true}`, stmt(0, "tag", "SELECT", "writes", "false"), abi.Allow, ""},
		{"deny bare", `{"tables":{"deny":["users"]}}`, stmt(0, "tag", "SELECT", "relation", "db.app.users"), abi.Block, "relation db.app.users is denied"},
		{"deny qualified vs bare", `{"tables":{"deny":["App.Users"]}}`, stmt(0, "tag", "SELECT", "relation", "users"), abi.Block, "tables.deny"},
		{"deny quoted case", `{"tables":{"deny":["\"Users\""]}}`, stmt(0, "tag", "SELECT", "relation", "users"), abi.Allow, ""},
		{"deny quoted dotted", `{"tables":{"deny":["s.\"a.b\""]}}`, stmt(0, "tag", "SELECT", "relation", `s."a.b"`), abi.Block, "tables.deny"},
		{"allow other schema", `{"tables":{"allow":["public.users"]}}`, stmt(0, "tag", "SELECT", "relation", "audit.users"), abi.Block, "tables.allow"},
		{"allow listed", `{"tables":{"allow":["public.users"]}}`, stmt(0, "tag", "SELECT", "relation", "users", "write_relation", "public.users"), abi.Allow, ""},
		{"empty allow list is off", `{"tables":{"allow":[]}}`, stmt(0, "tag", "SELECT", "relation", "x"), abi.Allow, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := mustGuard(t, c.config).decide(c.facts)
			if v.Decision != c.want || !strings.Contains(v.Reason, c.reason) {
				t.Errorf("got %s %q, want %s containing %q", verdictName(v.Decision), v.Reason, verdictName(c.want), c.reason)
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []struct{ config, err string }{
		{`{"destructive_ddl":"deny"}`, `destructive_ddl: "deny" is not block, approve or allow`},
		{`{"unparseable":"Block"}`, "unparseable"},
		{`{"nope":1}`, "nope"},
		{`{"tables":{"allow":["a."]}}`, "tables.allow"},
		{`{"tables":{"deny":["\"open"]}}`, "tables.deny"},
		{`{"tables":{"deny":["a.b.c.d"]}}`, "tables.deny"},
		{`{"tables":{"extra":[]}}`, "extra"},
		{`{"read_only":"yes"}`, "read_only"},
	} {
		if _, err := newGuard([]byte(c.config)); err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("config %s: error %v, want one containing %q", c.config, err, c.err)
		}
	}
	for _, ok := range []string{``, `{}`, ` {} `, `{"destructive_ddl":"block","unbounded_write":"approve","privileges":"allow","server_code_and_files":"block","dangerous_functions":"approve","session_escape":"allow","unparseable":"block","read_only":false,"tables":{"allow":["a","b.c","\"Q\".r"],"deny":["x.y.z"]}}`} {
		mustGuard(t, ok)
	}
}

func TestConfigParts(t *testing.T) {
	for in, want := range map[string]string{
		"Users":              "users",
		"Public.Users":       "public|users",
		`"Public"."Users"`:   "Public|Users",
		`s."a.b"`:            "s|a.b",
		`"a""b"`:             `a"b`,
		` db.s.t `:           "db|s|t",
		`app."Items"`:        "app|Items",
		`"drop table".users`: "drop table|users",
	} {
		got, ok := configParts(in)
		if !ok || strings.Join(got, "|") != want {
			t.Errorf("configParts(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

// TestHooksMatchManifest keeps manifest.json's hooks in step with the code.
func TestHooksMatchManifest(t *testing.T) {
	raw, err := os.ReadFile("manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Name  string   `json:"name"`
		Hooks []string `json:"hooks"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	if got := hooks().Hooks(); !slices.Equal(got, m.Hooks) || m.Name != "sql-guard" {
		t.Fatalf("plugin hooks %v, manifest %s %v", got, m.Name, m.Hooks)
	}
}

func TestSelfTestEveryMode(t *testing.T) {
	for _, config := range []string{`{}`, `{"destructive_ddl":"approve","privileges":"allow"}`, `{"read_only":true}`,
		`{"tables":{"allow":["users","s.\"A.b\""],"deny":["secrets","users"]}}`} {
		h := sluice.NewHarness(hooks())
		if err := h.Init([]byte(config)); err != nil {
			t.Fatal(err)
		}
		if err := h.SelfTest(); err != nil {
			t.Errorf("%s: %v", config, err)
		}
	}
}

// TestAllowPathAllocatesNothing holds the hot path of an allowed command to
// zero allocations, tables lists included.
func TestAllowPathAllocatesNothing(t *testing.T) {
	g := mustGuard(t, `{"read_only":true,"tables":{"allow":["public.users","orders"],"deny":["secrets"]}}`)
	facts := factList{fact(0, "tag", "SELECT"), fact(0, "kind", "select"), fact(0, "writes", "false"),
		fact(0, "relation", "public.users"), fact(0, "relation", `x."Or.ders"`), fact(0, "function", "now"),
		fact(1, "tag", "SET"), fact(1, "set", "statement_timeout")}
	g.allow = append(g.allow, []string{"Or.ders"})
	if v := g.decide(facts); v.Decision != abi.Allow {
		t.Fatalf("got %s %q", verdictName(v.Decision), v.Reason)
	}
	var src factSource = facts // boxed once, as *sluice.Command is a pointer
	if n := testing.AllocsPerRun(100, func() { g.decide(src) }); n != 0 {
		t.Fatalf("%v allocations per allowed command", n)
	}
}

func TestNonSQLIsAllowed(t *testing.T) {
	h := sluice.NewHarness(hooks())
	if err := h.Init([]byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	var cb abi.CommandBuilder
	cb.Set(abi.CommandShell, "rm -rf /", "t", "t")
	cb.AddFact(0, "drop", "TABLE")
	if v, err := h.Command(&cb); err != nil || v.Decision != abi.Allow {
		t.Fatalf("got %v %v", v, err)
	}
}
