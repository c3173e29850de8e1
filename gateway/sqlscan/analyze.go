package sqlscan

import (
	"container/list"
	"errors"
	"slices"
	"strconv"
	"strings"
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

// ReadOnly reports whether the input is queries that cannot change
// anything: it parsed, and every statement is a SELECT (or VALUES/TABLE)
// without a write, a locking clause or a function call (any function may
// write or have side effects, nextval() or a user's plpgsql). Engines
// may record such commands without waiting for a disk sync.
func (a *Analysis) ReadOnly() bool {
	if a.ParseError != "" || len(a.Statements) == 0 {
		return false
	}
	for i := range a.Statements {
		st := &a.Statements[i]
		if st.Kind != KindSelect || st.Writes {
			return false
		}
		for _, f := range st.Facts {
			switch f.Key {
			case KeyFunction, KeySetConfig, KeyRowLock, KeySelectInto, KeyWriteRelation, KeyExecute, KeyExecuteUnknown:
				return false
			}
		}
	}
	return true
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
// Analyses are cached (see cached): jobs and drivers send the same
// statements again and again, or the same ones with other constants, and
// a hit costs a map lookup (exact text) or pg_query's normalization
// (~3-8 µs) instead of a parse and walk (~100 µs). The returned Analysis
// may be shared with other callers: treat it as read-only.
func Analyze(sql string) (*Analysis, error) {
	return analyzeCached(nil, sql)
}

func analyzeCached(sess *Session, sql string) (*Analysis, error) {
	if len(sql) > maxCachedSQL {
		return analyze(defaultParser, sess, sql)
	}
	a, norm, ok := cached(sql)
	if ok {
		return a, nil
	}
	a, err := analyze(defaultParser, sess, sql)
	if err != nil {
		return nil, err
	}
	if sessionFree(a) {
		analyses.put(sql, a)
		if norm != "" && constantFree(a) {
			normalized.put(norm, a)
		}
	}
	return a, nil
}

// cached returns a cached analysis of sql: by exact text, or by its
// normalized text (then a copy carrying sql as its text). norm is the
// normalized text when it was computed ("" when the exact text hit or
// normalization failed).
func cached(sql string) (a *Analysis, norm string, ok bool) {
	if a, ok := analyses.get(sql); ok {
		return a, "", true
	}
	norm, ok = normalizedKey(sql)
	if !ok {
		return nil, "", false
	}
	n, ok := normalized.get(norm)
	if !ok {
		return nil, norm, false
	}
	c := *n
	c.SQL = sql
	c.Statements = slices.Clone(n.Statements)
	c.Statements[0].Text = strings.TrimRight(strings.TrimSpace(sql), "; \t\r\n")
	analyses.put(sql, &c)
	return &c, norm, true
}

// sessionFree reports whether an analysis does not depend on a session's
// prepared statements (no PREPARE, EXECUTE or DEALLOCATE), so it can be
// cached and shared.
func sessionFree(a *Analysis) bool {
	for i := range a.Statements {
		for _, f := range a.Statements[i].Facts {
			switch f.Key {
			case KeyPrepare, KeyExecute, KeyExecuteUnknown, KeyDeallocate:
				return false
			}
		}
	}
	return true
}

// constantFree reports whether an analysis is the same for every statement
// that normalizes to the same text, i.e. differs only in constants: one
// statement, a query (select, insert, update, delete, merge), and no
// function call. Constants matter to the facts and the fingerprint of
// utility statements (SET, COPY, DO ...) and of function calls (a
// set_config setting, a constant argument kept in the fingerprint), so
// those are parsed every time.
func constantFree(a *Analysis) bool {
	if a.ParseError != "" || len(a.Statements) != 1 {
		return false
	}
	st := &a.Statements[0]
	switch st.Kind {
	case KindSelect, KindInsert, KindUpdate, KindDelete, KindMerge:
	default:
		return false
	}
	for _, f := range st.Facts {
		if f.Key == KeyFunction || f.Key == KeySetConfig {
			return false
		}
	}
	return true
}

// Cache bounds: at most maxCached analyses of statements of at most
// maxCachedSQL bytes, so the cache stays within a few MB.
const (
	maxCached    = 1024
	maxCachedSQL = 4096
)

var (
	analyses   = &lru{max: maxCached, m: map[string]*list.Element{}} // by exact text
	normalized = &lru{max: maxCached, m: map[string]*list.Element{}} // by normalized text
)

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
// seen earlier in the session, and records PREPARE / DEALLOCATE. Analyses
// that involve no prepared statement come from the shared cache.
func (s *Session) Analyze(sql string) (*Analysis, error) {
	return analyzeCached(s, sql)
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
