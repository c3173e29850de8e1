// Package sqlscan analyses SQL with the real PostgreSQL grammar
// (libpg_query through pg_query_go) and turns every statement into flat
// facts that policy plugins read without a parser of their own. There are
// no regular expressions and no hand-written SQL parsing here: the text is
// parsed by PostgreSQL's own parser and the whole tree of every statement
// is walked (subqueries, CTEs, function arguments, DDL, utility
// statements), generically through protobuf reflection so that no node
// type is skipped.
//
// # Entry points
//
//   - Analyze(sql) parses one SQL string (one simple-query message, which
//     may hold several statements) and returns an *Analysis with one
//     Statement per statement. A syntax error is not a Go error: it sets
//     Analysis.ParseError (and ParseErrorPos) so a guard can block on it.
//   - Session.Analyze does the same and remembers SQL-level PREPAREs across
//     the messages of one connection so that EXECUTE carries the facts of
//     the prepared body. Analyze resolves PREPAREs in the same string only.
//   - Analysis.AddFacts(cb) appends the facts to an abi.CommandBuilder.
//
// # Facts
//
// Every statement i of the input gets facts (i, key, value). Always:
//
//	tag          command tag: SELECT, SELECT INTO, INSERT, DELETE, DROP TABLE,
//	             CREATE FUNCTION, GRANT, SET, BEGIN, COPY, EXPLAIN, ...
//	kind         select insert update delete merge ddl dcl copy explain
//	             transaction session utility
//	writes       true|false: the statement can modify data, schema, roles or
//	             server state (what a read-only transaction would refuse, plus
//	             DO/CALL/ALTER SYSTEM); writable CTEs, SELECT INTO, SELECT ...
//	             FOR UPDATE/SHARE, COPY FROM, EXPLAIN ANALYZE of a write and
//	             EXECUTE of an unknown prepared statement count; unknown utility
//	             statements count (fail closed). Calls of writing functions
//	             are not detected.
//	ddl          true|false
//	fingerprint  identity of the normalized statement for approval grants
//	             (128-bit hex, a SHA-256 of the parse tree): equal for
//	             statements that differ only in spacing, comments, keyword
//	             case and, in queries, constants (see fingerprint.go)
//
// When they apply (a key may repeat; values are deduplicated):
//
//	relation             every relation named anywhere in the tree, as written
//	                     (catalog.schema.name with only the given parts; names
//	                     are case-folded by the grammar, quoted names keep their
//	                     case; a part containing . or " is double-quoted); CTE
//	                     references are not relations
//	write_relation       relations written: INSERT/UPDATE/DELETE/MERGE targets
//	                     (also inside CTEs), SELECT INTO, COPY FROM, TRUNCATE,
//	                     CREATE/ALTER/DROP TABLE and other relation DDL
//	function             every function called, schema-qualified if written so
//	                     (pg_catalog.pg_read_file or pg_read_file)
//	set_config           per set_config call (any schema): the setting it
//	                     changes, lower case, when the first argument is a
//	                     string constant (or a cast of one); "?" otherwise
//	discard              DISCARD's target: ALL|PLANS|SEQUENCES|TEMP
//	owner                the new owner of ALTER ... OWNER TO (any object,
//	                     ALTER TABLE included), as roleSpec names it
//	security_definer     true when CREATE/ALTER FUNCTION or PROCEDURE makes
//	                     it run with its owner's privileges
//	where                false for DELETE/UPDATE without WHERE, true with one
//	                     (any DELETE/UPDATE in the tree)
//	writable_cte         name of a CTE holding INSERT/UPDATE/DELETE/MERGE
//	select_into          target of SELECT ... INTO
//	row_lock             update|no_key_update|share|key_share (FOR ... locking)
//	explain_analyze      true for EXPLAIN ANALYZE
//	explain_analyze_write true for EXPLAIN ANALYZE of a writing statement
//	copy_direction       from|to
//	copy_file            server-side file of COPY
//	copy_program         shell command of COPY ... PROGRAM
//	opaque_code          language of code sqlscan cannot see into: DO blocks
//	                     (default plpgsql), CREATE FUNCTION/PROCEDURE ... AS
//	set                  parameter of SET (role for SET ROLE,
//	                     session_authorization for SET SESSION AUTHORIZATION)
//	set_value            its constant value(s), comma-separated
//	reset                parameter of RESET, or ALL
//	transaction          begin start commit rollback savepoint release
//	                     rollback_to prepare_transaction commit_prepared
//	                     rollback_prepared
//	prepare              name of a SQL-level PREPARE; the body's facts are
//	                     added to the PREPARE statement too
//	execute              name of an EXECUTE; the body's facts are added if the
//	                     PREPARE is known (SQL-level, or a protocol-level named
//	                     statement given to Session.Prepare)
//	execute_unknown      true for an EXECUTE whose statement the session has
//	                     not seen prepared: its body cannot be analysed
//	deallocate           name, or ALL
//	privilege            grant|revoke|default_privileges
//	grantee              role a privilege or role is granted to / revoked from
//	role                 create|alter|drop|grant|revoke (role changes and
//	                     role membership)
//	role_name            the role created, altered, dropped or granted
//	alter_system         parameter of ALTER SYSTEM
//	extension            extension of CREATE/ALTER EXTENSION
//	rule                 name of CREATE RULE
//	trigger              name of CREATE TRIGGER
//	truncate             true for TRUNCATE
//	alter_drop           true for ALTER TABLE ... DROP COLUMN/CONSTRAINT/...
//	drop                 object type of DROP: TABLE, FUNCTION, SCHEMA, ...
//
// If the input does not parse, statement 0 gets instead:
//
//	parse_error           the parser's message
//	parse_error_position  1-based byte position, when known
//
// An empty input (only comments or semicolons) has no statements and no
// facts.
//
// # Concurrency and cost
//
// Analyze is safe for concurrent use; an Analysis is immutable and may be
// shared. A Session is per connection and not safe for concurrent use.
// Parsing uses cgo (libpg_query); most of the cost is libpg_query's
// protobuf serialisation of the tree and its Go decoding (see
// BenchmarkAnalyze200). The parser sits behind a small internal interface
// (parser.go) so the Wasm build of the same parser could replace it.
package sqlscan
