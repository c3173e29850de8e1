package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"path/filepath"
	"runtime"
	"slices"
	"time"
)

// Config is one immutable snapshot of a loaded configuration.
//
// Its state is unexported and every method returns values the caller owns:
// slices are fresh copies, so a caller that edits what it got cannot change
// what another goroutine sees. A *Config may therefore be shared freely
// between goroutines. A new file means a new *Config (see [Watch]); nothing
// ever changes one in place.
type Config struct {
	path     string   // as given to Parse; absolute when it came from Load
	file     string   // base name, prefixes every error
	embedded bool     // from Default: there is no file to watch
	digest   [32]byte // sha256 of the YAML bytes, to skip reloads of an unchanged file

	dataDir    string
	admin      Admin
	log        Log
	runtime    Runtime
	store      Store
	approvals  Approvals
	oidc       []OIDCIssuer
	demo       Demo
	identities []Identity
	plugins    []Plugin
	targets    []Target
}

// Path is the file this snapshot was parsed from: absolute when it came
// from [Load], the name given to [Parse] otherwise, and "default.yaml" for
// [Default].
func (c *Config) Path() string { return c.path }

// DataDir is the data_dir key: the directory of the embedded Pebble store
// and the compilation cache. A relative data_dir is resolved against the
// config file's directory (the working directory for the embedded default).
// Default: ./sluice-data.
func (c *Config) DataDir() string { return c.dataDir }

// CompileCacheDir is where compiled plugin modules are cached,
// <data_dir>/compile-cache, or "" when runtime.compile_cache is false.
func (c *Config) CompileCacheDir() string {
	if !c.runtime.CompileCache {
		return ""
	}
	return filepath.Join(c.dataDir, "compile-cache")
}

// Admin is the admin section.
func (c *Config) Admin() Admin { return c.admin }

// Log is the log section.
func (c *Config) Log() Log { return c.log }

// Runtime is the runtime section.
func (c *Config) Runtime() Runtime { return c.runtime }

// Store is the store section.
func (c *Config) Store() Store { return c.store }

// Demo is the demo section.
func (c *Config) Demo() Demo { return c.demo }

// Demo is the demo section: the built-in demo upstream behind `make run`.
type Demo struct {
	// Enabled is demo.enabled: serve the demo API (fake customers as JSON,
	// NDJSON, CSV and text) on Listen, and issue a token for every
	// identity without token_hashes into <data_dir>/tokens/NAME.token.
	// Default false; the embedded defaults turn it on.
	Enabled bool
	// Listen is demo.listen. Default 127.0.0.1:9091.
	Listen string
}

// OIDCIssuers are the trusted ID token issuers (oidc.issuers), a copy.
func (c *Config) OIDCIssuers() []OIDCIssuer {
	out := slices.Clone(c.oidc)
	for i := range out {
		out[i].Algorithms = slices.Clone(out[i].Algorithms)
		out[i].Rules = slices.Clone(out[i].Rules)
	}
	return out
}

// Approvals is the approvals section (a copy).
func (c *Config) Approvals() Approvals {
	a := c.approvals
	a.WebhookHeaders = maps.Clone(a.WebhookHeaders)
	return a
}

// StoreDir is where the Pebble store lives: <data_dir>/store.
func (c *Config) StoreDir() string { return filepath.Join(c.dataDir, "store") }

// Identities returns a copy of the identities, in file order.
func (c *Config) Identities() []Identity {
	out := make([]Identity, len(c.identities))
	for i, id := range c.identities {
		out[i] = id.clone()
	}
	return out
}

// Identity returns a copy of the identity with this name.
func (c *Config) Identity(name string) (Identity, bool) {
	for _, id := range c.identities {
		if id.Name == name {
			return id.clone(), true
		}
	}
	return Identity{}, false
}

// Plugins returns a copy of the plugins, in file order.
func (c *Config) Plugins() []Plugin { return slices.Clone(c.plugins) }

// Plugin returns the plugin with this name.
func (c *Config) Plugin(name string) (Plugin, bool) {
	for _, p := range c.plugins {
		if p.Name == name {
			return p, true
		}
	}
	return Plugin{}, false
}

// Targets returns a copy of the targets, in file order.
func (c *Config) Targets() []Target {
	out := make([]Target, len(c.targets))
	for i, t := range c.targets {
		out[i] = t.clone()
	}
	return out
}

// Target returns a copy of the target with this name.
func (c *Config) Target(name string) (Target, bool) {
	for _, t := range c.targets {
		if t.Name == name {
			return t.clone(), true
		}
	}
	return Target{}, false
}

// String describes the snapshot without any of its values, so printing a
// *Config with %v cannot leak an upstream password.
func (c *Config) String() string {
	return fmt.Sprintf("config %s (%d identities, %d plugins, %d targets)", c.file, len(c.identities), len(c.plugins), len(c.targets))
}

// GoString is String, for %#v.
func (c *Config) GoString() string { return c.String() }

// LogValue keeps slog from walking the snapshot's fields.
func (c *Config) LogValue() slog.Value { return slog.StringValue(c.String()) }

// Admin is the admin section: the admin API the CLI talks to.
type Admin struct {
	// Listen is admin.listen: host:port of the admin API. Keep it on a
	// loopback or otherwise private address. Default: 127.0.0.1:9090.
	Listen string
	// TLSCert and TLSKey are admin.tls.cert and admin.tls.key: PEM files
	// that make the admin API HTTPS. Default: none (plain HTTP, which is
	// why the default listener is loopback).
	TLSCert, TLSKey string
}

// Store is the store section: limits of the session store.
type Store struct {
	// SessionQuota is store.session_quota: bytes recorded per session
	// before output recording stops with a truncation marker (commands
	// are still recorded). Default: 64MiB.
	SessionQuota int64
	// MinFree is store.min_free: free disk space below which new sessions
	// are refused (and below half of which running ones end). Default:
	// 256MiB; 0 turns the check off.
	MinFree int64
	// RetentionDays is store.retention_days: sessions that started longer
	// ago are deleted (checked hourly). Default: 90; 0 keeps them forever.
	RetentionDays int
	// SyncReads is store.sync_reads: sync the record of a read-only
	// statement to disk before forwarding it, like every other command.
	// Default false: such records are written before forwarding and
	// synced in a group within SyncInterval.
	SyncReads bool
	// SyncInterval is store.sync_interval: the longest a written but
	// unsynced record waits for its group sync. Default 10ms.
	SyncInterval time.Duration
}

// Approvals is the approvals section: how commands held for approval are
// decided.
type Approvals struct {
	// Required is approvals.required: distinct reviewers who must approve
	// (one deny is enough to refuse). Default 1; at most 10.
	Required int
	// Expiry is approvals.expiry: how long a request waits for reviewers
	// before it counts as denied. Default 15m; at most 168h.
	Expiry time.Duration
	// MaxGrant is approvals.max_grant: the longest window a reviewer may
	// grant an identity for the same statement. Default 1h; 0 allows only
	// once grants.
	MaxGrant time.Duration
	// WebhookURL is approvals.webhook.url: where new and decided requests
	// are posted (a Slack-compatible JSON body). Default: none.
	WebhookURL string
	// WebhookHeaders is approvals.webhook.headers: added to every post.
	WebhookHeaders map[string]string
}

func (a Approvals) equal(b Approvals) bool {
	return a.Required == b.Required && a.Expiry == b.Expiry && a.MaxGrant == b.MaxGrant &&
		a.WebhookURL == b.WebhookURL && maps.Equal(a.WebhookHeaders, b.WebhookHeaders)
}

// Log is the log section.
type Log struct {
	// Level is log.level: the least severe level written, one of debug,
	// info, warn, error. Default: info.
	Level string
	// Format is log.format: text (logfmt-style key=value) or json (one
	// object per line). Default: text.
	Format string
}

// Engine is the value of runtime.engine.
type Engine string

// Wasm runtimes.
const (
	// EngineWazero is the pure-Go runtime: no cgo, and host-to-guest calls
	// cost tens of nanoseconds.
	EngineWazero Engine = "wazero"
	// EngineWasmtime is wasmtime through cgo; it needs a binary built with
	// the wasmtime build tag.
	EngineWasmtime Engine = "wasmtime"
)

// Runtime is the runtime section: how plugins are compiled and run.
type Runtime struct {
	// Engine is runtime.engine: wazero or wasmtime. Default: wazero.
	Engine Engine
	// CompileCache is runtime.compile_cache: whether compiled modules are
	// cached on disk under <data_dir>/compile-cache, so a restart does not
	// recompile every plugin. Default: true.
	CompileCache bool
}

// IdentityKind is the value of identities[].kind.
type IdentityKind string

// Identity kinds.
const (
	// KindService is a non-human identity: a CI job, a service account, a bot.
	KindService IdentityKind = "service"
	// KindHuman is a person, typically a reviewer of approvals.
	KindHuman IdentityKind = "human"
)

// Role is one entry of identities[].roles.
type Role string

// Roles.
const (
	// RoleReviewer may approve or deny commands waiting for approval.
	RoleReviewer Role = "reviewer"
	// RoleAdmin may use the whole admin API.
	RoleAdmin Role = "admin"
)

// Identity is one entry of identities: who may connect.
type Identity struct {
	// Name is identities[].name: unique among identities; targets' allow
	// lists refer to it. Letters, digits, ".", "_", "-" and "@", starting
	// with a letter or digit, at most 128 characters. Required.
	Name string
	// Kind is identities[].kind: service or human. Required.
	Kind IdentityKind
	// Roles is identities[].roles: any of reviewer, admin. Default: none.
	Roles []Role
	// TokenHashes is identities[].token_hashes: static bearer tokens that
	// authenticate as this identity, each stored only as "sha256:" followed
	// by 64 lowercase hex digits of the token's SHA-256 (`sluice token hash`
	// prints one). A hash may belong to one identity only. Default: none.
	TokenHashes []string
	// SSHKeys is identities[].ssh_keys: public keys, one authorized_keys
	// line each ("ssh-ed25519 AAAA... comment"), that authenticate as
	// this identity on ssh targets. Default: none.
	SSHKeys []string
}

// HasRole reports whether the identity has role r.
func (id Identity) HasRole(r Role) bool { return slices.Contains(id.Roles, r) }

func (id Identity) clone() Identity {
	id.Roles = slices.Clone(id.Roles)
	id.TokenHashes = slices.Clone(id.TokenHashes)
	id.SSHKeys = slices.Clone(id.SSHKeys)
	return id
}

func (id Identity) equal(o Identity) bool {
	return id.Name == o.Name && id.Kind == o.Kind &&
		slices.Equal(id.Roles, o.Roles) && slices.Equal(id.TokenHashes, o.TokenHashes) && slices.Equal(id.SSHKeys, o.SSHKeys)
}

// FailMode is the value of plugins[].on_error.
type FailMode string

// Fail modes: what happens to the command or record a plugin was deciding
// when the plugin traps, times out, runs out of memory or its circuit is
// open.
const (
	// FailClosed blocks the command or redacts the record. The default:
	// a broken policy must not let data through.
	FailClosed FailMode = "fail_closed"
	// FailOpen lets the command or record through unchanged.
	FailOpen FailMode = "fail_open"
)

// Plugin limits and defaults.
const (
	DefaultPluginTimeout = 100 * time.Millisecond
	// MaxPluginTimeout bounds plugins[].timeout: a call holds a session (and
	// for masking, a batch of its output) for that long, and anything slower
	// is a job for an approval, not a policy check.
	MaxPluginTimeout = 10 * time.Second

	// WasmPageSize is the unit of Wasm linear memory (Wasm core spec
	// 2.0, section 4.2.8 "Memory Instances"); memory_limit is rounded up to
	// a whole number of pages.
	WasmPageSize = 64 << 10
	// DefaultMemoryLimit is 64 MiB (1024 pages).
	DefaultMemoryLimit = 64 << 20
	// MinMemoryLimit is 1 MiB: less cannot hold a compiled guest's stack,
	// data and arena.
	MinMemoryLimit = 1 << 20
	// MaxMemoryLimit is 4 GiB, all of wasm32's 65536 pages.
	MaxMemoryLimit = 4 << 30

	// MaxPoolSize bounds plugins[].pool_size; every instance may hold up to
	// memory_limit.
	MaxPoolSize = 1024

	DefaultBreakerFailures = 5
	DefaultBreakerCooldown = 30 * time.Second
)

// Plugin is one entry of plugins: a Wasm policy plugin and its limits.
// A Plugin value holds nothing mutable; copies may be shared.
type Plugin struct {
	// Name is plugins[].name: unique among plugins; targets refer to it, and
	// it labels the plugin's metrics. Lowercase letters, digits, ".", "_"
	// and "-", starting with a letter or digit, at most 63 characters.
	// Required.
	Name string
	// Path is plugins[].path: the .wasm file. A relative path is resolved
	// against the config file's directory (the working directory for the
	// embedded default). The file need not exist when the config is loaded:
	// the plugin host loads it, reports failures, and reloads it when it
	// changes. Required.
	Path string
	// Timeout is plugins[].timeout: the time budget of one call, as a Go
	// duration ("100ms", "2s"); more than 0, at most 10s. A call that runs
	// longer is stopped and handled by OnError. Default: 100ms.
	Timeout time.Duration
	// MemoryLimit is plugins[].memory_limit in bytes: how far one instance's
	// linear memory may grow. Written as a whole number of bytes or with a
	// binary unit: KiB, MiB or GiB ("64MiB", "1GiB", 67108864). Decimal
	// units (MB, GB) are rejected rather than guessed. Rounded up to a
	// whole number of 64 KiB Wasm pages; at least 1MiB, at most 4GiB.
	// Default: 64MiB.
	MemoryLimit int64
	// PoolSize is plugins[].pool_size: the most instances kept for
	// concurrent calls; 0 means 2*GOMAXPROCS (see MaxInstances). At most
	// 1024. Default: 0.
	PoolSize int
	// OnError is plugins[].on_error: fail_closed or fail_open.
	// Default: fail_closed.
	OnError FailMode
	// Breaker is plugins[].breaker.
	Breaker Breaker

	// config is plugins[].config as canonical JSON; see ConfigJSON.
	config []byte
}

// Breaker is a plugin's circuit breaker: after Failures consecutive failed
// calls the plugin is not called for Cooldown, and OnError applies to
// everything it would have decided; then one call is tried again.
type Breaker struct {
	// Failures is plugins[].breaker.failures: consecutive failures (traps,
	// timeouts, memory overruns) that open the circuit; at least 1.
	// Default: 5.
	Failures int
	// Cooldown is plugins[].breaker.cooldown: how long the circuit stays
	// open, as a Go duration; more than 0. Default: 30s.
	Cooldown time.Duration
}

// ConfigJSON is plugins[].config, the free-form mapping handed to the
// plugin at init, encoded as JSON. Object keys are sorted and HTML
// characters are not escaped, so the same YAML always gives the same bytes
// (plugins and caches may hash them). Strings in it had ${VAR} expanded.
// An absent config is {}. The caller owns the returned slice.
func (p Plugin) ConfigJSON() []byte {
	if p.config == nil {
		return []byte("{}")
	}
	return bytes.Clone(p.config)
}

// MemoryPages is MemoryLimit in 64 KiB Wasm pages.
func (p Plugin) MemoryPages() uint32 { return uint32(p.MemoryLimit / WasmPageSize) }

// MaxInstances is the pool size to use: PoolSize, or 2*GOMAXPROCS when it is
// 0. Two per core lets a call start while another instance is being reset
// after a trap.
func (p Plugin) MaxInstances() int {
	if p.PoolSize > 0 {
		return p.PoolSize
	}
	return 2 * runtime.GOMAXPROCS(0)
}

// Equal reports whether two plugin entries are the same, config included.
// It compares configuration only, not the .wasm file's contents.
func (p Plugin) Equal(o Plugin) bool {
	return p.Name == o.Name && p.Path == o.Path && p.Timeout == o.Timeout &&
		p.MemoryLimit == o.MemoryLimit && p.PoolSize == o.PoolSize &&
		p.OnError == o.OnError && p.Breaker == o.Breaker &&
		bytes.Equal(p.ConfigJSON(), o.ConfigJSON())
}

// Protocol is the value of targets[].protocol.
type Protocol string

// Protocols.
const (
	ProtocolPostgres Protocol = "postgres"
	ProtocolHTTP     Protocol = "http"
	ProtocolSSH      Protocol = "ssh"
)

// Target is one entry of targets: a backend sluice guards, and the address
// clients use instead of it.
type Target struct {
	// Name is targets[].name: unique among targets; it names the target in
	// sessions and metrics. Same characters as plugin names. Required.
	Name string
	// Protocol is targets[].protocol: postgres, http or ssh. Required.
	Protocol Protocol
	// Listen is targets[].listen: host:port where sluice accepts clients
	// for this target. The host may be empty (all interfaces); port 0 picks a
	// free port (for tests). Two listeners, the admin API's included, may
	// not share a port on overlapping hosts. Required.
	Listen string
	// Upstream is targets[].upstream: the backend and the credentials
	// sluice holds for it.
	Upstream Upstream
	// Allow is targets[].allow: names of the identities that may use this
	// target. Default: none, so nobody can connect.
	Allow []string
	// Plugins is targets[].plugins: names of the plugins that guard this
	// target, evaluated in this order. Default: none.
	Plugins []string
	// TLSCert and TLSKey are targets[].tls.cert and .key: the PEM
	// certificate and key sluice presents to clients. Default: a
	// self-signed certificate generated under data_dir on first start.
	TLSCert, TLSKey string
	// AllowCleartext is targets[].allow_cleartext (postgres): accept a
	// token as a cleartext password without TLS. Default false: a token
	// is a bearer secret. Only for loopback tests.
	AllowCleartext bool
	// ClientAuth is targets[].client_auth (postgres): how clients prove
	// their token: auto (default: cleartext password over TLS,
	// SCRAM-SHA-256 without), scram-sha-256, or password.
	ClientAuth string
	// HTTP is targets[].http: settings of http targets.
	HTTP TargetHTTP
	// SSH is targets[].ssh: settings of ssh targets.
	SSH TargetSSH
}

// TargetSSH is targets[].ssh.
type TargetSSH struct {
	// UserCA is ssh.user_ca: the public keys (authorized_keys lines) of
	// the CAs whose OpenSSH user certificates authenticate; a
	// certificate's principals name the identity. Default: none.
	UserCA []string
	// IdleTimeout is ssh.idle_timeout: a connection with no data in
	// either direction for this long is closed. 0: never. Default 1h.
	IdleTimeout time.Duration
	// SessionTimeout is ssh.session_timeout: the longest a client
	// connection may last. 0: unlimited. Default 24h.
	SessionTimeout time.Duration
	// MaxChannels is ssh.max_channels: session channels open at once on
	// one client connection. Default 10.
	MaxChannels int
	// KeepaliveInterval is ssh.keepalive_interval: how often sluice
	// sends keepalive@openssh.com to the upstream. 0: never. Default 15s.
	KeepaliveInterval time.Duration
	// KeepaliveCountMax is ssh.keepalive_count_max: unanswered
	// keepalives after which the upstream is given up. Default 3.
	KeepaliveCountMax int
	// BinaryOutput is ssh.binary_output: what happens to command output
	// that is not text: mask (default; masked as text lines, lossless for
	// text) or pass (binary chunks reach the caller unmasked).
	BinaryOutput string
	// Ciphers is ssh.ciphers: the ciphers sluice offers clients (the
	// client picks the first of its own list that is offered). Default:
	// DefaultSSHCiphers.
	Ciphers []string
	// SFTP is ssh.sftp: the sftp subsystem.
	SFTP TargetSFTP
}

// TargetSFTP is targets[].ssh.sftp.
type TargetSFTP struct {
	// Enabled is ssh.sftp.enabled: serve the sftp subsystem. Default false.
	Enabled bool
	// MaskReads is ssh.sftp.mask_reads: file contents read through sftp
	// are masked by the target's chain. Default false.
	MaskReads bool
	// Rules is ssh.sftp.rules: first match decides; no match allows.
	Rules []SFTPRule
}

// SFTPRule is one of ssh.sftp.rules.
type SFTPRule struct {
	// Path is a glob ("*" does not cross "/", "**" does) matched
	// against the cleaned absolute path of the operation.
	Path string
	// Ops are the operations the rule applies to: read, write, remove,
	// rename, mkdir, rmdir, setstat, symlink, list, stat. Empty: all.
	Ops []string
	// Action is block or allow.
	Action string
}

// SSHCiphers are the ciphers ssh.ciphers may name (golang.org/x/crypto/ssh's).
var SSHCiphers = []string{"aes128-gcm@openssh.com", "aes256-gcm@openssh.com", "chacha20-poly1305@openssh.com",
	"aes128-ctr", "aes192-ctr", "aes256-ctr"}

// DefaultSSHCiphers is ssh.ciphers' default: AES only. OpenSSH clients
// prefer chacha20-poly1305, which Go implements without assembly on
// amd64; with it, sluice moved 0.63x of sshd's throughput, with AES
// 0.8x and more (bench/README.md). AES-GCM and AES-CTR with an ETM MAC
// are as strong, and every OpenSSH since 6.2 speaks them.
var DefaultSSHCiphers = []string{"aes128-gcm@openssh.com", "aes256-gcm@openssh.com", "aes128-ctr", "aes192-ctr", "aes256-ctr"}

// SFTPOps are the operations ssh.sftp.rules[].ops may name.
var SFTPOps = []string{"read", "write", "remove", "rename", "mkdir", "rmdir", "setstat", "symlink", "list", "stat"}

func (s TargetSSH) equal(o TargetSSH) bool {
	return slices.Equal(s.UserCA, o.UserCA) && s.IdleTimeout == o.IdleTimeout && s.SessionTimeout == o.SessionTimeout &&
		s.MaxChannels == o.MaxChannels && s.KeepaliveInterval == o.KeepaliveInterval &&
		s.KeepaliveCountMax == o.KeepaliveCountMax && s.BinaryOutput == o.BinaryOutput && slices.Equal(s.Ciphers, o.Ciphers) &&
		s.SFTP.Enabled == o.SFTP.Enabled && s.SFTP.MaskReads == o.SFTP.MaskReads &&
		slices.EqualFunc(s.SFTP.Rules, o.SFTP.Rules, func(a, b SFTPRule) bool {
			return a.Path == b.Path && a.Action == b.Action && slices.Equal(a.Ops, b.Ops)
		})
}

// TargetHTTP is targets[].http.
type TargetHTTP struct {
	// UnknownContentType is http.unknown_content_type: what happens to a
	// response whose content type sluice cannot mask: pass (default,
	// recorded without its body) or block (502).
	UnknownContentType string
	// MaskRequestBody is http.mask_request_body: mask JSON, NDJSON, CSV
	// and text request bodies before they reach the upstream (logs posted
	// to a log API). Default false.
	MaskRequestBody bool
	// ApprovalWait is http.approval_wait: how long a request held for
	// approval waits before the client gets 202 and a retry hint.
	// Default 30s.
	ApprovalWait time.Duration
	// MaxRequestBody is http.max_request_body: the largest request body
	// (413 beyond). Default 32MiB.
	MaxRequestBody int64
}

// OIDCIssuer is oidc.issuers[]: an issuer of ID tokens that identities
// may present instead of a sluice token (a GitHub Actions job's token).
type OIDCIssuer struct {
	Issuer     string
	Audience   string
	JWKSFile   string
	JWKSURL    string
	Algorithms []string
	Leeway     time.Duration
	Rules      []OIDCRule
}

// OIDCRule maps a token's claims to an identity: every listed claim must
// match its pattern ("*" matches any run of characters).
type OIDCRule struct {
	Claims   map[string]string
	Identity string
}

// Allows reports whether the identity with this name may use the target.
func (t Target) Allows(identity string) bool { return slices.Contains(t.Allow, identity) }

func (t Target) clone() Target {
	t.Allow = slices.Clone(t.Allow)
	t.Plugins = slices.Clone(t.Plugins)
	t.SSH.UserCA = slices.Clone(t.SSH.UserCA)
	t.SSH.Ciphers = slices.Clone(t.SSH.Ciphers)
	t.SSH.SFTP.Rules = slices.Clone(t.SSH.SFTP.Rules)
	for i := range t.SSH.SFTP.Rules {
		t.SSH.SFTP.Rules[i].Ops = slices.Clone(t.SSH.SFTP.Rules[i].Ops)
	}
	return t
}

func (t Target) equal(o Target) bool {
	return t.Name == o.Name && t.Protocol == o.Protocol && t.Listen == o.Listen &&
		t.Upstream == o.Upstream && slices.Equal(t.Allow, o.Allow) && slices.Equal(t.Plugins, o.Plugins) &&
		t.TLSCert == o.TLSCert && t.TLSKey == o.TLSKey && t.AllowCleartext == o.AllowCleartext && t.ClientAuth == o.ClientAuth && t.HTTP == o.HTTP && t.SSH.equal(o.SSH)
}

// Upstream is a target's backend. Password is a secret: write it as
// "${VAR}" so it stays out of the file. String, LogValue and MarshalJSON
// redact it, so printing or logging a Target does not leak it.
type Upstream struct {
	// Address is targets[].upstream.address: host:port for postgres and ssh;
	// host:port or an http:// or https:// URL for http. Required.
	Address string
	// Database is targets[].upstream.database: the PostgreSQL database.
	Database string
	// User is targets[].upstream.user: the backend user sluice logs in as.
	User string
	// Password is targets[].upstream.password: that user's password.
	Password string
	// SSLMode is targets[].upstream.sslmode (postgres): libpq's sslmode
	// towards the backend: disable, allow, prefer, require, verify-ca,
	// verify-full. Default: prefer.
	SSLMode string
	// RootCert is targets[].upstream.root_cert: a PEM file of the CAs that
	// verify-ca and verify-full trust. Default: the system's.
	RootCert string
	// CA is targets[].upstream.ca (http): a PEM file of the CAs that
	// verify an https upstream. Default: the system's.
	CA string
	// ServerName is targets[].upstream.server_name (http): the name the
	// upstream's certificate must carry. Default: the address's host.
	ServerName string
	// Credential is targets[].upstream.credential (http): how sluice
	// authenticates to the upstream.
	Credential Credential
	// KeyFile is targets[].upstream.key_file (ssh): the private key sluice
	// logs in to the upstream with (the password is used when empty).
	KeyFile string
	// KeyEnv is targets[].upstream.key_env (ssh): an environment
	// variable holding that private key (PEM), instead of key_file.
	KeyEnv string
	// KnownHosts is targets[].upstream.known_hosts (ssh): an OpenSSH
	// known_hosts file the upstream's host key must be in.
	KnownHosts string
	// HostKeyFingerprint is targets[].upstream.host_key_fingerprint (ssh):
	// the upstream host key's "SHA256:..." fingerprint, as an alternative
	// to known_hosts. One of the two is required: a host key is never
	// trusted on first use.
	HostKeyFingerprint string
}

// Credential is an http upstream's credential. The secret comes from
// Env, File or, when both are empty, upstream.password.
type Credential struct {
	// Kind is credential.kind: bearer, basic, header or none. Default:
	// basic when upstream.user is set, else bearer from upstream.password
	// (none when that is empty).
	Kind string
	// Header is credential.header: the header name for kind header.
	Header string
	// Env is credential.env: an environment variable holding the secret.
	Env string
	// File is credential.file: a file holding the secret.
	File string
}

// String prints the upstream with the password redacted, for %v and %+v.
func (u Upstream) String() string {
	return fmt.Sprintf("{address=%s database=%s user=%s password=%s}", u.Address, u.Database, u.User, redact(u.Password))
}

// GoString is String, for %#v.
func (u Upstream) GoString() string { return u.String() }

// LogValue logs the upstream with the password redacted.
func (u Upstream) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("address", u.Address),
		slog.String("database", u.Database),
		slog.String("user", u.User),
		slog.String("password", redact(u.Password)),
	)
}

// MarshalJSON encodes the upstream with the password redacted, because
// encoding/json is how a Target ends up in JSON logs and API responses.
func (u Upstream) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Address  string `json:"address"`
		Database string `json:"database,omitempty"`
		User     string `json:"user,omitempty"`
		Password string `json:"password,omitempty"`
	}{u.Address, u.Database, u.User, redact(u.Password)})
}

func redact(secret string) string {
	if secret == "" {
		return ""
	}
	return "[redacted]"
}
