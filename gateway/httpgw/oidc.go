package httpgw

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/sluicegw/sluice/gateway/auth"
)

// OIDC defaults.
const (
	// DefaultOIDCLeeway is the clock skew allowed on exp, nbf and iat
	// (RFC 7519 §4.1.4 leaves it to the verifier; 60s is common).
	DefaultOIDCLeeway = 60 * time.Second
	// maxJWKSBytes caps a fetched or read JWKS.
	maxJWKSBytes = 1 << 20
)

// jwksRefreshMin is the shortest interval between two fetches of a JWKS
// URL, so tokens with made-up key IDs cannot make sluice hammer the issuer.
// A variable for tests.
var jwksRefreshMin = 30 * time.Second

// allowedAlgorithms are the signature algorithms an issuer may use: the
// asymmetric RS, ES and PS families. Never "none", never HMAC (a verifier
// that accepts HS256 can be fed a token "signed" with the public key).
var allowedAlgorithms = map[string]jose.SignatureAlgorithm{
	"RS256": jose.RS256, "RS384": jose.RS384, "RS512": jose.RS512,
	"ES256": jose.ES256, "ES384": jose.ES384, "ES512": jose.ES512,
	"PS256": jose.PS256, "PS384": jose.PS384, "PS512": jose.PS512,
}

// OIDCIssuer is one trusted issuer of ID tokens (a GitHub Actions OIDC
// token, a Kubernetes service account token, ...).
type OIDCIssuer struct {
	// Issuer must equal the token's iss exactly.
	Issuer string
	// Audience must be among the token's aud. Required: a token minted
	// for another service must not work here.
	Audience string
	// JWKSFile (offline) or JWKSURL (fetched, cached, fetched again when a
	// token names an unknown key ID, at most every 30s) holds the
	// issuer's public keys. Exactly one.
	JWKSFile, JWKSURL string
	// Algorithms allowed (default RS256 and ES256); from the RS, ES and
	// PS families only.
	Algorithms []string
	// Leeway on exp, nbf and iat (default DefaultOIDCLeeway).
	Leeway time.Duration
	// Rules map claims to an identity; the first rule whose claims all
	// match decides. No match: refused.
	Rules []OIDCRule
	// Client fetches JWKSURL (default: a client with a 10s timeout).
	Client *http.Client
}

// OIDCRule maps tokens whose claims match to an identity.
type OIDCRule struct {
	// Claims: claim name -> pattern. A pattern is compared with the
	// claim's string value (numbers and booleans in their JSON form); "*"
	// matches any run of characters, "/" included. Every listed claim
	// must be present and match.
	Claims map[string]string
	// Identity is the name of a config identity.
	Identity string
}

// oidcVerifier checks ID tokens against the trusted issuers.
type oidcVerifier struct {
	issuers map[string]*issuerState
	now     func() time.Time
}

type issuerState struct {
	cfg  OIDCIssuer
	algs []jose.SignatureAlgorithm

	mu      sync.Mutex
	keys    jose.JSONWebKeySet
	fetched time.Time
}

func newOIDCVerifier(issuers []OIDCIssuer, now func() time.Time) (*oidcVerifier, error) {
	v := &oidcVerifier{issuers: map[string]*issuerState{}, now: now}
	for i, is := range issuers {
		where := fmt.Sprintf("oidc issuer[%d] %q", i, is.Issuer)
		if is.Issuer == "" || is.Audience == "" {
			return nil, fmt.Errorf("%s: issuer and audience are required", where)
		}
		if (is.JWKSFile == "") == (is.JWKSURL == "") {
			return nil, fmt.Errorf("%s: give exactly one of a JWKS file and a JWKS URL", where)
		}
		if len(is.Rules) == 0 {
			return nil, fmt.Errorf("%s: no rules: no token could name an identity", where)
		}
		if _, dup := v.issuers[is.Issuer]; dup {
			return nil, fmt.Errorf("%s: issuer listed twice", where)
		}
		if is.Leeway == 0 {
			is.Leeway = DefaultOIDCLeeway
		}
		if is.Client == nil {
			is.Client = &http.Client{Timeout: 10 * time.Second}
		}
		names := is.Algorithms
		if len(names) == 0 {
			names = []string{"RS256", "ES256"}
		}
		st := &issuerState{cfg: is}
		for _, n := range names {
			a, ok := allowedAlgorithms[strings.ToUpper(n)]
			if !ok {
				return nil, fmt.Errorf("%s: algorithm %q is not one of RS256..512, ES256..512, PS256..512", where, n)
			}
			st.algs = append(st.algs, a)
		}
		if is.JWKSFile != "" {
			if err := st.load(); err != nil {
				return nil, fmt.Errorf("%s: %w", where, err)
			}
		}
		v.issuers[is.Issuer] = st
	}
	return v, nil
}

// looksLikeJWT tells an ID token from a sluice token: three base64url
// parts.
func looksLikeJWT(tok string) bool {
	return strings.Count(tok, ".") == 2 && !strings.HasPrefix(tok, auth.TokenPrefix)
}

// verify checks a token and returns the identity its claims map to. The
// error, for the log, says why a token was refused.
func (v *oidcVerifier) verify(ctx context.Context, raw string) (string, error) {
	// The issuer picks the keys, so read it (unverified) first; nothing
	// else of the unverified payload is trusted.
	var unverified struct {
		Issuer string `json:"iss"`
	}
	tok, err := jwt.ParseSigned(raw, allSupported)
	if err != nil {
		return "", fmt.Errorf("malformed or disallowed token: %v", err)
	}
	if err := tok.UnsafeClaimsWithoutVerification(&unverified); err != nil {
		return "", fmt.Errorf("malformed claims: %v", err)
	}
	st := v.issuers[unverified.Issuer]
	if st == nil {
		return "", fmt.Errorf("untrusted issuer %q", unverified.Issuer)
	}
	if tok, err = jwt.ParseSigned(raw, st.algs); err != nil {
		return "", fmt.Errorf("issuer %s: algorithm not allowed: %v", st.cfg.Issuer, err)
	}
	if len(tok.Headers) != 1 {
		return "", errors.New("not exactly one signature")
	}
	kid := tok.Headers[0].KeyID
	key, err := st.key(ctx, kid, tok.Headers[0].Algorithm)
	if err != nil {
		return "", fmt.Errorf("issuer %s: %w", st.cfg.Issuer, err)
	}
	var std jwt.Claims
	var all map[string]any
	if err := tok.Claims(key.Key, &std, &all); err != nil {
		return "", fmt.Errorf("issuer %s: bad signature: %v", st.cfg.Issuer, err)
	}
	if std.Expiry == nil {
		return "", fmt.Errorf("issuer %s: token without exp", st.cfg.Issuer)
	}
	if err := std.ValidateWithLeeway(jwt.Expected{Issuer: st.cfg.Issuer, AnyAudience: jwt.Audience{st.cfg.Audience}, Time: v.now()}, st.cfg.Leeway); err != nil {
		return "", fmt.Errorf("issuer %s: %v", st.cfg.Issuer, err)
	}
	for _, r := range st.cfg.Rules {
		if claimsMatch(r.Claims, all) {
			return r.Identity, nil
		}
	}
	return "", fmt.Errorf("issuer %s: no rule matches the token's claims (sub %q)", st.cfg.Issuer, std.Subject)
}

var allSupported = func() []jose.SignatureAlgorithm {
	var out []jose.SignatureAlgorithm
	for _, a := range allowedAlgorithms {
		out = append(out, a)
	}
	return out
}()

// key finds the verification key by key ID (or the only key when the token
// names none), fetching the JWKS URL again when the ID is unknown.
func (st *issuerState) key(ctx context.Context, kid, alg string) (jose.JSONWebKey, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if k, ok := st.find(kid, alg); ok {
		return k, nil
	}
	if st.cfg.JWKSURL != "" && (st.fetched.IsZero() || time.Since(st.fetched) >= jwksRefreshMin) {
		if err := st.fetch(ctx); err != nil {
			return jose.JSONWebKey{}, err
		}
		if k, ok := st.find(kid, alg); ok {
			return k, nil
		}
	}
	return jose.JSONWebKey{}, fmt.Errorf("no key %q for %s in the JWKS", kid, alg)
}

func (st *issuerState) find(kid, alg string) (jose.JSONWebKey, bool) {
	var cands []jose.JSONWebKey
	if kid != "" {
		cands = st.keys.Key(kid)
	} else if len(st.keys.Keys) == 1 {
		cands = st.keys.Keys
	}
	for _, k := range cands {
		if !k.IsPublic() || (k.Use != "" && k.Use != "sig") || (k.Algorithm != "" && k.Algorithm != alg) {
			continue
		}
		return k, true
	}
	return jose.JSONWebKey{}, false
}

func (st *issuerState) load() error {
	b, err := os.ReadFile(st.cfg.JWKSFile)
	if err != nil {
		return err
	}
	return st.parse(b)
}

func (st *issuerState) fetch(ctx context.Context) error {
	st.fetched = time.Now()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", st.cfg.JWKSURL, nil)
	if err != nil {
		return err
	}
	resp, err := st.cfg.Client.Do(req)
	if err != nil {
		return fmt.Errorf("fetching the JWKS: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("fetching the JWKS: status %d", resp.StatusCode)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	if err != nil {
		return fmt.Errorf("fetching the JWKS: %v", err)
	}
	return st.parse(b)
}

func (st *issuerState) parse(b []byte) error {
	if len(b) > maxJWKSBytes {
		return errors.New("JWKS larger than 1 MiB")
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(b, &set); err != nil {
		return fmt.Errorf("JWKS: %v", err)
	}
	for i, k := range set.Keys {
		if !k.IsPublic() {
			// A private or symmetric key in a JWKS is a mistake, and an
			// HMAC key would let anyone who read it mint tokens.
			return fmt.Errorf("JWKS: key %d (%q) is not a public key", i, k.KeyID)
		}
	}
	st.keys = set
	return nil
}

// claimsMatch reports whether every pattern matches its claim.
func claimsMatch(patterns map[string]string, claims map[string]any) bool {
	for name, pat := range patterns {
		v, ok := claims[name]
		if !ok {
			return false
		}
		var s string
		switch x := v.(type) {
		case string:
			s = x
		default:
			b, _ := json.Marshal(x)
			s = string(b)
		}
		if !globMatch(pat, s) {
			return false
		}
	}
	return true
}

// globMatch matches s against a pattern where "*" is any run of bytes.
func globMatch(pat, s string) bool {
	star := strings.IndexByte(pat, '*')
	if star < 0 {
		return pat == s
	}
	if !strings.HasPrefix(s, pat[:star]) {
		return false
	}
	s, pat = s[star:], pat[star+1:]
	for i := 0; i <= len(s); i++ {
		if globMatch(pat, s[i:]) {
			return true
		}
	}
	return false
}
