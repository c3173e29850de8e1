package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluicegw/sluice/gateway/telemetry"
)

const specYAML = `
data_dir: ./sluice-data
admin:
  listen: 127.0.0.1:9090
identities:
  - name: ci-deploy
    kind: service
    token_hashes: ["sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"]
  - name: alice
    kind: human
    roles: [reviewer]
plugins:
  - name: pii-mask
    path: plugins/pii-mask/pii-mask.wasm
    config: {}
    on_error: fail_closed
  - name: sql-guard
    path: /opt/plugins/sql-guard.wasm
    timeout: 250ms
    memory_limit: 1500000
    pool_size: 3
    on_error: fail_open
    breaker: {failures: 2, cooldown: 1m}
    config:
      deny: [DROP, TRUNCATE]
      note: "<b>&</b>"
      nested: {z: 1, a: [true, null, 1.5]}
targets:
  - name: orders
    protocol: postgres
    listen: 127.0.0.1:15432
    upstream: {address: 127.0.0.1:5432, database: orders, user: app, password: "${ORDERS_PG_PASSWORD}"}
    allow: [ci-deploy]
    plugins: [sql-guard, pii-mask]
`

var specEnv = []string{"ORDERS_PG_PASSWORD=s3cret"}

func mustParse(t *testing.T, name, src string, env []string) *Config {
	t.Helper()
	c, err := Parse(name, []byte(src), env)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return c
}

func TestParseSpecExample(t *testing.T) {
	c := mustParse(t, "/etc/sluice/sluice.yaml", specYAML, specEnv)

	if got, want := c.DataDir(), "/etc/sluice/sluice-data"; got != want {
		t.Errorf("DataDir = %q, want %q", got, want)
	}
	if got, want := c.CompileCacheDir(), "/etc/sluice/sluice-data/compile-cache"; got != want {
		t.Errorf("CompileCacheDir = %q, want %q", got, want)
	}
	if got := c.Admin(); got != (Admin{Listen: "127.0.0.1:9090"}) {
		t.Errorf("Admin = %+v", got)
	}
	if got := c.Log(); got != (Log{Level: "info", Format: "text"}) {
		t.Errorf("Log = %+v", got)
	}
	if got := c.Runtime(); got != (Runtime{Engine: EngineWazero, CompileCache: true}) {
		t.Errorf("Runtime = %+v", got)
	}

	alice, ok := c.Identity("alice")
	if !ok || alice.Kind != KindHuman || !alice.HasRole(RoleReviewer) || alice.HasRole(RoleAdmin) {
		t.Errorf("alice = %+v, %v", alice, ok)
	}

	mask, _ := c.Plugin("pii-mask")
	want := Plugin{
		Name:        "pii-mask",
		Path:        "/etc/sluice/plugins/pii-mask/pii-mask.wasm",
		Timeout:     100 * time.Millisecond,
		MemoryLimit: 64 << 20,
		OnError:     FailClosed,
		Breaker:     Breaker{Failures: 5, Cooldown: 30 * time.Second},
		config:      []byte("{}"),
	}
	if !mask.Equal(want) {
		t.Errorf("pii-mask = %+v\nwant %+v", mask, want)
	}
	if got := mask.MaxInstances(); got != 2*runtime.GOMAXPROCS(0) {
		t.Errorf("MaxInstances = %d", got)
	}

	guard, _ := c.Plugin("sql-guard")
	if guard.Path != "/opt/plugins/sql-guard.wasm" || guard.Timeout != 250*time.Millisecond ||
		guard.PoolSize != 3 || guard.MaxInstances() != 3 || guard.OnError != FailOpen ||
		guard.Breaker != (Breaker{Failures: 2, Cooldown: time.Minute}) {
		t.Errorf("sql-guard = %+v", guard)
	}
	// 1500000 bytes round up to 23 64 KiB pages.
	if guard.MemoryLimit != 1507328 || guard.MemoryPages() != 23 {
		t.Errorf("memory = %d bytes, %d pages", guard.MemoryLimit, guard.MemoryPages())
	}
	// Sorted keys, no HTML escaping, no trailing newline.
	if got, want := string(guard.ConfigJSON()), `{"deny":["DROP","TRUNCATE"],"nested":{"a":[true,null,1.5],"z":1},"note":"<b>&</b>"}`; got != want {
		t.Errorf("ConfigJSON = %s\nwant %s", got, want)
	}

	orders, ok := c.Target("orders")
	if !ok {
		t.Fatal("no target orders")
	}
	wantUp := Upstream{Address: "127.0.0.1:5432", Database: "orders", User: "app", Password: "s3cret"}
	if orders.Protocol != ProtocolPostgres || orders.Listen != "127.0.0.1:15432" || orders.Upstream != wantUp ||
		!orders.Allows("ci-deploy") || orders.Allows("alice") ||
		!slices.Equal(orders.Plugins, []string{"sql-guard", "pii-mask"}) {
		t.Errorf("orders = %+v", orders)
	}
}

func TestConfigJSONDeterministic(t *testing.T) {
	var first []byte
	for i := range 20 {
		c := mustParse(t, "sluice.yaml", specYAML, specEnv)
		p, _ := c.Plugin("sql-guard")
		if i == 0 {
			first = p.ConfigJSON()
		} else if !bytes.Equal(first, p.ConfigJSON()) {
			t.Fatalf("run %d: %s != %s", i, p.ConfigJSON(), first)
		}
	}
	if got := string((Plugin{}).ConfigJSON()); got != "{}" {
		t.Errorf("zero Plugin ConfigJSON = %s", got)
	}
}

func TestSnapshotIsImmutable(t *testing.T) {
	c := mustParse(t, "sluice.yaml", specYAML, specEnv)

	ids := c.Identities()
	ids[0].Name = "mallory"
	ids[0].TokenHashes[0] = "sha256:evil"
	ids[1].Roles[0] = RoleAdmin
	targets := c.Targets()
	targets[0].Allow[0] = "mallory"
	targets[0].Plugins[0] = "nothing"
	tg, _ := c.Target("orders")
	tg.Allow = append(tg.Allow[:0], "mallory")
	plugins := c.Plugins()
	plugins[0].Name = "x"
	cfg := plugins[1].ConfigJSON()
	cfg[0] = 'X'

	again := mustParse(t, "sluice.yaml", specYAML, specEnv)
	if d := c.Diff(again); !d.None() {
		t.Errorf("snapshot changed through returned values: %v", d.Sections())
	}
	if id, _ := c.Identity("alice"); id.HasRole(RoleAdmin) {
		t.Error("alice became admin")
	}
}

func TestSecretsStayOut(t *testing.T) {
	const secret = "hunter2-very-secret"
	env := []string{"SECRET=" + secret, "ORDERS_PG_PASSWORD=" + secret}

	// A secret expanded into a key that then fails validation.
	bad := `
plugins:
  - name: p
    path: p.wasm
    on_error: "${SECRET}"
    timeout: "${SECRET}"
    memory_limit: "${SECRET}"
    pool_size: "${SECRET}"
identities:
  - name: ci
    kind: service
    token_hashes: ["` + secret + `"]
targets:
  - name: t
    protocol: postgres
    listen: 127.0.0.1:1
    upstream: {address: "${SECRET}", password: 12345}
`
	_, err := Parse("sluice.yaml", []byte(bad), env)
	if err == nil {
		t.Fatal("no error")
	}
	if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "12345") {
		t.Errorf("error leaks a secret:\n%v", err)
	}

	c := mustParse(t, "sluice.yaml", specYAML, env)
	orders, _ := c.Target("orders")
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("x", "upstream", orders.Upstream, "config", c, "target", orders)
	for _, s := range []string{
		fmt.Sprint(c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c),
		fmt.Sprint(orders), fmt.Sprintf("%+v", orders), fmt.Sprintf("%#v", orders.Upstream),
		logs.String(),
	} {
		if strings.Contains(s, secret) {
			t.Errorf("printed form leaks the password: %s", s)
		}
	}
	if !strings.Contains(fmt.Sprint(orders.Upstream), "password=[redacted]") {
		t.Errorf("Upstream.String() = %s", orders.Upstream)
	}
}

func TestEnvOverrides(t *testing.T) {
	base := "data_dir: ./from-file\nlog: {level: warn}\n"
	for _, tc := range []struct {
		name  string
		env   []string
		check func(*Config) string
	}{
		{"data_dir", []string{"SLUICE_DATA_DIR=/var/lib/sluice"}, func(c *Config) string {
			return c.DataDir()
		}},
		{"admin.listen", []string{"SLUICE_ADMIN__LISTEN=0.0.0.0:7000"}, func(c *Config) string {
			return c.Admin().Listen
		}},
		{"log.level", []string{"SLUICE_LOG__LEVEL=debug"}, func(c *Config) string {
			return c.Log().Level
		}},
		{"log.format", []string{"SLUICE_LOG__FORMAT=json"}, func(c *Config) string {
			return c.Log().Format
		}},
		{"runtime.engine", []string{"SLUICE_RUNTIME__ENGINE=wasmtime"}, func(c *Config) string {
			return string(c.Runtime().Engine)
		}},
		{"compile_cache", []string{"SLUICE_RUNTIME__COMPILE_CACHE=false"}, func(c *Config) string {
			return fmt.Sprint(c.Runtime().CompileCache) + c.CompileCacheDir()
		}},
		{"later wins", []string{"SLUICE_LOG__LEVEL=debug", "SLUICE_LOG__LEVEL=error"}, func(c *Config) string {
			return c.Log().Level
		}},
		{"expanded after override", []string{"SLUICE_DATA_DIR=${STATE}/sluice", "STATE=/srv"}, func(c *Config) string {
			return c.DataDir()
		}},
		{"key part is lowercased", []string{"SLUICE_Log__Level=error"}, func(c *Config) string {
			return c.Log().Level
		}},
		{"non-config variables ignored", []string{"SLUICE_CONFIG=/x.yaml", "SLUICE_ADMIN_URL=http://x", "SLUICE_TOKEN=t"}, func(c *Config) string {
			return c.Log().Level
		}},
		{"other prefixes ignored", []string{"SLUICEX_LOG__LEVEL=debug", "sluice_log__level=debug", "LOG__LEVEL=debug"}, func(c *Config) string {
			return c.Log().Level
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := mustParse(t, "/cfg/sluice.yaml", base, tc.env)
			got := tc.check(c)
			want := map[string]string{
				"data_dir":                     "/var/lib/sluice",
				"admin.listen":                 "0.0.0.0:7000",
				"log.level":                    "debug",
				"log.format":                   "json",
				"runtime.engine":               "wasmtime",
				"compile_cache":                "false",
				"later wins":                   "error",
				"expanded after override":      "/srv/sluice",
				"key part is lowercased":       "error",
				"non-config variables ignored": "warn",
				"other prefixes ignored":       "warn",
			}[tc.name]
			if got != want {
				t.Errorf("got %q, want %q", got, want)
			}
		})
	}
	if got := NonConfigEnv(); !slices.Equal(got, []string{EnvAdminCA, EnvAdminURL, EnvConfig, EnvToken, EnvCacheDir}) {
		t.Errorf("NonConfigEnv = %v", got)
	}
	NonConfigEnv()[0] = "SLUICE_MUTATED"
	if slices.Contains(NonConfigEnv(), "SLUICE_MUTATED") {
		t.Error("NonConfigEnv exposes its backing array")
	}
}

func TestEnvKeysFromSchema(t *testing.T) {
	var got []string
	for k := range settableByEnv {
		got = append(got, k)
	}
	slices.Sort(got)
	want := []string{"admin.listen", "admin.tls.cert", "admin.tls.key", "approvals.expiry", "approvals.max_grant", "approvals.required", "approvals.webhook.url", "data_dir", "demo.enabled", "demo.listen", "log.format", "log.level", "runtime.compile_cache", "runtime.engine", "store.min_free", "store.retention_days", "store.session_quota", "store.sync_interval", "store.sync_reads"}
	if !slices.Equal(got, want) {
		t.Errorf("env-settable keys = %v, want %v", got, want)
	}
}

func TestExpandString(t *testing.T) {
	env := envLookup([]string{"A=alpha", "EMPTY=", "NESTED=${A}", "X_1=x1"})
	for _, tc := range []struct {
		in, out   string
		unset     []string
		malformed bool
	}{
		{in: "plain", out: "plain"},
		{in: "${A}", out: "alpha"},
		{in: "pre-${A}-${X_1}-post", out: "pre-alpha-x1-post"},
		{in: "${EMPTY}", out: ""},
		{in: "$$", out: "$"},
		{in: "$${A}", out: "${A}"},
		{in: "$$$$", out: "$$"},
		{in: "pa$word", out: "pa$word"},
		{in: "$A", out: "$A"},
		{in: "cost: 5$", out: "cost: 5$"},
		{in: "${NESTED}", out: "${A}"}, // one pass only
		{in: "${MISSING}", out: "", unset: []string{"MISSING"}},
		{in: "${MISSING}${MISSING}${B}", out: "", unset: []string{"MISSING", "B"}},
		{in: "${A", out: "${A", malformed: true},
		{in: "x${}", out: "x${}", malformed: true},
		{in: "${1A}", out: "${1A}", malformed: true},
		{in: "${A-default}", out: "${A-default}", malformed: true},
	} {
		out, unset, malformed := expandString(tc.in, env)
		if out != tc.out || !slices.Equal(unset, tc.unset) || malformed != tc.malformed {
			t.Errorf("expandString(%q) = %q, %q, %v; want %q, %q, %v", tc.in, out, unset, malformed, tc.out, tc.unset, tc.malformed)
		}
	}
}

func TestExpansionEverywhere(t *testing.T) {
	src := `
data_dir: "${ROOT}/data"
plugins:
  - name: p
    path: "${ROOT}/p.wasm"
    timeout: "${T}"
    pool_size: "${N}"
    config: {key: "${KEY}", list: ["${KEY}", "$$literal"], "${KEY}": keys-are-not-expanded}
`
	c := mustParse(t, "sluice.yaml", src, []string{"ROOT=/srv", "T=2s", "N=4", "KEY=k"})
	p, _ := c.Plugin("p")
	if c.DataDir() != "/srv/data" || p.Path != "/srv/p.wasm" || p.Timeout != 2*time.Second || p.PoolSize != 4 {
		t.Errorf("got data_dir %q, plugin %+v", c.DataDir(), p)
	}
	if got, want := string(p.ConfigJSON()), `{"${KEY}":"keys-are-not-expanded","key":"k","list":["k","$literal"]}`; got != want {
		t.Errorf("ConfigJSON = %s, want %s", got, want)
	}
}

func TestRelativePaths(t *testing.T) {
	src := "data_dir: state\nplugins:\n  - {name: a, path: a.wasm}\n  - {name: b, path: ../shared/b.wasm}\n  - {name: c, path: /abs/c.wasm}\n"
	for _, tc := range []struct {
		name             string
		dataDir, a, b, c string
	}{
		{"/etc/sluice/sluice.yaml", "/etc/sluice/state", "/etc/sluice/a.wasm", "/etc/shared/b.wasm", "/abs/c.wasm"},
		{"conf/sluice.yaml", "conf/state", "conf/a.wasm", "shared/b.wasm", "/abs/c.wasm"},
		{"sluice.yaml", "state", "a.wasm", "../shared/b.wasm", "/abs/c.wasm"},
	} {
		c := mustParse(t, tc.name, src, nil)
		pa, _ := c.Plugin("a")
		pb, _ := c.Plugin("b")
		pc, _ := c.Plugin("c")
		if c.DataDir() != tc.dataDir || pa.Path != tc.a || pb.Path != tc.b || pc.Path != tc.c {
			t.Errorf("%s: data_dir %q, paths %q %q %q", tc.name, c.DataDir(), pa.Path, pb.Path, pc.Path)
		}
	}

	// Load anchors on the file's absolute directory, whatever the working
	// directory is later.
	dir := t.TempDir()
	file := filepath.Join(dir, "sluice.yaml")
	if err := os.WriteFile(file, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	c, err := Load("sluice.yaml")
	if err != nil {
		t.Fatal(err)
	}
	pa, _ := c.Plugin("a")
	if c.Path() != file || c.DataDir() != filepath.Join(dir, "state") || pa.Path != filepath.Join(dir, "a.wasm") {
		t.Errorf("Load: path %q, data_dir %q, a %q", c.Path(), c.DataDir(), pa.Path)
	}
}

func TestLoadErrors(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "missing.yaml"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(missing) = %v, want ErrNotExist", err)
	}

	dir := t.TempDir()
	file := filepath.Join(dir, "prod.yaml")
	os.WriteFile(file, []byte("plugins:\n  - name: p\n"), 0o600)
	_, err = Load(file)
	var cfgErr *Error
	if !errors.As(err, &cfgErr) {
		t.Fatalf("Load error %v is not an *Error", err)
	}
	if cfgErr.File != "prod.yaml" || cfgErr.Key != "plugins[0].path" || cfgErr.Line != 2 || cfgErr.Msg != "missing" {
		t.Errorf("error = %+v", *cfgErr)
	}
}

func TestDefault(t *testing.T) {
	c := Default()
	if c != Default() {
		t.Error("Default is not shared")
	}
	if c.DataDir() != "sluice-data" || c.Admin().Listen != "127.0.0.1:9090" ||
		c.Log() != (Log{Level: "info", Format: "text"}) || c.Runtime() != (Runtime{Engine: EngineWazero, CompileCache: true}) ||
		len(c.Identities()) != 2 || len(c.Targets()) != 1 || len(c.Plugins()) != 3 || !c.Demo().Enabled {
		t.Errorf("Default = %v %+v %+v %+v", c, c.Admin(), c.Log(), c.Runtime())
	}
	p, ok := c.Plugin("json-field-mask")
	if !ok || p.Path != "sdk/go/example/json-field-mask.wasm" || p.OnError != FailClosed || p.Timeout != DefaultPluginTimeout {
		t.Errorf("json-field-mask = %+v", p)
	}
	if got, want := string(p.ConfigJSON()), `{"fields":["email","customer.email"],"mask":"****"}`; got != want {
		t.Errorf("ConfigJSON = %s, want %s", got, want)
	}
	// The embedded file, written out, is a valid config on its own.
	if _, err := Parse("sluice.yaml", DefaultYAML(), nil); err != nil {
		t.Errorf("DefaultYAML does not parse: %v", err)
	}
	if _, err := Watch(t.Context(), c, func(_, _ *Config) error { return nil }, WatchOptions{}); err == nil {
		t.Error("Watch(Default()) succeeded")
	}
}

// The log keys' allowed values must be exactly what telemetry accepts, or
// a config that validates could fail at startup.
func TestLogValuesMatchTelemetry(t *testing.T) {
	for _, level := range []string{"debug", "info", "warn", "error"} {
		for _, format := range []string{"text", "json"} {
			src := fmt.Sprintf("log: {level: %s, format: %s}\n", level, format)
			c := mustParse(t, "sluice.yaml", src, nil)
			if _, err := telemetry.NewLogger(io.Discard, c.Log().Level, c.Log().Format); err != nil {
				t.Errorf("%s/%s: %v", level, format, err)
			}
		}
	}
}

func TestMemoryLimitSyntax(t *testing.T) {
	for in, want := range map[string]int64{
		"64MiB":    64 << 20,
		"64 MiB":   64 << 20,
		"64mib":    64 << 20,
		"1GiB":     1 << 30,
		"4GiB":     4 << 30,
		"1024KiB":  1 << 20,
		"1048576":  1 << 20,
		"1048577B": 1<<20 + 64<<10,
		"1500000":  1507328, // 23 pages
	} {
		c, err := Parse("sluice.yaml", []byte("plugins: [{name: p, path: p.wasm, memory_limit: \""+in+"\"}]"), nil)
		if err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		p, _ := c.Plugin("p")
		if p.MemoryLimit != want || p.MemoryLimit%WasmPageSize != 0 {
			t.Errorf("%s = %d, want %d", in, p.MemoryLimit, want)
		}
	}
	for _, in := range []string{"1.5GiB", "-1MiB", "64 M", "1TiB", "99999999999999999999999GiB"} {
		if _, err := Parse("sluice.yaml", []byte("plugins: [{name: p, path: p.wasm, memory_limit: \""+in+"\"}]"), nil); err == nil {
			t.Errorf("%s accepted", in)
		}
	}
}

func TestDiff(t *testing.T) {
	base := `
identities: [{name: ci, kind: service}]
plugins:
  - {name: a, path: a.wasm}
  - {name: b, path: b.wasm, config: {x: 1}}
  - {name: c, path: c.wasm}
targets:
  - {name: t, protocol: http, listen: "127.0.0.1:8080", upstream: {address: "http://x"}, plugins: [a]}
`
	old := mustParse(t, "sluice.yaml", base, nil)

	swapped := mustParse(t, "sluice.yaml", `
identities: [{name: ci, kind: service}]
plugins:
  - {name: c, path: c.wasm}
  - {name: b, path: b.wasm, config: {x: 1}}
  - {name: a, path: a.wasm}
targets:
  - {name: t, protocol: http, listen: "127.0.0.1:8080", upstream: {address: "http://x"}, plugins: [a]}
`, nil)
	if !old.PluginsEqual(swapped) || !old.Diff(swapped).None() {
		t.Errorf("reordering plugins is a change: %+v", old.Diff(swapped))
	}

	changed := mustParse(t, "sluice.yaml", `
identities: [{name: ci, kind: service}]
log: {level: debug}
plugins:
  - {name: a, path: a.wasm}
  - {name: b, path: b.wasm, config: {x: 2}}
  - {name: d, path: d.wasm}
targets:
  - {name: t, protocol: http, listen: "127.0.0.1:8080", upstream: {address: "http://x"}, plugins: [a, b]}
`, nil)
	d := old.Diff(changed)
	if old.PluginsEqual(changed) || !slices.Equal(d.AddedPlugins, []string{"d"}) ||
		!slices.Equal(d.RemovedPlugins, []string{"c"}) || !slices.Equal(d.ChangedPlugins, []string{"b"}) {
		t.Errorf("Diff = %+v", d)
	}
	if got := d.Sections(); !slices.Equal(got, []string{"log", "plugins", "targets"}) {
		t.Errorf("Sections = %v", got)
	}
}

func TestApprovalsAndStoreSections(t *testing.T) {
	c, err := Parse("a.yaml", []byte(`
approvals: {required: 2, expiry: 30m, max_grant: 0s, webhook: {url: "https://hooks.example/T0/B0/secret", headers: {Authorization: "Bearer x"}}}
store: {session_quota: 1MiB, min_free: 0, retention_days: 0}
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	a := c.Approvals()
	if a.Required != 2 || a.Expiry != 30*time.Minute || a.MaxGrant != 0 || a.WebhookHeaders["Authorization"] != "Bearer x" {
		t.Errorf("approvals %+v", a)
	}
	if s := c.Store(); s.SessionQuota != 1<<20 || s.MinFree != 0 || s.RetentionDays != 0 {
		t.Errorf("store %+v", s)
	}
	d := Default()
	if a := d.Approvals(); a.Required != 1 || a.Expiry != 15*time.Minute || a.MaxGrant != time.Hour || a.WebhookURL != "" {
		t.Errorf("default approvals %+v", a)
	}
	_, err = Parse("b.yaml", []byte(`
approvals: {required: 0, expiry: -1m, max_grant: 1000h, webhook: {url: "ftp://secret-in-url.example/x"}}
store: {session_quota: 1KiB, retention_days: -1}
`), nil)
	for _, want := range []string{"approvals.required", "approvals.expiry", "approvals.max_grant", "approvals.webhook.url", "store.session_quota", "store.retention_days"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want an error naming %s, got %v", want, err)
		}
	}
	if err != nil && strings.Contains(err.Error(), "secret-in-url") {
		t.Errorf("the webhook URL is echoed: %v", err)
	}
	_, err = Parse("c.yaml", []byte(`approvals: {webhook: {headers: {X: y}}}`), nil)
	if err == nil || !strings.Contains(err.Error(), "without approvals.webhook.url") {
		t.Errorf("headers without a URL: %v", err)
	}
}

func TestHTTPTargetAndOIDC(t *testing.T) {
	c, err := Parse("h.yaml", []byte(`
identities:
  - {name: ci-deploy, kind: service}
targets:
  - name: api
    protocol: http
    listen: 127.0.0.1:18081
    upstream: {address: "https://api.internal", server_name: api.internal, credential: {kind: header, header: X-Api-Key, env: API_KEY}}
    http: {unknown_content_type: block, mask_request_body: true, approval_wait: 5s, max_request_body: 1MiB}
oidc:
  issuers:
    - issuer: https://token.actions.githubusercontent.com
      audience: sluice
      jwks_url: https://token.actions.githubusercontent.com/.well-known/jwks
      rules:
        - {claims: {repository: acme/deploy, ref: refs/heads/main}, identity: ci-deploy}
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	tg, _ := c.Target("api")
	if tg.Upstream.Credential.Header != "X-Api-Key" || tg.Upstream.ServerName != "api.internal" || tg.HTTP.UnknownContentType != "block" ||
		!tg.HTTP.MaskRequestBody || tg.HTTP.ApprovalWait != 5*time.Second || tg.HTTP.MaxRequestBody != 1<<20 {
		t.Errorf("target %+v", tg)
	}
	is := c.OIDCIssuers()
	if len(is) != 1 || is[0].Leeway != time.Minute || is[0].Rules[0].Identity != "ci-deploy" {
		t.Errorf("oidc %+v", is)
	}
	_, err = Parse("bad.yaml", []byte(`
identities:
  - {name: ci-deploy, kind: service}
targets:
  - name: db
    protocol: postgres
    listen: 127.0.0.1:16432
    upstream: {address: "127.0.0.1:5432", credential: {kind: bearer}}
    http: {mask_request_body: true}
  - name: api
    protocol: http
    listen: 127.0.0.1:18082
    upstream: {address: "http://127.0.0.1:1", credential: {kind: header, env: A, file: b}}
    http: {unknown_content_type: drop}
oidc:
  issuers:
    - {issuer: "not a url", jwks_file: a, jwks_url: "http://x", algorithms: [HS256], rules: [{claims: {}, identity: nobody}]}
`), nil)
	for _, want := range []string{
		"targets[0].upstream.credential: only http targets", "targets[0].http: only http targets",
		"targets[1].upstream.credential.header: missing", "targets[1].upstream.credential: set env or file",
		"targets[1].http.unknown_content_type", "oidc.issuers[0].issuer", "oidc.issuers[0].audience: missing",
		"set exactly one of jwks_file and jwks_url", "oidc.issuers[0].algorithms[0]",
		"oidc.issuers[0].rules[0].claims: missing", "oidc.issuers[0].rules[0].identity",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want an error with %q, got %v", want, err)
		}
	}
}

func TestSSHTargetSettings(t *testing.T) {
	const ca = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl ca"
	c, err := Parse("s.yaml", []byte(`
targets:
  - name: hosts
    protocol: ssh
    listen: 127.0.0.1:12222
    upstream: {address: "127.0.0.1:22", user: deploy, key_env: DEPLOY_KEY, host_key_fingerprint: "SHA256:abc"}
    ssh:
      user_ca: ["`+ca+`"]
      idle_timeout: 10m
      session_timeout: 0s
      max_channels: 4
      binary_output: pass
      ciphers: [chacha20-poly1305@openssh.com]
      sftp:
        enabled: true
        mask_reads: true
        rules:
          - {path: /etc/**, ops: [write, remove], action: block}
  - name: defaults
    protocol: ssh
    listen: 127.0.0.1:12223
    upstream: {address: "127.0.0.1:22", user: deploy, password: pw, host_key_fingerprint: "SHA256:abc"}
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	tg, _ := c.Target("hosts")
	s := tg.SSH
	if tg.Upstream.KeyEnv != "DEPLOY_KEY" || len(s.UserCA) != 1 || s.IdleTimeout != 10*time.Minute || s.SessionTimeout != 0 ||
		s.MaxChannels != 4 || s.BinaryOutput != "pass" || len(s.Ciphers) != 1 || !s.SFTP.Enabled || !s.SFTP.MaskReads ||
		len(s.SFTP.Rules) != 1 || s.SFTP.Rules[0].Path != "/etc/**" || s.SFTP.Rules[0].Action != "block" {
		t.Errorf("ssh settings %+v", s)
	}
	d, _ := c.Target("defaults")
	if ds := d.SSH; ds.IdleTimeout != time.Hour || ds.SessionTimeout != 24*time.Hour || ds.MaxChannels != 10 ||
		ds.KeepaliveInterval != 15*time.Second || ds.KeepaliveCountMax != 3 || ds.BinaryOutput != "mask" || ds.SFTP.Enabled ||
		!slices.Equal(ds.Ciphers, DefaultSSHCiphers) {
		t.Errorf("ssh defaults %+v", ds)
	}
	_, err = Parse("bad.yaml", []byte(`
targets:
  - name: db
    protocol: postgres
    listen: 127.0.0.1:16432
    upstream: {address: "127.0.0.1:5432", key_env: K}
    ssh: {idle_timeout: 1m}
  - name: hosts
    protocol: ssh
    listen: 127.0.0.1:12222
    upstream: {address: "127.0.0.1:22", key_file: k, key_env: K, host_key_fingerprint: "SHA256:abc"}
    ssh:
      user_ca: [not-a-key]
      idle_timeout: -1s
      max_channels: 0
      binary_output: raw
      ciphers: [3des-cbc]
      sftp: {rules: [{path: etc, ops: [chmod], action: deny}]}
`), nil)
	for _, want := range []string{
		"targets[0].upstream.key_env: only ssh targets", "targets[0].ssh: only ssh targets",
		"targets[1].upstream: set key_file or key_env, not both", "targets[1].ssh.user_ca[0]",
		"targets[1].ssh.idle_timeout", "targets[1].ssh.max_channels", "targets[1].ssh.binary_output", "targets[1].ssh.ciphers[0]",
		"targets[1].ssh.sftp.rules[0].path", "targets[1].ssh.sftp.rules[0].ops[0]", "targets[1].ssh.sftp.rules[0].action",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want an error with %q, got %v", want, err)
		}
	}
}
