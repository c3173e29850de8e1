package policy

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/sluicegw/sluice/gateway/records"
)

// smallReads caps every read at n bytes, as a chunked HTTP body or a pipe
// delivers its input.
type smallReads struct {
	r io.Reader
	n int
}

func (s smallReads) Read(p []byte) (int, error) {
	return s.r.Read(p[:min(len(p), s.n)])
}

// TestMaskStreamSmallReads: input in small reads is handed over in
// partial chunks; the batch must not wait for FlushAfter when the reader
// runs out of chunks (it used to, every ~100 records: 0.4 MB/s through the
// HTTP engine).
func TestMaskStreamSmallReads(t *testing.T) {
	var in bytes.Buffer
	for i := range 5000 {
		fmt.Fprintf(&in, `{"id":%d,"email":"user%d@example.com","note":"a note long enough to be a record of some size"}`+"\n", i, i)
	}
	want := in.Bytes()
	// FlushAfter is far beyond the context's deadline: only the batch
	// rules can write the records in time.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// Sniffed (through a bufio.Reader) and given (straight to the
	// tokenizer).
	for _, f := range []records.Format{0, records.FormatNDJSON} {
		var out bytes.Buffer
		st, err := MaskStream(ctx, NewMasker(nil), smallReads{bytes.NewReader(want), 1024}, &out,
			StreamOptions{Format: f, FlushAfter: time.Hour})
		if err != nil {
			t.Fatalf("format %d: %v after %d records", f, err, st.Records)
		}
		if !bytes.Equal(out.Bytes(), want) || st.Records != 5000 || st.Format != records.FormatNDJSON {
			t.Fatalf("format %d: %d records, %d of %d bytes, format %d", f, st.Records, out.Len(), len(want), st.Format)
		}
		if st.Batches < 5000/DefaultBatchRecords {
			t.Fatalf("format %d: %d batches", f, st.Batches)
		}
	}
}
