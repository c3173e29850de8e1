package cli

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// selfSigned writes a certificate for 127.0.0.1 and its key as PEM files.
func selfSigned(t *testing.T, dir string) (certPath, keyPath string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sluice admin test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	certPath, keyPath = filepath.Join(dir, "admin.crt"), filepath.Join(dir, "admin.key")
	os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	return certPath, keyPath
}

// TestAdminTLS serves the admin API over HTTPS and talks to it with the
// CLI trusting the private CA.
func TestAdminTLS(t *testing.T) {
	dir := t.TempDir()
	cert, key := selfSigned(t, dir)
	adminAddr := freePort(t)
	cfgPath := filepath.Join(dir, "sluice.yaml")
	os.WriteFile(cfgPath, []byte(fmt.Sprintf(`data_dir: %s
admin:
  listen: %s
  tls: {cert: %s, key: %s}
plugins: []
`, filepath.Join(dir, "data"), adminAddr, cert, key)), 0o644)
	startServe(t, cfgPath)
	data := filepath.Join(dir, "data")
	if code, out, errOut := run(t, "", "plugins", "list", "--admin-url", "https://"+adminAddr, "--admin-ca", cert, "--data-dir", data); code != 0 || !strings.Contains(out, "NAME") {
		t.Errorf("plugins list over https: %d %s %s", code, out, errOut)
	}
	if code, _, errOut := run(t, "", "plugins", "list", "--admin-url", "https://"+adminAddr, "--data-dir", data); code != ExitUnavailable || !strings.Contains(errOut, "certificate") {
		t.Errorf("without the CA: %d %s", code, errOut)
	}
	if code, _, errOut := run(t, "", "plugins", "list", "--admin-url", "https://"+adminAddr, "--admin-ca", cfgPath); code != ExitUsage || !strings.Contains(errOut, "no PEM certificate") {
		t.Errorf("a CA file that is not PEM: %d %s", code, errOut)
	}
}
