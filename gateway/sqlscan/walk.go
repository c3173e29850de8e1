package sqlscan

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"slices"
	"strconv"
	"strings"
	"unicode"

	pg "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// walker collects the facts of one statement. The whole tree is visited
// generically (protoreflect), so no node kind is skipped; the nodes that
// carry facts are handled by type on the way down.
type walker struct {
	st      *Statement
	sess    *Session
	ctes    []string // CTE names in scope
	writes  bool
	depth   int
	prepTag string

	// fp accumulates the canonical encoding of the tree that the
	// fingerprint hashes (see fingerprint.go); normalize says whether
	// literals are left out of it.
	fp        []byte
	normalize bool
	fields    []field // the stack children uses
}

const maxDepth = 10000

// Descriptors compared by identity: cheaper than m.Interface(), which
// allocates.
var (
	nodeDesc   = (&pg.Node{}).ProtoReflect().Descriptor()
	aConstDesc = (&pg.A_Const{}).ProtoReflect().Descriptor()
)

func walkStatement(st *Statement, n *pg.Node, sess *Session) {
	w := &walker{st: st, sess: sess, fp: make([]byte, 0, 512), fields: make([]field, 0, 64)}
	st.Tag, st.Kind, st.DDL, w.writes = classify(n)
	w.normalize = normalizesLiterals(st.Kind)
	if n != nil {
		w.visit(n.ProtoReflect())
	}
	st.Writes = w.writes
	sum := sha256.Sum256(w.fp)
	st.Fingerprint = hex.EncodeToString(sum[:fingerprintBytes])
}

func (w *walker) add(key, value string) {
	for _, f := range w.st.Facts {
		if f.Key == key && f.Value == value {
			return
		}
	}
	w.st.Facts = append(w.st.Facts, Fact{key, value})
}

func (w *walker) visit(m protoreflect.Message) {
	if !m.IsValid() {
		return
	}
	if w.depth >= maxDepth {
		w.writes = true // fail closed on absurd nesting
		w.fp = append(w.fp, '!')
		return
	}
	if w.normalize {
		if m.Descriptor() == aConstDesc {
			// A constant of a query: left out of the fingerprint, so
			// "WHERE id = 1" and "WHERE id = 42" are the same statement
			// for an approval grant. Constants carry no facts.
			w.fp = append(w.fp, '?')
			return
		}
	}
	w.depth++
	w.fpOpen(m)
	mark := len(w.ctes)
	keep := w.visitNode(m, mark)
	w.ctes = w.ctes[:keep]
	w.fp = append(w.fp, ')')
	w.depth--
}

// visitNode handles m and its children and returns how many CTE names stay
// in scope afterwards (more than mark only after a WITH clause).
func (w *walker) visitNode(m protoreflect.Message, mark int) int {

	var with *pg.WithClause
	switch x := m.Interface().(type) {
	case *pg.Node:
		// Unwrap the oneof.
		w.children(m, nil)
		return mark
	case *pg.RangeVar:
		if x.Schemaname == "" && x.Catalogname == "" && w.isCTE(x.Relname) {
			return mark
		}
		w.add(KeyRelation, rangeVarName(x))
	case *pg.FuncCall:
		name := nameList(x.Funcname)
		w.add(KeyFunction, name)
		w.fpArgs(x.Args)
		if isSetConfig(x.Funcname) {
			w.add(KeySetConfig, setConfigSetting(x.Args))
		}
	case *pg.DiscardStmt:
		w.add(KeyDiscard, discardTarget(x.Target))
	case *pg.SelectStmt:
		with = x.WithClause
		if x.IntoClause != nil && x.IntoClause.Rel != nil {
			w.writes = true
			w.add(KeySelectInto, rangeVarName(x.IntoClause.Rel))
			w.add(KeyWriteRelation, rangeVarName(x.IntoClause.Rel))
		}
		for _, l := range x.LockingClause {
			if lc := l.GetLockingClause(); lc != nil {
				w.writes = true
				w.add(KeyRowLock, lockStrength(lc.Strength))
			}
		}
	case *pg.InsertStmt:
		with = x.WithClause
		w.writes = true
		w.writeTarget(x.Relation)
	case *pg.UpdateStmt:
		with = x.WithClause
		w.writes = true
		w.writeTarget(x.Relation)
		w.add(KeyWhere, strconv.FormatBool(x.WhereClause != nil))
	case *pg.DeleteStmt:
		with = x.WithClause
		w.writes = true
		w.writeTarget(x.Relation)
		w.add(KeyWhere, strconv.FormatBool(x.WhereClause != nil))
	case *pg.MergeStmt:
		with = x.WithClause
		w.writes = true
		w.writeTarget(x.Relation)
	case *pg.CommonTableExpr:
		if q := x.Ctequery; q != nil {
			switch q.Node.(type) {
			case *pg.Node_InsertStmt, *pg.Node_UpdateStmt, *pg.Node_DeleteStmt, *pg.Node_MergeStmt:
				w.add(KeyWritableCTE, x.Ctename)
			}
		}
	case *pg.WithClause:
		// Visited by the owning statement, in order, so that each CTE
		// body sees only the names it can reference.
		for _, c := range x.Ctes {
			cte := c.GetCommonTableExpr()
			if cte == nil {
				w.visit(c.ProtoReflect())
				continue
			}
			if x.Recursive {
				w.ctes = append(w.ctes, cte.Ctename)
			}
			w.visit(c.ProtoReflect())
			if !x.Recursive {
				w.ctes = append(w.ctes, cte.Ctename)
			}
		}
		mark = len(w.ctes) // keep the names for the owning statement
		return mark
	case *pg.TruncateStmt:
		w.add(KeyTruncate, "true")
		for _, r := range x.Relations {
			w.writeTarget(r.GetRangeVar())
		}
	case *pg.CopyStmt:
		if x.IsFrom {
			w.add(KeyCopyDirection, "from")
			w.writeTarget(x.Relation)
		} else {
			w.add(KeyCopyDirection, "to")
		}
		if x.IsProgram {
			w.add(KeyCopyProgram, x.Filename)
		} else if x.Filename != "" {
			w.add(KeyCopyFile, x.Filename)
		}
	case *pg.ExplainStmt:
		analyze := false
		for _, o := range x.Options {
			if d := o.GetDefElem(); d != nil && d.Defname == "analyze" {
				analyze = defElemBool(d)
			}
		}
		saved := w.writes
		w.writes = false
		w.visit(x.Query.ProtoReflect())
		if analyze {
			w.add(KeyExplainAnalyze, "true")
			if w.writes {
				w.add(KeyExplainAnalyzeWr, "true")
			}
		} else {
			w.writes = false
		}
		w.writes = w.writes || saved
		return mark
	case *pg.DoStmt:
		lang := "plpgsql"
		for _, a := range x.Args {
			if d := a.GetDefElem(); d != nil && d.Defname == "language" {
				lang = d.Arg.GetString_().GetSval()
			}
		}
		w.add(KeyOpaqueCode, lang)
	case *pg.CreateFunctionStmt:
		lang := "sql"
		body := false
		for _, o := range x.Options {
			if d := o.GetDefElem(); d != nil {
				switch d.Defname {
				case "language":
					lang = d.Arg.GetString_().GetSval()
				case "as":
					body = true
				}
			}
		}
		if body {
			w.add(KeyOpaqueCode, lang)
		}
		w.securityDefiner(x.Options)
	case *pg.AlterFunctionStmt:
		w.securityDefiner(x.Actions)
	case *pg.AlterOwnerStmt:
		w.add(KeyOwner, roleSpec(x.Newowner))
	case *pg.VariableSetStmt:
		w.varSet(x, KeySet)
	case *pg.AlterSystemStmt:
		if x.Setstmt != nil {
			w.add(KeyAlterSystem, setName(x.Setstmt))
		}
		return mark
	case *pg.AlterRoleSetStmt:
		w.add(KeyRole, "alter")
		if x.Role != nil {
			w.add(KeyRoleName, roleSpec(x.Role))
		}
		return mark
	case *pg.TransactionStmt:
		w.add(KeyTransaction, transactionKind(x.Kind))
	case *pg.PrepareStmt:
		w.add(KeyPrepare, x.Name)
		w.visit(x.Query.ProtoReflect())
		if q := x.Query; q != nil {
			tag, _, _, _ := classify(q)
			w.prepTag = tag
		}
		if w.sess != nil {
			body := *w.st
			body.Facts = append([]Fact(nil), w.st.Facts...)
			body.Writes = w.writes
			body.Tag = w.prepTag
			if w.sess.prepared == nil {
				w.sess.prepared = map[string]*Statement{}
			}
			w.sess.prepared[x.Name] = &body
		}
		return mark
	case *pg.ExecuteStmt:
		w.add(KeyExecute, x.Name)
		if p := w.sess.lookup(x.Name); p != nil {
			for _, f := range p.Facts {
				if f.Key != KeyPrepare {
					w.add(f.Key, f.Value)
				}
			}
			w.writes = w.writes || p.Writes
		} else {
			w.writes = true // unknown body: fail closed
			w.add(KeyExecuteUnknown, "true")
		}
	case *pg.DeallocateStmt:
		name := x.Name
		if x.Isall || name == "" {
			name = "ALL"
		}
		w.add(KeyDeallocate, name)
		if w.sess != nil && w.sess.prepared != nil {
			if name == "ALL" {
				clear(w.sess.prepared)
			} else {
				delete(w.sess.prepared, name)
			}
		}
	case *pg.GrantStmt:
		if x.IsGrant {
			w.add(KeyPrivilege, "grant")
		} else {
			w.add(KeyPrivilege, "revoke")
		}
		for _, g := range x.Grantees {
			if r := g.GetRoleSpec(); r != nil {
				w.add(KeyGrantee, roleSpec(r))
			}
		}
		if x.Objtype == pg.ObjectType_OBJECT_TABLE {
			for _, o := range x.Objects {
				if rv := o.GetRangeVar(); rv != nil {
					w.add(KeyRelation, rangeVarName(rv))
				}
			}
		}
	case *pg.AlterDefaultPrivilegesStmt:
		w.add(KeyPrivilege, "default_privileges")
	case *pg.GrantRoleStmt:
		if x.IsGrant {
			w.add(KeyRole, "grant")
		} else {
			w.add(KeyRole, "revoke")
		}
		for _, r := range x.GrantedRoles {
			if ap := r.GetAccessPriv(); ap != nil {
				w.add(KeyRoleName, ap.PrivName)
			}
		}
		for _, g := range x.GranteeRoles {
			if r := g.GetRoleSpec(); r != nil {
				w.add(KeyGrantee, roleSpec(r))
			}
		}
	case *pg.CreateRoleStmt:
		w.add(KeyRole, "create")
		w.add(KeyRoleName, x.Role)
	case *pg.AlterRoleStmt:
		w.add(KeyRole, "alter")
		if x.Role != nil {
			w.add(KeyRoleName, roleSpec(x.Role))
		}
	case *pg.DropRoleStmt:
		w.add(KeyRole, "drop")
		for _, r := range x.Roles {
			if rs := r.GetRoleSpec(); rs != nil {
				w.add(KeyRoleName, roleSpec(rs))
			}
		}
	case *pg.CreateExtensionStmt:
		w.add(KeyExtension, x.Extname)
	case *pg.AlterExtensionStmt:
		w.add(KeyExtension, x.Extname)
	case *pg.RuleStmt:
		w.add(KeyRule, x.Rulename)
	case *pg.CreateTrigStmt:
		w.add(KeyTrigger, x.Trigname)
		w.add(KeyFunction, nameList(x.Funcname))
	case *pg.AlterTableStmt:
		w.writeTarget(x.Relation)
	case *pg.AlterTableCmd:
		switch x.Subtype {
		case pg.AlterTableType_AT_DropColumn, pg.AlterTableType_AT_DropConstraint,
			pg.AlterTableType_AT_DropNotNull, pg.AlterTableType_AT_DropExpression,
			pg.AlterTableType_AT_DropIdentity, pg.AlterTableType_AT_DropInherit,
			pg.AlterTableType_AT_DropOf, pg.AlterTableType_AT_DropCluster,
			pg.AlterTableType_AT_DropOids:
			w.add(KeyAlterDrop, "true")
		case pg.AlterTableType_AT_ChangeOwner:
			w.add(KeyOwner, roleSpec(x.Newowner))
		}
	case *pg.DropStmt:
		if isRelationType(x.RemoveType) {
			for _, o := range x.Objects {
				if l := o.GetList(); l != nil {
					name := nameList(l.Items)
					w.add(KeyRelation, name)
					w.add(KeyWriteRelation, name)
				}
			}
		}
		w.add(KeyDrop, objectTypeName(x.RemoveType))
		return mark
	case *pg.RenameStmt:
		w.writeTarget(x.Relation)
	case *pg.CreateStmt:
		w.writeTarget(x.Relation)
	case *pg.IndexStmt:
		w.writeTarget(x.Relation)
	}
	if with != nil {
		w.visit(with.ProtoReflect())
	}
	w.children(m, with)
	return mark
}

// children visits the message fields of m in field-number order, skipping
// skip, and adds m's scalar fields to the fingerprint. Range yields only
// the populated fields (a Node has some 270 oneof fields, so iterating the
// schema is ~10x slower) but in an unspecified order, so they are sorted:
// the fingerprint must be stable across processes and protobuf releases.
func (w *walker) children(m protoreflect.Message, skip *pg.WithClause) {
	// The fields go on a stack shared by the whole walk (the recursion
	// below pushes above them), so a node costs no allocation.
	start := len(w.fields)
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		w.fields = append(w.fields, field{fd, v})
		return true
	})
	end := len(w.fields)
	f := w.fields[start:end]
	for i := 1; i < len(f); i++ { // insertion sort: a handful of fields
		for j := i; j > 0 && f[j].fd.Number() < f[j-1].fd.Number(); j-- {
			f[j], f[j-1] = f[j-1], f[j]
		}
	}
	for i := start; i < end; i++ {
		fd, v := w.fields[i].fd, w.fields[i].v
		if fd.Kind() != protoreflect.MessageKind && fd.Kind() != protoreflect.GroupKind {
			w.fpScalar(fd, v)
			continue
		}
		if fd.IsMap() {
			continue
		}
		w.fp = binary.AppendUvarint(w.fp, uint64(fd.Number()))
		if fd.IsList() {
			l := v.List()
			w.fp = binary.AppendUvarint(w.fp, uint64(l.Len()))
			for i := 0; i < l.Len(); i++ {
				w.visit(l.Get(i).Message())
			}
			continue
		}
		child := v.Message()
		if skip != nil && child.Interface() == skip {
			continue
		}
		w.visit(child)
	}
	w.fields = w.fields[:start]
}

// field is a populated field of a node being walked.
type field struct {
	fd protoreflect.FieldDescriptor
	v  protoreflect.Value
}

func (w *walker) isCTE(name string) bool {
	for _, c := range w.ctes {
		if c == name {
			return true
		}
	}
	return false
}

func (w *walker) writeTarget(rv *pg.RangeVar) {
	if rv == nil {
		return
	}
	n := rangeVarName(rv)
	w.add(KeyRelation, n)
	w.add(KeyWriteRelation, n)
}

func (w *walker) varSet(x *pg.VariableSetStmt, key string) {
	switch x.Kind {
	case pg.VariableSetKind_VAR_RESET:
		w.add(KeyReset, x.Name)
	case pg.VariableSetKind_VAR_RESET_ALL:
		w.add(KeyReset, "ALL")
	default:
		w.add(key, setName(x))
		if v := argsValue(x.Args); v != "" {
			w.add(KeySetValue, v)
		}
	}
}

// Prepare records a statement prepared at the protocol level (a named
// Parse message) under name: PostgreSQL's SQL-level EXECUTE runs those
// too, so EXECUTE name gets st's facts. A single-statement analysis is
// expected; only its first statement counts.
func (s *Session) Prepare(name string, a *Analysis) {
	if name == "" || a == nil || len(a.Statements) == 0 {
		return
	}
	st := a.Statements[0]
	st.Facts = slices.Clone(st.Facts)
	if s.prepared == nil {
		s.prepared = map[string]*Statement{}
	}
	s.prepared[name] = &st
}

// Deallocate forgets a statement prepared at the protocol level (a Close
// message).
func (s *Session) Deallocate(name string) { delete(s.prepared, name) }

func (s *Session) lookup(name string) *Statement {
	if s == nil || s.prepared == nil {
		return nil
	}
	return s.prepared[name]
}

func setName(x *pg.VariableSetStmt) string {
	switch x.Name {
	case "role":
		return "role"
	case "session_authorization":
		return "session_authorization"
	case "":
		return "ALL"
	}
	return x.Name
}

func argsValue(args []*pg.Node) string {
	var parts []string
	for _, a := range args {
		c := a.GetAConst()
		if c == nil {
			continue
		}
		switch {
		case c.GetSval() != nil:
			parts = append(parts, c.GetSval().Sval)
		case c.GetIval() != nil:
			parts = append(parts, strconv.Itoa(int(c.GetIval().Ival)))
		case c.GetFval() != nil:
			parts = append(parts, c.GetFval().Fval)
		case c.GetBoolval() != nil:
			parts = append(parts, strconv.FormatBool(c.GetBoolval().Boolval))
		}
	}
	return strings.Join(parts, ",")
}

// securityDefiner adds security_definer=true when a function's options
// make it run with its owner's privileges.
func (w *walker) securityDefiner(opts []*pg.Node) {
	for _, o := range opts {
		if d := o.GetDefElem(); d != nil && d.Defname == "security" && defElemBool(d) {
			w.add(KeySecurityDefiner, "true")
		}
	}
}

func defElemBool(d *pg.DefElem) bool {
	if d.Arg == nil {
		return true
	}
	var s string
	switch {
	case d.Arg.GetString_() != nil:
		s = d.Arg.GetString_().Sval
	case d.Arg.GetBoolean() != nil:
		return d.Arg.GetBoolean().Boolval
	case d.Arg.GetInteger() != nil:
		return d.Arg.GetInteger().Ival != 0
	case d.Arg.GetAConst() != nil:
		c := d.Arg.GetAConst()
		if c.GetBoolval() != nil {
			return c.GetBoolval().Boolval
		}
		if c.GetIval() != nil {
			return c.GetIval().Ival != 0
		}
		if c.GetSval() != nil {
			s = c.GetSval().Sval
		}
	default:
		return true
	}
	switch strings.ToLower(s) {
	case "false", "off", "0", "no":
		return false
	}
	return true
}

func roleSpec(r *pg.RoleSpec) string {
	switch r.Roletype {
	case pg.RoleSpecType_ROLESPEC_CSTRING:
		return r.Rolename
	case pg.RoleSpecType_ROLESPEC_CURRENT_USER:
		return "CURRENT_USER"
	case pg.RoleSpecType_ROLESPEC_SESSION_USER:
		return "SESSION_USER"
	case pg.RoleSpecType_ROLESPEC_CURRENT_ROLE:
		return "CURRENT_ROLE"
	case pg.RoleSpecType_ROLESPEC_PUBLIC:
		return "PUBLIC"
	}
	return r.Rolename
}

func lockStrength(s pg.LockClauseStrength) string {
	switch s {
	case pg.LockClauseStrength_LCS_FORKEYSHARE:
		return "key_share"
	case pg.LockClauseStrength_LCS_FORSHARE:
		return "share"
	case pg.LockClauseStrength_LCS_FORNOKEYUPDATE:
		return "no_key_update"
	}
	return "update"
}

func transactionKind(k pg.TransactionStmtKind) string {
	switch k {
	case pg.TransactionStmtKind_TRANS_STMT_BEGIN:
		return "begin"
	case pg.TransactionStmtKind_TRANS_STMT_START:
		return "start"
	case pg.TransactionStmtKind_TRANS_STMT_COMMIT:
		return "commit"
	case pg.TransactionStmtKind_TRANS_STMT_ROLLBACK:
		return "rollback"
	case pg.TransactionStmtKind_TRANS_STMT_SAVEPOINT:
		return "savepoint"
	case pg.TransactionStmtKind_TRANS_STMT_RELEASE:
		return "release"
	case pg.TransactionStmtKind_TRANS_STMT_ROLLBACK_TO:
		return "rollback_to"
	case pg.TransactionStmtKind_TRANS_STMT_PREPARE:
		return "prepare_transaction"
	case pg.TransactionStmtKind_TRANS_STMT_COMMIT_PREPARED:
		return "commit_prepared"
	case pg.TransactionStmtKind_TRANS_STMT_ROLLBACK_PREPARED:
		return "rollback_prepared"
	}
	return "unknown"
}

// rangeVarName is catalog.schema.name with only the given parts.
func rangeVarName(rv *pg.RangeVar) string {
	var b strings.Builder
	for _, p := range [...]string{rv.Catalogname, rv.Schemaname, rv.Relname} {
		if p == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(quoteIdent(p))
	}
	return b.String()
}

// nameList joins a list of String nodes with dots.
// isSetConfig reports whether a call's name is set_config, whatever the
// schema (a user's own schema.set_config counts too: the search_path may
// put it first, and a guard would rather look at it).
func isSetConfig(ns []*pg.Node) bool {
	if len(ns) == 0 {
		return false
	}
	s := ns[len(ns)-1].GetString_()
	return s != nil && strings.EqualFold(s.Sval, "set_config")
}

// setConfigSetting is the setting a set_config call changes: its first
// argument when it is a string constant, folded to lower case as
// PostgreSQL matches setting names, else "?" (computed at run time).
func setConfigSetting(args []*pg.Node) string {
	if len(args) > 0 {
		if c := args[0].GetAConst(); c != nil && c.GetSval() != nil {
			return strings.ToLower(c.GetSval().Sval)
		}
		// 'role'::text is a cast of a constant.
		if tc := args[0].GetTypeCast(); tc != nil && tc.Arg != nil {
			if c := tc.Arg.GetAConst(); c != nil && c.GetSval() != nil {
				return strings.ToLower(c.GetSval().Sval)
			}
		}
	}
	return "?"
}

func discardTarget(t pg.DiscardMode) string {
	switch t {
	case pg.DiscardMode_DISCARD_ALL:
		return "ALL"
	case pg.DiscardMode_DISCARD_PLANS:
		return "PLANS"
	case pg.DiscardMode_DISCARD_SEQUENCES:
		return "SEQUENCES"
	case pg.DiscardMode_DISCARD_TEMP:
		return "TEMP"
	}
	return "?"
}

func nameList(ns []*pg.Node) string {
	var b strings.Builder
	for _, n := range ns {
		s := n.GetString_()
		if s == nil {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(quoteIdent(s.Sval))
	}
	return b.String()
}

// quoteIdent quotes a name only if it would make a dotted value ambiguous.
func quoteIdent(s string) string {
	if !strings.ContainsAny(s, `."`) {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

func isRelationType(t pg.ObjectType) bool {
	switch t {
	case pg.ObjectType_OBJECT_TABLE, pg.ObjectType_OBJECT_VIEW, pg.ObjectType_OBJECT_MATVIEW,
		pg.ObjectType_OBJECT_SEQUENCE, pg.ObjectType_OBJECT_FOREIGN_TABLE, pg.ObjectType_OBJECT_INDEX:
		return true
	}
	return false
}

var objectTypeNames = map[pg.ObjectType]string{
	pg.ObjectType_OBJECT_MATVIEW:         "MATERIALIZED VIEW",
	pg.ObjectType_OBJECT_FDW:             "FOREIGN DATA WRAPPER",
	pg.ObjectType_OBJECT_TSCONFIGURATION: "TEXT SEARCH CONFIGURATION",
	pg.ObjectType_OBJECT_TSDICTIONARY:    "TEXT SEARCH DICTIONARY",
	pg.ObjectType_OBJECT_TSPARSER:        "TEXT SEARCH PARSER",
	pg.ObjectType_OBJECT_TSTEMPLATE:      "TEXT SEARCH TEMPLATE",
	pg.ObjectType_OBJECT_OPCLASS:         "OPERATOR CLASS",
	pg.ObjectType_OBJECT_OPFAMILY:        "OPERATOR FAMILY",
	pg.ObjectType_OBJECT_TABCONSTRAINT:   "CONSTRAINT",
	pg.ObjectType_OBJECT_EVENT_TRIGGER:   "EVENT TRIGGER",
	pg.ObjectType_OBJECT_ACCESS_METHOD:   "ACCESS METHOD",
	pg.ObjectType_OBJECT_FOREIGN_SERVER:  "SERVER",
}

// objectTypeName is the SQL spelling of an object type, e.g. "TABLE".
func objectTypeName(t pg.ObjectType) string {
	if s, ok := objectTypeNames[t]; ok {
		return s
	}
	return strings.ReplaceAll(strings.TrimPrefix(t.String(), "OBJECT_"), "_", " ")
}

// camelWords turns "CreateSchemaStmt" into "CREATE SCHEMA".
func camelWords(name string) string {
	name = strings.TrimSuffix(name, "Stmt")
	var b strings.Builder
	for i, r := range name {
		if i > 0 && unicode.IsUpper(r) {
			b.WriteByte(' ')
		}
		b.WriteRune(unicode.ToUpper(r))
	}
	return b.String()
}
