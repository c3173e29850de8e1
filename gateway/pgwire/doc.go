// Package pgwire is sluice's PostgreSQL engine: it accepts standard
// clients (psql, pgx, libpq, JDBC, pgbench) on a target's listen address,
// authenticates them as sluice identities, connects to the backend with
// the credential sluice holds, puts every statement through the target's
// plugin chain before it is forwarded, masks every row on the way back,
// and records the session.
//
// # Entry points
//
// New(Options) returns an *Engine for one postgres target; Serve(ln)
// accepts clients on a listener until Close. An Engine is safe for
// concurrent use; each connection runs two goroutines of its own.
//
// # One session
//
//	client (psql, pgx)              sluice                         PostgreSQL
//	  |-- SSLRequest --------------->|                                  |
//	  |<-------------------------- S |  TLS (self-signed cert under      |
//	  |== TLS handshake ============>|  data_dir, or Options.TLSConfig)  |
//	  |-- StartupMessage ----------->|  user = identity,                 |
//	  |   user, database, params     |  database = target name,         |
//	  |                              |  params checked against a list   |
//	  |<-- AuthenticationCleartext --|  (or SASL SCRAM-SHA-256: the     |
//	  |-- PasswordMessage (token) -->|  token never sent)               |
//	  |                              |  auth.Token -> identity, allow   |
//	  |                              |  list; store: session + auth     |
//	  |                              |-- pgconn.Connect (SCRAM/md5) --->|
//	  |                              |<- ParameterStatus, BackendKey ---|
//	  |<-- AuthenticationOk, --------|  (pgconn.Hijack: sluice speaks   |
//	  |    ParameterStatus,          |   the protocol itself from here) |
//	  |    BackendKeyData (sluice's  |                                  |
//	  |    own key), ReadyForQuery   |                                  |
//	  |-- Query / Parse ------------>|  sqlscan -> facts -> chain       |
//	  |                              |  store: command event (durable)  |
//	  |                    ALLOW:    |-- Query / Parse ---------------->|
//	  |<-- RowDescription, DataRow --|<-- RowDescription, DataRow ------|
//	  |    (masked, re-framed)       |  batches -> policy.Masker;       |
//	  |                              |  store: masked rows (capped)     |
//	  |                    BLOCK:    |-- "SLUICE_REFUSED" ------------->|
//	  |<-- ErrorResponse 42501 ------|<-- ErrorResponse 42601 ----------|
//	  |    (plugin's reason)         |  (replaced; the backend fails a  |
//	  |                              |   transaction as for any error)  |
//	  |          REQUIRE_APPROVAL:   |  approvals.Request               |
//	  |<-- NoticeResponse (id, how) -|  approvals.Wait (expiry, cancel) |
//	  |                              |  then ALLOW or BLOCK as above    |
//	  |<-- ReadyForQuery ------------|<-- ReadyForQuery ----------------|
//
// # How responses stay in order
//
// run (client -> backend) pushes one queue entry per forwarded message
// that owes a response, before writing it; relay (backend -> client) pops
// them as responses arrive. The queue tells the relay which portal's rows
// it is masking, which responses are sluice's own (a Describe of every
// new portal, so Execute results can be masked even when the client never
// described them), and which ErrorResponse stands for a refusal. A
// refusal is never injected out of band: sluice sends the backend a
// statement that cannot parse in place of the refused one and replaces
// the backend's syntax error by its own ErrorResponse, so the answer
// lands exactly where the refused statement's would have, and the
// backend's transaction state (idle, in transaction, failed) is what
// PostgreSQL would have made it. After a refused extended-protocol
// message, sluice ignores messages until Sync, as the backend does after
// an error.
//
// # Supported
//
//   - TLS from SSLRequest (bytes pipelined before the handshake are never
//     read as messages), GSSENCRequest answered 'N', protocol 3.0 (3.2
//     clients get NegotiateProtocolVersion).
//   - A client that leaves while its statement waits for approval is
//     noticed at once (sluice reads ahead on its stream while it waits):
//     the wait ends and the statement never runs; the request stays for
//     reviewers, so a window grant still lets the retried job through.
//   - The password is a sluice token, proven one of two ways
//     (Options.ClientAuth, targets[].client_auth): as a cleartext
//     password, over TLS only unless Options.AllowCleartext; or with
//     SCRAM-SHA-256 (auth.Scram), where the token never crosses the wire,
//     so it is safe without TLS. The default, auto, asks for the password
//     over TLS and for SCRAM without. SCRAM needs a verifier: tokens
//     issued by sluice keep one (salted per identity, so one exchange can
//     be checked against each of an identity's tokens); the config's
//     token_hashes are SHA-256 only and log in by password. Unknown identity, bad or expired token, a
//     token presented under another identity's name, and an identity not
//     allowed on the target all get the same FATAL 28P01 "authentication
//     failed"; each attempt is recorded as a session of its own (identity:
//     the name claimed) with an auth event giving the reason, ended at once.
//   - Startup parameters from an allow list, passed to the backend;
//     options, replication and unknown parameters refused; client_encoding
//     must be UTF8.
//   - Simple query (several statements per message), extended query
//     (Parse, Bind, Describe, Execute with row limits, Close, Sync, Flush;
//     named and unnamed statements and portals; pipelining), COPY FROM
//     STDIN and COPY TO STDOUT, NOTICE and NOTIFY relayed.
//   - Verdicts bound to prepared statements: a refused Parse leaves no
//     statement to Bind, a Bind of a statement sluice did not see prepared
//     (protocol Parse or SQL PREPARE that passed the policy) and an
//     Execute of an unknown portal are refused.
//   - COPY TO STDOUT on a target with masking plugins, in text or CSV
//     (any delimiter, NULL, quote, escape, header): the columns are named
//     by sluice's own Parse and Describe of the equivalent query, sent
//     just before the COPY; each row (one CopyData, as PostgreSQL sends
//     it) is cut into fields, masked with the others of its batch, and
//     re-encoded only where a field changed. What sluice cannot name or
//     cut (binary format, COPY in the extended protocol, COPY among other
//     statements in one query) is refused on such targets, never passed.
//   - Masking of DataRows in both protocols, in batches of up to
//     Options.MaskBatchRows rows, flushed whenever the backend has nothing
//     more buffered; NULLs stay NULL; a changed value that would not be
//     valid for its column's type and format becomes NULL (numbers,
//     booleans, binary non-text types), invalid JSON in json/jsonb becomes
//     a JSON string; dropped rows are taken off SELECT/FETCH counts.
//   - CancelRequest: clients get a key of sluice's own, mapped to the
//     backend's; it cancels only that client's query, and ends a wait for
//     approval.
//   - Recording: the command event (constants normalized to $n, verdict,
//     reason, plugin, fingerprint) before anything is forwarded: synced
//     first for anything that can change something, synced in a group
//     within the store's interval for read-only statements (see
//     Options.SyncReads and gateway/RATIONALE.md); an execute event
//     (statement, normalized text, number of parameters, never their
//     values) for every further run of a prepared statement, under the
//     same rule;
//     rows as the client got them, masked where the target masks
//     (Options.MaxRecordedRows per session, plus the store's quota),
//     command tags and errors, buffered. The backend's user and
//     password reach neither the client (session_authorization is
//     reported as the identity), the log nor the store.
//   - Large rows: a DataRow over Options.MaxBufferedRow (8 MiB) is never
//     read whole (bigrow.go). On a target without masking it streams
//     through as it arrives; on a masked target its small fields are
//     masked as usual and a large text field in 256 KiB chunks ending at
//     line breaks, each with the column's name, spooled to an unlinked
//     temporary file so the new length is known before the row is sent.
//     A 100 MB field moves with a few MB of heap either way; the row is
//     recorded as its size.
//   - FunctionCall refused; client messages capped at
//     Options.MaxMessageLen (FATAL 54000).
//
// # Not yet
//
//   - Client certificates; SCRAM-SHA-256-PLUS (channel binding).
//   - Error, notice and notification texts on masked targets go through
//     the masking chain as one record (columns error.message,
//     error.detail, error.hint, error.where, notification.payload), values
//     quoted by data exceptions (SQLSTATE class 22) are blanked and the
//     detail of integrity violations (class 23) is withheld; a mask that
//     matches column names only (json-field-mask) does not see a value
//     another way (an alias, pg_notify, a RAISE): that is what detectors
//     (pii-mask) are for.
//   - A large field of a non-text type (json, bytea in binary, ...) on a
//     masked target cannot be masked piecewise: it is sent as NULL.
//   - SCRAM for the config's token_hashes (they are SHA-256 hashes, not
//     verifiers): such tokens log in by password over TLS.
//   - Upstream TLS is libpq's sslmode (Options.UpstreamSSLMode, default
//     prefer); cancel requests to the backend are sent without TLS.
package pgwire
