package pluginhost

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/sluicegw/sluice/abi"
)

// Module is a plugin binary that passed every check the host makes before
// compiling it: it is Wasm, speaks this host's ABI, carries a valid
// manifest, exports what its hooks need with the right signatures, and
// imports nothing the host does not provide.
type Module struct {
	Manifest abi.Manifest
	// Bytes is the code the engines compile: the module without its
	// manifest section, so a manifest-only change (a new version string)
	// still hits the compilation caches, which are keyed by these bytes.
	Bytes []byte
	// HasInit, HasReactorInit report the optional exports.
	HasInit        bool
	HasReactorInit bool
}

// HasHook reports whether the manifest declares hook.
func (m *Module) HasHook(hook string) bool { return slices.Contains(m.Manifest.Hooks, hook) }

var (
	sigHook     = funcType{params: []valType{valI32, valI32}, results: []valType{valI32}}
	sigArena    = funcType{params: []valType{valI32}, results: []valType{valI32}}
	sigSelfTest = funcType{results: []valType{valI32}}
	sigMarker   = funcType{}
	sigLog      = funcType{params: []valType{valI32, valI32, valI32}}
)

type hookExport struct {
	name string
	sig  funcType
}

// hookExports maps manifest hooks to the export each one requires.
var hookExports = map[string]hookExport{
	abi.HookCommand:  {abi.ExportCommand, sigHook},
	abi.HookRecords:  {abi.ExportRecords, sigHook},
	abi.HookPlan:     {abi.ExportPlan, sigHook},
	abi.HookSelfTest: {abi.ExportSelfTest, sigSelfTest},
}

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// Inspect checks a plugin binary and reads its manifest without compiling
// or running any of it. Its errors say exactly what is wrong and how to fix
// it.
func Inspect(wasm []byte) (*Module, error) {
	info, err := parseWasm(wasm)
	if err != nil {
		return nil, err
	}
	if _, ok := info.export(abi.CommandStart); ok {
		return nil, fmt.Errorf("command-style module (exports %q) without a reactor entry: build a reactor (Go: -buildmode=c-shared; clang: -mexec-model=reactor)", abi.CommandStart)
	}
	var other []int
	marker := false
	for _, e := range info.exports {
		if v, ok := strings.CutPrefix(e.name, abi.MarkerPrefix); ok {
			if e.name == abi.ExportMarker {
				marker = true
			} else if n, err := strconv.Atoi(v); err == nil {
				other = append(other, n)
			}
		}
	}
	if !marker {
		if len(other) > 0 {
			return nil, fmt.Errorf("plugin targets ABI v%d; this host speaks v%d", other[0], abi.Version)
		}
		return nil, fmt.Errorf("missing export %q: not a sluice plugin for ABI v%d", abi.ExportMarker, abi.Version)
	}

	raw, ok := info.customs[abi.ManifestSection]
	if !ok {
		return nil, fmt.Errorf("missing custom section %q: add it with `sluice plugin manifest set PLUGIN.wasm manifest.json`", abi.ManifestSection)
	}
	m, err := ParseManifest(raw)
	if err != nil {
		return nil, err
	}
	code, err := removeCustomSection(wasm, abi.ManifestSection)
	if err != nil {
		return nil, err
	}
	mod := &Module{Manifest: m, Bytes: code}

	if e, ok := info.export("memory"); !ok || e.kind != extMemory {
		return nil, fmt.Errorf(`missing export "memory": the plugin must export its linear memory`)
	}
	need := []hookExport{{abi.ExportMarker, sigMarker}, {abi.ExportArena, sigArena}}
	for _, h := range m.Hooks {
		need = append(need, hookExports[h])
	}
	for _, n := range need {
		if err := checkExport(info, n.name, n.sig, true); err != nil {
			return nil, err
		}
	}
	if err := checkExport(info, abi.ExportInit, sigHook, false); err != nil {
		return nil, err
	}
	_, mod.HasInit = info.export(abi.ExportInit)
	if err := checkExport(info, abi.ReactorInit, sigMarker, false); err != nil {
		return nil, err
	}
	_, mod.HasReactorInit = info.export(abi.ReactorInit)

	for _, im := range info.imports {
		if err := checkImport(info, im); err != nil {
			return nil, err
		}
	}
	return mod, nil
}

func checkExport(info *wasmInfo, name string, want funcType, required bool) error {
	e, ok := info.export(name)
	if !ok {
		if required {
			return fmt.Errorf("missing export %q %s", name, want)
		}
		return nil
	}
	if e.kind != extFunc {
		return fmt.Errorf("invalid export %q: is a %s, want func %s", name, extKindNames[min(int(e.kind), len(extKindNames)-1)], want)
	}
	got, ok := info.funcSig(e)
	if !ok {
		return fmt.Errorf("invalid export %q: function index out of range", name)
	}
	if !got.equal(want) {
		return fmt.Errorf("invalid export %q: signature %s, want %s", name, got, want)
	}
	return nil
}

func checkImport(info *wasmInfo, im wasmImport) error {
	where := fmt.Sprintf("invalid import[%q.%q]", im.module, im.name)
	switch im.module {
	case abi.ImportModule:
		if im.name != abi.ImportLog {
			return fmt.Errorf("%s: unknown; %s provides only %q", where, abi.ImportModule, abi.ImportLog)
		}
		if im.kind != extFunc || int(im.typeIdx) >= len(info.types) || !info.types[im.typeIdx].equal(sigLog) {
			return fmt.Errorf("%s: signature mismatch, want func %s", where, sigLog)
		}
		return nil
	case "wasi_snapshot_preview1":
		if im.kind != extFunc {
			return fmt.Errorf("%s: not a function", where)
		}
		return nil // the engine checks the name and signature against its WASI
	}
	if strings.HasPrefix(im.module, "sluice_v") {
		return fmt.Errorf("%s: plugin targets import namespace %q; this host speaks %q", where, im.module, abi.ImportModule)
	}
	return fmt.Errorf("%s: unknown module (only %q and wasi_snapshot_preview1 are provided)", where, abi.ImportModule)
}

// ParseManifest decodes and validates a manifest. Unknown keys are errors:
// a typo must not silently drop a setting.
func ParseManifest(raw []byte) (abi.Manifest, error) {
	var m abi.Manifest
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return m, fmt.Errorf("manifest: %w", err)
	}
	if m.ABI != abi.Version {
		return m, fmt.Errorf("manifest: abi %d: plugin targets ABI v%d; this host speaks v%d", m.ABI, m.ABI, abi.Version)
	}
	if !nameRE.MatchString(m.Name) {
		return m, fmt.Errorf("manifest: name %q: want lowercase letters, digits, '.', '_' or '-' (at most 64)", m.Name)
	}
	if m.Version == "" {
		return m, fmt.Errorf("manifest: version: missing")
	}
	if len(m.Hooks) == 0 {
		return m, fmt.Errorf("manifest: hooks: missing (want some of command, records, plan, selftest)")
	}
	for i, h := range m.Hooks {
		switch h {
		case abi.HookCommand, abi.HookRecords, abi.HookPlan, abi.HookSelfTest:
		default:
			return m, fmt.Errorf("manifest: hooks[%d]: %q is not one of command, records, plan, selftest", i, h)
		}
	}
	switch m.OnError {
	case "", FailClosed, FailOpen:
	default:
		return m, fmt.Errorf("manifest: on_error: %q is not one of fail_closed, fail_open", m.OnError)
	}
	for i, c := range m.Capabilities {
		switch c {
		case abi.CapClock, abi.CapRandom, abi.CapStdout:
		default:
			return m, fmt.Errorf("manifest: capabilities[%d]: %q is not one of clock, random, stdout", i, c)
		}
	}
	for i, d := range m.Detectors {
		if _, ok := abi.ParseDetector(d); !ok {
			return m, fmt.Errorf("manifest: detectors[%d]: %q is not one of email, credit_card, iban, jwt, aws_access_key", i, d)
		}
	}
	return m, nil
}

// SetManifest returns wasm with its manifest section replaced by manifest,
// after validating the manifest.
func SetManifest(wasm, manifest []byte) ([]byte, error) {
	if _, err := ParseManifest(manifest); err != nil {
		return nil, err
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, manifest); err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	return setCustomSection(wasm, abi.ManifestSection, compact.Bytes())
}

// Fail modes (config `on_error`, manifest `on_error`).
const (
	FailClosed = "fail_closed"
	FailOpen   = "fail_open"
)

// ManifestSection returns the raw manifest section of a module.
func ManifestSection(wasm []byte) ([]byte, error) {
	info, err := parseWasm(wasm)
	if err != nil {
		return nil, err
	}
	raw, ok := info.customs[abi.ManifestSection]
	if !ok {
		return nil, fmt.Errorf("missing custom section %q", abi.ManifestSection)
	}
	return raw, nil
}
