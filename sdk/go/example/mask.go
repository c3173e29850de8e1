package main

import (
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/sluicegw/sluice/sdk/go/sluice"
	"github.com/sluicegw/sluice/sdk/go/sluice/jsonconfig"
)

// config is the plugin's config JSON; the field comments are the user
// documentation (README.md repeats them with examples).
type config struct {
	// Fields lists the columns to mask, matched exactly and case
	// sensitively against the column names the host gives: JSON paths
	// ("email", "customer.email", "items[].email", "[].email" for elements
	// of a top-level array), SQL and CSV column names, "line" for text.
	// An entry "*.NAME" matches NAME itself and every path that ends in
	// ".NAME" ("*.email" matches "email", "customer.email" and
	// "items[].email", but not "customer_email"). Required, non-empty.
	Fields []string `json:"fields"`
	// Mask replaces each masked value; absent or "" means "****".
	Mask string `json:"mask"`
	// KeepLast keeps the last KeepLast characters (Unicode code points) of
	// a value visible after the mask: 4 turns "4111111111111111" into
	// "****1111". A value of KeepLast characters or fewer is masked whole,
	// since showing all of it would not mask it. Default 0.
	KeepLast int `json:"keep_last"`
}

const defaultMask = "****"

var errNotInitialized = errors.New("json-field-mask: not initialized (the host calls init before records)")

// masker is a parsed config plus the per-batch scratch it reuses, so that
// masking a batch allocates nothing once warm.
type masker struct {
	fields   []string // as configured, for the self-test
	exact    []string // whole column names
	suffixes []string // ".NAME" for each "*.NAME"; NAME itself is in exact
	mask     []byte
	keepLast int
	listed   []bool // by column index, for the current batch
}

func newMasker(raw []byte) (*masker, error) {
	var c config
	if err := jsonconfig.Decode(raw, &c); err != nil {
		return nil, errors.New("json-field-mask: " + err.Error())
	}
	if len(c.Fields) == 0 {
		return nil, errors.New(`json-field-mask: config: "fields" must list at least one field`)
	}
	if c.KeepLast < 0 {
		return nil, errors.New(`json-field-mask: config: "keep_last" must be 0 or more, got ` + strconv.Itoa(c.KeepLast))
	}
	m := &masker{fields: c.Fields, mask: []byte(c.Mask), keepLast: c.KeepLast}
	if c.Mask == "" {
		m.mask = []byte(defaultMask)
	}
	for i, f := range c.Fields {
		where := `json-field-mask: config: "fields"[` + strconv.Itoa(i) + `]: `
		name, wildcard := strings.CutPrefix(f, "*.")
		switch {
		case name == "":
			return nil, errors.New(where + "empty field name")
		case strings.Contains(name, "*"):
			return nil, errors.New(where + strconv.Quote(f) + `: "*" is only allowed as a "*." prefix`)
		}
		m.exact = append(m.exact, name)
		if wildcard {
			m.suffixes = append(m.suffixes, "."+name)
		}
	}
	return m, nil
}

// matches reports whether column name is listed.
func (m *masker) matches(name []byte) bool {
	for _, x := range m.exact {
		if string(name) == x {
			return true
		}
	}
	for _, s := range m.suffixes {
		if len(name) >= len(s) && string(name[len(name)-len(s):]) == s {
			return true
		}
	}
	return false
}

// records masks every non-NULL field of a listed column. Column matching
// runs once per column per batch, not per field.
func (m *masker) records(b *sluice.Batch, e *sluice.Edits) error {
	m.listed = m.listed[:0]
	for c := range b.Columns() {
		m.listed = append(m.listed, m.matches(c.Name))
	}
	for f := range b.Fields() {
		if f.Null || !m.listed[f.Column] {
			continue
		}
		if keep := m.visibleFrom(f.Value); keep < len(f.Value) {
			// Replace what precedes the visible tail: the tail never leaves
			// the arena. On a JSON number or bool the host writes the
			// result as a string, as for Replace.
			e.ReplaceRange(f, 0, keep, m.mask)
		} else {
			e.Replace(f, m.mask)
		}
		if e.Full() {
			return nil // the host grows the arena and calls again
		}
	}
	return nil
}

// visibleFrom returns the byte offset where the visible tail of v begins:
// the start of its last keepLast characters, or len(v) when nothing stays
// visible (keepLast is 0, or v has no more than keepLast characters).
// Bytes that are not valid UTF-8 count as one character each, so a
// multi-byte character is never split.
func (m *masker) visibleFrom(v []byte) int {
	if m.keepLast == 0 {
		return len(v)
	}
	i := len(v)
	for range m.keepLast {
		if i == 0 {
			return len(v) // too short: mask it whole
		}
		_, size := utf8.DecodeLastRune(v[:i])
		i -= size
	}
	if i == 0 {
		return len(v) // exactly keepLast characters: mask it whole
	}
	return i
}

// apply returns what masking turns value into. It allocates; records does
// the same without allocating, through edits. Tests and the self-test
// compare the two.
func (m *masker) apply(value string) string {
	return string(m.mask) + value[m.visibleFrom([]byte(value)):]
}
