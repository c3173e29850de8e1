package main

import (
	"bytes"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/sluicegw/sluice/sdk/go/sluice"
	"github.com/sluicegw/sluice/sdk/go/sluice/jsonconfig"
)

// config is the plugin's config JSON; README.md documents it.
type config struct {
	// Disable lists rule names to turn off. An unknown name is an error.
	Disable []string `json:"disable"`
	// Replacement replaces each match; "{rule}" in it becomes the rule's
	// name. Absent or "" means "[REDACTED:{rule}]".
	Replacement string `json:"replacement"`
}

const defaultReplacement = "[REDACTED:{rule}]"

// masker is a parsed config plus the scratch it reuses between values.
type masker struct {
	rules []*rule  // enabled rules, in priority order
	repl  [][]byte // replacement per enabled rule
	low   []byte   // the current value, ASCII lower-cased, for prefilters
	spans []span
}

// span is a byte range [s, e) of a value to replace by rule r's
// replacement (r indexes masker.rules).
type span struct{ s, e, r int }

func newMasker(raw []byte) (*masker, error) {
	var c config
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := jsonconfig.Decode(raw, &c); err != nil {
			return nil, errors.New("secret-mask: " + err.Error())
		}
	}
	if c.Replacement == "" {
		c.Replacement = defaultReplacement
	}
	off := map[string]bool{}
	for _, name := range c.Disable {
		if ruleByName(name) == nil {
			return nil, errors.New(`secret-mask: config: "disable": unknown rule ` + strconv.Quote(name))
		}
		off[name] = true
	}
	m := &masker{}
	for _, r := range rules {
		if off[r.name] {
			continue
		}
		m.rules = append(m.rules, r)
		m.repl = append(m.repl, []byte(strings.ReplaceAll(c.Replacement, "{rule}", r.name)))
	}
	return m, nil
}

func ruleByName(name string) *rule {
	for _, r := range rules {
		if r.name == name {
			return r
		}
	}
	return nil
}

// records masks every secret in every non-NULL string field.
func (m *masker) records(b *sluice.Batch, e *sluice.Edits) error {
	for f := range b.Fields() {
		if f.Null || f.Kind != sluice.KindString || len(f.Value) == 0 {
			continue
		}
		for _, sp := range m.find(f.Value) {
			e.ReplaceRange(f, sp.s, sp.e-sp.s, m.repl[sp.r])
		}
		if e.Full() {
			return nil // the host grows the arena and calls again
		}
	}
	return nil
}

// find returns the spans of v to mask, disjoint and in order. The result
// is scratch, valid until the next call.
func (m *masker) find(v []byte) []span {
	m.spans = m.spans[:0]
	m.low = append(m.low[:0], v...)
	for i, c := range m.low {
		if 'A' <= c && c <= 'Z' {
			m.low[i] = c + ('a' - 'A')
		}
	}
	for ri, r := range m.rules {
		if !m.prefilter(r) {
			continue
		}
		for _, loc := range r.re.FindAllSubmatchIndex(v, -1) {
			s, e := loc[0], loc[1]
			for g := 2; g+1 < len(loc); g += 2 {
				if loc[g] >= 0 {
					s, e = loc[g], loc[g+1]
					break
				}
			}
			if s == e {
				continue
			}
			if r.edge != nil {
				if e < len(v) && r.edge[v[e]] {
					continue
				}
				if r.lead && loc[0] > 0 && r.edge[v[loc[0]-1]] {
					continue
				}
			}
			if r.valid != nil && !r.valid(v[s:e]) {
				continue
			}
			if m.overlaps(s, e) {
				continue
			}
			m.spans = append(m.spans, span{s, e, ri})
		}
	}
	slices.SortFunc(m.spans, func(a, b span) int { return a.s - b.s })
	return m.spans
}

func (m *masker) prefilter(r *rule) bool {
	if len(r.preB) == 0 {
		return true
	}
	for _, p := range r.preB {
		if bytes.Contains(m.low, p) {
			return true
		}
	}
	return false
}

func (m *masker) overlaps(s, e int) bool {
	for _, sp := range m.spans {
		if s < sp.e && sp.s < e {
			return true
		}
	}
	return false
}

// apply returns v with every match replaced (for the self-test and tests).
func (m *masker) apply(v string) string {
	var b strings.Builder
	last := 0
	for _, sp := range m.find([]byte(v)) {
		b.WriteString(v[last:sp.s])
		b.Write(m.repl[sp.r])
		last = sp.e
	}
	b.WriteString(v[last:])
	return b.String()
}
