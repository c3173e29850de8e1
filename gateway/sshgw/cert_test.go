package sshgw

import (
	"crypto/rand"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// TestUserCertificates: an OpenSSH user certificate signed by a
// configured CA, with the identity among its principals and valid now,
// logs in; expired, not yet valid, another principal, an unknown CA, a
// force-command and a source-address elsewhere are refused alike and
// recorded with the reason.
func TestUserCertificates(t *testing.T) {
	var ca keyPair
	g := startGateway(t, nil, func(o *Options, _ *sshd) {
		ca = newKey(t, t.TempDir(), "user_ca")
		o.UserCAKeys = []ssh.PublicKey{ca.Signer.PublicKey()}
	})
	rogue := newKey(t, t.TempDir(), "rogue_ca")
	now := time.Now()
	valid := func(c *ssh.Certificate) {}
	cases := []struct {
		name   string
		signer ssh.Signer
		tweak  func(*ssh.Certificate)
		reason string // "" logs in
	}{
		{"valid", ca.Signer, valid, ""},
		{"expired", ca.Signer, func(c *ssh.Certificate) { c.ValidBefore = uint64(now.Add(-time.Hour).Unix()) }, "cert has expired"},
		{"not yet valid", ca.Signer, func(c *ssh.Certificate) { c.ValidAfter = uint64(now.Add(time.Hour).Unix()) }, "cert is not yet valid"},
		{"other principal", ca.Signer, func(c *ssh.Certificate) { c.ValidPrincipals = []string{"other"} }, `principal \"ci\" not in the set`},
		{"unknown CA", rogue.Signer, valid, "unrecognized authority"},
		{"force-command", ca.Signer, func(c *ssh.Certificate) { c.CriticalOptions = map[string]string{"force-command": "id"} }, "unsupported critical option"},
		{"source-address", ca.Signer, func(c *ssh.Certificate) { c.CriticalOptions = map[string]string{"source-address": "192.0.2.1/32"} }, "not in the certificate's source-address"},
		{"source-address here", ca.Signer, func(c *ssh.Certificate) {
			c.CriticalOptions = map[string]string{"source-address": "192.0.2.1/32,127.0.0.0/8"}
		}, ""},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			k := newKey(t, g.dir, "cert_key_"+string(rune('a'+i)))
			cert := &ssh.Certificate{Key: k.Signer.PublicKey(), Serial: uint64(100 + i), CertType: ssh.UserCert,
				KeyId: "job-" + tc.name, ValidPrincipals: []string{"ci"},
				ValidAfter: uint64(now.Add(-time.Minute).Unix()), ValidBefore: uint64(now.Add(time.Hour).Unix()),
				Permissions: ssh.Permissions{Extensions: map[string]string{"permit-pty": ""}}}
			tc.tweak(cert)
			if err := cert.SignCert(rand.Reader, tc.signer); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(k.File+"-cert.pub", ssh.MarshalAuthorizedKey(cert), 0o644); err != nil {
				t.Fatal(err)
			}
			r := g.run(t, g.command(k.File, "ci", "echo in"), "")
			switch {
			case tc.reason == "":
				if r.code != 0 || r.stdout != "in\n" {
					t.Fatalf("got %+v", r)
				}
				g.expectEvents(t, []string{"ci auth", `"result":"ok"`, `"method":"certificate"`, `id \"job-` + tc.name + `\"`})
			default:
				if r.code != 255 || !strings.Contains(r.stderr, "Permission denied") {
					t.Fatalf("got %+v", r)
				}
				g.expectEvents(t, []string{"ci auth", `"result":"denied"`, "job-" + tc.name, tc.reason})
			}
		})
	}
}
