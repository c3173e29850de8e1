package cli

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/sluicegw/sluice/gateway/auth"
	"github.com/sluicegw/sluice/gateway/internal/sshtest"
	"github.com/sluicegw/sluice/gateway/store"
)

// TestServeSSH runs `sluice serve` with an ssh target in front of a real
// sshd and drives it with the OpenSSH client and the job's own key, as
// the README's SSH walkthrough does: output is masked, a privileged
// command is refused with exit status 126 and never runs, a command
// outside the allow list waits for `sluice approvals approve` and then
// runs, an interactive shell is recorded and played back by `sluice
// sessions replay`, and the sessions are listed. The held key comes from
// upstream.key_env; a certificate of ssh.user_ca logs in too.
func TestServeSSH(t *testing.T) {
	sshBin, err := exec.LookPath("ssh")
	if err != nil {
		sshtest.SkipOrFail(t, "OpenSSH client is not installed; CI installs openssh-client")
	}
	up := sshtest.Start(t)
	root, _ := filepath.Abs(filepath.Join("..", ".."))
	for _, p := range []string{"plugins/shell-guard/shell-guard.wasm", "plugins/pii-mask/pii-mask.wasm"} {
		if _, err := os.Stat(filepath.Join(root, p)); err != nil {
			t.Fatalf("%s is not built: run `make plugins` (make test does)", p)
		}
	}
	dir := t.TempDir()
	job := sshtest.NewKey(t, dir, "job_key")
	ca := sshtest.NewKey(t, dir, "user_ca")
	certJob := sshtest.NewKey(t, dir, "cert_job_key")
	cert := &ssh.Certificate{Key: certJob.Signer.PublicKey(), CertType: ssh.UserCert, KeyId: "job-42",
		ValidPrincipals: []string{"ci-deploy"}, ValidBefore: ssh.CertTimeInfinity}
	if err := cert.SignCert(rand.Reader, ca.Signer); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(certJob.File+"-cert.pub", ssh.MarshalAuthorizedKey(cert), 0o644)
	t.Setenv("WEB1_HELD_KEY", string(up.Key.PEM))
	export := filepath.Join(dir, "export.ndjson")
	os.WriteFile(export, []byte("{\"id\":1,\"email\":\"ann@example.com\"}\n{\"id\":2,\"email\":\"bob@example.org\"}\n"), 0o644)
	marker := filepath.Join(dir, "ran")
	adminAddr, sshAddr := freePort(t), freePort(t)
	const reviewerToken = "alice-token-3f9a"
	cfgPath := filepath.Join(dir, "sluice.yaml")
	os.WriteFile(cfgPath, []byte(fmt.Sprintf(`data_dir: %s
admin: {listen: %s}
identities:
  - {name: ci-deploy, kind: service, ssh_keys: [%q]}
  - {name: alice, kind: human, roles: [reviewer], token_hashes: [%s]}
plugins:
  - {name: shell-guard, path: %s, config: {allow_commands: [cat, echo, sudo, exit], not_allowed: approve}}
  - {name: pii-mask, path: %s}
targets:
  - name: web1
    protocol: ssh
    listen: %s
    upstream: {address: %q, user: %s, key_env: WEB1_HELD_KEY, host_key_fingerprint: %q}
    allow: [ci-deploy]
    plugins: [shell-guard, pii-mask]
    ssh: {user_ca: [%q], max_channels: 2, idle_timeout: 10m, keepalive_interval: 5s}
`, filepath.Join(dir, "data"), adminAddr, job.Authorized, auth.HashString(reviewerToken),
		filepath.Join(root, "plugins/shell-guard/shell-guard.wasm"), filepath.Join(root, "plugins/pii-mask/pii-mask.wasm"),
		sshAddr, up.Addr, up.User, ssh.FingerprintSHA256(up.HostKey), ca.Authorized)), 0o644)
	logs := startServe(t, cfgPath)

	port := strings.Split(sshAddr, ":")[1]
	runAs := func(key, command string) (string, int) {
		cmd := exec.Command(sshBin, "-F", "/dev/null", "-p", port, "-i", key, "-o", "IdentitiesOnly=yes",
			"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
			"-o", "LogLevel=ERROR", "ci-deploy@127.0.0.1", command)
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return string(out), code
	}
	run := func(command string) (string, int) { return runAs(job.File, command) }
	out, code := run("cat " + export)
	if code != 0 || strings.Contains(out, "@example") || !strings.Contains(out, `"id":2`) {
		t.Fatalf("masked cat: %d\n%s", code, out)
	}
	out, code = run("sudo touch " + marker)
	if code != 126 || !strings.Contains(out, "privilege") {
		t.Fatalf("sudo: %d\n%s", code, out)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the refused command ran upstream")
	}
	if out, code := runAs(certJob.File, "echo cert-ok"); code != 0 || out != "cert-ok\n" {
		t.Fatalf("certificate login: %d\n%s", code, out)
	}
	if strings.Contains(logs.String(), string(up.Key.PEM)) {
		t.Fatal("the held key is in the gateway's log")
	}

	// A command outside the allow list waits for a reviewer, who approves
	// it with the CLI; then it runs.
	held := exec.Command(sshBin, "-F", "/dev/null", "-p", port, "-i", job.File, "-o", "IdentitiesOnly=yes",
		"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
		"-o", "LogLevel=ERROR", "ci-deploy@127.0.0.1", "printf released")
	var heldOut syncBuffer
	held.Stdout, held.Stderr = &heldOut, &heldOut
	if err := held.Start(); err != nil {
		t.Fatal(err)
	}
	reqID := ""
	idRE := regexp.MustCompile(`request ([0-9a-f]{16,})`)
	for deadline := time.Now().Add(20 * time.Second); reqID == ""; time.Sleep(50 * time.Millisecond) {
		if m := idRE.FindStringSubmatch(heldOut.String()); m != nil && strings.Contains(heldOut.String(), "sluice approvals approve") {
			reqID = m[1]
		} else if time.Now().After(deadline) {
			held.Process.Kill()
			held.Wait()
			t.Fatalf("no approval request on stderr: %q", heldOut.String())
		}
	}
	if code, out, errOut := run2(t, "approvals", "approve", reqID, "--reason", "release window", "--admin-url", adminAddr, "--token", reviewerToken); code != 0 {
		t.Fatalf("approve %s: %d %s %s", reqID, code, out, errOut)
	}
	if err := held.Wait(); err != nil || !strings.HasSuffix(heldOut.String(), "released") {
		t.Fatalf("the approved command: %v\n%q", err, heldOut.String())
	}

	// An interactive shell, recorded and played back.
	shell := exec.Command(sshBin, "-F", "/dev/null", "-tt", "-p", port, "-i", job.File, "-o", "IdentitiesOnly=yes",
		"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
		"-o", "LogLevel=ERROR", "ci-deploy@127.0.0.1")
	stdin, err := shell.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var shellOut syncBuffer
	shell.Stdout, shell.Stderr = &shellOut, &shellOut
	if err := shell.Start(); err != nil {
		t.Fatal(err)
	}
	waitShell := func(s string) {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); !strings.Contains(shellOut.String(), s); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				shell.Process.Kill()
				shell.Wait()
				t.Fatalf("no %q from the shell: %q", s, shellOut.String())
			}
		}
	}
	stdin.Write([]byte("echo shell-$((40+2))\r"))
	waitShell("shell-42")
	stdin.Write([]byte("cat " + export + "\r"))
	waitShell(`"id":2`)
	stdin.Write([]byte("exit\r"))
	shell.Wait()
	if strings.Contains(shellOut.String(), "@example") {
		t.Errorf("the shell showed unmasked output: %q", shellOut.String())
	}

	code2, list, _ := run2(t, "sessions", "list", "--identity", "ci-deploy", "--admin-url", adminAddr, "--data-dir", filepath.Join(dir, "data"))
	if code2 != 0 || !strings.Contains(list, "web1") || !strings.Contains(list, "block=1") {
		t.Errorf("sessions list: %d\n%s", code2, list)
	}
	// The shell plays back from the recording, masked.
	_, js, _ := run2(t, "sessions", "list", "--identity", "ci-deploy", "--json", "--admin-url", adminAddr, "--data-dir", filepath.Join(dir, "data"))
	var infos []store.SessionInfo
	json.Unmarshal([]byte(js), &infos)
	played := false
	for _, in := range infos {
		code, out, _ := run2(t, "sessions", "replay", in.ID, "--speed", "100", "--admin-url", adminAddr, "--data-dir", filepath.Join(dir, "data"))
		if code == 0 && strings.Contains(out, "shell-42") {
			played = true
			if strings.Contains(out, "@example") || !strings.Contains(out, `"id":2`) {
				t.Errorf("the replayed shell: %q", out)
			}
		}
	}
	if !played {
		t.Errorf("no session replays the shell (%d sessions)", len(infos))
	}
}
