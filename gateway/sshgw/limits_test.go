package sshgw

import (
	"bufio"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// TestUpstreamKeyEnv: the held key read from an environment variable at
// New logs in upstream; unset, empty or not a key is an error of New
// that names the variable and never shows its value.
func TestUpstreamKeyEnv(t *testing.T) {
	const env = "UPSTREAM_TEST_KEY"
	var up *sshd
	g := startGateway(t, nil, func(o *Options, u *sshd) {
		up = u
		t.Setenv(env, string(u.Key.PEM))
		o.UpstreamKey, o.UpstreamKeyEnv = nil, env
	})
	if r := g.ssh(t, "", "echo hi"); r.code != 0 || r.stdout != "hi\n" {
		t.Fatalf("got %+v", r)
	}
	base := Options{Target: g.e.o.Target, Auth: g.e.o.Auth, Store: g.st, HostKey: g.e.hostKey,
		UpstreamHostKeyFingerprint: ssh.FingerprintSHA256(up.HostKey), UpstreamKeyEnv: env}
	for _, tc := range []struct {
		name, value, want string
		unset             bool
	}{
		{"unset", "", "environment variable " + env + " is not set or empty", true},
		{"empty", " \n", "environment variable " + env + " is not set or empty", false},
		{"not a key", "-----BEGIN OPENSSH PRIVATE KEY-----\nc2VjcmV0LW5vdC1hLWtleQ==\n-----END OPENSSH PRIVATE KEY-----\n", "upstream key from environment variable " + env, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(env, tc.value)
			if tc.unset {
				os.Unsetenv(env)
			}
			_, err := New(base)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "c2VjcmV0") {
				t.Fatalf("the variable's value is in the error: %v", err)
			}
		})
	}
}

// TestMaxChannels: sessions beyond Options.MaxChannels on one connection
// are refused with a message; closing one makes room.
func TestMaxChannels(t *testing.T) {
	g := startGateway(t, nil, func(o *Options, _ *sshd) { o.MaxChannels = 1 })
	c := g.goClient(t)
	s1, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.NewSession(); err == nil || !strings.Contains(err.Error(), "at most 1 sessions per connection") {
		t.Fatalf("second session: %v", err)
	}
	s1.Close()
	waitUntil(t, "the first session to be released", func() bool {
		s, err := c.NewSession()
		if err != nil {
			return false
		}
		s.Close()
		return true
	})
}

// longCommand starts a command that outlives the test unless killed,
// and kills it at cleanup (sshd lets it run after its connection went,
// as for a direct client).
func longCommand(t *testing.T, body string) string {
	pidFile := filepath.Join(t.TempDir(), "pid")
	t.Cleanup(func() {
		b, _ := os.ReadFile(pidFile)
		if pid, _ := strconv.Atoi(strings.TrimSpace(string(b))); pid > 0 {
			if p, err := os.FindProcess(pid); err == nil {
				p.Kill()
			}
		}
	})
	return "echo $$ > " + pidFile + "; " + body
}

// TestIdleTimeout: a connection with no data either way for
// Options.IdleTimeout is closed, the client told on stderr, and the
// session recorded as ended by it; output keeps a connection alive.
func TestIdleTimeout(t *testing.T) {
	g := startGateway(t, nil, func(o *Options, _ *sshd) { o.IdleTimeout = 2 * time.Second })
	// Output every 0.1s for 3s: never idle.
	r := g.ssh(t, "", `i=0; while [ $i -lt 30 ]; do echo $i; sleep 0.1; i=$((i+1)); done`)
	if r.code != 0 || strings.Count(r.stdout, "\n") != 30 {
		t.Fatalf("busy command: %+v", r)
	}
	r = g.ssh(t, "", longCommand(t, "exec sleep 60"))
	if r.code != ExitGatewayError || !strings.Contains(r.stderr, "sluice: no data for 2s: closing the connection") {
		t.Fatalf("idle command: %+v", r)
	}
	g.expectEvents(t, []string{"ci disconnect", "idle timeout (2s)"})
}

// TestSessionTimeout: a connection is closed after
// Options.SessionTimeout, busy or not.
func TestSessionTimeout(t *testing.T) {
	g := startGateway(t, nil, func(o *Options, _ *sshd) { o.SessionTimeout = time.Second })
	r := g.ssh(t, "", longCommand(t, `while :; do echo tick; sleep 0.1; done`))
	if r.code != ExitGatewayError || !strings.Contains(r.stderr, "sluice: this connection reached its time limit of 1s") ||
		!strings.Contains(r.stdout, "tick\n") {
		t.Fatalf("got %+v", r)
	}
	g.expectEvents(t, []string{"ci disconnect", "session timeout (1s)"})
}

// TestUpstreamKeepalive: keepalives answered keep a quiet command
// running; when the upstream stops answering (a proxy that stops
// forwarding), it is given up after KeepaliveCountMax intervals: the
// command's client gets exit status 255 and a message, and it is
// recorded.
func TestUpstreamKeepalive(t *testing.T) {
	var px *freezeProxy
	g := startGateway(t, nil, func(o *Options, up *sshd) {
		px = startFreezeProxy(t, up.Addr)
		o.Target.Upstream.Address = px.addr
		o.KeepaliveInterval, o.KeepaliveCountMax = 100*time.Millisecond, 3
	})
	// Quiet for 1s (10 keepalives, each answered).
	if r := g.ssh(t, "", "sleep 1; echo alive"); r.code != 0 || r.stdout != "alive\n" {
		t.Fatalf("answered keepalives: %+v", r)
	}
	cmd := g.command(g.client.File, "ci", longCommand(t, "echo started; exec sleep 60"))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	if line != "started\n" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("got %q; %s", line, stderr.String())
	}
	px.freeze()
	err = cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != ExitGatewayError || !strings.Contains(stderr.String(), "sluice: lost the upstream host (no answer to keepalives") {
		t.Fatalf("exit %d (%v), stderr %q", code, err, stderr.String())
	}
	g.expectEvents(t,
		[]string{"ci error", "upstream: no answer to keepalives for 300ms (3 x 100ms): connection closed"},
		[]string{"ci output", `"exit_status":255`},
	)
}

// freezeProxy forwards TCP connections to an address until frozen, then
// forwards nothing more either way: an upstream that stopped answering
// without closing its connection (a host that hangs, a firewall that
// drops the flow).
type freezeProxy struct {
	addr   string
	mu     sync.Mutex
	frozen bool
	thaw   chan struct{} // closed at cleanup
}

func startFreezeProxy(t testing.TB, target string) *freezeProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &freezeProxy{addr: ln.Addr().String(), thaw: make(chan struct{})}
	var conns sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		close(p.thaw)
		conns.Wait()
	})
	go func() {
		for {
			a, err := ln.Accept()
			if err != nil {
				return
			}
			b, err := net.Dial("tcp", target)
			if err != nil {
				a.Close()
				continue
			}
			conns.Add(2)
			go p.pipe(&conns, a, b)
			go p.pipe(&conns, b, a)
		}
	}()
	return p
}

func (p *freezeProxy) freeze() {
	p.mu.Lock()
	p.frozen = true
	p.mu.Unlock()
}

// pipe copies src to dst; once frozen, what it reads is dropped.
func (p *freezeProxy) pipe(wg *sync.WaitGroup, src, dst net.Conn) {
	defer wg.Done()
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		p.mu.Lock()
		frozen := p.frozen
		p.mu.Unlock()
		if frozen {
			if err != nil {
				// Hold the other side open, as a hung host would.
				<-p.thaw
				return
			}
			continue
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
