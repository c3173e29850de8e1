package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"golang.org/x/crypto/ssh"
	"math"
	"net"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

var (
	// Plugin and target names label metrics and appear in CLI arguments and
	// URLs, hence the conservative alphabet.
	resourceName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)
	// Identity names may also be e-mail-like, for humans.
	identityName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$`)
	tokenHash    = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
)

// builder turns a decoded fileSchema into a Config: it applies defaults,
// parses durations and sizes, resolves paths and checks every rule,
// reporting each problem at its key and carrying on, so one run shows all
// of them.
type builder struct {
	p         *problems
	templates map[string]string // key -> unexpanded text, for keys that held ${...}
	baseDir   string            // relative paths are resolved against it
}

func (b *builder) build(s *fileSchema) *Config {
	c := &Config{}

	c.dataDir = "./sluice-data"
	if s.DataDir != nil {
		c.dataDir = *s.DataDir
		b.required("data_dir", c.dataDir)
	}
	c.dataDir = b.resolve(c.dataDir)

	c.admin.Listen = b.defaultString(s.Admin.Listen, "127.0.0.1:9090")
	b.hostPort("admin.listen", c.admin.Listen)
	if s.Admin.TLS.Cert != nil && *s.Admin.TLS.Cert != "" {
		c.admin.TLSCert = b.resolve(*s.Admin.TLS.Cert)
	}
	if s.Admin.TLS.Key != nil && *s.Admin.TLS.Key != "" {
		c.admin.TLSKey = b.resolve(*s.Admin.TLS.Key)
	}
	if (c.admin.TLSCert == "") != (c.admin.TLSKey == "") {
		b.p.add("admin.tls", "set both cert and key, or neither")
	}

	c.log.Level = b.defaultString(s.Log.Level, "info")
	b.oneOf("log.level", c.log.Level, "debug", "info", "warn", "error")
	c.log.Format = b.defaultString(s.Log.Format, "text")
	b.oneOf("log.format", c.log.Format, "text", "json")

	c.runtime.Engine = Engine(b.defaultString(s.Runtime.Engine, string(EngineWazero)))
	b.oneOf("runtime.engine", string(c.runtime.Engine), string(EngineWazero), string(EngineWasmtime))
	c.runtime.CompileCache = b.boolean("runtime.compile_cache", s.Runtime.CompileCache, true)

	c.store.SessionQuota, _ = b.byteSize("store.session_quota", s.Store.SessionQuota, 64<<20)
	if c.store.SessionQuota < 64<<10 {
		b.p.add("store.session_quota", "%s is less than 64KiB: a session could not record its own commands", b.showAny("store.session_quota", s.Store.SessionQuota))
	}
	c.store.MinFree, _ = b.byteSize("store.min_free", s.Store.MinFree, 256<<20)
	c.store.RetentionDays = b.integer("store.retention_days", s.Store.RetentionDays, 90)
	if c.store.RetentionDays < 0 {
		b.p.add("store.retention_days", "%d is negative (0 keeps sessions forever)", c.store.RetentionDays)
	}

	c.store.SyncReads = b.boolean("store.sync_reads", s.Store.SyncReads, false)
	c.store.SyncInterval = b.duration("store.sync_interval", s.Store.SyncInterval, 10*time.Millisecond)
	if c.store.SyncInterval < time.Millisecond || c.store.SyncInterval > time.Second {
		b.p.add("store.sync_interval", "%s is not from 1ms to 1s", c.store.SyncInterval)
	}

	c.approvals.Required = b.integer("approvals.required", s.Approvals.Required, 1)
	if c.approvals.Required < 1 || c.approvals.Required > 10 {
		b.p.add("approvals.required", "%d is not from 1 to 10", c.approvals.Required)
	}
	c.approvals.Expiry = b.duration("approvals.expiry", s.Approvals.Expiry, 15*time.Minute)
	if c.approvals.Expiry <= 0 || c.approvals.Expiry > 7*24*time.Hour {
		b.p.add("approvals.expiry", "%s is not more than 0 and at most 168h", c.approvals.Expiry)
	}
	c.approvals.MaxGrant = b.duration("approvals.max_grant", s.Approvals.MaxGrant, time.Hour)
	if c.approvals.MaxGrant < 0 || c.approvals.MaxGrant > 30*24*time.Hour {
		b.p.add("approvals.max_grant", "%s is not from 0 (only once grants) to 720h", c.approvals.MaxGrant)
	}
	if s.Approvals.Webhook.URL != nil && *s.Approvals.Webhook.URL != "" {
		c.approvals.WebhookURL = *s.Approvals.Webhook.URL
		if u, err := url.Parse(c.approvals.WebhookURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			// Not echoed: chat webhooks keep their secret in the URL.
			b.p.add("approvals.webhook.url", "not an http:// or https:// URL")
		}
	}
	if len(s.Approvals.Webhook.Headers) > 0 {
		c.approvals.WebhookHeaders = map[string]string{}
		for k, v := range s.Approvals.Webhook.Headers {
			c.approvals.WebhookHeaders[k] = v
		}
		if c.approvals.WebhookURL == "" {
			b.p.add("approvals.webhook.headers", "set without approvals.webhook.url")
		}
	}

	identities := map[string]string{} // name -> key of its entry
	defer func() {
		// OIDC rules name identities: checked once they are all known.
		for i, is := range s.OIDC.Issuers {
			c.oidc = append(c.oidc, b.oidcIssuer(indexKey("oidc.issuers", i), is, identities))
		}
	}()
	hashes := map[string]string{} // token hash -> key where it is listed
	for i, is := range s.Identities {
		c.identities = append(c.identities, b.identity(indexKey("identities", i), is, identities, hashes))
	}

	plugins := map[string]string{}
	for i, ps := range s.Plugins {
		c.plugins = append(c.plugins, b.plugin(indexKey("plugins", i), ps, plugins))
	}

	targets := map[string]string{}
	listeners := []listener{}
	if l, ok := parseListener("admin.listen", c.admin.Listen); ok {
		listeners = append(listeners, l)
	}
	c.demo.Enabled = b.boolean("demo.enabled", s.Demo.Enabled, false)
	c.demo.Listen = b.defaultString(s.Demo.Listen, "127.0.0.1:9091")
	if c.demo.Enabled && b.hostPort("demo.listen", c.demo.Listen) {
		if l, ok := parseListener("demo.listen", c.demo.Listen); ok {
			for _, o := range listeners {
				if l.overlaps(o) {
					b.p.add("demo.listen", "%s overlaps %s", b.show("demo.listen", c.demo.Listen), o.key)
				}
			}
			listeners = append(listeners, l)
		}
	}
	for i, ts := range s.Targets {
		c.targets = append(c.targets, b.target(indexKey("targets", i), ts, targets, identities, plugins, &listeners))
	}
	return c
}

func (b *builder) identity(key string, s identitySchema, names, hashes map[string]string) Identity {
	id := Identity{Name: s.Name, Kind: IdentityKind(s.Kind), TokenHashes: s.TokenHashes, SSHKeys: s.SSHKeys}
	for j, k := range s.SSHKeys {
		if _, _, _, _, err := ssh.ParseAuthorizedKey([]byte(k)); err != nil {
			b.p.add(indexKey(key+".ssh_keys", j), "not an authorized_keys line (\"ssh-ed25519 AAAA... comment\"): %v", err)
		}
	}
	b.name(key, s.Name, identityName, names,
		`use letters, digits, ".", "_", "-" and "@", starting with a letter or digit, at most 128 characters`)
	if b.required(key+".kind", s.Kind) {
		b.oneOf(key+".kind", s.Kind, string(KindService), string(KindHuman))
	}
	seen := map[string]string{}
	for j, r := range s.Roles {
		rk := indexKey(key+".roles", j)
		if b.oneOf(rk, r, string(RoleReviewer), string(RoleAdmin)) && b.once(rk, r, seen) {
			id.Roles = append(id.Roles, Role(r))
		}
	}
	for j, h := range s.TokenHashes {
		hk := indexKey(key+".token_hashes", j)
		// Never echo the value: a raw token pasted here by mistake must not
		// end up in a log.
		if !tokenHash.MatchString(h) {
			b.p.add(hk, "not of the form sha256:<64 lowercase hex digits> (`sluice token hash` prints one)")
			continue
		}
		if prev, ok := hashes[h]; ok {
			b.p.add(hk, "already used by %s", prev)
			continue
		}
		hashes[h] = hk
	}
	return id
}

func (b *builder) plugin(key string, s pluginSchema, names map[string]string) Plugin {
	pl := Plugin{Name: s.Name}
	b.name(key, s.Name, resourceName, names,
		`use lowercase letters, digits, ".", "_" and "-", starting with a letter or digit, at most 63 characters`)
	if b.required(key+".path", s.Path) {
		pl.Path = b.resolve(s.Path)
	}
	if s.Config != nil {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		// encoding/json sorts map keys, which makes the bytes canonical.
		if err := enc.Encode(s.Config); err != nil {
			b.p.add(key+".config", "cannot be encoded as JSON: %v", err)
		} else {
			pl.config = bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
		}
	}
	pl.OnError = FailMode(b.defaultString(s.OnError, string(FailClosed)))
	b.oneOf(key+".on_error", string(pl.OnError), string(FailClosed), string(FailOpen))

	pl.Timeout = b.duration(key+".timeout", s.Timeout, DefaultPluginTimeout)
	if pl.Timeout <= 0 || pl.Timeout > MaxPluginTimeout {
		b.p.add(key+".timeout", "%s is out of range: want more than 0 and at most %s", b.showAny(key+".timeout", s.Timeout), MaxPluginTimeout)
	}
	pl.MemoryLimit = b.size(key+".memory_limit", s.MemoryLimit, DefaultMemoryLimit)
	pl.PoolSize = b.integer(key+".pool_size", s.PoolSize, 0)
	if pl.PoolSize < 0 || pl.PoolSize > MaxPoolSize {
		b.p.add(key+".pool_size", "%s is out of range: want 0 (meaning 2*GOMAXPROCS) to %d", b.showAny(key+".pool_size", s.PoolSize), MaxPoolSize)
	}
	pl.Breaker.Failures = b.integer(key+".breaker.failures", s.Breaker.Failures, DefaultBreakerFailures)
	if pl.Breaker.Failures < 1 {
		b.p.add(key+".breaker.failures", "%s is out of range: want at least 1", b.showAny(key+".breaker.failures", s.Breaker.Failures))
	}
	pl.Breaker.Cooldown = b.duration(key+".breaker.cooldown", s.Breaker.Cooldown, DefaultBreakerCooldown)
	if pl.Breaker.Cooldown <= 0 {
		b.p.add(key+".breaker.cooldown", "%s is out of range: want more than 0", b.showAny(key+".breaker.cooldown", s.Breaker.Cooldown))
	}
	return pl
}

func (b *builder) target(key string, s targetSchema, names, identities, plugins map[string]string, listeners *[]listener) Target {
	t := Target{
		Name:     s.Name,
		Protocol: Protocol(s.Protocol),
		Listen:   s.Listen,
		Upstream: Upstream{
			Address: s.Upstream.Address, Database: s.Upstream.Database, User: s.Upstream.User,
			Password: s.Upstream.Password, SSLMode: s.Upstream.SSLMode, ServerName: s.Upstream.ServerName,
			Credential: Credential(s.Upstream.Credential),
		},
	}
	b.name(key, s.Name, resourceName, names,
		`use lowercase letters, digits, ".", "_" and "-", starting with a letter or digit, at most 63 characters`)
	protocolOK := b.required(key+".protocol", s.Protocol) &&
		b.oneOf(key+".protocol", s.Protocol, string(ProtocolPostgres), string(ProtocolHTTP), string(ProtocolSSH))

	lk := key + ".listen"
	if b.required(lk, s.Listen) && b.hostPort(lk, s.Listen) {
		l, _ := parseListener(lk, s.Listen)
		for _, o := range *listeners {
			if l.overlaps(o) {
				if l.addr == o.addr {
					b.p.add(lk, "%s already used by %s", b.show(lk, s.Listen), o.key)
				} else {
					b.p.add(lk, "%s overlaps %s (%q)", b.show(lk, s.Listen), o.key, o.addr)
				}
				break
			}
		}
		*listeners = append(*listeners, l)
	}

	ak := key + ".upstream.address"
	if b.required(ak, s.Upstream.Address) && protocolOK {
		if t.Protocol == ProtocolHTTP {
			b.httpAddress(ak, s.Upstream.Address)
		} else {
			b.hostPort(ak, s.Upstream.Address)
		}
	}

	seen := map[string]string{}
	for j, name := range s.Allow {
		k := indexKey(key+".allow", j)
		if _, ok := identities[name]; !ok {
			b.p.add(k, "%s is not a defined identity", b.show(k, name))
			continue
		}
		b.once(k, name, seen)
	}
	seen = map[string]string{}
	for j, name := range s.Plugins {
		k := indexKey(key+".plugins", j)
		if _, ok := plugins[name]; !ok {
			b.p.add(k, "%s is not a defined plugin", b.show(k, name))
			continue
		}
		b.once(k, name, seen)
	}
	if s.Upstream.SSLMode != "" {
		if t.Protocol != ProtocolPostgres {
			b.p.add(key+".upstream.sslmode", "only postgres targets have an sslmode")
		} else {
			b.oneOf(key+".upstream.sslmode", s.Upstream.SSLMode, "disable", "allow", "prefer", "require", "verify-ca", "verify-full")
		}
	}
	if s.Upstream.RootCert != "" {
		t.Upstream.RootCert = b.resolve(s.Upstream.RootCert)
	}
	if s.TLS.Cert != "" {
		t.TLSCert = b.resolve(s.TLS.Cert)
	}
	if s.TLS.Key != "" {
		t.TLSKey = b.resolve(s.TLS.Key)
	}
	if (t.TLSCert == "") != (t.TLSKey == "") {
		b.p.add(key+".tls", "set both cert and key, or neither")
	}
	t.AllowCleartext = b.boolean(key+".allow_cleartext", s.AllowCleartext, false)
	if s.ClientAuth != nil && t.Protocol != ProtocolPostgres {
		b.p.add(key+".client_auth", "only postgres targets have it")
	}
	t.ClientAuth = b.defaultString(s.ClientAuth, "auto")
	b.oneOf(key+".client_auth", t.ClientAuth, "auto", "scram-sha-256", "password")
	b.targetHTTP(key, s, &t)
	b.targetSSH(key, s, &t)
	t.Allow = s.Allow
	t.Plugins = s.Plugins
	return t
}

// name checks an entry's name: present, well-formed and unique among its
// list. Ill-formed names still count as defined, so references to them do
// not add a second error.
func (b *builder) name(entryKey, name string, pattern *regexp.Regexp, defined map[string]string, rule string) {
	key := entryKey + ".name"
	if !b.required(key, name) {
		return
	}
	if !pattern.MatchString(name) {
		b.p.add(key, "%s is not a valid name: %s", b.show(key, name), rule)
	}
	if prev, ok := defined[name]; ok {
		b.p.add(key, "%s already used by %s", b.show(key, name), prev)
		return
	}
	defined[name] = entryKey
}

// once reports a value listed twice in one list.
func (b *builder) once(key, value string, seen map[string]string) bool {
	if prev, ok := seen[value]; ok {
		b.p.add(key, "%s already listed at %s", b.show(key, value), prev)
		return false
	}
	seen[value] = key
	return true
}

func (b *builder) required(key, value string) bool {
	if value == "" {
		b.p.add(key, "missing")
		return false
	}
	return true
}

func (b *builder) defaultString(v *string, def string) string {
	if v == nil {
		return def
	}
	return *v
}

func (b *builder) oneOf(key, value string, allowed ...string) bool {
	for _, a := range allowed {
		if value == a {
			return true
		}
	}
	b.p.add(key, "%s is not one of %s", b.show(key, value), strings.Join(allowed, ", "))
	return false
}

// show quotes a value for a message, unless it came from ${VAR}
// expansion: then the template is shown instead, because the value may be
// a secret.
func (b *builder) show(key, value string) string {
	if t, ok := b.templates[key]; ok {
		return fmt.Sprintf("the expansion of %q", t)
	}
	return strconv.Quote(value)
}

func (b *builder) showAny(key string, v any) string {
	if s, ok := v.(string); ok {
		return b.show(key, s)
	}
	if v == nil {
		return "the default"
	}
	return fmt.Sprint(v)
}

// resolve makes a relative path relative to the config file's directory.
// "~" is not special; write ${HOME}.
func (b *builder) resolve(path string) string {
	if path == "" || filepath.IsAbs(path) {
		return filepath.Clean(path)
	}
	return filepath.Join(b.baseDir, path)
}

func (b *builder) boolean(key string, v any, def bool) bool {
	switch x := v.(type) {
	case nil:
		return def
	case bool:
		return x
	case string: // from the environment or ${VAR}
		if r, err := strconv.ParseBool(x); err == nil {
			return r
		}
		b.p.add(key, "%s is not true or false", b.show(key, x))
	default:
		b.p.add(key, "expected true or false, got %s", yamlType(v))
	}
	return def
}

func (b *builder) integer(key string, v any, def int) int {
	switch x := v.(type) {
	case nil:
		return def
	case int:
		return x
	case int64:
		if x >= math.MinInt32 && x <= math.MaxInt32 {
			return int(x)
		}
	case uint64:
		if x <= math.MaxInt32 {
			return int(x)
		}
	case string: // from ${VAR}
		if n, err := strconv.Atoi(strings.TrimSpace(x)); err == nil {
			return n
		}
		b.p.add(key, "%s is not a whole number", b.show(key, x))
		return def
	default:
		b.p.add(key, "expected a whole number, got %s", yamlType(v))
		return def
	}
	b.p.add(key, "%v is out of range", v)
	return def
}

func (b *builder) duration(key string, v any, def time.Duration) time.Duration {
	switch x := v.(type) {
	case nil:
		return def
	case string:
		d, err := time.ParseDuration(strings.TrimSpace(x))
		if err == nil {
			return d
		}
		b.p.add(key, "%s is not a duration (e.g. 250ms, 2s, 1m30s)", b.show(key, x))
	default:
		b.p.add(key, "expected a duration with a unit (e.g. 250ms, 2s), got %s", yamlType(v))
	}
	// The caller's range check must not pile on.
	return def
}

// size parses plugins[].memory_limit and rounds it up to whole Wasm pages.
// size is a plugin memory limit: a byteSize within wasm32's memory,
// rounded up to whole pages.
func (b *builder) size(key string, v any, def int64) int64 {
	n, ok := b.byteSize(key, v, def)
	if !ok || v == nil {
		return n
	}
	switch {
	case n < MinMemoryLimit:
		b.p.add(key, "%s is less than the minimum 1MiB", b.showAny(key, v))
		return def
	case n > MaxMemoryLimit:
		b.p.add(key, "%s is more than the maximum 4GiB (all of wasm32's memory)", b.showAny(key, v))
		return def
	}
	return (n + WasmPageSize - 1) / WasmPageSize * WasmPageSize
}

// byteSize is a number of bytes, or a size such as 64MiB; ok is false
// (and def returned) when it is not one.
func (b *builder) byteSize(key string, v any, def int64) (int64, bool) {
	var n int64
	switch x := v.(type) {
	case nil:
		return def, true
	case int:
		n = int64(x)
	case int64:
		n = x
	case uint64:
		if x > math.MaxInt64 {
			n = math.MaxInt64
		} else {
			n = int64(x)
		}
	case string:
		var msg string
		n, msg = parseSize(x)
		if msg != "" {
			b.p.add(key, "%s %s", b.show(key, x), msg)
			return def, false
		}
	default:
		b.p.add(key, "expected a size such as 64MiB or a number of bytes, got %s", yamlType(v))
		return def, false
	}
	if n < 0 {
		b.p.add(key, "%s is negative", b.showAny(key, v))
		return def, false
	}
	return n, true
}

// parseSize reads "<digits>[ ]<unit>" with unit one of B, KiB, MiB, GiB
// (any case) or none for bytes. On failure it returns the rest of a message.
func parseSize(s string) (int64, string) {
	s = strings.TrimSpace(s)
	i := 0
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, "is not a size: want a whole number of bytes or of KiB, MiB or GiB, e.g. 64MiB"
	}
	unit := strings.TrimSpace(s[i:])
	var mult int64
	switch strings.ToLower(unit) {
	case "", "b":
		mult = 1
	case "kib":
		mult = 1 << 10
	case "mib":
		mult = 1 << 20
	case "gib":
		mult = 1 << 30
	case "k", "kb", "m", "mb", "g", "gb":
		return 0, "has an ambiguous unit: write KiB, MiB or GiB (powers of 1024), e.g. 64MiB"
	default:
		return 0, "is not a size: want a whole number of bytes or of KiB, MiB or GiB, e.g. 64MiB"
	}
	n, err := strconv.ParseInt(s[:i], 10, 64)
	if err != nil || n > math.MaxInt64/mult {
		return math.MaxInt64, ""
	}
	return n * mult, ""
}

func (b *builder) hostPort(key, value string) bool {
	host, port, err := net.SplitHostPort(value)
	if err != nil {
		b.p.add(key, "%s is not host:port", b.show(key, value))
		return false
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		b.p.add(key, "%s has an invalid port: want a number from 0 to 65535", b.show(key, value))
		return false
	}
	if strings.ContainsAny(host, " /") {
		b.p.add(key, "%s is not host:port", b.show(key, value))
		return false
	}
	return true
}

func (b *builder) httpAddress(key, value string) {
	if !strings.Contains(value, "://") {
		b.hostPort(key, value)
		return
	}
	u, err := url.Parse(value)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		b.p.add(key, "%s is not host:port or an http:// or https:// URL", b.show(key, value))
	}
}

// listener is a parsed listen address, to find two that would collide.
type listener struct {
	key  string // the config key it came from
	addr string
	host string
	port string
}

func parseListener(key, addr string) (listener, bool) {
	host, port, err := net.SplitHostPort(addr)
	return listener{key: key, addr: addr, host: host, port: port}, err == nil
}

// overlaps reports whether binding both would fail: same port, and the same
// host or either one a wildcard. Port 0 asks the kernel for a free port, so
// it never collides.
func (l listener) overlaps(o listener) bool {
	if l.port != o.port || l.port == "0" {
		return false
	}
	return l.host == o.host || isWildcard(l.host) || isWildcard(o.host)
}

func isWildcard(host string) bool {
	return host == "" || host == "0.0.0.0" || host == "::"
}

// targetHTTP checks the keys only http targets have.
func (b *builder) targetHTTP(key string, s targetSchema, t *Target) {
	httpOnly := func(k string, set bool) {
		if set && t.Protocol != ProtocolHTTP {
			b.p.add(k, "only http targets have it")
		}
	}
	u := s.Upstream
	httpOnly(key+".upstream.ca", u.CA != "")
	httpOnly(key+".upstream.server_name", u.ServerName != "")
	httpOnly(key+".upstream.credential", u.Credential != credentialSchema{})
	hs := s.HTTP
	httpOnly(key+".http", hs.UnknownContentType != nil || hs.MaskRequestBody != nil || hs.ApprovalWait != nil || hs.MaxRequestBody != nil)
	if u.CA != "" {
		t.Upstream.CA = b.resolve(u.CA)
	}
	ck := key + ".upstream.credential"
	if c := u.Credential; c.Kind != "" {
		b.oneOf(ck+".kind", c.Kind, "bearer", "basic", "header", "none")
		if c.Kind == "header" && c.Header == "" {
			b.p.add(ck+".header", "missing (kind header needs the header's name)")
		}
	} else if c.Header != "" {
		b.p.add(ck+".kind", "missing (a header name is only for kind header)")
	}
	if u.Credential.Env != "" && u.Credential.File != "" {
		b.p.add(ck, "set env or file, not both")
	}
	if u.Credential.File != "" {
		t.Upstream.Credential.File = b.resolve(u.Credential.File)
	}
	t.HTTP.UnknownContentType = b.defaultString(hs.UnknownContentType, "pass")
	b.oneOf(key+".http.unknown_content_type", t.HTTP.UnknownContentType, "pass", "block")
	t.HTTP.MaskRequestBody = b.boolean(key+".http.mask_request_body", hs.MaskRequestBody, false)
	t.HTTP.ApprovalWait = b.duration(key+".http.approval_wait", hs.ApprovalWait, 30*time.Second)
	if t.HTTP.ApprovalWait < 0 || t.HTTP.ApprovalWait > 10*time.Minute {
		b.p.add(key+".http.approval_wait", "%s is not from 0 to 10m", t.HTTP.ApprovalWait)
	}
	t.HTTP.MaxRequestBody, _ = b.byteSize(key+".http.max_request_body", hs.MaxRequestBody, 32<<20)
}

// oidcIssuer checks one trusted issuer and its rules.
func (b *builder) oidcIssuer(key string, s oidcIssuerSchema, identities map[string]string) OIDCIssuer {
	is := OIDCIssuer{Issuer: s.Issuer, Audience: s.Audience, JWKSURL: s.JWKSURL, Algorithms: s.Algorithms}
	if b.required(key+".issuer", s.Issuer) {
		if u, err := url.Parse(s.Issuer); err != nil || u.Scheme != "https" && u.Scheme != "http" || u.Host == "" {
			b.p.add(key+".issuer", "%s is not an http(s) URL", b.show(key+".issuer", s.Issuer))
		}
	}
	b.required(key+".audience", s.Audience)
	switch {
	case (s.JWKSFile == "") == (s.JWKSURL == ""):
		b.p.add(key, "set exactly one of jwks_file and jwks_url")
	case s.JWKSFile != "":
		is.JWKSFile = b.resolve(s.JWKSFile)
	default:
		b.httpAddress(key+".jwks_url", s.JWKSURL)
	}
	for j, a := range s.Algorithms {
		b.oneOf(indexKey(key+".algorithms", j), a, "RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512")
	}
	is.Leeway = b.duration(key+".leeway", s.Leeway, time.Minute)
	if is.Leeway < 0 || is.Leeway > 10*time.Minute {
		b.p.add(key+".leeway", "%s is not from 0 to 10m", is.Leeway)
	}
	if len(s.Rules) == 0 {
		b.p.add(key+".rules", "missing: without rules no token maps to an identity")
	}
	for j, r := range s.Rules {
		rk := indexKey(key+".rules", j)
		if len(r.Claims) == 0 {
			b.p.add(rk+".claims", "missing: a rule without claims would map every token of the issuer")
		}
		if b.required(rk+".identity", r.Identity) {
			if _, ok := identities[r.Identity]; !ok {
				b.p.add(rk+".identity", "%s is not a defined identity", b.show(rk+".identity", r.Identity))
			}
		}
		is.Rules = append(is.Rules, OIDCRule{Claims: r.Claims, Identity: r.Identity})
	}
	return is
}

// targetSSH checks the keys only ssh targets have.
func (b *builder) targetSSH(key string, s targetSchema, t *Target) {
	u := s.Upstream
	uk := key + ".upstream"
	ss := s.SSH
	if t.Protocol != ProtocolSSH {
		for k, set := range map[string]bool{".key_file": u.KeyFile != "", ".key_env": u.KeyEnv != "", ".known_hosts": u.KnownHosts != "", ".host_key_fingerprint": u.HostKeyFingerprint != ""} {
			if set {
				b.p.add(uk+k, "only ssh targets have it")
			}
		}
		if ss.UserCA != nil || ss.IdleTimeout != nil || ss.SessionTimeout != nil || ss.MaxChannels != nil ||
			ss.KeepaliveInterval != nil || ss.KeepaliveCountMax != nil || ss.BinaryOutput != nil || ss.Ciphers != nil ||
			ss.SFTP.Enabled != nil || ss.SFTP.MaskReads != nil || ss.SFTP.Rules != nil {
			b.p.add(key+".ssh", "only ssh targets have it")
		}
		return
	}
	sk := key + ".ssh"
	for j, k := range ss.UserCA {
		if _, _, _, _, err := ssh.ParseAuthorizedKey([]byte(k)); err != nil {
			b.p.add(indexKey(sk+".user_ca", j), "not an authorized_keys line (\"ssh-ed25519 AAAA... ca\"): %v", err)
		}
	}
	t.SSH.UserCA = ss.UserCA
	t.SSH.IdleTimeout = b.duration(sk+".idle_timeout", ss.IdleTimeout, time.Hour)
	t.SSH.SessionTimeout = b.duration(sk+".session_timeout", ss.SessionTimeout, 24*time.Hour)
	for k, d := range map[string]time.Duration{".idle_timeout": t.SSH.IdleTimeout, ".session_timeout": t.SSH.SessionTimeout} {
		if d < 0 {
			b.p.add(sk+k, "%s is negative (0 turns it off)", d)
		}
	}
	t.SSH.MaxChannels = b.integer(sk+".max_channels", ss.MaxChannels, 10)
	if t.SSH.MaxChannels < 1 || t.SSH.MaxChannels > 1000 {
		b.p.add(sk+".max_channels", "%d is not from 1 to 1000", t.SSH.MaxChannels)
	}
	t.SSH.KeepaliveInterval = b.duration(sk+".keepalive_interval", ss.KeepaliveInterval, 15*time.Second)
	if t.SSH.KeepaliveInterval < 0 {
		b.p.add(sk+".keepalive_interval", "%s is negative (0 turns keepalives off)", t.SSH.KeepaliveInterval)
	}
	t.SSH.KeepaliveCountMax = b.integer(sk+".keepalive_count_max", ss.KeepaliveCountMax, 3)
	if t.SSH.KeepaliveCountMax < 1 || t.SSH.KeepaliveCountMax > 100 {
		b.p.add(sk+".keepalive_count_max", "%d is not from 1 to 100", t.SSH.KeepaliveCountMax)
	}
	t.SSH.Ciphers = slices.Clone(DefaultSSHCiphers)
	if ss.Ciphers != nil {
		t.SSH.Ciphers = ss.Ciphers
		if len(ss.Ciphers) == 0 {
			b.p.add(sk+".ciphers", "empty: no client could connect")
		}
		for j, c := range ss.Ciphers {
			b.oneOf(indexKey(sk+".ciphers", j), c, SSHCiphers...)
		}
	}
	t.SSH.BinaryOutput = b.defaultString(ss.BinaryOutput, "mask")
	b.oneOf(sk+".binary_output", t.SSH.BinaryOutput, "mask", "pass")
	t.SSH.SFTP.Enabled = b.boolean(sk+".sftp.enabled", ss.SFTP.Enabled, false)
	t.SSH.SFTP.MaskReads = b.boolean(sk+".sftp.mask_reads", ss.SFTP.MaskReads, false)
	for j, r := range ss.SFTP.Rules {
		rk := indexKey(sk+".sftp.rules", j)
		if b.required(rk+".path", r.Path) && !strings.HasPrefix(r.Path, "/") && !strings.HasPrefix(r.Path, "*") {
			b.p.add(rk+".path", "%s is not an absolute path or glob (starts with / or *)", b.show(rk+".path", r.Path))
		}
		for i, op := range r.Ops {
			b.oneOf(indexKey(rk+".ops", i), op, SFTPOps...)
		}
		if b.required(rk+".action", r.Action) {
			b.oneOf(rk+".action", r.Action, "block", "allow")
		}
		t.SSH.SFTP.Rules = append(t.SSH.SFTP.Rules, SFTPRule{Path: r.Path, Ops: r.Ops, Action: r.Action})
	}
	if u.KeyFile != "" {
		t.Upstream.KeyFile = b.resolve(u.KeyFile)
	}
	if u.KnownHosts != "" {
		t.Upstream.KnownHosts = b.resolve(u.KnownHosts)
	}
	t.Upstream.HostKeyFingerprint = u.HostKeyFingerprint
	if (u.KnownHosts == "") == (u.HostKeyFingerprint == "") {
		b.p.add(uk, "set exactly one of known_hosts and host_key_fingerprint: the upstream's host key is never trusted on first use")
	}
	if u.HostKeyFingerprint != "" && !strings.HasPrefix(u.HostKeyFingerprint, "SHA256:") {
		b.p.add(uk+".host_key_fingerprint", "%s is not a SHA256:... fingerprint (ssh-keygen -lf KEY prints one)", b.show(uk+".host_key_fingerprint", u.HostKeyFingerprint))
	}
	t.Upstream.KeyEnv = u.KeyEnv
	if u.KeyFile != "" && u.KeyEnv != "" {
		b.p.add(uk, "set key_file or key_env, not both")
	}
	if u.KeyFile == "" && u.KeyEnv == "" && u.Password == "" {
		b.p.add(uk, "set key_file, key_env or password: sluice needs a credential for the upstream")
	}
}
