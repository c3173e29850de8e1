package sluice

import (
	"strconv"

	"github.com/sluicegw/sluice/abi"
)

// dispatcher turns one ABI hook call over an arena into a call of the
// plugin's Go hook and encodes the result (ABI.md 2.4). The wasm exports
// (exports_wasip1.go) and the Harness both call it, so native tests run the
// same code as the module does.
//
// The views handed to hooks live in the dispatcher, not on the stack: a
// pointer passed through a func value escapes, and a per-call view would
// then be one allocation per batch. A dispatcher is therefore not safe for
// concurrent use; a wasm instance runs one call at a time.
type dispatcher struct {
	p     Plugin
	set   bool
	batch Batch
	edits Edits
	cmd   Command
}

const msgNotRegistered = "no plugin registered: call sluice.Register from an init function (main never runs in a c-shared module)"

// regions splits the arena into the input arena[:inLen] and the output
// region arena[outOff:]. The input's capacity ends at inLen so a hook
// cannot append into the output.
func regions(arena []byte, inLen, outOff uint32) (in, out []byte, ok bool) {
	if outOff%abi.Align != 0 || outOff < inLen || uint64(outOff)+abi.OutputHeaderSize > uint64(len(arena)) {
		return nil, nil, false
	}
	return arena[:inLen:inLen], arena[outOff:], true
}

// fail leaves msg, truncated to fit, as the payload of out (ABI.md 2.4: a
// FAILED or BAD_INPUT output may hold a UTF-8 message) and returns st.
func fail(out []byte, st abi.Status, msg string) abi.Status {
	abi.FinishOutput(out, copy(abi.Payload(out), msg))
	return st
}

// recoverHook turns a panic in a hook into StatusFailed with the panic's
// message in out. It must be deferred directly so recover sees the panic.
// A Go runtime fatal error (out of memory, stack overflow) is not a panic
// and still traps; the host's fail mode handles it,
// as it handles an infinite loop (time budget).
func recoverHook(st *abi.Status, out []byte, hook string) {
	if r := recover(); r != nil {
		*st = fail(out, abi.StatusFailed, hook+" hook: panic: "+panicText(r))
	}
}

func panicText(r any) string {
	switch v := r.(type) {
	case string:
		return v
	case error:
		return v.Error()
	case interface{ String() string }:
		return v.String()
	}
	return "(a value that is neither a string nor an error)"
}

// init handles sluice_init: the config JSON is the input.
func (d *dispatcher) init(arena []byte, inLen, outOff uint32) (st abi.Status) {
	in, out, ok := regions(arena, inLen, outOff)
	if !ok {
		return abi.StatusBadInput
	}
	if !d.set {
		return fail(out, abi.StatusFailed, "init: "+msgNotRegistered)
	}
	defer recoverHook(&st, out, "init")
	if d.p.Init != nil {
		if err := d.p.Init(in); err != nil {
			return fail(out, abi.StatusFailed, "init hook: "+err.Error())
		}
	}
	abi.FinishOutput(out, 0)
	return abi.StatusOK
}

// command handles sluice_command: a command in, a verdict out.
func (d *dispatcher) command(arena []byte, inLen, outOff uint32) (st abi.Status) {
	in, out, ok := regions(arena, inLen, outOff)
	if !ok {
		return abi.StatusBadInput
	}
	if d.p.Command == nil {
		return fail(out, abi.StatusFailed, notImplemented(d, abi.HookCommand))
	}
	c, err := abi.ParseCommand(in)
	if err != nil {
		return fail(out, abi.StatusBadInput, "command: "+err.Error())
	}
	defer recoverHook(&st, out, abi.HookCommand)
	d.cmd = Command{c: c}
	v := d.p.Command(&d.cmd)
	if v.Decision > abi.RequireApproval {
		return fail(out, abi.StatusFailed, "command hook: unknown verdict "+strconv.Itoa(int(v.Decision)))
	}
	n := abi.PutVerdict(abi.Payload(out), v.Decision, v.Reason)
	if n < 0 {
		return abi.StatusNoSpace
	}
	abi.FinishOutput(out, n)
	return abi.StatusOK
}

// records handles sluice_records: a batch in, edits out.
func (d *dispatcher) records(arena []byte, inLen, outOff uint32) (st abi.Status) {
	in, out, ok := regions(arena, inLen, outOff)
	if !ok {
		return abi.StatusBadInput
	}
	if d.p.Records == nil {
		return fail(out, abi.StatusFailed, notImplemented(d, abi.HookRecords))
	}
	b, err := abi.ParseBatch(in)
	if err != nil {
		return fail(out, abi.StatusBadInput, "records: "+err.Error())
	}
	defer recoverHook(&st, out, abi.HookRecords)
	d.batch.reset(b, in)
	d.edits = Edits{w: abi.NewEditWriter(abi.Payload(out)), b: &d.batch}
	err = d.p.Records(&d.batch, &d.edits)
	full, n := d.edits.w.Full(), d.edits.w.Finish()
	if err != nil {
		return fail(out, abi.StatusFailed, "records hook: "+err.Error())
	}
	if full {
		return abi.StatusNoSpace
	}
	abi.FinishOutput(out, n)
	return abi.StatusOK
}

// plan handles sluice_plan: a schema in, one action byte per column out.
func (d *dispatcher) plan(arena []byte, inLen, outOff uint32) (st abi.Status) {
	in, out, ok := regions(arena, inLen, outOff)
	if !ok {
		return abi.StatusBadInput
	}
	if d.p.Plan == nil {
		return fail(out, abi.StatusFailed, notImplemented(d, abi.HookPlan))
	}
	b, err := abi.ParseBatch(in)
	if err != nil {
		return fail(out, abi.StatusBadInput, "plan: "+err.Error())
	}
	defer recoverHook(&st, out, abi.HookPlan)
	d.batch.reset(b, in)
	payload := abi.Payload(out)
	n := d.batch.NumColumns()
	if n > len(payload) {
		return abi.StatusNoSpace
	}
	for i := range n {
		a := d.p.Plan(d.batch.Column(i))
		if a > abi.Redact {
			return fail(out, abi.StatusFailed, "plan hook: column "+strconv.Itoa(i)+": unknown action "+strconv.Itoa(int(a)))
		}
		payload[i] = byte(a)
	}
	abi.FinishOutput(out, n)
	return abi.StatusOK
}

// selfTest handles sluice_selftest. It has no output region, so it returns
// the failure message for the caller to log (the export) or return (the
// Harness).
func (d *dispatcher) selfTest() (st abi.Status, msg string) {
	if d.p.SelfTest == nil {
		return abi.StatusFailed, notImplemented(d, abi.HookSelfTest)
	}
	defer func() {
		if r := recover(); r != nil {
			st, msg = abi.StatusFailed, "selftest hook: panic: "+panicText(r)
		}
	}()
	if err := d.p.SelfTest(); err != nil {
		return abi.StatusFailed, "selftest hook: " + err.Error()
	}
	return abi.StatusOK, ""
}

func notImplemented(d *dispatcher, hook string) string {
	if !d.set {
		return hook + ": " + msgNotRegistered
	}
	return hook + ": hook not implemented by this plugin (check the manifest's hooks)"
}

func itoa(n int) string { return strconv.Itoa(n) }
