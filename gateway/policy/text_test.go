package policy

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicegw/sluice/gateway/pluginhost"
)

func TestMaskText(t *testing.T) {
	h := newHost(t)
	path := filepath.Join("..", "..", "plugins", "secret-mask", "secret-mask.wasm")
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%s is not built: run `make plugins` (make test does)", path)
	}
	sm, err := h.Load(context.Background(), pluginhost.Spec{Name: "secret-mask", Path: path, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	m := NewMasker(Chain{sm})
	in := `INSERT INTO creds (k) VALUES ('AKIAIOSFODNN7EXAMPLE')`
	out, err := MaskText(context.Background(), m, "command", in)
	if err != nil || strings.Contains(out, "AKIAIOSFODNN7EXAMPLE") || !strings.HasPrefix(out, "INSERT INTO creds (k) VALUES ('") {
		t.Fatalf("%q %v", out, err)
	}
	if out, _ := MaskText(context.Background(), m, "command", "SELECT 1"); out != "SELECT 1" {
		t.Errorf("clean text changed: %q", out)
	}
	if out, _ := MaskText(context.Background(), nil, "command", in); out != in {
		t.Errorf("no masker: %q", out)
	}
	// A masking chain that fails closed redacts the whole text.
	fx := loadFixture(t, h, "trap", "t", fixtureManifest)
	out, err = MaskText(context.Background(), NewMasker(Chain{fx}), "command", "trap "+in)
	if err == nil || strings.Contains(out, "AKIA") {
		t.Errorf("failing chain: %q %v", out, err)
	}
}
