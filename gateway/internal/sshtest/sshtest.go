// Package sshtest starts a real OpenSSH server (/usr/sbin/sshd) for tests:
// a temp dir, a generated host key, a free port on loopback, and one
// generated key (the one a gateway holds) authorized for the current
// user; it serves the sftp subsystem (internal-sftp). Tests of the SSH
// engine and of `sluice serve` share it; nothing here is for production.
package sshtest

import (
	"bufio"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/sluicegw/sluice/gateway/internal/syncbuf"
)

// Key is a generated ed25519 key with its private key file (0600,
// OpenSSH format) and its authorized_keys line.
type Key struct {
	Signer     ssh.Signer
	File       string
	Authorized string
	PEM        []byte
}

// NewKey generates a key and writes its private key to dir/name.
func NewKey(t testing.TB, dir, name string) Key {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	blk, err := ssh.MarshalPrivateKey(priv, name)
	if err != nil {
		t.Fatal(err)
	}
	b := pem.EncodeToMemory(blk)
	file := filepath.Join(dir, name)
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return Key{Signer: s, File: file, PEM: b, Authorized: strings.TrimSpace(string(ssh.MarshalAuthorizedKey(s.PublicKey())))}
}

// SkipOrFail skips a test whose tool is missing, except in CI ($CI set),
// where .ci/run installs it and a skip would prove nothing.
func SkipOrFail(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatal(why)
	}
	t.Skip(why)
}

// Server is a real OpenSSH server started for a test: the upstream.
type Server struct {
	Addr    string
	Dir     string
	User    string
	HostKey ssh.PublicKey
	Key     Key // the key the gateway holds, authorized here
}

// Start starts /usr/sbin/sshd in a temp dir: generated host key, a
// free port on loopback, only the held key authorized for the current
// user. It is stopped in t.Cleanup.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := "/usr/sbin/sshd"
	if _, err := os.Stat(bin); err != nil {
		SkipOrFail(t, "OpenSSH server (/usr/sbin/sshd) is not installed; CI installs openssh-server")
	}
	if os.Geteuid() == 0 {
		// The privilege separation directory sshd insists on; the
		// openssh-server package creates it at boot, containers may not.
		if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
			t.Fatal(err)
		}
	}
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	host := NewKey(t, dir, "ssh_host_ed25519_key")
	held := NewKey(t, dir, "held_key")
	if err := os.WriteFile(filepath.Join(dir, "authorized_keys"), []byte(held.Authorized+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	cfg := fmt.Sprintf(`ListenAddress 127.0.0.1:%d
HostKey %s
PidFile %s
AuthorizedKeysFile %s
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
AcceptEnv LANG LC_*
AllowTcpForwarding no
X11Forwarding no
Subsystem sftp internal-sftp
LogLevel VERBOSE
`, port, host.File, filepath.Join(dir, "sshd.pid"), filepath.Join(dir, "authorized_keys"))
	cfgFile := filepath.Join(dir, "sshd_config")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-D", "-e", "-f", cfgFile)
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	// sshd forks a process per connection (and the commands under it),
	// which inherit its stderr: stop the whole group, and never wait
	// long for a straggler to close the pipe.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
		if t.Failed() {
			t.Logf("sshd log:\n%s", logs.String())
		}
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	waitListening(t, addr, func() string { return logs.String() })
	return &Server{Addr: addr, Dir: dir, User: u.Username, HostKey: host.Signer.PublicKey(), Key: held}
}

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

// waitListening waits until addr accepts connections and speaks SSH.
func waitListening(t testing.TB, addr string, logs func() string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		nc, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			nc.SetReadDeadline(time.Now().Add(5 * time.Second))
			line, _ := bufio.NewReader(nc).ReadString('\n')
			nc.Close()
			if strings.HasPrefix(line, "SSH-2.0-") {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("sshd did not start on %s: %v\n%s", addr, err, logs())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// syncBuffer is the tests' concurrent-safe output sink.
type syncBuffer = syncbuf.Buffer
