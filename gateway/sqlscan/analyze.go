package sqlscan

import (
	"container/list"
	"errors"
	"strconv"
	"sync"

	"github.com/sluicegw/sluice/abi"
)

// Statement kinds (fact key "kind").
const (
	KindSelect      = "select"
	KindInsert      = "insert"
	KindUpdate      = "update"
	KindDelete      = "delete"
	KindMerge       = "merge"
	KindDDL         = "ddl"
	KindDCL         = "dcl"
	KindCopy        = "copy"
	KindExplain     = "explain"
	KindTransaction = "transaction"
	KindSession     = "session"
	KindUtility     = "utility"
)

// Fact is one (key, value) analysis fact of a statement.
type Fact struct {
	Key, Value string
}

// Statement is the analysis of one statement of the input.
type Statement struct {
	Index       int    // position in the input, from 0
	Text        string // the statement's source text (a slice of the input)
	Tag         string // command tag, e.g. "SELECT", "DROP TABLE"
	Kind        string // one of the Kind constants
	Writes      bool   // can modify data, schema, roles or server state
	DDL         bool   // defines, alters or drops schema objects
	Fingerprint string // the normalized statement's identity (hex; see fingerprint.go)
	// Facts are the remaining facts in walk order, without duplicates.
	Facts []Fact
}

// Values returns the values of the facts with key.
func (s *Statement) Values(key string) []string {
	var out []string
	for _, f := range s.Facts {
		if f.Key == key {
			out = append(out, f.Value)
		}
	}
	return out
}

// Has reports whether the statement has the fact (key, value).
func (s *Statement) Has(key, value string) bool {
	for _, f := range s.Facts {
		if f.Key == key && f.Value == value {
			return true
		}
	}
	return false
}

// Analysis is the result of analysing one SQL string (one simple-query
// message, which may hold several statements). It is immutable once
// returned and may be shared between goroutines.
type Analysis struct {
	SQL        string
	Statements []Statement
	// ParseError is the parser's message if the input is not valid SQL for
	// the PostgreSQL grammar; Statements is then empty. A guard should treat
	// it as "unknown" (usually: block).
	ParseError string
	// ParseErrorPos is the 1-based byte position of the error, 0 if unknown.
	ParseErrorPos int
}

// Writes reports whether any statement can write, or the input did not
// parse (fail closed).
func (a *Analysis) Writes() bool {
	if a.ParseError != "" {
		return true
	}
	for i := range a.Statements {
		if a.Statements[i].Writes {
			return true
		}
	}
	return false
}

// AddFacts appends the analysis to cb as facts (see the package doc for
// the keys). A parse error becomes facts of statement 0.
func (a *Analysis) AddFacts(cb *abi.CommandBuilder) {
	if a.ParseError != "" {
		cb.AddFact(0, KeyParseError, a.ParseError)
		if a.ParseErrorPos > 0 {
			cb.AddFact(0, KeyParseErrorPos, strconv.Itoa(a.ParseErrorPos))
		}
		return
	}
	for i := range a.Statements {
		s := &a.Statements[i]
		cb.AddFact(s.Index, KeyTag, s.Tag)
		cb.AddFact(s.Index, KeyKind, s.Kind)
		cb.AddFact(s.Index, KeyWrites, strconv.FormatBool(s.Writes))
		cb.AddFact(s.Index, KeyDDL, strconv.FormatBool(s.DDL))
		if s.Fingerprint != "" {
			cb.AddFact(s.Index, KeyFingerprint, s.Fingerprint)
		}
		for _, f := range s.Facts {
			cb.AddFact(s.Index, f.Key, f.Value)
		}
	}
}

// Analyze parses sql with the PostgreSQL grammar and analyses every
// statement. A syntax error is not a Go error: it is reported in
// Analysis.ParseError. The returned error is non-nil only if the parser
// itself failed. SQL-level EXECUTE is resolved against PREPAREs earlier in
// the same string only; use a Session to carry them across messages.
//
// Analyses are cached by exact text: jobs and drivers send the same
// statements again and again, and a hit costs a map lookup instead of a
// parse (~100 µs). The returned Analysis may be shared with other callers:
// treat it as read-only.
func Analyze(sql string) (*Analysis, error) {
	if len(sql) > maxCachedSQL {
		return analyze(defaultParser, nil, sql)
	}
	if a, ok := analyses.get(sql); ok {
		return a, nil
	}
	a, err := analyze(defaultParser, nil, sql)
	if err == nil {
		analyses.put(sql, a)
	}
	return a, err
}

// Cache bounds: at most maxCached analyses of statements of at most
// maxCachedSQL bytes, so the cache stays within a few MB.
const (
	maxCached    = 1024
	maxCachedSQL = 4096
)

var analyses = &lru{max: maxCached, m: map[string]*list.Element{}}

// lru is a small least-recently-used cache, safe for concurrent use.
type lru struct {
	mu   sync.Mutex
	max  int
	m    map[string]*list.Element
	list list.List // of *lruEntry, most recent first
}

type lruEntry struct {
	key string
	a   *Analysis
}

func (c *lru) get(key string) (*Analysis, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok {
		return nil, false
	}
	c.list.MoveToFront(e)
	return e.Value.(*lruEntry).a, true
}

func (c *lru) put(key string, a *Analysis) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[key]; ok {
		c.list.MoveToFront(e)
		return
	}
	c.m[key] = c.list.PushFront(&lruEntry{key, a})
	if c.list.Len() > c.max {
		old := c.list.Back()
		c.list.Remove(old)
		delete(c.m, old.Value.(*lruEntry).key)
	}
}

// Session carries SQL-level prepared statements across the messages of one
// connection so that EXECUTE gets the facts of the prepared body. It is
// not safe for concurrent use (one per connection).
type Session struct {
	prepared map[string]*Statement
}

// Analyze is like the package Analyze but resolves EXECUTE against PREPAREs
// seen earlier in the session, and records PREPARE / DEALLOCATE.
func (s *Session) Analyze(sql string) (*Analysis, error) {
	return analyze(defaultParser, s, sql)
}

func analyze(p parser, sess *Session, sql string) (*Analysis, error) {
	a := &Analysis{SQL: sql}
	res, err := p.parse(sql)
	if err != nil {
		var pe *parseError
		if errors.As(err, &pe) {
			a.ParseError, a.ParseErrorPos = pe.msg, pe.pos
			if a.ParseError == "" {
				a.ParseError = "syntax error"
			}
			return a, nil
		}
		return nil, err
	}
	local := sess
	if local == nil {
		local = &Session{}
	}
	a.Statements = make([]Statement, len(res.Stmts))
	for i, raw := range res.Stmts {
		st := &a.Statements[i]
		st.Index = i
		st.Text = stmtText(sql, int(raw.StmtLocation), int(raw.StmtLen))
		walkStatement(st, raw.Stmt, local)
	}
	return a, nil
}

func stmtText(sql string, loc, n int) string {
	if loc < 0 || loc > len(sql) {
		return sql
	}
	if n <= 0 || loc+n > len(sql) {
		return sql[loc:]
	}
	return sql[loc : loc+n]
}
