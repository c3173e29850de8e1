package main

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"regexp"
	"strconv"

	"github.com/sluicegw/sluice/sdk/go/sluice"
	"github.com/sluicegw/sluice/sdk/go/sluice/jsonconfig"
)

// config is the plugin's config JSON; README.md documents every key.
type config struct {
	// Key is the secret of the hash and fpe strategies (HMAC-SHA256 key).
	// Required when any rule uses them.
	Key string `json:"key"`
	// HashLength is the number of hex digits the hash strategy writes,
	// 8 to 64; 0 means 16.
	HashLength int `json:"hash_length"`
	// Strategy is the default strategy of the built-in entities; "" means
	// "redact".
	Strategy string `json:"strategy"`
	// Entities overrides the strategy or label per built-in entity.
	Entities map[string]entityConfig `json:"entities"`
	// Fields masks whole values by column name or JSON path glob.
	Fields []fieldConfig `json:"fields"`
	// Custom adds entities defined by a regular expression.
	Custom []customConfig `json:"custom"`
	// Deny adds entities defined by a list of literal values.
	Deny []denyConfig `json:"deny"`
}

type entityConfig struct {
	Strategy string `json:"strategy"`
	Label    string `json:"label"`
}

type fieldConfig struct {
	Match    string `json:"match"`
	Strategy string `json:"strategy"`
	Label    string `json:"label"`
}

type customConfig struct {
	Name     string `json:"name"`
	Pattern  string `json:"pattern"`
	Strategy string `json:"strategy"`
	Label    string `json:"label"`
}

type denyConfig struct {
	Name          string   `json:"name"`
	Values        []string `json:"values"`
	Strategy      string   `json:"strategy"`
	Label         string   `json:"label"`
	CaseSensitive bool     `json:"case_sensitive"`
}

// strategy is what replaces a match.
type strategy uint8

const (
	stRedact strategy = iota
	stPartial
	stHash
	stFPE
	stNullify
	stKeep
)

var strategyNames = [...]string{"redact", "partial", "hash", "fpe", "nullify", "keep"}

func parseStrategy(s string, def strategy) (strategy, error) {
	if s == "" {
		return def, nil
	}
	for i, n := range strategyNames {
		if s == n {
			return strategy(i), nil
		}
	}
	if s == "format_preserving" {
		return stFPE, nil
	}
	return 0, errors.New("unknown strategy " + strconv.Quote(s) + " (want redact, partial, hash, fpe, nullify or keep)")
}

type ruleKind uint8

const (
	kindBuiltin ruleKind = iota
	kindCustom
	kindDeny
	kindField
)

// rule is a built-in entity, a custom regexp, a deny list or a field rule,
// with the strategy and label it masks with.
type rule struct {
	name     string
	kind     ruleKind
	ent      entity // kindBuiltin
	strategy strategy
	label    []byte
	re       *regexp.Regexp // kindCustom
	terms    [][]byte       // kindDeny; lower-case unless caseSensitive
	caseSens bool
	glob     []byte // kindField, lower-case
	leaf     bool   // kindField: match the leaf name only
	alt      []byte // kindField: "*.x" also matches the name "x"
}

// masker is a parsed config plus the scratch it reuses between values.
type masker struct {
	rules   []rule
	builtin [numBuiltin]int32 // rule index per entity
	en      uint32            // enabled built-in entities, bit per entity
	user    []int32           // custom and deny rules, in config order
	fields  []int32           // field rules, in config order
	mac     *keyedHash        // nil without a key
	hashLen int

	spans   []span
	buf     []byte // rendered replacement
	low     []byte // the value lower-cased, for case-insensitive deny lists
	sum     []byte
	norm    []byte // normalized hash input
	quoted  []byte // a JSON-quoted replacement
	ctr     [2]byte
	colRule []int32 // per column of the current batch: field rule or -1
	colType []sluice.ColumnType
	colSrc  []uint32
}

// defaultLabels are the labels of the built-in entities.
var defaultLabels = [numBuiltin]string{"[EMAIL]", "[PHONE]", "[CREDIT_CARD]", "[IBAN]", "[SSN]", "[IPV4]", "[IPV6]"}

const defaultFieldLabel = "[REDACTED]"

func newMasker(raw []byte) (*masker, error) {
	var c config
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := jsonconfig.Decode(raw, &c); err != nil {
			return nil, errors.New("pii-mask: " + err.Error())
		}
	}
	fail := func(where, msg string) (*masker, error) {
		return nil, errors.New("pii-mask: config: " + where + ": " + msg)
	}
	def, err := parseStrategy(c.Strategy, stRedact)
	if err != nil {
		return fail(`"strategy"`, err.Error())
	}
	m := &masker{hashLen: 16}
	if c.HashLength != 0 {
		if c.HashLength < 8 || c.HashLength > 64 {
			return fail(`"hash_length"`, "must be 8 to 64 hex digits")
		}
		m.hashLen = c.HashLength
	}
	for name := range c.Entities {
		if builtinByName(name) < 0 {
			return fail(`"entities"`, "unknown entity "+strconv.Quote(name)+" (want email, phone, credit_card, iban, ssn, ipv4 or ipv6)")
		}
	}
	names := map[string]bool{}
	for ent := entity(0); ent < numBuiltin; ent++ {
		name := entityNames[ent]
		names[name] = true
		ec := c.Entities[name]
		st, err := parseStrategy(ec.Strategy, def)
		if err != nil {
			return fail(`"entities".`+name, err.Error())
		}
		label, err := checkLabel(ec.Label, defaultLabels[ent])
		if err != nil {
			return fail(`"entities".`+name, err.Error())
		}
		m.builtin[ent] = int32(len(m.rules))
		m.rules = append(m.rules, rule{name: name, kind: kindBuiltin, ent: ent, strategy: st, label: label})
		if st != stKeep {
			m.en |= 1 << ent
		}
	}
	for i, cc := range c.Custom {
		where := `"custom"[` + strconv.Itoa(i) + `]`
		if err := checkName(cc.Name, names); err != nil {
			return fail(where, err.Error())
		}
		if cc.Pattern == "" {
			return fail(where, `"pattern" is required`)
		}
		re, err := regexp.Compile(cc.Pattern)
		if err != nil {
			return fail(where, err.Error())
		}
		st, err := parseStrategy(cc.Strategy, stRedact)
		if err != nil {
			return fail(where, err.Error())
		}
		label, err := checkLabel(cc.Label, defaultLabel(cc.Name))
		if err != nil {
			return fail(where, err.Error())
		}
		m.user = append(m.user, int32(len(m.rules)))
		m.rules = append(m.rules, rule{name: cc.Name, kind: kindCustom, strategy: st, label: label, re: re})
	}
	for i, dc := range c.Deny {
		where := `"deny"[` + strconv.Itoa(i) + `]`
		if err := checkName(dc.Name, names); err != nil {
			return fail(where, err.Error())
		}
		if len(dc.Values) == 0 {
			return fail(where, `"values" is empty`)
		}
		st, err := parseStrategy(dc.Strategy, stRedact)
		if err != nil {
			return fail(where, err.Error())
		}
		label, err := checkLabel(dc.Label, defaultLabel(dc.Name))
		if err != nil {
			return fail(where, err.Error())
		}
		r := rule{name: dc.Name, kind: kindDeny, strategy: st, label: label, caseSens: dc.CaseSensitive}
		for _, v := range dc.Values {
			if v == "" {
				return fail(where, "an empty value")
			}
			t := []byte(v)
			if !r.caseSens {
				t = bytes.ToLower(t)
			}
			r.terms = append(r.terms, t)
		}
		m.user = append(m.user, int32(len(m.rules)))
		m.rules = append(m.rules, r)
	}
	for i, fc := range c.Fields {
		where := `"fields"[` + strconv.Itoa(i) + `]`
		if fc.Match == "" {
			return fail(where, `"match" is required`)
		}
		st, err := parseStrategy(fc.Strategy, stRedact)
		if err != nil {
			return fail(where, err.Error())
		}
		label, err := checkLabel(fc.Label, defaultFieldLabel)
		if err != nil {
			return fail(where, err.Error())
		}
		g := bytes.ToLower([]byte(fc.Match))
		r := rule{name: fc.Match, kind: kindField, strategy: st, label: label, glob: g}
		r.leaf = !bytes.ContainsAny(g, ".[")
		if rest, ok := bytes.CutPrefix(g, []byte("*.")); ok && !bytes.ContainsAny(rest, ".[") {
			r.alt = rest
		}
		m.fields = append(m.fields, int32(len(m.rules)))
		m.rules = append(m.rules, r)
	}
	for i := range m.rules {
		if st := m.rules[i].strategy; (st == stHash || st == stFPE) && c.Key == "" {
			return fail(`"key"`, "required by the "+strategyNames[st]+" strategy of "+strconv.Quote(m.rules[i].name))
		}
	}
	if c.Key != "" {
		m.mac = newKeyedHash([]byte(c.Key))
		m.sum = make([]byte, 0, sha256.Size)
	}
	return m, nil
}

func builtinByName(name string) int {
	for i, n := range entityNames {
		if n == name {
			return i
		}
	}
	return -1
}

// checkName accepts a custom or deny entity name: [a-z0-9_]+, not taken.
func checkName(name string, taken map[string]bool) error {
	if name == "" {
		return errors.New(`"name" is required`)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return errors.New("name " + strconv.Quote(name) + ": use a-z, 0-9 and _")
		}
	}
	if taken[name] {
		return errors.New("name " + strconv.Quote(name) + " is already used")
	}
	taken[name] = true
	return nil
}

func defaultLabel(name string) string {
	b := []byte("[" + name + "]")
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

// checkLabel refuses labels that could not be put inside a JSON string of
// a json column unescaped: '"', '\' and control characters.
func checkLabel(label, def string) ([]byte, error) {
	if label == "" {
		return []byte(def), nil
	}
	for i := 0; i < len(label); i++ {
		if c := label[i]; c == '"' || c == '\\' || c < 0x20 || c == 0x7f {
			return nil, errors.New("label " + strconv.Quote(label) + `: no '"', '\' or control characters`)
		}
	}
	return []byte(label), nil
}

// fieldRule returns the first field rule whose glob matches the column
// name, or -1. Matching is ASCII case-insensitive.
func (m *masker) fieldRule(name []byte) int32 {
	if len(m.fields) == 0 {
		return -1
	}
	leaf := leafName(name)
	for _, ri := range m.fields {
		r := &m.rules[ri]
		target := name
		if r.leaf {
			target = leaf
		}
		if globMatch(r.glob, target) || (r.alt != nil && globMatch(r.alt, name)) {
			return ri
		}
	}
	return -1
}

// leafName is the last segment of a JSON path without its "[]" suffixes:
// "customer.email" -> "email", "items[].sku" -> "sku", "tags[]" -> "tags".
func leafName(name []byte) []byte {
	for len(name) >= 2 && name[len(name)-2] == '[' && name[len(name)-1] == ']' {
		name = name[:len(name)-2]
	}
	if i := bytes.LastIndexByte(name, '.'); i >= 0 {
		name = name[i+1:]
	}
	return name
}

// globMatch matches name against a lower-case glob: '*' any run of bytes
// (dots included), '?' one byte, everything else itself, ASCII case-folded.
func globMatch(glob, name []byte) bool {
	gi, ni := 0, 0
	star, mark := -1, 0
	for ni < len(name) {
		if gi < len(glob) && (glob[gi] == '?' || glob[gi] == lower(name[ni])) {
			gi++
			ni++
			continue
		}
		if gi < len(glob) && glob[gi] == '*' {
			star, mark = gi, ni
			gi++
			continue
		}
		if star >= 0 {
			gi = star + 1
			mark++
			ni = mark
			continue
		}
		return false
	}
	for gi < len(glob) && glob[gi] == '*' {
		gi++
	}
	return gi == len(glob)
}

func (m *masker) plan(name []byte, typ sluice.ColumnType) sluice.Action {
	if ri := m.fieldRule(name); ri >= 0 {
		if m.rules[ri].strategy == stKeep {
			return sluice.Ignore
		}
		return sluice.Inspect
	}
	if typ == sluice.TypeBool || typ == sluice.TypeTimestamp {
		return sluice.Ignore
	}
	return sluice.Inspect
}

// records masks every non-NULL field: a field a field rule names as a
// whole, any other the entities found in it.
func (m *masker) records(b *sluice.Batch, e *sluice.Edits) error {
	nc := b.NumColumns()
	m.colRule, m.colType, m.colSrc = m.colRule[:0], m.colType[:0], m.colSrc[:0]
	for i := range nc {
		c := b.Column(i)
		m.colRule = append(m.colRule, m.fieldRule(c.Name))
		m.colType = append(m.colType, c.Type)
		m.colSrc = append(m.colSrc, c.SourceType)
	}
	for f := range b.Fields() {
		if e.Full() {
			return nil // the host grows the arena and calls again
		}
		if f.Null {
			continue
		}
		typ, src := m.colType[f.Column], m.colSrc[f.Column]
		if ri := m.colRule[f.Column]; ri >= 0 {
			r := &m.rules[ri]
			if r.strategy != stKeep {
				m.maskWhole(e, f, typ, src, r)
			}
			continue
		}
		if typ == sluice.TypeBool || typ == sluice.TypeTimestamp || f.Kind == sluice.KindBool || len(f.Value) == 0 {
			continue
		}
		// The only entity a number can be is a card number (13+ digits).
		if f.Kind == sluice.KindNumber && len(f.Value) < 13 && len(m.user) == 0 {
			continue
		}
		var spans []span
		if len(m.user) == 0 {
			has := prefilterOf(f.Value)
			if has == 0 || has == hasDigit && isoTimestamp(f.Value) {
				continue
			}
			m.spans = scanHas(f.Value, has, m.en, &m.builtin, m.spans[:0])
			spans = m.spans
		} else {
			spans = m.find(f.Value)
		}
		if len(spans) == 0 {
			continue
		}
		if typ == sluice.TypeInt || typ == sluice.TypeFloat {
			for _, sp := range spans {
				if r := &m.rules[sp.r]; r.strategy != stKeep {
					m.maskWhole(e, f, typ, src, r)
					break
				}
			}
			continue
		}
		null := false
		for _, sp := range spans {
			if m.rules[sp.r].strategy == stNullify {
				null = true
			}
		}
		if null {
			e.Nullify(f)
			continue
		}
		json := typ == sluice.TypeJSON
		inStr, pos := false, 0
		for _, sp := range spans {
			r := &m.rules[sp.r]
			if r.strategy == stKeep {
				continue // an allow-list match: left as it is
			}
			s, end := int(sp.s), int(sp.e)
			quote := false
			if json {
				inStr, pos = jsonInString(f.Value, pos, s, inStr)
				quote = !inStr
			}
			data := m.render(r, f.Value[s:end], r.kind == kindBuiltin, quote)
			e.ReplaceRange(f, s, end-s, data)
		}
	}
	return nil
}

// jsonInString advances a JSON string-state scan of v from pos to to.
func jsonInString(v []byte, pos, to int, in bool) (bool, int) {
	for ; pos < to; pos++ {
		switch v[pos] {
		case '"':
			in = !in
		case '\\':
			if in {
				pos++
			}
		}
	}
	return in, pos
}

// find returns the spans of v to mask, disjoint and in order: the custom
// and deny matches and the built-in ones, the longer of two overlapping
// matches winning. The result is scratch, valid until the next call.
func (m *masker) find(v []byte) []span {
	m.spans = m.spans[:0]
	if len(m.user) == 0 {
		m.spans = scan(v, m.en, &m.builtin, m.spans)
		return m.spans
	}
	m.spans = m.findUser(v, m.spans)
	nu := len(m.spans)
	m.spans = scan(v, m.en, &m.builtin, m.spans)
	if len(m.spans) == nu {
		return m.spans
	}
	// Where a user span and a built-in span overlap, the longer wins (the
	// user's on a tie): "bob" in bob@example.com is part of the e-mail.
	out := m.spans[:0]
	for i, sp := range m.spans {
		drop := false
		for j, x := range m.spans {
			if i == j || !(sp.s < x.e && x.s < sp.e) {
				continue
			}
			if l, lx := sp.e-sp.s, x.e-x.s; lx > l || lx == l && j < i {
				drop = true
				break
			}
		}
		if !drop {
			out = append(out, sp)
		}
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j-1].s > out[j].s; j-- {
			out[j-1], out[j] = out[j], out[j-1]
		}
	}
	m.spans = out
	return out
}

func overlapsAny(spans []span, sp span) bool {
	for _, x := range spans {
		if sp.s < x.e && x.s < sp.e {
			return true
		}
	}
	return false
}

// findUser appends the matches of the custom and deny rules, in rule
// order, skipping matches that overlap an earlier one.
func (m *masker) findUser(v []byte, out []span) []span {
	lowered := false
	for _, ri := range m.user {
		r := &m.rules[ri]
		switch r.kind {
		case kindCustom:
			for _, loc := range r.re.FindAllIndex(v, -1) {
				sp := span{int32(loc[0]), int32(loc[1]), ri}
				if sp.e > sp.s && !overlapsAny(out, sp) {
					out = append(out, sp)
				}
			}
		case kindDeny:
			hay := v
			if !r.caseSens {
				if !lowered {
					m.low = append(m.low[:0], v...)
					for i, c := range m.low {
						m.low[i] = lower(c)
					}
					lowered = true
				}
				hay = m.low
			}
			for _, t := range r.terms {
				for from := 0; from < len(hay); {
					k := bytes.Index(hay[from:], t)
					if k < 0 {
						break
					}
					s, e := from+k, from+k+len(t)
					from = s + 1
					if isWord(t[0]) && s > 0 && isWord(hay[s-1]) || isWord(t[len(t)-1]) && e < len(hay) && isWord(hay[e]) {
						continue
					}
					sp := span{int32(s), int32(e), ri}
					if !overlapsAny(out, sp) {
						out = append(out, sp)
						from = e
					}
				}
			}
		}
	}
	return out
}

// apply returns v (a text value) with every match masked, for the
// self-test and tests; a nullify match gives "NULL".
func (m *masker) apply(v string) string {
	spans := m.find([]byte(v))
	var out []byte
	last := 0
	for _, sp := range spans {
		r := &m.rules[sp.r]
		if r.strategy == stNullify {
			return "NULL"
		}
		if r.strategy == stKeep {
			continue
		}
		out = append(out, v[last:sp.s]...)
		out = append(out, m.render(r, []byte(v[sp.s:sp.e]), r.kind == kindBuiltin, false)...)
		last = int(sp.e)
	}
	return string(append(out, v[last:]...))
}
