package main

import (
	"errors"
	"strings"

	"github.com/sluicegw/sluice/abi"
)

// selfSamples are fact lists as sqlscan emits them (without the writes
// fact, so that read_only does not interfere), one per class.
var selfSamples = [numClasses]factList{
	clsDestructiveDDL:     {fact(0, "tag", "DROP TABLE"), fact(0, "drop", "TABLE"), fact(0, "write_relation", "sluice_selftest")},
	clsUnboundedWrite:     {fact(0, "tag", "DELETE"), fact(0, "where", "false")},
	clsPrivileges:         {fact(0, "tag", "GRANT"), fact(0, "privilege", "grant")},
	clsServerCode:         {fact(0, "tag", "SELECT"), fact(0, "function", "pg_catalog.pg_read_file")},
	clsDangerousFunctions: {fact(0, "tag", "SELECT"), fact(0, "function", "pg_terminate_backend")},
	clsSessionEscape:      {fact(0, "tag", "SET"), fact(0, "set", "role")},
	clsUnparseable:        {fact(0, "parse_error", "syntax error at or near \"DORP\"")},
}

var decisionOf = [...]abi.Verdict{actBlock: abi.Block, actApprove: abi.RequireApproval, actAllow: abi.Allow}

// selfTest runs after every (re)load, after Init, before the plugin serves
// traffic: every class sample must get the configured action with a reason
// naming the class, an ordinary read must be allowed, read_only must block
// a write, and the table lists must match their own entries.
func selfTest() error {
	g := current
	if g == nil {
		return errNotInitialized
	}
	for cls, sample := range selfSamples {
		v := g.decide(sample)
		want := decisionOf[g.actions[cls]]
		if v.Decision != want {
			return errors.New("selftest: " + classNames[cls] + " sample got " + verdictName(v.Decision) + ", want " + verdictName(want))
		}
		if want != abi.Allow && !strings.Contains(v.Reason, classNames[cls]+": statement 0") {
			return errors.New("selftest: " + classNames[cls] + " reason " + v.Reason)
		}
	}
	read := factList{fact(0, "tag", "SELECT"), fact(0, "kind", "select"), fact(0, "writes", "false"), fact(0, "function", "now")}
	if v := g.decide(read); v.Decision != abi.Allow {
		return errors.New("selftest: SELECT now() got " + verdictName(v.Decision) + ": " + v.Reason)
	}
	if g.readOnly {
		w := factList{fact(0, "tag", "INSERT"), fact(0, "writes", "true")}
		if v := g.decide(w); v.Decision != abi.Block || !strings.Contains(v.Reason, "(INSERT)") {
			return errors.New("selftest: read_only does not block an INSERT: " + v.Reason)
		}
	}
	for _, name := range g.deny {
		rel := factList{fact(0, "tag", "SELECT"), fact(0, "relation", quoteParts(name))}
		if v := g.decide(rel); v.Decision != abi.Block {
			return errors.New("selftest: tables.deny does not block " + quoteParts(name))
		}
	}
	for _, name := range g.allow {
		if g.matchAny(g.deny, []byte(quoteParts(name))) >= 0 {
			continue // denied as well: deny wins
		}
		rel := factList{fact(0, "tag", "SELECT"), fact(0, "relation", quoteParts(name))}
		if v := g.decide(rel); v.Decision != abi.Allow {
			return errors.New("selftest: tables.allow does not allow " + quoteParts(name) + ": " + v.Reason)
		}
	}
	return nil
}

// quoteParts writes name parts as sqlscan does.
func quoteParts(parts []string) string {
	var b strings.Builder
	for i, p := range parts {
		if i > 0 {
			b.WriteByte('.')
		}
		if strings.ContainsAny(p, `."`) {
			b.WriteString(`"` + strings.ReplaceAll(p, `"`, `""`) + `"`)
		} else {
			b.WriteString(p)
		}
	}
	return b.String()
}

func verdictName(v abi.Verdict) string {
	switch v {
	case abi.Allow:
		return "allow"
	case abi.Block:
		return "block"
	case abi.RequireApproval:
		return "approve"
	}
	return "unknown"
}
