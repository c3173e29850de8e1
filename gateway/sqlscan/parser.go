package sqlscan

import (
	"errors"

	pg "github.com/pganalyze/pg_query_go/v6"
	pgparser "github.com/pganalyze/pg_query_go/v6/parser"
)

// parser is the seam between sqlscan and the PostgreSQL grammar. The walk
// only depends on the pg_query protobuf node types, which every libpg_query
// build (cgo, Wasm) shares, so swapping the implementation means providing
// another parser value.
type parser interface {
	// parse returns the raw statements of sql, or a *parseError.
	parse(sql string) (*pg.ParseResult, error)
	// normalize returns sql with its constants replaced by $n (pg_query's
	// normalization), for the cache of statements that differ only in
	// constants.
	normalize(sql string) (string, error)
}

// parseError is a syntax error with its 1-based cursor position (0 if
// unknown).
type parseError struct {
	msg string
	pos int
}

func (e *parseError) Error() string { return e.msg }

// cgoParser is libpg_query linked through cgo (pg_query_go).
type cgoParser struct{}

func (cgoParser) parse(sql string) (*pg.ParseResult, error) {
	r, err := pg.Parse(sql)
	if err != nil {
		var pe *pgparser.Error
		if errors.As(err, &pe) {
			return nil, &parseError{msg: pe.Message, pos: pe.Cursorpos}
		}
		return nil, &parseError{msg: err.Error()}
	}
	return r, nil
}

func (cgoParser) normalize(sql string) (string, error) { return pgparser.Normalize(sql) }

var defaultParser parser = cgoParser{}
