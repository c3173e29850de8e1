package pluginhost

import (
	"bytes"
	"errors"
	"fmt"
	"slices"

	"github.com/sluicegw/sluice/abi"
)

// Loop metering: a rewrite of a module that makes every unbounded stretch
// of guest code call back into the host now and then, so that the host can
// stop a call whose budget ran out (and the Go runtime can preempt the
// goroutine running it) without the engine checking anything at every loop
// back-edge. wazero uses it instead of its own termination checks, which
// exit to Go at every back-edge (see RATIONALE.md).
//
// meterModule adds to a module:
//
//   - a function import sluice_v1.yield: () -> (), as the first import, so
//     that it is function 0 and every other function index moves up by one
//     (calls, return calls, ref.func in code, constant expressions and
//     element segments, function exports, the start function, the "name"
//     section are renumbered);
//   - a mutable i32 global, the counter, appended after every other global
//     (so no global index moves), starting at meterInterval;
//   - at every function entry and every loop header: the counter is
//     decremented, and when it reaches 0 it is reset and yield is called.
//
// Every unbounded execution passes loop headers or function entries (the
// only backward control flow is a branch to a loop, and recursion enters
// functions), so a spinning guest calls yield at least every meterInterval
// loop iterations or calls; between two of them it runs at most one
// function's worth of straight-line code per iteration. The sequence is
// stack-neutral and closes its own block, so it changes no operand stack
// and no branch depth around it. A function whose entry runs straight into
// a loop header, without a branch or call before it (as every function Go
// compiles: a few locals, blocks, then the loop of its jump table), is
// metered at that header only.
//
// Every index the rewriter meets is checked against the input's index
// spaces, so that a module the engine would refuse cannot become valid
// once metered: code could otherwise name the counter (and keep it from
// ever reaching 0), the yield function or the added type.
//
// The rewriter decodes every instruction with its immediates (core 2.0,
// sign extension, saturating conversions, bulk memory and table
// instructions, reference types, multi-value block types, SIMD, tail calls,
// typed function references, threads, exception handling with try_table,
// multiple memories, 64-bit memory offsets) and refuses anything else, such
// as the legacy exception-handling instructions (try/catch/delegate) or
// relaxed SIMD: it never emits a module it did not fully understand. It
// does not validate: the engine does that on the result.

// meterInterval is how many loop iterations and function entries pass
// between two calls to yield.
const meterInterval = 1024

// meterYield is the name of the host function meterModule imports from
// abi.ImportModule. Inspect refuses a guest that imports it itself: the
// only name it allows there is abi.ImportLog.
const meterYield = "yield"

// Section ids meterModule handles beyond those of wasmbin.go.
const (
	secTable     = 4
	secMemory    = 5
	secGlobal    = 6
	secStart     = 8
	secElement   = 9
	secCode      = 10
	secData      = 11
	secDataCount = 12
	secTag       = 13
)

// sectionRank is the order non-custom sections must appear in.
var sectionRank = map[byte]int{
	secType: 1, secImport: 2, secFunction: 3, secTable: 4, secMemory: 5, secTag: 6,
	secGlobal: 7, secExport: 8, secStart: 9, secElement: 10, secDataCount: 11, secCode: 12, secData: 13,
}

type meterer struct {
	// The input's index spaces, as read so far: an index out of range is
	// refused, lest an invalid module turn valid once metered (reaching
	// the counter global, the yield function or the added type).
	types, funcs, globals uint32

	voidType        uint32 // index of the type () -> (), in the output
	importedGlobals uint32
	definedGlobals  uint32
	importedFuncs   uint32 // in the input
	counter         uint32 // index of the counter global
	seq             []byte // the metering sequence
	funcIndex       uint32 // the function being rewritten, in the input
	// entryMetered is set by rewrite when the expression reaches a loop
	// header through straight-line code: no branch, call or return before
	// it, so that the loop's metering also meters every entry.
	entryMetered bool
	haveType     bool
	haveIm       bool
	haveGlobal   bool
	body         []byte // scratch for one code body
}

// meterModule returns wasm with loop metering (see above), or an error if
// the module uses anything the rewriter does not know.
func meterModule(wasm []byte) ([]byte, error) {
	out, err := meterModuleErr(wasm)
	if err != nil {
		return nil, fmt.Errorf("meter: %w", err)
	}
	return out, nil
}

func meterModuleErr(wasm []byte) ([]byte, error) {
	if len(wasm) < len(wasmMagic) || !bytes.Equal(wasm[:len(wasmMagic)], wasmMagic) {
		return nil, errNotWasm
	}
	m := &meterer{}
	// The sections, in order. Types, imports and globals are needed before
	// the code: they come before it in a valid module.
	type section struct {
		id         byte
		start, end int // the body
	}
	var secs []section
	seen := map[byte]bool{}
	lastRank := 0
	r := &wasmReader{b: wasm, pos: len(wasmMagic)}
	for r.err == nil && r.pos < len(wasm) {
		id := r.byte()
		size := r.u32()
		start := r.pos
		r.bytes(size)
		if r.err != nil {
			break
		}
		if id != secCustom {
			if _, ok := sectionRank[id]; !ok {
				return nil, fmt.Errorf("unknown section id %d at byte %d", id, start)
			}
			if seen[id] {
				return nil, fmt.Errorf("duplicate section id %d at byte %d", id, start)
			}
			if sectionRank[id] < lastRank {
				return nil, fmt.Errorf("section id %d out of order at byte %d", id, start)
			}
			seen[id], lastRank = true, sectionRank[id]
		}
		secs = append(secs, section{id, start, r.pos})
	}
	if r.err != nil {
		return nil, r.err
	}
	m.haveType, m.haveIm, m.haveGlobal = seen[secType], seen[secImport], seen[secGlobal]

	out := make([]byte, 0, len(wasm)+len(wasm)/8+64)
	out = append(out, wasmMagic...)
	var buf []byte
	emit := func(id byte, body []byte) {
		out = append(out, id)
		out = appendU32(out, uint32(len(body)))
		out = append(out, body...)
	}
	// Sections this rewrite needs that the module lacks are inserted
	// before the first section that must follow them.
	missing := func(upTo int) {
		if !m.haveType && upTo > sectionRank[secType] {
			m.haveType = true
			m.voidType = 0
			emit(secType, []byte{1, 0x60, 0, 0})
		}
		if !m.haveIm && upTo > sectionRank[secImport] {
			m.haveIm = true
			emit(secImport, m.appendYieldImport(appendU32(nil, 1)))
		}
		if !m.haveGlobal && upTo > sectionRank[secGlobal] {
			m.haveGlobal = true
			m.counter = m.importedGlobals
			emit(secGlobal, appendCounterGlobal(appendU32(nil, 1)))
		}
	}
	for _, s := range secs {
		if s.id != secCustom {
			missing(sectionRank[s.id])
		}
		// The section's reader sees the module up to the section's end, so
		// that positions in errors are offsets in the module.
		sr := &wasmReader{b: wasm[:s.end], pos: s.start}
		var err error
		buf = buf[:0]
		switch s.id {
		case secCustom:
			name := sr.name()
			if sr.err == nil && name == "name" {
				if body, ok := m.renumberNames(wasm[s.start:s.end]); ok {
					emit(secCustom, body)
				} // else dropped: names only serve stack traces
				continue
			}
			out = appendSection(out, wasm, s.id, s.start, s.end)
			continue
		case secType:
			buf, err = m.typeSection(buf, sr)
		case secImport:
			buf, err = m.importSection(buf, sr)
		case secTable:
			buf, err = m.tableSection(buf, sr)
		case secGlobal:
			buf, err = m.globalSection(buf, sr)
		case secExport:
			buf, err = m.exportSection(buf, sr)
		case secStart:
			buf = appendU32(buf, m.fn(sr))
		case secFunction:
			err = m.functionSection(sr)
			out = appendSection(out, wasm, s.id, s.start, s.end)
		case secTag:
			err = m.tagSection(sr)
			out = appendSection(out, wasm, s.id, s.start, s.end)
		case secMemory:
			n := sr.u32()
			for i := uint32(0); i < n && sr.err == nil; i++ {
				sr.meterLimits()
			}
			out = appendSection(out, wasm, s.id, s.start, s.end)
		case secElement:
			buf, err = m.elementSection(buf, sr)
		case secCode:
			buf, err = m.codeSection(buf, sr)
		case secData:
			buf, err = m.dataSection(buf, sr)
		default: // data count: no index to check or move
			out = appendSection(out, wasm, s.id, s.start, s.end)
			continue
		}
		if err == nil && sr.err != nil {
			err = sr.err
		}
		if err == nil && sr.pos != s.end {
			err = fmt.Errorf("section %d: %d unread bytes at byte %d", s.id, s.end-sr.pos, sr.pos)
		}
		if err != nil {
			return nil, err
		}
		if s.id != secFunction && s.id != secTag && s.id != secMemory {
			emit(s.id, buf)
		}
	}
	missing(1 << 30)
	return out, nil
}

func appendSection(out, wasm []byte, id byte, start, end int) []byte {
	out = append(out, id)
	out = appendU32(out, uint32(end-start))
	return append(out, wasm[start:end]...)
}

// fn reads a function index of the input and returns the output's.
func (m *meterer) fn(r *wasmReader) uint32 {
	start := r.pos
	idx := r.u32()
	if idx >= m.funcs && r.err == nil {
		r.pos = start
		r.fail(fmt.Sprintf("function index %d out of range", idx))
	}
	return idx + 1
}

// index reads an index into a space of n entries.
func (r *wasmReader) index(n uint32, what string) {
	start := r.pos
	if idx := r.u32(); idx >= n && r.err == nil {
		r.pos = start
		r.fail(fmt.Sprintf("%s index %d out of range", what, idx))
	}
}

func (m *meterer) functionSection(r *wasmReader) error {
	n := r.u32()
	for i := uint32(0); i < n && r.err == nil; i++ {
		r.index(m.types, "type")
	}
	if uint64(m.funcs)+uint64(n) >= 1<<32-1 {
		return errors.New("too many functions")
	}
	m.funcs += n
	return nil
}

func (m *meterer) tagSection(r *wasmReader) error {
	n := r.u32()
	for i := uint32(0); i < n && r.err == nil; i++ {
		r.byte() // attribute
		r.index(m.types, "type")
	}
	return nil
}

func appendCounterGlobal(b []byte) []byte {
	b = append(b, byte(valI32), 1, 0x41) // i32, mutable, i32.const
	b = appendS64(b, meterInterval)
	return append(b, 0x0b)
}

func (m *meterer) appendYieldImport(b []byte) []byte {
	b = appendU32(b, uint32(len(abi.ImportModule)))
	b = append(b, abi.ImportModule...)
	b = appendU32(b, uint32(len(meterYield)))
	b = append(b, meterYield...)
	b = append(b, extFunc)
	return appendU32(b, m.voidType)
}

func (m *meterer) typeSection(buf []byte, r *wasmReader) ([]byte, error) {
	n := r.u32()
	m.types = n
	entries := r.pos
	found := false
	for i := uint32(0); i < n && r.err == nil; i++ {
		start := r.pos
		if form := r.byte(); form != 0x60 && r.err == nil {
			return nil, fmt.Errorf("type %d at byte %d: form 0x%02x is not a function type", i, start, form)
		}
		np := r.u32()
		for j := uint32(0); j < np && r.err == nil; j++ {
			r.valType()
		}
		nr := r.u32()
		for j := uint32(0); j < nr && r.err == nil; j++ {
			r.valType()
		}
		if !found && np == 0 && nr == 0 {
			found, m.voidType = true, i
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	if found {
		buf = appendU32(buf, n)
		return append(buf, r.b[entries:r.pos]...), nil
	}
	if n == 0xffffffff {
		return nil, errors.New("too many types")
	}
	m.voidType = n
	buf = appendU32(buf, n+1)
	buf = append(buf, r.b[entries:r.pos]...)
	return append(buf, 0x60, 0, 0), nil
}

func (m *meterer) importSection(buf []byte, r *wasmReader) ([]byte, error) {
	n := r.u32()
	if n == 0xffffffff {
		return nil, errors.New("too many imports")
	}
	buf = appendU32(buf, n+1)
	buf = m.appendYieldImport(buf)
	start := r.pos
	for i := uint32(0); i < n && r.err == nil; i++ {
		r.name()
		r.name()
		switch kind := r.byte(); kind {
		case extFunc:
			r.index(m.types, "type")
			m.importedFuncs++
		case extTable:
			r.valType()
			r.meterLimits()
		case extMemory:
			r.meterLimits()
		case extGlobal:
			r.valType()
			r.byte()
			m.importedGlobals++
		case extTag:
			r.byte()
			r.index(m.types, "type")
		default:
			if r.err == nil {
				return nil, fmt.Errorf("import %d: unknown kind %d at byte %d", i, kind, r.pos-1)
			}
		}
	}
	if m.importedFuncs == 0xffffffff || m.importedGlobals == 0xffffffff {
		return nil, errors.New("too many imports")
	}
	m.funcs, m.globals = m.importedFuncs, m.importedGlobals
	return append(buf, r.b[start:r.pos]...), nil
}

func (m *meterer) tableSection(buf []byte, r *wasmReader) ([]byte, error) {
	n := r.u32()
	buf = appendU32(buf, n)
	for i := uint32(0); i < n && r.err == nil; i++ {
		start := r.pos
		if r.pos+1 < len(r.b) && r.b[r.pos] == 0x40 && r.b[r.pos+1] == 0x00 {
			// A table with an initializer (typed function references).
			r.pos += 2
			r.valType()
			r.meterLimits()
			buf = append(buf, r.b[start:r.pos]...)
			var err error
			if buf, err = m.rewrite(buf, r, false); err != nil {
				return nil, fmt.Errorf("table %d: %w", i, err)
			}
			continue
		}
		r.valType()
		r.meterLimits()
		buf = append(buf, r.b[start:r.pos]...)
	}
	return buf, nil
}

// meterLimits reads limits (core 2.0, shared memories, memory64), refusing
// flags it does not know (custom page sizes).
func (r *wasmReader) meterLimits() {
	start := r.pos
	if flags := r.byte(); flags > 7 && r.err == nil {
		r.pos = start
		r.fail(fmt.Sprintf("unknown limits flags 0x%02x", flags))
		return
	}
	r.pos = start
	r.limits()
}

func (m *meterer) globalSection(buf []byte, r *wasmReader) ([]byte, error) {
	n := r.u32()
	if n == 0xffffffff {
		return nil, errors.New("too many globals")
	}
	if uint64(m.importedGlobals)+uint64(n) >= 1<<32-1 {
		return nil, errors.New("too many globals")
	}
	m.definedGlobals = n
	m.counter = m.importedGlobals + n
	buf = appendU32(buf, n+1)
	for i := uint32(0); i < n && r.err == nil; i++ {
		start := r.pos
		r.valType()
		r.byte()
		buf = append(buf, r.b[start:r.pos]...)
		// An initializer sees the globals before it (extended constants).
		m.globals = m.importedGlobals + i
		var err error
		if buf, err = m.rewrite(buf, r, false); err != nil {
			return nil, fmt.Errorf("global %d: %w", m.importedGlobals+i, err)
		}
	}
	m.globals = m.counter
	return appendCounterGlobal(buf), nil
}

func (m *meterer) exportSection(buf []byte, r *wasmReader) ([]byte, error) {
	n := r.u32()
	buf = appendU32(buf, n)
	for i := uint32(0); i < n && r.err == nil; i++ {
		start := r.pos
		r.name()
		kind := r.byte()
		buf = append(buf, r.b[start:r.pos]...)
		switch kind {
		case extFunc:
			buf = appendU32(buf, m.fn(r))
			continue
		case extGlobal:
			start = r.pos
			r.index(m.globals, "global")
		default:
			start = r.pos
			r.u32()
		}
		buf = append(buf, r.b[start:r.pos]...)
	}
	return buf, nil
}

func (m *meterer) elementSection(buf []byte, r *wasmReader) ([]byte, error) {
	n := r.u32()
	buf = appendU32(buf, n)
	for i := uint32(0); i < n && r.err == nil; i++ {
		flags := r.u32()
		buf = appendU32(buf, flags)
		var err error
		if flags == 2 || flags == 6 { // explicit table index
			buf = appendU32(buf, r.u32())
		}
		if flags&1 == 0 { // active: an offset
			if buf, err = m.rewrite(buf, r, false); err != nil {
				return nil, fmt.Errorf("element %d: %w", i, err)
			}
		}
		switch flags {
		case 0, 1, 2, 3: // function indices
			if flags != 0 {
				start := r.pos
				if kind := r.byte(); kind != 0x00 && r.err == nil {
					return nil, fmt.Errorf("element %d: unknown element kind 0x%02x at byte %d", i, kind, start)
				}
				buf = append(buf, 0x00)
			}
			k := r.u32()
			buf = appendU32(buf, k)
			for j := uint32(0); j < k && r.err == nil; j++ {
				buf = appendU32(buf, m.fn(r))
			}
		case 4, 5, 6, 7: // expressions
			if flags != 4 {
				start := r.pos
				r.valType()
				buf = append(buf, r.b[start:r.pos]...)
			}
			k := r.u32()
			buf = appendU32(buf, k)
			for j := uint32(0); j < k && r.err == nil; j++ {
				if buf, err = m.rewrite(buf, r, false); err != nil {
					return nil, fmt.Errorf("element %d: %w", i, err)
				}
			}
		default:
			return nil, fmt.Errorf("element %d: unknown flags %d", i, flags)
		}
	}
	return buf, nil
}

func (m *meterer) dataSection(buf []byte, r *wasmReader) ([]byte, error) {
	n := r.u32()
	buf = appendU32(buf, n)
	for i := uint32(0); i < n && r.err == nil; i++ {
		flags := r.u32()
		buf = appendU32(buf, flags)
		var err error
		switch flags {
		case 0, 2:
			if flags == 2 {
				buf = appendU32(buf, r.u32())
			}
			if buf, err = m.rewrite(buf, r, false); err != nil {
				return nil, fmt.Errorf("data %d: %w", i, err)
			}
		case 1:
		default:
			return nil, fmt.Errorf("data %d: unknown flags %d", i, flags)
		}
		start := r.pos
		r.bytes(r.u32())
		buf = append(buf, r.b[start:r.pos]...)
	}
	return buf, nil
}

func (m *meterer) codeSection(buf []byte, r *wasmReader) ([]byte, error) {
	// The metering sequence, now that the counter's index is known.
	g := appendU32(nil, m.counter)
	seq := append([]byte{0x23}, g...)         // global.get $counter
	seq = append(seq, 0x41, 0x01, 0x6b, 0x24) // i32.const 1, i32.sub, global.set
	seq = append(seq, g...)                   // $counter
	seq = append(seq, 0x23)                   // global.get
	seq = append(seq, g...)                   // $counter
	seq = append(seq, 0x45, 0x04, 0x40, 0x41) // i32.eqz, if (no result), i32.const
	seq = appendS64(seq, meterInterval)       // meterInterval
	seq = append(seq, 0x24)                   // global.set
	seq = append(seq, g...)                   // $counter
	seq = append(seq, 0x10, 0x00, 0x0b)       // call $yield (function 0), end
	m.seq = seq

	n := r.u32()
	buf = appendU32(buf, n)
	for i := uint32(0); i < n && r.err == nil; i++ {
		m.funcIndex = m.importedFuncs + i
		size := r.u32()
		bodyStart := r.pos
		r.bytes(size)
		if r.err != nil {
			break
		}
		end := r.pos
		br := &wasmReader{b: r.b[:end], pos: bodyStart}
		nl := br.u32()
		for j := uint32(0); j < nl && br.err == nil; j++ {
			br.u32()
			br.valType()
		}
		if br.err != nil {
			return nil, fmt.Errorf("function %d: %w", m.funcIndex, br.err)
		}
		body := append(m.body[:0], r.b[bodyStart:br.pos]...)
		locals := len(body)
		var err error
		if body, err = m.rewrite(body, br, true); err != nil {
			return nil, fmt.Errorf("function %d: %w", m.funcIndex, err)
		}
		if br.pos != end {
			return nil, fmt.Errorf("function %d: %d bytes after its end at byte %d", m.funcIndex, end-br.pos, br.pos)
		}
		// Function entry, unless every entry runs into a metered loop
		// header first (as in code from Go, whose functions start with a
		// few locals and blocks, then the loop of their jump table).
		if !m.entryMetered {
			body = slices.Insert(body, locals, m.seq...)
		}
		m.body = body
		buf = appendU32(buf, uint32(len(body)))
		buf = append(buf, body...)
	}
	return buf, nil
}

// rewrite copies one expression (a function body after its locals, or a
// constant expression) from r to out, up to and including the end that
// closes it, renumbering function indices and, with meter, inserting the
// metering sequence after every loop header.
func (m *meterer) rewrite(out []byte, r *wasmReader, meter bool) ([]byte, error) {
	depth := 0
	m.entryMetered = false
	straight := meter // no control transfer yet
	for {
		start := r.pos
		op := r.byte()
		if r.err != nil {
			return nil, r.err
		}
		if straight {
			switch op {
			case 0x03: // loop
				straight, m.entryMetered = false, true
			case 0x00, 0x04, 0x05, 0x08, 0x0a, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x1f, 0xd5, 0xd6:
				straight = false
			case 0x0b:
				straight = depth > 0 // falling out of a block; else the return
			}
		}
		switch op {
		case 0x0b: // end
			out = append(out, op)
			if depth == 0 {
				return out, nil
			}
			depth--
			continue
		case 0x10, 0x12, 0xd2: // call, return_call, ref.func
			idx := m.fn(r)
			if r.err != nil {
				return nil, r.err
			}
			out = append(out, op)
			out = appendU32(out, idx)
			continue
		case 0x02, 0x04: // block, if
			m.blockType(r)
			depth++
		case 0x03: // loop
			m.blockType(r)
			depth++
			if meter && r.err == nil {
				out = append(out, r.b[start:r.pos]...)
				out = append(out, m.seq...)
				continue
			}
		case 0x1f: // try_table
			m.blockType(r)
			k := r.u32()
			for j := uint32(0); j < k && r.err == nil; j++ {
				switch c := r.byte(); c {
				case 0x00, 0x01: // catch, catch_ref: tag, label
					r.u32()
					r.u32()
				case 0x02, 0x03: // catch_all, catch_all_ref: label
					r.u32()
				default:
					if r.err == nil {
						return nil, fmt.Errorf("unknown catch kind 0x%02x at byte %d", c, r.pos-1)
					}
				}
			}
			depth++
		case 0x00, 0x01, 0x05, 0x0a, 0x0f, 0x1a, 0x1b, 0xd1, 0xd4:
			// unreachable, nop, else, throw_ref, return, drop, select,
			// ref.is_null, ref.as_non_null
		case 0x08, 0x0c, 0x0d, 0x20, 0x21, 0x22, 0x25, 0x26, 0x3f, 0x40, 0xd5, 0xd6:
			// throw tag, br, br_if, local.*, table.get/set,
			// memory.size/grow (memory index), br_on_null, br_on_non_null
			r.u32()
		case 0x23, 0x24: // global.get, global.set
			r.index(m.globals, "global")
		case 0x14, 0x15: // call_ref, return_call_ref: type
			r.index(m.types, "type")
		case 0x0e: // br_table
			k := r.u32()
			for j := uint32(0); j <= k && r.err == nil; j++ {
				r.u32()
			}
		case 0x11, 0x13: // call_indirect, return_call_indirect: type, table
			r.index(m.types, "type")
			r.u32()
		case 0x1c: // select t*
			k := r.u32()
			for j := uint32(0); j < k && r.err == nil; j++ {
				r.valType()
			}
		case 0x41:
			r.sleb(32)
		case 0x42:
			r.sleb(64)
		case 0x43:
			r.bytes(4)
		case 0x44:
			r.bytes(8)
		case 0xd0: // ref.null heap type
			r.sleb(33)
		case 0xfc:
			if err := r.miscOp(start); err != nil {
				return nil, err
			}
		case 0xfd:
			if err := r.simdOp(start); err != nil {
				return nil, err
			}
		case 0xfe:
			if err := r.atomicOp(start); err != nil {
				return nil, err
			}
		default:
			switch {
			case op >= 0x28 && op <= 0x3e: // loads and stores
				r.memarg()
			case op >= 0x45 && op <= 0xc4: // numeric, no immediates
			case op == 0x06 || op == 0x07 || op == 0x09 || op == 0x18 || op == 0x19:
				return nil, fmt.Errorf("legacy exception handling (opcode 0x%02x at byte %d) is not supported: use try_table (wasm-opt --translate-to-exnref)", op, start)
			default:
				return nil, fmt.Errorf("unknown opcode 0x%02x at byte %d", op, start)
			}
		}
		if r.err != nil {
			return nil, r.err
		}
		out = append(out, r.b[start:r.pos]...)
	}
}

// miscOp reads the 0xfc-prefixed instruction at start (prefix read).
func (r *wasmReader) miscOp(start int) error {
	switch sub := r.u32(); {
	case sub <= 7: // saturating truncations
	case sub == 8, sub == 12: // memory.init data mem, table.init elem table
		r.u32()
		r.u32()
	case sub == 10, sub == 14: // memory.copy, table.copy
		r.u32()
		r.u32()
	case sub <= 17: // data.drop, memory.fill, elem.drop, table.grow/size/fill
		r.u32()
	default:
		if r.err == nil {
			return fmt.Errorf("unknown opcode 0xfc 0x%x at byte %d", sub, start)
		}
	}
	return nil
}

// simdHoles are the unassigned 0xfd opcodes below 0x100.
var simdHoles = [256]bool{0x9a: true, 0xa2: true, 0xa5: true, 0xa6: true, 0xaf: true, 0xb0: true,
	0xb2: true, 0xb3: true, 0xb4: true, 0xbb: true, 0xc2: true, 0xc5: true, 0xc6: true, 0xcf: true,
	0xd0: true, 0xd2: true, 0xd3: true, 0xd4: true, 0xe2: true, 0xee: true}

// simdOp reads the 0xfd-prefixed instruction at start (prefix read).
func (r *wasmReader) simdOp(start int) error {
	sub := r.u32()
	switch {
	case r.err != nil:
	case sub <= 0x0b || sub == 0x5c || sub == 0x5d: // loads, store, load_zero
		r.memarg()
	case sub == 0x0c, sub == 0x0d: // v128.const, i8x16.shuffle
		r.bytes(16)
	case sub >= 0x15 && sub <= 0x22: // extract/replace lane
		r.byte()
	case sub >= 0x54 && sub <= 0x5b: // load/store lane
		r.memarg()
		r.byte()
	case sub <= 0xff && !simdHoles[sub]:
	default:
		return fmt.Errorf("unknown opcode 0xfd 0x%x at byte %d", sub, start)
	}
	return nil
}

// atomicOp reads the 0xfe-prefixed instruction at start (prefix read).
func (r *wasmReader) atomicOp(start int) error {
	sub := r.u32()
	switch {
	case r.err != nil:
	case sub <= 0x02 || (sub >= 0x10 && sub <= 0x4e):
		r.memarg()
	case sub == 0x03: // atomic.fence
		r.byte()
	default:
		return fmt.Errorf("unknown opcode 0xfe 0x%x at byte %d", sub, start)
	}
	return nil
}

// memarg reads a memory argument: alignment flags (bit 6: a memory index
// follows) and an offset (64-bit with memory64).
func (r *wasmReader) memarg() {
	if r.u32()&0x40 != 0 {
		r.u32()
	}
	r.u64()
}

// valType reads a value type, with the typed references' (ref null? ht).
func (r *wasmReader) valType() {
	switch b := r.byte(); b {
	case 0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f, 0x69: // i32 i64 f32 f64 v128 funcref externref exnref
	case 0x63, 0x64: // (ref null ht), (ref ht)
		r.sleb(33)
	default:
		if r.err == nil {
			r.pos--
			r.fail(fmt.Sprintf("unknown value type 0x%02x", b))
		}
	}
}

// blockType reads a block type: empty, one value type, or a type index
// (multi-value) as a non-negative s33.
func (m *meterer) blockType(r *wasmReader) {
	if r.pos < len(r.b) {
		switch r.b[r.pos] {
		case 0x40, 0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f, 0x69, 0x63, 0x64:
			if r.b[r.pos] == 0x40 {
				r.pos++
			} else {
				r.valType()
			}
			return
		}
	}
	start := r.pos
	if v := r.sleb(33); (v < 0 || v >= int64(m.types)) && r.err == nil {
		r.pos = start
		r.fail("invalid block type")
	}
}

// sleb reads a signed LEB128 integer of at most bits bits.
func (r *wasmReader) sleb(bits int) int64 {
	var v int64
	shift := 0
	for range (bits + 6) / 7 {
		c := r.byte()
		if r.err != nil {
			return 0
		}
		v |= int64(c&0x7f) << shift
		shift += 7
		if c&0x80 == 0 {
			if shift < 64 && c&0x40 != 0 {
				v |= -1 << shift
			}
			return v
		}
	}
	r.fail("integer too long")
	return 0
}

func appendS64(b []byte, v int64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

// renumberNames returns the "name" section body (after its name) with the
// function indices of its function, local and label names moved up by
// one; false if it is malformed (the section is then dropped).
func (m *meterer) renumberNames(sec []byte) ([]byte, bool) {
	r := &wasmReader{b: sec}
	r.name()
	out := append([]byte(nil), sec[:r.pos]...)
	for r.err == nil && r.pos < len(sec) {
		id := r.byte()
		sub := r.bytes(r.u32())
		if r.err != nil {
			return nil, false
		}
		var body []byte
		s := &wasmReader{b: sub}
		switch id {
		case 1: // function names: idx name
			n := s.u32()
			body = appendU32(body, n)
			for i := uint32(0); i < n && s.err == nil; i++ {
				body = appendU32(body, s.u32()+1)
				start := s.pos
				s.name()
				body = append(body, sub[start:s.pos]...)
			}
		case 2, 3: // local and label names: idx (idx name)*
			n := s.u32()
			body = appendU32(body, n)
			for i := uint32(0); i < n && s.err == nil; i++ {
				body = appendU32(body, s.u32()+1)
				start := s.pos
				k := s.u32()
				for j := uint32(0); j < k && s.err == nil; j++ {
					s.u32()
					s.name()
				}
				body = append(body, sub[start:s.pos]...)
			}
		default:
			body, s.pos = sub, len(sub)
		}
		if s.err != nil || s.pos != len(sub) {
			return nil, false
		}
		out = append(out, id)
		out = appendU32(out, uint32(len(body)))
		out = append(out, body...)
	}
	return out, r.err == nil
}
