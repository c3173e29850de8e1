// Package abi is the sluice plugin ABI v1 shared by the host and the Go SDK:
// the names of imports and exports, the status, verdict, edit and detector
// codes, and the encoders and zero-copy decoders of the byte layouts that
// cross the host/guest boundary (batches, commands, verdicts, edits, plans).
//
// ABI.md next to this file is normative; this package is its executable
// form. It depends on the standard library only and allocates nothing on its
// decode paths, so a guest can use it inside a hot hook.
//
// Every value here is either a constant or a view over a caller's buffer.
// Views are valid as long as the buffer is; they are safe for concurrent
// readers and must not be used concurrently with a writer of the buffer.
// Builders are not safe for concurrent use.
package abi

import "encoding/binary"

// Version is the ABI version this package encodes. A plugin declares the
// version it targets in its manifest and by exporting MarkerPrefix+version.
const Version = 1

// Names of the import namespace, the exports and the custom section.
const (
	// ImportModule is the versioned import namespace. A guest that imports
	// from another namespace (e.g. "sluice_v2") is refused at load.
	ImportModule = "sluice_v1"
	// ImportLog is log(level i32, ptr i32, len i32): one log line from the
	// guest, rate-limited by the host.
	ImportLog = "log"

	// MarkerPrefix plus the version number is the marker export, a function
	// with no parameters and no results that is never called. The host
	// finds the ABI version a module was built for by looking for it.
	MarkerPrefix = "sluice_abi_v"
	// ExportMarker is the marker export of this version.
	ExportMarker = "sluice_abi_v1"

	// ExportArena is arena(size i32) -> ptr i32: returns the address of a
	// guest-owned region of at least size bytes, allocated once and kept for
	// the life of the instance. The host calls it again only to grow the
	// region. It returns 0 when it cannot allocate.
	ExportArena = "sluice_arena"
	// ExportInit is init(in_len i32, out_off i32) -> status: the plugin
	// config (JSON) is at arena[0:in_len].
	ExportInit = "sluice_init"
	// ExportCommand is command(in_len, out_off) -> status: a command
	// (see Command) is at arena[0:in_len]; the verdict goes to the output.
	ExportCommand = "sluice_command"
	// ExportRecords is records(in_len, out_off) -> status: a batch is at
	// arena[0:in_len]; edits go to the output.
	ExportRecords = "sluice_records"
	// ExportPlan is plan(in_len, out_off) -> status: a schema-only batch is
	// at arena[0:in_len]; one Action byte per column goes to the output.
	ExportPlan = "sluice_plan"
	// ExportSelfTest is selftest() -> status, run once after a (re)load
	// before the plugin serves traffic.
	ExportSelfTest = "sluice_selftest"

	// ManifestSection is the name of the custom section that holds the
	// manifest (JSON). The host reads it before instantiating anything.
	ManifestSection = "sluice.manifest"

	// ReactorInit is the WASI reactor initializer. Modules exporting
	// "_start" (commands) are refused: a command runs main and exits.
	ReactorInit  = "_initialize"
	CommandStart = "_start"
)

// Hook names as they appear in the manifest's "hooks" list.
const (
	HookCommand  = "command"
	HookRecords  = "records"
	HookPlan     = "plan"
	HookSelfTest = "selftest"
)

// Status is what every hook returns.
type Status int32

const (
	// StatusOK: the output region holds the hook's result.
	StatusOK Status = 0
	// StatusNoSpace: the output did not fit; the host grows the arena and
	// calls again with the same input (hooks must be repeatable).
	StatusNoSpace Status = 1
	// StatusBadInput: the guest could not decode its input.
	StatusBadInput Status = 2
	// StatusFailed: the hook failed; the output may hold a message.
	StatusFailed Status = 3
)

func (s Status) String() string {
	switch s {
	case StatusOK:
		return "ok"
	case StatusNoSpace:
		return "no space"
	case StatusBadInput:
		return "bad input"
	case StatusFailed:
		return "failed"
	}
	return "unknown status " + itoa(int(s))
}

// Verdict is a command hook's decision.
type Verdict uint32

const (
	Allow           Verdict = 0
	Block           Verdict = 1
	RequireApproval Verdict = 2
)

func (v Verdict) String() string {
	switch v {
	case Allow:
		return "allow"
	case Block:
		return "block"
	case RequireApproval:
		return "approve"
	}
	return "unknown verdict " + itoa(int(v))
}

// CommandKind says which protocol a command comes from.
type CommandKind uint32

const (
	CommandSQL   CommandKind = 1
	CommandShell CommandKind = 2
	CommandHTTP  CommandKind = 3
)

func (k CommandKind) String() string {
	switch k {
	case CommandSQL:
		return "sql"
	case CommandShell:
		return "shell"
	case CommandHTTP:
		return "http"
	}
	return "unknown kind " + itoa(int(k))
}

// Kind is the kind of one field value.
type Kind uint8

const (
	KindString Kind = 1
	KindNumber Kind = 2
	KindBool   Kind = 3
	KindNull   Kind = 4
	KindBytes  Kind = 5
)

// ColumnType is the generic type of a column; SourceType in the column
// entry keeps the protocol's own type (a PostgreSQL type OID, say).
type ColumnType uint32

const (
	TypeUnknown   ColumnType = 0
	TypeText      ColumnType = 1
	TypeInt       ColumnType = 2
	TypeFloat     ColumnType = 3
	TypeBool      ColumnType = 4
	TypeJSON      ColumnType = 5
	TypeBytes     ColumnType = 6
	TypeTimestamp ColumnType = 7
)

// Action is a plan's decision for one column.
type Action uint8

const (
	// Inspect sends the column's fields to the records hook (the default).
	Inspect Action = 0
	// Ignore never sends the column; its values pass unchanged.
	Ignore Action = 1
	// Redact makes the host replace every value of the column natively
	// with the redaction text; the column is not sent either.
	Redact Action = 2
)

// EditOp is the operation of one edit.
type EditOp uint32

const (
	// EditInPlace: the guest overwrote bytes [Off, Off+Len) of the field's
	// value inside the input batch; the host copies them back. Same length.
	EditInPlace EditOp = 1
	// EditReplace: the field's whole value becomes Data.
	EditReplace EditOp = 2
	// EditReplaceRange: bytes [Off, Off+Len) of the value become Data.
	EditReplaceRange EditOp = 3
	// EditNullify: the field becomes NULL (JSON null, SQL NULL, empty CSV).
	EditNullify EditOp = 4
	// EditDrop: the record Target is removed from the output.
	EditDrop EditOp = 5
)

// Detector names a host-native detector a plugin may declare in its
// manifest; its findings travel with each batch.
type Detector uint32

const (
	DetectEmail      Detector = 1
	DetectCreditCard Detector = 2 // digit runs of 13-19 passing Luhn
	DetectIBAN       Detector = 3 // ISO 13616 with a valid mod-97 checksum
	DetectJWT        Detector = 4
	DetectAWSKey     Detector = 5 // AKIA/ASIA access key ids
)

// DetectorNames maps manifest names to detectors.
var detectorNames = [...]string{
	DetectEmail:      "email",
	DetectCreditCard: "credit_card",
	DetectIBAN:       "iban",
	DetectJWT:        "jwt",
	DetectAWSKey:     "aws_access_key",
}

func (d Detector) String() string {
	if int(d) < len(detectorNames) && detectorNames[d] != "" {
		return detectorNames[d]
	}
	return "unknown detector " + itoa(int(d))
}

// ParseDetector returns the detector of a manifest name.
func ParseDetector(name string) (Detector, bool) {
	for i, n := range detectorNames {
		if n != "" && n == name {
			return Detector(i), true
		}
	}
	return 0, false
}

// LogLevel is the level argument of the log import.
type LogLevel int32

const (
	LogDebug LogLevel = 0
	LogInfo  LogLevel = 1
	LogWarn  LogLevel = 2
	LogError LogLevel = 3
)

// OutputHeaderSize is the size of the header at out_off: u32 payload length
// then u32 reserved, so the payload starts 8-byte aligned.
const OutputHeaderSize = 8

// Align is the alignment of out_off and of every table in a layout.
const Align = 8

// AlignUp rounds n up to Align.
func AlignUp(n int) int { return (n + Align - 1) &^ (Align - 1) }

var le = binary.LittleEndian

// itoa avoids strconv so guests that never print numbers don't link it.
func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	neg := n < 0
	if neg {
		n = -n
	}
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}
