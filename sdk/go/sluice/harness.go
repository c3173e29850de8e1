package sluice

import (
	"bytes"
	"errors"
	"slices"
	"unsafe"

	"github.com/sluicegw/sluice/abi"
)

// Harness runs a Plugin through the same path the wasm exports take: it
// encodes the input into its own arena, calls the dispatcher, decodes and
// validates the output, and, for records, applies the edits the way the
// host does. Use it in native tests (go test, no wasm runtime needed) and in
// a SelfTest hook. It allocates freely; it is not for the hot path, and it
// is not safe for concurrent use.
//
// It is stricter than ABI validation alone: overlapping edits on one field,
// and bytes of the batch changed in place without an InPlace/Mask edit
// (which the host would not copy back), are errors.
type Harness struct {
	d     dispatcher
	arena []byte
}

// Value is one field of a record after the edits were applied.
type Value struct {
	Data []byte
	Null bool
}

// String returns the value's text, or "NULL".
func (v Value) String() string {
	if v.Null {
		return "NULL"
	}
	return string(v.Data)
}

const (
	harnessMinArena = 64 << 10 // ABI.md 2.4: the host asks for at least 64 KiB
	harnessMaxArena = 64 << 20 // the default plugin memory limit
)

// NewHarness returns a harness for p. It panics, as Register does, if p has
// neither a Command nor a Records hook.
func NewHarness(p Plugin) *Harness {
	if msg := p.validate(); msg != "" {
		panic("sluice: NewHarness: " + msg)
	}
	return &Harness{d: dispatcher{p: p, set: true}}
}

type hookFunc func(d *dispatcher, arena []byte, inLen, outOff uint32) abi.Status

// call encodes the input with encode (size bytes), runs hook, grows the
// arena and repeats on NO_SPACE as the host does, and returns the payload
// and the input length.
func (h *Harness) call(name string, size int, encode func([]byte) int, hook hookFunc) ([]byte, int, error) {
	for {
		need := abi.AlignUp(size) + abi.OutputHeaderSize
		if len(h.arena) < need || len(h.arena) < harnessMinArena {
			h.arena = make([]byte, max(need, harnessMinArena, 2*len(h.arena)))
		}
		n := encode(h.arena)
		outOff := abi.AlignUp(n)
		st := hook(&h.d, h.arena, uint32(n), uint32(outOff))
		out := h.arena[outOff:]
		switch st {
		case abi.StatusOK:
			payload, err := abi.ParseOutput(out)
			if err != nil {
				return nil, 0, errors.New(name + ": invalid output: " + err.Error())
			}
			return payload, n, nil
		case abi.StatusNoSpace:
			if len(h.arena) >= harnessMaxArena {
				return nil, 0, errors.New(name + ": output does not fit a " + itoa(harnessMaxArena) + "-byte arena")
			}
			h.arena = make([]byte, min(2*len(h.arena), harnessMaxArena))
		case abi.StatusBadInput, abi.StatusFailed:
			msg, err := abi.ParseOutput(out)
			if err != nil || len(msg) == 0 {
				return nil, 0, errors.New(name + ": " + st.String())
			}
			return nil, 0, errors.New(name + ": " + st.String() + ": " + string(msg))
		default:
			return nil, 0, errors.New(name + ": " + st.String())
		}
	}
}

// Init calls the Init hook with config (a JSON object).
func (h *Harness) Init(config []byte) error {
	_, _, err := h.call("init", len(config), func(dst []byte) int { return copy(dst, config) },
		(*dispatcher).init)
	return err
}

// Command calls the Command hook with the command cb encodes.
func (h *Harness) Command(cb *abi.CommandBuilder) (Verdict, error) {
	payload, _, err := h.call("command", cb.Size(), cb.Encode, (*dispatcher).command)
	if err != nil {
		return Verdict{}, err
	}
	v, reason, err := abi.ParseVerdict(payload)
	if err != nil {
		return Verdict{}, errors.New("command: invalid output: " + err.Error())
	}
	return Verdict{Decision: v, Reason: string(reason)}, nil
}

// Plan calls the Plan hook with the schema of bb (its columns).
func (h *Harness) Plan(bb *abi.BatchBuilder) ([]Action, error) {
	payload, _, err := h.call("plan", bb.SchemaSize(), bb.EncodeSchema, (*dispatcher).plan)
	if err != nil {
		return nil, err
	}
	actions, err := abi.ParsePlan(payload, bb.NumColumns())
	if err != nil {
		return nil, errors.New("plan: invalid output: " + err.Error())
	}
	plan := make([]Action, len(actions))
	for i, a := range actions {
		plan[i] = Action(a)
	}
	return plan, nil
}

// SelfTest calls the SelfTest hook.
func (h *Harness) SelfTest() error {
	if st, msg := h.d.selfTest(); st != abi.StatusOK {
		return errors.New(msg)
	}
	return nil
}

// Records calls the Records hook with the batch bb encodes and returns the
// records that survive, each with all its fields in order, after applying
// the edits as the host would.
func (h *Harness) Records(bb *abi.BatchBuilder) ([][]Value, error) {
	var before []byte
	encode := func(dst []byte) int {
		n := bb.Encode(dst)
		before = append(before[:0], dst[:n]...)
		return n
	}
	payload, n, err := h.call("records", bb.Size(), encode, (*dispatcher).records)
	if err != nil {
		return nil, err
	}
	after := h.arena[:n]
	b, err := abi.ParseBatch(after)
	if err != nil {
		return nil, errors.New("records: plugin corrupted the batch: " + err.Error())
	}
	edits, err := abi.ParseEdits(payload, &b)
	if err != nil {
		return nil, errors.New("records: invalid edits: " + err.Error())
	}
	return applyEdits(&b, &edits, before, after)
}

// PrepareRecords encodes bb once, runs the records hook once (growing the
// arena until the output fits), and returns run, which does what the host
// does per batch: copy the encoded batch into the arena and call the hook.
// run allocates nothing itself, so the allocations it reports are the
// plugin's: assert testing.AllocsPerRun(100, func() { run() }) == 0, or
// call it in a benchmark with b.ReportAllocs.
func (h *Harness) PrepareRecords(bb *abi.BatchBuilder) (run func() error, err error) {
	if _, err := h.Records(bb); err != nil {
		return nil, err
	}
	encoded := make([]byte, bb.Size())
	n := bb.Encode(encoded)
	outOff := abi.AlignUp(n)
	return func() error {
		copy(h.arena, encoded)
		if st := h.d.records(h.arena, uint32(n), uint32(outOff)); st != abi.StatusOK {
			msg, _ := abi.ParseOutput(h.arena[outOff:])
			return errors.New("records: " + st.String() + ": " + string(msg))
		}
		return nil
	}, nil
}

// applyEdits applies validated edits to batch b the way the host does.
// before is the batch as encoded, after is the arena after the hook.
func applyEdits(b *abi.Batch, edits *abi.Edits, before, after []byte) ([][]Value, error) {
	perField := make(map[int][]abi.Edit)
	dropped := make(map[int]bool)
	declared := make([]bool, len(after)) // bytes covered by an in-place edit
	for it := edits.Iter(); it.Next(); {
		e := it.Edit()
		if e.Op == abi.EditDrop {
			dropped[e.Target] = true
			continue
		}
		perField[e.Target] = append(perField[e.Target], e)
		if e.Op == abi.EditInPlace {
			start := valueOffset(after, b.Field(e.Target).Value)
			for i := start + e.Off; i < start+e.Off+e.Len; i++ {
				declared[i] = true
			}
		}
	}
	for i := range after {
		if after[i] != before[i] && !declared[i] {
			return nil, errors.New("records: batch byte " + itoa(i) + " " + locate(b, after, i) +
				" changed without an InPlace or Mask edit; the host would not copy it back")
		}
	}
	var out [][]Value
	for r := range b.NumRecords() {
		if dropped[r] {
			continue
		}
		first, n := b.Record(r)
		rec := make([]Value, n)
		for i := first; i < first+n; i++ {
			f := b.Field(i)
			v, err := applyFieldEdits(i, Value{Data: bytes.Clone(f.Value), Null: f.Null}, perField[i])
			if err != nil {
				return nil, err
			}
			rec[i-first] = v
		}
		out = append(out, rec)
	}
	return out, nil
}

func applyFieldEdits(field int, v Value, edits []abi.Edit) (Value, error) {
	if len(edits) == 0 {
		return v, nil
	}
	for _, e := range edits {
		if e.Op == abi.EditReplace || e.Op == abi.EditNullify {
			if len(edits) > 1 {
				return v, errors.New("records: field " + itoa(field) + ": a replace or nullify edit overlaps another edit of the field")
			}
			if e.Op == abi.EditNullify {
				return Value{Null: true}, nil
			}
			return Value{Data: bytes.Clone(e.Data)}, nil
		}
	}
	// Only ranges are left: apply them in offset order, refusing overlaps
	// (ABI.md 4.3). In-place ranges are already in v.
	slices.SortStableFunc(edits, func(a, b abi.Edit) int { return a.Off - b.Off })
	var data []byte
	pos := 0
	for _, e := range edits {
		if e.Off < pos {
			return v, errors.New("records: field " + itoa(field) + ": edits overlap at byte " + itoa(e.Off))
		}
		data = append(data, v.Data[pos:e.Off]...)
		if e.Op == abi.EditReplaceRange {
			data = append(data, e.Data...)
		} else {
			data = append(data, v.Data[e.Off:e.Off+e.Len]...)
		}
		pos = e.Off + e.Len
	}
	data = append(data, v.Data[pos:]...)
	return Value{Data: data}, nil
}

func valueOffset(buf, value []byte) int {
	if len(value) == 0 {
		return 0
	}
	return int(uintptr(unsafe.Pointer(unsafe.SliceData(value))) - uintptr(unsafe.Pointer(unsafe.SliceData(buf))))
}

// locate names where byte i of the batch is, for error messages.
func locate(b *abi.Batch, buf []byte, i int) string {
	for f := range b.NumFields() {
		v := b.Field(f).Value
		if start := valueOffset(buf, v); len(v) > 0 && i >= start && i < start+len(v) {
			return "(field " + itoa(f) + " value byte " + itoa(i-start) + ")"
		}
	}
	return "(outside every field value)"
}
