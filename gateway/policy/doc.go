// Package policy runs a target's plugin chain and turns plugin results into
// decisions: Chain evaluates a command (first BLOCK wins, then any
// REQUIRE_APPROVAL, else ALLOW) and Masker runs batches of records through
// the masking plugins in order, each plugin seeing the previous one's edits.
//
// Fail modes are applied here: when a plugin fails (trap, timeout, memory,
// invalid output, open circuit), fail_closed blocks the command or redacts
// every field of every record in the batch, and fail_open lets them pass
// unchanged. Raw values never leave a failed batch.
//
// A Chain is safe for concurrent use. A Masker and a Table belong to one
// goroutine (one stream); create one per stream.
package policy
