package httpgw

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/sluicegw/sluice/gateway/records"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sluicegw/sluice/abi"
	"github.com/sluicegw/sluice/gateway/approvals"
	"github.com/sluicegw/sluice/gateway/auth"
	"github.com/sluicegw/sluice/gateway/policy"
	"github.com/sluicegw/sluice/gateway/store"
)

// commandEvent is the durable record of one request, written before it is
// forwarded. Text is "METHOD target" with the target masked.
type commandEvent struct {
	Text        string `json:"text"`
	Verdict     string `json:"verdict"`
	Reason      string `json:"reason,omitempty"`
	Plugin      string `json:"plugin,omitempty"`
	Fingerprint string `json:"fingerprint,omitempty"`
	RequestID   string `json:"request_id"`
	Grant       string `json:"grant,omitempty"` // approval request whose grant let it run
}

var builders = sync.Pool{New: func() any { return new(abi.CommandBuilder) }}

// handle is one request: identity, allow list, policy, record, approval,
// forward. Every refusal is a JSON body with the request ID.
func (e *Engine) handle(ctx *fasthttp.RequestCtx) {
	rid := newRequestID()
	cc := e.conn(ctx)
	t := e.target()

	// 1. Who is asking. The reason of a refusal goes to the log and the
	// recording; the client learns only that it failed (no oracle).
	var res auth.Result
	var err error
	if tok, ok := auth.Bearer(string(ctx.Request.Header.Peek(fasthttp.HeaderAuthorization))); ok {
		res, err = e.authenticate(tok)
	} else {
		err = fmt.Errorf("%w: no bearer token", auth.ErrDenied)
	}
	if err != nil {
		e.log.Info("httpgw: authentication failed", "client", cc.addr, "request_id", rid, "err", err)
		e.recordRefusal(cc, rid, "", err.Error())
		reply(ctx, fasthttp.StatusUnauthorized, errorBody{Error: auth.ErrDenied.Error(), RequestID: rid})
		challenge := `Bearer realm="sluice"`
		if ctx.Request.Header.Peek(fasthttp.HeaderAuthorization) != nil {
			challenge += `, error="invalid_token"` // RFC 6750 §3.1
		}
		ctx.Response.Header.Set(fasthttp.HeaderWWWAuthenticate, challenge)
		return
	}
	identity := res.Identity.Name
	if !t.Allows(identity) {
		e.log.Info("httpgw: identity not allowed on the target", "identity", identity, "client", cc.addr, "request_id", rid)
		e.recordRefusal(cc, rid, identity, "identity not allowed on target "+t.Name)
		reply(ctx, fasthttp.StatusForbidden, errorBody{Error: "identity not allowed on this target", RequestID: rid})
		return
	}
	sess, err := cc.session(identity, &res)
	if err != nil {
		e.log.Error("httpgw: cannot record the session: refusing the request", "identity", identity, "err", err)
		reply(ctx, fasthttp.StatusServiceUnavailable, errorBody{Error: "sluice cannot record this session now; try again later", RequestID: rid})
		ctx.SetConnectionClose()
		return
	}

	// 2. Limits known from the headers.
	if cl := ctx.Request.Header.ContentLength(); e.o.MaxRequestBody > 0 && int64(cl) > e.o.MaxRequestBody {
		sess.Append(store.KindError, mustJSON(map[string]any{"request_id": rid, "status": 413, "error": "request body too large", "content_length": cl}))
		reply(ctx, fasthttp.StatusRequestEntityTooLarge, errorBody{Error: "request body too large", RequestID: rid})
		ctx.SetConnectionClose()
		return
	}

	// 3. Policy.
	method := string(ctx.Method())
	target, ok := requestTarget(ctx)
	if !ok {
		reply(ctx, fasthttp.StatusBadRequest, errorBody{Error: "the request target must be a path (origin-form) or an absolute URL", RequestID: rid})
		return
	}
	chain, cerr := e.o.Chain()
	if cerr != nil {
		// A plugin of the target is not loaded: fail closed.
		e.log.Error("httpgw: the target's plugin chain is not available; refusing", "target", t.Name, "request_id", rid, "err", cerr)
		reply(ctx, fasthttp.StatusServiceUnavailable, errorBody{Error: "the gateway's policy for this target is not available", RequestID: rid})
		return
	}
	masker := policy.NewMasker(chain)
	cb := builders.Get().(*abi.CommandBuilder)
	cb.Reset()
	cb.Set(abi.CommandHTTP, method+" "+target, identity, t.Name)
	e.addFacts(cb, ctx, method, target)
	verdict := chain.Evaluate(e.ctx, cb)
	builders.Put(cb)
	if len(verdict.Failures) > 0 {
		e.log.Warn("httpgw: plugin failures while judging a request", "identity", identity, "request_id", rid, "err", verdict.Err())
	}
	shown, merr := policy.MaskText(e.ctx, masker, "command", method+" "+target)
	if merr != nil {
		e.log.Warn("httpgw: masking the recorded request failed", "request_id", rid, "err", merr)
	}
	ev := commandEvent{Text: shown, Verdict: verdict.Verdict.String(), Reason: verdict.Reason, Plugin: verdict.Plugin,
		Fingerprint: fingerprint(method, target), RequestID: rid}

	switch verdict.Verdict {
	case abi.Allow:
	case abi.RequireApproval:
		if !e.approve(ctx, sess, identity, t.Name, &ev, verdict) {
			return
		}
	default: // block, and any verdict this version does not know
		if !e.durable(ctx, sess, ev) {
			return
		}
		reply(ctx, fasthttp.StatusForbidden, errorBody{Error: "blocked by policy", Reason: verdict.Reason, RequestID: rid})
		return
	}
	// A safe method (RFC 9110 §9.2.1) changes nothing on a server that
	// follows HTTP: its record is written now and synced with the next
	// group, as pgwire does for SELECTs.
	record := sess.Durable
	if readOnly(method) && ev.Grant == "" && !e.o.SyncReads && !isWebSocket(ctx) {
		record = sess.Written
	}
	if ev.Verdict != "" && !e.recorded(ctx, ev, record) {
		return
	}

	// 4. Forward.
	if isWebSocket(ctx) {
		e.websocket(ctx, cc, sess, rid, target)
		return
	}
	e.forward(ctx, cc, sess, rid, chain, masker, target)
}

// requestTarget is the target sluice judges and forwards: the path and
// query as the client sent them. An absolute-form target (RFC 9112
// §3.2.2, "GET http://host/p") is reduced to its path and query, since
// the upstream is fixed; a fragment (never sent by conforming clients) is
// cut, as the upstream would not see it either. Asterisk-form and
// authority-form are refused.
func requestTarget(ctx *fasthttp.RequestCtx) (string, bool) {
	raw := string(ctx.RequestURI())
	if i := strings.IndexByte(raw, '#'); i >= 0 {
		raw = raw[:i]
	}
	if strings.HasPrefix(raw, "/") {
		return raw, true
	}
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok || !strings.EqualFold(scheme, "http") && !strings.EqualFold(scheme, "https") {
		return "", false
	}
	i := strings.IndexAny(rest, "/?")
	switch {
	case i < 0:
		return "/", true
	case rest[i] == '?':
		return "/" + rest[i:], true
	}
	return rest[i:], true
}

// authenticate turns a bearer token into an identity: an ID token of a
// trusted OIDC issuer, or a sluice token.
func (e *Engine) authenticate(tok string) (auth.Result, error) {
	if e.oidc == nil || !looksLikeJWT(tok) {
		return e.o.Auth.Token(tok)
	}
	name, err := e.oidc.verify(e.ctx, tok)
	if err != nil {
		return auth.Result{}, fmt.Errorf("%w: oidc: %v", auth.ErrDenied, err)
	}
	if cfg := e.o.Auth.Config(); cfg != nil {
		if id, ok := cfg.Identity(name); ok {
			return auth.Result{Identity: id, Source: "oidc"}, nil
		}
	}
	return auth.Result{}, fmt.Errorf("%w: oidc: rule names identity %q, which is not in the config", auth.ErrDenied, name)
}

// readOnly reports whether method is one HTTP defines as safe.
func readOnly(method string) bool {
	return method == "GET" || method == "HEAD" || method == "OPTIONS"
}

// durable records the command before sluice acts on it; when it cannot,
// the request is refused and the connection closed.
func (e *Engine) durable(ctx *fasthttp.RequestCtx, sess *store.Session, ev commandEvent) bool {
	return e.recorded(ctx, ev, sess.Durable)
}

// recorded records the command with record (Session.Durable, or Written
// for a read); when it cannot, the request is refused and the connection
// closed.
func (e *Engine) recorded(ctx *fasthttp.RequestCtx, ev commandEvent, record func(store.Kind, []byte) (uint64, error)) bool {
	if _, err := record(store.KindCommand, mustJSON(ev)); err != nil {
		e.log.Error("httpgw: cannot record the request: refusing it", "request_id", ev.RequestID, "err", err)
		reply(ctx, fasthttp.StatusServiceUnavailable, errorBody{Error: "sluice cannot record this request now; try again later", RequestID: ev.RequestID})
		ctx.SetConnectionClose()
		return false
	}
	return true
}

// recordRefusal records a refused authentication or allow-list check in
// the connection's session of unauthenticated requests.
func (e *Engine) recordRefusal(cc *clientConn, rid, identity, reason string) {
	sess, err := cc.session(anonymous, nil)
	if err != nil {
		e.log.Error("httpgw: cannot record a refused request", "request_id", rid, "err", err)
		return
	}
	ev := map[string]any{"result": "denied", "method": "bearer", "reason": reason, "request_id": rid}
	if identity != "" {
		ev["identity"] = identity
	}
	if _, err := sess.Durable(store.KindAuth, mustJSON(ev)); err != nil {
		e.log.Error("httpgw: cannot record a refused request", "request_id", rid, "err", err)
	}
}

// addFacts hands the request to plugins as ABI.md §3.6 http facts.
func (e *Engine) addFacts(cb *abi.CommandBuilder, ctx *fasthttp.RequestCtx, method, target string) {
	path, query, hasQuery := strings.Cut(target, "?")
	cb.AddFact(0, "method", method)
	cb.AddFact(0, "path", path)
	if hasQuery {
		cb.AddFact(0, "query", query)
	}
	n := 0
	for k, v := range ctx.Request.Header.All() {
		name := lowerASCII(string(k))
		if e.factSet != nil {
			if !e.factSet[name] {
				continue
			}
		} else if name == "authorization" || name == "proxy-authorization" || name == "cookie" {
			continue
		}
		if n++; n > maxHeaderFacts {
			break
		}
		cb.AddFact(0, "header."+name, string(v))
	}
	addBodyFacts(cb, ctx)
}

// maxBodyFacts caps the facts one request body gives plugins.
const maxBodyFacts = 1024

// addBodyFacts hands a JSON or NDJSON request body to plugins as records:
// a fact body.NAME per field (NAME the field's path, as masking plugins
// see it), the record's index as the statement. Only a body sluice holds
// already (Content-Length up to bodyPrefetch) is read; for a larger,
// chunked or encoded one, or past maxBodyFacts, body_truncated=true says
// the plugins did not see all of it (a guard that depends on the body
// should refuse then), and body_error gives a JSON syntax error.
func addBodyFacts(cb *abi.CommandBuilder, ctx *fasthttp.RequestCtx) {
	format := responseFormat(string(ctx.Request.Header.ContentType()))
	if format != records.FormatJSON && format != records.FormatNDJSON {
		return
	}
	cl := ctx.Request.Header.ContentLength()
	if cl == 0 {
		return
	}
	if enc := strings.ToLower(string(ctx.Request.Header.ContentEncoding())); cl < 0 || cl > bodyPrefetch || enc != "" && enc != "identity" {
		cb.AddFact(0, "body_truncated", "true")
		return
	}
	// Body reads the prefetched body, which fasthttp already holds whole
	// at this size; forward then sends it from memory.
	rd := records.NewReader(bytes.NewReader(ctx.Request.Body()), format, records.Options{})
	n := 0
	for i := 0; ; i++ {
		rec, err := rd.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			cb.AddFact(0, "body_error", err.Error())
			return
		}
		for _, f := range rec.Fields {
			if n++; n > maxBodyFacts {
				cb.AddFact(0, "body_truncated", "true")
				return
			}
			cb.AddFact(i, "body."+rd.Schema().Column(f.Column), string(f.Value))
		}
	}
}

// fingerprint identifies a request for approval grants: the method and
// the whole target, hashed so that no raw value reaches the approval
// record.
func fingerprint(method, target string) string {
	sum := sha256.Sum256([]byte(method + " " + target))
	return "http:" + hex.EncodeToString(sum[:16])
}

// approvalHolds remembers the pending approval request of each identity,
// target and request fingerprint, so a client that got 202 and retries
// waits on the same request instead of opening a new one.
type approvalHolds struct {
	mu  sync.Mutex
	ids map[string]*hold
}

type hold struct {
	id  string
	rec *approvalRecorder
}

func (h *approvalHolds) get(key string) *hold {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.ids[key]
}

func (h *approvalHolds) set(key string, v *hold) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if v == nil {
		delete(h.ids, key)
	} else {
		h.ids[key] = v
	}
}

// maxHolds is the number of remembered approval requests past which the
// decided ones (whose client never retried) are forgotten.
const maxHolds = 1024

// prune forgets holds whose request is no longer pending, once there are
// many: a client that never retries must not make the map grow forever.
func (h *approvalHolds) prune(apr *approvals.Manager) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.ids) <= maxHolds {
		return
	}
	for k, v := range h.ids {
		if r, err := apr.Get(v.id); err != nil || r.State != approvals.Pending {
			delete(h.ids, k)
		}
	}
}

// approvalRecorder records an approval request's events in the session of
// the client waiting for it: the one that asked or, after a 202, the one
// that retried. A decision made while no client waits (its session has
// ended) goes to a session of its own for the identity, so the decision is
// on record before a retry runs the request.
type approvalRecorder struct {
	e        *Engine
	identity string
	mu       sync.Mutex
	sess     *store.Session
}

func (r *approvalRecorder) waiting(s *store.Session) {
	r.mu.Lock()
	r.sess = s
	r.mu.Unlock()
}

func (r *approvalRecorder) Durable(kind store.Kind, data []byte) (uint64, error) {
	r.mu.Lock()
	s := r.sess
	r.mu.Unlock()
	if s != nil {
		seq, err := s.Durable(kind, data)
		if !errors.Is(err, store.ErrClosed) {
			return seq, err
		}
	}
	ns, err := r.e.o.Store.OpenSession(store.NewSession{Identity: r.identity, Target: r.e.o.Target.Name, Protocol: "http", ClientAddr: "approval"},
		mustJSON(map[string]any{"approval": true}))
	if err != nil {
		return 0, err
	}
	seq, err := ns.Durable(kind, data)
	if cerr := ns.Close("approval recorded while no client waited"); err == nil {
		err = cerr
	}
	return seq, err
}

// approve handles a REQUIRE_APPROVAL verdict: a window grant lets the
// request through; otherwise it is held (up to ApprovalWait) on a new or
// the already pending request for the same identity and fingerprint.
// It reports whether to forward; when not, it has replied. The command
// event is recorded here (with the grant that let it run, if any).
func (e *Engine) approve(ctx *fasthttp.RequestCtx, sess *store.Session, identity, target string, ev *commandEvent, verdict policy.Result) bool {
	rid := ev.RequestID
	apr := e.o.Approvals
	if apr == nil {
		if e.durable(ctx, sess, *ev) {
			reply(ctx, fasthttp.StatusForbidden, errorBody{Error: "this request needs a reviewer's approval, but approvals are not enabled on this gateway", Reason: verdict.Reason, RequestID: rid})
		}
		return false
	}
	if g, ok := apr.Granted(identity, target, ev.Fingerprint); ok {
		ev.Grant = g.Request
		return true // recorded by the caller
	}
	if !e.durable(ctx, sess, *ev) {
		return false
	}
	ev.Verdict = "" // recorded
	key := identity + "\x00" + target + "\x00" + ev.Fingerprint
	h := e.approval.get(key)
	if h != nil {
		// A retry: wait on the request the first attempt opened, if it is
		// still pending or was approved without anyone waiting.
		if r, err := apr.Get(h.id); err != nil || (r.State != approvals.Pending && r.State != approvals.Approved) {
			e.approval.set(key, nil)
			h = nil
		}
	}
	if h == nil {
		h = &hold{rec: &approvalRecorder{e: e, identity: identity, sess: sess}}
		req, err := apr.Request(e.ctx, approvals.NewRequest{
			Session: sess.ID().String(), Identity: identity, Target: target, Command: ev.Text,
			Reason: verdict.Reason, Plugin: verdict.Plugin, Fingerprint: ev.Fingerprint,
		}, h.rec)
		if err != nil {
			e.log.Error("httpgw: cannot create an approval request", "identity", identity, "request_id", rid, "err", err)
			reply(ctx, fasthttp.StatusServiceUnavailable, errorBody{Error: "this request needs a reviewer's approval, and sluice could not create the approval request", RequestID: rid})
			return false
		}
		h.id = req.ID
		e.approval.set(key, h)
		e.approval.prune(apr)
	}
	id := h.id
	h.rec.waiting(sess)
	wctx, cancel := context.WithTimeout(e.ctx, e.o.ApprovalWait)
	out, err := apr.Wait(wctx, id)
	timedOut := wctx.Err() != nil && e.ctx.Err() == nil
	cancel()
	switch {
	case err != nil && timedOut:
		retry := int((e.o.RetryAfter + time.Second - 1) / time.Second)
		reply(ctx, fasthttp.StatusAccepted, errorBody{Error: "this request is waiting for a reviewer's approval; retry it later",
			Reason: verdict.Reason, RequestID: rid, ApprovalID: id, State: string(approvals.Pending)})
		ctx.Response.Header.Set(fasthttp.HeaderRetryAfter, strconv.Itoa(retry))
		return false
	case err != nil:
		e.approval.set(key, nil)
		status := fasthttp.StatusForbidden
		msg := "approval request " + id + ": " + err.Error()
		if errors.Is(err, approvals.ErrClosed) || errors.Is(err, context.Canceled) {
			status, msg = fasthttp.StatusServiceUnavailable, "sluice is shutting down"
		}
		reply(ctx, status, errorBody{Error: msg, RequestID: rid, ApprovalID: id})
		return false
	case !out.Approved:
		e.approval.set(key, nil)
		reply(ctx, fasthttp.StatusForbidden, errorBody{Error: "approval request " + string(out.State), Reason: out.Reason, RequestID: rid, ApprovalID: id, State: string(out.State)})
		return false
	}
	e.approval.set(key, nil)
	return true
}
