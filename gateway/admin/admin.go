// Package admin serves the admin API on the admin listener (admin.listen):
// health and Prometheus metrics for monitors, and under /v1 the JSON API
// the CLI and operators use for plugins, sessions and tokens. It is the
// only way the CLI talks to a running gateway; the CLI never opens the
// gateway's data directory.
//
// Endpoints (/v1 needs "Authorization: Bearer <token>" of an identity with
// the admin role; failures are 401 with WWW-Authenticate, or 403):
//
//	GET    /healthz                       200 "ok" while the gateway serves (open)
//	GET    /metrics                       Prometheus text format (open)
//	GET    /v1/whoami                     the caller's identity and roles (any identity)
//	GET    /v1/plugins                    plugin statuses: file hash, generation, last reload and error
//	POST   /v1/plugins/{name}/reload      reload one plugin from its file now
//	GET    /v1/sessions                   ?identity= &target= &protocol= &since=RFC3339 &limit=N (newest first)
//	GET    /v1/sessions/{id}              one session record
//	GET    /v1/sessions/{id}/events       its events as JSON lines (?from=SEQ)
//	GET    /v1/sessions/{id}/verify       the hash chain check
//	GET    /v1/tokens                     issued tokens (hashes only)
//	POST   /v1/tokens                     {"identity","ttl","note"} -> the new token, shown once
//	DELETE /v1/tokens/{hash}              revoke a token
//	/v1/approvals...                      see approvals.go (reviewers and admins)
//
// Every /v1 request, allowed or not, is recorded as an admin action in the
// store. Errors are JSON: {"error": "..."}. A Server is safe for concurrent
// use.
package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/sluicegw/sluice/gateway/approvals"
	"github.com/sluicegw/sluice/gateway/auth"
	"github.com/sluicegw/sluice/gateway/config"
	"github.com/sluicegw/sluice/gateway/pluginhost"
	"github.com/sluicegw/sluice/gateway/store"
	"github.com/sluicegw/sluice/gateway/telemetry"
)

// Options are what the admin API serves.
type Options struct {
	Host    *pluginhost.Host
	Metrics *telemetry.Metrics
	Store   *store.Store // nil: no session or token endpoints (503)
	Auth    *auth.Authenticator
	// Approvals serves /v1/approvals; nil: 503 there.
	Approvals *approvals.Manager
	Logger    *slog.Logger
	// MaxTokenTTL bounds POST /v1/tokens (default 90 days).
	MaxTokenTTL time.Duration
	// Extra mounts more /v1 routes (approvals): pattern -> handler with
	// the authenticated identity.
	Extra map[string]Handler
}

// Handler is an authenticated /v1 handler.
type Handler func(w http.ResponseWriter, r *http.Request, who config.Identity)

type server struct{ Options }

// New returns the admin API handler.
func New(o Options) http.Handler {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.MaxTokenTTL <= 0 {
		o.MaxTokenTTL = 90 * 24 * time.Hour
	}
	s := &server{o}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok\n"))
	})
	mux.Handle("GET /metrics", o.Metrics.Handler())
	mux.Handle("GET /v1/whoami", s.authed("", s.whoami))
	mux.Handle("GET /v1/plugins", s.authed(config.RoleAdmin, s.plugins))
	mux.Handle("POST /v1/plugins/{name}/reload", s.authed(config.RoleAdmin, s.reload))
	mux.Handle("GET /v1/sessions", s.authed(config.RoleAdmin, s.sessions))
	mux.Handle("GET /v1/sessions/{id}", s.authed(config.RoleAdmin, s.session))
	mux.Handle("GET /v1/sessions/{id}/events", s.authed(config.RoleAdmin, s.events))
	mux.Handle("GET /v1/sessions/{id}/verify", s.authed(config.RoleAdmin, s.verify))
	mux.Handle("GET /v1/tokens", s.authed(config.RoleAdmin, s.tokens))
	mux.Handle("POST /v1/tokens", s.authed(config.RoleAdmin, s.createToken))
	mux.Handle("DELETE /v1/tokens/{hash}", s.authed(config.RoleAdmin, s.revokeToken))
	s.mountApprovals(mux)
	for pattern, h := range o.Extra {
		mux.Handle(pattern, s.authed("", h))
	}
	mux.HandleFunc("/v1/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such endpoint: %s %s", r.Method, r.URL.Path)
	})
	return mux
}

// statusWriter remembers the status for the admin action record.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// authed wraps h with bearer authentication, a role check (none: any
// identity; the handler checks) and the admin action record.
func (s *server) authed(role config.Role, h Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		var who string
		defer func() { s.record(r, who, sw.code) }()
		tok, ok := auth.Bearer(r.Header.Get("Authorization"))
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="sluice-admin"`)
			writeError(sw, http.StatusUnauthorized, "a bearer token is required (--token or SLUICE_TOKEN)")
			return
		}
		res, err := s.Auth.Token(tok)
		if err != nil {
			s.Logger.Warn("admin API: authentication failed", "remote", r.RemoteAddr, "path", r.URL.Path, "err", err)
			w.Header().Set("WWW-Authenticate", `Bearer realm="sluice-admin", error="invalid_token"`)
			writeError(sw, http.StatusUnauthorized, "%v", auth.ErrDenied)
			return
		}
		who = res.Identity.Name
		if role != "" && !res.Identity.HasRole(role) {
			writeError(sw, http.StatusForbidden, "%s does not have the %s role", who, role)
			return
		}
		h(sw, r, res.Identity)
	})
}

// record keeps every /v1 request as an admin action.
func (s *server) record(r *http.Request, who string, code int) {
	if s.Store == nil {
		return
	}
	detail, _ := json.Marshal(map[string]any{"status": code, "remote": r.RemoteAddr})
	if err := s.Store.RecordAdmin(store.AdminAction{
		Identity: who, Action: r.Method + " " + r.URL.Path, Detail: detail,
	}); err != nil {
		s.Logger.Error("admin API: recording an admin action failed", "err", err)
	}
}

func (s *server) whoami(w http.ResponseWriter, r *http.Request, who config.Identity) {
	roles := who.Roles
	if roles == nil {
		roles = []config.Role{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"identity": who.Name, "kind": who.Kind, "roles": roles})
}

func (s *server) plugins(w http.ResponseWriter, r *http.Request, _ config.Identity) {
	writeJSON(w, http.StatusOK, s.Host.Statuses())
}

func (s *server) reload(w http.ResponseWriter, r *http.Request, _ config.Identity) {
	name := r.PathValue("name")
	p, ok := s.Host.Plugin(name)
	if !ok {
		writeError(w, http.StatusNotFound, "plugin %s is not loaded", name)
		return
	}
	if err := s.Host.Reload(r.Context(), name); err != nil {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"error": err.Error(), "serving": p.Status()})
		return
	}
	writeJSON(w, http.StatusOK, p.Status())
}

func (s *server) needStore(w http.ResponseWriter) bool {
	if s.Store == nil {
		writeError(w, http.StatusServiceUnavailable, "this gateway runs without a session store")
		return false
	}
	return true
}

func (s *server) sessionID(w http.ResponseWriter, r *http.Request) (store.ID, bool) {
	id, err := store.ParseID(r.PathValue("id"))
	if err != nil {
		writeError(w, http.StatusBadRequest, "%v", err)
		return id, false
	}
	return id, true
}

func (s *server) sessions(w http.ResponseWriter, r *http.Request, _ config.Identity) {
	if !s.needStore(w) {
		return
	}
	q := r.URL.Query()
	f := store.Filter{Identity: q.Get("identity"), Target: q.Get("target"), Protocol: q.Get("protocol")}
	if v := q.Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			writeError(w, http.StatusBadRequest, "since: %q is not an RFC 3339 time", v)
			return
		}
		f.Since = t
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, "limit: %q is not a count", v)
			return
		}
		f.Limit = n
	}
	list, err := s.Store.Sessions(f)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "%v", err)
		return
	}
	if list == nil {
		list = []store.SessionInfo{}
	}
	writeJSON(w, http.StatusOK, list)
}

func (s *server) session(w http.ResponseWriter, r *http.Request, _ config.Identity) {
	id, ok := s.sessionID(w, r)
	if !ok || !s.needStore(w) {
		return
	}
	info, err := s.Store.Session(id)
	if err != nil {
		writeStoreError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, info)
}

// EventJSON is an event as the API shows it.
type EventJSON struct {
	Seq  uint64          `json:"seq"`
	Time time.Time       `json:"time"`
	Kind string          `json:"kind"`
	Data json.RawMessage `json:"data"`
	Hash string          `json:"hash"`
}

func (s *server) events(w http.ResponseWriter, r *http.Request, _ config.Identity) {
	id, ok := s.sessionID(w, r)
	if !ok || !s.needStore(w) {
		return
	}
	var from uint64 = 1
	if v := r.URL.Query().Get("from"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			writeError(w, http.StatusBadRequest, "from: %q is not a sequence number", v)
			return
		}
		from = n
	}
	if _, err := s.Store.Session(id); err != nil {
		writeStoreError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	enc := json.NewEncoder(w)
	err := s.Store.Events(id, from, func(e store.Event) error {
		data := json.RawMessage(e.Data)
		if !json.Valid(data) {
			data, _ = json.Marshal(string(e.Data))
		}
		return enc.Encode(EventJSON{Seq: e.Seq, Time: e.Time, Kind: string(e.Kind), Data: data, Hash: e.HashHex()})
	})
	if err != nil {
		// Headers are gone: end the stream with an error line.
		enc.Encode(map[string]string{"error": err.Error()})
	}
}

func (s *server) verify(w http.ResponseWriter, r *http.Request, _ config.Identity) {
	id, ok := s.sessionID(w, r)
	if !ok || !s.needStore(w) {
		return
	}
	v, err := s.Store.Verify(id)
	if err != nil {
		writeStoreError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *server) tokens(w http.ResponseWriter, r *http.Request, _ config.Identity) {
	if !s.needStore(w) {
		return
	}
	list, err := s.Store.Tokens()
	if err != nil {
		writeError(w, http.StatusInternalServerError, "%v", err)
		return
	}
	if list == nil {
		list = []store.Token{}
	}
	for i := range list {
		list[i].Scram = "" // a verifier is as sensitive as a hash and of no use to a reader
	}
	writeJSON(w, http.StatusOK, list)
}

// NewToken is the body of POST /v1/tokens.
type NewToken struct {
	Identity string `json:"identity"`
	TTL      string `json:"ttl"` // Go duration; "" or "0": the maximum
	Note     string `json:"note"`
}

// IssuedToken is the answer: the secret is shown this once.
type IssuedToken struct {
	Secret string `json:"token"`
	store.Token
}

func (s *server) createToken(w http.ResponseWriter, r *http.Request, who config.Identity) {
	if !s.needStore(w) {
		return
	}
	var req NewToken
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "body: %v", err)
		return
	}
	if _, ok := s.Auth.Config().Identity(req.Identity); !ok {
		writeError(w, http.StatusBadRequest, "identity %q is not in the config", req.Identity)
		return
	}
	ttl := s.MaxTokenTTL
	if req.TTL != "" && req.TTL != "0" {
		d, err := time.ParseDuration(req.TTL)
		if err != nil || d <= 0 {
			writeError(w, http.StatusBadRequest, "ttl: %q is not a positive duration (24h, 30m)", req.TTL)
			return
		}
		if d > s.MaxTokenTTL {
			writeError(w, http.StatusBadRequest, "ttl: %s is longer than the maximum %s", d, s.MaxTokenTTL)
			return
		}
		ttl = d
	}
	secret, hash := auth.NewToken()
	h, _ := auth.ParseHash(hash)
	now := time.Now().UTC()
	tok := auth.NewStoreToken(req.Identity, secret, now, now.Add(ttl), req.Note)
	if err := s.Store.PutToken(h, tok); err != nil {
		writeError(w, http.StatusInternalServerError, "%v", err)
		return
	}
	tok.Scram = ""
	s.Logger.Info("token issued", "identity", req.Identity, "hash", hash, "expires", tok.Expires, "by", who.Name)
	writeJSON(w, http.StatusCreated, IssuedToken{Secret: secret, Token: tok})
}

func (s *server) revokeToken(w http.ResponseWriter, r *http.Request, who config.Identity) {
	if !s.needStore(w) {
		return
	}
	h, err := auth.ParseHash(r.PathValue("hash"))
	if err != nil {
		writeError(w, http.StatusBadRequest, "%v", err)
		return
	}
	tok, err := s.Store.TokenByHash(h)
	if err != nil {
		writeStoreError(w, err)
		return
	}
	if tok.Revoked.IsZero() {
		tok.Revoked = time.Now().UTC()
		if err := s.Store.PutToken(h, tok); err != nil {
			writeError(w, http.StatusInternalServerError, "%v", err)
			return
		}
		s.Logger.Info("token revoked", "identity", tok.Identity, "hash", tok.Hash, "by", who.Name)
	}
	tok.Scram = ""
	writeJSON(w, http.StatusOK, tok)
}

func writeStoreError(w http.ResponseWriter, err error) {
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "%v", err)
		return
	}
	writeError(w, http.StatusInternalServerError, "%v", err)
}

// WriteJSON writes v as indented JSON with the status code.
func WriteJSON(w http.ResponseWriter, code int, v any) { writeJSON(w, code, v) }

// WriteError writes {"error": ...} with the status code.
func WriteError(w http.ResponseWriter, code int, format string, args ...any) {
	writeError(w, code, format, args...)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func writeError(w http.ResponseWriter, code int, format string, args ...any) {
	writeJSON(w, code, map[string]string{"error": fmt.Sprintf(format, args...)})
}
