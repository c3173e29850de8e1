package sluice

import (
	"unsafe"

	"github.com/sluicegw/sluice/abi"
)

// Edits collects the Records hook's changes to a batch (ABI.md 4.3). The
// host validates and applies them after the hook returns and re-frames the
// protocol (row lengths, JSON escaping, CSV quoting); a replaced JSON number
// or bool becomes a JSON string.
//
// Edits on one field must not overlap: use one Replace, Nullify, or several
// Mask/ReplaceRange on disjoint ranges. A range outside the field's value
// panics (the dispatcher turns that into a plugin failure naming the field).
//
// When the output region is full, further edits are dropped, Full reports
// true, and the dispatcher returns NO_SPACE: the host grows the arena and
// calls the hook again on the same input.
type Edits struct {
	w abi.EditWriter
	b *Batch
}

// Replace makes data the field's whole value. data is copied.
func (e *Edits) Replace(f Field, data []byte) { e.w.Replace(f.Index, data) }

// ReplaceString makes s the field's whole value, without converting s to a
// []byte (no allocation).
func (e *Edits) ReplaceString(f Field, s string) {
	e.w.Replace(f.Index, unsafe.Slice(unsafe.StringData(s), len(s)))
}

// ReplaceRange replaces bytes [off, off+n) of the field's value with data;
// the length may change. data is copied.
func (e *Edits) ReplaceRange(f Field, off, n int, data []byte) {
	if uint(off) > uint(len(f.Value)) || uint(n) > uint(len(f.Value)-off) {
		rangePanic("ReplaceRange", f.Index, len(f.Value), off, n)
	}
	e.w.ReplaceRange(f.Index, off, n, data)
}

// Mask overwrites bytes [off, off+n) of the field's value with mask, in
// place in the arena, and records an in-place edit: the cheapest edit, as
// no data is copied into the output. The value keeps its length, so with
// multi-byte UTF-8 mask whole characters (see utf8.DecodeRune) or the
// result is not valid UTF-8.
func (e *Edits) Mask(f Field, off, n int, mask byte) {
	if uint(off) > uint(len(f.Value)) || uint(n) > uint(len(f.Value)-off) {
		rangePanic("Mask", f.Index, len(f.Value), off, n)
	}
	if n == 0 || e.w.Full() {
		return
	}
	v := f.Value[off : off+n]
	for i := range v {
		v[i] = mask
	}
	e.w.InPlace(f.Index, off, n)
}

// InPlace records that the plugin overwrote bytes [off, off+n) of
// f.Value itself (same length). Mask is InPlace with a constant byte.
func (e *Edits) InPlace(f Field, off, n int) {
	if uint(off) > uint(len(f.Value)) || uint(n) > uint(len(f.Value)-off) {
		rangePanic("InPlace", f.Index, len(f.Value), off, n)
	}
	e.w.InPlace(f.Index, off, n)
}

// Nullify makes the field NULL: JSON null, SQL NULL, an empty CSV field.
func (e *Edits) Nullify(f Field) { e.w.Nullify(f.Index) }

// Drop removes record (Record.Index or Field.Record) from the output.
func (e *Edits) Drop(record int) {
	if uint(record) >= uint(e.b.NumRecords()) {
		panic("sluice: Drop: record " + itoa(record) + " out of range [0:" + itoa(e.b.NumRecords()) + "]")
	}
	e.w.Drop(record)
}

// Len returns the number of edits written so far.
func (e *Edits) Len() int { return e.w.Len() }

// Full reports whether an edit did not fit the output region. A hook may
// stop early when it does: the host will call it again with more room.
func (e *Edits) Full() bool { return e.w.Full() }

// rangePanic panics for a range [off, off+n) outside the value (of length
// vlen) of field index. The check stays in the callers, and takes the
// field's index and length rather than the Field: in Wasm, passing a Field
// (80 bytes) by value is a memory.copy per edit.
func rangePanic(op string, index, vlen, off, n int) {
	panic("sluice: " + op + ": range [" + itoa(off) + ":" + itoa(off+n) + "] out of field " +
		itoa(index) + " value of length " + itoa(vlen))
}
