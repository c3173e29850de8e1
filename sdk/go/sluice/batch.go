package sluice

import (
	"iter"

	"github.com/sluicegw/sluice/abi"
)

// Batch is the Records hook's view of one batch of records (ABI.md 4.1).
// It and everything read from it (names, values) alias the arena: they are
// valid only during the hook call and must be copied to be kept.
type Batch struct {
	b abi.Batch
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
	lo, hi := 0, b.b.NumRecords()
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if first, _ := b.b.Record(m); first <= i {
			lo = m + 1
		} else {
			hi = m
		}
	}
	// Records own consecutive runs that cover the field table, so the last
	// record starting at or before i holds it (an empty record starting
	// at i is followed by the one that holds i, which starts at i too).
	return b.field(i, lo-1)
}

func (b *Batch) field(i, record int) Field {
	f := b.b.Field(i)
	return Field{
		Index:  i,
		Record: record,
		Column: f.Column,
		Name:   b.b.Column(f.Column).Name,
		Kind:   f.Kind,
		Null:   f.Null,
		Value:  f.Value,
	}
}

// Fields iterates over every field of every record, record by record.
func (b *Batch) Fields() iter.Seq[Field] {
	return func(yield func(Field) bool) {
		for r := range b.b.NumRecords() {
			first, n := b.b.Record(r)
			for i := first; i < first+n; i++ {
				if !yield(b.field(i, r)) {
					return
				}
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
	return r.b.field(r.first+j, r.Index)
}

// Fields iterates over the record's fields in order.
func (r Record) Fields() iter.Seq[Field] {
	return func(yield func(Field) bool) {
		for i := r.first; i < r.first+r.n; i++ {
			if !yield(r.b.field(i, r.Index)) {
				return
			}
		}
	}
}

// FieldByName returns the record's first field whose column is named name.
func (r Record) FieldByName(name string) (Field, bool) {
	for i := r.first; i < r.first+r.n; i++ {
		f := r.b.b.Field(i)
		if string(r.b.b.Column(f.Column).Name) == name {
			return r.b.field(i, r.Index), true
		}
	}
	return Field{}, false
}
