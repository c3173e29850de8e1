package sqlscan

import (
	"strconv"
	"strings"
)

// Normalize returns sql with its constants replaced by $n placeholders,
// numbered after the highest $n already in it, as pg_query's
// normalization does: the text engines record, so a literal password or
// e-mail in a statement is not kept.
//
// Most statements a client sends repeatedly are plain: numbers, standard
// '...' strings, identifiers and operators. Those are normalized by a
// small lexer in Go, without the cgo call into libpg_query (about 10 µs
// per statement, twice per statement before: once for the analysis
// cache, once for the record). Anything the lexer is not sure of (comments,
// dollar quotes, E” and other prefixed strings, backslashes, signed
// numbers, which the parser folds into the constant) goes to pg_query.
func Normalize(sql string) (string, error) {
	if n, ok := quickNormalize(sql); ok {
		return n, nil
	}
	return defaultParser.normalize(sql)
}

// normalizedKey is the key of the normalized-text cache. The two ways of
// normalizing are kept apart, so a text normalized by one can never meet
// an entry made by the other.
func normalizedKey(sql string) (string, bool) {
	if n, ok := quickNormalize(sql); ok {
		return "q" + n, true
	}
	n, err := defaultParser.normalize(sql)
	if err != nil {
		return "", false
	}
	return "p" + n, true
}

// quickNormalize is the lexer behind Normalize; ok is false when the text
// holds anything it does not handle.
func quickNormalize(sql string) (string, bool) {
	maxParam, consts, ok := lexConstants(sql, nil)
	if !ok {
		return "", false
	}
	if consts == 0 {
		return sql, true
	}
	var b strings.Builder
	b.Grow(len(sql) + 2*consts)
	n, last := maxParam, 0
	lexConstants(sql, func(i, j int) {
		b.WriteString(sql[last:i])
		n++
		b.WriteByte('$')
		b.WriteString(strconv.Itoa(n))
		last = j
	})
	b.WriteString(sql[last:])
	return b.String(), true
}

// lexConstants walks sql's tokens and calls emit(start, end), when set,
// for every constant (a number or a standard string). It returns the
// highest $n parameter, the number of constants, and false for text it
// does not handle.
func lexConstants(sql string, emit func(i, j int)) (maxParam, consts int, ok bool) {
	prevSig := byte(0) // the last non-space byte before the current token
	// byList: an ORDER BY, GROUP BY or PARTITION BY was seen; afterBy:
	// the last token was BY.
	byList, afterBy := false, false
	i := 0
	for i < len(sql) {
		c := sql[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f':
			i++
			continue
		case c == '-' && i+1 < len(sql) && sql[i+1] == '-', c == '/' && i+1 < len(sql) && sql[i+1] == '*':
			return 0, 0, false // comments
		case c == '\'':
			if i > 0 && (isIdentByte(sql[i-1]) || isDigit(sql[i-1]) || sql[i-1] == '&') {
				return 0, 0, false // E'', B'', X'', U&'' and friends
			}
			if prevSig == '\'' {
				return 0, 0, false // 'a'<newline>'b' is one constant
			}
			j := i + 1
			for {
				k := strings.IndexAny(sql[j:], `'\`)
				if k < 0 {
					return 0, 0, false // unterminated
				}
				j += k
				if sql[j] == '\\' {
					return 0, 0, false // depends on standard_conforming_strings
				}
				if j+1 < len(sql) && sql[j+1] == '\'' {
					j += 2
					continue
				}
				j++
				break
			}
			if j < len(sql) && (sql[j] == '\'' || isIdentByte(sql[j])) {
				return 0, 0, false
			}
			consts++
			if emit != nil {
				emit(i, j)
			}
			i, prevSig, afterBy = j, '\'', false
			continue
		case c == '"':
			k := strings.IndexByte(sql[i+1:], '"')
			for k >= 0 && i+1+k+1 < len(sql) && sql[i+1+k+1] == '"' {
				n := strings.IndexByte(sql[i+1+k+2:], '"')
				if n < 0 {
					k = -1
					break
				}
				k += 2 + n
			}
			if k < 0 {
				return 0, 0, false
			}
			i += k + 2
			prevSig, afterBy = '"', false
			continue
		case c == '$':
			j := i + 1
			for j < len(sql) && sql[j] >= '0' && sql[j] <= '9' {
				j++
			}
			if j == i+1 || j < len(sql) && isIdentByte(sql[j]) {
				return 0, 0, false // dollar quoting
			}
			p, err := strconv.Atoi(sql[i+1 : j])
			if err != nil {
				return 0, 0, false
			}
			maxParam = max(maxParam, p)
			i, prevSig, afterBy = j, '0', false
			continue
		case isDigit(c) || c == '.' && i+1 < len(sql) && isDigit(sql[i+1]):
			if prevSig == '-' {
				return 0, 0, false // the parser may fold the sign into the constant
			}
			if byList {
				// ORDER BY 1 is a position pg_query keeps, and it numbers
				// a GROUP BY constant like the select list's.
				return 0, 0, false
			}
			j := i
			for j < len(sql) && isDigit(sql[j]) {
				j++
			}
			if j < len(sql) && sql[j] == '.' {
				j++
				for j < len(sql) && isDigit(sql[j]) {
					j++
				}
			}
			if j < len(sql) && (sql[j] == 'e' || sql[j] == 'E') {
				j++
				if j < len(sql) && (sql[j] == '+' || sql[j] == '-') {
					j++
				}
				if j >= len(sql) || !isDigit(sql[j]) {
					return 0, 0, false
				}
				for j < len(sql) && isDigit(sql[j]) {
					j++
				}
			}
			if j < len(sql) && (isIdentByte(sql[j]) || sql[j] == '.') {
				return 0, 0, false // 0x1F, 1_000, 1.2.3, 5abc
			}
			consts++
			if emit != nil {
				emit(i, j)
			}
			i, prevSig, afterBy = j, '0', false
			continue
		case isIdentByte(c):
			j := i + 1
			for j < len(sql) && (isIdentByte(sql[j]) || isDigit(sql[j]) || sql[j] == '$') {
				j++
			}
			if j < len(sql) && sql[j] == '&' && j == i+1 && (c == 'u' || c == 'U') {
				return 0, 0, false // U&'...' and U&"..."
			}
			afterBy = j == i+2 && strings.EqualFold(sql[i:j], "by")
			byList = byList || afterBy
			i, prevSig = j, 'a'
			continue
		case c < 0x20 || c == 0x7f:
			return 0, 0, false
		}
		prevSig, afterBy = c, false
		i++
	}
	return maxParam, consts, true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// isIdentByte reports whether c can start an identifier or keyword
// (letters, _, and every byte of a non-ASCII character).
func isIdentByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c >= 0x80
}
