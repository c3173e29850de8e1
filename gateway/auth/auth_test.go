package auth

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sluicegw/sluice/gateway/config"
	"github.com/sluicegw/sluice/gateway/store"
)

func TestToken(t *testing.T) {
	cfg, err := config.Parse("t.yaml", []byte(fmt.Sprintf(`
identities:
  - {name: ci, kind: service, token_hashes: [%s]}
  - {name: bot, kind: service}
`, HashString("static-ci"))), nil)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(t.TempDir(), store.Options{MinFreeBytes: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	issue := func(identity string, ttl time.Duration, revoked bool) string {
		secret, hash := NewToken()
		h, err := ParseHash(hash)
		if err != nil {
			t.Fatal(err)
		}
		tok := store.Token{Hash: hash, Identity: identity, Created: now, Expires: now.Add(ttl)}
		if revoked {
			tok.Revoked = now
		}
		if err := st.PutToken(h, tok); err != nil {
			t.Fatal(err)
		}
		return secret
	}
	a := &Authenticator{Config: func() *config.Config { return cfg }, Store: st, Now: func() time.Time { return now },
		Extra: []config.Identity{{Name: "boot", Kind: config.KindHuman, Roles: []config.Role{config.RoleAdmin}, TokenHashes: []string{HashString("boot-secret")}}}}

	good := issue("bot", time.Hour, false)
	cases := []struct {
		secret, identity, source, reason string
	}{
		{"static-ci", "ci", "config", ""},
		{"boot-secret", "boot", "config", ""},
		{good, "bot", "issued", ""},
		{"", "", "", "no token"},
		{"nope", "", "", "unknown token"},
		{issue("bot", -time.Minute, false), "", "", "expired"},
		{issue("bot", time.Hour, true), "", "", "revoked"},
		{issue("gone", time.Hour, false), "", "", "no longer in the config"},
	}
	for _, c := range cases {
		res, err := a.Token(c.secret)
		if c.reason == "" {
			if err != nil || res.Identity.Name != c.identity || res.Source != c.source {
				t.Errorf("%q: %+v %v", c.secret, res, err)
			}
			continue
		}
		if !errors.Is(err, ErrDenied) || !strings.Contains(err.Error(), c.reason) {
			t.Errorf("%q: want a denial for %q, got %v", c.secret, c.reason, err)
		}
		// The secret never appears in the reason.
		if c.secret != "" && strings.Contains(err.Error(), c.secret) {
			t.Errorf("the reason leaks the secret: %v", err)
		}
	}
	// Without a store only config hashes count.
	a.Store = nil
	if _, err := a.Token(good); !errors.Is(err, ErrDenied) {
		t.Errorf("issued token without a store: %v", err)
	}
}

func TestHelpers(t *testing.T) {
	s, h := NewToken()
	if !strings.HasPrefix(s, TokenPrefix) || HashString(s) != h || len(h) != len("sha256:")+64 {
		t.Fatalf("%q %q", s, h)
	}
	if s2, _ := NewToken(); s2 == s {
		t.Fatal("tokens repeat")
	}
	if _, err := ParseHash(h); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"", "sha256:", "md5:" + h[7:], "sha256:zz" + h[9:]} {
		if _, err := ParseHash(bad); err == nil {
			t.Errorf("ParseHash(%q) accepted", bad)
		}
	}
	for in, want := range map[string]string{"Bearer abc": "abc", "bearer  abc ": "abc", "Basic abc": "", "Bearer": "", "Bearer ": ""} {
		got, ok := Bearer(in)
		if got != want || ok != (want != "") {
			t.Errorf("Bearer(%q) = %q %v", in, got, ok)
		}
	}
}
