// Package store is sluice's embedded audit and state store on Pebble:
// sessions and their hash-chained events, approval requests, token hashes
// and admin actions, in one directory under data_dir, opened by one
// gateway process. The CLI never opens it; it asks the admin API.
//
// # Entry points
//
// Open returns a *Store. Protocol engines call Store.OpenSession when a
// client connects and then, on the returned *Session:
//
//	Durable(kind, data)   an event that must be on disk before the engine
//	                      acts on it: auth, command with its analysis and
//	                      verdict, approval request and decision. Returns
//	                      after a synced commit (Pebble groups the syncs of
//	                      concurrent sessions into one WAL fsync).
//	Append(kind, data)    an event that may be buffered: masked output
//	                      records, notices. Flushed (unsynced) every
//	                      FlushInterval, by the next Durable and by Close.
//	AddBytes(in, out)     traffic counters kept in the session record.
//	Close(reason)         the disconnect event, durable, and the end time.
//
// Everything handed to a Session must already be masked: the store keeps
// what it is given. A Session is safe for concurrent use; a Store is too.
//
// # Key layout (format version 1)
//
// Every key starts with a one-byte kind. IDs of sessions are 16 bytes:
// the start time in Unix milliseconds (big-endian, 8 bytes) and 8 random
// bytes, so keys sort by start time and retention is a range delete.
//
//	"v"                         format version, decimal ASCII ("1")
//	"s" id[16]                  session record (JSON, SessionInfo)
//	"e" id[16] seq[8 BE]        event seq of a session (binary, see event.go)
//	"a" approvalID              approval request (JSON, caller-defined)
//	"k" sha256[32]              token record by the SHA-256 of the token
//	"m" unixnano[8 BE] n[8 BE]  admin action (JSON, AdminAction)
//
// A store with another format version, or none on a non-empty directory,
// is refused at Open: every change of this layout bumps the version and
// ships a migration.
//
// # Tamper evidence
//
// Event n carries SHA-256(hash(n-1) || seq || time || kind || data); event
// 1 chains to the session ID. The session record holds the head (the last
// sequence number and hash), written in the same batch as the events, so
// Verify detects a modified, deleted, inserted or reordered event and a
// truncated tail, and says which sequence number is the first bad one.
//
// # Limits
//
//   - Options.SessionQuota caps the bytes recorded per session. Past it,
//     buffered events (output) are dropped after one "truncated" event;
//     durable events (commands, verdicts, approvals) are still recorded,
//     since they are the audit trail and are small.
//   - Options.MinFreeBytes: below it, OpenSession fails with ErrStoreFull
//     (the engine refuses the connection); below half of it, Durable fails
//     with ErrStoreFull too (the engine ends the session cleanly) and
//     buffered events are dropped with a "truncated" event. Pebble treats a
//     failed WAL write as fatal (the process exits rather than run with
//     unknown state), so the store keeps clear of a full disk instead.
//   - DeleteBefore removes sessions that started before a time, with range
//     deletes (retention).
package store
