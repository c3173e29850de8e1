package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/sluicegw/sluice/gateway/approvals"
	"github.com/sluicegw/sluice/gateway/config"
)

// Approval endpoints (identities with the reviewer or admin role; only
// human reviewers may decide, and never on their own requests):
//
//	GET  /v1/approvals                 ?state=pending|approved|denied|expired &identity= &target= &limit=
//	GET  /v1/approvals/{id}            one request
//	POST /v1/approvals/{id}/approve    {"reason": "...", "grant": "once" | "15m"}
//	POST /v1/approvals/{id}/deny       {"reason": "..."}
//	GET  /v1/approvals/watch           ?since=SEQ: a long poll (up to ?wait=30s) answering
//	                                   {"seq": N, "events": [...]}; with
//	                                   "Accept: text/event-stream", server-sent events
func (s *server) mountApprovals(mux *http.ServeMux) {
	mux.Handle("GET /v1/approvals", s.authed("", s.reviewerOnly(s.listApprovals)))
	mux.Handle("GET /v1/approvals/watch", s.authed("", s.reviewerOnly(s.watchApprovals)))
	mux.Handle("GET /v1/approvals/{id}", s.authed("", s.reviewerOnly(s.getApproval)))
	mux.Handle("POST /v1/approvals/{id}/approve", s.authed("", s.reviewerOnly(s.decide(true))))
	mux.Handle("POST /v1/approvals/{id}/deny", s.authed("", s.reviewerOnly(s.decide(false))))
}

// reviewerOnly lets reviewers and admins see requests (deciding checks
// more: see approvals.Reviewer).
func (s *server) reviewerOnly(h Handler) Handler {
	return func(w http.ResponseWriter, r *http.Request, who config.Identity) {
		if !who.HasRole(config.RoleReviewer) && !who.HasRole(config.RoleAdmin) {
			writeError(w, http.StatusForbidden, "%s has neither the reviewer nor the admin role", who.Name)
			return
		}
		if s.Approvals == nil {
			writeError(w, http.StatusServiceUnavailable, "this gateway runs without approvals")
			return
		}
		h(w, r, who)
	}
}

func (s *server) listApprovals(w http.ResponseWriter, r *http.Request, _ config.Identity) {
	q := r.URL.Query()
	f := approvals.Filter{State: approvals.State(q.Get("state")), Identity: q.Get("identity"), Target: q.Get("target")}
	switch f.State {
	case "", approvals.Pending, approvals.Approved, approvals.Denied, approvals.Expired:
	default:
		writeError(w, http.StatusBadRequest, "state: %q is not pending, approved, denied or expired", f.State)
		return
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, "limit: %q is not a count", v)
			return
		}
		f.Limit = n
	}
	list, err := s.Approvals.List(f)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "%v", err)
		return
	}
	if list == nil {
		list = []*approvals.Request{}
	}
	writeJSON(w, http.StatusOK, list)
}

func (s *server) getApproval(w http.ResponseWriter, r *http.Request, _ config.Identity) {
	req, err := s.Approvals.Get(r.PathValue("id"))
	if err != nil {
		writeApprovalError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, req)
}

// Decision is the body of approve and deny.
type Decision struct {
	Reason string `json:"reason"`
	// Grant (approve only): "once" (default) approves the held command;
	// a duration approves the identity for the same statement on the
	// same target for that long (at most approvals.max_grant).
	Grant string `json:"grant,omitempty"`
}

func (s *server) decide(approve bool) Handler {
	return func(w http.ResponseWriter, r *http.Request, who config.Identity) {
		var d Decision
		if r.ContentLength != 0 {
			dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&d); err != nil {
				writeError(w, http.StatusBadRequest, "body: %v", err)
				return
			}
		}
		reviewer := approvals.Reviewer{Name: who.Name, Human: who.Kind == config.KindHuman}
		for _, role := range who.Roles {
			reviewer.Roles = append(reviewer.Roles, string(role))
		}
		var req *approvals.Request
		var err error
		if approve {
			var spec approvals.GrantSpec
			if d.Grant != "" && d.Grant != "once" {
				win, perr := time.ParseDuration(d.Grant)
				if perr != nil || win <= 0 {
					writeError(w, http.StatusBadRequest, "grant: %q is neither \"once\" nor a positive duration (15m)", d.Grant)
					return
				}
				spec.Window = win
			}
			req, err = s.Approvals.Approve(r.PathValue("id"), reviewer, d.Reason, spec)
		} else {
			if d.Grant != "" {
				writeError(w, http.StatusBadRequest, "grant: only an approval grants")
				return
			}
			req, err = s.Approvals.Deny(r.PathValue("id"), reviewer, d.Reason)
		}
		if err != nil {
			writeApprovalError(w, err)
			return
		}
		s.Logger.Info("approval decision", "request", req.ID, "approve", approve, "reviewer", who.Name, "state", req.State)
		writeJSON(w, http.StatusOK, req)
	}
}

// WatchAnswer is a long poll's answer.
type WatchAnswer struct {
	Seq    uint64            `json:"seq"` // pass it as ?since= next time
	Events []approvals.Event `json:"events"`
}

func (s *server) watchApprovals(w http.ResponseWriter, r *http.Request, _ config.Identity) {
	q := r.URL.Query()
	since := s.Approvals.Seq()
	if v := q.Get("since"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			writeError(w, http.StatusBadRequest, "since: %q is not a sequence number", v)
			return
		}
		since = n
	}
	if r.Header.Get("Accept") == "text/event-stream" {
		s.streamApprovals(w, r, since)
		return
	}
	wait := 30 * time.Second
	if v := q.Get("wait"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 || d > 5*time.Minute {
			writeError(w, http.StatusBadRequest, "wait: %q is not a duration up to 5m", v)
			return
		}
		wait = d
	}
	ctx, cancel := context.WithTimeout(r.Context(), wait)
	defer cancel()
	evs, err := s.Approvals.Changes(ctx, since)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		writeJSON(w, http.StatusOK, WatchAnswer{Seq: since, Events: []approvals.Event{}})
	case errors.Is(err, approvals.ErrMissed):
		writeError(w, http.StatusGone, "events after %d are no longer kept: list again and watch from seq %d", since, s.Approvals.Seq())
	case err != nil:
		writeApprovalError(w, err)
	default:
		writeJSON(w, http.StatusOK, WatchAnswer{Seq: evs[len(evs)-1].Seq, Events: evs})
	}
}

// streamApprovals sends server-sent events ("event: TYPE", "id: SEQ",
// "data: JSON") until the client goes away.
func (s *server) streamApprovals(w http.ResponseWriter, r *http.Request, since uint64) {
	fl, ok := w.(http.Flusher)
	if !ok {
		writeError(w, http.StatusInternalServerError, "streaming is not supported here")
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	fmt.Fprintf(w, ": watching approvals after seq %d\n\n", since)
	fl.Flush()
	for {
		ctx, cancel := context.WithTimeout(r.Context(), 15*time.Second)
		evs, err := s.Approvals.Changes(ctx, since)
		cancel()
		switch {
		case errors.Is(err, context.DeadlineExceeded) && r.Context().Err() == nil:
			fmt.Fprint(w, ": keepalive\n\n") // proxies close idle streams
			fl.Flush()
			continue
		case err != nil:
			if errors.Is(err, approvals.ErrMissed) {
				fmt.Fprintf(w, "event: missed\ndata: {\"seq\": %d}\n\n", s.Approvals.Seq())
				fl.Flush()
			}
			return
		}
		for _, ev := range evs {
			b, _ := json.Marshal(ev)
			fmt.Fprintf(w, "event: %s\nid: %d\ndata: %s\n\n", ev.Type, ev.Seq, b)
			since = ev.Seq
		}
		fl.Flush()
	}
}

func writeApprovalError(w http.ResponseWriter, err error) {
	code := http.StatusInternalServerError
	switch {
	case errors.Is(err, approvals.ErrNotFound):
		code = http.StatusNotFound
	case errors.Is(err, approvals.ErrNotReviewer), errors.Is(err, approvals.ErrSelfApproval):
		code = http.StatusForbidden
	case errors.Is(err, approvals.ErrAlreadyDecided), errors.Is(err, approvals.ErrExpired), errors.Is(err, approvals.ErrAlreadyVoted):
		code = http.StatusConflict
	case errors.Is(err, approvals.ErrGrant):
		code = http.StatusBadRequest
	case errors.Is(err, approvals.ErrClosed):
		code = http.StatusServiceUnavailable
	}
	writeError(w, code, "%v", err)
}
