// Package approvals holds commands that a policy plugin answered with
// REQUIRE_APPROVAL until a human reviewer decides: it keeps the requests
// (persisted in the store), checks who may decide, expires what nobody
// decided, remembers time-boxed grants so a retried job passes without a
// new request, tells a webhook, and feeds the admin API's list and watch.
//
// # Entry points
//
// New returns a *Manager (one per gateway). A protocol engine that gets a
// REQUIRE_APPROVAL verdict for a command:
//
//	if g, ok := m.Granted(identity, target, fingerprint); ok {
//		// a reviewer already approved this statement for this identity
//		// on this target for a while: run it (and record g.Request).
//	}
//	req, err := m.Request(ctx, approvals.NewRequest{...}, session)
//	out, err := m.Wait(ctx, req.ID) // blocks: decided, expired, ctx done
//	// run the command only if err == nil && out.Approved
//
// The engine parks the session, never the plugin instance: nothing here
// holds or needs one. If ctx ends (the client left), the request stays
// pending for reviewers: approving it with a window grant still lets the
// retried job through.
//
// The admin API, with the Reviewer it authenticated:
//
//	List(Filter) / Get(id)             requests, from the store, newest first
//	Approve(id, reviewer, reason, GrantSpec) / Deny(id, reviewer, reason)
//	seq := Seq(); List(...); Changes(ctx, seq)
//	                                   long poll: the events after seq
//	                                   (created, approved with Final false
//	                                   for a partial approval, denied,
//	                                   expired), ErrMissed to list again
//	Watch(ctx)                         the same as a channel, for SSE
//	WebhookStats()                     notification counters
//
// Events live in memory (the last 1024) and are numbered from 1 at each
// start; a client holding a number from before a restart gets ErrMissed.
//
// # Rules of a decision
//
//   - Only a Reviewer that is human and has the role "reviewer" decides
//     (ErrNotReviewer); a service identity never does, whatever its roles.
//   - Nobody approves a request made by their own identity
//     (ErrSelfApproval). Denying one's own request is allowed: it can only
//     stop a command.
//   - A request needs Required distinct approvals (Options.Required,
//     overridden per target by Options.RequiredByTarget); one deny decides.
//   - A request not decided by its expiry is expired, which is a deny.
//   - Approve, Deny and expiry of one request are serialized: exactly one
//     of them makes the final decision; the others get ErrAlreadyDecided or
//     ErrExpired.
//
// # Grants
//
// An approval carries a GrantSpec: once (the zero value: only the held
// command runs; it is consumed by the Wait that releases it) or a window
// of at most Options.MaxGrant, during which Granted reports that the
// identity may run a statement with the same fingerprint on the same
// target. With several approvers the narrowest choice wins: a window is
// granted only if every approver chose one, and then the shortest.
//
// # Recording
//
// Each request and each vote is written to the store (PutApproval, one
// JSON record per request, synced) before anyone acts on it, and recorded
// in the caller's session as KindApprovalRequest and KindApprovalDecision
// events through the Recorder passed to Request (*store.Session
// satisfies it). A final decision that could not be recorded in the
// session is still a decision, but Wait returns an error so the command
// does not run unaudited. On New, pending requests are loaded: expired
// ones are expired (no session event then: their session ended with the
// previous process), the others are held again (their waiter is gone;
// they can still be decided, for the grant's sake). Decided requests live
// in the store; memory keeps them for a while after the decision.
//
// # Notifications
//
// With Options.Webhook set, created and decided requests are POSTed as
// JSON (Slack-compatible "text" plus structured fields) by one
// background goroutine with retries and exponential backoff. The queue is
// bounded and drops its oldest entry when full (counted, logged): a slow
// or dead webhook never holds a command or a reviewer.
//
// # Concurrency
//
// A Manager is safe for concurrent use. Each request has its own lock,
// held across its store write and session event so that votes are
// recorded in the order they were decided; requests do not wait for each
// other. Close stops expiry timers and the webhook, waits for operations
// in flight, and makes Wait return ErrClosed; close the store after it.
package approvals
