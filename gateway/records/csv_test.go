package records

import (
	"encoding/csv"
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestCSVTokenize(t *testing.T) {
	tests := []struct {
		name string
		in   string
		opts Options
		want []string
		cols []string
	}{
		{name: "empty input", in: ""},
		{name: "header only", in: "id,email\n", cols: []string{"id", "email"}},
		{
			name: "customers",
			in:   "id,name,email,card\n1,Ana Souza,ana@example.com,4111111111111111\n2,\"Smith, John\",john@example.com,\n",
			want: []string{
				`id:string="1" name:string="Ana Souza" email:string="ana@example.com" card:string="4111111111111111"`,
				`id:string="2" name:string="Smith, John" email:string="john@example.com" card:string=""`,
			},
			cols: []string{"id", "name", "email", "card"},
		},
		{
			name: "quotes, escapes, embedded newlines, crlf",
			in:   "id,note\r\n1,\"said \"\"hi\"\"\"\r\n2,\"line one\r\nline two\"\r\n3,\"\"\r\n",
			want: []string{`id:string="1" note:string="said \"hi\""`, `id:string="2" note:string="line one\r\nline two"`, `id:string="3" note:string=""`},
		},
		{
			name: "no trailing newline",
			in:   "a,b\n1,2",
			want: []string{`a:string="1" b:string="2"`},
		},
		{
			name: "trailing CR at end of input ends the row",
			in:   "a,b\n1,2\r",
			want: []string{`a:string="1" b:string="2"`},
		},
		{
			name: "lone CR is data",
			in:   "a,b\nx\ry,z\n",
			want: []string{`a:string="x\ry" b:string="z"`},
		},
		{
			name: "blank lines are records without fields",
			in:   "\na,b\n\n1,2\n\r\n3,4\n",
			want: []string{`a:string="1" b:string="2"`, `a:string="3" b:string="4"`},
		},
		{
			name: "ragged rows get numbered columns",
			in:   "a,b\n1\n1,2,3\n",
			want: []string{`a:string="1"`, `a:string="1" b:string="2" 3:string="3"`},
			cols: []string{"a", "b", "3"},
		},
		{
			name: "no header",
			in:   "ana@example.com,4111\nbo@example.com,5500\n",
			opts: Options{CSVNoHeader: true},
			want: []string{`1:string="ana@example.com" 2:string="4111"`, `1:string="bo@example.com" 2:string="5500"`},
			cols: []string{"1", "2"},
		},
		{
			name: "tab separated",
			in:   "name\temail\nJosé María\tjm@example.es\n",
			opts: Options{CSVComma: '\t'},
			want: []string{`name:string="José María" email:string="jm@example.es"`},
		},
		{
			name: "empty fields and spaces kept",
			in:   "a,b,c\n, x ,\n",
			want: []string{`a:string="" b:string=" x " c:string=""`},
		},
		{
			name: "quoted header names",
			in:   "\"e,mail\",\"na\"\"me\"\nx,y\n",
			want: []string{`e,mail:string="x" na"me:string="y"`},
			cols: []string{"e,mail", `na"me`},
		},
		{
			name: "multi-byte utf-8",
			in:   "名前,メール\n山田太郎,taro@example.jp\n",
			want: []string{`名前:string="山田太郎" メール:string="taro@example.jp"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, src := range []string{"whole", "byte-at-a-time"} {
				var recs []recSnap
				var s *Schema
				var err error
				if src == "whole" {
					recs, s, err = readAll(FormatCSV, tt.in, tt.opts)
				} else {
					recs, s, err = readAllFrom(oneByteReader{strings.NewReader(tt.in)}, FormatCSV, tt.opts)
				}
				if err != nil {
					t.Fatalf("%s: %v", src, err)
				}
				if got := fieldsOf(recs); !slices.Equal(got, tt.want) {
					t.Errorf("%s: fields:\n got %q\nwant %q", src, got, tt.want)
				}
				if tt.cols != nil && !slices.Equal(s.Columns(), tt.cols) {
					t.Errorf("%s: columns: got %q, want %q", src, s.Columns(), tt.cols)
				}
			}
			out, err := rewrite(FormatCSV, tt.in, tt.opts, nil)
			if err != nil || out != tt.in {
				t.Errorf("round trip: %q, %v", out, err)
			}
			if tt.opts.CSVComma == 0 {
				checkAgainstEncodingCSV(t, tt.in, tt.opts)
			}
		})
	}
}

// checkAgainstEncodingCSV reads in with encoding/csv and with the CSV
// reader and wants the same rows.
func checkAgainstEncodingCSV(t *testing.T, in string, opts Options) {
	t.Helper()
	cr := csv.NewReader(strings.NewReader(in))
	cr.FieldsPerRecord = -1
	want, stdErr := cr.ReadAll()
	opts.CSVNoHeader = true // compare every row, header included
	recs, _, err := readAll(FormatCSV, in, opts)
	if (err == nil) != (stdErr == nil) {
		t.Fatalf("encoding/csv error %v, ours %v", stdErr, err)
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
			// encoding/csv turns CRLF inside quoted fields into LF.
			row = append(row, strings.ReplaceAll(f.Value, "\r\n", "\n"))
		}
		got = append(got, row)
	}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("rows differ from encoding/csv:\n got %q\nwant %q", got, want)
	}
}

func TestCSVErrors(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"bare quote", "id,email\n7,ana\"@example.com\n", `csv: line 2, byte 5: bare quote in unquoted field (RFC 4180 §2.5: a field with quotes must be quoted)`},
		{"unterminated quote", "id,note\n1,ok\n2,\"never\nclosed\n", `csv: line 3, byte 2: quoted field not terminated before end of input`},
		{"text after closing quote", "a,b\n\"x\"y,z\n", `csv: line 2, byte 3: invalid character 'y' after closing quote (RFC 4180 §2.7: a quote inside a quoted field is written "")`},
		{"error after multi-line field", "a,b\n\"1\n2\n3\",x\"\n", `csv: line 4, byte 4: bare quote in unquoted field (RFC 4180 §2.5: a field with quotes must be quoted)`},
		{"space before quote", "a,b\n1, \"x\"\n", `csv: line 2, byte 3: bare quote in unquoted field (RFC 4180 §2.5: a field with quotes must be quoted)`},
		{"quote then CR", "a\n\"x\"\ry\n", `csv: line 2, byte 3: invalid character '\r' after closing quote (RFC 4180 §2.7: a quote inside a quoted field is written "")`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := readAll(FormatCSV, tt.in, Options{})
			if err == nil {
				t.Fatal("no error")
			}
			mustEqual(t, "error", err.Error(), tt.want)
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Errorf("%T is not a *SyntaxError", err)
			}
			checkAgainstEncodingCSV(t, tt.in, Options{})
		})
	}
}

func TestCSVHeaderFraming(t *testing.T) {
	in := "id,email\n1,a@example.com\n2,b@example.com\n"
	// The header is never a record, and is written even if the first row
	// is dropped.
	out, err := rewrite(FormatCSV, in, Options{}, func(i int, rec *Record) []Edit {
		if i == 0 {
			return []Edit{{Op: EditDrop}}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "output", out, "id,email\n2,b@example.com\n")

	recs, _, err := readAll(FormatCSV, "id,email\n", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || len(recs[0].Fields) != 0 {
		t.Fatalf("header-only input: got %v, want one framing record", recs)
	}
	out, err = rewrite(FormatCSV, "id,email\n", Options{}, func(int, *Record) []Edit { return []Edit{{Op: EditDrop}} })
	if err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "header-only output after drop", out, "id,email\n")
}

func TestCSVOptionErrors(t *testing.T) {
	rd := NewReader(strings.NewReader("a"), FormatCSV, Options{CSVComma: '"'})
	if _, err := rd.Next(); err == nil || err.Error() != `records: csv comma '"' is not allowed` {
		t.Errorf("got %v", err)
	}
	if _, err := NewReader(strings.NewReader("a"), Format(9), Options{}).Next(); err == nil || err.Error() != "records: unknown format 9" {
		t.Errorf("got %v", err)
	}
	if _, err := NewReader(strings.NewReader("a"), FormatText, Options{MaxRecordSize: -1}).Next(); err == nil {
		t.Error("negative max record size accepted")
	}
}
