package records

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestWriteEdits(t *testing.T) {
	type rule struct {
		col  string // column of the field; "" with Op EditDrop
		edit Edit
		rec  int // only this record index, or -1 for all
	}
	r := func(col string, e Edit) rule { return rule{col: col, edit: e, rec: -1} }
	on := func(i int, col string, e Edit) rule { return rule{col: col, edit: e, rec: i} }
	replace := func(s string) Edit { return Edit{Op: EditReplace, Data: []byte(s)} }
	rng := func(off, n int, s string) Edit { return Edit{Op: EditReplaceRange, Off: off, Len: n, Data: []byte(s)} }
	nullify := Edit{Op: EditNullify}
	drop := Edit{Op: EditDrop}

	tests := []struct {
		name   string
		format Format
		in     string
		rules  []rule
		want   string
	}{
		// NDJSON
		{
			name: "ndjson mask email, keep everything else", format: FormatNDJSON,
			in:    "{\"id\": 1, \"email\":\"ana@example.com\",  \"note\":\"caf\\u00e9\"}\r\n{\"id\":2,\"email\":\"bo@example.com\"}",
			rules: []rule{r("email", replace("***"))},
			want:  "{\"id\": 1, \"email\":\"***\",  \"note\":\"caf\\u00e9\"}\r\n{\"id\":2,\"email\":\"***\"}",
		},
		{
			name: "ndjson replacement is escaped", format: FormatNDJSON,
			in:    `{"a":"x"}` + "\n",
			rules: []rule{r("a", replace("q\"b\\s\nc\x01\xffé"))},
			want:  `{"a":"q\"b\\s\nc\u0001\ufffdé"}` + "\n",
		},
		{
			name: "ndjson masked number and bool become strings", format: FormatNDJSON,
			in:    `{"card":4111111111111111,"vip":true,"n":null}` + "\n",
			rules: []rule{r("card", replace("****")), r("vip", replace("x")), r("n", replace("y"))},
			want:  `{"card":"****","vip":"x","n":"y"}` + "\n",
		},
		{
			name: "ndjson range on a number", format: FormatNDJSON,
			in:    `{"card":4111111111111111}` + "\n",
			rules: []rule{r("card", rng(0, 12, "************"))},
			want:  `{"card":"************1111"}` + "\n",
		},
		{
			name: "ndjson nullify", format: FormatNDJSON,
			in:    `{"ssn":"078-05-1120","age":41}` + "\n",
			rules: []rule{r("ssn", nullify), r("age", nullify)},
			want:  `{"ssn":null,"age":null}` + "\n",
		},
		{
			name: "ndjson drop", format: FormatNDJSON,
			in:    "{\"a\":1}\n{\"a\":2}\n{\"a\":3}",
			rules: []rule{on(1, "", drop), on(2, "", drop)},
			want:  "{\"a\":1}\n",
		},
		{
			name: "ndjson length-changing ranges keep other escapes", format: FormatNDJSON,
			in: `{"msg":"card 4111 1111 1111 1111, mail \u0061na@x.io\n"}` + "\n",
			// decoded: "card 4111 1111 1111 1111, mail ana@x.io\n"
			rules: []rule{r("msg", rng(5, 19, "[card]")), r("msg", rng(31, 8, "[email]"))},
			want:  `{"msg":"card [card], mail [email]\n"}` + "\n",
		},
		{
			name: "ndjson range keeps escapes before it", format: FormatNDJSON,
			in:    `{"msg":"\u0041\tB secret"}` + "\n",
			rules: []rule{r("msg", rng(4, 6, "******"))},
			want:  `{"msg":"\u0041\tB ******"}` + "\n",
		},
		{
			name: "ndjson range inside an escape re-escapes", format: FormatNDJSON,
			in:    `{"msg":"\u00e9t\u00e9"}` + "\n", // été: c3 a9 74 c3 a9
			rules: []rule{r("msg", rng(2, 1, "T"))},
			want:  `{"msg":"\u00e9T\u00e9"}` + "\n",
		},
		{
			name: "ndjson range splitting a character", format: FormatNDJSON,
			in:    `{"msg":"né"}` + "\n",
			rules: []rule{r("msg", rng(2, 1, "x"))},
			want:  `{"msg":"n\ufffdx"}` + "\n",
		},
		{
			name: "ndjson insertions and multi-byte", format: FormatNDJSON,
			in:    `{"n":"山田太郎"}` + "\n",
			rules: []rule{r("n", rng(3, 9, "**")), r("n", rng(0, 0, "<")), r("n", rng(12, 0, ">"))},
			want:  `{"n":"<山**>"}` + "\n",
		},
		{
			name: "ndjson nested array paths", format: FormatNDJSON,
			in:    `{"items":[{"email":"a@x.io","qty":1},{"email":"b@x.io","qty":2}]}` + "\n",
			rules: []rule{r("items[].email", replace("<redacted>"))},
			want:  `{"items":[{"email":"<redacted>","qty":1},{"email":"<redacted>","qty":2}]}` + "\n",
		},
		{
			name: "ndjson blank lines kept", format: FormatNDJSON,
			in:    "\n{\"a\":\"x\"}\n\n",
			rules: []rule{r("a", replace("y"))},
			want:  "\n{\"a\":\"y\"}\n\n",
		},
		// JSON documents
		{
			name: "json drop first element", format: FormatJSON,
			in:    "[\n  {\"e\": \"a\"},\n  {\"e\": \"b\"},\n  {\"e\": \"c\"}\n]\n",
			rules: []rule{on(0, "", drop)},
			want:  "[\n  {\"e\": \"b\"},\n  {\"e\": \"c\"}\n]\n",
		},
		{
			name: "json drop middle element", format: FormatJSON,
			in:    "[{\"e\":\"a\"}, {\"e\":\"b\"}, {\"e\":\"c\"}]",
			rules: []rule{on(1, "", drop)},
			want:  "[{\"e\":\"a\"}, {\"e\":\"c\"}]",
		},
		{
			name: "json drop last element", format: FormatJSON,
			in:    "[{\"e\":\"a\"},{\"e\":\"b\"}]",
			rules: []rule{on(1, "", drop)},
			want:  "[{\"e\":\"a\"}]",
		},
		{
			name: "json drop all elements", format: FormatJSON,
			in:    "[ 1 , 2 ]\n",
			rules: []rule{r("", drop)},
			want:  "[  ]\n",
		},
		{
			name: "json drop first two of a second array", format: FormatJSON,
			in:    "[1,2]\n[3,4,5]\n",
			rules: []rule{on(2, "", drop), on(3, "", drop)},
			want:  "[1,2]\n[5]\n",
		},
		{
			name: "json drop whole document writes null", format: FormatJSON,
			in:    "{\"a\":1}\n{\"a\":2}\n",
			rules: []rule{on(0, "", drop)},
			want:  "null\n{\"a\":2}\n",
		},
		{
			name: "json element edits", format: FormatJSON,
			in:    "[{\"name\":\"Ana\",\"email\":\"ana@example.com\"},{\"name\":\"Bo\",\"email\":\"bo@example.com\"}]",
			rules: []rule{r("[].email", rng(0, 3, "***"))},
			want:  "[{\"name\":\"Ana\",\"email\":\"***@example.com\"},{\"name\":\"Bo\",\"email\":\"***example.com\"}]",
		},
		// CSV
		{
			name: "csv replace with quoting when needed", format: FormatCSV,
			in:    "id,name,email\r\n1,Ana,ana@example.com\r\n2,\"Bo\",bo@example.com\r\n",
			rules: []rule{r("name", replace("Souza, \"Ana\"")), r("email", replace(" x "))},
			want:  "id,name,email\r\n1,\"Souza, \"\"Ana\"\"\",\" x \"\r\n2,\"Souza, \"\"Ana\"\"\",\" x \"\r\n",
		},
		{
			name: "csv quoted stays quoted, plain stays plain", format: FormatCSV,
			in:    "a,b\n\"x\",y\n",
			rules: []rule{r("a", replace("1")), r("b", replace("2"))},
			want:  "a,b\n\"1\",2\n",
		},
		{
			name: "csv newline in replacement", format: FormatCSV,
			in:    "a,b\n1,2\n",
			rules: []rule{r("a", replace("l1\r\nl2\n"))},
			want:  "a,b\n\"l1\r\nl2\n\",2\n",
		},
		{
			name: "csv nullify is an empty unquoted field", format: FormatCSV,
			in:    "a,b,c\n\"x\",y,z\n",
			rules: []rule{r("a", nullify), r("c", nullify)},
			want:  "a,b,c\n,y,\n",
		},
		{
			name: "csv single-column nullify keeps the row", format: FormatCSV,
			in:    "email\na@x.io\nb@x.io",
			rules: []rule{r("email", nullify)},
			want:  "email\n\"\"\n\"\"",
		},
		{
			name: "csv range on a quoted field with escapes", format: FormatCSV,
			in:    "note\n\"he said \"\"4111-1111\"\"\"\n",
			rules: []rule{r("note", rng(9, 9, "XXXX"))},
			want:  "note\n\"he said \"\"XXXX\"\"\"\n",
		},
		{
			name: "csv drop rows", format: FormatCSV,
			in:    "a\n1\n\"multi\nline\"\n3",
			rules: []rule{on(1, "", drop), on(2, "", drop)},
			want:  "a\n1\n",
		},
		{
			name: "csv edit multi-line field", format: FormatCSV,
			in:    "a,b\n\"x\ny\",z\n",
			rules: []rule{r("a", rng(0, 1, "X"))},
			want:  "a,b\n\"X\ny\",z\n",
		},
		// Text
		{
			name: "text ranges", format: FormatText,
			in:    "user ana@example.com logged in\r\nno pii here\nkey=sk_live_abc",
			rules: []rule{on(0, "line", rng(5, 15, "<email>")), on(2, "line", rng(4, 11, "<secret>"))},
			want:  "user <email> logged in\r\nno pii here\nkey=<secret>",
		},
		{
			name: "text drop and nullify", format: FormatText,
			in:    "a\nb\nc",
			rules: []rule{on(0, "line", nullify), on(2, "", drop)},
			want:  "\nb\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var schema *Schema
			rd := NewReader(strings.NewReader(tt.in), tt.format, Options{})
			schema = rd.Schema()
			var out bytes.Buffer
			wr := NewWriter(&out, tt.format, Options{})
			for i := 0; ; i++ {
				rec, err := rd.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				var edits []Edit
				for _, ru := range tt.rules {
					if ru.rec >= 0 && ru.rec != i {
						continue
					}
					if ru.edit.Op == EditDrop {
						edits = append(edits, ru.edit)
						continue
					}
					col, ok := schema.Index(ru.col)
					if !ok {
						continue
					}
					for fi, f := range rec.Fields {
						if f.Column == col {
							e := ru.edit
							e.Field = fi
							edits = append(edits, e)
						}
					}
				}
				// Reverse so that sorting is exercised.
				for l, r := 0, len(edits)-1; l < r; l, r = l+1, r-1 {
					edits[l], edits[r] = edits[r], edits[l]
				}
				if err := wr.Write(rec, edits); err != nil {
					t.Fatal(err)
				}
			}
			if err := wr.Flush(); err != nil {
				t.Fatal(err)
			}
			mustEqual(t, "output", out.String(), tt.want)
			if tt.format == FormatJSON || tt.format == FormatNDJSON {
				dec := json.NewDecoder(strings.NewReader(out.String()))
				for dec.More() {
					var v any
					if err := dec.Decode(&v); err != nil {
						t.Fatalf("output is not valid JSON: %v", err)
					}
				}
			}
		})
	}
}

func TestWriteEditErrors(t *testing.T) {
	in := `{"a":"hello","b":"world"}` + "\n"
	tests := []struct {
		name  string
		edits []Edit
		want  string
	}{
		{"unknown op", []Edit{{Op: 9}}, "records: edit 0: unknown op 9"},
		{"field out of range", []Edit{{Op: EditReplace, Field: 1}, {Op: EditNullify, Field: 2}}, "records: edit 1 (nullify): field 2 out of range (record has 2 fields)"},
		{"negative field", []Edit{{Op: EditReplace, Field: -1}}, "records: edit 0 (replace): field -1 out of range (record has 2 fields)"},
		{"range past end", []Edit{{Op: EditReplaceRange, Field: 0, Off: 3, Len: 3}}, "records: edit 0 (replace-range): range off 3 len 3 out of range for field 0 (value is 5 bytes)"},
		{"negative offset", []Edit{{Op: EditReplaceRange, Field: 0, Off: -1, Len: 1}}, "records: edit 0 (replace-range): range off -1 len 1 out of range for field 0 (value is 5 bytes)"},
		{"overlapping ranges", []Edit{{Op: EditReplaceRange, Field: 1, Off: 0, Len: 3}, {Op: EditReplaceRange, Field: 1, Off: 2, Len: 1}}, "records: field 1: overlapping replace-range edits (off 0 len 3 and off 2 len 1)"},
		{"two replaces", []Edit{{Op: EditReplace, Field: 0}, {Op: EditReplace, Field: 0}}, "records: field 0: conflicting replace edits"},
		{"drop does not hide a bad edit", []Edit{{Op: EditDrop}, {Op: EditReplace, Field: 5}}, "records: edit 1 (replace): field 5 out of range (record has 2 fields)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := rewrite(FormatNDJSON, in, Options{}, func(int, *Record) []Edit { return tt.edits })
			if err == nil {
				t.Fatal("no error")
			}
			mustEqual(t, "error", err.Error(), tt.want)
			mustEqual(t, "nothing written", out, "")
		})
	}
}

func TestWriteEditPrecedence(t *testing.T) {
	in := `{"a":"hello"}` + "\n"
	tests := []struct {
		name  string
		edits []Edit
		want  string
	}{
		{"nullify beats replace", []Edit{{Op: EditReplace, Data: []byte("x")}, {Op: EditNullify}}, `{"a":null}`},
		{"replace beats range", []Edit{{Op: EditReplaceRange, Off: 0, Len: 1, Data: []byte("J")}, {Op: EditReplace, Data: []byte("x")}}, `{"a":"x"}`},
		{"adjacent ranges", []Edit{{Op: EditReplaceRange, Off: 2, Len: 3, Data: []byte("LO")}, {Op: EditReplaceRange, Off: 0, Len: 2, Data: []byte("HE")}}, `{"a":"HELO"}`},
		{"drop wins", []Edit{{Op: EditReplace, Data: []byte("x")}, {Op: EditDrop}}, ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := rewrite(FormatNDJSON, in, Options{}, func(int, *Record) []Edit { return tt.edits })
			if err != nil {
				t.Fatal(err)
			}
			mustEqual(t, "output", strings.TrimSuffix(out, "\n"), tt.want)
		})
	}
}

func TestWriterFormatMismatch(t *testing.T) {
	rd := NewReader(strings.NewReader("a,b\n1,2\n"), FormatCSV, Options{})
	rec, err := rd.Next()
	if err != nil {
		t.Fatal(err)
	}
	err = NewWriter(&bytes.Buffer{}, FormatJSON, Options{}).Write(rec, nil)
	if err == nil || err.Error() != "records: csv record passed to json writer" {
		t.Errorf("got %v", err)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriterStickyError(t *testing.T) {
	wr := NewWriter(failingWriter{}, FormatText, Options{})
	rd := NewReader(strings.NewReader("x\n"), FormatText, Options{})
	rec, _ := rd.Next()
	if err := wr.Write(rec, nil); err != nil {
		t.Fatal(err)
	}
	if err := wr.Flush(); err == nil || err.Error() != "records: write: disk full" {
		t.Fatalf("got %v", err)
	}
	if err := wr.Write(rec, nil); err == nil {
		t.Fatal("write after a failed flush succeeded")
	}
}

func TestLargeField(t *testing.T) {
	big := strings.Repeat("ab\"c\\d\u00e9", 1<<20/8) // ~1 MiB decoded
	enc, _ := json.Marshal(map[string]string{"blob": big, "email": "ana@example.com"})
	in := string(enc) + "\n"
	recs, _, err := readAll(FormatNDJSON, in, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].Fields[0].Value != big {
		t.Fatalf("large value not decoded intact")
	}
	out, err := rewrite(FormatNDJSON, in, Options{}, func(_ int, rec *Record) []Edit {
		return []Edit{{Op: EditReplaceRange, Field: 0, Off: 0, Len: 2, Data: []byte("XY")}, {Op: EditReplace, Field: 1, Data: []byte("***")}}
	})
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]string
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if got["blob"] != "XY"+big[2:] || got["email"] != "***" {
		t.Fatalf("large edit wrong")
	}

	csvIn := "id,blob\n1,\"" + strings.Repeat("x,\"\"y\n", 1<<20/6) + "\"\n"
	out, err = rewrite(FormatCSV, csvIn, Options{}, nil)
	if err != nil || out != csvIn {
		t.Fatalf("large csv field round trip: %v", err)
	}
}

func TestManyFields(t *testing.T) {
	const n = 10000
	var b strings.Builder
	b.WriteString("{")
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`"f` + strconv.Itoa(i) + `":"v` + strconv.Itoa(i) + `"`)
	}
	b.WriteString("}\n")
	in := b.String()
	recs, s, err := readAll(FormatNDJSON, in, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs[0].Fields) != n || s.Len() != n || recs[0].Fields[n-1].Value != "v9999" {
		t.Fatalf("got %d fields, %d columns", len(recs[0].Fields), s.Len())
	}
	// Mask every other field.
	out, err := rewrite(FormatNDJSON, in, Options{}, func(_ int, rec *Record) []Edit {
		var edits []Edit
		for i := 0; i < len(rec.Fields); i += 2 {
			edits = append(edits, Edit{Op: EditReplace, Field: i, Data: []byte("*")})
		}
		return edits
	})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(out), &m); err != nil || m["f0"] != "*" || m["f1"] != "v1" || m["f9998"] != "*" {
		t.Fatalf("bad output: %v", err)
	}

	// The same in CSV, one row of 10,000 columns.
	row := strings.Repeat("x,", n-1) + "x\n"
	csvIn := strings.Repeat("h,", n-1) + "h\n" + row
	recs, _, err = readAll(FormatCSV, csvIn, Options{})
	if err != nil || len(recs[0].Fields) != n {
		t.Fatalf("csv: %v", err)
	}

	// Schema bound.
	_, _, err = readAll(FormatNDJSON, in, Options{MaxColumns: 100})
	if !errors.Is(err, ErrTooManyColumns) {
		t.Fatalf("got %v, want ErrTooManyColumns", err)
	}
	mustEqual(t, "error", err.Error(), "ndjson: line 1, byte 1188: schema exceeds max columns 100")
}

func TestByteOrderMark(t *testing.T) {
	for _, tt := range []struct {
		f    Format
		in   string
		want []string
	}{
		{FormatCSV, bom + "id,email\r\n7,ana@example.com\r\n", []string{`id:string="7" email:string="ana@example.com"`}},
		{FormatCSV, bom, nil},
		{FormatNDJSON, bom + "{\"email\":\"a@b.c\"}\n" + `{"email":"d@e.f"}`, []string{`email:string="a@b.c"`, `email:string="d@e.f"`}},
		{FormatJSON, bom + "[{\"email\":\"a@b.c\"}]", []string{`[].email:string="a@b.c"`}},
		{FormatText, bom + "x\n", []string{`line:string="\ufeffx"`}},
	} {
		recs, _, err := readAll(tt.f, tt.in, Options{})
		if err != nil {
			t.Fatalf("%s: %v", tt.f, err)
		}
		if got := fieldsOf(recs); !slices.Equal(got, tt.want) {
			t.Errorf("%s: got %q, want %q", tt.f, got, tt.want)
		}
		out, err := rewrite(tt.f, tt.in, Options{}, nil)
		if err != nil || out != tt.in {
			t.Errorf("%s: round trip %q, %v", tt.f, out, err)
		}
	}
	// A byte order mark elsewhere is an error in JSON.
	if _, _, err := readAll(FormatNDJSON, "{}\n"+bom+"{}\n", Options{}); err == nil {
		t.Error("byte order mark on line 2 accepted")
	}
}

func TestGluedDocuments(t *testing.T) {
	// "0" and "\"x\"" are two texts only because a quote delimits them; a
	// null written in place of the string must not glue onto the number.
	out, err := rewrite(FormatJSON, `0"x"1`, Options{}, func(i int, rec *Record) []Edit {
		if i == 1 {
			return []Edit{{Op: EditDrop}}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "output", out, "0 null 1")
	out, err = rewrite(FormatJSON, `"a"7`, Options{}, func(i int, rec *Record) []Edit {
		return []Edit{{Op: EditNullify}}
	})
	if err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "output", out, "null null")
}
