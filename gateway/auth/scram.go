package auth

import (
	"bytes"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sluicegw/sluice/gateway/store"
)

// ScramMechanism is the one SASL mechanism sluice offers PostgreSQL
// clients (RFC 7677). Channel binding (-PLUS) is not offered.
const ScramMechanism = "SCRAM-SHA-256"

// ScramIterations is the PBKDF2 iteration count of the verifiers sluice
// makes, PostgreSQL's default.
const ScramIterations = 4096

// scramSalt is the salt of every verifier of one identity. SCRAM sends
// the salt before the client proves anything, and an identity may hold
// several tokens: with one salt per identity the server can check the
// proof against each of its verifiers. It is derived from the name, so an
// unknown identity gets a salt as plausible as a real one (no oracle).
// Salts are not secrets; per identity they still defeat tables shared
// across identities, and tokens are 256-bit random anyway.
func scramSalt(identity string) []byte {
	sum := sha256.Sum256([]byte("sluice scram salt\x00" + identity))
	return sum[:16]
}

// ScramVerifier is the SCRAM-SHA-256 verifier of a token for an identity,
// in PostgreSQL's format: SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>.
// The store keeps it with the token's hash; the token itself is never kept.
func ScramVerifier(identity, secret string) string {
	salt := scramSalt(identity)
	stored, server := scramKeys(secret, salt, ScramIterations)
	b64 := base64.StdEncoding.EncodeToString
	return fmt.Sprintf("%s$%d:%s$%s:%s", ScramMechanism, ScramIterations, b64(salt), b64(stored[:]), b64(server[:]))
}

func scramKeys(secret string, salt []byte, iter int) (stored, server [32]byte) {
	// Tokens are ASCII, so SASLprep leaves them unchanged.
	salted, err := pbkdf2.Key(sha256.New, secret, salt, iter, 32)
	if err != nil {
		panic(err) // only for invalid parameters, which these are not
	}
	clientKey := hmacSum(salted, "Client Key")
	stored = sha256.Sum256(clientKey[:])
	server = hmacSum(salted, "Server Key")
	return stored, server
}

func hmacSum(key []byte, msg string) (out [32]byte) {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	copy(out[:], m.Sum(nil))
	return out
}

type verifier struct {
	iter           int
	salt           []byte
	stored, server [32]byte
}

func parseVerifier(s string) (verifier, error) {
	var v verifier
	rest, ok := strings.CutPrefix(s, ScramMechanism+"$")
	params, keys, ok2 := strings.Cut(rest, "$")
	iterS, saltS, ok3 := strings.Cut(params, ":")
	storedS, serverS, ok4 := strings.Cut(keys, ":")
	if !ok || !ok2 || !ok3 || !ok4 {
		return v, errors.New("not a SCRAM-SHA-256 verifier")
	}
	var err error
	if v.iter, err = strconv.Atoi(iterS); err != nil || v.iter < 1 {
		return v, errors.New("bad iteration count")
	}
	if v.salt, err = base64.StdEncoding.DecodeString(saltS); err != nil {
		return v, err
	}
	st, err1 := base64.StdEncoding.DecodeString(storedS)
	sv, err2 := base64.StdEncoding.DecodeString(serverS)
	if err1 != nil || err2 != nil || len(st) != 32 || len(sv) != 32 {
		return v, errors.New("bad keys")
	}
	copy(v.stored[:], st)
	copy(v.server[:], sv)
	return v, nil
}

// Scram is one server side of a SCRAM-SHA-256 exchange for the identity a
// client named in its startup packet. Use First, then Final.
type Scram struct {
	a        *Authenticator
	identity string

	gs2Header   string
	clientFirst string // client-first-message-bare
	serverFirst string
	nonce       string
}

// Scram starts a SCRAM-SHA-256 exchange for identity.
func (a *Authenticator) Scram(identity string) *Scram {
	return &Scram{a: a, identity: identity}
}

// First takes the client-first-message and returns the
// server-first-message. An error means a malformed message; the caller
// refuses the client with the generic authentication error.
func (s *Scram) First(msg []byte) ([]byte, error) {
	m := string(msg)
	// gs2-header: "n" or "y" (no channel binding), optional authzid.
	cb, rest, ok := strings.Cut(m, ",")
	if !ok || cb != "n" && cb != "y" {
		return nil, errors.New("scram: channel binding is not offered (use SCRAM-SHA-256, not -PLUS)")
	}
	authz, bare, ok := strings.Cut(rest, ",")
	if !ok || authz != "" && !strings.HasPrefix(authz, "a=") {
		return nil, errors.New("scram: malformed gs2 header")
	}
	if strings.HasPrefix(bare, "m=") {
		return nil, errors.New("scram: unsupported extension")
	}
	// client-first-message-bare: n=<user>,r=<nonce>[,ext]. PostgreSQL
	// clients leave n empty: the user is the startup packet's.
	attrs := strings.Split(bare, ",")
	if len(attrs) < 2 || !strings.HasPrefix(attrs[0], "n=") || !strings.HasPrefix(attrs[1], "r=") || len(attrs[1]) < 3 {
		return nil, errors.New("scram: malformed client-first-message")
	}
	cnonce := attrs[1][2:]
	if strings.ContainsAny(cnonce, ", ") {
		return nil, errors.New("scram: malformed client nonce")
	}
	var b [18]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	s.gs2Header = cb + "," + authz + ","
	s.clientFirst = bare
	s.nonce = cnonce + base64.RawStdEncoding.EncodeToString(b[:])
	s.serverFirst = "r=" + s.nonce + ",s=" + base64.StdEncoding.EncodeToString(scramSalt(s.identity)) + ",i=" + strconv.Itoa(ScramIterations)
	return []byte(s.serverFirst), nil
}

// Final takes the client-final-message, checks the proof against every
// verifier the identity holds, and returns the server-final-message and
// the identity. Its errors wrap ErrDenied, with the reason for the log.
func (s *Scram) Final(msg []byte) ([]byte, Result, error) {
	m := string(msg)
	withoutProof, proofAttr, ok := strings.Cut(m, ",p=")
	if !ok || s.serverFirst == "" {
		return nil, Result{}, fmt.Errorf("%w: scram: malformed client-final-message", ErrDenied)
	}
	attrs := strings.Split(withoutProof, ",")
	if len(attrs) < 2 || attrs[0] != "c="+base64.StdEncoding.EncodeToString([]byte(s.gs2Header)) {
		return nil, Result{}, fmt.Errorf("%w: scram: channel binding mismatch", ErrDenied)
	}
	if attrs[1] != "r="+s.nonce {
		return nil, Result{}, fmt.Errorf("%w: scram: nonce mismatch", ErrDenied)
	}
	proof, err := base64.StdEncoding.DecodeString(proofAttr)
	if err != nil || len(proof) != 32 {
		return nil, Result{}, fmt.Errorf("%w: scram: malformed proof", ErrDenied)
	}
	authMessage := s.clientFirst + "," + s.serverFirst + "," + withoutProof
	cands, err := s.a.scramCandidates(s.identity)
	if err != nil {
		return nil, Result{}, err
	}
	// Check every verifier (constant time each, no early exit), so the
	// time says nothing about which token, or whether any, matched.
	var match *scramCandidate
	salt := scramSalt(s.identity) // the salt First sent
	for i := range cands {
		c := &cands[i]
		sig := hmacSum(c.v.stored[:], authMessage)
		var clientKey [32]byte
		for j := range clientKey {
			clientKey[j] = proof[j] ^ sig[j]
		}
		got := sha256.Sum256(clientKey[:])
		if subtle.ConstantTimeCompare(got[:], c.v.stored[:]) == 1 && c.v.iter == ScramIterations && bytes.Equal(c.v.salt, salt) {
			match = c
		}
	}
	if match == nil {
		return nil, Result{}, fmt.Errorf("%w: scram: no token of %s matches the proof", ErrDenied, s.identity)
	}
	if match.reason != "" {
		return nil, Result{}, fmt.Errorf("%w: %s", ErrDenied, match.reason)
	}
	sig := hmacSum(match.v.server[:], authMessage)
	return []byte("v=" + base64.StdEncoding.EncodeToString(sig[:])), match.res, nil
}

type scramCandidate struct {
	v      verifier
	res    Result
	reason string // why this token, though it matches, is refused
}

// scramCandidates are the verifiers of the identity's issued tokens,
// revoked and expired ones included (a match on one is refused with the
// reason, as Token does).
func (a *Authenticator) scramCandidates(identity string) ([]scramCandidate, error) {
	if a.Store == nil {
		return nil, nil
	}
	cfg := a.Config()
	id, ok := cfg.Identity(identity)
	if !ok {
		for _, e := range a.Extra {
			if e.Name == identity {
				id, ok = e, true
			}
		}
	}
	toks, err := a.Store.Tokens()
	if err != nil {
		return nil, fmt.Errorf("%w: token store: %v", ErrDenied, err)
	}
	now := time.Now()
	if a.Now != nil {
		now = a.Now()
	}
	var out []scramCandidate
	for _, t := range toks {
		if t.Identity != identity || t.Scram == "" {
			continue
		}
		v, err := parseVerifier(t.Scram)
		if err != nil {
			continue
		}
		c := scramCandidate{v: v, res: Result{Identity: id, Source: "issued"}}
		switch {
		case !ok:
			c.reason = fmt.Sprintf("token of %s, an identity no longer in the config", identity)
		case !t.Revoked.IsZero():
			c.reason = fmt.Sprintf("token of %s revoked at %s", identity, t.Revoked.Format(time.RFC3339))
		case !t.Valid(now):
			c.reason = fmt.Sprintf("token of %s expired at %s", identity, t.Expires.Format(time.RFC3339))
		}
		out = append(out, c)
	}
	return out, nil
}

// NewStoreToken makes the record of a freshly issued token for the store:
// its hash and its SCRAM verifier.
func NewStoreToken(identity, secret string, created, expires time.Time, note string) store.Token {
	return store.Token{Hash: HashString(secret), Scram: ScramVerifier(identity, secret), Identity: identity,
		Created: created, Expires: expires, Note: note}
}
