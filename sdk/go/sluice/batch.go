package sluice

import (
	"iter"

	"github.com/sluicegw/sluice/abi"
)

// Batch is the Records hook's view of one batch of records (ABI.md 4.1).
// It and everything read from it (names, values) alias the arena: they are
// valid only during the hook call and must be copied to be kept.
//
// The accessors read the batch's tables directly (their layout is fixed by
// ABI.md "Batches" and validated once by abi.ParseBatch): in Go-compiled
// Wasm every non-inlined call and every copy of a struct larger than 16
// bytes (a memory.copy) costs more than the decoding itself, and Fields
// runs once per field of every batch.
type Batch struct {
	b abi.Batch
	// in is the encoded batch, recs, fields and data the offsets of its
	// record table, field table and data region.
	in                 []byte
	recs, fields, data int
	nRecs              int
	// names are the column names, decoded once per batch; the slice is
	// reused across batches (the dispatcher's Batch lives for the module).
	names [][]byte
}

// Batch layout constants (ABI.md "Batches"); abi.ParseBatch checks them.
const (
	batchHeaderSize = 32
	columnEntrySize = 16
	recordEntrySize = 8
	fieldEntrySize  = 16
	fieldKindMask   = 0xff
	fieldNull       = 1 << 8
)

// reset makes b a view of the batch in, which abi.ParseBatch validated as
// pb, reusing b's scratch.
func (b *Batch) reset(pb abi.Batch, in []byte) {
	b.b = pb
	b.in = in
	nc := pb.NumColumns()
	b.nRecs = pb.NumRecords()
	b.recs = batchHeaderSize + nc*columnEntrySize
	b.fields = b.recs + b.nRecs*recordEntrySize
	b.data = int(u32(in, 20))
	names := b.names[:0]
	for i := range nc {
		names = append(names, pb.Column(i).Name)
	}
	b.names = names
}

// Column is one column of a batch's schema. JSON columns are paths
// ("customer.email", "items[].email", "[].name"), CSV columns are header
// names, SQL columns are result column names and text has one column,
// "line".
type Column struct {
	Index      int
	Name       []byte // aliases the arena
	Type       ColumnType
	SourceType uint32 // the protocol's own type, e.g. a PostgreSQL type OID
}

// Record is one record of a batch: a contiguous run of its fields.
type Record struct {
	Index int
	b     *Batch
	first int
	n     int
}

// Field is one field value of a record. Pass it to the Edits methods to
// change it.
type Field struct {
	Index  int    // position in the batch's field table
	Record int    // index of the record the field belongs to
	Column int    // index of its column
	Name   []byte // its column's name; aliases the arena
	Kind   Kind
	Null   bool
	// Value is the decoded value: JSON strings unescaped, CSV unquoted,
	// numbers as their literal text, empty when Null. It aliases the
	// arena; Edits.Mask overwrites it in place.
	Value []byte
}

// NumColumns returns the number of columns.
func (b *Batch) NumColumns() int { return b.b.NumColumns() }

// Column returns column i.
func (b *Batch) Column(i int) Column {
	c := b.b.Column(i)
	return Column{Index: i, Name: c.Name, Type: c.Type, SourceType: c.SourceType}
}

// ColumnIndex returns the index of the column named name, or -1.
func (b *Batch) ColumnIndex(name string) int { return b.b.ColumnIndex(name) }

// Columns iterates over the columns in order.
func (b *Batch) Columns() iter.Seq[Column] {
	return func(yield func(Column) bool) {
		for i := range b.b.NumColumns() {
			if !yield(b.Column(i)) {
				return
			}
		}
	}
}

// NumRecords returns the number of records.
func (b *Batch) NumRecords() int { return b.b.NumRecords() }

// Record returns record i.
func (b *Batch) Record(i int) Record {
	first, n := b.b.Record(i)
	return Record{Index: i, b: b, first: first, n: n}
}

// Records iterates over the records in order.
func (b *Batch) Records() iter.Seq[Record] {
	return func(yield func(Record) bool) {
		for i := range b.b.NumRecords() {
			if !yield(b.Record(i)) {
				return
			}
		}
	}
}

// NumFields returns the number of fields of all records.
func (b *Batch) NumFields() int { return b.b.NumFields() }

// Field returns field i of the batch's field table. Finding the record of a
// field costs a binary search; iterate with Fields or Record.Fields to get
// it for free.
func (b *Batch) Field(i int) Field {
	if uint(i) >= uint(b.b.NumFields()) {
		panic("sluice: Batch.Field: index " + itoa(i) + " out of range [0:" + itoa(b.b.NumFields()) + "]")
	}
	lo, hi := 0, b.nRecs
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if first := int(u32(b.in, b.recs+m*recordEntrySize)); first <= i {
			lo = m + 1
		} else {
			hi = m
		}
	}
	// Records own consecutive runs that cover the field table, so the last
	// record starting at or before i holds it (an empty record starting
	// at i is followed by the one that holds i, which starts at i too).
	var f Field
	b.fill(&f, i, lo-1)
	return f
}

// fill sets *f to field i of record. It writes through a pointer: a Field
// returned by value would be copied (a memory.copy in Wasm) on every call.
func (b *Batch) fill(f *Field, i, record int) {
	e := b.in[b.fields+i*fieldEntrySize : b.fields+i*fieldEntrySize+fieldEntrySize]
	col := u32(e, 0)
	off, n := b.data+int(u32(e, 4)), int(u32(e, 8))
	flags := u32(e, 12)
	f.Index = i
	f.Record = record
	f.Column = int(col)
	f.Name = b.names[col]
	f.Kind = Kind(flags & fieldKindMask)
	f.Null = flags&fieldNull != 0
	f.Value = b.in[off : off+n : off+n]
}

// Fields iterates over every field of every record, record by record.
func (b *Batch) Fields() iter.Seq[Field] {
	return func(yield func(Field) bool) { b.eachField(0, b.nRecs, yield) }
}

// eachField is Fields' loop. It is a method, not the func literal's body:
// the calls in a func literal inlined into a plugin's hook are not inlined
// themselves, and in Wasm each would cost a call per field. It is called
// directly, not as a method value, so that yield does not escape.
func (b *Batch) eachField(r0, r1 int, yield func(Field) bool) {
	if r0 >= r1 {
		return
	}
	// Records are consecutive runs of the field table (ParseBatch checks
	// it), so the fields of records [r0, r1) are visited in table order
	// from the first one of r0. fill's body is repeated here: fill is too
	// large to inline.
	in, names, data := b.in, b.names, b.data
	var f Field
	i := int(u32(in, b.recs+r0*recordEntrySize))
	for r := r0; r < r1; r++ {
		end := i + int(u32(in, b.recs+r*recordEntrySize+4))
		for ; i < end; i++ {
			e := in[b.fields+i*fieldEntrySize : b.fields+i*fieldEntrySize+fieldEntrySize]
			col := u32(e, 0)
			off, n := data+int(u32(e, 4)), int(u32(e, 8))
			flags := u32(e, 12)
			f.Index = i
			f.Record = r
			f.Column = int(col)
			f.Name = names[col]
			f.Kind = Kind(flags & fieldKindMask)
			f.Null = flags&fieldNull != 0
			f.Value = in[off : off+n : off+n]
			if !yield(f) {
				return
			}
		}
	}
}

// NumFindings returns the number of host detector findings.
func (b *Batch) NumFindings() int { return b.b.NumFindings() }

// Finding returns finding i.
func (b *Batch) Finding(i int) Finding { return b.b.Finding(i) }

// Findings iterates over the host detector findings (only present when the
// manifest declares detectors).
func (b *Batch) Findings() iter.Seq[Finding] {
	return func(yield func(Finding) bool) {
		for i := range b.b.NumFindings() {
			if !yield(b.b.Finding(i)) {
				return
			}
		}
	}
}

// NumFields returns the number of fields of the record.
func (r Record) NumFields() int { return r.n }

// Field returns the record's j-th field.
func (r Record) Field(j int) Field {
	if uint(j) >= uint(r.n) {
		panic("sluice: Record.Field: index " + itoa(j) + " out of range [0:" + itoa(r.n) + "]")
	}
	var f Field
	r.b.fill(&f, r.first+j, r.Index)
	return f
}

// Fields iterates over the record's fields in order.
func (r Record) Fields() iter.Seq[Field] {
	return func(yield func(Field) bool) { r.b.eachField(r.Index, r.Index+1, yield) }
}

// FieldByName returns the record's first field whose column is named name.
func (r Record) FieldByName(name string) (Field, bool) {
	for i := r.first; i < r.first+r.n; i++ {
		col := u32(r.b.in, r.b.fields+i*fieldEntrySize)
		if string(r.b.names[col]) == name {
			var f Field
			r.b.fill(&f, i, r.Index)
			return f, true
		}
	}
	return Field{}, false
}
