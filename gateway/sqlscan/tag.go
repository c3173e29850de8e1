package sqlscan

import (
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
)

// classify returns the command tag, kind, whether the statement is DDL and
// whether it writes by its kind alone (the walk adds writes found inside,
// such as writable CTEs). Unknown utility statements are taken to write
// (fail closed).
func classify(n *pg.Node) (tag, kind string, ddl, writes bool) {
	if n == nil {
		return "", KindUtility, false, false
	}
	switch x := n.Node.(type) {
	case *pg.Node_SelectStmt:
		if x.SelectStmt.IntoClause != nil {
			return "SELECT INTO", KindSelect, true, true
		}
		return "SELECT", KindSelect, false, false
	case *pg.Node_InsertStmt:
		return "INSERT", KindInsert, false, true
	case *pg.Node_UpdateStmt:
		return "UPDATE", KindUpdate, false, true
	case *pg.Node_DeleteStmt:
		return "DELETE", KindDelete, false, true
	case *pg.Node_MergeStmt:
		return "MERGE", KindMerge, false, true
	case *pg.Node_ExplainStmt:
		return "EXPLAIN", KindExplain, false, false
	case *pg.Node_CopyStmt:
		return "COPY", KindCopy, false, x.CopyStmt.IsFrom
	case *pg.Node_TruncateStmt:
		return "TRUNCATE TABLE", KindDDL, true, true
	case *pg.Node_CreateStmt:
		return "CREATE TABLE", KindDDL, true, true
	case *pg.Node_CreateTableAsStmt:
		if x.CreateTableAsStmt.Objtype == pg.ObjectType_OBJECT_MATVIEW {
			return "CREATE MATERIALIZED VIEW", KindDDL, true, true
		}
		return "CREATE TABLE AS", KindDDL, true, true
	case *pg.Node_ViewStmt:
		return "CREATE VIEW", KindDDL, true, true
	case *pg.Node_IndexStmt:
		return "CREATE INDEX", KindDDL, true, true
	case *pg.Node_CreateSeqStmt:
		return "CREATE SEQUENCE", KindDDL, true, true
	case *pg.Node_AlterTableStmt:
		return "ALTER " + objectTypeName(x.AlterTableStmt.Objtype), KindDDL, true, true
	case *pg.Node_DropStmt:
		return "DROP " + objectTypeName(x.DropStmt.RemoveType), KindDDL, true, true
	case *pg.Node_RenameStmt:
		return "ALTER " + objectTypeName(x.RenameStmt.RenameType), KindDDL, true, true
	case *pg.Node_AlterOwnerStmt:
		return "ALTER " + objectTypeName(x.AlterOwnerStmt.ObjectType), KindDDL, true, true
	case *pg.Node_CreateFunctionStmt:
		if x.CreateFunctionStmt.IsProcedure {
			return "CREATE PROCEDURE", KindDDL, true, true
		}
		return "CREATE FUNCTION", KindDDL, true, true
	case *pg.Node_CreateTrigStmt:
		return "CREATE TRIGGER", KindDDL, true, true
	case *pg.Node_RuleStmt:
		return "CREATE RULE", KindDDL, true, true
	case *pg.Node_CreateExtensionStmt:
		return "CREATE EXTENSION", KindDDL, true, true
	case *pg.Node_AlterExtensionStmt:
		return "ALTER EXTENSION", KindDDL, true, true
	case *pg.Node_CreatedbStmt:
		return "CREATE DATABASE", KindDDL, true, true
	case *pg.Node_DropdbStmt:
		return "DROP DATABASE", KindDDL, true, true
	case *pg.Node_CreateSchemaStmt:
		return "CREATE SCHEMA", KindDDL, true, true
	case *pg.Node_CommentStmt:
		return "COMMENT", KindDDL, true, true
	case *pg.Node_GrantStmt:
		if x.GrantStmt.IsGrant {
			return "GRANT", KindDCL, false, true
		}
		return "REVOKE", KindDCL, false, true
	case *pg.Node_GrantRoleStmt:
		if x.GrantRoleStmt.IsGrant {
			return "GRANT ROLE", KindDCL, false, true
		}
		return "REVOKE ROLE", KindDCL, false, true
	case *pg.Node_AlterDefaultPrivilegesStmt:
		return "ALTER DEFAULT PRIVILEGES", KindDCL, false, true
	case *pg.Node_CreateRoleStmt:
		return "CREATE ROLE", KindDCL, false, true
	case *pg.Node_AlterRoleStmt, *pg.Node_AlterRoleSetStmt:
		return "ALTER ROLE", KindDCL, false, true
	case *pg.Node_DropRoleStmt:
		return "DROP ROLE", KindDCL, false, true
	case *pg.Node_TransactionStmt:
		return transactionTag(x.TransactionStmt.Kind), KindTransaction, false, false
	case *pg.Node_VariableSetStmt:
		switch x.VariableSetStmt.Kind {
		case pg.VariableSetKind_VAR_RESET, pg.VariableSetKind_VAR_RESET_ALL:
			return "RESET", KindSession, false, false
		}
		return "SET", KindSession, false, false
	case *pg.Node_VariableShowStmt:
		return "SHOW", KindSession, false, false
	case *pg.Node_AlterSystemStmt:
		return "ALTER SYSTEM", KindUtility, false, true
	case *pg.Node_PrepareStmt:
		return "PREPARE", KindUtility, false, false
	case *pg.Node_ExecuteStmt:
		return "EXECUTE", KindUtility, false, false
	case *pg.Node_DeallocateStmt:
		if x.DeallocateStmt.Isall {
			return "DEALLOCATE ALL", KindUtility, false, false
		}
		return "DEALLOCATE", KindUtility, false, false
	case *pg.Node_DeclareCursorStmt:
		return "DECLARE CURSOR", KindUtility, false, false
	case *pg.Node_FetchStmt:
		if x.FetchStmt.Ismove {
			return "MOVE", KindUtility, false, false
		}
		return "FETCH", KindUtility, false, false
	case *pg.Node_ClosePortalStmt:
		return "CLOSE CURSOR", KindUtility, false, false
	case *pg.Node_DiscardStmt:
		return "DISCARD", KindSession, false, false
	case *pg.Node_DoStmt:
		return "DO", KindUtility, false, true
	case *pg.Node_CallStmt:
		return "CALL", KindUtility, false, true
	case *pg.Node_VacuumStmt:
		if x.VacuumStmt.IsVacuumcmd {
			return "VACUUM", KindUtility, false, true
		}
		return "ANALYZE", KindUtility, false, true
	case *pg.Node_LockStmt:
		return "LOCK TABLE", KindUtility, false, true
	case *pg.Node_CreateEventTrigStmt: // the node name would say "TRIG"
		return "CREATE EVENT TRIGGER", KindDDL, true, true
	case *pg.Node_AlterEventTrigStmt:
		return "ALTER EVENT TRIGGER", KindDDL, true, true
	}
	// Fallback: name the statement after its node type.
	name := string(n.ProtoReflect().WhichOneof(nodeOneof).Message().Name())
	tag = camelWords(name)
	for _, p := range [...]string{"Create", "Alter", "Drop", "Rename"} {
		if strings.HasPrefix(name, p) {
			return tag, KindDDL, true, true
		}
	}
	return tag, KindUtility, false, true
}

var nodeOneof = (&pg.Node{}).ProtoReflect().Descriptor().Oneofs().ByName("node")

func transactionTag(k pg.TransactionStmtKind) string {
	switch k {
	case pg.TransactionStmtKind_TRANS_STMT_BEGIN:
		return "BEGIN"
	case pg.TransactionStmtKind_TRANS_STMT_START:
		return "START TRANSACTION"
	case pg.TransactionStmtKind_TRANS_STMT_COMMIT:
		return "COMMIT"
	case pg.TransactionStmtKind_TRANS_STMT_ROLLBACK, pg.TransactionStmtKind_TRANS_STMT_ROLLBACK_TO:
		return "ROLLBACK"
	case pg.TransactionStmtKind_TRANS_STMT_SAVEPOINT:
		return "SAVEPOINT"
	case pg.TransactionStmtKind_TRANS_STMT_RELEASE:
		return "RELEASE"
	case pg.TransactionStmtKind_TRANS_STMT_PREPARE:
		return "PREPARE TRANSACTION"
	case pg.TransactionStmtKind_TRANS_STMT_COMMIT_PREPARED:
		return "COMMIT PREPARED"
	case pg.TransactionStmtKind_TRANS_STMT_ROLLBACK_PREPARED:
		return "ROLLBACK PREPARED"
	}
	return "TRANSACTION"
}
