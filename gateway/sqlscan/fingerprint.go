package sqlscan

import (
	"encoding/binary"
	"math"

	pg "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// The fingerprint identifies a statement for approval grants: a reviewer
// approves "this identity may run this statement" and a retried job must
// match without a new request. It is the SHA-256 of a canonical encoding
// of the parse tree, built during the walk that collects the facts, so it
// costs no second parse (pg_query's own fingerprint re-parses the
// statement: ~14 µs of a 200-character statement's budget).
//
// The encoding is every node's type name and every populated field in
// schema order, with two exceptions:
//
//   - source locations are left out, so spacing, comments and keyword case
//     do not matter (the grammar already folds unquoted identifiers);
//   - in queries (select, insert, update, delete, merge and EXPLAIN of
//     them) constants are left out, so "WHERE id = 1" and "WHERE id = 42"
//     match, except constants passed directly to a function, which stay
//     in: set_config('log_statement', ...) must not match
//     set_config('search_path', ...). In every other statement
//     (SET, COPY, DO, DDL, ...) constants stay in: "SET ROLE 'a'" is not
//     "SET ROLE 'admin'".
//
// It is truncated to 128 bits: long enough that nobody can craft a
// statement that collides with an approved one.
const fingerprintBytes = 16

func normalizesLiterals(kind string) bool {
	switch kind {
	case KindSelect, KindInsert, KindUpdate, KindDelete, KindMerge, KindExplain:
		return true
	}
	return false
}

// fpOpen starts node m in the encoding.
func (w *walker) fpOpen(m protoreflect.Message) {
	d := m.Descriptor()
	if d == nodeDesc {
		// The oneof wrapper adds nothing: the child names its type.
		w.fp = append(w.fp, '(')
		return
	}
	name := d.Name()
	w.fp = append(w.fp, '(')
	w.fp = append(w.fp, name...)
	w.fp = append(w.fp, ' ')
}

// fpScalar adds a scalar field of the current node.
func (w *walker) fpScalar(fd protoreflect.FieldDescriptor, v protoreflect.Value) {
	if fd.Name() == "location" {
		return
	}
	w.fp = binary.AppendUvarint(w.fp, uint64(fd.Number()))
	if fd.IsList() {
		l := v.List()
		w.fp = binary.AppendUvarint(w.fp, uint64(l.Len()))
		for i := 0; i < l.Len(); i++ {
			w.fpValue(fd.Kind(), l.Get(i))
		}
		return
	}
	w.fpValue(fd.Kind(), v)
}

func (w *walker) fpValue(k protoreflect.Kind, v protoreflect.Value) {
	switch k {
	case protoreflect.StringKind:
		w.fpString(v.String())
	case protoreflect.BytesKind:
		w.fpString(string(v.Bytes()))
	case protoreflect.BoolKind:
		if v.Bool() {
			w.fp = append(w.fp, 1)
		} else {
			w.fp = append(w.fp, 0)
		}
	case protoreflect.EnumKind:
		w.fp = binary.AppendVarint(w.fp, int64(v.Enum()))
	case protoreflect.Int32Kind, protoreflect.Int64Kind, protoreflect.Sint32Kind,
		protoreflect.Sint64Kind, protoreflect.Sfixed32Kind, protoreflect.Sfixed64Kind:
		w.fp = binary.AppendVarint(w.fp, v.Int())
	case protoreflect.Uint32Kind, protoreflect.Uint64Kind, protoreflect.Fixed32Kind, protoreflect.Fixed64Kind:
		w.fp = binary.AppendUvarint(w.fp, v.Uint())
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		w.fp = binary.AppendUvarint(w.fp, math.Float64bits(v.Float()))
	}
}

func (w *walker) fpString(s string) {
	w.fp = binary.AppendUvarint(w.fp, uint64(len(s)))
	w.fp = append(w.fp, s...)
}

// fpArgs keeps the constants passed directly to a function in a query's
// fingerprint (the walk leaves them out as '?').
func (w *walker) fpArgs(args []*pg.Node) {
	if !w.normalize {
		return
	}
	for i, a := range args {
		c := a.GetAConst()
		if c == nil {
			continue
		}
		w.fp = append(w.fp, 'k')
		w.fp = binary.AppendUvarint(w.fp, uint64(i))
		switch {
		case c.Isnull:
			w.fp = append(w.fp, 'n')
		case c.GetIval() != nil:
			w.fp = append(w.fp, 'i')
			w.fp = binary.AppendVarint(w.fp, int64(c.GetIval().Ival))
		case c.GetFval() != nil:
			w.fp = append(w.fp, 'f')
			w.fpString(c.GetFval().Fval)
		case c.GetBoolval() != nil:
			w.fp = append(w.fp, 'b')
			if c.GetBoolval().Boolval {
				w.fp = append(w.fp, 1)
			} else {
				w.fp = append(w.fp, 0)
			}
		case c.GetSval() != nil:
			w.fp = append(w.fp, 's')
			w.fpString(c.GetSval().Sval)
		case c.GetBsval() != nil:
			w.fp = append(w.fp, 'x')
			w.fpString(c.GetBsval().Bsval)
		}
	}
}
