package sshgw

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/sluicegw/sluice/gateway/policy"
)

// TestExecThroughOpenSSH: stdout, stderr, stdin, exit status pass
// through a real ssh client, sluice and a real sshd, and are recorded.
func TestExecThroughOpenSSH(t *testing.T) {
	g := startGateway(t, nil, nil)
	r := g.ssh(t, "", `echo hi; echo oops >&2; exit 3`)
	if r.stdout != "hi\n" || r.stderr != "oops\n" || r.code != 3 {
		t.Fatalf("got %+v", r)
	}
	r = g.ssh(t, "line one\nline two\n", `cat; echo done`)
	if r.stdout != "line one\nline two\ndone\n" || r.code != 0 {
		t.Fatalf("stdin: got %+v", r)
	}
	r = g.ssh(t, "", `kill -TERM $$`)
	if r.code != 255 || r.stdout != "" {
		t.Fatalf("signal: got %+v", r)
	}
	g.expectEvents(t,
		[]string{"ci auth", `"result":"ok"`, `"method":"publickey"`, `"key":"` + ssh.FingerprintSHA256(g.client.Signer.PublicKey())},
		[]string{"ci command", `"text":"echo hi; echo oops \u003e\u00262; exit 3"`, `"verdict":"allow"`},
		[]string{"ci output", `"stream":"stdout"`, `"text":"hi\n"`},
		[]string{"ci output", `"stream":"stderr"`, `"text":"oops\n"`},
		[]string{"ci output", `"exit_status":3`},
		[]string{"ci output", `"exit_signal":"TERM"`},
	)
}

// TestClientAuth: a listed key and a token log in; an unknown key, a bad
// token, another identity's token and an identity not allowed on the
// target all fail alike, and are recorded with the reason.
func TestClientAuth(t *testing.T) {
	g := startGateway(t, nil, nil)
	if r := g.sshToken(t, "ci", ciToken, "echo token-ok"); r.stdout != "token-ok\n" || r.code != 0 {
		t.Fatalf("token login: %+v", r)
	}
	stranger := newKey(t, g.dir, "stranger_key")
	denied := []result{
		g.run(t, g.command(stranger.File, "ci", "echo no"), ""),
		g.sshToken(t, "ci", "slc_wrong", "echo no"),
		g.sshToken(t, "ci", otherToken, "echo no"),
		g.sshToken(t, "other", otherToken, "echo no"),
	}
	for i, r := range denied {
		if r.code != 255 || r.stdout != "" || !strings.Contains(r.stderr, "Permission denied") {
			t.Errorf("attempt %d: got %+v", i, r)
		}
	}
	evs := g.expectEvents(t,
		[]string{"ci auth", `"result":"ok"`, `"method":"password"`, `"source":"config"`},
		[]string{"ci auth", `"result":"denied"`, `"key":"` + ssh.FingerprintSHA256(stranger.Signer.PublicKey()), "key not listed"},
		[]string{"ci auth", `"result":"denied"`, "unknown token"},
		[]string{"ci auth", `"result":"denied"`, "token of other presented as ci"},
		[]string{"other auth", `"result":"denied"`, "identity other is not allowed on target host"},
	)
	for _, e := range evs {
		if strings.Contains(e, otherToken) || strings.Contains(e, ciToken) {
			t.Errorf("a token was recorded: %s", e)
		}
	}
}

// TestRefusedFeatures: forwarding of ports and agents, X11, subsystems
// and environment outside the allowlist are refused with a message.
func TestRefusedFeatures(t *testing.T) {
	g := startGateway(t, nil, nil)
	c := g.goClient(t)
	if _, err := c.Dial("tcp", g.up.Addr); err == nil || !strings.Contains(err.Error(), "port forwarding is not allowed") {
		t.Errorf("local forwarding: %v", err)
	}
	if _, err := c.Listen("tcp", "127.0.0.1:0"); err == nil {
		t.Errorf("remote forwarding was accepted")
	}
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Setenv("LANG", "C.UTF-8"); err != nil {
		t.Errorf("LANG refused: %v", err)
	}
	if err := s.Setenv("LD_PRELOAD", "/tmp/x.so"); err == nil {
		t.Errorf("LD_PRELOAD accepted")
	}
	if ok, _ := s.SendRequest("auth-agent-req@openssh.com", true, nil); ok {
		t.Errorf("agent forwarding accepted")
	}
	if ok, _ := s.SendRequest("x11-req", true, ssh.Marshal(struct {
		Single        bool
		Proto, Cookie string
		Screen        uint32
	}{false, "MIT-MAGIC-COOKIE-1", "00", 0})); ok {
		t.Errorf("x11 accepted")
	}
	if ok, _ := s.SendRequest("pty-req", true, nil); ok {
		t.Errorf("pty accepted")
	}
	s.Close()

	// A subsystem, asked by OpenSSH: refused with exit status 126 and
	// the reason.
	r := g.run(t, g.command(g.client.File, "ci", "sftp", "-s"), "")
	if r.code != ExitRefused || !strings.Contains(r.stderr, `subsystem "sftp" is not enabled`) {
		t.Errorf("sftp: %+v", r)
	}
	// The environment reached the upstream only for allowed names.
	s, err = c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	s.Setenv("LC_TIME", "C")
	s.Setenv("LD_PRELOAD", "/tmp/x.so")
	out, err := s.Output(`echo "[$LC_TIME][$LD_PRELOAD]"`)
	if err != nil || string(out) != "[C][]\n" {
		t.Errorf("env: %q %v", out, err)
	}
	c.Close()
	g.expectEvents(t,
		[]string{"ci error", "direct-tcpip", "port forwarding is not allowed"},
		[]string{"ci error", "tcpip-forward"},
		[]string{"ci error", "auth-agent-req"},
		[]string{"ci error", "x11-req"},
		[]string{"ci error", "subsystem sftp"},
		[]string{"ci command", `"env":["LC_TIME"]`},
	)
}

// TestUpstreamHostKey: a known_hosts file that lists the upstream works;
// a pinned fingerprint or known_hosts of another key is refused, and
// nothing runs.
func TestUpstreamHostKey(t *testing.T) {
	t.Run("known_hosts", func(t *testing.T) {
		g := startGateway(t, nil, func(o *Options, up *sshd) {
			kh := filepath.Join(t.TempDir(), "known_hosts")
			writeKnownHosts(t, kh, up.Addr, up.HostKey)
			o.UpstreamHostKeyFingerprint, o.UpstreamKnownHosts = "", kh
		})
		if r := g.ssh(t, "", "echo hi"); r.code != 0 || r.stdout != "hi\n" {
			t.Errorf("listed host key: %+v", r)
		}
	})
	t.Run("known_hosts mismatch", func(t *testing.T) {
		other := newKey(t, t.TempDir(), "other")
		g := startGateway(t, nil, func(o *Options, up *sshd) {
			kh := filepath.Join(t.TempDir(), "known_hosts")
			writeKnownHosts(t, kh, up.Addr, other.Signer.PublicKey())
			o.UpstreamHostKeyFingerprint, o.UpstreamKnownHosts = "", kh
		})
		if r := g.ssh(t, "", "echo hi"); r.code != ExitGatewayError || r.stdout != "" || !strings.Contains(r.stderr, "cannot run the command on the upstream host") {
			t.Errorf("other host key: %+v", r)
		}
		if !strings.Contains(g.logs.String(), "knownhosts: key mismatch") {
			t.Errorf("the log does not say why:\n%s", g.logs.String())
		}
	})
	t.Run("pinned mismatch", func(t *testing.T) {
		other := newKey(t, t.TempDir(), "other")
		marker := filepath.Join(t.TempDir(), "ran")
		g := startGateway(t, nil, func(o *Options, _ *sshd) {
			o.UpstreamHostKeyFingerprint = ssh.FingerprintSHA256(other.Signer.PublicKey())
		})
		r := g.ssh(t, "", "touch "+marker)
		if r.code != ExitGatewayError || !strings.Contains(r.stderr, "cannot run the command on the upstream host") {
			t.Errorf("got %+v", r)
		}
		if _, err := os.Stat(marker); err == nil {
			t.Errorf("the command ran")
		}
		if !strings.Contains(g.logs.String(), "upstream host key mismatch") {
			t.Errorf("the log does not say why:\n%s", g.logs.String())
		}
	})
}

// TestPtyExec: ssh -tt HOST 'command' runs the command on a terminal
// upstream, its output masked.
func TestPtyExec(t *testing.T) {
	g := startGateway(t, policy.Chain{plugin(t, "pii-mask", "")}, nil)
	r := g.run(t, g.command(g.client.File, "ci", `tty; echo "$TERM"; echo mail user1@example.com`, "-tt"), "")
	if r.code != 0 || !strings.Contains(r.stdout, "/dev/pts/") || !strings.Contains(r.stdout, "mail ") ||
		strings.Contains(r.stdout, "user1@example.com") {
		t.Fatalf("got %+v", r)
	}
}

// TestSCP: the legacy scp protocol (scp -O: exec "scp -t" and "scp -f")
// both ways, judged like any command.
func TestSCP(t *testing.T) {
	if _, err := os.Stat("/usr/bin/scp"); err != nil {
		skipOrFail(t, "scp is not installed (openssh-client)")
	}
	g := startGateway(t, policy.Chain{plugin(t, "shell-guard", "{}")}, nil)
	src := filepath.Join(g.dir, "upload.bin")
	data := make([]byte, 300<<10)
	for i := range data {
		data[i] = byte(i * 7)
	}
	if err := os.WriteFile(src, data, 0o600); err != nil {
		t.Fatal(err)
	}
	remote := filepath.Join(t.TempDir(), "remote.bin")
	scp := func(args ...string) result {
		a := append([]string{"-O", "-F", "/dev/null", "-P", g.port, "-i", g.client.File,
			"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
			"-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none", "-o", "LogLevel=ERROR"}, args...)
		cmd := exec.Command("/usr/bin/scp", a...)
		cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + g.dir}
		return g.run(t, cmd, "")
	}
	if r := scp(src, "ci@"+g.host+":"+remote); r.code != 0 {
		t.Fatalf("upload: %+v", r)
	}
	if b, err := os.ReadFile(remote); err != nil || !bytes.Equal(b, data) {
		t.Fatalf("upload: the remote file differs (%v)", err)
	}
	back := filepath.Join(g.dir, "download.bin")
	if r := scp("ci@"+g.host+":"+remote, back); r.code != 0 {
		t.Fatalf("download: %+v", r)
	}
	if b, err := os.ReadFile(back); err != nil || !bytes.Equal(b, data) {
		t.Fatalf("download: the file differs (%v)", err)
	}
	// Into a system path: refused by shell-guard before scp runs.
	if r := scp(src, "ci@"+g.host+":/etc/sluice-test"); r.code == 0 {
		t.Errorf("scp into /etc: %+v", r)
	}
	if _, err := os.Stat("/etc/sluice-test"); err == nil {
		os.Remove("/etc/sluice-test")
		t.Errorf("scp into /etc ran")
	}
	g.expectEvents(t,
		[]string{"ci command", `"text":"scp -t `, `"verdict":"allow"`},
		[]string{"ci command", `"text":"scp -f `, `"verdict":"allow"`},
		[]string{"ci command", `"text":"scp -t /etc/sluice-test"`, `"verdict":"block"`},
	)
}

// TestUpstreamDown: the upstream not listening is exit status 255 and a
// message; the next command on another connection works once it is back
// (here: never; the point is the clean refusal).
func TestUpstreamDown(t *testing.T) {
	port := freePort(t)
	g := startGateway(t, nil, func(o *Options, _ *sshd) { o.Target.Upstream.Address = fmt.Sprintf("127.0.0.1:%d", port) })
	r := g.ssh(t, "", "echo hi")
	if r.code != ExitGatewayError || r.stdout != "" || !strings.Contains(r.stderr, "cannot run the command on the upstream host") {
		t.Fatalf("got %+v", r)
	}
	g.expectEvents(t, []string{"ci error", "upstream: dial tcp"})
}

// TestHeldKeyStaysInside: the upstream key sluice holds appears in no
// output, recording or log line, whatever the client runs.
func TestHeldKeyStaysInside(t *testing.T) {
	g := startGateway(t, policy.Chain{plugin(t, "pii-mask", "")}, nil)
	r := g.ssh(t, "", "echo $SSH_AUTH_SOCK; ls ~/.ssh 2>&1; env")
	pub := strings.Fields(g.up.Key.Authorized)[1]
	secret := strings.Split(string(g.up.Key.PEM), "\n")[2]
	for name, s := range map[string]string{"stdout": r.stdout, "stderr": r.stderr, "log": g.logs.String(),
		"events": strings.Join(g.expectEvents(t, []string{"ci output", `"exit_status":0`}), "\n")} {
		if strings.Contains(s, secret) {
			t.Errorf("the held private key is in %s", name)
		}
		if strings.Contains(s, pub) {
			t.Errorf("the held public key is in %s", name)
		}
	}
}

// TestClientLeaves: a client that disconnects while its command runs
// ends its session at once, even when the command upstream neither reads
// nor writes (its upstream connection is closed; sshd itself lets such a
// command run on, as it would for a direct ssh client).
func TestClientLeaves(t *testing.T) {
	g := startGateway(t, nil, nil)
	pidFile := filepath.Join(t.TempDir(), "pid")
	c := g.goClient(t)
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start("echo $$ > " + pidFile + "; exec sleep 300"); err != nil {
		t.Fatal(err)
	}
	var pid int
	waitUntil(t, "the command to start", func() bool {
		b, _ := os.ReadFile(pidFile)
		pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		return pid > 0
	})
	t.Cleanup(func() {
		// The test's own sleep, if sshd let it live.
		if p, err := os.FindProcess(pid); err == nil {
			p.Kill()
		}
	})
	c.Close()
	g.expectEvents(t, []string{"ci disconnect", "client disconnected"})
}

// waitUntil polls cond for up to 20s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited in vain for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
