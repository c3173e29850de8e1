package abi

import (
	"bytes"
	"errors"
	"testing"
)

func buildBatch(bb *BatchBuilder) []byte {
	bb.Reset()
	email := bb.AddColumn([]byte("email"), TypeText, 25)
	note := bb.AddColumn([]byte("note"), TypeText, 25)
	bb.BeginRecord()
	f := bb.AddField(email, KindString, false, []byte("ann@example.com"))
	bb.AddFinding(f, 0, 15, DetectEmail)
	bb.AddField(note, KindNull, true, nil)
	bb.BeginRecord()
	bb.AddField(email, KindString, false, []byte("bob@example.org"))
	bb.AddField(note, KindString, false, []byte("héllo ✓"))
	buf := make([]byte, bb.Size())
	if n := bb.Encode(buf); n != len(buf) {
		panic("size mismatch")
	}
	return buf
}

func TestBatchRoundTrip(t *testing.T) {
	var bb BatchBuilder
	buf := buildBatch(&bb)
	b, err := ParseBatch(buf)
	if err != nil {
		t.Fatal(err)
	}
	if b.NumColumns() != 2 || b.NumRecords() != 2 || b.NumFields() != 4 || b.NumFindings() != 1 {
		t.Fatalf("counts: %d %d %d %d", b.NumColumns(), b.NumRecords(), b.NumFields(), b.NumFindings())
	}
	if c := b.Column(1); string(c.Name) != "note" || c.Type != TypeText || c.SourceType != 25 {
		t.Fatalf("column: %+v", c)
	}
	if b.ColumnIndex("note") != 1 || b.ColumnIndex("nope") != -1 {
		t.Fatal("ColumnIndex")
	}
	first, n := b.Record(1)
	if first != 2 || n != 2 {
		t.Fatalf("record 1: %d %d", first, n)
	}
	if f := b.Field(1); !f.Null || f.Kind != KindNull || len(f.Value) != 0 {
		t.Fatalf("null field: %+v", f)
	}
	if f := b.Field(3); string(f.Value) != "héllo ✓" || f.Column != 1 {
		t.Fatalf("utf-8 field: %+v", f)
	}
	if fd := b.Finding(0); fd.Field != 0 || fd.Len != 15 || fd.Detector != DetectEmail {
		t.Fatalf("finding: %+v", fd)
	}
}

func TestEditsRoundTrip(t *testing.T) {
	var bb BatchBuilder
	b, _ := ParseBatch(buildBatch(&bb))
	out := make([]byte, 256)
	w := NewEditWriter(out)
	copy(b.Field(0).Value[0:3], "***")
	w.InPlace(0, 0, 3)
	w.Replace(2, []byte("x"))
	w.ReplaceRange(3, 1, 2, []byte("ZZZZ"))
	w.Nullify(0)
	w.Drop(1)
	if w.Full() {
		t.Fatal("full")
	}
	n := w.Finish()
	e, err := ParseEdits(out[:n], &b)
	if err != nil {
		t.Fatal(err)
	}
	var got []Edit
	for it := e.Iter(); it.Next(); {
		got = append(got, it.Edit())
	}
	want := []Edit{{EditInPlace, 0, 0, 3, nil}, {EditReplace, 2, 0, 0, []byte("x")}, {EditReplaceRange, 3, 1, 2, []byte("ZZZZ")}, {EditNullify, 0, 0, 0, nil}, {EditDrop, 1, 0, 0, nil}}
	if len(got) != len(want) {
		t.Fatalf("got %d edits", len(got))
	}
	for i := range want {
		if got[i].Op != want[i].Op || got[i].Target != want[i].Target || got[i].Off != want[i].Off || got[i].Len != want[i].Len || !bytes.Equal(got[i].Data, want[i].Data) {
			t.Errorf("edit %d: got %+v want %+v", i, got[i], want[i])
		}
	}
	if string(b.Field(0).Value) != "***@example.com" {
		t.Fatalf("in place: %q", b.Field(0).Value)
	}
}

func TestEditsRejectOutOfRange(t *testing.T) {
	var bb BatchBuilder
	b, _ := ParseBatch(buildBatch(&bb))
	cases := map[string]func(w *EditWriter){
		"field out of range":        func(w *EditWriter) { w.Replace(4, nil) },
		"record out of range":       func(w *EditWriter) { w.Drop(2) },
		"range out of field value":  func(w *EditWriter) { w.ReplaceRange(0, 10, 6, nil) },
		"range out of field value2": func(w *EditWriter) { w.InPlace(1, 0, 1) },
	}
	for name, add := range cases {
		out := make([]byte, 128)
		w := NewEditWriter(out)
		add(&w)
		_, err := ParseEdits(out[:w.Finish()], &b)
		var de *DecodeError
		if !errors.As(err, &de) || de.Index != 0 {
			t.Errorf("%s: got %v", name, err)
		}
	}
}

func TestEditWriterFull(t *testing.T) {
	out := make([]byte, 40)
	w := NewEditWriter(out)
	w.Replace(0, []byte("0123456789"))
	if !w.Full() || w.Len() != 0 {
		t.Fatal("expected full")
	}
}

func TestCommandRoundTrip(t *testing.T) {
	var cb CommandBuilder
	cb.Set(CommandSQL, "DELETE FROM users", "ci-deploy", "orders")
	cb.AddFact(0, "tag", "DELETE")
	cb.AddFact(0, "where", "false")
	cb.AddFact(0, "relation", "public.users")
	buf := make([]byte, cb.Size())
	cb.Encode(buf)
	c, err := ParseCommand(buf)
	if err != nil {
		t.Fatal(err)
	}
	if c.Kind() != CommandSQL || string(c.Text()) != "DELETE FROM users" || string(c.Identity()) != "ci-deploy" || string(c.Target()) != "orders" {
		t.Fatalf("command: %v %q %q %q", c.Kind(), c.Text(), c.Identity(), c.Target())
	}
	if v, ok := c.Lookup(0, "where"); !ok || string(v) != "false" {
		t.Fatalf("lookup: %q %v", v, ok)
	}
	if f := c.Fact(2); string(f.Key) != "relation" || string(f.Value) != "public.users" {
		t.Fatalf("fact: %+v", f)
	}
}

func TestVerdictAndOutput(t *testing.T) {
	region := make([]byte, 64)
	n := PutVerdict(Payload(region), Block, "no DROP")
	FinishOutput(region, n)
	p, err := ParseOutput(region)
	if err != nil {
		t.Fatal(err)
	}
	v, reason, err := ParseVerdict(p)
	if err != nil || v != Block || string(reason) != "no DROP" {
		t.Fatalf("%v %q %v", v, reason, err)
	}
	if PutVerdict(make([]byte, 4), Allow, "") != -1 {
		t.Fatal("expected no space")
	}
}

func TestDecodeAllocs(t *testing.T) {
	var bb BatchBuilder
	buf := buildBatch(&bb)
	dst := make([]byte, len(buf))
	allocs := testing.AllocsPerRun(100, func() {
		bb.Reset()
		c := bb.AddColumn([]byte("email"), TypeText, 0)
		for i := 0; i < 4; i++ {
			bb.BeginRecord()
			bb.AddField(c, KindString, false, []byte("a@b.c"))
		}
		bb.Encode(dst[:bb.Size()])
		b, err := ParseBatch(dst[:bb.Size()])
		if err != nil {
			panic(err)
		}
		for i := 0; i < b.NumFields(); i++ {
			_ = b.Field(i)
		}
	})
	if allocs != 0 {
		t.Fatalf("allocs per batch = %v, want 0", allocs)
	}
}

func FuzzParseBatch(f *testing.F) {
	var bb BatchBuilder
	f.Add(buildBatch(&bb))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, buf []byte) {
		b, err := ParseBatch(buf)
		if err != nil {
			return
		}
		for i := 0; i < b.NumColumns(); i++ {
			_ = b.Column(i)
		}
		for i := 0; i < b.NumRecords(); i++ {
			first, n := b.Record(i)
			for j := first; j < first+n; j++ {
				_ = b.Field(j)
			}
		}
		for i := 0; i < b.NumFindings(); i++ {
			fd := b.Finding(i)
			_ = b.Field(fd.Field).Value[fd.Off : fd.Off+fd.Len]
		}
		out := make([]byte, 64+len(buf))
		w := NewEditWriter(out)
		if b.NumFields() > 0 {
			w.Replace(0, buf[:len(buf)%7])
		}
		if _, err := ParseEdits(out[:w.Finish()], &b); err != nil {
			t.Fatalf("valid edits rejected: %v", err)
		}
	})
}

func FuzzParseEdits(f *testing.F) {
	var bb BatchBuilder
	batch := buildBatch(&bb)
	b, _ := ParseBatch(batch)
	out := make([]byte, 256)
	w := NewEditWriter(out)
	w.ReplaceRange(3, 1, 2, []byte("ZZ"))
	w.Drop(1)
	f.Add(out[:w.Finish()])
	f.Fuzz(func(t *testing.T, payload []byte) {
		e, err := ParseEdits(payload, &b)
		if err != nil {
			return
		}
		e.Each(func(ed Edit) {
			if ed.Op == EditInPlace || ed.Op == EditReplaceRange {
				_ = b.Field(ed.Target).Value[ed.Off : ed.Off+ed.Len]
			}
		})
	})
}

func FuzzParseCommand(f *testing.F) {
	var cb CommandBuilder
	cb.Set(CommandShell, "rm -rf /", "bot", "host")
	cb.AddFact(0, "argv0", "rm")
	buf := make([]byte, cb.Size())
	cb.Encode(buf)
	f.Add(buf)
	f.Fuzz(func(t *testing.T, buf []byte) {
		c, err := ParseCommand(buf)
		if err != nil {
			return
		}
		for i := 0; i < c.NumFacts(); i++ {
			_ = c.Fact(i)
		}
		_, _ = c.Lookup(-1, "x")
	})
}

func FuzzParseOutput(f *testing.F) {
	f.Add([]byte{3, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0})
	f.Fuzz(func(t *testing.T, region []byte) {
		p, err := ParseOutput(region)
		if err != nil {
			return
		}
		_, _, _ = ParseVerdict(p)
		_, _ = ParsePlan(p, len(p))
	})
}
