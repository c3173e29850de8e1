package abi

// Edits payload (see ABI.md "Edits"): u32 n_edits, u32 reserved, then
// n_edits variable-length entries, each
//
//	u32 op, u32 target, u32 off, u32 len, u32 data_len, u32 reserved,
//	data_len bytes, zero padding to a multiple of 8.
//
// target is a field index, or a record index for EditDrop. Entries are
// variable-length so a guest writes them in one forward pass with no
// second table to size up front.

const (
	editsHeaderSize = 8
	editEntrySize   = 24
)

// Edit is one decoded edit. Data aliases the payload.
type Edit struct {
	Op       EditOp
	Target   int
	Off, Len int
	Data     []byte
}

// EditWriter appends edits to an output payload region. When the region
// runs out, Full reports it and the hook should return StatusNoSpace.
type EditWriter struct {
	buf  []byte
	pos  int
	n    int
	full bool
}

// NewEditWriter returns a writer over payload (the output region after the
// OutputHeaderSize header).
func NewEditWriter(payload []byte) EditWriter {
	w := EditWriter{buf: payload, pos: editsHeaderSize}
	if len(payload) < editsHeaderSize {
		w.full = true
	}
	return w
}

func (w *EditWriter) add(op EditOp, target, off, n int, data []byte) {
	if w.full {
		return
	}
	end := w.pos + editEntrySize + AlignUp(len(data))
	if end > len(w.buf) {
		w.full = true
		return
	}
	e := w.buf[w.pos:]
	le.PutUint32(e[0:], uint32(op))
	le.PutUint32(e[4:], uint32(target))
	le.PutUint32(e[8:], uint32(off))
	le.PutUint32(e[12:], uint32(n))
	le.PutUint32(e[16:], uint32(len(data)))
	le.PutUint32(e[20:], 0)
	copy(e[editEntrySize:], data)
	clear(e[editEntrySize+len(data) : end-w.pos])
	w.pos = end
	w.n++
}

// InPlace reports that the guest overwrote bytes [off, off+n) of field's
// value inside the input batch.
func (w *EditWriter) InPlace(field, off, n int) { w.add(EditInPlace, field, off, n, nil) }

// Replace replaces field's whole value with data.
func (w *EditWriter) Replace(field int, data []byte) { w.add(EditReplace, field, 0, 0, data) }

// ReplaceRange replaces bytes [off, off+n) of field's value with data.
func (w *EditWriter) ReplaceRange(field, off, n int, data []byte) {
	w.add(EditReplaceRange, field, off, n, data)
}

// Nullify makes field NULL.
func (w *EditWriter) Nullify(field int) { w.add(EditNullify, field, 0, 0, nil) }

// Drop removes record from the output.
func (w *EditWriter) Drop(record int) { w.add(EditDrop, record, 0, 0, nil) }

// Full reports whether an edit did not fit.
func (w *EditWriter) Full() bool { return w.full }

// Len returns the number of edits written.
func (w *EditWriter) Len() int { return w.n }

// Finish writes the payload header and returns the payload length.
func (w *EditWriter) Finish() int {
	if len(w.buf) < editsHeaderSize {
		return 0
	}
	le.PutUint32(w.buf[0:], uint32(w.n))
	le.PutUint32(w.buf[4:], 0)
	return w.pos
}

// Edits is a validated view of an edits payload.
type Edits struct {
	buf []byte
	n   int
}

// ParseEdits validates an edits payload against the batch it answers: ops
// are known, targets exist, ranges lie inside the field's value and
// in-place edits keep their length.
func ParseEdits(payload []byte, b *Batch) (Edits, error) {
	if len(payload) < editsHeaderSize {
		return Edits{}, errAt("edits", "header", -1, "truncated")
	}
	n := le.Uint32(payload[0:])
	if n > MaxBatchEntries {
		return Edits{}, errAt("edits", "header", -1, "count too large")
	}
	e := Edits{buf: payload, n: int(n)}
	pos := editsHeaderSize
	for i := 0; i < e.n; i++ {
		ed, next, err := decodeEdit(payload, pos, i)
		if err != nil {
			return Edits{}, err
		}
		switch ed.Op {
		case EditDrop:
			if ed.Target >= b.NumRecords() {
				return Edits{}, errAt("edits", "edit", i, "record out of range")
			}
		case EditInPlace, EditReplace, EditReplaceRange, EditNullify:
			if ed.Target >= b.NumFields() {
				return Edits{}, errAt("edits", "edit", i, "field out of range")
			}
			if ed.Op == EditInPlace || ed.Op == EditReplaceRange {
				vlen := len(b.Field(ed.Target).Value)
				if ed.Off > vlen || ed.Len > vlen-ed.Off {
					return Edits{}, errAt("edits", "edit", i, "range out of field value")
				}
			}
		default:
			return Edits{}, errAt("edits", "edit", i, "unknown op")
		}
		pos = next
	}
	return e, nil
}

func decodeEdit(buf []byte, pos, i int) (Edit, int, error) {
	if pos > len(buf)-editEntrySize {
		return Edit{}, 0, errAt("edits", "edit", i, "truncated")
	}
	h := buf[pos:]
	dataLen := int(le.Uint32(h[16:]))
	if dataLen > len(buf)-pos-editEntrySize {
		return Edit{}, 0, errAt("edits", "edit", i, "data out of range")
	}
	ed := Edit{
		Op:     EditOp(le.Uint32(h[0:])),
		Target: int(le.Uint32(h[4:])),
		Off:    int(le.Uint32(h[8:])),
		Len:    int(le.Uint32(h[12:])),
		Data:   h[editEntrySize : editEntrySize+dataLen : editEntrySize+dataLen],
	}
	next := pos + editEntrySize + AlignUp(dataLen)
	if next > len(buf) {
		next = len(buf)
	}
	return ed, next, nil
}

// Len returns the number of edits.
func (e *Edits) Len() int { return e.n }

// Each calls fn for every edit in order. The payload was validated by
// ParseEdits, so it cannot fail.
func (e *Edits) Each(fn func(Edit)) {
	pos := editsHeaderSize
	for i := 0; i < e.n; i++ {
		ed, next, _ := decodeEdit(e.buf, pos, i)
		fn(ed)
		pos = next
	}
}

// EditIter walks the edits without a closure.
type EditIter struct {
	e   *Edits
	i   int
	pos int
	cur Edit
}

// Iter returns an iterator positioned before the first edit.
func (e *Edits) Iter() EditIter { return EditIter{e: e, pos: editsHeaderSize} }

// Next advances to the next edit and reports whether there is one.
func (it *EditIter) Next() bool {
	if it.i >= it.e.n {
		return false
	}
	it.cur, it.pos, _ = decodeEdit(it.e.buf, it.pos, it.i)
	it.i++
	return true
}

// Edit returns the current edit.
func (it *EditIter) Edit() Edit { return it.cur }
