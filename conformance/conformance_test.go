package conformance

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/sluicegw/sluice/gateway/pluginhost"
)

// testEngine is overridden by the wasmtime build tag.
var testEngine = "wazero"

const fixtureManifest = `{"abi":1,"name":"fixture","version":"1.0.0","hooks":["command","records","selftest"]}`

// fixture writes a committed test plugin with a manifest into a temp dir.
func fixture(t *testing.T, name, manifest string) string {
	t.Helper()
	wasm, err := os.ReadFile(filepath.Join("..", "gateway", "pluginhost", "testdata", name+".wasm"))
	if err != nil {
		t.Fatal(err)
	}
	if manifest != "" {
		if wasm, err = pluginhost.SetManifest(wasm, []byte(manifest)); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), name+".wasm")
	if err := os.WriteFile(path, wasm, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// built returns a plugin built by `make plugins`.
func built(t *testing.T, path string) string {
	t.Helper()
	path = filepath.Join("..", path)
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%s is not built: run `make plugins` (make test does): %v", path, err)
	}
	return path
}

func TestVectors(t *testing.T) {
	// One compile cache for the suites: each distinct config loads the
	// plugin again, and wasmtime compiles from scratch without one.
	cacheDir := t.TempDir()
	suites := []struct {
		name, plugin, vectors string
	}{
		{"host fixture", fixture(t, "fixture", fixtureManifest), "vectors/fixture"},
		{"abi version", fixture(t, "v2", ""), "vectors/abi-version"},
		{"go sdk example", built(t, "sdk/go/example/json-field-mask.wasm"), "../sdk/go/example/vectors"},
		{"wat example", built(t, "sdk/wat/customer-id-mask.wasm"), "../sdk/wat/vectors"},
		{"c sdk example", built(t, "sdk/c/example/customer-id-mask.wasm"), "../sdk/c/example/vectors"},
		{"rust sdk example", built(t, "sdk/rust/example/customer-id-mask.wasm"), "../sdk/rust/example/vectors"},
		{"assemblyscript sdk example", built(t, "sdk/assemblyscript/example/customer-id-mask.wasm"), "../sdk/assemblyscript/example/vectors"},
	}
	// Every bundled plugin with vectors (built by make plugins).
	dirs, _ := filepath.Glob(filepath.Join("..", "plugins", "*", "vectors"))
	for _, d := range dirs {
		name := filepath.Base(filepath.Dir(d))
		suites = append(suites, struct{ name, plugin, vectors string }{
			"plugin " + name, built(t, filepath.Join("plugins", name, name+".wasm")), d,
		})
	}
	for _, s := range suites {
		t.Run(s.name, func(t *testing.T) {
			rep, err := RunDir(context.Background(), Options{Engine: testEngine, CacheDir: cacheDir}, s.plugin, s.vectors)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rep.Results {
				if r.Err != "" {
					t.Errorf("%s: %s:\n%s", r.File, r.Case, r.Err)
				}
			}
			if rep.Passed == 0 {
				t.Fatal("no case ran")
			}
			t.Logf("%d cases passed", rep.Passed)
		})
	}
}

func TestReadFileRejectsUnknownKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v.json")
	os.WriteFile(path, []byte(`{"plugin":"x","cases":[{"name":"a","wantt":{}}]}`), 0o644)
	if _, err := ReadFile(path); err == nil {
		t.Fatal("unknown key accepted")
	}
}
