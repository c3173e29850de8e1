package shellscan

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"mvdan.cc/sh/v3/syntax"
)

// Word is one word of a command's argv.
type Word struct {
	// Text is the word as the shell would pass it when Dynamic is false:
	// quotes removed, escapes resolved, adjacent parts joined. When Dynamic
	// is true it is the word's source text, verbatim.
	Text string
	// Dynamic reports that the word's value is only known at run time: it
	// has a parameter expansion ($x, ${x}), a command or process
	// substitution ($(...), `...`, <(...)) or an arithmetic expansion.
	Dynamic bool
	// Glob reports an unquoted *, ? or [ in a static word: the shell
	// replaces it with matching file names (/???/r? may run /bin/rm).
	Glob bool
}

// source returns the source text of n in src, or "" if n's positions are
// not usable.
func source(src string, n syntax.Node) string {
	if w, ok := n.(*syntax.Word); ok && len(w.Parts) == 0 {
		return ""
	}
	p, e := n.Pos(), n.End()
	if !p.IsValid() || !e.IsValid() {
		return ""
	}
	a, b := int(p.Offset()), int(e.Offset())
	if a < 0 || b > len(src) || a > b {
		return ""
	}
	return src[a:b]
}

// evalWord resolves w statically. Tilde and glob characters are kept as
// written (they are not expansions that depend on the caller's input).
func evalWord(src string, w *syntax.Word) Word {
	if w == nil || len(w.Parts) == 0 {
		return Word{}
	}
	if len(w.Parts) == 1 {
		if l, ok := w.Parts[0].(*syntax.Lit); ok && strings.IndexByte(l.Value, '\\') < 0 {
			// common case: no allocation
			return Word{Text: l.Value, Glob: strings.ContainsAny(l.Value, "*?[")}
		}
	}
	var sb strings.Builder
	if !appendParts(&sb, w.Parts, false) {
		return Word{Text: source(src, w), Dynamic: true}
	}
	return Word{Text: sb.String(), Glob: hasGlob(w.Parts)}
}

// hasGlob reports an unquoted, unescaped glob character or an extended
// glob in parts.
func hasGlob(parts []syntax.WordPart) bool {
	for _, p := range parts {
		switch p := p.(type) {
		case *syntax.ExtGlob:
			return true
		case *syntax.Lit:
			v := p.Value
			for i := 0; i < len(v); i++ {
				switch v[i] {
				case '\\':
					i++
				case '*', '?', '[':
					return true
				}
			}
		}
	}
	return false
}

// braces expands a word that is entirely an unquoted {a,b,...} list with
// no nested braces, as bash does: {rm,-rf,/} is three words. It returns
// nil for any other word.
func braces(src string, w *syntax.Word) []Word {
	if w == nil || len(w.Parts) != 1 {
		return nil
	}
	l, ok := w.Parts[0].(*syntax.Lit)
	if !ok {
		return nil
	}
	v := l.Value
	if len(v) < 4 || v[0] != '{' || v[len(v)-1] != '}' || strings.ContainsAny(v[1:len(v)-1], "{}\\") || strings.IndexByte(v, ',') < 0 {
		return nil
	}
	var out []Word
	for e := range strings.SplitSeq(v[1:len(v)-1], ",") {
		out = append(out, Word{Text: e, Glob: strings.ContainsAny(e, "*?[")})
	}
	return out
}

// appendParts appends the static value of parts; it reports false if a part
// is dynamic.
func appendParts(sb *strings.Builder, parts []syntax.WordPart, dquoted bool) bool {
	for _, p := range parts {
		switch p := p.(type) {
		case *syntax.Lit:
			unescape(sb, p.Value, dquoted)
		case *syntax.SglQuoted:
			if p.Dollar {
				ansiC(sb, p.Value)
			} else {
				sb.WriteString(p.Value)
			}
		case *syntax.DblQuoted:
			if !appendParts(sb, p.Parts, true) {
				return false
			}
		case *syntax.ExtGlob:
			sb.WriteString(p.Op.String())
			sb.WriteString(p.Pattern.Value)
			sb.WriteByte(')')
		default: // ParamExp, CmdSubst, ArithmExp, ProcSubst, BraceExp
			return false
		}
	}
	return true
}

// unescape resolves backslashes as the shell does outside quotes (any
// character) or inside double quotes ($ ` " \ and newline only); a
// backslash-newline is a line continuation and disappears.
func unescape(sb *strings.Builder, s string, dquoted bool) {
	for {
		i := strings.IndexByte(s, '\\')
		if i < 0 || i == len(s)-1 {
			sb.WriteString(s)
			return
		}
		sb.WriteString(s[:i])
		c := s[i+1]
		switch {
		case c == '\n':
		case !dquoted || c == '$' || c == '`' || c == '"' || c == '\\':
			sb.WriteByte(c)
		default:
			sb.WriteByte('\\')
			sb.WriteByte(c)
		}
		s = s[i+2:]
	}
}

// ansiC decodes the body of a bash $'...' string.
func ansiC(sb *strings.Builder, s string) {
	for len(s) > 0 {
		i := strings.IndexByte(s, '\\')
		if i < 0 || i == len(s)-1 {
			sb.WriteString(s)
			return
		}
		sb.WriteString(s[:i])
		c := s[i+1]
		s = s[i+2:]
		switch c {
		case 'a':
			sb.WriteByte('\a')
		case 'b':
			sb.WriteByte('\b')
		case 'e', 'E':
			sb.WriteByte(0x1b)
		case 'f':
			sb.WriteByte('\f')
		case 'n':
			sb.WriteByte('\n')
		case 'r':
			sb.WriteByte('\r')
		case 't':
			sb.WriteByte('\t')
		case 'v':
			sb.WriteByte('\v')
		case '\\', '\'', '"', '?':
			sb.WriteByte(c)
		case 'c':
			if len(s) > 0 {
				sb.WriteByte(s[0] & 0x1f)
				s = s[1:]
			}
		case 'x', 'u', 'U', '0', '1', '2', '3', '4', '5', '6', '7':
			base, max := 16, 2
			switch c {
			case 'u':
				max = 4
			case 'U':
				max = 8
			case 'x':
			default:
				base, max = 8, 3
				s = string(c) + s // the digit is part of the number
			}
			n := 0
			for n < max && n < len(s) && isDigit(s[n], base) {
				n++
			}
			if n == 0 {
				sb.WriteByte('\\')
				sb.WriteByte(c)
				continue
			}
			v, _ := strconv.ParseUint(s[:n], base, 32)
			s = s[n:]
			if c == 'u' || c == 'U' {
				if v > utf8.MaxRune {
					v = utf8.RuneError
				}
				sb.WriteRune(rune(v))
			} else {
				sb.WriteByte(byte(v))
			}
		default:
			sb.WriteByte('\\')
			sb.WriteByte(c)
		}
	}
}

func isDigit(c byte, base int) bool {
	if base == 8 {
		return c >= '0' && c <= '7'
	}
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// basename returns the part of s after the last '/'.
func basename(s string) string {
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		return s[i+1:]
	}
	return s
}
