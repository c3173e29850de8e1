package records

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

// fieldSnap is a field as tests compare it: column name, kind, value.
type fieldSnap struct {
	Col   string
	Kind  Kind
	Value string
}

func (f fieldSnap) String() string { return fmt.Sprintf("%s:%s=%q", f.Col, f.Kind, f.Value) }

// recSnap is a copy of a record that outlives the Reader's buffers.
type recSnap struct {
	Raw    string
	Line   int
	Fields []fieldSnap
}

// readAll reads every record of in, copying each one.
func readAll(f Format, in string, opts Options) ([]recSnap, *Schema, error) {
	return readAllFrom(strings.NewReader(in), f, opts)
}

// readAllFrom is readAll over any source, e.g. one that returns a byte at
// a time.
func readAllFrom(src io.Reader, f Format, opts Options) ([]recSnap, *Schema, error) {
	rd := NewReader(src, f, opts)
	var out []recSnap
	for {
		rec, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return out, rd.Schema(), nil
		}
		if err != nil {
			return out, rd.Schema(), err
		}
		out = append(out, snap(rd.Schema(), rec))
	}
}

func snap(s *Schema, rec *Record) recSnap {
	r := recSnap{Raw: string(rec.Raw), Line: rec.Line}
	for _, f := range rec.Fields {
		r.Fields = append(r.Fields, fieldSnap{s.Column(f.Column), f.Kind, string(f.Value)})
	}
	return r
}

// fieldsOf flattens the fields of records that have any, for compact
// expectations: one string per record.
func fieldsOf(recs []recSnap) []string {
	var out []string
	for _, r := range recs {
		if len(r.Fields) == 0 {
			continue
		}
		var b strings.Builder
		for i, f := range r.Fields {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(f.String())
		}
		out = append(out, b.String())
	}
	return out
}

// rewrite reads in and writes every record back with the edits that
// editFn returns for it (record index counts all records).
func rewrite(f Format, in string, opts Options, editFn func(i int, rec *Record) []Edit) (string, error) {
	return rewriteReader(strings.NewReader(in), f, opts, editFn)
}

func rewriteReader(src io.Reader, f Format, opts Options, editFn func(i int, rec *Record) []Edit) (string, error) {
	rd := NewReader(src, f, opts)
	var out bytes.Buffer
	wr := NewWriter(&out, f, opts)
	for i := 0; ; i++ {
		rec, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return out.String(), err
		}
		var edits []Edit
		if editFn != nil {
			edits = editFn(i, rec)
		}
		if err := wr.Write(rec, edits); err != nil {
			return out.String(), err
		}
	}
	err := wr.Flush()
	return out.String(), err
}

// fieldNamed returns the index in rec.Fields of the first field of column
// name, or -1.
func fieldNamed(s *Schema, rec *Record, name string) int {
	col, ok := s.Index(name)
	if !ok {
		return -1
	}
	for i, f := range rec.Fields {
		if f.Column == col {
			return i
		}
	}
	return -1
}

// oneByteReader returns one byte per Read, to exercise every resume point.
type oneByteReader struct{ r io.Reader }

func (o oneByteReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	return o.r.Read(p[:1])
}

// loopReader serves prefix once, then body forever: a steady-state stream.
type loopReader struct {
	prefix, body []byte
	off          int
}

func (l *loopReader) Read(p []byte) (int, error) {
	if len(l.prefix) > 0 {
		n := copy(p, l.prefix)
		l.prefix = l.prefix[n:]
		return n, nil
	}
	n := copy(p, l.body[l.off:])
	l.off = (l.off + n) % len(l.body)
	return n, nil
}

func mustEqual[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s:\n got %v\nwant %v", what, got, want)
	}
}
