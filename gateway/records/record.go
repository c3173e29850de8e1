package records

import (
	"errors"
	"fmt"
	"strconv"
)

// Limits. Each one bounds what a hostile or broken backend can make one
// stream cost.
const (
	// DefaultMaxRecordSize bounds the bytes of one record (an NDJSON line,
	// a CSV row, a text line, or a whole JSON document). A JSON document is
	// held and validated whole before any of it is released, so that a
	// malformed tail fails the stream closed instead of leaking a half-masked
	// prefix; lines and rows are held whole so that their fields are spans of
	// one contiguous buffer. 16 MiB covers large API responses and caps the
	// memory of one stream.
	DefaultMaxRecordSize = 16 << 20

	// MaxDepth bounds JSON nesting. RFC 8259 §9 lets a parser limit it; real
	// payloads rarely nest deeper than 32, and the limit keeps the container
	// stack and column paths small for inputs such as "[[[[[[...".
	MaxDepth = 512

	// DefaultMaxColumns bounds a stream's schema. JSON objects whose keys
	// are data (user IDs as keys, say) would otherwise grow the schema
	// without bound over a long stream.
	DefaultMaxColumns = 1 << 16

	// maxRecordSizeLimit keeps span offsets well inside int32 so batches
	// built from them stay representable in the plugin ABI.
	maxRecordSizeLimit = 1 << 30
)

// Errors that callers may test with errors.Is.
var (
	// ErrRecordTooLarge: a record (or JSON document) is bigger than
	// Options.MaxRecordSize.
	ErrRecordTooLarge = errors.New("record exceeds max record size")
	// ErrTooDeep: JSON nesting is deeper than MaxDepth.
	ErrTooDeep = errors.New("nesting exceeds max depth")
	// ErrTooManyColumns: the schema would grow past Options.MaxColumns.
	ErrTooManyColumns = errors.New("schema exceeds max columns")
)

// SyntaxError reports malformed input at an exact place. The caller fails
// closed on it: nothing from the offending record has been returned.
type SyntaxError struct {
	Format Format
	Line   int    // 1-based line of the offending byte
	Byte   int    // 0-based byte offset of the offending byte within that line
	Msg    string // what is wrong
	Err    error  // a sentinel such as ErrTooDeep, or nil
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("%s: line %d, byte %d: %s", e.Format, e.Line, e.Byte, e.Msg)
}

func (e *SyntaxError) Unwrap() error { return e.Err }

// Kind is the value kind of a field.
type Kind uint8

const (
	KindString Kind = iota + 1
	KindNumber
	KindBool
	KindNull
)

func (k Kind) String() string {
	switch k {
	case KindString:
		return "string"
	case KindNumber:
		return "number"
	case KindBool:
		return "bool"
	case KindNull:
		return "null"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Field is one leaf value in a record.
type Field struct {
	// Column is the index of the field's column in the reader's Schema.
	Column int
	Kind   Kind

	quoted  bool  // the token is wrapped in quotes (JSON string, quoted CSV field)
	decoded bool  // Value was unescaped into scratch and is not a span of Raw
	start   int32 // the field's token in Record.Raw, quotes included;
	end     int32 // int32 keeps Field at 48 bytes (records are < 1 GiB)

	// Value is the decoded value: JSON strings unescaped (RFC 8259 §7;
	// invalid UTF-8 in the input is passed through as is), numbers and
	// bools as their literal text, CSV fields unquoted (RFC 4180 §2), a
	// text line without its terminator. Nil for KindNull. It is valid until
	// the next call on the Reader and must not be modified.
	Value []byte
}

// RawSpan returns the field's token in Record.Raw as [start, end), including
// JSON or CSV quotes.
func (f *Field) RawSpan() (start, end int) { return int(f.start), int(f.end) }

// ValueOffset reports where Value lies in Record.Raw when it is a plain span
// of it (nothing had to be unescaped), so that a batch builder can point at
// the record bytes instead of copying them.
func (f *Field) ValueOffset() (off int, ok bool) {
	if f.decoded || f.Kind == KindNull {
		return 0, false
	}
	if f.quoted {
		return int(f.start) + 1, true
	}
	return int(f.start), true
}

// Record is one record: the raw bytes it came from plus its fields.
//
// Raw is the record's exact input bytes. For NDJSON, CSV and text it is one
// line (one row for CSV, which may span lines inside quotes) including its
// terminator ("\n" or "\r\n"); the final line of an input that does not end
// in a newline has none. For JSON it is one top-level value, or one element
// of a top-level array, without the surrounding whitespace and punctuation,
// which travel with the record privately and are re-emitted by the Writer.
//
// A record with no fields carries only framing (a blank line, whitespace at
// the end of a JSON stream, an empty array, a CSV header with no rows under
// it). Callers may skip plugins for it but must still pass it to the Writer.
type Record struct {
	Raw    []byte
	Fields []Field
	// Line is the 1-based input line on which the record starts.
	Line int

	// Framing, attached by the Reader. Record.CopyTo must copy every
	// slice here.
	lead   []byte // framing always written before the record
	sep    []byte // written before the record only if an earlier element of the same array was kept
	trail  []byte // framing always written after the record
	first  bool   // first element of a top-level JSON array: resets the Writer's kept state
	doc    bool   // a whole JSON document: dropping it writes null
	format Format
}

// Schema holds the column names of a stream. Columns are only ever
// appended, so a column's index is stable for the life of the stream and
// Len doubles as a version: a batch builder can resend names when it grows.
//
// JSON columns are paths: `customer.email`, `items[].email`, `[].name` for
// elements of a top-level array, the empty path for a top-level scalar. A key
// that is empty or holds any of . [ ] " \ or a control character is written
// in bracket form with a JSON string, `meta["a.b"]`, so paths stay
// unambiguous. CSV columns are the header names (or "1", "2", ... without a
// header, or for fields beyond the header); text has the single column
// "line".
type Schema struct {
	cols  []string
	index map[string]int
	max   int
}

// Columns returns a copy of the column names.
func (s *Schema) Columns() []string { return append([]string(nil), s.cols...) }

// Len returns the number of columns.
func (s *Schema) Len() int { return len(s.cols) }

// Column returns the name of column i.
func (s *Schema) Column(i int) string { return s.cols[i] }

// Index returns the index of the first column with the given name.
func (s *Schema) Index(name string) (int, bool) {
	i, ok := s.index[name]
	return i, ok
}

// lookup finds or adds the column for a path without allocating when the
// column exists (the compiler turns m[string(b)] into a lookup by bytes).
func (s *Schema) lookup(name []byte) (int, error) {
	if i, ok := s.index[string(name)]; ok {
		return i, nil
	}
	return s.add(string(name))
}

// add appends a column. Duplicate names are allowed (CSV headers may repeat
// a name); Index keeps the first.
func (s *Schema) add(name string) (int, error) {
	if len(s.cols) >= s.max {
		return 0, ErrTooManyColumns
	}
	if s.index == nil {
		s.index = make(map[string]int)
	}
	i := len(s.cols)
	s.cols = append(s.cols, name)
	if _, ok := s.index[name]; !ok {
		s.index[name] = i
	}
	return i, nil
}

// EditOp says what an Edit does.
type EditOp uint8

const (
	// EditReplace replaces the whole value with Data.
	EditReplace EditOp = iota + 1
	// EditReplaceRange replaces bytes [Off, Off+Len) of the decoded Value
	// with Data; the length may change.
	EditReplaceRange
	// EditNullify makes the value null: JSON null, an empty CSV field, an
	// empty text line.
	EditNullify
	// EditDrop drops the whole record; Field is ignored.
	EditDrop
)

func (op EditOp) String() string {
	switch op {
	case EditReplace:
		return "replace"
	case EditReplaceRange:
		return "replace-range"
	case EditNullify:
		return "nullify"
	case EditDrop:
		return "drop"
	}
	return "op(" + strconv.Itoa(int(op)) + ")"
}

// Edit is applied to a field of a record.
type Edit struct {
	Op    EditOp
	Field int // index into Record.Fields
	Off   int // EditReplaceRange only
	Len   int // EditReplaceRange only
	Data  []byte
}

// Options tunes a Reader or Writer. The zero value gives the defaults.
type Options struct {
	// MaxRecordSize bounds one record in bytes (see DefaultMaxRecordSize,
	// the default when 0). Larger records fail with ErrRecordTooLarge.
	MaxRecordSize int
	// MaxColumns bounds the schema (DefaultMaxColumns when 0).
	MaxColumns int
	// CSVNoHeader says the first CSV row is data, not a header; columns are
	// then named "1", "2", ... By default the first row is the header: it
	// names the columns, is never handed out as a record, and is written
	// back unchanged in front of the first record.
	CSVNoHeader bool
	// CSVComma is the CSV field delimiter (',' when 0), e.g. '\t' for TSV.
	// It may not be '"', '\r' or '\n'.
	CSVComma byte
}

func (o Options) normalize() (Options, error) {
	if o.MaxRecordSize == 0 {
		o.MaxRecordSize = DefaultMaxRecordSize
	}
	if o.MaxRecordSize < 0 || o.MaxRecordSize > maxRecordSizeLimit {
		return o, fmt.Errorf("records: max record size %d out of range (1..%d)", o.MaxRecordSize, maxRecordSizeLimit)
	}
	if o.MaxColumns == 0 {
		o.MaxColumns = DefaultMaxColumns
	}
	if o.MaxColumns < 0 {
		return o, fmt.Errorf("records: max columns %d is negative", o.MaxColumns)
	}
	if o.CSVComma == 0 {
		o.CSVComma = ','
	}
	switch o.CSVComma {
	case '"', '\r', '\n':
		return o, fmt.Errorf("records: csv comma %q is not allowed", o.CSVComma)
	}
	return o, nil
}
