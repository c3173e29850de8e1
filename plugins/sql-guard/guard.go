package main

import (
	"bytes"
	"errors"
	"strconv"
	"strings"

	"github.com/sluicegw/sluice/abi"
	"github.com/sluicegw/sluice/sdk/go/sluice"
	"github.com/sluicegw/sluice/sdk/go/sluice/jsonconfig"
)

// action is what the guard does with a statement of a class.
type action uint8

const (
	actBlock action = iota // the default for every class
	actApprove
	actAllow
)

var actionNames = [...]string{actBlock: "block", actApprove: "approve", actAllow: "allow"}

// class is a family of dangerous statements, each with its own action.
type class uint8

const (
	clsDestructiveDDL class = iota
	clsUnboundedWrite
	clsPrivileges
	clsServerCode
	clsDangerousFunctions
	clsSessionEscape
	clsUnparseable
	numClasses

	// Not configurable as block/approve/allow: these always block.
	clsReadOnly
	clsTablesDeny
	clsTablesAllow
)

var classNames = [...]string{
	clsDestructiveDDL:     "destructive_ddl",
	clsUnboundedWrite:     "unbounded_write",
	clsPrivileges:         "privileges",
	clsServerCode:         "server_code_and_files",
	clsDangerousFunctions: "dangerous_functions",
	clsSessionEscape:      "session_escape",
	clsUnparseable:        "unparseable",
	clsReadOnly:           "read_only",
	clsTablesDeny:         "tables.deny",
	clsTablesAllow:        "tables.allow",
}

// serverFunctions read or write server files or large objects
// (server_code_and_files); dangerousFunctions act on other sessions, the
// server configuration, or other databases (dangerous_functions). Both are
// matched on the last part of the name, case-insensitively, whatever the
// schema qualification.
var (
	serverFunctions = []string{
		"pg_read_file", "pg_read_binary_file", "pg_ls_dir", "pg_stat_file",
		"lo_import", "lo_export",
		// adminpack
		"pg_file_write", "pg_file_rename", "pg_file_unlink", "pg_file_sync", "pg_logdir_ls",
	}
	dangerousFunctions = []string{
		"pg_terminate_backend", "pg_cancel_backend", "pg_reload_conf",
		"dblink", "dblink_exec", "dblink_connect", "dblink_connect_u", "dblink_send_query",
	}

	// defaultSetConfigAllow are the settings set_config may change without
	// counting as a dangerous function: per-session tuning that grants
	// nothing. Not role, session_authorization, search_path (function
	// hijacking), row_security, session_replication_role (skips triggers),
	// log_* (audit evasion), client_encoding (changes how the gateway must
	// read the stream), transaction_read_only, or any custom (dotted)
	// setting, which row-level security policies often read.
	defaultSetConfigAllow = []string{
		"application_name", "statement_timeout", "lock_timeout",
		"idle_in_transaction_session_timeout", "idle_session_timeout",
		"work_mem", "maintenance_work_mem", "timezone", "datestyle",
		"intervalstyle", "extra_float_digits", "client_min_messages",
		"bytea_output", "jit", "enable_seqscan", "enable_indexscan",
		"enable_bitmapscan", "enable_hashjoin", "enable_mergejoin",
		"enable_nestloop", "random_page_cost", "effective_cache_size",
	}
)

// config is the operator's config. Every key is optional.
type config struct {
	DestructiveDDL     string        `json:"destructive_ddl"`
	UnboundedWrite     string        `json:"unbounded_write"`
	Privileges         string        `json:"privileges"`
	ServerCodeAndFiles string        `json:"server_code_and_files"`
	DangerousFunctions string        `json:"dangerous_functions"`
	SessionEscape      string        `json:"session_escape"`
	Unparseable        string        `json:"unparseable"`
	ReadOnly           bool          `json:"read_only"`
	Tables             *tablesConfig `json:"tables"`
	SetConfigAllow     *[]string     `json:"set_config_allow"`
}

type tablesConfig struct {
	Allow []string `json:"allow"`
	Deny  []string `json:"deny"`
}

// guard is a compiled config.
type guard struct {
	actions  [numClasses]action
	readOnly bool
	allow    [][]string // normalized name parts; nil: no allow list
	deny     [][]string
	// setConfigAllow are the settings set_config may change (lower case).
	setConfigAllow []string
}

// newGuard compiles a config JSON object ({} or empty for the defaults).
func newGuard(raw []byte) (*guard, error) {
	var c config
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := jsonconfig.Decode(raw, &c); err != nil {
			return nil, err
		}
	}
	g := &guard{readOnly: c.ReadOnly, setConfigAllow: defaultSetConfigAllow}
	if c.SetConfigAllow != nil {
		g.setConfigAllow = nil
		for _, n := range *c.SetConfigAllow {
			n = strings.ToLower(strings.TrimSpace(n))
			if n == "" || n == "?" {
				return nil, errors.New("set_config_allow: " + strconv.Quote(n) + " is not a setting name")
			}
			g.setConfigAllow = append(g.setConfigAllow, n)
		}
	}
	for cls, s := range [numClasses]string{
		clsDestructiveDDL:     c.DestructiveDDL,
		clsUnboundedWrite:     c.UnboundedWrite,
		clsPrivileges:         c.Privileges,
		clsServerCode:         c.ServerCodeAndFiles,
		clsDangerousFunctions: c.DangerousFunctions,
		clsSessionEscape:      c.SessionEscape,
		clsUnparseable:        c.Unparseable,
	} {
		switch s {
		case "", "block":
			g.actions[cls] = actBlock
		case "approve":
			g.actions[cls] = actApprove
		case "allow":
			g.actions[cls] = actAllow
		default:
			return nil, errors.New(classNames[cls] + ": " + strconv.Quote(s) + " is not block, approve or allow")
		}
	}
	if c.Tables != nil {
		var err error
		if g.allow, err = compileNames("tables.allow", c.Tables.Allow); err != nil {
			return nil, err
		}
		if g.deny, err = compileNames("tables.deny", c.Tables.Deny); err != nil {
			return nil, err
		}
	}
	return g, nil
}

func compileNames(key string, names []string) ([][]string, error) {
	var out [][]string
	for _, n := range names {
		parts, ok := configParts(n)
		if !ok {
			return nil, errors.New(key + ": " + strconv.Quote(n) + " is not a relation name (name, schema.name or catalog.schema.name; \"Quoted\" parts keep their case)")
		}
		out = append(out, parts)
	}
	return out, nil
}

// configParts splits a configured relation name into its parts: unquoted
// parts are folded to lower case as PostgreSQL does, "quoted" parts are
// kept as written ("" is a quote).
func configParts(s string) ([]string, bool) {
	s = strings.TrimSpace(s)
	var parts []string
	for len(s) > 0 {
		var part string
		if s[0] == '"' {
			var b strings.Builder
			i := 1
			for ; i < len(s); i++ {
				if s[i] == '"' {
					if i+1 < len(s) && s[i+1] == '"' {
						b.WriteByte('"')
						i++
						continue
					}
					break
				}
				b.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, false // unterminated
			}
			part, s = b.String(), s[i+1:]
		} else {
			end := strings.IndexAny(s, `."`)
			if end < 0 {
				end = len(s)
			}
			part, s = strings.ToLower(strings.TrimSpace(s[:end])), s[end:]
		}
		if part == "" {
			return nil, false
		}
		parts = append(parts, part)
		if len(s) > 0 {
			if s[0] != '.' || len(s) == 1 {
				return nil, false
			}
			s = s[1:]
		}
	}
	if len(parts) == 0 || len(parts) > 3 {
		return nil, false
	}
	return parts, true
}

// factSource is what the guard reads: *sluice.Command, or a factList in
// tests.
type factSource interface {
	NumFacts() int
	Fact(i int) abi.Fact
}

// factList is a plain list of facts, for tests.
type factList []abi.Fact

func (l factList) NumFacts() int       { return len(l) }
func (l factList) Fact(i int) abi.Fact { return l[i] }
func fact(stmt int, key, value string) abi.Fact {
	return abi.Fact{Stmt: stmt, Key: []byte(key), Value: []byte(value)}
}

// match is one fact that puts a statement in a class.
type match struct {
	cls  class
	fact int // index of the fact
}

// maxApprovals is how many approval matches a reason lists.
const maxApprovals = 8

// decide returns the verdict for a command's facts: the first BLOCK match
// (lowest statement, then fact order) wins, else any APPROVE match, else
// ALLOW. It allocates nothing unless the verdict is not ALLOW.
func (g *guard) decide(fs factSource) sluice.Verdict {
	var (
		block     = -1 // fact index of the first blocking match
		blockCls  class
		approvals [maxApprovals]match
		nApproval int
	)
	n := fs.NumFacts()
	for i := range n {
		f := fs.Fact(i)
		if block >= 0 && f.Stmt >= fs.Fact(block).Stmt {
			continue // an earlier block already wins
		}
		cls, ok := g.classify(fs, i)
		if !ok {
			continue
		}
		a := actBlock
		if cls < numClasses {
			a = g.actions[cls]
		}
		switch a {
		case actBlock:
			block, blockCls = i, cls
		case actApprove:
			if nApproval < maxApprovals && !seen(approvals[:nApproval], fs, f.Stmt, cls) {
				approvals[nApproval] = match{cls, i}
				nApproval++
			}
		}
	}
	if block >= 0 {
		return sluice.Block(describe(fs, blockCls, block))
	}
	if nApproval > 0 {
		var b strings.Builder
		b.WriteString("requires approval: ")
		for k, m := range approvals[:nApproval] {
			if k > 0 {
				b.WriteString("; ")
			}
			b.WriteString(describe(fs, m.cls, m.fact))
		}
		return sluice.RequireApproval(b.String())
	}
	return sluice.Allow()
}

// seen reports whether statement stmt already has an approval match of cls:
// one line per statement and class is enough for a reviewer.
func seen(ms []match, fs factSource, stmt int, cls class) bool {
	for _, m := range ms {
		if m.cls == cls && fs.Fact(m.fact).Stmt == stmt {
			return true
		}
	}
	return false
}

// classify puts fact i in a class, if it is a dangerous one.
func (g *guard) classify(fs factSource, i int) (class, bool) {
	f := fs.Fact(i)
	k, v := f.Key, f.Value
	switch string(k) {
	case "parse_error":
		return clsUnparseable, true
	case "execute_unknown":
		// EXECUTE of a statement the analysis never saw prepared: its
		// body cannot be judged, so it counts as unanalysable.
		if string(v) == "true" {
			return clsUnparseable, true
		}
	case "drop", "truncate", "alter_drop":
		if string(k) != "drop" && string(v) != "true" {
			return 0, false
		}
		return clsDestructiveDDL, true
	case "tag":
		switch string(v) {
		case "DISCARD": // DISCARD ALL resets the session authorization and role
			if t := lookup(fs, f.Stmt, "discard"); t == "" || t == "ALL" || t == "?" {
				return clsSessionEscape, true
			}
		case "LOAD": // loads a shared library into the server
			return clsServerCode, true
		case "REASSIGN OWNED": // hands every object of a role to another
			return clsPrivileges, true
		case "CREATE FUNCTION", "CREATE PROCEDURE": // SQL-standard bodies (RETURN, BEGIN ATOMIC) have no opaque_code fact
			return clsServerCode, true
		case "CREATE SUBSCRIPTION": // connects out and applies changes as the owner
			return clsServerCode, true
		}
		// CREATE EVENT TRIGGER (tagged "CREATE EVENT TRIG" by sqlscan today)
		if bytes.HasPrefix(v, []byte("CREATE EVENT TRIG")) {
			return clsServerCode, true
		}
		// DROP DATABASE, DROP ROLE, DROP OWNED and other statements of
		// their own in the grammar carry no drop fact: the tag says it.
		if bytes.HasPrefix(v, []byte("DROP ")) {
			return clsDestructiveDDL, true
		}
	case "where":
		if string(v) == "false" {
			return clsUnboundedWrite, true
		}
	case "privilege", "role", "owner":
		return clsPrivileges, true
	case "security_definer":
		return clsServerCode, true
	case "copy_program", "copy_file", "opaque_code", "rule", "trigger", "extension", "alter_system":
		return clsServerCode, true
	case "function":
		name := lastPart(v)
		if inList(name, serverFunctions) {
			return clsServerCode, true
		}
		if inList(name, dangerousFunctions) {
			return clsDangerousFunctions, true
		}
		if bytes.EqualFold(name, []byte("set_config")) && !g.setConfigAllowed(fs, f.Stmt) {
			return clsDangerousFunctions, true
		}
	case "set":
		if string(v) == "role" || string(v) == "session_authorization" {
			return clsSessionEscape, true
		}
	case "reset":
		if bytes.EqualFold(v, []byte("all")) || string(v) == "role" || string(v) == "session_authorization" {
			return clsSessionEscape, true
		}
	case "writes":
		if g.readOnly && string(v) == "true" {
			return clsReadOnly, true
		}
	case "relation", "write_relation":
		if g.matchAny(g.deny, v) >= 0 {
			return clsTablesDeny, true
		}
		if g.allow != nil && g.matchAny(g.allow, v) < 0 {
			return clsTablesAllow, true
		}
	}
	return 0, false
}

// setConfigAllowed reports whether every set_config call of statement
// stmt changes a setting in set_config_allow. No set_config fact (a host
// that does not send them) or a setting computed at run time ("?") is not
// allowed: fail closed.
func (g *guard) setConfigAllowed(fs factSource, stmt int) bool {
	any := false
	for i := range fs.NumFacts() {
		f := fs.Fact(i)
		if f.Stmt != stmt || string(f.Key) != "set_config" {
			continue
		}
		any = true
		if !inList(f.Value, g.setConfigAllow) {
			return false
		}
	}
	return any
}

func inList(name []byte, list []string) bool {
	for _, s := range list {
		if bytes.EqualFold(name, []byte(s)) {
			return true
		}
	}
	return false
}

// lastPart is the last dot-separated part of a fact's name, unquoted when
// it has no "" escape (sqlscan quotes parts holding . or ").
func lastPart(v []byte) []byte {
	if len(v) > 0 && v[len(v)-1] == '"' {
		// find the opening quote of the last part
		for i := len(v) - 2; i >= 0; i-- {
			if v[i] == '"' {
				if i > 0 && v[i-1] == '"' {
					i--
					continue
				}
				return v[i+1 : len(v)-1]
			}
		}
		return v
	}
	if i := bytes.LastIndexByte(v, '.'); i >= 0 {
		return v[i+1:]
	}
	return v
}

// relParts splits a relation fact into its parts, reusing scratch buffers
// (an instance runs one call at a time).
var (
	relScratch []byte
	relParts   [][]byte
)

func splitRelation(v []byte) [][]byte {
	relScratch = relScratch[:0]
	if cap(relScratch) < len(v) {
		relScratch = make([]byte, 0, 2*len(v))
	}
	var starts [4]int
	var ends [4]int
	n := 0
	for i := 0; i <= len(v) && n < len(starts); {
		start := len(relScratch)
		if i < len(v) && v[i] == '"' {
			i++
			for i < len(v) {
				if v[i] == '"' {
					if i+1 < len(v) && v[i+1] == '"' {
						relScratch = append(relScratch, '"')
						i += 2
						continue
					}
					i++
					break
				}
				relScratch = append(relScratch, v[i])
				i++
			}
		} else {
			for i < len(v) && v[i] != '.' {
				relScratch = append(relScratch, v[i])
				i++
			}
		}
		starts[n], ends[n] = start, len(relScratch)
		n++
		if i >= len(v) {
			break
		}
		i++ // the dot
	}
	relParts = relParts[:0]
	for k := range n {
		relParts = append(relParts, relScratch[starts[k]:ends[k]])
	}
	return relParts
}

// matchAny returns the index of the first configured name that matches the
// relation fact v, or -1. A name matches when the shorter of the two agrees
// with the trailing parts of the longer: "users" matches users,
// public.users and db.public.users; "public.users" matches public.users,
// db.public.users and users (a bare reference that the search_path may
// resolve to it), but not audit.users.
func (g *guard) matchAny(names [][]string, v []byte) int {
	if len(names) == 0 {
		return -1
	}
	parts := splitRelation(v)
	for i, name := range names {
		k := min(len(name), len(parts))
		ok := k > 0
		for j := 1; j <= k && ok; j++ {
			ok = string(parts[len(parts)-j]) == name[len(name)-j]
		}
		if ok {
			return i
		}
	}
	return -1
}

// describe is the reason for one match: class, statement index and tag,
// and what matched, e.g.
// "destructive_ddl: statement 2 (DROP TABLE): drop TABLE public.users".
func describe(fs factSource, cls class, i int) string {
	f := fs.Fact(i)
	tag := lookup(fs, f.Stmt, "tag")
	if tag == "" {
		tag = "?"
	}
	prefix := classNames[cls] + ": statement " + strconv.Itoa(f.Stmt) + " (" + tag + "): "
	v := string(f.Value)
	target := func() string {
		if r := lookup(fs, f.Stmt, "write_relation"); r != "" {
			return " " + r
		}
		return ""
	}
	var what string
	switch string(f.Key) {
	case "parse_error":
		what = "does not parse: " + v
		if pos := lookup(fs, f.Stmt, "parse_error_position"); pos != "" {
			what += " (at byte " + pos + ")"
		}
	case "drop":
		what = "drop " + v + target()
	case "truncate":
		what = "truncate" + target()
	case "alter_drop":
		what = "ALTER ... DROP on" + target()
	case "tag":
		switch {
		case strings.HasPrefix(v, "DROP "):
			what = "drop " + strings.TrimPrefix(v, "DROP ") + target()
			if r := lookup(fs, f.Stmt, "role_name"); r != "" {
				what += " " + r
			}
		case v == "REASSIGN OWNED":
			what = "REASSIGN OWNED (ownership transfer)"
		case v == "DISCARD":
			what = "DISCARD ALL (resets the session authorization and role)"
		case v == "LOAD":
			what = "LOAD of a shared library"
		case v == "CREATE FUNCTION" || v == "CREATE PROCEDURE":
			what = strings.ToLower(strings.TrimPrefix(v, "CREATE ")) + " definition"
			if lang := lookup(fs, f.Stmt, "opaque_code"); lang != "" {
				what += " (opaque code, language " + lang + ")"
			}
		case v == "CREATE SUBSCRIPTION":
			what = "CREATE SUBSCRIPTION (connects to another server)"
		case strings.HasPrefix(v, "CREATE EVENT TRIG"):
			what = "CREATE EVENT TRIGGER"
		default:
			what = v
		}
	case "where":
		what = "DELETE/UPDATE without WHERE on" + target()
	case "privilege":
		what = "privilege " + v
		if r := lookup(fs, f.Stmt, "grantee"); r != "" {
			what += " (grantee " + r + ")"
		}
	case "role":
		what = "role " + v
		if r := lookup(fs, f.Stmt, "role_name"); r != "" {
			what += " " + r
		}
	case "copy_program":
		what = "COPY PROGRAM " + strconv.Quote(v)
	case "copy_file":
		what = "COPY server file " + strconv.Quote(v)
	case "opaque_code":
		what = "opaque code (language " + v + ")"
	case "owner":
		what = "ownership transfer to " + v
	case "execute_unknown":
		what = "EXECUTE of a statement prepared outside this session (its body cannot be analysed)"
	case "security_definer":
		what = "SECURITY DEFINER function (runs with its owner's privileges)"
	case "rule":
		what = "CREATE RULE " + v
	case "trigger":
		what = "CREATE TRIGGER " + v
	case "extension":
		what = "extension " + v
	case "alter_system":
		what = "ALTER SYSTEM " + v
	case "function":
		what = "function " + v
		if strings.EqualFold(string(lastPart(f.Value)), "set_config") {
			what += " of " + setConfigSettings(fs, f.Stmt) + " (not in set_config_allow)"
		}
	case "set":
		what = "SET " + v
	case "reset":
		what = "RESET " + v
	case "writes":
		what = "writes (read_only is on)"
	case "relation", "write_relation":
		if cls == clsTablesDeny {
			what = "relation " + v + " is denied"
		} else {
			what = "relation " + v + " is not in tables.allow"
		}
	default:
		what = string(f.Key) + "=" + v
	}
	return prefix + what
}

// lookup returns the first value of key for statement stmt, or "".
func lookup(fs factSource, stmt int, key string) string {
	for i := range fs.NumFacts() {
		f := fs.Fact(i)
		if f.Stmt == stmt && string(f.Key) == key {
			return string(f.Value)
		}
	}
	return ""
}

// setConfigSettings lists the settings statement stmt's set_config calls
// change that set_config_allow does not allow, for a reason.
func setConfigSettings(fs factSource, stmt int) string {
	var out []string
	for i := range fs.NumFacts() {
		f := fs.Fact(i)
		if f.Stmt != stmt || string(f.Key) != "set_config" {
			continue
		}
		if string(f.Value) == "?" {
			out = append(out, "a setting computed at run time")
		} else {
			out = append(out, strconv.Quote(string(f.Value)))
		}
	}
	if len(out) == 0 {
		return "an unknown setting"
	}
	return strings.Join(out, ", ")
}
