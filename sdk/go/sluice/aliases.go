package sluice

import "github.com/sluicegw/sluice/abi"

// Aliases of the abi codes a plugin author touches, so a plugin needs one
// import. They are the same types and values as in package abi.
type (
	// Action is a plan's decision for a column.
	Action = abi.Action
	// Kind is the kind of a field value (string, number, bool, null, bytes).
	Kind = abi.Kind
	// ColumnType is the generic type of a column.
	ColumnType = abi.ColumnType
	// CommandKind says which protocol a command comes from.
	CommandKind = abi.CommandKind
	// Detector names a host-native detector (declared in the manifest).
	Detector = abi.Detector
	// Finding is a host detector's hit inside a field value.
	Finding = abi.Finding
	// Fact is one (statement, key, value) analysis fact of a command.
	Fact = abi.Fact
	// LogLevel is the level of a Log line.
	LogLevel = abi.LogLevel
)

// Plan actions.
const (
	Inspect = abi.Inspect
	Ignore  = abi.Ignore
	Redact  = abi.Redact
)

// Field kinds.
const (
	KindString = abi.KindString
	KindNumber = abi.KindNumber
	KindBool   = abi.KindBool
	KindNull   = abi.KindNull
	KindBytes  = abi.KindBytes
)

// Column types.
const (
	TypeUnknown   = abi.TypeUnknown
	TypeText      = abi.TypeText
	TypeInt       = abi.TypeInt
	TypeFloat     = abi.TypeFloat
	TypeBool      = abi.TypeBool
	TypeJSON      = abi.TypeJSON
	TypeBytes     = abi.TypeBytes
	TypeTimestamp = abi.TypeTimestamp
)

// Command kinds.
const (
	CommandSQL   = abi.CommandSQL
	CommandShell = abi.CommandShell
	CommandHTTP  = abi.CommandHTTP
)

// Detectors.
const (
	DetectEmail      = abi.DetectEmail
	DetectCreditCard = abi.DetectCreditCard
	DetectIBAN       = abi.DetectIBAN
	DetectJWT        = abi.DetectJWT
	DetectAWSKey     = abi.DetectAWSKey
)

// Log levels.
const (
	LogDebug = abi.LogDebug
	LogInfo  = abi.LogInfo
	LogWarn  = abi.LogWarn
	LogError = abi.LogError
)
