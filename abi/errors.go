package abi

// DecodeError says which part of which layout failed to decode, e.g.
// `abi: batch: field[12]: value out of range`.
type DecodeError struct {
	Layout string // batch, edits, command, verdict, plan, output
	Part   string // header, field, record, ...
	Index  int    // entry index, or -1
	Reason string
}

func (e *DecodeError) Error() string {
	s := "abi: " + e.Layout + ": " + e.Part
	if e.Index >= 0 {
		s += "[" + itoa(e.Index) + "]"
	}
	return s + ": " + e.Reason
}

func errAt(layout, part string, index int, reason string) error {
	return &DecodeError{Layout: layout, Part: part, Index: index, Reason: reason}
}
