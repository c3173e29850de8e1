package records

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestNDJSONTokenize(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string // fields of each record that has any
		cols []string // schema afterwards, when set
	}{
		{name: "empty input", in: ""},
		{name: "blank lines only", in: "\n\r\n  \n"},
		{
			name: "customer records",
			in: `{"id":1042,"customer":{"name":"Ana Souza","email":"ana.souza@example.com"},"vip":true,"note":null}` + "\n" +
				`{"id":1043,"customer":{"name":"Jürgen Groß","email":"j.gross@example.de"},"vip":false,"note":"call after 5pm"}` + "\n",
			want: []string{
				`id:number="1042" customer.name:string="Ana Souza" customer.email:string="ana.souza@example.com" vip:bool="true" note:null=""`,
				`id:number="1043" customer.name:string="Jürgen Groß" customer.email:string="j.gross@example.de" vip:bool="false" note:string="call after 5pm"`,
			},
			cols: []string{"id", "customer.name", "customer.email", "vip", "note"},
		},
		{
			name: "no trailing newline",
			in:   `{"card":"4111 1111 1111 1111"}` + "\n" + `{"card":"5500 0000 0000 0004"}`,
			want: []string{`card:string="4111 1111 1111 1111"`, `card:string="5500 0000 0000 0004"`},
		},
		{
			name: "crlf",
			in:   "{\"ssn\":\"078-05-1120\"}\r\n{\"ssn\":\"219-09-9999\"}\r\n",
			want: []string{`ssn:string="078-05-1120"`, `ssn:string="219-09-9999"`},
		},
		{
			name: "escapes",
			in:   `{"q":"say \"hi\"\\ \/ \b\f\n\r\t","u":"caf\u00e9 \u20ac \ud83d\ude00","lone":"\ud800x"}` + "\n",
			want: []string{`q:string="say \"hi\"\\ / \b\f\n\r\t" u:string="café € 😀" lone:string="�x"`},
		},
		{
			name: "multi-byte utf-8 passes through",
			in:   `{"名前":"山田太郎","emoji":"👩‍💻","ar":"مرحبا"}` + "\n",
			want: []string{`名前:string="山田太郎" emoji:string="👩\u200d💻" ar:string="مرحبا"`},
		},
		{
			name: "nested arrays",
			in:   `{"order":77,"items":[{"sku":"A-1","email":"x@example.com"},{"sku":"B-2","email":"y@example.com"}],"tags":["a",["b"]],"empty":{},"none":[]}` + "\n",
			want: []string{`order:number="77" items[].sku:string="A-1" items[].email:string="x@example.com" items[].sku:string="B-2" items[].email:string="y@example.com" tags[]:string="a" tags[][]:string="b"`},
			cols: []string{"order", "items[].sku", "items[].email", "tags[]", "tags[][]"},
		},
		{
			name: "numbers",
			in:   `[0,-1,3.25,-0.5e10,1E+3,2e-7,12345678901234567890]` + "\n",
			want: []string{`[]:number="0" []:number="-1" []:number="3.25" []:number="-0.5e10" []:number="1E+3" []:number="2e-7" []:number="12345678901234567890"`},
		},
		{
			name: "top-level scalars",
			in:   "\"just a string\"\n42\ntrue\nnull\n",
			want: []string{`:string="just a string"`, `:number="42"`, `:bool="true"`, `:null=""`},
		},
		{
			name: "keys that look like paths",
			in:   `{"a.b":1,"":2,"x[]":3,"q\"k":4,"a":{"b":5}}` + "\n",
			want: []string{`["a.b"]:number="1" [""]:number="2" ["x[]"]:number="3" ["q\"k"]:number="4" a.b:number="5"`},
		},
		{
			name: "whitespace everywhere",
			in:   " \t{ \"a\" : [ 1 , 2 ] , \"b\" : { } }  \r\n",
			want: []string{`a[]:number="1" a[]:number="2"`},
		},
		{
			name: "escaped key",
			in:   `{"em\u0061il":"a@b.c"}` + "\n" + `{"email":"d@e.f"}` + "\n",
			want: []string{`email:string="a@b.c"`, `email:string="d@e.f"`},
			cols: []string{"email"},
		},
		{
			name: "duplicate keys share a column",
			in:   `{"a":1,"a":2}` + "\n",
			want: []string{`a:number="1" a:number="2"`},
			cols: []string{"a"},
		},
		{
			name: "invalid utf-8 passes through undecoded",
			in:   "{\"b\":\"\xff\xfeok\"}\n",
			want: []string{`b:string="\xff\xfeok"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, reader := range []string{"whole", "byte-at-a-time"} {
				var recs []recSnap
				var s *Schema
				var err error
				if reader == "whole" {
					recs, s, err = readAll(FormatNDJSON, tt.in, Options{})
				} else {
					recs, s, err = readAllFrom(oneByteReader{strings.NewReader(tt.in)}, FormatNDJSON, Options{})
				}
				if err != nil {
					t.Fatalf("%s: %v", reader, err)
				}
				if got := fieldsOf(recs); !slices.Equal(got, tt.want) {
					t.Errorf("%s: fields:\n got %q\nwant %q", reader, got, tt.want)
				}
				if tt.cols != nil && !slices.Equal(s.Columns(), tt.cols) {
					t.Errorf("%s: columns: got %q, want %q", reader, s.Columns(), tt.cols)
				}
				var raw strings.Builder
				for _, r := range recs {
					raw.WriteString(r.Raw)
				}
				mustEqual(t, reader+": concatenated raw", raw.String(), tt.in)
			}
		})
	}
}

func TestNDJSONRecordLinesAndSpans(t *testing.T) {
	in := "{\"a\":\"x\\u0041\"}\n\n{\"b\":\"plain\",\"n\":12}\r\n"
	rd := NewReader(strings.NewReader(in), FormatNDJSON, Options{})
	want := []struct {
		line   int
		fields int
	}{{1, 1}, {2, 0}, {3, 2}}
	for i, w := range want {
		rec, err := rd.Next()
		if err != nil {
			t.Fatal(err)
		}
		mustEqual(t, "line", rec.Line, w.line)
		mustEqual(t, "fields", len(rec.Fields), w.fields)
		for _, f := range rec.Fields {
			s, e := f.RawSpan()
			tok := string(rec.Raw[s:e])
			off, ok := f.ValueOffset()
			switch {
			case i == 0:
				mustEqual(t, "escaped token", tok, `"x\u0041"`)
				mustEqual(t, "escaped value is decoded", ok, false)
			case f.Kind == KindString:
				mustEqual(t, "string token", tok, `"plain"`)
				mustEqual(t, "value in raw", string(rec.Raw[off:off+len(f.Value)]), "plain")
			default:
				mustEqual(t, "number token", tok, "12")
				mustEqual(t, "number in raw", ok && off == s, true)
			}
		}
	}
}

func TestNDJSONErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
		records        int // records handed out before the error
	}{
		{"bad literal", "{\"a\":1}\n{\"a\":tru}\n", `ndjson: line 2, byte 8: invalid character '}' in literal true (expecting 'e')`, 1},
		{"truncated line", "{\"a\":1}\n{\"a\":\n", `ndjson: line 2, byte 5: unexpected end of JSON input`, 1},
		{"two values on a line", "{\"a\":1} {\"b\":2}\n", `ndjson: line 1, byte 8: invalid character '{' after top-level value`, 0},
		{"missing comma", `{"a":1 "b":2}`, `ndjson: line 1, byte 7: invalid character '"' after object key:value pair`, 0},
		{"missing colon", `{"a" 1}`, `ndjson: line 1, byte 5: invalid character '1' after object key`, 0},
		{"trailing comma", `[1,2,]`, `ndjson: line 1, byte 5: invalid character ']' looking for beginning of value`, 0},
		{"bad key", `{1:2}`, `ndjson: line 1, byte 1: invalid character '1' looking for beginning of object key string`, 0},
		{"control char in string", "{\"a\":\"x\ty\"}", `ndjson: line 1, byte 7: invalid character '\t' in string literal`, 0},
		{"bad escape", `{"a":"\x"}`, `ndjson: line 1, byte 7: invalid character 'x' in string escape code`, 0},
		{"bad unicode escape", `{"a":"\u12G4"}`, `ndjson: line 1, byte 10: invalid character 'G' in \u hexadecimal character escape`, 0},
		{"leading zero", `[01]`, `ndjson: line 1, byte 2: invalid character '1' after array element`, 0},
		{"bare minus", `[-]`, `ndjson: line 1, byte 2: invalid character ']' in numeric literal`, 0},
		{"bad fraction", `[1.e5]`, `ndjson: line 1, byte 3: invalid character 'e' after decimal point in numeric literal`, 0},
		{"bad exponent", `[1e+]`, `ndjson: line 1, byte 4: invalid character ']' in exponent of numeric literal`, 0},
		{"single quotes", `{'a':1}`, `ndjson: line 1, byte 1: invalid character '\'' looking for beginning of object key string`, 0},
		{"non-ascii garbage", "\xff", `ndjson: line 1, byte 0: invalid character byte 0xff looking for beginning of value`, 0},
		{"error on line 12", strings.Repeat("{\"ok\":true}\n", 11) + `{"email": "a@b.c", "x": nul}`, `ndjson: line 12, byte 27: invalid character '}' in literal null (expecting 'l')`, 11},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, _, err := readAll(FormatNDJSON, tt.in, Options{})
			if err == nil {
				t.Fatalf("no error; records %v", recs)
			}
			mustEqual(t, "error", err.Error(), tt.want)
			mustEqual(t, "records before the error", len(recs), tt.records)
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("error %T is not a *SyntaxError", err)
			}
		})
	}
}

func TestJSONDepthLimit(t *testing.T) {
	ok := strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth)
	if _, _, err := readAll(FormatNDJSON, ok, Options{}); err != nil {
		t.Fatalf("depth %d: %v", MaxDepth, err)
	}
	if _, _, err := readAll(FormatJSON, "["+ok+"]", Options{}); !errors.Is(err, ErrTooDeep) {
		t.Fatalf("json depth %d: got %v, want ErrTooDeep", MaxDepth+1, err)
	}
	deep := strings.Repeat(`{"a":`, MaxDepth+1) + "1" + strings.Repeat("}", MaxDepth+1)
	_, _, err := readAll(FormatNDJSON, deep, Options{})
	if !errors.Is(err, ErrTooDeep) {
		t.Fatalf("got %v, want ErrTooDeep", err)
	}
	mustEqual(t, "error", err.Error(), "ndjson: line 1, byte 2560: nesting exceeds max depth 512")
}

func TestJSONDocuments(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
		raws []string // Raw of every record, framing-only ones included
	}{
		{name: "empty input", in: ""},
		{name: "whitespace only", in: " \n\t\n", raws: []string{""}},
		{
			name: "one object",
			in:   "{\n  \"user\": {\"email\": \"li.wei@example.cn\", \"age\": 41}\n}\n",
			want: []string{`user.email:string="li.wei@example.cn" user.age:number="41"`},
			raws: []string{"{\n  \"user\": {\"email\": \"li.wei@example.cn\", \"age\": 41}\n}"},
		},
		{
			name: "top-level array of objects: one record per element",
			in:   "[\n  {\"name\": \"Ana\", \"email\": \"ana@example.com\"},\n  {\"name\": \"Bo\", \"email\": null}\n]\n",
			want: []string{`[].name:string="Ana" [].email:string="ana@example.com"`, `[].name:string="Bo" [].email:null=""`},
			raws: []string{`{"name": "Ana", "email": "ana@example.com"}`, `{"name": "Bo", "email": null}`},
		},
		{
			name: "array of scalars",
			in:   `["a@b.c", 7, true]`,
			want: []string{`[]:string="a@b.c"`, `[]:number="7"`, `[]:bool="true"`},
			raws: []string{`"a@b.c"`, `7`, `true`},
		},
		{
			name: "empty array is one record",
			in:   "[ ]\n",
			raws: []string{"[ ]"},
		},
		{
			name: "sequence of documents",
			in:   "{\"a\":1}\n{\"a\":2} [3]\"s\"\n\n",
			want: []string{`a:number="1"`, `a:number="2"`, `[]:number="3"`, `:string="s"`},
			raws: []string{`{"a":1}`, `{"a":2}`, `3`, `"s"`, ""},
		},
		{
			name: "scalar document",
			in:   "  -12.5e3  ",
			want: []string{`:number="-12.5e3"`},
			raws: []string{"-12.5e3"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, src := range []string{"whole", "byte-at-a-time"} {
				var recs []recSnap
				var err error
				if src == "whole" {
					recs, _, err = readAll(FormatJSON, tt.in, Options{})
				} else {
					recs, _, err = readAllFrom(oneByteReader{strings.NewReader(tt.in)}, FormatJSON, Options{})
				}
				if err != nil {
					t.Fatalf("%s: %v", src, err)
				}
				if got := fieldsOf(recs); !slices.Equal(got, tt.want) {
					t.Errorf("%s: fields:\n got %q\nwant %q", src, got, tt.want)
				}
				var raws []string
				for _, r := range recs {
					raws = append(raws, r.Raw)
				}
				if !slices.Equal(raws, tt.raws) {
					t.Errorf("%s: raws:\n got %q\nwant %q", src, raws, tt.raws)
				}
				out, err := rewrite(FormatJSON, tt.in, Options{}, nil)
				if err != nil || out != tt.in {
					t.Errorf("%s: round trip: %q, %v", src, out, err)
				}
			}
		})
	}
}

func TestJSONDocumentLines(t *testing.T) {
	in := "[\n  {\"a\": 1},\n\n  {\"a\": 2}\n]\n{\"b\": 3}\n"
	recs, _, err := readAll(FormatJSON, in, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var lines []int
	for _, r := range recs {
		lines = append(lines, r.Line)
	}
	if want := []int{2, 4, 6}; !slices.Equal(lines, want) {
		t.Errorf("lines: got %v, want %v", lines, want)
	}
}

func TestJSONDocumentErrors(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"bad element fails before any record", "[\n  {\"a\": 1},\n  {\"a\": 2,}\n]", `json: line 3, byte 10: invalid character '}' looking for beginning of object key string`},
		{"truncated document", "{\"a\": [1, 2", `json: line 1, byte 11: unexpected end of JSON input`},
		{"mismatched bracket", "{\"a\": 1]", `json: line 1, byte 7: invalid character ']' after object key:value pair`},
		{"second document bad", "{}\n  {\"a\" 1}", `json: line 2, byte 7: invalid character '1' after object key`},
		{"same-line second document", `{} {"a" 1}`, `json: line 1, byte 8: invalid character '1' after object key`},
		{"stray close", "]", `json: line 1, byte 0: invalid character ']' looking for beginning of value`},
		{"glued literal", "truex", `json: line 1, byte 4: invalid character 'x' after top-level value`},
		{"array garbage", `[1 2]`, `json: line 1, byte 3: invalid character '2' after array element`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, _, err := readAll(FormatJSON, tt.in, Options{})
			if err == nil {
				t.Fatalf("no error; records %v", recs)
			}
			mustEqual(t, "error", err.Error(), tt.want)
			if strings.HasPrefix(tt.name, "bad element") && len(recs) != 0 {
				t.Errorf("%d records handed out before the error", len(recs))
			}
		})
	}
}

func TestMaxRecordSize(t *testing.T) {
	opts := Options{MaxRecordSize: 64}
	line := `{"k":"` + strings.Repeat("x", 50) + `"}` + "\n" // 59 bytes
	long := `{"k":"` + strings.Repeat("x", 70) + `"}` + "\n"
	for _, f := range []Format{FormatNDJSON, FormatJSON, FormatText, FormatCSV, FormatLines} {
		t.Run(f.String(), func(t *testing.T) {
			in := line + line + line
			if f == FormatCSV {
				in = "k\n" + strings.ReplaceAll(in, `"`, "")
			}
			if _, _, err := readAll(f, in, opts); err != nil {
				t.Fatalf("records under the limit: %v", err)
			}
			in = line + long
			if f == FormatCSV {
				in = "k\n" + strings.ReplaceAll(in, `"`, "")
			}
			_, _, err := readAll(f, in, opts)
			if !errors.Is(err, ErrRecordTooLarge) {
				t.Fatalf("got %v, want ErrRecordTooLarge", err)
			}
			if !strings.Contains(err.Error(), "record exceeds max record size (64 bytes)") || !strings.HasPrefix(err.Error(), f.String()+": line ") {
				t.Errorf("unclear error: %v", err)
			}
		})
	}
}
