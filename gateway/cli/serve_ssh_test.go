package cli

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/sluicegw/sluice/gateway/internal/sshtest"
)

// TestServeSSH runs `sluice serve` with an ssh target in front of a real
// sshd and drives it with the OpenSSH client and the job's own key:
// output is masked, a privileged command is refused with exit status 126
// and never runs, and the session is recorded.
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
	export := filepath.Join(dir, "export.ndjson")
	os.WriteFile(export, []byte("{\"id\":1,\"email\":\"ann@example.com\"}\n{\"id\":2,\"email\":\"bob@example.org\"}\n"), 0o644)
	marker := filepath.Join(dir, "ran")
	adminAddr, sshAddr := freePort(t), freePort(t)
	cfgPath := filepath.Join(dir, "sluice.yaml")
	os.WriteFile(cfgPath, []byte(fmt.Sprintf(`data_dir: %s
admin: {listen: %s}
identities:
  - {name: ci-deploy, kind: service, ssh_keys: [%q]}
plugins:
  - {name: shell-guard, path: %s}
  - {name: pii-mask, path: %s}
targets:
  - name: web1
    protocol: ssh
    listen: %s
    upstream: {address: %q, user: %s, key_file: %s, host_key_fingerprint: %q}
    allow: [ci-deploy]
    plugins: [shell-guard, pii-mask]
`, filepath.Join(dir, "data"), adminAddr, job.Authorized,
		filepath.Join(root, "plugins/shell-guard/shell-guard.wasm"), filepath.Join(root, "plugins/pii-mask/pii-mask.wasm"),
		sshAddr, up.Addr, up.User, up.Key.File, ssh.FingerprintSHA256(up.HostKey))), 0o644)
	logs := startServe(t, cfgPath)

	port := strings.Split(sshAddr, ":")[1]
	run := func(command string) (string, int) {
		cmd := exec.Command(sshBin, "-F", "/dev/null", "-p", port, "-i", job.File, "-o", "IdentitiesOnly=yes",
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
	if strings.Contains(logs.String(), string(up.Key.PEM)) {
		t.Fatal("the held key is in the gateway's log")
	}
	code2, list, _ := run2(t, "sessions", "list", "--identity", "ci-deploy", "--admin-url", adminAddr, "--data-dir", filepath.Join(dir, "data"))
	if code2 != 0 || !strings.Contains(list, "web1") || !strings.Contains(list, "block=1") {
		t.Errorf("sessions list: %d\n%s", code2, list)
	}
}
