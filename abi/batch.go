package abi

// Batch layout (all integers little-endian u32; see ABI.md "Batches"):
//
//	header   32 bytes: magic, n_columns, n_records, n_fields, n_findings,
//	                   data_off, data_len, flags
//	columns  n_columns  x 16: name_off, name_len, type, source_type
//	records  n_records  x  8: first_field, n_fields
//	fields   n_fields   x 16: column, value_off, value_len, flags
//	findings n_findings x 16: field, off, len, detector
//	data     data_len bytes at data_off (column names and values)
//
// Offsets in columns and fields are relative to data_off. A record's fields
// are contiguous in the field table, in record order.

// BatchMagic is "SLB1" read as a little-endian u32.
const BatchMagic = 0x31424c53

const (
	batchHeaderSize  = 32
	columnEntrySize  = 16
	recordEntrySize  = 8
	fieldEntrySize   = 16
	findingEntrySize = 16
)

// Field flags.
const (
	fieldKindMask = 0xff
	// FieldNull marks a NULL field; its value is empty.
	fieldNull = 1 << 8
)

// MaxBatchEntries bounds every count in a batch header so that table sizes
// computed from them cannot overflow 32 bits (16 bytes x 2^26 = 1 GiB).
const MaxBatchEntries = 1 << 26

// Column is one column of a batch's schema.
type Column struct {
	Name       []byte
	Type       ColumnType
	SourceType uint32
}

// Field is one field of a batch. Value aliases the batch buffer: a guest may
// overwrite it in place and report an EditInPlace.
type Field struct {
	Index  int // index in the batch's field table
	Column int
	Kind   Kind
	Null   bool
	Value  []byte
}

// Finding is one host-native detector hit inside a field's value.
type Finding struct {
	Field    int
	Off, Len int
	Detector Detector
}

// Batch is a validated, zero-copy view of an encoded batch.
type Batch struct {
	buf                                   []byte
	nCols, nRecs, nFields, nFinds         int
	colsOff, recsOff, fieldsOff, findsOff int
	dataOff, dataLen                      int
}

// ParseBatch validates buf as a batch and returns a view of it. Every offset
// and count is checked here once, so the accessors need no checks.
func ParseBatch(buf []byte) (Batch, error) {
	var b Batch
	if len(buf) < batchHeaderSize {
		return b, errAt("batch", "header", -1, "truncated")
	}
	if le.Uint32(buf[0:]) != BatchMagic {
		return b, errAt("batch", "header", -1, "bad magic")
	}
	counts := [4]uint32{le.Uint32(buf[4:]), le.Uint32(buf[8:]), le.Uint32(buf[12:]), le.Uint32(buf[16:])}
	for _, c := range counts {
		if c > MaxBatchEntries {
			return b, errAt("batch", "header", -1, "count too large")
		}
	}
	b.buf = buf
	b.nCols, b.nRecs, b.nFields, b.nFinds = int(counts[0]), int(counts[1]), int(counts[2]), int(counts[3])
	b.colsOff = batchHeaderSize
	b.recsOff = b.colsOff + b.nCols*columnEntrySize
	b.fieldsOff = b.recsOff + b.nRecs*recordEntrySize
	b.findsOff = b.fieldsOff + b.nFields*fieldEntrySize
	tablesEnd := b.findsOff + b.nFinds*findingEntrySize
	b.dataOff, b.dataLen = int(le.Uint32(buf[20:])), int(le.Uint32(buf[24:]))
	if tablesEnd > len(buf) {
		return b, errAt("batch", "tables", -1, "truncated")
	}
	if b.dataOff < tablesEnd || b.dataOff%Align != 0 || b.dataOff > len(buf) || b.dataLen > len(buf)-b.dataOff {
		return b, errAt("batch", "data", -1, "out of range")
	}
	for i := 0; i < b.nCols; i++ {
		e := buf[b.colsOff+i*columnEntrySize:]
		if !b.spanOK(le.Uint32(e[0:]), le.Uint32(e[4:])) {
			return b, errAt("batch", "column", i, "name out of range")
		}
	}
	next := 0
	for i := 0; i < b.nRecs; i++ {
		e := buf[b.recsOff+i*recordEntrySize:]
		first, n := le.Uint32(e[0:]), le.Uint32(e[4:])
		if int(first) != next || n > uint32(b.nFields-next) {
			return b, errAt("batch", "record", i, "fields not contiguous or out of range")
		}
		next += int(n)
	}
	if next != b.nFields {
		return b, errAt("batch", "record", b.nRecs-1, "fields not covered by records")
	}
	for i := 0; i < b.nFields; i++ {
		e := buf[b.fieldsOff+i*fieldEntrySize:]
		if le.Uint32(e[0:]) >= uint32(b.nCols) {
			return b, errAt("batch", "field", i, "column out of range")
		}
		if !b.spanOK(le.Uint32(e[4:]), le.Uint32(e[8:])) {
			return b, errAt("batch", "field", i, "value out of range")
		}
		flags := le.Uint32(e[12:])
		k := Kind(flags & fieldKindMask)
		if k < KindString || k > KindBytes {
			return b, errAt("batch", "field", i, "unknown kind")
		}
		if flags&fieldNull != 0 && le.Uint32(e[8:]) != 0 {
			return b, errAt("batch", "field", i, "NULL field with a value")
		}
	}
	for i := 0; i < b.nFinds; i++ {
		e := buf[b.findsOff+i*findingEntrySize:]
		f := le.Uint32(e[0:])
		if f >= uint32(b.nFields) {
			return b, errAt("batch", "finding", i, "field out of range")
		}
		vlen := le.Uint32(buf[b.fieldsOff+int(f)*fieldEntrySize+8:])
		off, n := le.Uint32(e[4:]), le.Uint32(e[8:])
		if off > vlen || n > vlen-off {
			return b, errAt("batch", "finding", i, "span out of range")
		}
	}
	return b, nil
}

func (b *Batch) spanOK(off, n uint32) bool {
	return uint64(off)+uint64(n) <= uint64(b.dataLen)
}

// NumColumns returns the number of columns in the schema.
func (b *Batch) NumColumns() int { return b.nCols }

// Column returns column i.
func (b *Batch) Column(i int) Column {
	e := b.buf[b.colsOff+i*columnEntrySize:]
	return Column{
		Name:       b.data(le.Uint32(e[0:]), le.Uint32(e[4:])),
		Type:       ColumnType(le.Uint32(e[8:])),
		SourceType: le.Uint32(e[12:]),
	}
}

// ColumnIndex returns the index of the column with the given name, or -1.
func (b *Batch) ColumnIndex(name string) int {
	for i := 0; i < b.nCols; i++ {
		e := b.buf[b.colsOff+i*columnEntrySize:]
		if string(b.data(le.Uint32(e[0:]), le.Uint32(e[4:]))) == name {
			return i
		}
	}
	return -1
}

// NumRecords returns the number of records.
func (b *Batch) NumRecords() int { return b.nRecs }

// Record returns the field index range [first, first+n) of record i.
func (b *Batch) Record(i int) (first, n int) {
	e := b.buf[b.recsOff+i*recordEntrySize:]
	return int(le.Uint32(e[0:])), int(le.Uint32(e[4:]))
}

// NumFields returns the number of fields of all records.
func (b *Batch) NumFields() int { return b.nFields }

// Field returns field i.
func (b *Batch) Field(i int) Field {
	e := b.buf[b.fieldsOff+i*fieldEntrySize:]
	flags := le.Uint32(e[12:])
	return Field{
		Index:  i,
		Column: int(le.Uint32(e[0:])),
		Kind:   Kind(flags & fieldKindMask),
		Null:   flags&fieldNull != 0,
		Value:  b.data(le.Uint32(e[4:]), le.Uint32(e[8:])),
	}
}

// NumFindings returns the number of detector findings.
func (b *Batch) NumFindings() int { return b.nFinds }

// Finding returns finding i.
func (b *Batch) Finding(i int) Finding {
	e := b.buf[b.findsOff+i*findingEntrySize:]
	return Finding{
		Field:    int(le.Uint32(e[0:])),
		Off:      int(le.Uint32(e[4:])),
		Len:      int(le.Uint32(e[8:])),
		Detector: Detector(le.Uint32(e[12:])),
	}
}

func (b *Batch) data(off, n uint32) []byte {
	s := b.dataOff + int(off)
	return b.buf[s : s+int(n) : s+int(n)]
}

// BatchBuilder accumulates a batch and encodes it. Reset and reuse it: after
// warm-up it allocates nothing.
type BatchBuilder struct {
	cols   []uint32 // 4 per column
	recs   []uint32 // 2 per record
	fields []uint32 // 4 per field
	finds  []uint32 // 4 per finding
	data   []byte
	open   bool
}

// Reset empties the builder and keeps its buffers.
func (bb *BatchBuilder) Reset() {
	bb.cols, bb.recs, bb.fields, bb.finds, bb.data = bb.cols[:0], bb.recs[:0], bb.fields[:0], bb.finds[:0], bb.data[:0]
	bb.open = false
}

// AddColumn appends a column and returns its index.
func (bb *BatchBuilder) AddColumn(name []byte, typ ColumnType, sourceType uint32) int {
	off := len(bb.data)
	bb.data = append(bb.data, name...)
	bb.cols = append(bb.cols, uint32(off), uint32(len(name)), uint32(typ), sourceType)
	return len(bb.cols)/4 - 1
}

// NumColumns returns the number of columns added so far.
func (bb *BatchBuilder) NumColumns() int { return len(bb.cols) / 4 }

// NumRecords returns the number of records begun so far.
func (bb *BatchBuilder) NumRecords() int { return len(bb.recs) / 2 }

// NumFields returns the number of fields added so far.
func (bb *BatchBuilder) NumFields() int { return len(bb.fields) / 4 }

// DataLen returns the bytes of names and values added so far.
func (bb *BatchBuilder) DataLen() int { return len(bb.data) }

// BeginRecord starts a record; the fields added after it belong to it.
func (bb *BatchBuilder) BeginRecord() int {
	bb.recs = append(bb.recs, uint32(len(bb.fields)/4), 0)
	bb.open = true
	return len(bb.recs)/2 - 1
}

// AddField appends a field to the current record, copying value, and
// returns the field's index.
func (bb *BatchBuilder) AddField(column int, kind Kind, null bool, value []byte) int {
	if !bb.open {
		bb.BeginRecord()
	}
	off := len(bb.data)
	bb.data = append(bb.data, value...)
	flags := uint32(kind)
	if null {
		flags |= fieldNull
	}
	bb.fields = append(bb.fields, uint32(column), uint32(off), uint32(len(value)), flags)
	bb.recs[len(bb.recs)-1]++
	return len(bb.fields)/4 - 1
}

// AddFinding records a detector hit at [off, off+n) of field's value.
func (bb *BatchBuilder) AddFinding(field, off, n int, d Detector) {
	bb.finds = append(bb.finds, uint32(field), uint32(off), uint32(n), uint32(d))
}

// Size returns the encoded size of the batch.
func (bb *BatchBuilder) Size() int {
	return bb.dataOff() + len(bb.data)
}

func (bb *BatchBuilder) dataOff() int {
	return AlignUp(batchHeaderSize + len(bb.cols)/4*columnEntrySize + len(bb.recs)/2*recordEntrySize +
		len(bb.fields)/4*fieldEntrySize + len(bb.finds)/4*findingEntrySize)
}

// Encode writes the batch to dst, which must be at least Size() bytes, and
// returns the number of bytes written.
func (bb *BatchBuilder) Encode(dst []byte) int {
	dataOff := bb.dataOff()
	n := dataOff + len(bb.data)
	_ = dst[n-1]
	le.PutUint32(dst[0:], BatchMagic)
	le.PutUint32(dst[4:], uint32(len(bb.cols)/4))
	le.PutUint32(dst[8:], uint32(len(bb.recs)/2))
	le.PutUint32(dst[12:], uint32(len(bb.fields)/4))
	le.PutUint32(dst[16:], uint32(len(bb.finds)/4))
	le.PutUint32(dst[20:], uint32(dataOff))
	le.PutUint32(dst[24:], uint32(len(bb.data)))
	le.PutUint32(dst[28:], 0)
	p := putU32s(dst, batchHeaderSize, bb.cols)
	p = putU32s(dst, p, bb.recs)
	p = putU32s(dst, p, bb.fields)
	p = putU32s(dst, p, bb.finds)
	clear(dst[p:dataOff])
	copy(dst[dataOff:], bb.data)
	return n
}

// EncodeSchema writes only the columns (no records), the input of the plan
// hook, to dst (at least SchemaSize() bytes) and returns its length.
func (bb *BatchBuilder) EncodeSchema(dst []byte) int {
	recs, fields, finds := bb.recs, bb.fields, bb.finds
	bb.recs, bb.fields, bb.finds = nil, nil, nil
	n := bb.Encode(dst)
	bb.recs, bb.fields, bb.finds = recs, fields, finds
	return n
}

// SchemaSize returns the encoded size of EncodeSchema's output. It is an
// upper bound: values stay in the data section.
func (bb *BatchBuilder) SchemaSize() int {
	return AlignUp(batchHeaderSize+len(bb.cols)/4*columnEntrySize) + len(bb.data)
}

func putU32s(dst []byte, p int, v []uint32) int {
	for _, x := range v {
		le.PutUint32(dst[p:], x)
		p += 4
	}
	return p
}
