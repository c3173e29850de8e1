package abi

// Manifest is the plugin's self-description, stored as JSON in the custom
// section ManifestSection so the host can read it before instantiating.
// Only the host decodes it (with encoding/json); the struct lives here so
// the SDKs and tools share one definition.
type Manifest struct {
	// ABI is the ABI version the plugin targets (1).
	ABI int `json:"abi"`
	// Name and Version identify the plugin in logs, metrics and the admin API.
	Name    string `json:"name"`
	Version string `json:"version"`
	// Description is one line for humans.
	Description string `json:"description,omitempty"`
	// Hooks lists the hooks the plugin exports: command, records, plan,
	// selftest. The host checks each one is exported.
	Hooks []string `json:"hooks"`
	// OnError is the plugin's default fail mode (fail_closed or
	// fail_open); the operator's config overrides it.
	OnError string `json:"on_error,omitempty"`
	// Capabilities are the sandbox grants the plugin asks for: "clock"
	// (the real wall clock), "random" (crypto randomness), "stdout" (guest
	// stdout and stderr to the log). Without them the clock is fixed, the
	// random source is seeded and output is discarded.
	Capabilities []string `json:"capabilities,omitempty"`
	// Detectors are host-native detectors whose findings the plugin wants
	// with each batch (email, credit_card, iban, jwt, aws_access_key).
	Detectors []string `json:"detectors,omitempty"`
	// Redaction is the text the host writes for Redact plan actions and
	// fail-closed records; default "[REDACTED]".
	Redaction string `json:"redaction,omitempty"`
}

// Capability names.
const (
	CapClock  = "clock"
	CapRandom = "random"
	CapStdout = "stdout"
)

// DefaultRedaction replaces a value the host redacts by itself.
const DefaultRedaction = "[REDACTED]"
