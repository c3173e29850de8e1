package cli

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/crypto/ssh"

	"github.com/sluicegw/sluice/gateway/admin"
	"github.com/sluicegw/sluice/gateway/approvals"
	"github.com/sluicegw/sluice/gateway/auth"
	"github.com/sluicegw/sluice/gateway/config"
	"github.com/sluicegw/sluice/gateway/demo"
	"github.com/sluicegw/sluice/gateway/httpgw"
	"github.com/sluicegw/sluice/gateway/pgwire"
	"github.com/sluicegw/sluice/gateway/pluginhost"
	"github.com/sluicegw/sluice/gateway/policy"
	"github.com/sluicegw/sluice/gateway/sshgw"
	"github.com/sluicegw/sluice/gateway/store"
	"github.com/sluicegw/sluice/gateway/telemetry"
)

// configFlag adds --config, defaulting to $SLUICE_CONFIG.
func configFlag(c *cobra.Command, path *string) {
	c.Flags().StringVarP(path, "config", "c", os.Getenv("SLUICE_CONFIG"), "config file (default $SLUICE_CONFIG, else the embedded defaults)")
}

// loadConfig loads path, or the embedded defaults when path is empty.
func loadConfig(path string) (*config.Config, error) {
	if path == "" {
		return config.Default(), nil
	}
	return config.Load(path)
}

// pluginSpecs turns the plugins section into plugin host specs.
func pluginSpecs(cfg *config.Config) []pluginhost.Spec {
	var specs []pluginhost.Spec
	for _, p := range cfg.Plugins() {
		specs = append(specs, pluginSpec(p))
	}
	return specs
}

func pluginSpec(p config.Plugin) pluginhost.Spec {
	return pluginhost.Spec{
		Name: p.Name, Path: p.Path, Config: p.ConfigJSON(), OnError: string(p.OnError),
		Timeout: p.Timeout, MemoryLimit: int64(p.MemoryPages()) * config.WasmPageSize, PoolSize: p.MaxInstances(),
		BreakerFailures: p.Breaker.Failures, BreakerCooldown: p.Breaker.Cooldown,
	}
}

func newHost(cfg *config.Config, logger *slog.Logger, metrics *telemetry.Metrics) (*pluginhost.Host, error) {
	opts := pluginhost.Options{Engine: string(cfg.Runtime().Engine), Logger: logger, Metrics: metrics}
	if cfg.Runtime().CompileCache {
		opts.CacheDir = cfg.CompileCacheDir()
	}
	return pluginhost.New(opts)
}

func serveCmd(s *streams) *cobra.Command {
	var path, cpuProfile string
	c := &cobra.Command{
		Use:   "serve",
		Short: "run the gateway",
		Long: `Runs the gateway: loads the config (a file, or the embedded defaults, which
run the demo of the README's quick start), opens the session store under
data_dir, loads and warms every plugin, serves every target with its
protocol engine (postgres, http, ssh), and serves
the admin API (metrics, health, sessions, approvals, tokens, plugins) on
admin.listen. The config file and the plugin files are watched: a changed
plugins section or .wasm file is applied live, and identities apply to new
connections; an invalid one is refused and the running version keeps
serving. SIGINT or SIGTERM stops it, ending every session cleanly.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cpuProfile != "" {
				// For bench/: where a gateway under real load spends its CPU.
				f, err := os.Create(cpuProfile)
				if err != nil {
					return fail(ExitUsage, "--cpuprofile: %w", err)
				}
				defer f.Close()
				if err := pprof.StartCPUProfile(f); err != nil {
					return fail(ExitFailure, "--cpuprofile: %w", err)
				}
				defer pprof.StopCPUProfile()
			}
			return serve(cmd.Context(), s, path)
		},
	}
	configFlag(c, &path)
	c.Flags().StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run to this file (for bench/)")
	return c
}

func serve(ctx context.Context, s *streams, path string) error {
	cfg, err := loadConfig(path)
	if err != nil {
		return fail(ExitUsage, "%w", err)
	}
	logger, err := telemetry.NewLogger(s.err, cfg.Log().Level, cfg.Log().Format)
	if err != nil {
		return fail(ExitUsage, "%w", err)
	}
	metrics := telemetry.NewMetrics()
	host, err := newHost(cfg, logger, metrics)
	if err != nil {
		return fail(ExitUsage, "%w", err)
	}
	defer host.Close(context.Background())
	// At start every plugin must load: a gateway that silently serves
	// without a configured policy would fail open.
	if err := host.Apply(ctx, pluginSpecs(cfg)); err != nil {
		return fail(ExitFailure, "%w", err)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// current is the running snapshot: identities (and their tokens)
	// apply live on a config reload.
	var current atomic.Pointer[config.Config]
	current.Store(cfg)
	go func() {
		if err := host.Watch(ctx); err != nil {
			logger.Error("plugin hot reload is off", "err", err)
		}
	}()
	if path != "" {
		_, err := config.Watch(ctx, cfg, func(old, new *config.Config) error {
			current.Store(new)
			ch := old.Diff(new)
			for _, sec := range ch.Sections() {
				if sec != "plugins" && sec != "identities" {
					logger.Warn("config section changed; it takes effect after a restart", "section", sec)
				}
			}
			if ch.Plugins() {
				if err := host.Apply(ctx, pluginSpecs(new)); err != nil {
					logger.Error("plugins section applied with errors; failed plugins keep their running version", "err", err)
				}
			}
			return nil
		}, config.WatchOptions{Logger: logger, Registerer: metrics.Registry})
		if err != nil {
			logger.Warn("config hot reload is off", "err", err)
		}
	}

	st, err := openStore(cfg)
	if err != nil {
		return fail(ExitFailure, "%w", err)
	}
	defer st.Close()
	go retention(ctx, st, cfg.Store().RetentionDays, logger)
	extra, err := bootstrapAdmin(cfg, logger)
	if err != nil {
		return fail(ExitFailure, "%w", err)
	}
	authn := &auth.Authenticator{Config: current.Load, Store: st, Extra: extra}
	apr, err := newApprovals(cfg, st, logger)
	if err != nil {
		return fail(ExitFailure, "%w", err)
	}
	defer apr.Close()

	ln, err := net.Listen("tcp", cfg.Admin().Listen)
	if err != nil {
		return fail(ExitFailure, "admin.listen: %w", err)
	}
	srv := &http.Server{Handler: admin.New(admin.Options{
		Host: host, Metrics: metrics, Store: st, Auth: authn, Logger: logger, Approvals: apr,
	}), ReadHeaderTimeout: 10 * time.Second}
	scheme := "http"
	if a := cfg.Admin(); a.TLSCert != "" {
		tc, err := serverTLS(a.TLSCert, a.TLSKey)
		if err != nil {
			ln.Close()
			return fail(ExitFailure, "admin.tls: %w", err)
		}
		srv.TLSConfig = tc
		ln = tls.NewListener(ln, srv.TLSConfig)
		scheme = "https"
	}
	go srv.Serve(ln)
	if d := cfg.Demo(); d.Enabled {
		stopDemo, err := startDemo(cfg, st, logger)
		if err != nil {
			return fail(ExitFailure, "%w", err)
		}
		defer stopDemo()
	}
	closeEngines, err := startEngines(cfg, &current, host, authn, st, apr, logger)
	if err != nil {
		return fail(ExitFailure, "%w", err)
	}
	// Engines end before the approvals manager and the store they use
	// (deferred calls run last in, first out).
	defer closeEngines()
	src := path
	if src == "" {
		src = "embedded defaults"
	}
	logger.Info("sluice serving", "config", src, "admin", scheme+"://"+ln.Addr().String(), "engine", host.Engine(), "plugins", len(cfg.Plugins()))
	<-ctx.Done()
	logger.Info("sluice stopping")
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer scancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("admin shutdown: %w", err)
	}
	return nil
}

func openStore(cfg *config.Config) (*store.Store, error) {
	min := cfg.Store().MinFree
	if min == 0 {
		min = -1 // off
	}
	st, err := store.Open(cfg.StoreDir(), store.Options{SessionQuota: cfg.Store().SessionQuota, MinFreeBytes: min, SyncInterval: cfg.Store().SyncInterval})
	if err != nil {
		return nil, fmt.Errorf("%w (is another sluice running on data_dir %s?)", err, cfg.DataDir())
	}
	return st, nil
}

func newApprovals(cfg *config.Config, st *store.Store, logger *slog.Logger) (*approvals.Manager, error) {
	a := cfg.Approvals()
	opts := approvals.Options{Store: st, Required: a.Required, DefaultExpiry: a.Expiry, MaxGrant: a.MaxGrant, Logger: logger}
	if a.MaxGrant == 0 {
		opts.MaxGrant = -1 // only once grants
	}
	if a.WebhookURL != "" {
		opts.Webhook = &approvals.WebhookConfig{URL: a.WebhookURL, Headers: a.WebhookHeaders}
	}
	return approvals.New(opts)
}

// retention deletes sessions older than the configured days, hourly.
func retention(ctx context.Context, st *store.Store, days int, logger *slog.Logger) {
	if days <= 0 {
		return
	}
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		n, err := st.DeleteBefore(time.Now().AddDate(0, 0, -days))
		if err != nil {
			logger.Error("store retention failed", "err", err)
		} else if n > 0 {
			logger.Info("store retention deleted sessions", "sessions", n, "older_than_days", days)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// BootstrapIdentity is the admin identity of a gateway whose config names
// no admin: its token is in <data_dir>/admin.token (mode 0600), which the
// CLI on the same machine reads when no token is given.
const BootstrapIdentity = "sluice-admin"

// adminTokenFile is where the bootstrap admin token lives.
func adminTokenFile(dataDir string) string { return filepath.Join(dataDir, "admin.token") }

// bootstrapAdmin returns the bootstrap admin identity when the config
// names no identity with the admin role, creating its token on first use.
func bootstrapAdmin(cfg *config.Config, logger *slog.Logger) ([]config.Identity, error) {
	for _, id := range cfg.Identities() {
		if id.HasRole(config.RoleAdmin) {
			return nil, nil
		}
	}
	path := adminTokenFile(cfg.DataDir())
	b, err := os.ReadFile(path)
	tok := string(bytes.TrimSpace(b))
	if errors.Is(err, os.ErrNotExist) || tok == "" {
		tok, _ = auth.NewToken()
		if err := os.MkdirAll(cfg.DataDir(), 0o700); err != nil {
			return nil, err
		}
		if err := os.WriteFile(path, []byte(tok+"\n"), 0o600); err != nil {
			return nil, fmt.Errorf("writing the bootstrap admin token: %w", err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("reading the bootstrap admin token: %w", err)
	}
	logger.Info("no identity has the admin role: the admin API accepts the bootstrap token", "identity", BootstrapIdentity, "token_file", path)
	return []config.Identity{{Name: BootstrapIdentity, Kind: config.KindHuman, Roles: []config.Role{config.RoleAdmin}, TokenHashes: []string{auth.HashString(tok)}}}, nil
}

// engine is a protocol engine serving one target.
type engine interface {
	Serve(net.Listener) error
	Close() error
}

// startEngines starts one engine per target on its listener. Targets of a
// protocol this build cannot serve are logged, not silently skipped.
func startEngines(cfg *config.Config, current *atomic.Pointer[config.Config], host *pluginhost.Host,
	authn *auth.Authenticator, st *store.Store, apr *approvals.Manager, logger *slog.Logger) (func(), error) {
	var started []engine
	closeAll := func() {
		for _, e := range started {
			e.Close()
		}
	}
	for _, t := range cfg.Targets() {
		var e engine
		switch t.Protocol {
		case config.ProtocolPostgres:
			opts := pgwire.Options{
				Target: t, Config: current.Load, Auth: authn, Chain: chainFor(host, current, t.Name),
				Store: st, Approvals: apr, DataDir: cfg.DataDir(), Logger: logger,
				SyncReads: cfg.Store().SyncReads, ClientAuth: t.ClientAuth,
				AllowCleartext: t.AllowCleartext, UpstreamSSLMode: t.Upstream.SSLMode, UpstreamRootCert: t.Upstream.RootCert,
			}
			if t.TLSCert != "" {
				tc, err := serverTLS(t.TLSCert, t.TLSKey)
				if err != nil {
					closeAll()
					return nil, fmt.Errorf("target %s: tls: %w", t.Name, err)
				}
				opts.TLSConfig = tc
			}
			pe, err := pgwire.New(opts)
			if err != nil {
				closeAll()
				return nil, fmt.Errorf("target %s: %w", t.Name, err)
			}
			e = pe
		case config.ProtocolHTTP:
			he, err := newHTTPEngine(cfg, t, current, host, authn, st, apr, logger)
			if err != nil {
				closeAll()
				return nil, fmt.Errorf("target %s: %w", t.Name, err)
			}
			e = he
		case config.ProtocolSSH:
			cas, err := parseUserCAs(t.SSH.UserCA)
			if err != nil {
				closeAll()
				return nil, fmt.Errorf("target %s: %w", t.Name, err)
			}
			se, err := sshgw.New(sshgw.Options{
				Target: t, Config: current.Load, Auth: authn, Chain: chainFor(host, current, t.Name),
				Store: st, Approvals: apr, DataDir: cfg.DataDir(), Logger: logger,
				UserKeys: sshKeysOf(current), UserCAKeys: cas,
				UpstreamKeyFile: t.Upstream.KeyFile, UpstreamKeyEnv: t.Upstream.KeyEnv,
				UpstreamKnownHosts: t.Upstream.KnownHosts, UpstreamHostKeyFingerprint: t.Upstream.HostKeyFingerprint,
				MaxChannels: t.SSH.MaxChannels, IdleTimeout: t.SSH.IdleTimeout, SessionTimeout: t.SSH.SessionTimeout,
				KeepaliveInterval: t.SSH.KeepaliveInterval, KeepaliveCountMax: t.SSH.KeepaliveCountMax,
				PassBinaryOutput: t.SSH.BinaryOutput == "pass", Ciphers: t.SSH.Ciphers,
			})
			if err != nil {
				closeAll()
				return nil, fmt.Errorf("target %s: %w", t.Name, err)
			}
			e = se
		default:
			logger.Warn("target not served: its protocol engine is not in this build yet", "target", t.Name, "protocol", t.Protocol, "listen", t.Listen)
			continue
		}
		ln, err := net.Listen("tcp", t.Listen)
		if err != nil {
			e.Close()
			closeAll()
			return nil, fmt.Errorf("target %s: listen: %w", t.Name, err)
		}
		started = append(started, e)
		go func() {
			if err := e.Serve(ln); err != nil {
				logger.Error("target stopped serving", "target", t.Name, "err", err)
			}
		}()
		logger.Info("target serving", "target", t.Name, "protocol", t.Protocol, "listen", ln.Addr().String(), "plugins", t.Plugins)
	}
	return closeAll, nil
}

// chainFor returns a target's plugin chain as the running config names it.
// A plugin that is not loaded is an error, which engines turn into a
// refusal (fail closed), never into a shorter chain.
func chainFor(host *pluginhost.Host, current *atomic.Pointer[config.Config], target string) func() (policy.Chain, error) {
	return func() (policy.Chain, error) {
		t, ok := current.Load().Target(target)
		if !ok {
			return nil, fmt.Errorf("target %s is no longer in the config", target)
		}
		chain := make(policy.Chain, 0, len(t.Plugins))
		for _, name := range t.Plugins {
			p, ok := host.Plugin(name)
			if !ok {
				return nil, fmt.Errorf("plugin %s of target %s is not loaded", name, target)
			}
			chain = append(chain, p)
		}
		return chain, nil
	}
}

func newHTTPEngine(cfg *config.Config, t config.Target, current *atomic.Pointer[config.Config], host *pluginhost.Host,
	authn *auth.Authenticator, st *store.Store, apr *approvals.Manager, logger *slog.Logger) (*httpgw.Engine, error) {
	c := t.Upstream.Credential
	opts := httpgw.Options{
		Target: t, Config: current.Load, Auth: authn, Chain: chainFor(host, current, t.Name),
		Store: st, Approvals: apr, Logger: logger, SyncReads: cfg.Store().SyncReads,
		Credential:         httpgw.Credential{Kind: c.Kind, Header: c.Header, Env: c.Env, File: c.File},
		UnknownContentType: t.HTTP.UnknownContentType, MaskRequestBody: t.HTTP.MaskRequestBody,
		ApprovalWait: t.HTTP.ApprovalWait, MaxRequestBody: t.HTTP.MaxRequestBody,
	}
	if t.TLSCert != "" {
		tc, err := serverTLS(t.TLSCert, t.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("tls: %w", err)
		}
		opts.TLSConfig = tc
	}
	if t.Upstream.CA != "" || t.Upstream.ServerName != "" {
		tc := &tls.Config{ServerName: t.Upstream.ServerName, MinVersion: tls.VersionTLS12}
		if t.Upstream.CA != "" {
			pem, err := os.ReadFile(t.Upstream.CA)
			if err != nil {
				return nil, fmt.Errorf("upstream.ca: %w", err)
			}
			tc.RootCAs = x509.NewCertPool()
			if !tc.RootCAs.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("upstream.ca: %s holds no PEM certificate", t.Upstream.CA)
			}
		}
		opts.UpstreamTLS = tc
	}
	for _, is := range cfg.OIDCIssuers() {
		oi := httpgw.OIDCIssuer{Issuer: is.Issuer, Audience: is.Audience, JWKSFile: is.JWKSFile, JWKSURL: is.JWKSURL,
			Algorithms: is.Algorithms, Leeway: is.Leeway}
		for _, r := range is.Rules {
			oi.Rules = append(oi.Rules, httpgw.OIDCRule{Claims: r.Claims, Identity: r.Identity})
		}
		opts.OIDC = append(opts.OIDC, oi)
	}
	return httpgw.New(opts)
}

// startDemo serves the demo API on demo.listen and issues a token for
// every identity without token_hashes into <data_dir>/tokens/NAME.token
// (reused while valid), so the README's curl commands work on a fresh
// clone.
func startDemo(cfg *config.Config, st *store.Store, logger *slog.Logger) (func(), error) {
	ln, err := net.Listen("tcp", cfg.Demo().Listen)
	if err != nil {
		return nil, fmt.Errorf("demo.listen: %w", err)
	}
	srv := &http.Server{Handler: demo.Handler(200), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	dir := filepath.Join(cfg.DataDir(), "tokens")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		srv.Close()
		return nil, err
	}
	for _, id := range cfg.Identities() {
		if len(id.TokenHashes) > 0 {
			continue
		}
		path := filepath.Join(dir, id.Name+".token")
		if b, err := os.ReadFile(path); err == nil {
			if tok, err := st.LookupToken(strings.TrimSpace(string(b))); err == nil && tok.Identity == id.Name && tok.Valid(time.Now()) {
				continue
			}
		}
		secret, hash := auth.NewToken()
		h, _ := auth.ParseHash(hash)
		now := time.Now().UTC()
		if err := st.PutToken(h, auth.NewStoreToken(id.Name, secret, now, now.Add(30*24*time.Hour), "demo")); err != nil {
			srv.Close()
			return nil, err
		}
		if err := os.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
			srv.Close()
			return nil, err
		}
	}
	logger.Info("demo API serving (fake customers; demo.enabled)", "listen", ln.Addr().String(), "tokens", dir)
	return func() { srv.Close() }, nil
}

// serverTLS is the TLS config of a listener with a certificate from PEM
// files: TLS 1.2 or newer.
func serverTLS(certFile, keyFile string) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// sshKeysOf returns an identity's public keys (identities[].ssh_keys) as
// the running config lists them; the config validated every line.
// parseUserCAs parses ssh.user_ca (authorized_keys lines, checked when
// the config was loaded).
func parseUserCAs(lines []string) ([]ssh.PublicKey, error) {
	var keys []ssh.PublicKey
	for i, line := range lines {
		k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
		if err != nil {
			return nil, fmt.Errorf("ssh.user_ca[%d]: %w", i, err)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

func sshKeysOf(current *atomic.Pointer[config.Config]) func(identity string) []ssh.PublicKey {
	return func(identity string) []ssh.PublicKey {
		id, ok := current.Load().Identity(identity)
		if !ok {
			return nil
		}
		var keys []ssh.PublicKey
		for _, line := range id.SSHKeys {
			if k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line)); err == nil {
				keys = append(keys, k)
			}
		}
		return keys
	}
}
