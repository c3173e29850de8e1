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

	// The prefilter index: every rule's literals by their first two
	// bytes, so one pass over a value finds the rules worth running (a
	// value without any literal costs one table lookup per byte instead of
	// a substring search per literal, which is what made clean text slow
	// under Wasm).
	pairGroup [1 << 16]uint8 // first two bytes -> 1 + index into groups; 0: none
	groups    [][]preLit
	always    uint64 // rules without literals: they always run
}

// preLit is a prefilter literal of rule r (an index into masker.rules).
type preLit struct {
	lit []byte
	r   int
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
	if len(m.rules) > 64 {
		return nil, errors.New("secret-mask: more than 64 rules: widen the candidate set")
	}
	for ri, r := range m.rules {
		if len(r.preB) == 0 {
			m.always |= 1 << ri
		}
		for _, lit := range r.preB {
			if len(lit) < 2 {
				// One-byte literals would need a per-byte table; none exist.
				return nil, errors.New("secret-mask: rule " + r.name + ": prefilter literal shorter than 2 bytes")
			}
			k := uint16(lit[0])<<8 | uint16(lit[1])
			if m.pairGroup[k] == 0 {
				m.groups = append(m.groups, nil)
				m.pairGroup[k] = uint8(len(m.groups))
			}
			g := int(m.pairGroup[k]) - 1
			m.groups[g] = append(m.groups[g], preLit{lit, ri})
		}
	}
	if len(m.groups) > 255 {
		return nil, errors.New("secret-mask: too many prefilter literal prefixes")
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
	cand := m.candidates()
	for ri, r := range m.rules {
		if cand&(1<<ri) == 0 {
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

// candidates returns the set of rules whose prefilter literals occur in
// m.low (bit i: m.rules[i]), plus the rules that always run.
func (m *masker) candidates() uint64 {
	cand := m.always
	low := m.low
	for i := 0; i+1 < len(low); i++ {
		g := m.pairGroup[uint16(low[i])<<8|uint16(low[i+1])]
		if g == 0 {
			continue
		}
		for _, pl := range m.groups[g-1] {
			if cand&(1<<pl.r) == 0 && bytes.HasPrefix(low[i:], pl.lit) {
				cand |= 1 << pl.r
			}
		}
	}
	return cand
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
