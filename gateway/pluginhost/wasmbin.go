package pluginhost

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// A small, engine-agnostic reader of the WebAssembly binary format (core
// spec 2.0, section 5). The host reads a module's manifest, imports, exports
// and export signatures before handing the bytes to an engine, so a broken
// plugin fails with the same precise message on every engine, and a
// manifest is read before anything is compiled or instantiated.

var wasmMagic = []byte{0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00}

// Section ids (core spec 5.5.2).
const (
	secCustom   = 0
	secType     = 1
	secImport   = 2
	secFunction = 3
	secExport   = 7
)

// External kinds (core spec 5.5.5, 5.5.10) and the exception proposal's tag.
const (
	extFunc   = 0
	extTable  = 1
	extMemory = 2
	extGlobal = 3
	extTag    = 4
)

var extKindNames = [...]string{"func", "table", "memory", "global", "tag"}

type valType byte

const (
	valI32 valType = 0x7f
	valI64 valType = 0x7e
	valF32 valType = 0x7d
	valF64 valType = 0x7c
)

func (v valType) String() string {
	switch v {
	case valI32:
		return "i32"
	case valI64:
		return "i64"
	case valF32:
		return "f32"
	case valF64:
		return "f64"
	}
	return fmt.Sprintf("0x%02x", byte(v))
}

type funcType struct{ params, results []valType }

func (t funcType) String() string {
	join := func(v []valType) string {
		s := make([]string, len(v))
		for i, x := range v {
			s[i] = x.String()
		}
		return strings.Join(s, ", ")
	}
	return "(" + join(t.params) + ") -> (" + join(t.results) + ")"
}

func (t funcType) equal(o funcType) bool {
	return bytes.Equal(vtBytes(t.params), vtBytes(o.params)) && bytes.Equal(vtBytes(t.results), vtBytes(o.results))
}

func vtBytes(v []valType) []byte {
	b := make([]byte, len(v))
	for i, x := range v {
		b[i] = byte(x)
	}
	return b
}

type wasmImport struct {
	module, name string
	kind         byte
	typeIdx      uint32 // for funcs
}

type wasmExport struct {
	name  string
	kind  byte
	index uint32
}

// wasmInfo is what the host needs to know of a module before compiling it.
type wasmInfo struct {
	customs map[string][]byte
	types   []funcType
	imports []wasmImport
	funcs   []uint32 // type index per defined function
	exports []wasmExport
}

func (w *wasmInfo) export(name string) (wasmExport, bool) {
	for _, e := range w.exports {
		if e.name == name {
			return e, true
		}
	}
	return wasmExport{}, false
}

// funcSig returns the signature of the exported function name.
func (w *wasmInfo) funcSig(e wasmExport) (funcType, bool) {
	var nImported uint32
	var idx = e.index
	for _, im := range w.imports {
		if im.kind == extFunc {
			if nImported == idx {
				if int(im.typeIdx) < len(w.types) {
					return w.types[im.typeIdx], true
				}
				return funcType{}, false
			}
			nImported++
		}
	}
	idx -= nImported
	if int(idx) >= len(w.funcs) || int(w.funcs[idx]) >= len(w.types) {
		return funcType{}, false
	}
	return w.types[w.funcs[idx]], true
}

// errNotWasm is returned for bytes that are not a Wasm binary module.
var errNotWasm = errors.New("not a WebAssembly module (bad magic or version)")

type wasmReader struct {
	b   []byte
	pos int
	err error
}

func (r *wasmReader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("malformed module at byte %d: %s", r.pos, what)
	}
}

func (r *wasmReader) byte() byte {
	if r.err != nil || r.pos >= len(r.b) {
		r.fail("unexpected end")
		return 0
	}
	c := r.b[r.pos]
	r.pos++
	return c
}

func (r *wasmReader) u32() uint32 {
	var v uint64
	for shift := 0; shift < 35; shift += 7 {
		c := r.byte()
		v |= uint64(c&0x7f) << shift
		if c&0x80 == 0 {
			if v > 0xffffffff {
				r.fail("integer too large")
			}
			return uint32(v)
		}
	}
	r.fail("integer too long")
	return 0
}

func (r *wasmReader) u64() uint64 {
	var v uint64
	for shift := 0; shift < 70; shift += 7 {
		c := r.byte()
		v |= uint64(c&0x7f) << shift
		if c&0x80 == 0 {
			return v
		}
	}
	r.fail("integer too long")
	return 0
}

func (r *wasmReader) bytes(n uint32) []byte {
	if r.err != nil || uint64(r.pos)+uint64(n) > uint64(len(r.b)) {
		r.fail("length out of range")
		return nil
	}
	s := r.b[r.pos : r.pos+int(n)]
	r.pos += int(n)
	return s
}

func (r *wasmReader) name() string { return string(r.bytes(r.u32())) }

func (r *wasmReader) limits() {
	flags := r.byte()
	r.u64()
	if flags&1 != 0 {
		r.u64()
	}
}

// parseWasm reads the sections the host needs and skips the others.
func parseWasm(b []byte) (*wasmInfo, error) {
	if len(b) < len(wasmMagic) || !bytes.Equal(b[:len(wasmMagic)], wasmMagic) {
		return nil, errNotWasm
	}
	info := &wasmInfo{customs: map[string][]byte{}}
	r := &wasmReader{b: b, pos: len(wasmMagic)}
	for r.err == nil && r.pos < len(b) {
		id := r.byte()
		size := r.u32()
		body := r.bytes(size)
		if r.err != nil {
			break
		}
		s := &wasmReader{b: body}
		switch id {
		case secCustom:
			name := s.name()
			if s.err == nil {
				if _, dup := info.customs[name]; !dup {
					info.customs[name] = body[s.pos:]
				}
			}
		case secType:
			n := s.u32()
			for i := uint32(0); i < n && s.err == nil; i++ {
				if s.byte() != 0x60 {
					s.fail("type is not a function type")
					break
				}
				var ft funcType
				np := s.u32()
				for j := uint32(0); j < np && s.err == nil; j++ {
					ft.params = append(ft.params, valType(s.byte()))
				}
				nr := s.u32()
				for j := uint32(0); j < nr && s.err == nil; j++ {
					ft.results = append(ft.results, valType(s.byte()))
				}
				info.types = append(info.types, ft)
			}
		case secImport:
			n := s.u32()
			for i := uint32(0); i < n && s.err == nil; i++ {
				im := wasmImport{module: s.name(), name: s.name(), kind: s.byte()}
				switch im.kind {
				case extFunc:
					im.typeIdx = s.u32()
				case extTable:
					s.byte()
					s.limits()
				case extMemory:
					s.limits()
				case extGlobal:
					s.byte()
					s.byte()
				case extTag:
					s.byte()
					s.u32()
				default:
					s.fail("unknown import kind")
				}
				info.imports = append(info.imports, im)
			}
		case secFunction:
			n := s.u32()
			for i := uint32(0); i < n && s.err == nil; i++ {
				info.funcs = append(info.funcs, s.u32())
			}
		case secExport:
			n := s.u32()
			for i := uint32(0); i < n && s.err == nil; i++ {
				info.exports = append(info.exports, wasmExport{name: s.name(), kind: s.byte(), index: s.u32()})
			}
		}
		if s.err != nil {
			return nil, fmt.Errorf("section %d: %w", id, s.err)
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	return info, nil
}

// setCustomSection returns module with the custom section name set to
// payload: an existing section of that name is removed and the new one is
// appended (custom sections may appear anywhere, core spec 5.5.3).
func setCustomSection(module []byte, name string, payload []byte) ([]byte, error) {
	out, err := removeCustomSection(module, name)
	if err != nil {
		return nil, err
	}
	var content []byte
	content = appendU32(content, uint32(len(name)))
	content = append(content, name...)
	content = append(content, payload...)
	out = append(out, secCustom)
	out = appendU32(out, uint32(len(content)))
	return append(out, content...), nil
}

// removeCustomSection returns a copy of module without the custom sections
// called name.
func removeCustomSection(module []byte, name string) ([]byte, error) {
	if len(module) < len(wasmMagic) || !bytes.Equal(module[:len(wasmMagic)], wasmMagic) {
		return nil, errNotWasm
	}
	out := make([]byte, 0, len(module))
	out = append(out, wasmMagic...)
	r := &wasmReader{b: module, pos: len(wasmMagic)}
	for r.err == nil && r.pos < len(module) {
		start := r.pos
		id := r.byte()
		size := r.u32()
		body := r.bytes(size)
		if r.err != nil {
			break
		}
		if id == secCustom {
			s := &wasmReader{b: body}
			if s.name() == name && s.err == nil {
				continue
			}
		}
		out = append(out, module[start:r.pos]...)
	}
	if r.err != nil {
		return nil, r.err
	}
	return out, nil
}

func appendU32(b []byte, v uint32) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			b = append(b, c|0x80)
			continue
		}
		return append(b, c)
	}
}
