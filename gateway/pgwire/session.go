package pgwire

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/sluicegw/sluice/abi"
	"github.com/sluicegw/sluice/gateway/approvals"
	"github.com/sluicegw/sluice/gateway/policy"
	"github.com/sluicegw/sluice/gateway/sqlscan"
	"github.com/sluicegw/sluice/gateway/store"
)

// refusedSQL is what sluice sends the backend in place of a refused
// command: it cannot parse, so the backend answers with an error and, in
// a transaction block, marks the transaction failed, exactly as for a
// statement PostgreSQL itself refused. The relay replaces that error with
// sluice's. The statement name keeps the refusal from touching the
// client's unnamed statement.
const (
	refusedSQL  = "SLUICE_REFUSED"
	refusedStmt = "_sluice_refused"
)

// backendFlushAt is how much client output sluice buffers for the
// backend before writing it even without a Sync or Flush (COPY data).
const backendFlushAt = 64 << 10

// clientLoop reads the client's messages until the session ends and
// returns why it ended ("" for an ordinary disconnect).
func (c *conn) clientLoop() string {
	for {
		msg, err := c.be.Receive()
		if err != nil {
			var tooLong *pgproto3.ExceededMaxBodyLenErr
			switch {
			case errors.As(err, &tooLong):
				c.sendNow(errorResponse("FATAL", codeProgramLimitExceeded,
					fmt.Sprintf("message of %d bytes exceeds sluice's limit of %d bytes", tooLong.ActualBodyLen, tooLong.MaxExpectedBodyLen)))
				return "client message too long"
			case c.ctx.Err() != nil || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || ends(err):
				return ""
			}
			var ne net.Error
			if errors.As(err, &ne) {
				return ""
			}
			c.sendNow(errorResponse("FATAL", codeProtocolViolation, "invalid frontend message: "+err.Error()))
			return "protocol violation"
		}
		if reason := c.handleClient(msg); reason != "" {
			return reason
		}
		if len(c.bout) >= backendFlushAt {
			if err := c.flushBackend(); err != nil {
				return ""
			}
		}
	}
}

// handleClient acts on one client message. It returns a reason to end
// the session, or "".
func (c *conn) handleClient(msg pgproto3.FrontendMessage) string {
	switch m := msg.(type) {
	case *pgproto3.Sync:
		c.skipping = false
		c.q.push(pending{op: 'S'})
		c.toBackend(m)
		return c.flushOrEnd()
	case *pgproto3.Flush:
		c.toBackend(m)
		return c.flushOrEnd()
	case *pgproto3.Terminate:
		c.toBackend(m)
		c.flushBackend()
		return "client terminated"
	}
	if c.skipping {
		// After a refused extended-protocol message the backend would
		// ignore everything until Sync; so does sluice.
		return ""
	}
	switch m := msg.(type) {
	case *pgproto3.Query:
		if reason := c.onQuery(m.String); reason != "" {
			return reason
		}
		return c.flushOrEnd()
	case *pgproto3.Parse:
		return c.onParse(m)
	case *pgproto3.Bind:
		return c.onBind(m)
	case *pgproto3.Describe:
		c.q.push(pending{op: 'D', object: m.ObjectType, name: m.Name})
		c.toBackend(m)
	case *pgproto3.Execute:
		if !c.portals[m.Portal] {
			c.refuseExtended(errorResponse("ERROR", codeInvalidCursorName, fmt.Sprintf("portal %q does not exist", m.Portal)))
			return ""
		}
		c.q.push(pending{op: 'E', name: m.Portal})
		c.toBackend(m)
	case *pgproto3.Close:
		if m.ObjectType == 'S' {
			delete(c.stmts, m.Name)
			delete(c.execs, m.Name)
			delete(c.blocked, m.Name)
			c.scan.Deallocate(m.Name)
		} else {
			delete(c.portals, m.Name)
		}
		c.q.push(pending{op: 'C', object: m.ObjectType, name: m.Name})
		c.toBackend(m)
	case *pgproto3.CopyData:
		c.toBackend(m)
	case *pgproto3.CopyDone:
		c.toBackend(m)
		return c.flushOrEnd()
	case *pgproto3.CopyFail:
		c.toBackend(m)
		return c.flushOrEnd()
	case *pgproto3.FunctionCall:
		// The fast-path interface calls a function by OID with no SQL text
		// for the policy to see (section 55.2.6 "Function Call").
		if end := c.durable(store.KindCommand, commandEvent{Text: fmt.Sprintf("FunctionCall oid=%d", m.Function), Verdict: verdictBlock,
			Reason: "function calls (the FunctionCall message) are not allowed through sluice", Plugin: "sluice", Protocol: "function_call"}); end != "" {
			return end
		}
		c.refuseSimple(errorResponse("ERROR", codeInsufficientPrivilege, "function calls (the FunctionCall message) are not allowed through sluice: call the function in SQL"))
		return c.flushOrEnd()
	default:
		c.sendNow(errorResponse("FATAL", codeProtocolViolation, fmt.Sprintf("unexpected frontend message %T", msg)))
		return "protocol violation"
	}
	return ""
}

func (c *conn) flushOrEnd() string {
	if err := c.flushBackend(); err != nil {
		return "backend write failed"
	}
	return ""
}

// refuseSimple answers a simple-protocol message with errResp followed by
// ReadyForQuery, in order with the responses still coming from the
// backend.
func (c *conn) refuseSimple(errResp *pgproto3.ErrorResponse) {
	c.q.push(pending{op: 'Q', refuse: errResp})
	c.toBackend(&pgproto3.Query{String: refusedSQL})
}

// refuseExtended answers an extended-protocol message with errResp; the
// backend and sluice then ignore messages until Sync.
func (c *conn) refuseExtended(errResp *pgproto3.ErrorResponse) {
	c.q.push(pending{op: 'P', refuse: errResp})
	c.toBackend(&pgproto3.Parse{Name: refusedStmt, Query: refusedSQL})
	c.skipping = true
}

func (c *conn) onQuery(text string) string {
	a, ok, refusal, end := c.check("simple", "", text)
	if end != "" {
		return end
	}
	if !ok {
		c.refuseSimple(refusal)
		return ""
	}
	c.trackSQLPrepares(a)
	if p := c.copyPlan; p != nil {
		// Name the columns of the COPY's output: sluice's own Parse and
		// Describe of the equivalent query, answered before the COPY runs.
		c.q.push(pending{op: 'P', internal: true})
		c.toBackend(&pgproto3.Parse{Name: copyDescribeStmt, Query: p.describeSQL})
		c.q.push(pending{op: 'D', object: 'S', internal: true})
		c.toBackend(&pgproto3.Describe{ObjectType: 'S', Name: copyDescribeStmt})
		c.q.push(pending{op: 'C', object: 'S', internal: true})
		c.toBackend(&pgproto3.Close{ObjectType: 'S', Name: copyDescribeStmt})
		c.q.push(pending{op: 'S', internal: true})
		c.toBackend(&pgproto3.Sync{})
	}
	c.q.push(pending{op: 'Q', copy: c.copyPlan})
	c.toBackend(&pgproto3.Query{String: text})
	return ""
}

func (c *conn) onParse(m *pgproto3.Parse) string {
	a, ok, refusal, end := c.check("parse", m.Name, m.Query)
	if end != "" {
		return end
	}
	if !ok {
		delete(c.stmts, m.Name)
		c.scan.Deallocate(m.Name)
		c.blocked[m.Name] = refusal.Message
		c.refuseExtended(refusal)
		return ""
	}
	delete(c.blocked, m.Name)
	c.stmts[m.Name] = true
	c.execs[m.Name] = execEvent{Statement: m.Name, Text: c.checked.Text, Fingerprint: c.checked.Fingerprint, readOnly: a.ReadOnly()}
	c.unnamedFresh = m.Name == ""
	// SQL-level EXECUTE runs protocol-level named statements too: it gets
	// this statement's facts.
	c.scan.Prepare(m.Name, a)
	c.trackSQLPrepares(a)
	c.q.push(pending{op: 'P', name: m.Name})
	c.toBackend(m)
	return ""
}

// execEvent is the data of an execute event: a prepared statement run
// again (its parameters are not recorded: they are the constants).
type execEvent struct {
	Statement   string `json:"statement"`
	Text        string `json:"text"`
	Fingerprint string `json:"fingerprint,omitempty"`
	Params      int    `json:"params"`
	readOnly    bool
}

// recordExecution records a Bind of a statement parsed earlier, before
// it is forwarded: durably, unless the statement only reads.
func (c *conn) recordExecution(m *pgproto3.Bind) string {
	if m.PreparedStatement == "" && c.unnamedFresh {
		c.unnamedFresh = false
		return ""
	}
	ev, ok := c.execs[m.PreparedStatement]
	if !ok {
		// Prepared with SQL PREPARE: its command event names it.
		ev = execEvent{Statement: m.PreparedStatement}
	}
	ev.Params = len(m.Parameters)
	if ev.readOnly && !c.e.o.SyncReads {
		return c.written(store.KindExecute, ev)
	}
	return c.durable(store.KindExecute, ev)
}

func (c *conn) onBind(m *pgproto3.Bind) string {
	if !c.stmts[m.PreparedStatement] {
		if why, ok := c.blocked[m.PreparedStatement]; ok {
			c.refuseExtended(errorResponse("ERROR", codeInsufficientPrivilege,
				fmt.Sprintf("prepared statement %q was refused by sluice: %s", m.PreparedStatement, why)))
			return ""
		}
		c.refuseExtended(errorResponse("ERROR", codeInvalidStatementName,
			fmt.Sprintf("prepared statement %q does not exist", m.PreparedStatement)))
		return ""
	}
	if end := c.recordExecution(m); end != "" {
		return end
	}
	c.portals[m.DestinationPortal] = true
	c.q.push(pending{op: 'B', name: m.DestinationPortal})
	c.toBackend(m)
	// Sluice's own Describe of the new portal: the relay learns the column
	// names, types and formats of the rows an Execute returns, which the
	// client may never ask for (pgx describes statements once, then only
	// binds and executes).
	c.q.push(pending{op: 'D', object: 'P', name: m.DestinationPortal, internal: true})
	c.toBackend(&pgproto3.Describe{ObjectType: 'P', Name: m.DestinationPortal})
	return ""
}

// trackSQLPrepares follows SQL-level PREPARE, DEALLOCATE and DISCARD ALL:
// they share the namespace of protocol-level prepared statements, and a
// PREPARE passed the policy with its body.
func (c *conn) trackSQLPrepares(a *sqlscan.Analysis) {
	for i := range a.Statements {
		st := &a.Statements[i]
		for _, name := range st.Values("prepare") {
			c.stmts[name] = true
			delete(c.execs, name)
			delete(c.blocked, name)
		}
		for _, name := range st.Values("deallocate") {
			if strings.EqualFold(name, "ALL") {
				clear(c.stmts)
				clear(c.execs)
			} else {
				delete(c.stmts, name)
				delete(c.execs, name)
			}
		}
		if st.Has("discard", "ALL") {
			clear(c.stmts)
			clear(c.execs)
			clear(c.portals)
		}
	}
}

// commandEvent is the data of a command event in the store.
type commandEvent struct {
	Text        string   `json:"text"`
	Verdict     string   `json:"verdict"`
	Reason      string   `json:"reason,omitempty"`
	Plugin      string   `json:"plugin,omitempty"`
	Fingerprint string   `json:"fingerprint,omitempty"`
	Protocol    string   `json:"protocol"` // simple, parse, function_call
	Statement   string   `json:"statement,omitempty"`
	Tags        []string `json:"tags,omitempty"`
	ParseError  string   `json:"parse_error,omitempty"`
	Grant       string   `json:"grant,omitempty"` // approval request whose window grant let it run
}

// Verdict names in the store (session counters, replay).
const (
	verdictAllow   = "allow"
	verdictBlock   = "block"
	verdictApprove = "require_approval"
)

// check analyses a command, runs the chain, records the command durably
// and, for REQUIRE_APPROVAL, waits for the reviewers. It returns whether
// the command may be forwarded, the error to answer otherwise, and a
// reason to end the session (recording failed).
func (c *conn) check(protocol, stmtName, text string) (*sqlscan.Analysis, bool, *pgproto3.ErrorResponse, string) {
	a, err := c.scan.Analyze(text)
	if err != nil {
		// The parser itself failed (not a syntax error): fail closed.
		c.e.log.Error("pgwire: sqlscan failed", "err", err)
		a = &sqlscan.Analysis{SQL: text, ParseError: "sqlscan: " + err.Error()}
	}
	chain, chainErr := c.e.o.Chain()
	c.cb.Reset()
	c.cb.Set(abi.CommandSQL, text, c.identity, c.target.Name)
	a.AddFacts(&c.cb)
	res := chain.Evaluate(c.ctx, &c.cb)
	if chainErr != nil {
		// Fail closed: no policy, no command.
		c.e.log.Error("pgwire: the target's plugin chain is unavailable: refusing commands", "err", chainErr)
		res = policy.Result{Verdict: abi.Block, Plugin: "sluice", Reason: "the policy of this target is unavailable"}
	}
	if err := res.Err(); err != nil {
		c.e.log.Warn("pgwire: plugin failure while deciding a command", "identity", c.identity, "err", err)
	}
	c.copyPlan = nil
	if res.Verdict != abi.Block && copiesOut(a) && policy.NewMasker(chain).Active() {
		// COPY output carries no column names: sluice masks it only when
		// it can name the columns and cut the rows (simple protocol, text
		// or CSV); anything else would pass unmasked, so it is refused.
		var err error
		if protocol != "simple" {
			err = errors.New("COPY ... TO STDOUT in the extended protocol cannot be masked yet: send it as a simple query")
		} else {
			c.copyPlan, err = planCopy(text)
		}
		if err != nil {
			res = policy.Result{Verdict: abi.Block, Plugin: "sluice", Reason: err.Error() + " (this target masks its output)"}
		}
	}
	ev := commandEvent{Text: recordText(a), Verdict: verdictName(res.Verdict), Reason: res.Reason, Plugin: res.Plugin,
		Fingerprint: fingerprintOf(a), Protocol: protocol, Statement: stmtName, ParseError: a.ParseError}
	for i := range a.Statements {
		ev.Tags = append(ev.Tags, a.Statements[i].Tag)
	}
	c.checked = ev
	switch res.Verdict {
	case abi.Allow:
		if !c.e.o.SyncReads && a.ReadOnly() {
			// A read changes nothing: its record is written now and
			// synced with the next group (store.sync_reads).
			if end := c.written(store.KindCommand, ev); end != "" {
				return a, false, nil, end
			}
			return a, true, nil, ""
		}
		if end := c.durable(store.KindCommand, ev); end != "" {
			return a, false, nil, end
		}
		return a, true, nil, ""
	case abi.RequireApproval:
		if c.e.o.Approvals != nil {
			if g, ok := c.e.o.Approvals.Granted(c.identity, c.target.Name, ev.Fingerprint); ok {
				ev.Grant = g.Request
				if end := c.durable(store.KindCommand, ev); end != "" {
					return a, false, nil, end
				}
				return a, true, nil, ""
			}
		}
		if end := c.durable(store.KindCommand, ev); end != "" {
			return a, false, nil, end
		}
		ok, refusal := c.awaitApproval(a, ev, res)
		return a, ok, refusal, ""
	default:
		if end := c.durable(store.KindCommand, ev); end != "" {
			return a, false, nil, end
		}
		e := errorResponse("ERROR", codeInsufficientPrivilege, "blocked by sluice policy: "+res.Reason)
		if res.Plugin != "" {
			e.Detail = fmt.Sprintf("plugin %s refused this statement on target %s", res.Plugin, c.target.Name)
		}
		return a, false, e, ""
	}
}

// durable records an event before sluice acts on it. If the store cannot,
// the client gets an error and the session ends: nothing runs unaudited.
func (c *conn) durable(kind store.Kind, v any) string {
	return c.recorded(c.sess.Durable(kind, mustJSON(v)))
}

// written records the event of a read-only command before it is
// forwarded, without waiting for the disk (store.Session.Written).
func (c *conn) written(kind store.Kind, v any) string {
	return c.recorded(c.sess.Written(kind, mustJSON(v)))
}

func (c *conn) recorded(_ uint64, err error) string {
	if err != nil {
		c.e.log.Error("pgwire: cannot record a command: ending the session", "identity", c.identity, "err", err)
		code := codeConnectionFailure
		if errors.Is(err, store.ErrStoreFull) {
			code = codeDiskFull
		}
		c.sendNow(errorResponse("FATAL", code, "sluice cannot record this session: ending it"))
		return "recording failed"
	}
	return ""
}

// awaitApproval asks for a reviewer's decision and waits for it, bounded
// by the request's expiry; a CancelRequest from the client ends the wait.
func (c *conn) awaitApproval(a *sqlscan.Analysis, ev commandEvent, res policy.Result) (bool, *pgproto3.ErrorResponse) {
	apr := c.e.o.Approvals
	if apr == nil {
		return false, errorResponse("ERROR", codeInsufficientPrivilege,
			"this statement needs a reviewer's approval, but approvals are not enabled on this gateway: "+res.Reason)
	}
	// Let what the client pipelined before this statement run meanwhile.
	c.flushBackend()
	analysis, _ := json.Marshal(a.Statements)
	req, err := apr.Request(c.ctx, approvals.NewRequest{
		Session: c.sess.ID().String(), Identity: c.identity, Target: c.target.Name, Command: ev.Text,
		Analysis: analysis, Reason: res.Reason, Plugin: res.Plugin, Fingerprint: ev.Fingerprint,
	}, c.sess)
	if err != nil {
		c.e.log.Error("pgwire: cannot create an approval request", "identity", c.identity, "err", err)
		return false, errorResponse("ERROR", codeInsufficientPrivilege, "this statement needs a reviewer's approval, and sluice could not create the request")
	}
	// Registered before the notice: a cancel sent on seeing it must
	// find the wait.
	ctx, cancel := context.WithCancel(c.ctx)
	c.waitMu.Lock()
	c.waitCancel = cancel
	c.waitMu.Unlock()
	notice := pgproto3.NoticeResponse{Severity: "NOTICE", SeverityUnlocalized: "NOTICE", Code: "01000",
		Message: fmt.Sprintf("sluice: statement held for approval, request %s: %s", req.ID, res.Reason),
		Detail:  "A reviewer approves it with: sluice approvals approve " + req.ID,
		Hint:    fmt.Sprintf("Waiting until %s; cancel the query to stop waiting.", req.Expires.UTC().Format(time.RFC3339)),
	}
	c.sendNow(&notice)
	// A client that leaves while its statement waits must not have it
	// run later for nobody.
	var left atomic.Bool
	stopWatch := c.cr.watch(func() { left.Store(true); cancel() })
	out, err := apr.Wait(ctx, req.ID)
	stopWatch()
	c.waitMu.Lock()
	c.waitCancel = nil
	c.waitMu.Unlock()
	canceled := ctx.Err() != nil && c.ctx.Err() == nil
	cancel()
	switch {
	case left.Load():
		return false, errorResponse("ERROR", codeQueryCanceled, "the client left while its statement waited for approval "+req.ID)
	case canceled:
		return false, errorResponse("ERROR", codeQueryCanceled, "canceling statement due to user request (approval request "+req.ID+" stays pending)")
	case err != nil:
		return false, errorResponse("ERROR", codeInsufficientPrivilege, fmt.Sprintf("approval request %s: %v", req.ID, err))
	case !out.Approved:
		e := errorResponse("ERROR", codeInsufficientPrivilege, fmt.Sprintf("approval request %s %s: %s", req.ID, out.State, out.Reason))
		if len(out.Reviewers) > 0 {
			e.Detail = "decided by " + strings.Join(out.Reviewers, ", ")
		}
		return false, e
	}
	return true, nil
}

func verdictName(v abi.Verdict) string {
	switch v {
	case abi.Allow:
		return verdictAllow
	case abi.RequireApproval:
		return verdictApprove
	}
	return verdictBlock
}

// copiesOut reports whether a statement streams COPY data to the client.
func copiesOut(a *sqlscan.Analysis) bool {
	for i := range a.Statements {
		if a.Statements[i].Has("copy_direction", "to") {
			return true
		}
	}
	return false
}

// fingerprintOf is the approval fingerprint of a command: its
// statement's, or a digest of all of them for several.
func fingerprintOf(a *sqlscan.Analysis) string {
	switch len(a.Statements) {
	case 0:
		return ""
	case 1:
		return a.Statements[0].Fingerprint
	}
	h := sha256.New()
	for i := range a.Statements {
		h.Write([]byte(a.Statements[i].Fingerprint))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// recordText is what the store keeps of a command: constants replaced by
// $n (sqlscan.Normalize, pg_query's normalization), so a literal password or e-mail in the
// statement is not recorded. Text that does not parse has its quoted
// strings and numbers blanked instead.
func recordText(a *sqlscan.Analysis) string {
	if a.ParseError == "" {
		if n, err := sqlscan.Normalize(a.SQL); err == nil {
			return n
		}
	}
	return scrub(a.SQL)
}

// scrub blanks what looks like a literal: '...' strings and digits.
func scrub(s string) string {
	var b strings.Builder
	inQuote := false
	for _, r := range s {
		switch {
		case r == '\'':
			inQuote = !inQuote
			if inQuote {
				b.WriteString("'?'")
			}
		case inQuote:
		case r >= '0' && r <= '9':
			b.WriteByte('0')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// handleCancel maps a client's CancelRequest (sluice's key) to the
// backend's key and forwards it; a cancel also ends an approval wait.
// A key that matches no connection of this engine is ignored, as
// PostgreSQL does.
func (e *Engine) handleCancel(m *pgproto3.CancelRequest) {
	c := e.cancelFor(m.ProcessID, m.SecretKey)
	if c == nil {
		e.log.Debug("pgwire: cancel request with an unknown key")
		return
	}
	c.waitMu.Lock()
	wc := c.waitCancel
	c.waitMu.Unlock()
	if wc != nil {
		wc()
	}
	d := net.Dialer{Timeout: 5 * time.Second}
	nc, err := d.DialContext(e.ctx, "tcp", c.target.Upstream.Address)
	if err != nil {
		e.log.Warn("pgwire: cannot forward a cancel request", "err", err)
		return
	}
	defer nc.Close()
	buf, _ := (&pgproto3.CancelRequest{ProcessID: c.backendPID, SecretKey: c.backendSecret}).Encode(nil)
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	nc.Write(buf)
	// The server closes the connection once it has read the request.
	io.Copy(io.Discard, nc)
}
