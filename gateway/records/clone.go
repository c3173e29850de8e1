package records

// CopyTo makes dst a deep copy of r that stays valid after the Reader moves
// on, so a caller can hold several records for one plugin batch. Its bytes
// come from alloc (an arena the caller resets per batch); dst.Fields'
// capacity is reused, so steady-state copying does not allocate.
func (r *Record) CopyTo(dst *Record, alloc func(n int) []byte) {
	n := len(r.Raw) + len(r.lead) + len(r.sep) + len(r.trail)
	for i := range r.Fields {
		if _, ok := r.Fields[i].ValueOffset(); !ok {
			n += len(r.Fields[i].Value)
		}
	}
	buf := alloc(n)[:0]
	take := func(b []byte) []byte {
		if b == nil {
			return nil
		}
		s := len(buf)
		buf = append(buf, b...)
		return buf[s:len(buf):len(buf)]
	}
	fields := dst.Fields[:0]
	*dst = *r
	dst.Raw = take(r.Raw)
	dst.lead, dst.sep, dst.trail = take(r.lead), take(r.sep), take(r.trail)
	dst.Fields = append(fields, r.Fields...)
	for i := range dst.Fields {
		f := &dst.Fields[i]
		if off, ok := f.ValueOffset(); ok {
			f.Value = dst.Raw[off : off+len(f.Value) : off+len(f.Value)]
		} else {
			f.Value = take(f.Value)
		}
	}
}
