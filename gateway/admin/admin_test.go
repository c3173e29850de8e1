package admin

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicegw/sluice/gateway/pluginhost"
	"github.com/sluicegw/sluice/gateway/telemetry"
)

func TestHandler(t *testing.T) {
	metrics := telemetry.NewMetrics()
	host, err := pluginhost.New(pluginhost.Options{Metrics: metrics})
	if err != nil {
		t.Fatal(err)
	}
	defer host.Close(context.Background())
	wasm, err := os.ReadFile(filepath.Join("..", "pluginhost", "testdata", "fixture.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	wasm, _ = pluginhost.SetManifest(wasm, []byte(`{"abi":1,"name":"fixture","version":"1.2.3","hooks":["records"]}`))
	path := filepath.Join(t.TempDir(), "fixture.wasm")
	os.WriteFile(path, wasm, 0o644)
	if _, err := host.Load(context.Background(), pluginhost.Spec{Name: "fx", Path: path}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(Handler(host, metrics))
	defer srv.Close()

	get := func(method, path string) (int, string) {
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("GET", "/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("healthz: %d %q", code, body)
	}
	code, body := get("GET", "/v1/plugins")
	var st []pluginhost.Status
	if err := json.Unmarshal([]byte(body), &st); code != 200 || err != nil || len(st) != 1 || st[0].Version != "1.2.3" {
		t.Errorf("plugins: %d %s", code, body)
	}
	if code, body := get("POST", "/v1/plugins/fx/reload"); code != 200 || !strings.Contains(body, `"version": "1.2.3"`) {
		t.Errorf("reload: %d %s", code, body)
	}
	if code, _ := get("POST", "/v1/plugins/nope/reload"); code != 404 {
		t.Errorf("reload of an unknown plugin: %d", code)
	}
	os.WriteFile(path, []byte("not wasm"), 0o644)
	if code, body := get("POST", "/v1/plugins/fx/reload"); code != 422 || !strings.Contains(body, "not a WebAssembly module") || !strings.Contains(body, `"version": "1.2.3"`) {
		t.Errorf("reload of a broken file: %d %s", code, body)
	}
	if code, body := get("GET", "/metrics"); code != 200 || !strings.Contains(body, `sluice_plugin_reloads_total{plugin="fx",result="error"} 1`) {
		t.Errorf("metrics: %d", code)
	}
	if code, _ := get("DELETE", "/healthz"); code != 405 {
		t.Errorf("DELETE /healthz: %d", code)
	}
}
