package sshgw

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/sluicegw/sluice/gateway/approvals"
	"github.com/sluicegw/sluice/gateway/auth"
	"github.com/sluicegw/sluice/gateway/config"
	"github.com/sluicegw/sluice/gateway/internal/sshtest"
	"github.com/sluicegw/sluice/gateway/internal/syncbuf"
	"github.com/sluicegw/sluice/gateway/pluginhost"
	"github.com/sluicegw/sluice/gateway/policy"
	"github.com/sluicegw/sluice/gateway/store"
)

// Tokens of the test identities.
const (
	ciToken    = "slc_ci-token-for-ssh-tests"
	otherToken = "slc_other-token-for-ssh-tests"
	aliceToken = "slc_alice-token-for-ssh-tests"
)

var cacheDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sluice-sshgw-test")
	if err != nil {
		panic(err)
	}
	cacheDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// keyPair is a generated key (see sshtest.Key).
type keyPair = sshtest.Key

func newKey(t testing.TB, dir, name string) keyPair { return sshtest.NewKey(t, dir, name) }

// sshd is the real OpenSSH upstream (see sshtest.Server).
type sshd = sshtest.Server

func startSSHD(t testing.TB) *sshd { return sshtest.Start(t) }

// freePort returns a port that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// plugin loads a bundled plugin (plugins/NAME/NAME.wasm).
func plugin(t testing.TB, name, cfg string) *pluginhost.Plugin {
	t.Helper()
	path := filepath.Join("..", "..", "plugins", name, name+".wasm")
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%v: build the bundled plugins with `make plugins`", err)
	}
	h, err := pluginhost.New(pluginhost.Options{Engine: "wazero", CacheDir: cacheDir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close(context.Background()) })
	p, err := h.Load(context.Background(), pluginhost.Spec{Name: name, Path: path, Config: []byte(cfg), Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// gateway is an engine in front of a real sshd, with everything it needs.
type gateway struct {
	e      *Engine
	st     *store.Store
	apr    *approvals.Manager
	up     *sshd
	addr   string
	host   string // 127.0.0.1
	port   string
	logs   *syncBuffer
	client keyPair // ci's key
	dir    string  // the client's files
}

// startGateway starts an sshd and an engine in front of it: identity ci
// logs in with its key or its token; tweak may change the options.
func startGateway(t testing.TB, chain policy.Chain, tweak func(*Options, *sshd)) *gateway {
	t.Helper()
	up := startSSHD(t)
	st, err := store.Open(t.TempDir(), store.Options{MinFreeBytes: -1, FlushInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	apr, err := approvals.New(approvals.Options{Store: st, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse("t.yaml", []byte(fmt.Sprintf(`
identities:
  - {name: ci, kind: service, token_hashes: [%s]}
  - {name: other, kind: service, token_hashes: [%s]}
  - {name: alice, kind: human, roles: [reviewer], token_hashes: [%s]}
targets:
  - name: host
    protocol: ssh
    listen: 127.0.0.1:0
    upstream: {address: "%s", user: "%s", key_file: "%s", host_key_fingerprint: "%s"}
    allow: [ci]
`, auth.HashString(ciToken), auth.HashString(otherToken), auth.HashString(aliceToken), up.Addr, up.User,
		up.Key.File, ssh.FingerprintSHA256(up.HostKey))), nil)
	if err != nil {
		t.Fatal(err)
	}
	tgt, _ := cfg.Target("host")
	dir := t.TempDir()
	client := newKey(t, dir, "ci_key")
	o := Options{
		Target: tgt, Config: func() *config.Config { return cfg },
		Auth:  &auth.Authenticator{Config: func() *config.Config { return cfg }, Store: st},
		Chain: func() (policy.Chain, error) { return chain, nil }, Store: st, Approvals: apr, Logger: logger,
		DataDir: t.TempDir(),
		UserKeys: func(id string) []ssh.PublicKey {
			if id == "ci" {
				return []ssh.PublicKey{client.Signer.PublicKey()}
			}
			return nil
		},
		UpstreamKey:                up.Key.Signer,
		UpstreamHostKeyFingerprint: ssh.FingerprintSHA256(up.HostKey),
	}
	if tweak != nil {
		tweak(&o, up)
	}
	e, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- e.Serve(ln) }()
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	g := &gateway{e: e, st: st, apr: apr, up: up, addr: ln.Addr().String(), host: host, port: port, logs: logs, client: client, dir: dir}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		apr.Close()
		st.Close()
		if t.Failed() {
			t.Logf("gateway log:\n%s", logs.String())
		}
	})
	return g
}

// result is what a real ssh client printed and how it exited.
type result struct {
	stdout, stderr string
	code           int
}

// sshArgs are the options of every ssh run: no known_hosts, no prompts,
// no agent, no config file.
func (g *gateway) sshArgs(key string) []string {
	args := []string{"-F", "/dev/null", "-p", g.port,
		"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
		"-o", "IdentityAgent=none", "-o", "ConnectTimeout=20"}
	if key != "" {
		args = append(args, "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "PasswordAuthentication=no", "-i", key)
	}
	return args
}

// ssh runs /usr/bin/ssh as identity ci with its key.
func (g *gateway) ssh(t *testing.T, stdin string, command string) result {
	t.Helper()
	return g.run(t, g.command(g.client.File, "ci", command), stdin)
}

func (g *gateway) command(key, identity, command string, extra ...string) *exec.Cmd {
	args := append(g.sshArgs(key), extra...)
	args = append(args, identity+"@"+g.host)
	if command != "" {
		args = append(args, command)
	}
	cmd := exec.Command(sshBin, args...)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + g.dir, "LANG=C"}
	return cmd
}

// sshToken runs /usr/bin/ssh as identity with a token as the password,
// given by SSH_ASKPASS (OpenSSH 8.4+), as a job without a key would.
func (g *gateway) sshToken(t *testing.T, identity, token, command string) result {
	t.Helper()
	askpass := filepath.Join(g.dir, "askpass-"+identity)
	secret := filepath.Join(g.dir, "secret-"+identity)
	if err := os.WriteFile(secret, []byte(token), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(askpass, []byte("#!/bin/sh\ncat "+secret+"\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	cmd := g.command("", identity, command, "-o", "PreferredAuthentications=password", "-o", "PubkeyAuthentication=no",
		"-o", "NumberOfPasswordPrompts=1")
	cmd.Env = append(cmd.Env, "SSH_ASKPASS="+askpass, "SSH_ASKPASS_REQUIRE=force", "DISPLAY=none")
	return g.run(t, cmd, "")
}

const sshBin = "/usr/bin/ssh"

func (g *gateway) run(t *testing.T, cmd *exec.Cmd, stdin string) result {
	t.Helper()
	if _, err := os.Stat(sshBin); err != nil {
		skipOrFail(t, "OpenSSH client (/usr/bin/ssh) is not installed; CI installs openssh-client")
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Stdin = strings.NewReader(stdin)
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	default:
		t.Fatal(err)
	}
	return r
}

// events returns every recorded event of every session, as
// "identity kind data".
func (g *gateway) events(t *testing.T) []string {
	t.Helper()
	// Appended events are flushed within FlushInterval; a session closed
	// is flushed at once. Wait for every session to end.
	deadline := time.Now().Add(10 * time.Second)
	for {
		ss, err := g.st.Sessions(store.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		open := false
		for _, s := range ss {
			open = open || s.Open()
		}
		if !open || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	ss, _ := g.st.Sessions(store.Filter{})
	var out []string
	for _, s := range ss {
		id, _ := store.ParseID(s.ID)
		g.st.Events(id, 1, func(e store.Event) error {
			out = append(out, fmt.Sprintf("%s %s %s", s.Identity, e.Kind, e.Data))
			return nil
		})
	}
	return out
}

// expectEvents waits until every want (a list of substrings of one
// event) is among the recorded events: a refused login is recorded after
// the client has gone.
func (g *gateway) expectEvents(t *testing.T, wants ...[]string) []string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		evs := g.events(t)
		var missing [][]string
		for _, w := range wants {
			if !hasEvent(evs, w...) {
				missing = append(missing, w)
			}
		}
		if len(missing) == 0 {
			return evs
		}
		if time.Now().After(deadline) {
			for _, w := range missing {
				t.Errorf("no event with %q", w)
			}
			t.Logf("events:\n%s", strings.Join(evs, "\n"))
			return evs
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func hasEvent(evs []string, parts ...string) bool {
	for _, e := range evs {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(e, p)
		}
		if all {
			return true
		}
	}
	return false
}

// goClient logs in as ci with its key through x/crypto/ssh, for what the
// OpenSSH client cannot be made to ask for in a test (forwarding
// requests on an open connection).
func (g *gateway) goClient(t testing.TB) *ssh.Client {
	t.Helper()
	c, err := ssh.Dial("tcp", g.addr, &ssh.ClientConfig{User: "ci", Auth: []ssh.AuthMethod{ssh.PublicKeys(g.client.Signer)},
		HostKeyCallback: ssh.FixedHostKey(g.e.HostKey()), Timeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// writeKnownHosts writes a known_hosts file with key for addr.
func writeKnownHosts(t testing.TB, file, addr string, key ssh.PublicKey) {
	t.Helper()
	if err := os.WriteFile(file, []byte(knownhosts.Line([]string{knownhosts.Normalize(addr)}, key)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

func skipOrFail(t testing.TB, why string) { sshtest.SkipOrFail(t, why) }

// syncBuffer is the tests' concurrent-safe output sink.
type syncBuffer = syncbuf.Buffer
