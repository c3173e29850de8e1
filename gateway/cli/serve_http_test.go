package cli

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicegw/sluice/gateway/auth"
)

// TestServeHTTP runs `sluice serve` with an http target in front of a real
// upstream and drives it with curl: the upstream's credential is added by
// sluice and never shown, emails in NDJSON come back masked, a TRACE and a
// traversal are refused by http-guard, a bad token gets 401.
func TestServeHTTP(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Fatal("curl is needed (apt-get install curl)")
	}
	const upstreamSecret = "Upstream-Api-Key-0c41"
	var sawKey, sawClientAuth string
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sawKey, sawClientAuth = r.Header.Get("X-Api-Key"), r.Header.Get("Authorization")
		w.Header().Set("Content-Type", "application/x-ndjson")
		fmt.Fprintln(w, `{"id":1,"email":"ann@example.com","plan":"pro"}`)
		fmt.Fprintln(w, `{"id":2,"email":"bob@example.org","plan":"free"}`)
	}))
	defer up.Close()

	root, _ := filepath.Abs(filepath.Join("..", ".."))
	for _, p := range []string{"plugins/http-guard/http-guard.wasm", "plugins/pii-mask/pii-mask.wasm"} {
		if _, err := os.Stat(filepath.Join(root, p)); err != nil {
			t.Fatalf("%s is not built: run `make plugins` (make test does)", p)
		}
	}
	dir := t.TempDir()
	adminAddr, httpAddr := freePort(t), freePort(t)
	const token = "ci-http-token-77"
	cfgPath := filepath.Join(dir, "sluice.yaml")
	os.WriteFile(cfgPath, []byte(fmt.Sprintf(`data_dir: %s
admin: {listen: %s}
identities:
  - {name: ci-deploy, kind: service, token_hashes: [%s]}
plugins:
  - {name: http-guard, path: %s}
  - {name: pii-mask, path: %s}
targets:
  - name: customers
    protocol: http
    listen: %s
    upstream:
      address: %s
      credential: {kind: header, header: X-Api-Key, env: CUSTOMERS_API_KEY}
    allow: [ci-deploy]
    plugins: [http-guard, pii-mask]
`, filepath.Join(dir, "data"), adminAddr, auth.HashString(token),
		filepath.Join(root, "plugins/http-guard/http-guard.wasm"), filepath.Join(root, "plugins/pii-mask/pii-mask.wasm"),
		httpAddr, up.URL)), 0o644)
	t.Setenv("CUSTOMERS_API_KEY", upstreamSecret)
	logs := startServe(t, cfgPath)

	get := func(args ...string) (string, string) {
		t.Helper()
		out, err := exec.Command(curl, append([]string{"-sS", "-w", "\n%{http_code}"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("curl %v: %v\n%s", args, err, out)
		}
		s := strings.TrimRight(string(out), "\n")
		i := strings.LastIndexByte(s, '\n')
		return s[:i+1], s[i+1:]
	}
	auth := "Authorization: Bearer " + token
	body, code := get("-H", auth, "http://"+httpAddr+"/customers")
	if code != "200" || strings.Contains(body, "@example") || !strings.Contains(body, `"plan":"pro"`) {
		t.Fatalf("masked NDJSON: %s\n%s", code, body)
	}
	if sawKey != upstreamSecret || sawClientAuth != "" {
		t.Errorf("upstream saw X-Api-Key %q and Authorization %q", sawKey, sawClientAuth)
	}
	if body, code := get("-X", "TRACE", "-H", auth, "http://"+httpAddr+"/customers"); code != "403" || !strings.Contains(body, `"reason"`) {
		t.Errorf("TRACE: %s %s", code, body)
	}
	if body, code := get("--path-as-is", "-H", auth, "http://"+httpAddr+"/a/../admin"); code != "403" {
		t.Errorf("traversal: %s %s", code, body)
	}
	if _, code := get("-H", "Authorization: Bearer nope", "http://"+httpAddr+"/customers"); code != "401" {
		t.Errorf("bad token: %s", code)
	}
	if strings.Contains(logs.String(), upstreamSecret) {
		t.Error("the upstream credential is in the gateway's log")
	}
	data := filepath.Join(dir, "data")
	code2, out, _ := run2(t, "sessions", "list", "--identity", "ci-deploy", "--admin-url", adminAddr, "--data-dir", data)
	if code2 != 0 || !strings.Contains(out, "customers") {
		t.Errorf("sessions list: %d\n%s", code2, out)
	}
}
