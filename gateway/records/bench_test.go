package records

import (
	"io"
	"testing"
)

// Each benchmark op is one ~200-byte record from an endless stream.

func benchTokenize(b *testing.B, f Format, prefix, record string) {
	rd := steadyReader(f, prefix, record)
	b.ReportAllocs()
	b.SetBytes(int64(len(record)))
	for b.Loop() {
		if _, err := rd.Next(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNDJSONTokenize(b *testing.B) { benchTokenize(b, FormatNDJSON, "", ndjsonRecord) }
func BenchmarkCSVTokenize(b *testing.B)    { benchTokenize(b, FormatCSV, csvHeader, csvRecord) }
func BenchmarkTextTokenize(b *testing.B)   { benchTokenize(b, FormatText, "", textRecord) }

func BenchmarkNDJSONMaskWrite(b *testing.B) {
	rd := steadyReader(FormatNDJSON, "", ndjsonRecord)
	wr := NewWriter(io.Discard, FormatNDJSON, Options{})
	edits := make([]Edit, 1)
	mask := []byte("*********")
	b.ReportAllocs()
	b.SetBytes(int64(len(ndjsonRecord)))
	for b.Loop() {
		rec, err := rd.Next()
		if err != nil {
			b.Fatal(err)
		}
		edits[0] = Edit{Op: EditReplaceRange, Field: 2, Off: 0, Len: 9, Data: mask}
		if err := wr.Write(rec, edits); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCSVMaskWrite(b *testing.B) {
	rd := steadyReader(FormatCSV, csvHeader, csvRecord)
	wr := NewWriter(io.Discard, FormatCSV, Options{})
	edits := make([]Edit, 1)
	mask := []byte("****")
	b.ReportAllocs()
	b.SetBytes(int64(len(csvRecord)))
	for b.Loop() {
		rec, err := rd.Next()
		if err != nil {
			b.Fatal(err)
		}
		edits[0] = Edit{Op: EditReplace, Field: 4, Data: mask}
		if err := wr.Write(rec, edits); err != nil {
			b.Fatal(err)
		}
	}
}
