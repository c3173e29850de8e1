package records

import (
	"io"
	"strings"
	"testing"
)

// Allocation budgets: once buffers are warm, tokenizing a record and
// writing it back must not allocate.

const (
	ndjsonRecord = `{"id":10432,"customer":{"name":"Ana Souza","email":"ana.souza@example.com","phone":"+55 11 91234-5678"},"items":[{"sku":"A-1","qty":2},{"sku":"B-7","qty":1}],"vip":true,"note":"caf\u00e9 \"corner\""}` + "\n"
	csvHeader    = "id,name,email,phone,card,city,created_at,note\r\n"
	csvRecord    = `10432,"Souza, Ana",ana.souza@example.com,+55 11 91234-5678,4111111111111111,São Paulo,2024-03-01T12:00:00Z,"said ""hi"" twice, then asked to be called back on the landline after 6pm; prefers email"` + "\r\n"
	textRecord   = "2024-03-01T12:00:00Z INFO user=ana.souza@example.com ip=203.0.113.7 card=4111111111111111 msg=\"checkout completed\" cart=7f3a9c21 items=3 total=129.90 dur=120ms trace=4bf92f3577b34da6\n"
)

func steadyReader(f Format, prefix, body string) Reader {
	return NewReader(&loopReader{prefix: []byte(prefix), body: []byte(strings.Repeat(body, 50))}, f, Options{})
}

func assertNoAllocs(t *testing.T, name string, fn func()) {
	t.Helper()
	for range 200 { // warm up: buffers grow to their steady size
		fn()
	}
	if n := testing.AllocsPerRun(1000, fn); n != 0 {
		t.Errorf("%s: %v allocs per record, want 0", name, n)
	}
}

func TestAllocsTokenize(t *testing.T) {
	for _, tt := range []struct {
		f              Format
		prefix, record string
	}{
		{FormatNDJSON, "", ndjsonRecord},
		{FormatCSV, csvHeader, csvRecord},
		{FormatText, "", textRecord},
		{FormatJSON, "", ndjsonRecord}, // a stream of documents
	} {
		rd := steadyReader(tt.f, tt.prefix, tt.record)
		assertNoAllocs(t, tt.f.String(), func() {
			rec, err := rd.Next()
			if err != nil || len(rec.Fields) == 0 {
				t.Fatalf("Next: %v", err)
			}
		})
	}
}

func TestAllocsJSONArrayElements(t *testing.T) {
	// One document of 3,000 elements: validated once, then handed out
	// element by element without allocating.
	elem := strings.TrimSuffix(ndjsonRecord, "\n")
	doc := "[" + strings.Repeat(elem+",\n", 2999) + elem + "]\n"
	rd := NewReader(strings.NewReader(doc), FormatJSON, Options{})
	assertNoAllocs(t, "json array element", func() {
		rec, err := rd.Next()
		if err != nil || len(rec.Fields) == 0 {
			t.Fatalf("Next: %v", err)
		}
	})
}

func TestAllocsWrite(t *testing.T) {
	for _, tt := range []struct {
		f              Format
		prefix, record string
	}{
		{FormatNDJSON, "", ndjsonRecord},
		{FormatCSV, csvHeader, csvRecord},
		{FormatText, "", textRecord},
	} {
		rd := steadyReader(tt.f, tt.prefix, tt.record)
		wr := NewWriter(io.Discard, tt.f, Options{})
		rec, err := rd.Next()
		if err != nil {
			t.Fatal(err)
		}
		assertNoAllocs(t, tt.f.String()+" no edits", func() {
			if err := wr.Write(rec, nil); err != nil {
				t.Fatal(err)
			}
		})
		edits := []Edit{
			{Op: EditReplaceRange, Field: 0, Off: 1, Len: 2, Data: []byte("**")},
			{Op: EditReplace, Field: len(rec.Fields) - 1, Data: []byte("masked, \"quoted\"")},
		}
		assertNoAllocs(t, tt.f.String()+" with edits", func() {
			if err := wr.Write(rec, edits); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestAllocsReadWriteLoop(t *testing.T) {
	rd := steadyReader(FormatNDJSON, "", ndjsonRecord)
	wr := NewWriter(io.Discard, FormatNDJSON, Options{})
	edits := make([]Edit, 1)
	mask := []byte("***")
	assertNoAllocs(t, "ndjson read+mask+write", func() {
		rec, err := rd.Next()
		if err != nil {
			t.Fatal(err)
		}
		edits[0] = Edit{Op: EditReplace, Field: fieldNamed(rd.Schema(), rec, "customer.email"), Data: mask}
		if err := wr.Write(rec, edits); err != nil {
			t.Fatal(err)
		}
	})
}

func TestBenchRecordSizes(t *testing.T) {
	for _, r := range []string{ndjsonRecord, csvRecord, textRecord} {
		if len(r) < 180 || len(r) > 230 {
			t.Errorf("benchmark record of %d bytes, want ~200: %q", len(r), r)
		}
	}
}
