package records

import (
	"fmt"
	"io"
	"slices"
	"unicode/utf8"
)

// Writer applies edits to records and writes them, re-framing each format.
// Every record a Reader hands out must be passed to Write, in order, even
// one without fields and even one being dropped (with EditDrop): records
// carry the stream's framing (a CSV header, JSON brackets and commas,
// whitespace), which is written regardless.
type Writer interface {
	// Write applies edits to rec and writes it, with the framing the Reader
	// attached (a CSV header, JSON array punctuation, whitespace). With no
	// edits the output is byte for byte the input. Edits may come in any
	// order; invalid ones (unknown op, field or range out of range,
	// conflicting edits) fail the call and nothing of rec is written.
	//
	// On one field, EditNullify overrides EditReplace, which overrides
	// EditReplaceRange: the stronger mask wins when plugins disagree. Two
	// EditReplace edits on one field, or overlapping ranges, are an error
	// the caller must resolve. Insertions (Len 0) at one offset apply in the
	// order given.
	Write(rec *Record, edits []Edit) error
	// Flush writes buffered output to the underlying writer.
	Flush() error
}

// flushThreshold bounds the output buffered between Flush calls.
const flushThreshold = 64 << 10

// NewWriter returns a Writer of the given format to w. Records must come
// from a Reader of the same format (JSON and NDJSON may be mixed: their
// values are encoded alike).
func NewWriter(w io.Writer, f Format, opts Options) Writer {
	wr := &writer{dst: w, format: f, last: '\n'}
	var o Options
	o, wr.err = opts.normalize()
	wr.comma = o.CSVComma
	if wr.err == nil {
		switch f {
		case FormatText, FormatJSON, FormatNDJSON, FormatCSV, FormatLines:
		default:
			wr.err = fmt.Errorf("records: unknown format %d", uint8(f))
		}
	}
	return wr
}

type writer struct {
	dst    io.Writer
	format Format
	comma  byte
	err    error // sticky: bad options or a failed write to dst

	out   []byte
	edits []Edit // the current record's edits, sorted and resolved
	tmp   []byte
	kept  bool // an element of the current top-level JSON array was written
	last  byte // the last byte written, '\n' before any
}

func (w *writer) Write(rec *Record, edits []Edit) error {
	if w.err != nil {
		return w.err
	}
	if rec.format != 0 && family(rec.format) != family(w.format) &&
		(w.format != FormatLines || (rec.format != FormatText && rec.format != FormatNDJSON)) {
		return fmt.Errorf("records: %s record passed to %s writer", rec.format, w.format)
	}
	drop, err := w.prepare(rec, edits)
	if err != nil {
		return err
	}
	start := len(w.out)
	w.out = append(w.out, rec.lead...)
	if rec.first {
		w.kept = false
	}
	if drop {
		if rec.doc && len(rec.Raw) > 0 {
			w.out = append(w.out, "null"...)
		}
	} else {
		if w.kept {
			w.out = append(w.out, rec.sep...)
		}
		w.out = w.appendRecord(w.out, rec)
		w.kept = true
	}
	w.out = append(w.out, rec.trail...)
	if len(w.out) > start {
		// Texts glued together ("1\"a\"") stay apart in the input because
		// one side is a delimiter; an edit that writes null next to a number
		// would glue them into one token, so a space keeps them apart.
		if family(w.format) == FormatJSON && !isDelimiter(w.last) && !isDelimiter(w.out[start]) {
			w.out = slices.Insert(w.out, start, ' ')
		}
		w.last = w.out[len(w.out)-1]
	}
	if len(w.out) >= flushThreshold {
		return w.Flush()
	}
	return nil
}

func (w *writer) Flush() error {
	if w.err != nil {
		return w.err
	}
	if len(w.out) > 0 {
		_, err := w.dst.Write(w.out)
		w.out = w.out[:0]
		if err != nil {
			w.err = fmt.Errorf("records: write: %w", err)
			return w.err
		}
	}
	return nil
}

func family(f Format) Format {
	if f == FormatNDJSON {
		return FormatJSON
	}
	return f
}

// editRank orders the edits of one field so that the overriding one comes
// first.
func editRank(op EditOp) int {
	switch op {
	case EditNullify:
		return 0
	case EditReplace:
		return 1
	}
	return 2
}

// prepare validates edits and leaves in w.edits, sorted by field and
// offset, the ones to apply.
func (w *writer) prepare(rec *Record, edits []Edit) (drop bool, err error) {
	w.edits = w.edits[:0]
	for i, e := range edits {
		switch e.Op {
		case EditDrop:
			drop = true
			continue
		case EditReplace, EditReplaceRange, EditNullify:
		default:
			return false, fmt.Errorf("records: edit %d: unknown op %d", i, uint8(e.Op))
		}
		if e.Field < 0 || e.Field >= len(rec.Fields) {
			return false, fmt.Errorf("records: edit %d (%s): field %d out of range (record has %d fields)", i, e.Op, e.Field, len(rec.Fields))
		}
		if e.Op == EditReplaceRange {
			n := len(rec.Fields[e.Field].Value)
			if e.Off < 0 || e.Len < 0 || e.Off > n || e.Len > n-e.Off {
				return false, fmt.Errorf("records: edit %d (replace-range): range off %d len %d out of range for field %d (value is %d bytes)", i, e.Off, e.Len, e.Field, n)
			}
		}
		w.edits = append(w.edits, e)
	}
	if drop || len(w.edits) == 0 {
		return drop, nil
	}
	slices.SortStableFunc(w.edits, func(a, b Edit) int {
		if a.Field != b.Field {
			return a.Field - b.Field
		}
		if ra, rb := editRank(a.Op), editRank(b.Op); ra != rb {
			return ra - rb
		}
		if a.Off != b.Off {
			return a.Off - b.Off
		}
		return a.Len - b.Len
	})
	kept := w.edits[:0]
	last := 0
	for i := 0; i < len(w.edits); {
		j := i + 1
		for j < len(w.edits) && w.edits[j].Field == w.edits[i].Field {
			j++
		}
		group := w.edits[i:j]
		f := &rec.Fields[group[0].Field]
		if start, end := int(f.start), int(f.end); start < last || end < start || end > len(rec.Raw) {
			return false, fmt.Errorf("records: field %d: span [%d,%d) does not fit record (was it produced by a Reader?)", group[0].Field, f.start, f.end)
		}
		last = int(f.end)
		switch group[0].Op {
		case EditNullify:
			kept = append(kept, group[0])
		case EditReplace:
			if len(group) > 1 && group[1].Op == EditReplace {
				return false, fmt.Errorf("records: field %d: conflicting replace edits", group[0].Field)
			}
			kept = append(kept, group[0])
		default:
			for k := 1; k < len(group); k++ {
				if p := group[k-1]; p.Off+p.Len > group[k].Off {
					return false, fmt.Errorf("records: field %d: overlapping replace-range edits (off %d len %d and off %d len %d)", group[0].Field, p.Off, p.Len, group[k].Off, group[k].Len)
				}
			}
			kept = append(kept, group...)
		}
		i = j
	}
	w.edits = kept
	return false, nil
}

// appendRecord appends rec.Raw with w.edits applied: unedited bytes are
// copied, each edited field's token is re-encoded for the format.
func (w *writer) appendRecord(dst []byte, rec *Record) []byte {
	last := 0
	for i := 0; i < len(w.edits); {
		j := i + 1
		for j < len(w.edits) && w.edits[j].Field == w.edits[i].Field {
			j++
		}
		f := &rec.Fields[w.edits[i].Field]
		dst = append(dst, rec.Raw[last:f.start]...)
		edits := w.edits[i:j]
		format := w.format
		if format == FormatLines {
			format = rec.format
		}
		switch format {
		case FormatJSON, FormatNDJSON:
			dst = w.appendJSONEdited(dst, rec.Raw[f.start:f.end], f, edits)
		case FormatCSV:
			v := w.newValue(f, edits)
			// Quoting is kept where it was (a quoted empty field and an
			// unquoted one differ to e.g. PostgreSQL COPY), except that
			// nullify yields the unquoted empty field. A row whose only
			// field is empty is quoted: an empty line is no row at all to
			// encoding/csv and most readers.
			quote := (f.quoted && edits[0].Op != EditNullify) || (len(v) == 0 && len(rec.Fields) == 1)
			dst = appendCSVField(dst, v, quote, w.comma)
		default:
			dst = append(dst, w.newValue(f, edits)...)
		}
		last = int(f.end)
		i = j
	}
	return append(dst, rec.Raw[last:]...)
}

// newValue returns the decoded value of f after its edits.
func (w *writer) newValue(f *Field, edits []Edit) []byte {
	switch edits[0].Op {
	case EditNullify:
		return nil
	case EditReplace:
		return edits[0].Data
	}
	w.tmp = w.tmp[:0]
	cur := 0
	for _, e := range edits {
		w.tmp = append(w.tmp, f.Value[cur:e.Off]...)
		w.tmp = append(w.tmp, e.Data...)
		cur = e.Off + e.Len
	}
	w.tmp = append(w.tmp, f.Value[cur:]...)
	return w.tmp
}

// appendJSONEdited re-encodes one edited JSON value (RFC 8259 §7). Edited
// values are always strings: a masked number or bool becomes a string
// such as "****" (a mask is not a number), nullify writes null.
func (w *writer) appendJSONEdited(dst, tok []byte, f *Field, edits []Edit) []byte {
	switch edits[0].Op {
	case EditNullify:
		return append(dst, "null"...)
	case EditReplace:
		dst = append(dst, '"')
		dst = appendJSONEscaped(dst, edits[0].Data)
		return append(dst, '"')
	}
	dst = append(dst, '"')
	if f.Kind != KindString {
		dst = appendJSONEscaped(dst, w.newValue(f, edits))
		return append(dst, '"')
	}
	cur := 0
	for _, e := range edits {
		dst = appendJSONSegment(dst, tok, f.Value, f.decoded, cur, e.Off)
		dst = appendJSONEscaped(dst, e.Data)
		cur = e.Off + e.Len
	}
	dst = appendJSONSegment(dst, tok, f.Value, f.decoded, cur, len(f.Value))
	return append(dst, '"')
}

// appendJSONSegment appends v[a:b], an unedited part of a string token tok
// whose decoded value is v. It copies the original bytes, escapes included,
// when both ends fall between escape sequences and between UTF-8
// characters; otherwise (a range edit split a character) it re-escapes the
// part, which turns the broken character into \ufffd.
func appendJSONSegment(dst, tok, v []byte, decoded bool, a, b int) []byte {
	if a >= b {
		return dst
	}
	if (a == 0 || utf8.RuneStart(v[a])) && (b == len(v) || utf8.RuneStart(v[b])) {
		if !decoded {
			return append(dst, tok[1+a:1+b]...)
		}
		if ra, ok := rawOffset(tok, a); ok {
			if rb, ok := rawOffset(tok, b); ok && !loneSurrogateAtEdge(tok[ra:rb]) {
				return append(dst, tok[ra:rb]...)
			}
		}
	}
	return appendJSONEscaped(dst, v[a:b])
}

// loneSurrogateAtEdge reports a segment that starts with a \uDC00-\uDFFF
// escape or ends with a \uD800-\uDBFF one. Such an escape was a lone
// surrogate (a pair is never split) and decoded to U+FFFD; copied next to
// another segment it could pair up with a neighbour and change meaning, so
// the segment is re-escaped instead. It may also match an escaped backslash
// followed by "u", which only costs a re-escape.
func loneSurrogateAtEdge(seg []byte) bool {
	if len(seg) < 6 {
		return false
	}
	if r, err := hex4(seg, 2); err == nil && seg[0] == '\\' && seg[1] == 'u' && r >= 0xdc00 && r < 0xe000 {
		return true
	}
	e := seg[len(seg)-6:]
	r, err := hex4(e, 2)
	return err == nil && e[0] == '\\' && e[1] == 'u' && r >= 0xd800 && r < 0xdc00
}

// rawOffset maps offset d of a string's decoded value to the offset in its
// token tok where the same character starts; ok is false when d falls
// inside the output of an escape sequence.
func rawOffset(tok []byte, d int) (int, bool) {
	n, i := 0, 1
	for n < d && i < len(tok)-1 {
		if tok[i] != '\\' {
			n++
			i++
			continue
		}
		r, size, err := unescape(tok, i)
		if err != nil {
			return 0, false
		}
		n += utf8.RuneLen(r)
		i += size
	}
	return i, n == d
}

// Interface guard.
var _ Writer = (*writer)(nil)
