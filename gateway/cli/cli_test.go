package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicegw/sluice/gateway/pluginhost"
)

var example = filepath.Join("..", "..", "sdk", "go", "example", "json-field-mask.wasm")

// shared is a data_dir whose compile-cache is also the CLI commands'
// compile cache: the tests compile the example plugin once, not per test.
var shared string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sluice-cli-test")
	if err != nil {
		panic(err)
	}
	shared = dir
	os.Setenv("SLUICE_CACHE_DIR", filepath.Join(dir, "compile-cache"))
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func needExample(t testing.TB) string {
	t.Helper()
	if _, err := os.Stat(example); err != nil {
		t.Fatalf("%s is not built: run `make plugins` (make test does)", example)
	}
	return example
}

// run runs the CLI in-process.
func run(t testing.TB, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Main(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

// fixture writes the host's WAT test plugin with a manifest.
func fixture(t testing.TB, dir string) string {
	t.Helper()
	wasm, err := os.ReadFile(filepath.Join("..", "pluginhost", "testdata", "fixture.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	wasm, err = pluginhost.SetManifest(wasm, []byte(`{"abi":1,"name":"fixture","version":"1.0.0","hooks":["command","records"]}`))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "fixture.wasm")
	if err := os.WriteFile(path, wasm, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestMask(t *testing.T) {
	p := needExample(t)
	cfg := `{"fields":["*.email"],"keep_last":3}`
	cases := []struct{ format, in, want string }{
		{"ndjson", "{\"email\":\"ann@example.com\",\"id\":1}\n{\"customer\":{\"email\":\"bob@x.io\"},\"n\":\"x\"}\n",
			"{\"email\":\"****com\",\"id\":1}\n{\"customer\":{\"email\":\"****.io\"},\"n\":\"x\"}\n"},
		{"auto", "email,name\r\n\"ann@example.com\",\"Ann, Lee\"\r\n", "email,name\r\n\"****com\",\"Ann, Lee\"\r\n"},
		{"json", "[{\"email\":\"a@b.co\"},\n {\"email\":null}]", "[{\"email\":\"****.co\"},\n {\"email\":null}]"},
	}
	for _, c := range cases {
		code, out, errs := run(t, c.in, "mask", "--plugin", p, "--plugin-config", cfg, "--format", c.format)
		if code != 0 || out != c.want {
			t.Errorf("%s: exit %d, stderr %q\n got:  %q\n want: %q", c.format, code, errs, out, c.want)
		}
	}
}

func TestMaskFailsClosed(t *testing.T) {
	p := fixture(t, t.TempDir())
	code, out, errs := run(t, "{\"email\":\"ann@example.com\"}\n", "mask", "--plugin", p, "--plugin-config", `{"mode":"t"}`, "-f", "ndjson")
	if code != ExitFailure || strings.Contains(out, "ann@example.com") || out != "{\"email\":\"[REDACTED]\"}\n" {
		t.Fatalf("exit %d, out %q, stderr %q", code, out, errs)
	}
	if !strings.Contains(errs, "trap") {
		t.Fatalf("stderr does not say why: %q", errs)
	}
}

func TestMaskMalformedInput(t *testing.T) {
	p := needExample(t)
	code, out, errs := run(t, "{\"email\":\"a@b.co\"}\n{\"email\": \"c@d.co\", oops}\n{\"email\":\"e@f.co\"}\n", "mask", "--plugin", p, "--plugin-config", `{"fields":["email"]}`, "-f", "ndjson")
	if code != ExitUsage || strings.Contains(out, "c@d.co") || strings.Contains(out, "e@f.co") || !strings.Contains(errs, "line 2") {
		t.Fatalf("exit %d, out %q, stderr %q", code, out, errs)
	}
}

func TestMaskUsageErrors(t *testing.T) {
	cases := map[string][]string{
		`--format: `:                     {"mask", "--format", "xml", "--plugin", "x.wasm"},
		`--plugin-config: not valid`:     {"mask", "--plugin", "x.wasm", "--plugin-config", "{"},
		`no such file`:                   {"mask", "--plugin", "/nonexistent/x.wasm"},
		`--plugin-config needs --plugin`: {"mask", "--plugin-config", "{}"},
	}
	for want, args := range cases {
		code, _, errs := run(t, "", args...)
		if code != ExitUsage || !strings.Contains(errs, want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", args, code, errs, want)
		}
	}
}

func TestPluginEval(t *testing.T) {
	p := fixture(t, t.TempDir())
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--sql", "DROP TABLE users"}, 0, `"verdict": "block"`},
		{[]string{"--sql", "DROP TABLE users", "--exit-code"}, 1, `"reason": "blocked by fixture"`},
		{[]string{"--shell", "A reboot"}, 0, `"verdict": "approve"`},
		{[]string{"--http", "GET /v1/users?id=1", "--exit-code"}, 0, `"verdict": "allow"`},
		{[]string{"--http", "nonsense"}, 2, ``},
		// The analysers' facts reach the plugin: PostgreSQL's grammar
		// sees two statements, the shell parser a pipe into sudo sh.
		{[]string{"--sql", "DELETE FROM t; DROP TABLE u", "--facts"}, 0, `1,
      "tag",
      "DROP TABLE"`},
		{[]string{"--sql", "SELECT 'drop table x'", "--facts"}, 0, `"kind",
      "select"`},
		{[]string{"--shell", "curl -s x | sudo sh", "--facts"}, 0, `"pipe_from",
      "curl"`},
		{[]string{"--sql", "x", "--shell", "y"}, 2, ``},
	}
	for _, c := range cases {
		code, out, errs := run(t, "", append([]string{"plugin", "eval", p}, c.args...)...)
		if code != c.code || !strings.Contains(out, c.want) {
			t.Errorf("%v: exit %d, out %q, stderr %q", c.args, code, out, errs)
		}
	}
}

func TestPluginTest(t *testing.T) {
	p := needExample(t)
	code, out, errs := run(t, "", "plugin", "test", p)
	if code != 0 || !strings.Contains(out, " passed, 0 failed") {
		t.Fatalf("exit %d, stderr %q, out:\n%s", code, errs, out)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "bad.json"), []byte(`{"plugin":"json-field-mask","config":{"fields":["email"]},"cases":[
		{"name":"expects the wrong mask","batch":{"columns":[{"name":"email"}],"records":[["a@b.co"]]},"want_records":[["XXXX"]]}]}`), 0o644)
	code, out, _ = run(t, "", "plugin", "test", p, "--vectors", dir)
	if code != ExitFailure || !strings.Contains(out, `got:  ["****"]`) || !strings.Contains(out, `want: ["XXXX"]`) {
		t.Fatalf("exit %d, out:\n%s", code, out)
	}
}

func TestPluginManifestAndInspect(t *testing.T) {
	dir := t.TempDir()
	wasm, _ := os.ReadFile(filepath.Join("..", "pluginhost", "testdata", "fixture.wasm"))
	path := filepath.Join(dir, "p.wasm")
	os.WriteFile(path, wasm, 0o644)
	code, _, errs := run(t, "", "plugin", "inspect", path)
	if code != ExitFailure || !strings.Contains(errs, `missing custom section "sluice.manifest"`) {
		t.Fatalf("inspect without manifest: %d %q", code, errs)
	}
	man := filepath.Join(dir, "manifest.json")
	os.WriteFile(man, []byte(`{"abi":1,"name":"p","version":"0.1.0","hooks":["records"],"detectors":["email"]}`), 0o644)
	if code, _, errs := run(t, "", "plugin", "manifest", "set", path, man); code != 0 {
		t.Fatalf("manifest set: %d %q", code, errs)
	}
	code, out, _ := run(t, "", "plugin", "inspect", path)
	if code != 0 || !strings.Contains(out, `"detectors": [`) {
		t.Fatalf("inspect: %d %q", code, out)
	}
	code, out, _ = run(t, "", "plugin", "manifest", "get", path)
	if code != 0 || !strings.Contains(out, `"version":"0.1.0"`) {
		t.Fatalf("manifest get: %d %q", code, out)
	}
	os.WriteFile(man, []byte(`{"abi":1,"name":"p","version":"0.1.0","hooks":["rows"]}`), 0o644)
	if code, _, errs := run(t, "", "plugin", "manifest", "set", path, man); code != ExitUsage || !strings.Contains(errs, `hooks[0]: "rows"`) {
		t.Fatalf("bad manifest: %d %q", code, errs)
	}
}

func TestTokenHash(t *testing.T) {
	code, out, _ := run(t, "s3cret\n", "token", "hash")
	// sha256("s3cret")
	if code != 0 || out != "sha256:1ec1c26b50d5d3c58d9583181af8076655fe00756bf7285940ba3670f99fcba0\n" {
		t.Fatalf("%d %q", code, out)
	}
	if code, _, errs := run(t, "", "token", "hash"); code != ExitUsage || !strings.Contains(errs, "no token") {
		t.Fatalf("%d %q", code, errs)
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func getJSON(url, token string, v any) error {
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// TestServeHotReload is the README's promise: a running `sluice serve`
// picks up an edited plugin build without a restart, refuses a broken one
// while it keeps serving, and applies a changed plugins section.
func TestServeHotReload(t *testing.T) {
	dir := t.TempDir()
	wasm, err := os.ReadFile(needExample(t))
	if err != nil {
		t.Fatal(err)
	}
	plugin := filepath.Join(dir, "mask.wasm")
	os.WriteFile(plugin, wasm, 0o644)
	admin := freePort(t)
	cfgPath := filepath.Join(dir, "sluice.yaml")
	writeCfg := func(file, fields string) {
		os.WriteFile(cfgPath, []byte(fmt.Sprintf(`data_dir: %s
admin:
  listen: %s
plugins:
  - name: mask
    path: %s
    config: {fields: [%s]}
`, shared, admin, file, fields)), 0o644)
	}
	writeCfg("mask.wasm", "email")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	var stderr bytes.Buffer
	go func() {
		done <- Main(ctx, []string{"serve", "--config", cfgPath}, strings.NewReader(""), io.Discard, &stderr)
	}()
	defer func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("serve exited %d: %s", code, stderr.String())
		}
	}()

	status := func() pluginhost.Status {
		var st []pluginhost.Status
		// No identity has the admin role: the bootstrap token is in the
		// data_dir (once serve has started).
		tok, _ := os.ReadFile(filepath.Join(shared, "admin.token"))
		if err := getJSON("http://"+admin+"/v1/plugins", strings.TrimSpace(string(tok)), &st); err != nil || len(st) != 1 {
			return pluginhost.Status{}
		}
		return st[0]
	}
	// Deadlines for failing, not timing assertions: a cold compile under
	// the race detector on a busy 2-core machine takes tens of seconds.
	waitFor := func(what string, ok func(pluginhost.Status) bool) pluginhost.Status {
		deadline := time.Now().Add(2 * time.Minute)
		for {
			st := status()
			if ok(st) {
				return st
			}
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s; status %+v; log:\n%s", what, st, stderr.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	first := waitFor("the plugin to load", func(s pluginhost.Status) bool { return s.Version == "0.1.0" })

	// An edited build (here: a new manifest version) replaces the file the
	// way `make plugins` does, by renaming over it.
	next, _ := pluginhost.SetManifest(wasm, []byte(`{"abi":1,"name":"json-field-mask","version":"0.2.0","hooks":["command","records","plan","selftest"]}`))
	if err := writeFileAtomic(plugin, next); err != nil {
		t.Fatal(err)
	}
	waitFor("the edited build", func(s pluginhost.Status) bool { return s.Version == "0.2.0" && s.SHA256 != first.SHA256 })

	// A broken build is refused and the running version keeps serving.
	writeFileAtomic(plugin, []byte("\x00asm\x01\x00\x00\x00broken"))
	st := waitFor("the broken build to be refused", func(s pluginhost.Status) bool { return s.LastError != "" })
	if st.Version != "0.2.0" || !strings.Contains(st.LastError, "malformed module") {
		t.Fatalf("after a broken build: %+v", st)
	}

	// A changed plugins section is applied live.
	writeFileAtomic(plugin, next)
	before := waitFor("the good build again", func(s pluginhost.Status) bool { return s.LastError == "" }).Reloads
	writeCfg("mask.wasm", "email, customer.email")
	st = waitFor("the new plugin config", func(s pluginhost.Status) bool { return s.Reloads > before })

	// The config points the plugin at another file.
	other, _ := pluginhost.SetManifest(wasm, []byte(`{"abi":1,"name":"json-field-mask","version":"0.3.0","hooks":["command","records","plan","selftest"]}`))
	os.WriteFile(filepath.Join(dir, "other.wasm"), other, 0o644)
	writeCfg("other.wasm", "email, customer.email")
	st = waitFor("the other file", func(s pluginhost.Status) bool { return s.Version == "0.3.0" })
	if filepath.Base(st.Path) != "other.wasm" {
		t.Fatalf("status after the path changed: %+v", st)
	}

	resp, err := http.Get("http://" + admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, m := range []string{`sluice_plugin_reloads_total{plugin="mask",result="ok"}`, `sluice_plugin_reloads_total{plugin="mask",result="error"}`, `sluice_config_reloads_total{result="ok"} 2`} {
		if !bytes.Contains(body, []byte(m)) {
			t.Errorf("metrics lack %s", m)
		}
	}
}

// TestMaskConstantMemory pipes 1 GiB of NDJSON through the sluice binary
// and checks its peak RSS stays under 100 MB: masking streams, whatever the
// input size. A first small run warms the compile cache, as any second run
// of a CI job finds it: compiling a plugin is a one-off peak of its own
// (RATIONALE.md, "Why a soft memory limit for sluice mask?").
func TestMaskConstantMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 1 GiB; run without -short")
	}
	p := needExample(t)
	bin := filepath.Join(t.TempDir(), "sluice")
	build := exec.Command("go", "build", "-o", bin, "../cmd/sluice")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	args := []string{"mask", "--plugin", p, "--plugin-config", `{"fields":["email","customer.email"]}`, "-f", "ndjson", "-q"}
	warm := exec.Command(bin, args...)
	warm.Stdin = strings.NewReader(`{"email":"a@b.co"}` + "\n")
	if out, err := warm.CombinedOutput(); err != nil {
		t.Fatalf("warm-up run: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, args...)
	in, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line := []byte(`{"id":12345,"email":"ann.lee@example.com","customer":{"email":"bob@example.org","name":"Bob Stone"},"note":"order shipped to warehouse 7, tracking ABC123456789","amount":123.45}` + "\n")
	const total = 1 << 30
	go func() {
		chunk := bytes.Repeat(line, 4096)
		for sent := 0; sent < total; sent += len(chunk) {
			if _, err := in.Write(chunk); err != nil {
				break
			}
		}
		in.Close()
	}()
	// Sample the child's own high-water mark (VmHWM is per address space,
	// so it starts at exec). rusage's Maxrss would not do: after a fork
	// from this (large) test process it can report the parent's RSS.
	var hwm atomic.Int64
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			if kb := vmHWM(cmd.Process.Pid); kb > hwm.Load() {
				hwm.Store(kb)
			}
			select {
			case <-stopSampling:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	var outBytes, lines int64
	buf := make([]byte, 1<<20)
	for {
		n, err := out.Read(buf)
		outBytes += int64(n)
		lines += int64(bytes.Count(buf[:n], []byte{'\n'}))
		if bytes.Contains(buf[:n], []byte("ann.lee@example.com")) {
			t.Fatal("an unmasked email reached the output")
		}
		if err != nil {
			break
		}
	}
	close(stopSampling)
	<-sampled
	if err := cmd.Wait(); err != nil {
		t.Fatalf("sluice mask: %v\n%s", err, stderr.String())
	}
	rss := hwm.Load() * 1024
	want := int64(total/(len(line)*4096)+1) * 4096
	if lines != want && lines != want-4096 {
		t.Fatalf("%d lines out, want %d", lines, want)
	}
	if rss == 0 {
		t.Fatal("could not read the child's VmHWM")
	}
	t.Logf("1 GiB in, %d MB out, %d lines, peak RSS %d MB", outBytes>>20, lines, rss>>20)
	if rss > 100<<20 {
		t.Fatalf("peak RSS %d MB > 100 MB", rss>>20)
	}
}

// vmHWM returns a process's peak resident set in KiB, or 0.
func vmHWM(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return 0
}
