package records

import (
	"bytes"
	"strconv"
	"unicode/utf8"
)

// jsonTokenizer cuts JSON values (RFC 8259) into leaf fields. It is an
// explicit-stack parser rather than a recursive one so that depth is a
// counter, and every buffer it owns is reused from record to record.
type jsonTokenizer struct {
	schema  *Schema
	stack   []jsonFrame
	path    []byte // column path of the value being parsed
	key     []byte // scratch for a decoded object key
	fields  []Field
	scratch []byte // decoded string values that had escapes

	// recent caches, per field ordinal, the path and column of the
	// previous record's field: records of one stream mostly share a shape,
	// and comparing bytes is cheaper than hashing them for the schema map.
	recent []recentColumn
}

type recentColumn struct {
	path []byte
	col  int
}

// maxRecentColumns bounds the cache; fields past it use the schema map.
const maxRecentColumns = 1024

type jsonFrame struct {
	array   bool
	pathLen int // len(path) before this container's segment
}

// jsonError is a syntax error at an offset of the parsed slice. The reader
// turns it into a *SyntaxError with line and byte.
type jsonError struct {
	pos int
	msg string
	eof bool // the input ended inside a value (Sniff treats that as truncation)
	err error
}

func (e *jsonError) Error() string { return e.msg }

func errAt(pos int, msg string) *jsonError { return &jsonError{pos: pos, msg: msg} }

func errChar(data []byte, pos int, context string) *jsonError {
	return &jsonError{pos: pos, msg: "invalid character " + quoteChar(data[pos]) + " " + context}
}

func errEnd(pos int) *jsonError {
	return &jsonError{pos: pos, msg: "unexpected end of JSON input", eof: true}
}

// quoteChar formats c the way encoding/json does in its messages.
func quoteChar(c byte) string {
	switch c {
	case '\'':
		return `'\''`
	case '"':
		return `'"'`
	}
	if c >= utf8.RuneSelf {
		return "byte 0x" + strconv.FormatUint(uint64(c), 16)
	}
	q := strconv.Quote(string(rune(c)))
	return "'" + q[1:len(q)-1] + "'"
}

// isSpace reports JSON insignificant whitespace (RFC 8259 §2).
func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipSpace(data []byte, pos int) int {
	for pos < len(data) && isSpace(data[pos]) {
		pos++
	}
	return pos
}

// reset prepares the tokenizer for a new record whose fields start under
// the column path prefix.
func (t *jsonTokenizer) reset(prefix string) {
	t.stack = t.stack[:0]
	t.path = append(t.path[:0], prefix...)
	t.fields = t.fields[:0]
	t.scratch = t.scratch[:0]
}

// value parses one JSON value starting at data[pos] (after optional
// whitespace) and returns the offset just past it. depth is the nesting
// level of the value within its document. With emit set, each leaf is
// appended to t.fields under its column path; without it, the value is only
// validated.
func (t *jsonTokenizer) value(data []byte, pos, depth int, emit bool) (int, error) {
	base := len(t.stack)
	var err error
	for {
		pos = skipSpace(data, pos)
		if pos >= len(data) {
			return pos, errEnd(pos)
		}
		c := data[pos]
		if c == '{' || c == '[' {
			if depth+len(t.stack)-base >= MaxDepth {
				return pos, &jsonError{pos: pos, msg: "nesting exceeds max depth " + strconv.Itoa(MaxDepth), err: ErrTooDeep}
			}
			t.stack = append(t.stack, jsonFrame{array: c == '[', pathLen: len(t.path)})
			pos = skipSpace(data, pos+1)
			if pos >= len(data) {
				return pos, errEnd(pos)
			}
			if c == '[' {
				if emit {
					t.path = append(t.path, "[]"...)
				}
				if data[pos] != ']' {
					continue // the first element
				}
			} else if data[pos] != '}' {
				if pos, err = t.objectKey(data, pos, emit); err != nil {
					return pos, err
				}
				continue // the first member's value
			}
			// An empty container holds no leaves.
			if emit {
				t.path = t.path[:t.stack[len(t.stack)-1].pathLen]
			}
			t.stack = t.stack[:len(t.stack)-1]
			pos++
		} else if pos, err = t.scalar(data, pos, emit); err != nil {
			return pos, err
		}

		// A value ended: close finished containers until the next value
		// starts or the value this call began with is complete.
		for {
			if len(t.stack) == base {
				return pos, nil
			}
			top := t.stack[len(t.stack)-1]
			pos = skipSpace(data, pos)
			if pos >= len(data) {
				return pos, errEnd(pos)
			}
			c := data[pos]
			if top.array {
				if c == ',' {
					pos++
					break
				}
				if c != ']' {
					return pos, errChar(data, pos, "after array element")
				}
			} else {
				if emit {
					t.path = t.path[:top.pathLen]
				}
				if c == ',' {
					if pos, err = t.objectKey(data, pos+1, emit); err != nil {
						return pos, err
					}
					break
				}
				if c != '}' {
					return pos, errChar(data, pos, "after object key:value pair")
				}
			}
			pos++
			t.stack = t.stack[:len(t.stack)-1]
			if emit {
				t.path = t.path[:top.pathLen]
			}
		}
	}
}

// objectKey parses `"key" :` at data[pos] (after optional whitespace) and,
// with emit, appends the key to the column path.
func (t *jsonTokenizer) objectKey(data []byte, pos int, emit bool) (int, error) {
	pos = skipSpace(data, pos)
	if pos >= len(data) {
		return pos, errEnd(pos)
	}
	if data[pos] != '"' {
		return pos, errChar(data, pos, "looking for beginning of object key string")
	}
	end, plain, err := scanString(data, pos)
	if err != nil {
		return end, err
	}
	if emit {
		key := data[pos+1 : end-1]
		if !plain {
			t.key, _, _ = decodeString(t.key[:0], data, pos)
			key = t.key
		}
		t.path = appendPathKey(t.path, key)
	}
	pos = skipSpace(data, end)
	if pos >= len(data) {
		return pos, errEnd(pos)
	}
	if data[pos] != ':' {
		return pos, errChar(data, pos, "after object key")
	}
	return pos + 1, nil
}

// appendPathKey appends one object key to a column path: `.key`, or the
// bracket form `["a.b"]` when the key could be mistaken for path syntax.
func appendPathKey(path, key []byte) []byte {
	plain := len(key) > 0
	for _, c := range key {
		if pathStop[c] {
			plain = false
			break
		}
	}
	if plain {
		if len(path) > 0 {
			path = append(path, '.')
		}
		return append(path, key...)
	}
	path = append(path, '[', '"')
	path = appendJSONEscaped(path, key)
	return append(path, '"', ']')
}

// scalar parses a string, number or literal at data[pos].
func (t *jsonTokenizer) scalar(data []byte, pos int, emit bool) (int, error) {
	var (
		end     int
		kind    Kind
		val     []byte
		decoded bool
	)
	switch c := data[pos]; {
	case c == '"':
		var plain bool
		var err error
		end, plain, err = scanString(data, pos)
		if err != nil {
			return end, err
		}
		kind = KindString
		if emit {
			if plain {
				val = data[pos+1 : end-1 : end-1]
			} else {
				n := len(t.scratch)
				t.scratch, _, _ = decodeString(t.scratch, data, pos)
				val = t.scratch[n:len(t.scratch):len(t.scratch)]
				decoded = true
			}
		}
	case c == 't':
		end, kind = pos+4, KindBool
		if err := literal(data, pos, "true"); err != nil {
			return pos, err
		}
	case c == 'f':
		end, kind = pos+5, KindBool
		if err := literal(data, pos, "false"); err != nil {
			return pos, err
		}
	case c == 'n':
		end, kind = pos+4, KindNull
		if err := literal(data, pos, "null"); err != nil {
			return pos, err
		}
	case c == '-' || (c >= '0' && c <= '9'):
		var err error
		if end, err = scanNumber(data, pos); err != nil {
			return end, err
		}
		kind = KindNumber
	default:
		return pos, errChar(data, pos, "looking for beginning of value")
	}
	if !emit {
		return end, nil
	}
	if kind == KindNumber || kind == KindBool {
		val = data[pos:end:end]
	}
	col, err := t.column()
	if err != nil {
		return pos, &jsonError{pos: pos, msg: err.Error() + " " + strconv.Itoa(t.schema.max), err: err}
	}
	t.fields = append(t.fields, Field{Column: col, Kind: kind, Value: val, start: int32(pos), end: int32(end), quoted: kind == KindString, decoded: decoded})
	return end, nil
}

// column returns the column of the field about to be appended.
func (t *jsonTokenizer) column() (int, error) {
	k := len(t.fields)
	if k < len(t.recent) && bytes.Equal(t.recent[k].path, t.path) {
		return t.recent[k].col, nil
	}
	col, err := t.schema.lookup(t.path)
	if err != nil || k > len(t.recent) || k >= maxRecentColumns {
		return col, err
	}
	if k == len(t.recent) {
		t.recent = append(t.recent, recentColumn{})
	}
	t.recent[k].path = append(t.recent[k].path[:0], t.path...)
	t.recent[k].col = col
	return col, nil
}

func literal(data []byte, pos int, lit string) error {
	for i := 1; i < len(lit); i++ {
		if pos+i >= len(data) {
			return errEnd(pos + i)
		}
		if data[pos+i] != lit[i] {
			return errChar(data, pos+i, "in literal "+lit+" (expecting "+quoteChar(lit[i])+")")
		}
	}
	return nil
}

// scanNumber checks the number grammar of RFC 8259 §6 and returns its end.
func scanNumber(data []byte, pos int) (int, error) {
	p := pos
	if data[p] == '-' {
		p++
	}
	if p >= len(data) {
		return p, errEnd(p)
	}
	switch c := data[p]; {
	case c == '0':
		p++
	case c >= '1' && c <= '9':
		p = skipDigits(data, p+1)
	default:
		return p, errChar(data, p, "in numeric literal")
	}
	if p < len(data) && data[p] == '.' {
		p++
		if p >= len(data) {
			return p, errEnd(p)
		}
		if !isDigit(data[p]) {
			return p, errChar(data, p, "after decimal point in numeric literal")
		}
		p = skipDigits(data, p)
	}
	if p < len(data) && (data[p] == 'e' || data[p] == 'E') {
		p++
		if p < len(data) && (data[p] == '+' || data[p] == '-') {
			p++
		}
		if p >= len(data) {
			return p, errEnd(p)
		}
		if !isDigit(data[p]) {
			return p, errChar(data, p, "in exponent of numeric literal")
		}
		p = skipDigits(data, p)
	}
	return p, nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func skipDigits(data []byte, p int) int {
	for p < len(data) && isDigit(data[p]) {
		p++
	}
	return p
}

// scanString validates the string at data[pos] (the opening quote) and
// returns the offset past its closing quote. plain reports that it has no
// escapes, so its contents are its value.
func scanString(data []byte, pos int) (end int, plain bool, err error) {
	plain = true
	for i := pos + 1; i < len(data); {
		for i < len(data) && !strStop[data[i]] {
			i++
		}
		if i >= len(data) {
			break
		}
		c := data[i]
		switch {
		case c == '"':
			return i + 1, plain, nil
		case c == '\\':
			plain = false
			_, n, err := unescape(data, i)
			if err != nil {
				return i, false, err
			}
			i += n
		case c < 0x20:
			return i, false, errChar(data, i, "in string literal")
		default:
			i++
		}
	}
	return len(data), false, errEnd(len(data))
}

// strStop marks the bytes that end a run of plain string contents: the
// quote, the backslash and control characters (RFC 8259 §7).
var strStop = func() (t [256]bool) {
	for c := range 0x20 {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	return t
}()

// pathStop marks the key bytes that force the bracket form of a path.
var pathStop = func() (t [256]bool) {
	t = strStop
	t['.'], t['['], t[']'] = true, true, true
	return t
}()

// decodeString appends the decoded contents of the valid JSON string at
// data[pos] to dst and returns the offset past its closing quote. Invalid
// UTF-8 passes through unchanged: the value is what the backend sent.
func decodeString(dst, data []byte, pos int) ([]byte, int, error) {
	start := pos + 1
	for i := pos + 1; i < len(data); {
		switch c := data[i]; {
		case c == '"':
			return append(dst, data[start:i]...), i + 1, nil
		case c == '\\':
			dst = append(dst, data[start:i]...)
			r, n, err := unescape(data, i)
			if err != nil {
				return dst, i, err
			}
			dst = utf8.AppendRune(dst, r)
			i += n
			start = i
		case c < 0x20:
			return dst, i, errChar(data, i, "in string literal")
		default:
			i++
		}
	}
	return dst, len(data), errEnd(len(data))
}

// unescape decodes the escape sequence at data[i] (a backslash) per RFC 8259
// §7 and returns its rune and its length in bytes. A surrogate pair is one
// sequence; a lone surrogate decodes to U+FFFD, as in encoding/json.
func unescape(data []byte, i int) (rune, int, error) {
	if i+1 >= len(data) {
		return 0, 0, errEnd(len(data))
	}
	switch c := data[i+1]; c {
	case '"', '\\', '/':
		return rune(c), 2, nil
	case 'b':
		return '\b', 2, nil
	case 'f':
		return '\f', 2, nil
	case 'n':
		return '\n', 2, nil
	case 'r':
		return '\r', 2, nil
	case 't':
		return '\t', 2, nil
	case 'u':
		r, err := hex4(data, i+2)
		if err != nil {
			return 0, 0, err
		}
		if r >= 0xd800 && r < 0xdc00 && i+11 < len(data) && data[i+6] == '\\' && data[i+7] == 'u' {
			if r2, err := hex4(data, i+8); err == nil && r2 >= 0xdc00 && r2 < 0xe000 {
				return (r-0xd800)<<10 | (r2 - 0xdc00) + 0x10000, 12, nil
			}
		}
		if r >= 0xd800 && r < 0xe000 {
			r = utf8.RuneError
		}
		return r, 6, nil
	}
	return 0, 0, errChar(data, i+1, "in string escape code")
}

func hex4(data []byte, p int) (rune, error) {
	var r rune
	for j := p; j < p+4; j++ {
		if j >= len(data) {
			return 0, errEnd(j)
		}
		c := data[j]
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, errChar(data, j, `in \u hexadecimal character escape`)
		}
		r = r<<4 | rune(c)
	}
	return r, nil
}

// appendJSONEscaped appends s as the contents of a JSON string (RFC 8259
// §7): quotes, backslashes and control characters escaped, valid UTF-8
// passed through, invalid UTF-8 replaced by \ufffd so that edited output is
// always valid UTF-8 JSON.
func appendJSONEscaped(dst, s []byte) []byte {
	const hex = "0123456789abcdef"
	start := 0
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '"', '\\':
				dst = append(dst, '\\', b)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[b>>4], hex[b&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	return append(dst, s[start:]...)
}
