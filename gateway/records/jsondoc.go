package records

import (
	"bytes"
	"io"
)

// FormatJSON reads a sequence of JSON texts (RFC 8259 §2), usually one.
// Each text is buffered whole and validated before any record of it is
// handed out, so a malformed tail fails the stream before a byte of the
// document is forwarded; array elements are then tokenized one per Next.
//
// Framing: whitespace before a text, and for an array the "[" and the
// whitespace up to the first element, is the first record's lead; the
// bytes between elements are each element's sep; the "]" and whitespace
// after the text up to and including the first newline are the last
// record's trail. Whitespace left at the end of the input becomes a record
// without fields.

type span struct{ start, end int }

type docState struct {
	consumed int    // bytes from rd.r that the current text occupies
	data     []byte // buf[r : r+consumed]
	vstart   int    // the value is data[vstart:vend]
	vend     int
	elems    []span // array elements, relative to the value
	next     int    // next element to hand out

	linePos, line int // incremental line count: data[linePos] is on line
}

// advance consumes n bytes, keeping line and col: only FormatJSON needs
// col, since other formats' records start lines.
func (rd *reader) advance(n int) {
	consumed := rd.buf[rd.r : rd.r+n]
	if i := bytes.LastIndexByte(consumed, '\n'); i >= 0 {
		rd.line += bytes.Count(consumed, nl)
		rd.col = n - i - 1
	} else {
		rd.col += n
	}
	rd.r += n
}

func (rd *reader) nextJSON() error {
	d := &rd.doc
	if d.next < len(d.elems) {
		return rd.nextElement()
	}
	if d.consumed > 0 {
		rd.advance(d.consumed)
		d.consumed = 0
	}
	d.elems, d.next = d.elems[:0], 0

	// Whitespace before the text.
	i := rd.skipBOM()
	for {
		data := rd.buf[rd.r:rd.w]
		for i < len(data) && isSpace(data[i]) {
			i++
		}
		if i < len(data) {
			break
		}
		if err := rd.more(); err != nil {
			if err != io.EOF {
				return rd.fail(err, rd.line)
			}
			if i == 0 {
				return io.EOF
			}
			rd.setRecord(nil, rd.tok.fields[:0], rd.line)
			rd.rec.lead = rd.buf[rd.r : rd.r+i : rd.r+i]
			d.consumed = i
			return nil
		}
	}
	d.vstart = i
	vend, err := rd.scanValueEnd(i)
	if err != nil {
		return err
	}
	tend := rd.scanTrailingSpace(vend)
	d.vend, d.consumed = vend, tend
	d.data = rd.buf[rd.r : rd.r+tend : rd.r+tend]
	d.line, d.linePos = rd.line, 0
	value := d.data[d.vstart:vend]

	rd.tok.reset("")
	if value[0] == '[' {
		if d.elems, err = rd.tok.splitArray(value, d.elems[:0]); err != nil {
			return rd.docError(err)
		}
		if len(d.elems) > 0 {
			return rd.nextElement()
		}
	} else {
		end, err := rd.tok.value(value, 0, 0, true)
		if err == nil && end < len(value) {
			err = errChar(value, end, "after top-level value")
		}
		if err != nil {
			return rd.docError(err)
		}
	}
	rd.setRecord(value[:len(value):len(value)], rd.tok.fields, rd.lineOf(d.vstart))
	rd.rec.lead = d.data[:d.vstart:d.vstart]
	rd.rec.trail = d.data[vend:]
	rd.rec.doc = true
	return nil
}

// nextElement hands out the next element of a top-level array.
func (rd *reader) nextElement() error {
	d := &rd.doc
	k := d.next
	d.next++
	e := d.elems[k]
	value := d.data[d.vstart:d.vend]
	raw := value[e.start:e.end:e.end]
	rd.tok.reset("[]")
	if _, err := rd.tok.value(raw, 0, 1, true); err != nil {
		if je, ok := err.(*jsonError); ok {
			je.pos += e.start
		}
		return rd.docError(err)
	}
	rd.setRecord(raw, rd.tok.fields, rd.lineOf(d.vstart+e.start))
	if k == 0 {
		rd.rec.lead = d.data[: d.vstart+e.start : d.vstart+e.start]
		rd.rec.first = true
	} else {
		prev := d.elems[k-1].end
		rd.rec.sep = value[prev:e.start:e.start]
	}
	if k == len(d.elems)-1 {
		rd.rec.trail = d.data[d.vstart+e.end:]
	}
	return nil
}

// lineOf returns the line of d.data[pos]; pos only grows within a text.
func (rd *reader) lineOf(pos int) int {
	d := &rd.doc
	d.line += bytes.Count(d.data[d.linePos:pos], nl)
	d.linePos = pos
	return d.line
}

// docError positions a tokenizer error at an offset of the current value.
func (rd *reader) docError(err error) error {
	if je, ok := err.(*jsonError); ok {
		je.pos += rd.doc.vstart
	}
	return rd.syntaxError(err, rd.line, rd.col, rd.doc.data)
}

// scanValueEnd finds where the JSON value starting at buf[r+start] ends,
// reading more input as needed. It only matches brackets and strings; the
// tokenizer validates afterwards. At the end of input it returns what there
// is, for the tokenizer to report.
func (rd *reader) scanValueEnd(start int) (int, error) {
	p := start
	first := rd.buf[rd.r+p]
	if first != '{' && first != '[' && first != '"' {
		// A number or literal ends at the next delimiter.
		for {
			data := rd.buf[rd.r:rd.w]
			for p < len(data) && !isDelimiter(data[p]) {
				p++
			}
			if p == start {
				return p + 1, nil // a stray delimiter: the tokenizer reports it
			}
			if p < len(data) {
				return p, nil
			}
			if end, err, done := rd.moreOrEnd(p); done {
				return end, err
			}
		}
	}
	depth := 0
	inString, escaped := false, false
	for {
		data := rd.buf[rd.r:rd.w]
		for ; p < len(data); p++ {
			c := data[p]
			if inString {
				switch {
				case escaped:
					escaped = false
				case c == '\\':
					escaped = true
				case c == '"':
					inString = false
					if depth == 0 {
						return p + 1, nil
					}
				}
				continue
			}
			switch c {
			case '"':
				inString = true
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth <= 0 {
					return p + 1, nil
				}
			}
		}
		if end, err, done := rd.moreOrEnd(p); done {
			return end, err
		}
	}
}

// moreOrEnd reads more input while a value at buf[r:] is being scanned up
// to p. done is set at the end of input (end is p) or on an error.
func (rd *reader) moreOrEnd(p int) (end int, err error, done bool) {
	switch err := rd.more(); err {
	case nil:
		return 0, nil, false
	case io.EOF:
		return p, nil, true
	default:
		return p, rd.fail(err, rd.line), true
	}
}

func isDelimiter(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '{', '}', '[', ']', ',', ':', '"':
		return true
	}
	return false
}

// scanTrailingSpace returns the end of the whitespace after a value, up to
// and including the first newline. It reads ahead only while the input so
// far is whitespace, so a live stream of texts stalls at most for the
// newline that usually comes with the text.
func (rd *reader) scanTrailingSpace(p int) int {
	for {
		data := rd.buf[rd.r:rd.w]
		for p < len(data) && isSpace(data[p]) {
			p++
			if data[p-1] == '\n' {
				return p
			}
		}
		if p < len(data) || rd.more() != nil {
			return p
		}
	}
}

// splitArray validates the array v and returns the spans of its elements.
func (t *jsonTokenizer) splitArray(v []byte, elems []span) ([]span, error) {
	pos := skipSpace(v, 1)
	if pos < len(v) && v[pos] == ']' {
		pos++
	} else {
		for {
			start := skipSpace(v, pos)
			end, err := t.value(v, start, 1, false)
			if err != nil {
				return elems, err
			}
			elems = append(elems, span{start, end})
			if pos = skipSpace(v, end); pos >= len(v) {
				return elems, errEnd(pos)
			}
			if v[pos] == ']' {
				pos++
				break
			}
			if v[pos] != ',' {
				return elems, errChar(v, pos, "after array element")
			}
			pos++
		}
	}
	if pos < len(v) {
		return elems, errChar(v, pos, "after top-level value")
	}
	return elems, nil
}
