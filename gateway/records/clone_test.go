package records

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

// TestCopyToSurvivesReader holds copies of every record while the reader
// reuses its buffers, then writes them: the output must equal the input.
func TestCopyToSurvivesReader(t *testing.T) {
	inputs := map[Format]string{
		FormatNDJSON: "{\"a\":\"x\\n\",\"b\":1}\n{\"a\":\"y\",\"b\":[true,null]}\n",
		FormatJSON:   "[{\"a\":\"\\u00e9\"}, {\"a\":2}]\n",
		FormatCSV:    "a,b\n\"q,\"\"x\",2\r\n3,4\n",
		FormatText:   "one\ntwo\nthree",
	}
	for f, in := range inputs {
		rd := NewReader(strings.NewReader(in), f, Options{})
		var held []Record
		var arena [][]byte
		alloc := func(n int) []byte { b := make([]byte, n); arena = append(arena, b); return b }
		for {
			rec, err := rd.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%v: %v", f, err)
			}
			var c Record
			rec.CopyTo(&c, alloc)
			held = append(held, c)
		}
		var out bytes.Buffer
		w := NewWriter(&out, f, Options{})
		for i := range held {
			if err := w.Write(&held[i], nil); err != nil {
				t.Fatalf("%v: %v", f, err)
			}
		}
		w.Flush()
		if out.String() != in {
			t.Errorf("%v: got %q, want %q", f, out.String(), in)
		}
	}
}
