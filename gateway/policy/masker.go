package policy

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/sluicegw/sluice/abi"
	"github.com/sluicegw/sluice/gateway/detect"
	"github.com/sluicegw/sluice/gateway/pluginhost"
)

// Table is a batch of records in the form the masking chain works on: a
// schema, records, and per field its current value, kind and NULL flag,
// plus what the chain changed. Protocol engines fill it from their own
// records (SQL rows, JSON fields, CSV cells, lines), run a Masker over it,
// and re-frame what changed. Reset and reuse it: after warm-up it does not
// allocate.
type Table struct {
	Columns []string
	// Types are the columns' generic types and SourceTypes the protocol's
	// own (a PostgreSQL type OID), by column index; shorter than Columns
	// (or nil) means unknown. Plugins use them to keep a masked value
	// valid for its column (an integer stays an integer or NULL).
	Types       []abi.ColumnType
	SourceTypes []uint32

	recStart []int32 // first field of each record
	col      []int32
	kind     []abi.Kind
	val      [][]byte
	null     []bool
	changed  []bool
	dropped  []bool
	arena    valueArena
}

// Reset empties the table and keeps its buffers. Columns is kept too: the
// caller appends to it as the stream's schema grows.
func (t *Table) Reset() {
	t.recStart, t.col, t.kind, t.val = t.recStart[:0], t.col[:0], t.kind[:0], t.val[:0]
	t.null, t.changed, t.dropped = t.null[:0], t.changed[:0], t.dropped[:0]
	t.arena.reset()
}

// AddRecord starts a record and returns its index.
func (t *Table) AddRecord() int {
	t.recStart = append(t.recStart, int32(len(t.col)))
	t.dropped = append(t.dropped, false)
	return len(t.recStart) - 1
}

// AddField adds a field to the last record. value is copied, so the
// caller's buffer may be reused.
func (t *Table) AddField(column int, kind abi.Kind, null bool, value []byte) {
	t.addFieldRef(column, kind, null, t.arena.copy(value))
}

// addFieldRef adds a field without copying value, for callers that keep
// it alive until Reset.
func (t *Table) addFieldRef(column int, kind abi.Kind, null bool, value []byte) {
	t.col = append(t.col, int32(column))
	t.kind = append(t.kind, kind)
	t.val = append(t.val, value)
	t.null = append(t.null, null)
	t.changed = append(t.changed, false)
}

// NumRecords returns the number of records.
func (t *Table) NumRecords() int { return len(t.recStart) }

// Fields returns the index range [first, end) of record r's fields.
func (t *Table) Fields(r int) (first, end int) {
	first = int(t.recStart[r])
	end = len(t.col)
	if r+1 < len(t.recStart) {
		end = int(t.recStart[r+1])
	}
	return first, end
}

// Dropped reports whether record r was dropped.
func (t *Table) Dropped(r int) bool { return t.dropped[r] }

// Field returns field f: its current value, whether it is NULL and whether
// the chain changed it. The value is valid until Reset.
func (t *Table) Field(f int) (value []byte, null, changed bool) {
	return t.val[f], t.null[f], t.changed[f]
}

// Column returns field f's column.
func (t *Table) Column(f int) int { return int(t.col[f]) }

func (t *Table) set(f int, v []byte) {
	t.val[f], t.null[f], t.changed[f] = v, false, true
}

// redactAll replaces every field of every record: the fail-closed answer.
func (t *Table) redactAll(redaction []byte) {
	for f := range t.col {
		t.set(f, redaction)
	}
}

// valueArena hands out byte slices from chunks that are never
// reallocated, so slices stay valid while more are added; reset keeps the
// chunks. The first chunk is 4 KiB and each next one twice the last, up
// to 64 KiB: a table of one small response does not cost 64 KiB.
type valueArena struct {
	chunks [][]byte
	cur    int
}

const (
	arenaChunk      = 64 << 10
	arenaFirstChunk = 4 << 10
)

func (a *valueArena) reset() {
	for i := range a.chunks {
		a.chunks[i] = a.chunks[i][:0]
	}
	a.cur = 0
}

func (a *valueArena) alloc(n int) []byte {
	if n > arenaChunk/4 {
		return make([]byte, n)
	}
	for {
		if a.cur == len(a.chunks) {
			size := arenaChunk
			if len(a.chunks) < 4 {
				size = min(arenaChunk, arenaFirstChunk<<len(a.chunks))
			}
			a.chunks = append(a.chunks, make([]byte, 0, size))
		}
		c := a.chunks[a.cur]
		if len(c)+n <= cap(c) {
			a.chunks[a.cur] = c[:len(c)+n]
			return c[len(c) : len(c)+n : len(c)+n]
		}
		a.cur++
	}
}

func (a *valueArena) copy(v []byte) []byte {
	if v == nil {
		return nil
	}
	b := a.alloc(len(v))
	copy(b, v)
	return b
}

// Masker runs a chain's masking plugins over tables. It keeps scratch
// buffers between calls and is not safe for concurrent use: give each
// stream (a connection's result sets, an SSH channel's stdout and
// stderr) its own; NewMasker is cheap.
type Masker struct {
	plugins []*pluginhost.Plugin

	bb        abi.BatchBuilder
	planKey   string
	planNames []string
	planTypes []abi.ColumnType
	// batchField maps a batch field to its table field.
	batchField []int32
	// whole marks batch fields that got a REPLACE or NULLIFY in this pass;
	// range edits on them are an invalid edit list.
	whole  []bool
	ranges []rangeEdit
}

type rangeEdit struct {
	field    int
	off, len int
	data     []byte
}

// NewMasker returns a masker for the plugins of chain that have a records
// hook.
func NewMasker(chain Chain) *Masker {
	m := &Masker{}
	for _, p := range chain {
		if p.HasHook(abi.HookRecords) {
			m.plugins = append(m.plugins, p)
		}
	}
	return m
}

// Active reports whether any plugin masks records.
func (m *Masker) Active() bool { return len(m.plugins) > 0 }

// Mask runs every masking plugin over t in order. Plugin failures are
// handled by their fail mode and returned joined, for logging and for
// callers that must stop on fail-closed (`sluice mask` exits non-zero).
// When a fail-closed failure happened, every field has been redacted.
func (m *Masker) Mask(ctx context.Context, t *Table) error {
	var errs []error
	for _, p := range m.plugins {
		if err := m.run(ctx, p, t); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// FailedClosed reports whether err (from Mask) includes a fail-closed
// plugin failure.
func FailedClosed(err error) bool {
	var pe *pluginhost.PluginError
	for _, e := range unwrapAll(err) {
		if errors.As(e, &pe) && !pe.FailOpen {
			return true
		}
	}
	return false
}

func unwrapAll(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func (m *Masker) run(ctx context.Context, p *pluginhost.Plugin, t *Table) error {
	redaction := []byte(p.Redaction())
	m.bb.Reset()
	for i, c := range t.Columns {
		typ, src := abi.TypeUnknown, uint32(0)
		if i < len(t.Types) {
			typ = t.Types[i]
		}
		if i < len(t.SourceTypes) {
			src = t.SourceTypes[i]
		}
		m.bb.AddColumn([]byte(c), typ, src)
	}
	actions, err := m.plan(ctx, p, t)
	if err != nil {
		return m.failed(p, t, err, redaction)
	}
	dets := p.Detectors()
	m.batchField = m.batchField[:0]
	for r := 0; r < t.NumRecords(); r++ {
		m.bb.BeginRecord()
		first, end := t.Fields(r)
		for f := first; f < end; f++ {
			action := abi.Inspect
			if c := int(t.col[f]); c < len(actions) {
				action = actions[c]
			}
			switch action {
			case abi.Ignore:
				continue
			case abi.Redact:
				if !t.null[f] {
					t.set(f, redaction)
				}
				continue
			}
			bf := m.bb.AddField(int(t.col[f]), t.kind[f], t.null[f], t.val[f])
			m.batchField = append(m.batchField, int32(f))
			for _, d := range dets {
				detect.Find(d, t.val[f], func(off, n int) { m.bb.AddFinding(bf, off, n, d) })
			}
		}
	}
	if m.bb.NumFields() == 0 {
		return nil // nothing to inspect: empty records, or the plan ignored every column
	}
	err = p.Records(ctx, &m.bb, func(b *abi.Batch, e *abi.Edits) error {
		m.ranges = m.ranges[:0]
		m.whole = slices.Grow(m.whole[:0], len(m.batchField))[:len(m.batchField)]
		clear(m.whole)
		for it := e.Iter(); it.Next(); {
			ed := it.Edit()
			switch ed.Op {
			case abi.EditDrop:
				t.dropped[ed.Target] = true
			case abi.EditNullify:
				f := m.batchField[ed.Target]
				t.val[f], t.null[f], t.changed[f] = nil, true, true
				m.whole[ed.Target] = true
			case abi.EditReplace:
				t.set(int(m.batchField[ed.Target]), t.arena.copy(ed.Data))
				m.whole[ed.Target] = true
			case abi.EditInPlace, abi.EditReplaceRange:
				data := ed.Data
				if ed.Op == abi.EditInPlace {
					data = b.Field(ed.Target).Value[ed.Off : ed.Off+ed.Len]
				}
				m.ranges = append(m.ranges, rangeEdit{field: ed.Target, off: ed.Off, len: ed.Len, data: t.arena.copy(data)})
			}
		}
		return m.applyRanges(t)
	})
	if err != nil {
		return m.failed(p, t, err, redaction)
	}
	return nil
}

// applyRanges applies range edits, which are relative to the value the
// plugin saw: per field, from the highest offset down, so earlier offsets
// stay valid. Overlapping ranges are an invalid edit list.
func (m *Masker) applyRanges(t *Table) error {
	if len(m.ranges) == 0 {
		return nil
	}
	slices.SortFunc(m.ranges, func(a, b rangeEdit) int {
		if a.field != b.field {
			return a.field - b.field
		}
		return b.off - a.off
	})
	for i, r := range m.ranges {
		if m.whole[r.field] || i > 0 && m.ranges[i-1].field == r.field && r.off+r.len > m.ranges[i-1].off {
			return errOverlap
		}
	}
	for i := 0; i < len(m.ranges); {
		j := i
		f := int(m.batchField[m.ranges[i].field])
		orig := t.val[f]
		size := len(orig)
		for ; j < len(m.ranges) && m.ranges[j].field == m.ranges[i].field; j++ {
			size += len(m.ranges[j].data) - m.ranges[j].len
		}
		out := t.arena.alloc(size)[:0]
		// Walk the ranges in ascending order (they are sorted descending).
		pos := 0
		for k := j - 1; k >= i; k-- {
			r := m.ranges[k]
			out = append(out, orig[pos:r.off]...)
			out = append(out, r.data...)
			pos = r.off + r.len
		}
		out = append(out, orig[pos:]...)
		t.set(f, out)
		i = j
	}
	return nil
}

var errOverlap = errors.New("invalid edits: overlapping ranges, or a range edit on a replaced or nullified field")

// plan returns the plugin's column actions for the table's schema (names
// and types), which the plugin host caches per schema. The key is rebuilt
// only when the schema differs from the last batch's: a stream's columns
// grow, and a SQL connection's change with every result set.
func (m *Masker) plan(ctx context.Context, p *pluginhost.Plugin, t *Table) ([]abi.Action, error) {
	if !p.HasHook(abi.HookPlan) {
		return nil, nil
	}
	if !slices.Equal(t.Columns, m.planNames) || !slices.Equal(t.Types, m.planTypes) {
		var b strings.Builder
		for i, c := range t.Columns {
			b.WriteString(c)
			b.WriteByte(0)
			if i < len(t.Types) {
				b.WriteString(strconv.Itoa(int(t.Types[i])))
			}
			b.WriteByte(0)
		}
		m.planKey = b.String()
		m.planNames = append(m.planNames[:0], t.Columns...)
		m.planTypes = append(m.planTypes[:0], t.Types...)
	}
	return p.Plan(ctx, m.planKey, &m.bb)
}

// failed applies p's fail mode to the whole table and returns err as a
// PluginError.
func (m *Masker) failed(p *pluginhost.Plugin, t *Table, err error, redaction []byte) error {
	var pe *pluginhost.PluginError
	if !errors.As(err, &pe) {
		pe = &pluginhost.PluginError{Plugin: p.Name(), Hook: abi.HookRecords, Kind: pluginhost.FailABI, FailOpen: p.FailOpen(), Err: err}
	}
	if !pe.FailOpen {
		t.redactAll(redaction)
	}
	return pe
}
