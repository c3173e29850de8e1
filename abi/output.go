package abi

// The output region starts at out_off (a multiple of Align, chosen by the
// host) and runs to the end of the arena: an 8-byte header (u32 payload
// length, u32 reserved) then the payload. Per hook the payload is:
//
//	init      empty, or an error message with StatusFailed
//	command   u32 verdict, u32 reason_len, reason bytes
//	records   edits (see edits.go)
//	plan      one Action byte per column
//	failed    any hook may leave a UTF-8 message with StatusFailed

// Payload returns the payload area of an output region, for a guest to
// write into.
func Payload(region []byte) []byte {
	if len(region) < OutputHeaderSize {
		return nil
	}
	return region[OutputHeaderSize:]
}

// FinishOutput writes the output header for a payload of n bytes.
func FinishOutput(region []byte, n int) {
	le.PutUint32(region[0:], uint32(n))
	le.PutUint32(region[4:], 0)
}

// ParseOutput returns the payload of an output region.
func ParseOutput(region []byte) ([]byte, error) {
	if len(region) < OutputHeaderSize {
		return nil, errAt("output", "header", -1, "truncated")
	}
	n := le.Uint32(region[0:])
	if uint64(n) > uint64(len(region)-OutputHeaderSize) {
		return nil, errAt("output", "header", -1, "payload length out of range")
	}
	return region[OutputHeaderSize : OutputHeaderSize+int(n)], nil
}

const verdictHeaderSize = 8

// PutVerdict writes a verdict payload to payload and returns its length, or
// -1 if it does not fit.
func PutVerdict(payload []byte, v Verdict, reason string) int {
	n := verdictHeaderSize + len(reason)
	if n > len(payload) {
		return -1
	}
	le.PutUint32(payload[0:], uint32(v))
	le.PutUint32(payload[4:], uint32(len(reason)))
	copy(payload[verdictHeaderSize:], reason)
	return n
}

// ParseVerdict decodes a verdict payload. The reason aliases payload.
func ParseVerdict(payload []byte) (Verdict, []byte, error) {
	if len(payload) < verdictHeaderSize {
		return 0, nil, errAt("verdict", "header", -1, "truncated")
	}
	v := Verdict(le.Uint32(payload[0:]))
	if v > RequireApproval {
		return 0, nil, errAt("verdict", "verdict", -1, "unknown verdict")
	}
	n := le.Uint32(payload[4:])
	if uint64(n) > uint64(len(payload)-verdictHeaderSize) {
		return 0, nil, errAt("verdict", "reason", -1, "out of range")
	}
	return v, payload[verdictHeaderSize : verdictHeaderSize+int(n)], nil
}

// ParsePlan decodes a plan payload for a schema of nCols columns.
func ParsePlan(payload []byte, nCols int) ([]byte, error) {
	if len(payload) != nCols {
		return nil, errAt("plan", "actions", -1, "length is not the number of columns")
	}
	for i, a := range payload {
		if Action(a) > Redact {
			return nil, errAt("plan", "action", i, "unknown action")
		}
	}
	return payload, nil
}
