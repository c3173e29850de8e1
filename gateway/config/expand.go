package config

import (
	"slices"
	"sort"
	"strings"
)

// expandTree replaces ${NAME} references in every string value of a raw
// config tree (mapping keys are left alone), in place. Each key whose value
// held a reference is recorded in templates with its unexpanded text, so
// later messages can show the template instead of the value, which may be a
// secret.
func expandTree(p *problems, key string, v any, lookup func(string) (string, bool), templates map[string]string) any {
	switch x := v.(type) {
	case string:
		out, unset, malformed := expandString(x, lookup)
		if out != x || len(unset) > 0 || malformed {
			templates[key] = x
		}
		for _, name := range unset {
			p.add(key, "${%s} is not set", name)
		}
		if malformed {
			p.add(key, "malformed ${...} reference: want ${NAME} with NAME of letters, digits and _ (write $$ for a literal $)")
		}
		if len(unset) > 0 || malformed {
			// Whatever validation would say about the half-expanded value
			// is noise.
			p.broken[key] = true
		}
		return out
	case map[string]any:
		names := make([]string, 0, len(x))
		for k := range x {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			x[k] = expandTree(p, joinKey(key, k), x[k], lookup, templates)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = expandTree(p, indexKey(key, i), e, lookup, templates)
		}
		return x
	}
	return v
}

// expandString expands s by these rules, which are the whole grammar:
//
//   - ${NAME} is replaced by the variable's value; NAME is a letter or _
//     followed by letters, digits and _. An unset variable is reported in
//     unset (once per name); a variable set to "" expands to "".
//   - $$ is a literal $.
//   - any other $ is itself: $NAME is not expanded, so a password such as
//     "pa$word" needs no escaping.
//   - ${ without a closing } or with an invalid name sets malformed.
//
// Expansion is one pass: a value that itself contains ${...} is not expanded
// again.
func expandString(s string, lookup func(string) (string, bool)) (out string, unset []string, malformed bool) {
	if !strings.Contains(s, "$") {
		return s, nil, false
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		c := s[i]
		if c != '$' || i+1 == len(s) {
			b.WriteByte(c)
			i++
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i += 2
		case '{':
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 || !validVarName(s[i+2:i+2+end]) {
				malformed = true
				b.WriteString(s[i:])
				i = len(s)
				break
			}
			name := s[i+2 : i+2+end]
			if val, ok := lookup(name); ok {
				b.WriteString(val)
			} else if !slices.Contains(unset, name) {
				unset = append(unset, name)
			}
			i += 2 + end + 1
		default:
			b.WriteByte('$')
			i++
		}
	}
	return b.String(), unset, malformed
}

func validVarName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '_', 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
