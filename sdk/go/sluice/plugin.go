package sluice

import "github.com/sluicegw/sluice/abi"

// Plugin is the set of hooks a plugin implements. Leave a hook nil to not
// implement it, and list exactly the hooks that are set in the manifest's
// "hooks" (Hooks returns that list).
//
// Every hook runs inside one host call with a time budget (ABI.md section 5)
// and must be repeatable for the same input: when the output does not fit,
// the host grows the arena and calls the hook again.
type Plugin struct {
	// Init receives the plugin's config, a JSON object ("{}" when the
	// operator gave none), once per instance before any other hook. config
	// aliases the arena and is only valid during the call; jsonconfig.Decode
	// copies what it keeps. An error keeps the plugin from loading. A nil
	// Init accepts any config.
	Init func(config []byte) error

	// Command decides about one command: Allow(), Block(reason) or
	// RequireApproval(reason).
	Command func(c *Command) Verdict

	// Records inspects a batch and writes edits. An error is a plugin
	// failure: the host applies the fail mode to the whole batch.
	Records func(b *Batch, e *Edits) error

	// Plan decides once per schema what the host does with each column:
	// Inspect (send it to Records), Ignore (pass it unchanged) or Redact
	// (the host replaces it with the manifest's redaction text). The host
	// caches the plan per schema. Without Plan every column is inspected.
	Plan func(c Column) Action

	// SelfTest runs once after every (re)load, after Init, before the
	// plugin serves traffic; an error keeps the previous version serving.
	// The error is logged, since selftest has no output region.
	SelfTest func() error
}

// Hooks returns the manifest hook names of the hooks p sets, in the order
// ABI.md lists them.
func (p Plugin) Hooks() []string {
	var hooks []string
	if p.Command != nil {
		hooks = append(hooks, abi.HookCommand)
	}
	if p.Records != nil {
		hooks = append(hooks, abi.HookRecords)
	}
	if p.Plan != nil {
		hooks = append(hooks, abi.HookPlan)
	}
	if p.SelfTest != nil {
		hooks = append(hooks, abi.HookSelfTest)
	}
	return hooks
}

func (p Plugin) validate() string {
	if p.Command == nil && p.Records == nil {
		return "plugin has neither a Command nor a Records hook"
	}
	if p.Plan != nil && p.Records == nil {
		return "plugin has a Plan hook but no Records hook"
	}
	return ""
}

// registered is the plugin the wasm exports dispatch to. A wasm instance
// runs one call at a time, so it needs no lock.
var registered dispatcher

// Register makes p the plugin this module runs. Call it exactly once, from
// an init function of the plugin's main package: a -buildmode=c-shared
// module runs package initializers in _initialize but never runs main.
// Register panics if it is called twice or if p has neither a Command nor a
// Records hook, so a broken plugin fails at load, not at its first call.
func Register(p Plugin) {
	if registered.set {
		panic("sluice: Register called twice")
	}
	if msg := p.validate(); msg != "" {
		panic("sluice: Register: " + msg)
	}
	registered = dispatcher{p: p, set: true}
}

// Verdict is a Command hook's decision. Build it with Allow, Block or
// RequireApproval.
type Verdict struct {
	Decision abi.Verdict
	// Reason is shown to the client (BLOCK) or the reviewer
	// (REQUIRE_APPROVAL). A constant string costs no allocation.
	Reason string
}

// Allow lets the command through (as far as this plugin is concerned).
func Allow() Verdict { return Verdict{Decision: abi.Allow} }

// Block refuses the command; reason becomes the protocol's error message.
func Block(reason string) Verdict { return Verdict{Decision: abi.Block, Reason: reason} }

// RequireApproval parks the session until a reviewer approves or denies
// the command; reason is shown to the reviewer.
func RequireApproval(reason string) Verdict {
	return Verdict{Decision: abi.RequireApproval, Reason: reason}
}
