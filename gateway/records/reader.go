package records

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// Reader cuts an input stream into records.
type Reader interface {
	// Next returns the next record, or io.EOF at the end of the input. The
	// record and everything it points to are valid until the next call.
	// Errors are sticky: after one, Next keeps returning it.
	Next() (*Record, error)
	// Schema returns the stream's columns discovered so far.
	Schema() *Schema
}

// initialBufSize is the reader's first buffer; it grows (up to the max
// record size) only for records that do not fit.
const initialBufSize = 64 << 10

// errBufFull is returned by more when a record fills the largest buffer
// allowed; callers turn it into ErrRecordTooLarge with a position.
var errBufFull = errors.New("buffer full")

// NewReader returns a Reader of the given format over r. Invalid options
// or format are reported by the first call to Next.
func NewReader(r io.Reader, f Format, opts Options) Reader {
	rd := &reader{src: r, format: f, line: 1}
	rd.opts, rd.err = opts.normalize()
	if rd.err == nil {
		switch f {
		case FormatText, FormatJSON, FormatNDJSON, FormatCSV, FormatLines:
		default:
			rd.err = fmt.Errorf("records: unknown format %d", uint8(f))
		}
	}
	rd.schema.max = rd.opts.MaxColumns
	rd.tok.schema = &rd.schema
	if f == FormatText || f == FormatLines {
		rd.schema.add("line")
	}
	rd.rec.format = f
	for _, c := range []byte{rd.opts.CSVComma, '\n', '\r', '"'} {
		rd.csvStop[c] = true
	}
	return rd
}

type reader struct {
	src    io.Reader
	format Format
	opts   Options
	err    error // sticky

	// buf[r:w] is input not yet consumed; records are slices of it.
	buf  []byte
	r, w int
	eof  bool  // src is exhausted (or failed: see rerr)
	rerr error // src's error other than io.EOF
	line int   // line number of buf[r]
	col  int   // byte offset of buf[r] within its line (FormatJSON only)

	scanned    int  // bytes of buf[r:w] already searched for '\n'
	bomChecked bool // the start of the input was checked for a byte order mark

	schema Schema
	tok    jsonTokenizer
	rec    Record

	// CSV
	csvStop    [256]bool // bytes that end an unquoted field
	header     []byte    // the header row, owned: it outlives the buffer
	headerDone bool
	pendLead   []byte // header still to be attached to a record

	// JSON documents
	doc docState
}

func (rd *reader) Schema() *Schema { return &rd.schema }

func (rd *reader) Next() (*Record, error) {
	if rd.err != nil {
		return nil, rd.err
	}
	var err error
	switch rd.format {
	case FormatText:
		err = rd.nextText()
	case FormatNDJSON:
		err = rd.nextNDJSON()
	case FormatCSV:
		err = rd.nextCSV()
	case FormatJSON:
		err = rd.nextJSON()
	case FormatLines:
		err = rd.nextLine()
	}
	if err != nil {
		rd.err = err
		return nil, err
	}
	return &rd.rec, nil
}

// more reads at least one more byte into buf[w:], keeping buf[r:w] and
// moving it to the front or growing the buffer as needed. Offsets relative
// to r stay valid; slices of buf do not. It returns io.EOF at the end of
// input, errBufFull when buf[r:w] already holds MaxRecordSize bytes, or the
// source's error.
func (rd *reader) more() error {
	if rd.eof {
		if rd.rerr != nil {
			return rd.rerr
		}
		return io.EOF
	}
	if rd.w == len(rd.buf) {
		pending := rd.w - rd.r
		if rd.r > 0 {
			copy(rd.buf, rd.buf[rd.r:rd.w])
			rd.r, rd.w = 0, pending
		}
		// Grow when compaction freed nothing, or too little to make the
		// next read worthwhile.
		if pending == len(rd.buf) || (pending >= len(rd.buf)/2 && len(rd.buf) < rd.opts.MaxRecordSize) {
			if len(rd.buf) >= rd.opts.MaxRecordSize {
				return errBufFull
			}
			n := max(2*len(rd.buf), min(initialBufSize, rd.opts.MaxRecordSize))
			n = min(n, rd.opts.MaxRecordSize)
			nb := make([]byte, n)
			copy(nb, rd.buf[:rd.w])
			rd.buf = nb
		}
	}
	for range 100 {
		n, err := rd.src.Read(rd.buf[rd.w:])
		rd.w += n
		if err != nil {
			rd.eof = true
			if err != io.EOF {
				rd.rerr = err
			}
			if n > 0 {
				return nil
			}
			return rd.more()
		}
		if n > 0 {
			return nil
		}
	}
	rd.eof, rd.rerr = true, io.ErrNoProgress
	return rd.rerr
}

// fail turns an error from more into the error Next returns.
func (rd *reader) fail(err error, line int) error {
	if err == errBufFull {
		return fmt.Errorf("%s: line %d: %w (%d bytes)", rd.format, line, ErrRecordTooLarge, rd.opts.MaxRecordSize)
	}
	return fmt.Errorf("%s: line %d: read: %w", rd.format, line, err)
}

// readLine returns the next line including its '\n' (absent on a final
// unterminated line), or io.EOF.
func (rd *reader) readLine() ([]byte, error) {
	for {
		if i := bytes.IndexByte(rd.buf[rd.r+rd.scanned:rd.w], '\n'); i >= 0 {
			end := rd.r + rd.scanned + i + 1
			line := rd.buf[rd.r:end:end]
			rd.r, rd.scanned = end, 0
			return line, nil
		}
		rd.scanned = rd.w - rd.r
		if err := rd.more(); err != nil {
			if err != io.EOF {
				return nil, rd.fail(err, rd.line)
			}
			if rd.w == rd.r {
				return nil, io.EOF
			}
			line := rd.buf[rd.r:rd.w:rd.w]
			rd.r, rd.scanned = rd.w, 0
			return line, nil
		}
	}
}

// bom is the UTF-8 byte order mark. RFC 8259 §8.1 lets a JSON parser
// ignore one; Excel starts CSV files with one.
const bom = "\xef\xbb\xbf"

// skipBOM returns the length of a byte order mark at the very start of the
// input (0 anywhere else), reading ahead if needed.
func (rd *reader) skipBOM() int {
	if rd.bomChecked {
		return 0
	}
	rd.bomChecked = true
	for rd.w-rd.r < len(bom) && rd.more() == nil {
	}
	if bytes.HasPrefix(rd.buf[rd.r:rd.w], []byte(bom)) {
		return len(bom)
	}
	return 0
}

// setRecord fills rd.rec; Raw, Fields and Line are always set, framing is
// cleared.
func (rd *reader) setRecord(raw []byte, fields []Field, line int) {
	rd.rec = Record{Raw: raw, Fields: fields, Line: line, format: rd.format}
}

// nextText: one line is one record with one field, the line without its
// terminator ("\n" or "\r\n").
func (rd *reader) nextText() error {
	line, err := rd.readLine()
	if err != nil {
		return err
	}
	v := trimEOL(line)
	rd.tok.fields = append(rd.tok.fields[:0], Field{Column: 0, Kind: KindString, Value: v, start: 0, end: int32(len(v))})
	rd.setRecord(line, rd.tok.fields, rd.line)
	rd.line++
	return nil
}

func trimEOL(line []byte) []byte {
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line = line[:n-1]
		if n > 1 && line[n-2] == '\r' {
			line = line[:n-2]
		}
	}
	return line[:len(line):len(line)]
}

// nextNDJSON: one line is one JSON value (JSON Lines / NDJSON). A line of
// only whitespace is a record without fields.
func (rd *reader) nextNDJSON() error {
	line, err := rd.readLine()
	if err != nil {
		return err
	}
	lineNo := rd.line
	rd.line++
	body := line
	if n := len(body); n > 0 && body[n-1] == '\n' {
		body = body[:n-1] // '\r' before it is JSON whitespace
	}
	rd.tok.reset("")
	start := 0
	if lineNo == 1 && bytes.HasPrefix(body, []byte(bom)) {
		start = len(bom)
	}
	if pos := skipSpace(body, start); pos < len(body) {
		end, err := rd.tok.value(body, pos, 0, true)
		if err == nil {
			if end = skipSpace(body, end); end < len(body) {
				err = errChar(body, end, "after top-level value")
			}
		}
		if err != nil {
			return rd.syntaxError(err, lineNo, 0, body)
		}
	}
	rd.setRecord(line, rd.tok.fields, lineNo)
	return nil
}

// nextLine: a line that is one JSON object is an NDJSON record; any other
// line (a JSON object cut short, a log line starting with "{", a schema
// with too many columns) is a text record, so nothing is ever an error.
// Columns a failed object added stay in the schema, unused.
func (rd *reader) nextLine() error {
	line, err := rd.readLine()
	if err != nil {
		return err
	}
	lineNo := rd.line
	rd.line++
	body := trimEOL(line)
	start := 0
	if lineNo == 1 && bytes.HasPrefix(body, []byte(bom)) {
		start = len(bom)
	}
	if pos := skipSpace(body, start); pos < len(body) && body[pos] == '{' {
		rd.tok.reset("")
		end, err := rd.tok.value(body, pos, 0, true)
		if err == nil && skipSpace(body, end) == len(body) {
			rd.setRecord(line, rd.tok.fields, lineNo)
			rd.rec.format = FormatNDJSON
			return nil
		}
	}
	rd.tok.fields = append(rd.tok.fields[:0], Field{Column: 0, Kind: KindString, Value: body, start: 0, end: int32(len(body))})
	rd.setRecord(line, rd.tok.fields, lineNo)
	rd.rec.format = FormatText
	return nil
}

// syntaxError converts a tokenizer error at an offset of data into a
// *SyntaxError; data[0] is on the given line at byte col of it.
func (rd *reader) syntaxError(err error, line, col int, data []byte) error {
	je, ok := err.(*jsonError)
	if !ok {
		return err
	}
	pos := min(je.pos, len(data))
	b := col + pos
	if i := bytes.LastIndexByte(data[:pos], '\n'); i >= 0 {
		line += bytes.Count(data[:pos], nl)
		b = pos - i - 1
	}
	return &SyntaxError{Format: rd.format, Line: line, Byte: b, Msg: je.msg, Err: je.err}
}

var nl = []byte{'\n'}

// Interface guard.
var _ Reader = (*reader)(nil)
