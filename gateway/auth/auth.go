// Package auth turns a presented secret into a sluice identity. Every
// engine (PostgreSQL password, HTTP bearer, SSH password) and the admin API
// call Token; they all refuse the same way, so a client cannot tell an
// unknown identity from a bad or expired token (no oracle).
//
// Tokens come from two places: static hashes in the config
// (identities[].token_hashes) and tokens issued by `sluice token create`,
// kept in the store with an expiry and a revocation time. Only SHA-256
// hashes are kept anywhere. An Authenticator is safe for concurrent use.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sluicegw/sluice/gateway/config"
	"github.com/sluicegw/sluice/gateway/store"
)

// ErrDenied is the one error a caller shows a client whose credentials do
// not name a usable identity, whatever the reason (logged separately).
var ErrDenied = errors.New("authentication failed")

// TokenPrefix starts every token sluice issues, so secret scanners (and
// secret-mask) can recognise one.
const TokenPrefix = "slc_"

// Authenticator checks tokens against the running config and the store.
type Authenticator struct {
	// Config returns the running config snapshot (it may change on
	// reload).
	Config func() *config.Config
	// Store holds issued tokens; nil: only config hashes count.
	Store *store.Store
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Extra are identities that exist outside the config file (the
	// bootstrap admin), with their hashes.
	Extra []config.Identity
}

// Result says who authenticated and, for logs, why a refusal happened.
type Result struct {
	Identity config.Identity
	// Source is "config" or "issued".
	Source string
}

// Token authenticates a bearer secret. The error is ErrDenied wrapped with
// the reason for the log; show clients only ErrDenied.
func (a *Authenticator) Token(secret string) (Result, error) {
	if secret == "" {
		return Result{}, fmt.Errorf("%w: no token", ErrDenied)
	}
	sum := sha256.Sum256([]byte(secret))
	want := "sha256:" + hex.EncodeToString(sum[:])
	cfg := a.Config()
	// Static hashes: compare with every one in constant time, so the time
	// taken says nothing about which, or whether any, matched.
	var found *config.Identity
	ids := append(cfg.Identities(), a.Extra...)
	for i := range ids {
		for _, h := range ids[i].TokenHashes {
			if subtle.ConstantTimeCompare([]byte(h), []byte(want)) == 1 {
				found = &ids[i]
			}
		}
	}
	if found != nil {
		return Result{Identity: *found, Source: "config"}, nil
	}
	if a.Store == nil {
		return Result{}, fmt.Errorf("%w: unknown token", ErrDenied)
	}
	tok, err := a.Store.LookupToken(secret)
	if errors.Is(err, store.ErrNotFound) {
		return Result{}, fmt.Errorf("%w: unknown token", ErrDenied)
	}
	if err != nil {
		return Result{}, fmt.Errorf("%w: token store: %v", ErrDenied, err)
	}
	now := time.Now()
	if a.Now != nil {
		now = a.Now()
	}
	if !tok.Revoked.IsZero() {
		return Result{}, fmt.Errorf("%w: token of %s revoked at %s", ErrDenied, tok.Identity, tok.Revoked.Format(time.RFC3339))
	}
	if !tok.Valid(now) {
		return Result{}, fmt.Errorf("%w: token of %s expired at %s", ErrDenied, tok.Identity, tok.Expires.Format(time.RFC3339))
	}
	id, ok := cfg.Identity(tok.Identity)
	if !ok {
		for _, e := range a.Extra {
			if e.Name == tok.Identity {
				id, ok = e, true
			}
		}
	}
	if !ok {
		return Result{}, fmt.Errorf("%w: token of %s, an identity no longer in the config", ErrDenied, tok.Identity)
	}
	return Result{Identity: id, Source: "issued"}, nil
}

// NewToken returns a fresh random token and its stored hash form.
func NewToken() (secret, hash string) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	secret = TokenPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	return secret, HashString(secret)
}

// HashString is the "sha256:<hex>" form of a token, as the config and the
// store keep it.
func HashString(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// ParseHash parses the "sha256:<hex>" form.
func ParseHash(s string) ([32]byte, error) {
	var h [32]byte
	hexPart, ok := strings.CutPrefix(s, "sha256:")
	b, err := hex.DecodeString(hexPart)
	if !ok || err != nil || len(b) != 32 {
		return h, fmt.Errorf("%q is not a token hash (sha256:<64 hex digits>)", s)
	}
	copy(h[:], b)
	return h, nil
}

// Bearer extracts the token of an "Authorization: Bearer ..." header.
func Bearer(header string) (string, bool) {
	scheme, tok, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}
