package httpgw

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

const (
	ghIssuer  = "https://token.actions.githubusercontent.com"
	k8sIssuer = "https://kubernetes.default.svc"
)

func sign(t *testing.T, alg jose.SignatureAlgorithm, key any, kid string, claims map[string]any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if kid != "" {
		opts = opts.WithHeader("kid", kid)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(s).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// ghClaims are the claims of a GitHub Actions ID token of a deploy job.
func ghClaims(mod func(map[string]any)) map[string]any {
	now := time.Now()
	c := map[string]any{
		"iss": ghIssuer, "aud": "sluice", "sub": "repo:acme/api:environment:prod",
		"repository": "acme/api", "ref": "refs/heads/main", "environment": "prod", "run_id": 1234567,
		"iat": now.Unix(), "nbf": now.Add(-5 * time.Second).Unix(), "exp": now.Add(5 * time.Minute).Unix(),
	}
	if mod != nil {
		mod(c)
	}
	return c
}

// TestOIDC: a GitHub-Actions-style ID token signed by a test key, with
// the key in a local JWKS file, is accepted and mapped to its identity;
// tampered, expired, not yet valid, wrong-audience, unsigned, HMAC-signed
// and unmapped tokens are refused with 401. A second issuer's JWKS is
// fetched from a URL, and fetched again when a token names a new key.
func TestOIDC(t *testing.T) {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey1, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecKey2, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	jwksFile := filepath.Join(t.TempDir(), "gh.jwks")
	b, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &rsaKey.PublicKey, KeyID: "gh1", Algorithm: "RS256", Use: "sig"}}})
	os.WriteFile(jwksFile, b, 0o600)

	var mu sync.Mutex
	k8sKeys := []jose.JSONWebKey{{Key: &ecKey1.PublicKey, KeyID: "k1", Algorithm: "ES256", Use: "sig"}}
	fetches := 0
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		fetches++
		json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: k8sKeys})
	}))
	defer jwks.Close()
	saved := jwksRefreshMin
	jwksRefreshMin = 0 // every unknown key ID may refetch in this test
	defer func() { jwksRefreshMin = saved }()

	g := startGateway(t, nil, func(o *Options) {
		o.OIDC = []OIDCIssuer{
			{Issuer: ghIssuer, Audience: "sluice", JWKSFile: jwksFile, Algorithms: []string{"RS256"}, Rules: []OIDCRule{
				{Claims: map[string]string{"repository": "acme/api", "ref": "refs/heads/main", "environment": "prod"}, Identity: "ci"},
				{Claims: map[string]string{"repository": "acme/*", "ref": "refs/heads/*"}, Identity: "other"},
			}},
			{Issuer: k8sIssuer, Audience: "sluice", JWKSURL: jwks.URL, Algorithms: []string{"ES256"}, Rules: []OIDCRule{
				{Claims: map[string]string{"sub": "system:serviceaccount:deploy:*"}, Identity: "ci"},
			}},
		}
	})
	status := func(tok string) int {
		raw, _ := curl(t, "-H", bearer(tok), g.url+"/whoami")
		return statusOf(raw)
	}

	good := sign(t, jose.RS256, rsaKey, "gh1", ghClaims(nil))
	if s := status(good); s != 200 {
		t.Fatalf("valid GitHub token: %d", s)
	}
	// A feature branch maps to "other", which the target does not allow.
	if s := status(sign(t, jose.RS256, rsaKey, "gh1", ghClaims(func(c map[string]any) { c["ref"] = "refs/heads/feature" }))); s != 403 {
		t.Errorf("feature branch: %d, want 403", s)
	}

	parts := strings.Split(good, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(payload), `"prod"`, `"prox"`, 1))) + "." + parts[2]
	pubDER, _ := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	refused := map[string]string{
		"tampered":                             tampered,
		"expired":                              sign(t, jose.RS256, rsaKey, "gh1", ghClaims(func(c map[string]any) { c["exp"] = time.Now().Add(-5 * time.Minute).Unix() })),
		"no exp":                               sign(t, jose.RS256, rsaKey, "gh1", ghClaims(func(c map[string]any) { delete(c, "exp") })),
		"not yet valid":                        sign(t, jose.RS256, rsaKey, "gh1", ghClaims(func(c map[string]any) { c["nbf"] = time.Now().Add(10 * time.Minute).Unix() })),
		"issued later":                         sign(t, jose.RS256, rsaKey, "gh1", ghClaims(func(c map[string]any) { c["iat"] = time.Now().Add(10 * time.Minute).Unix() })),
		"wrong audience":                       sign(t, jose.RS256, rsaKey, "gh1", ghClaims(func(c map[string]any) { c["aud"] = "another-service" })),
		"wrong issuer":                         sign(t, jose.RS256, rsaKey, "gh1", ghClaims(func(c map[string]any) { c["iss"] = "https://evil.example" })),
		"other key":                            sign(t, jose.RS256, other, "gh1", ghClaims(nil)),
		"alg none":                             none,
		"HMAC with the public key":             sign(t, jose.HS256, pubPEM, "gh1", ghClaims(nil)),
		"no rule":                              sign(t, jose.RS256, rsaKey, "gh1", ghClaims(func(c map[string]any) { c["repository"] = "evil/api" })),
		"ES256, not in the issuer's allowlist": sign(t, jose.ES256, ecKey1, "gh1", ghClaims(nil)),
	}
	for name, tok := range refused {
		if s := status(tok); s != 401 {
			t.Errorf("%s: %d, want 401", name, s)
		}
	}

	// The second issuer: JWKS from a URL, then a rotated key.
	k8s := func(key *ecdsa.PrivateKey, kid string) string {
		now := time.Now()
		return sign(t, jose.ES256, key, kid, map[string]any{"iss": k8sIssuer, "aud": []string{"sluice"},
			"sub": "system:serviceaccount:deploy:runner", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()})
	}
	if s := status(k8s(ecKey1, "k1")); s != 200 {
		t.Errorf("JWKS URL token: %d", s)
	}
	mu.Lock()
	k8sKeys = append(k8sKeys, jose.JSONWebKey{Key: &ecKey2.PublicKey, KeyID: "k2", Algorithm: "ES256", Use: "sig"})
	mu.Unlock()
	if s := status(k8s(ecKey2, "k2")); s != 200 {
		t.Errorf("rotated key: %d", s)
	}
	mu.Lock()
	n := fetches
	mu.Unlock()
	if n != 2 {
		t.Errorf("%d JWKS fetches, want 2", n)
	}
	if g.up.count() != 3 {
		t.Errorf("the upstream saw %d requests, want 3", g.up.count())
	}
	g.e.Close()
	ev := strings.Join(g.events(t), "\n")
	if os.Getenv("HTTPGW_PEEK") != "" {
		t.Log(ev)
	}
	for _, want := range []string{`"source":"oidc"`, "oidc: issuer https://token.actions.githubusercontent.com: bad signature",
		"token is expired", "oidc: malformed or disallowed token", "no rule matches"} {
		if !strings.Contains(ev, want) {
			t.Errorf("recording lacks %q:\n%s", want, ev)
		}
	}
}
