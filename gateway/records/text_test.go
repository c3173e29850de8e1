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
