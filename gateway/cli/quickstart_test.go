package cli

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicegw/sluice/gateway/approvals"
	"github.com/sluicegw/sluice/gateway/config"
	"github.com/sluicegw/sluice/gateway/store"
)

// TestQuickstart follows the README's `make run` walkthrough on the
// embedded defaults (only the ports and paths moved, so tests can run
// anywhere): masked JSON, CSV and log lines from the demo API, a blocked
// request, a DELETE held for approval and released by the reviewer with
// `sluice approvals approve`, and the session replayed.
func TestQuickstart(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Fatal("curl is needed (apt-get install curl)")
	}
	root, _ := filepath.Abs(filepath.Join("..", ".."))
	for _, p := range []string{"plugins/http-guard/http-guard.wasm", "plugins/pii-mask/pii-mask.wasm", "sdk/go/example/json-field-mask.wasm"} {
		if _, err := os.Stat(filepath.Join(root, p)); err != nil {
			t.Fatalf("%s is not built: run `make plugins` (make test does)", p)
		}
	}
	dir := t.TempDir()
	adminAddr, apiAddr, demoAddr := freePort(t), freePort(t), freePort(t)
	y := string(config.DefaultYAML())
	for old, new := range map[string]string{
		"data_dir: ./sluice-data":                   "data_dir: " + filepath.Join(dir, "data"),
		"listen: 127.0.0.1:9090":                    "listen: " + adminAddr,
		"listen: 127.0.0.1:9091":                    "listen: " + demoAddr,
		"listen: 127.0.0.1:8080":                    "listen: " + apiAddr,
		"address: http://127.0.0.1:9091":            "address: http://" + demoAddr,
		"path: sdk/go/example/json-field-mask.wasm": "path: " + filepath.Join(root, "sdk/go/example/json-field-mask.wasm"),
		"path: plugins/pii-mask/pii-mask.wasm":      "path: " + filepath.Join(root, "plugins/pii-mask/pii-mask.wasm"),
		"path: plugins/http-guard/http-guard.wasm":  "path: " + filepath.Join(root, "plugins/http-guard/http-guard.wasm"),
	} {
		if !strings.Contains(y, old) {
			t.Fatalf("the embedded defaults no longer contain %q: update this test with the README", old)
		}
		y = strings.ReplaceAll(y, old, new)
	}
	cfgPath := filepath.Join(dir, "sluice.yaml")
	os.WriteFile(cfgPath, []byte(y), 0o644)
	startServe(t, cfgPath)

	data := filepath.Join(dir, "data")
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(data, "tokens", name+".token"))
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
	ci, reviewer := read("demo-ci"), read("demo-reviewer")
	get := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(curl, append([]string{"-sS", "-H", "Authorization: Bearer " + ci}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("curl %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	api := "http://" + apiAddr
	for _, path := range []string{"/customers", "/customers.ndjson", "/customers.csv", "/logs"} {
		out := get(api + path)
		if strings.Contains(out, "@example.com") || !strings.Contains(out, "[EMAIL]") || strings.Contains(out, "4111 1111") {
			t.Errorf("%s not masked:\n%.400s", path, out)
		}
	}
	if out := get(api + "/admin/users"); !strings.Contains(out, "blocked by policy") || !strings.Contains(out, "off limits") {
		t.Errorf("admin area: %s", out)
	}
	if out := get("-X", "TRACE", api+"/customers"); !strings.Contains(out, "TRACE is denied") {
		t.Errorf("TRACE: %s", out)
	}

	// A DELETE waits for a reviewer.
	done := make(chan string, 1)
	go func() {
		out, _ := exec.Command(curl, "-sS", "-X", "DELETE", "-H", "Authorization: Bearer "+ci, api+"/customers/1003").CombinedOutput()
		done <- string(out)
	}()
	as := []string{"--admin-url", adminAddr, "--data-dir", data}
	var id string
	deadline := time.Now().Add(30 * time.Second)
	for id == "" && time.Now().Before(deadline) {
		code, out, errOut := run(t, "", append([]string{"approvals", "list", "--json", "--token", reviewer}, as...)...)
		if code != 0 {
			t.Fatalf("approvals list: %d %s", code, errOut)
		}
		var list []approvals.Request
		json.Unmarshal([]byte(out), &list)
		if len(list) == 1 {
			id = list[0].ID
		} else {
			time.Sleep(20 * time.Millisecond)
		}
	}
	if id == "" {
		t.Fatal("the DELETE never showed up for approval")
	}
	if code, out, errOut := run(t, "", append([]string{"approvals", "approve", id, "--reason", "planned cleanup", "--token", reviewer}, as...)...); code != 0 {
		t.Fatalf("approve: %d %s %s", code, out, errOut)
	}
	if out := <-done; !strings.Contains(out, `"deleted": 1003`) {
		t.Fatalf("the approved DELETE: %s", out)
	}

	// The session replays (the CLI finds the bootstrap admin token itself).
	code, out, _ := run(t, "", append([]string{"sessions", "list", "--identity", "demo-ci", "--json"}, as...)...)
	var infos []store.SessionInfo
	if json.Unmarshal([]byte(out), &infos); code != 0 || len(infos) == 0 {
		t.Fatalf("sessions list: %d %s", code, out)
	}
	var replay string
	for _, s := range infos {
		if s.Verdicts["approve"] > 0 {
			_, replay, _ = run(t, "", append([]string{"sessions", "replay", s.ID}, as...)...)
		}
	}
	for _, want := range []string{"DELETE /customers/1003", "approve by demo-reviewer -> approved: planned cleanup", `{"deleted": 1003}`} {
		if !strings.Contains(replay, want) {
			t.Errorf("replay lacks %q:\n%s", want, replay)
		}
	}
}
