package records

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// Seeds shared by the fuzz targets: real-looking data and the corners the
// table tests cover.
var fuzzSeeds = []string{
	"",
	"\n",
	ndjsonRecord,
	ndjsonRecord + ndjsonRecord[:40],
	"{\"a\":\"x\\u00e9\\ud83d\\ude00\\ud800\",\"b\":[1,-2.5e3,true,false,null],\"c\":{}}\r\n[]\n\"s\"\n",
	"[\n  {\"name\": \"Ana\", \"email\": \"ana@example.com\"},\n  {\"name\": \"Bo\", \"email\": null}\n]\n",
	"{\"a\":1} {\"a\":2}\n\n  ",
	"{\"k\":\"\xff\xfe\",\"\xc3\":1}\n",
	csvHeader + csvRecord + csvRecord,
	"id,note\r\n1,\"multi\r\nline \"\"q\"\"\"\r\n\r\n2,x\ry\r",
	"a,b\n1,\"x\"y\n",
	"a,b\n\"unterminated\n",
	textRecord + "no newline",
	"line one\r\nline two\n\n\xff\n",
	bom + "id,email\r\n1,a@example.com\r\n",
	bom + "{\"a\":1}\n",
}

func addSeeds(f *testing.F, withScript bool) {
	for i, s := range fuzzSeeds {
		if withScript {
			f.Add([]byte(s), []byte{byte(i), 4, 5, 6, 7, 0, 1, 2, 3, byte(i * 37), 250, 11, 5, 5})
		} else {
			f.Add([]byte(s))
		}
	}
}

var allFormats = []Format{FormatText, FormatLines, FormatJSON, FormatNDJSON, FormatCSV}

// FuzzRoundTrip: for every format, input that tokenizes is written back
// byte for byte with no edits, whatever the read sizes; fields point where
// they claim; and the tokenizers agree with encoding/json and encoding/csv.
func FuzzRoundTrip(f *testing.F) {
	addSeeds(f, false)
	f.Fuzz(func(t *testing.T, in []byte) {
		Sniff(in)
		for _, format := range allFormats {
			out, err := rewriteReader(bytes.NewReader(in), format, Options{}, nil)
			if err != nil {
				if !isInputError(err) {
					t.Fatalf("%s: unexpected error kind: %v", format, err)
				}
			} else if out != string(in) {
				t.Fatalf("%s: round trip differs:\n in %q\nout %q", format, in, out)
			}
			chunked, cerr := rewriteReader(oneByteReaderN{bytes.NewReader(in), 1 + len(in)%7}, format, Options{}, nil)
			if (cerr == nil) != (err == nil) || chunked != out || (err != nil && cerr.Error() != err.Error()) {
				t.Fatalf("%s: chunked read differs: %q %v vs %q %v", format, chunked, cerr, out, err)
			}
			checkSpans(t, format, in)
			if err == nil {
				checkHeldCopies(t, format, in)
			}

			// A small max record size: the buffer is compacted and
			// refilled constantly; records either fit and come out the
			// same, or the reader says they are too large.
			small := Options{MaxRecordSize: 1 + len(in)%61}
			got, serr := rewriteReader(oneByteReaderN{bytes.NewReader(in), 1 + len(in)%5}, format, small, nil)
			switch {
			case errors.Is(serr, ErrRecordTooLarge):
				if !strings.HasPrefix(out, got) {
					t.Fatalf("%s: small buffer output %q is not a prefix of %q", format, got, out)
				}
			case (serr == nil) != (err == nil) || got != out:
				t.Fatalf("%s: small buffer: %q %v vs %q %v", format, got, serr, out, err)
			}
		}
		checkNDJSONAgainstStd(t, in)
		checkJSONAgainstStd(t, in)
		checkCSVAgainstStd(t, in)
		if bytes.HasPrefix(in, []byte(bom)) && !bytes.HasPrefix(in[len(bom):], []byte(bom)) {
			// A leading byte order mark is ignored: the fields are those
			// of the rest (text keeps it in the line). Only one: the rest
			// of "BOM BOM x" starts with a mark the reader would skip.
			for _, format := range allFormats[2:] {
				a, _, errA := readAll(format, string(in), Options{})
				b, _, errB := readAll(format, string(in[len(bom):]), Options{})
				if (errA == nil) != (errB == nil) || !slices.Equal(fieldsOf(a), fieldsOf(b)) {
					t.Fatalf("%s: byte order mark changes the fields: %v %v / %v %v", format, fieldsOf(a), errA, fieldsOf(b), errB)
				}
			}
		}
	})
}

func isInputError(err error) bool {
	var se *SyntaxError
	return errors.As(err, &se) || errors.Is(err, ErrRecordTooLarge)
}

// checkSpans: every field's token lies in Raw, in order, and a Value that
// is not decoded is the token (minus quotes).
func checkSpans(t *testing.T, format Format, in []byte) {
	rd := NewReader(bytes.NewReader(in), format, Options{})
	for {
		rec, err := rd.Next()
		if err != nil {
			return
		}
		last := 0
		for i, f := range rec.Fields {
			s, e := f.RawSpan()
			if s < last || e < s || e > len(rec.Raw) {
				t.Fatalf("%s: field %d span [%d,%d) out of order or out of %q", format, i, s, e, rec.Raw)
			}
			last = e
			if off, ok := f.ValueOffset(); ok && !bytes.Equal(rec.Raw[off:off+len(f.Value)], f.Value) {
				t.Fatalf("%s: field %d: ValueOffset %d does not hold %q", format, i, off, f.Value)
			}
		}
	}
}

// checkHeldCopies: records copied with CopyTo and written after the
// Reader has moved on (as a plugin batch does) still reproduce the input.
func checkHeldCopies(t *testing.T, format Format, in []byte) {
	rd := NewReader(oneByteReaderN{bytes.NewReader(in), 3}, format, Options{})
	var held []Record
	for {
		rec, err := rd.Next()
		if err != nil {
			break
		}
		var c Record
		rec.CopyTo(&c, func(n int) []byte { return make([]byte, n) })
		held = append(held, c)
	}
	var out bytes.Buffer
	wr := NewWriter(&out, format, Options{})
	for i := range held {
		if err := wr.Write(&held[i], nil); err != nil {
			t.Fatal(err)
		}
	}
	wr.Flush()
	if out.String() != string(in) {
		t.Fatalf("%s: held copies write %q, want %q", format, out.String(), in)
	}
}

// normUTF8 replaces each byte of invalid UTF-8 by U+FFFD, as encoding/json
// does when it decodes a string.
func normUTF8(b []byte) string {
	var sb strings.Builder
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n == 1 {
			sb.WriteRune(utf8.RuneError)
		} else {
			sb.Write(b[:n])
		}
		b = b[n:]
	}
	return sb.String()
}

// stdLeaves lists the leaves of one JSON value as encoding/json sees them.
func stdLeaves(dec *json.Decoder) ([]fieldSnap, error) {
	var out []fieldSnap
	type frame struct{ object, wantKey bool }
	var stack []frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return out, err
		}
		var top *frame
		if len(stack) > 0 {
			top = &stack[len(stack)-1]
		}
		if top != nil && top.object && top.wantKey {
			if d, ok := tok.(json.Delim); !ok || d != '}' {
				top.wantKey = false
				continue // a key
			}
		}
		if top != nil && top.object {
			top.wantKey = true // after this value, a key
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{':
				stack = append(stack, frame{object: true, wantKey: true})
			case '[':
				stack = append(stack, frame{})
			default:
				stack = stack[:len(stack)-1]
			}
		case string:
			out = append(out, fieldSnap{Kind: KindString, Value: v})
		case json.Number:
			out = append(out, fieldSnap{Kind: KindNumber, Value: string(v)})
		case bool:
			s := "false"
			if v {
				s = "true"
			}
			out = append(out, fieldSnap{Kind: KindBool, Value: s})
		case nil:
			out = append(out, fieldSnap{Kind: KindNull})
		}
		if len(stack) == 0 {
			return out, nil
		}
	}
}

func ourLeaves(rec *Record) []fieldSnap {
	var out []fieldSnap
	for _, f := range rec.Fields {
		v := string(f.Value)
		if f.Kind == KindString {
			v = normUTF8(f.Value)
		}
		out = append(out, fieldSnap{Kind: f.Kind, Value: v})
	}
	return out
}

// checkNDJSONAgainstStd: a line is accepted iff json.Valid accepts it, and
// its leaves are the ones encoding/json decodes.
func checkNDJSONAgainstStd(t *testing.T, in []byte) {
	// The reader gets the input as is: it skips one byte order mark at
	// the start itself (a second one is data).
	rd := NewReader(bytes.NewReader(in), FormatNDJSON, Options{})
	for {
		rec, err := rd.Next()
		if err == io.EOF {
			return
		}
		var se *SyntaxError
		if errors.As(err, &se) {
			if errors.Is(err, ErrTooDeep) {
				return
			}
			lines := bytes.Split(in, nl)
			line := lines[se.Line-1]
			if json.Valid(line) {
				t.Fatalf("ndjson rejects line %d %q that json.Valid accepts: %v", se.Line, line, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("ndjson: %v", err)
		}
		body := bytes.TrimRight(rec.Raw, "\n")
		if rec.Line == 1 {
			// The reader skips a byte order mark that starts the input
			// (RFC 8259 §8.1); json.Valid does not.
			body = bytes.TrimPrefix(body, []byte("\ufeff"))
		}
		if len(bytes.TrimSpace(body)) == 0 {
			continue
		}
		if !json.Valid(body) {
			t.Fatalf("ndjson accepts line %d %q that json.Valid rejects", rec.Line, body)
		}
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		want, err := stdLeaves(dec)
		if err != nil {
			t.Fatalf("encoding/json: %v", err)
		}
		if got := ourLeaves(rec); !slices.Equal(got, want) {
			t.Fatalf("line %d %q leaves:\n got %v\nwant %v", rec.Line, body, got, want)
		}
	}
}

// checkJSONAgainstStd: a stream FormatJSON accepts is a stream of values to
// encoding/json too (FormatJSON is stricter: it wants "true false", not
// "truefalse"), with the same leaves.
func checkJSONAgainstStd(t *testing.T, in []byte) {
	rd := NewReader(bytes.NewReader(in), FormatJSON, Options{})
	var got []fieldSnap
	for {
		rec, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return
		}
		got = append(got, ourLeaves(rec)...)
	}
	in = bytes.TrimPrefix(in, []byte(bom)) // encoding/json does not skip it
	dec := json.NewDecoder(bytes.NewReader(in))
	dec.UseNumber()
	var want []fieldSnap
	for {
		leaves, err := stdLeaves(dec)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("json accepts %q, encoding/json does not: %v", in, err)
		}
		want = append(want, leaves...)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("json %q leaves:\n got %v\nwant %v", in, got, want)
	}
}

func checkCSVAgainstStd(t *testing.T, in []byte) {
	cr := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(in, []byte(bom))))
	cr.FieldsPerRecord = -1
	want, stdErr := cr.ReadAll()
	recs, _, err := readAll(FormatCSV, string(in), Options{CSVNoHeader: true})
	if errors.Is(err, ErrTooManyColumns) {
		return
	}
	if (err == nil) != (stdErr == nil) {
		t.Fatalf("csv %q: encoding/csv error %v, ours %v", in, stdErr, err)
	}
	if err != nil {
		return
	}
	var got [][]string
	for _, r := range recs {
		if len(r.Fields) == 0 {
			continue
		}
		var row []string
		for _, f := range r.Fields {
			row = append(row, strings.ReplaceAll(f.Value, "\r\n", "\n"))
		}
		got = append(got, row)
	}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("csv %q rows:\n got %q\nwant %q", in, got, want)
	}
}

// script turns fuzz bytes into edit decisions.
type script struct{ b []byte }

func (s *script) next() int {
	if len(s.b) == 0 {
		return 0
	}
	c := s.b[0]
	s.b = s.b[1:]
	return int(c)
}

var fuzzPalette = []string{"", "***", `"`, `""`, ",", "\n", "\r\n", "\r", "\\", `\u0000`, "\x00", "\xff", "\xc3", "\xa9", "é", "😀", " lead", "trail ", "a,\"b\"\nc", `\ud800`, "\xed\xa0\x80"}

func (s *script) data(textSafe bool) []byte {
	d := []byte(fuzzPalette[s.next()%len(fuzzPalette)])
	n := s.next() % 4
	for range n {
		d = append(d, byte(s.next()))
	}
	if textSafe {
		d = bytes.ReplaceAll(d, []byte{'\n'}, nil)
		d = bytes.ReplaceAll(d, []byte{'\r'}, nil)
	}
	return d
}

// plannedRecord is what a record should read back as after its edits.
type plannedRecord struct {
	fields []fieldSnap // Col, Kind, Value (Value normalized for JSON)
	raw    string      // text: the expected output line
}

// planEdits picks random edits for rec and computes what it should read
// back as. ok is false when the record is dropped.
func planEdits(s *script, format Format, schema *Schema, rec *Record) (edits []Edit, plan plannedRecord, dropped bool) {
	if s.next()%9 == 1 {
		return []Edit{{Op: EditDrop}}, plan, true
	}
	json := format == FormatJSON || format == FormatNDJSON
	norm := func(b []byte) string {
		if json {
			return normUTF8(b)
		}
		return string(b)
	}
	for i, f := range rec.Fields {
		exp := fieldSnap{Col: schema.Column(f.Column), Kind: f.Kind, Value: norm(f.Value)}
		if !json {
			exp.Value = string(f.Value)
		}
		switch s.next() % 8 {
		case 4:
			d := s.data(format == FormatText)
			edits = append(edits, Edit{Op: EditReplace, Field: i, Data: d})
			exp.Kind, exp.Value = KindString, norm(d)
		case 5, 7:
			// One or two ranges, as pieces normalized on their own.
			v := f.Value
			a := s.next() % (len(v) + 1)
			b := a + s.next()%(len(v)-a+1)
			d1 := s.data(format == FormatText)
			edits = append(edits, Edit{Op: EditReplaceRange, Field: i, Off: a, Len: b - a, Data: d1})
			val := norm(v[:a]) + norm(d1)
			rest := v[b:]
			// Strictly after the first range: two insertions at one
			// offset apply in the order given, which the shuffle below
			// would change.
			if c := 1 + s.next()%(len(rest)+1); c <= len(rest) {
				d2 := s.data(format == FormatText)
				edits = append(edits, Edit{Op: EditReplaceRange, Field: i, Off: b + c, Len: 0, Data: d2})
				val += norm(rest[:c]) + norm(d2)
				rest = rest[c:]
			}
			exp.Kind, exp.Value = KindString, val+norm(rest)
		case 6:
			edits = append(edits, Edit{Op: EditNullify, Field: i})
			exp.Kind, exp.Value = KindNull, ""
			if !json {
				exp.Kind = KindString
			}
		}
		plan.fields = append(plan.fields, exp)
	}
	// Shuffle: the writer must sort.
	if len(edits) > 1 && s.next()%2 == 0 {
		slices.Reverse(edits)
	}
	return edits, plan, false
}

func fuzzEdits(t *testing.T, format Format, in, scr []byte) {
	s := &script{b: scr}
	rd := NewReader(bytes.NewReader(in), format, Options{})
	var out bytes.Buffer
	wr := NewWriter(&out, format, Options{})
	var plans []plannedRecord
	var header []string
	for {
		rec, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return // only valid input is interesting here
		}
		if format == FormatCSV && header == nil && rd.Schema().Len() > 0 {
			header = rd.Schema().Columns()
		}
		edits, plan, dropped := planEdits(s, format, rd.Schema(), rec)
		if err := wr.Write(rec, edits); err != nil {
			t.Fatalf("write %v: %v", edits, err)
		}
		switch {
		case dropped && format == FormatJSON && rec.doc && len(rec.Raw) > 0:
			plans = append(plans, plannedRecord{fields: []fieldSnap{{Kind: KindNull}}})
		case dropped || (len(rec.Fields) == 0 && format != FormatText):
		default:
			if format == FormatText {
				v := rec.Fields[0].Value
				if len(edits) > 0 {
					v = []byte(plan.fields[0].Value)
				}
				plan.raw = string(v) + string(rec.Raw[len(rec.Fields[0].Value):])
			}
			plans = append(plans, plan)
		}
	}
	if err := wr.Flush(); err != nil {
		t.Fatal(err)
	}
	o := out.Bytes()
	switch format {
	case FormatJSON, FormatNDJSON:
		o = bytes.TrimPrefix(o, []byte(bom)) // RFC 8259 §8.1: ignorable, but not by encoding/json
		if format == FormatNDJSON {
			for i, line := range bytes.Split(o, nl) {
				if len(bytes.TrimSpace(line)) > 0 && !json.Valid(line) {
					t.Fatalf("output line %d %q is not valid JSON", i+1, line)
				}
			}
		}
		dec := json.NewDecoder(bytes.NewReader(o))
		for {
			var v json.RawMessage
			if err := dec.Decode(&v); err == io.EOF {
				break
			} else if err != nil {
				t.Fatalf("output %q is not valid JSON: %v", o, err)
			}
		}
		// Reading the output back gives the planned values.
		rd2 := NewReader(bytes.NewReader(o), format, Options{})
		var got []plannedRecord
		for {
			rec, err := rd2.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("output %q does not read back: %v", o, err)
			}
			if len(rec.Fields) == 0 {
				continue
			}
			var p plannedRecord
			for _, f := range rec.Fields {
				p.fields = append(p.fields, fieldSnap{Col: rd2.Schema().Column(f.Column), Kind: f.Kind, Value: normUTF8(f.Value)})
			}
			got = append(got, p)
		}
		var want []plannedRecord
		for _, p := range plans {
			if len(p.fields) > 0 {
				want = append(want, p)
			}
		}
		if !slices.EqualFunc(got, want, func(a, b plannedRecord) bool { return slices.Equal(a.fields, b.fields) }) {
			t.Fatalf("read back of %q:\n got %v\nwant %v", o, got, want)
		}
	case FormatCSV:
		o = bytes.TrimPrefix(o, []byte(bom)) // ignored by our reader, data to encoding/csv
		cr := csv.NewReader(bytes.NewReader(o))
		cr.FieldsPerRecord = -1
		rows, err := cr.ReadAll()
		if err != nil {
			t.Fatalf("output %q does not parse with encoding/csv: %v", o, err)
		}
		want := len(plans)
		if header != nil {
			want++
		}
		if len(rows) != want {
			t.Fatalf("output %q: %d rows, want %d", o, len(rows), want)
		}
		if header != nil {
			rows = rows[1:]
		}
		for i, p := range plans {
			for j, f := range p.fields {
				w := strings.ReplaceAll(f.Value, "\r\n", "\n")
				if rows[i][j] != w {
					t.Fatalf("output %q: row %d field %d = %q, want %q", o, i, j, rows[i][j], w)
				}
			}
		}
	case FormatText:
		var want strings.Builder
		for _, p := range plans {
			want.WriteString(p.raw)
		}
		if string(o) != want.String() {
			t.Fatalf("output:\n got %q\nwant %q", o, want.String())
		}
	}
}

func FuzzEditsNDJSON(f *testing.F) {
	addSeeds(f, true)
	f.Fuzz(func(t *testing.T, in, scr []byte) { fuzzEdits(t, FormatNDJSON, in, scr) })
}

func FuzzEditsJSON(f *testing.F) {
	addSeeds(f, true)
	f.Fuzz(func(t *testing.T, in, scr []byte) { fuzzEdits(t, FormatJSON, in, scr) })
}

func FuzzEditsCSV(f *testing.F) {
	addSeeds(f, true)
	f.Fuzz(func(t *testing.T, in, scr []byte) { fuzzEdits(t, FormatCSV, in, scr) })
}

func FuzzEditsText(f *testing.F) {
	addSeeds(f, true)
	f.Fuzz(func(t *testing.T, in, scr []byte) { fuzzEdits(t, FormatText, in, scr) })
}
