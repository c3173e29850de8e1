package records

import (
	"slices"
	"strings"
	"testing"
)

func TestTextTokenize(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"empty input", "", nil},
		{"trailing newline", "user=ana@example.com\nok\n", []string{`line:string="user=ana@example.com"`, `line:string="ok"`}},
		{"no trailing newline", "a\nb", []string{`line:string="a"`, `line:string="b"`}},
		{"crlf", "a\r\nb\r\n", []string{`line:string="a"`, `line:string="b"`}},
		{"empty lines are records", "\n\nx\n", []string{`line:string=""`, `line:string=""`, `line:string="x"`}},
		{"lone CR kept", "a\rb\n", []string{`line:string="a\rb"`}},
		{"utf-8 and invalid bytes", "Grüße \xff\n", []string{`line:string="Grüße \xff"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, s, err := readAll(FormatText, tt.in, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got := fieldsOf(recs); !slices.Equal(got, tt.want) {
				t.Errorf("fields:\n got %q\nwant %q", got, tt.want)
			}
			if !slices.Equal(s.Columns(), []string{"line"}) {
				t.Errorf("columns %q", s.Columns())
			}
			for i, r := range recs {
				mustEqual(t, "line number", r.Line, i+1)
			}
			out, err := rewrite(FormatText, tt.in, Options{}, nil)
			if err != nil || out != tt.in {
				t.Errorf("round trip: %q, %v", out, err)
			}
		})
	}
}

func TestTextLongLine(t *testing.T) {
	// Longer than the initial buffer, read in small pieces.
	line := strings.Repeat("0123456789", 20000)
	in := "short\n" + line + "\nend"
	recs, _, err := readAllFrom(oneByteReaderN{strings.NewReader(in), 4096}, FormatText, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 || recs[1].Fields[0].Value != line || recs[2].Raw != "end" {
		t.Fatalf("got %d records", len(recs))
	}
}

type oneByteReaderN struct {
	r interface{ Read([]byte) (int, error) }
	n int
}

func (o oneByteReaderN) Read(p []byte) (int, error) {
	if len(p) > o.n {
		p = p[:o.n]
	}
	return o.r.Read(p)
}

// TestLines: FormatLines reads a JSON object line as an NDJSON record and
// any other line as text, never failing; edits re-encode each by its own
// format, and unedited input round-trips byte for byte.
func TestLines(t *testing.T) {
	in := "starting\n{\"id\":1,\"email\":\"ann@example.com\"}\r\n{not json\n[1,2]\n  {\"id\":2,\"email\":\"b\\\"o@example.org\"}  \n\xff\x00 binary\n{\"cut\":"
	recs, s, err := readAll(FormatLines, in, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`line:string="starting"`, `id:number="1" email:string="ann@example.com"`, `line:string="{not json"`,
		`line:string="[1,2]"`, `id:number="2" email:string="b\"o@example.org"`, `line:string="\xff\x00 binary"`, `line:string="{\"cut\":"`}
	if got := fieldsOf(recs); !slices.Equal(got, want) {
		t.Errorf("fields:\n got %q\nwant %q", got, want)
	}
	if out, err := rewrite(FormatLines, in, Options{}, nil); err != nil || out != in {
		t.Errorf("round trip: %q, %v", out, err)
	}
	out, err := rewrite(FormatLines, in, Options{}, func(i int, rec *Record) []Edit {
		if f := fieldNamed(s, rec, "email"); f >= 0 {
			return []Edit{{Op: EditReplace, Field: f, Data: []byte(`m"x`)}}
		}
		if strings.HasPrefix(string(rec.Raw), "starting") {
			return []Edit{{Op: EditReplaceRange, Field: 0, Off: 0, Len: 5, Data: []byte("STA")}}
		}
		return nil
	})
	wantOut := strings.NewReplacer(`"ann@example.com"`, `"m\"x"`, `"b\"o@example.org"`, `"m\"x"`, "starting", "STAing").Replace(in)
	if err != nil || out != wantOut {
		t.Errorf("edited:\n got %q\nwant %q (%v)", out, wantOut, err)
	}
}
