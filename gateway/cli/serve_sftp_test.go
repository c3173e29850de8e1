package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/sluicegw/sluice/gateway/internal/sshtest"
)

// TestServeSFTP runs `sluice serve` with an ssh target whose ssh.sftp
// section enables sftp with masked reads and a path rule, and drives it
// with the OpenSSH sftp client: a file is read masked, a write the rule
// blocks is refused and not made, and the operations are in the
// session's record.
func TestServeSFTP(t *testing.T) {
	sftpBin, err := exec.LookPath("sftp")
	if err != nil {
		sshtest.SkipOrFail(t, "OpenSSH sftp is not installed; CI installs openssh-client")
	}
	up := sshtest.Start(t)
	root, _ := filepath.Abs(filepath.Join("..", ".."))
	pii := filepath.Join(root, "plugins/pii-mask/pii-mask.wasm")
	if _, err := os.Stat(pii); err != nil {
		t.Fatalf("%s is not built: run `make plugins` (make test does)", pii)
	}
	dir := t.TempDir()
	job := sshtest.NewKey(t, dir, "job_key")
	remote := filepath.Join(dir, "remote")
	os.MkdirAll(filepath.Join(remote, "locked"), 0o755)
	os.WriteFile(filepath.Join(remote, "export.ndjson"), []byte("{\"id\":1,\"email\":\"ann@example.com\"}\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "upload.txt"), []byte("hello\n"), 0o644)
	adminAddr, sshAddr := freePort(t), freePort(t)
	cfgPath := filepath.Join(dir, "sluice.yaml")
	os.WriteFile(cfgPath, []byte(fmt.Sprintf(`data_dir: %s
admin: {listen: %s}
identities:
  - {name: ci-deploy, kind: service, ssh_keys: [%q]}
plugins:
  - {name: pii-mask, path: %s}
targets:
  - name: files
    protocol: ssh
    listen: %s
    upstream: {address: %q, user: %s, key_file: %s, host_key_fingerprint: %q}
    allow: [ci-deploy]
    plugins: [pii-mask]
    ssh:
      sftp:
        enabled: true
        mask_reads: true
        rules: [{path: "%s/locked/**", ops: [write, remove], action: block}]
`, filepath.Join(dir, "data"), adminAddr, job.Authorized, pii, sshAddr, up.Addr, up.User, up.Key.File,
		ssh.FingerprintSHA256(up.HostKey), remote)), 0o644)
	startServe(t, cfgPath)

	port := strings.Split(sshAddr, ":")[1]
	sftp := func(lines ...string) (string, int) {
		batch := filepath.Join(dir, "batch")
		os.WriteFile(batch, []byte(strings.Join(lines, "\n")+"\n"), 0o644)
		cmd := exec.Command(sftpBin, "-F", "/dev/null", "-P", port, "-i", job.File, "-o", "IdentitiesOnly=yes",
			"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
			"-o", "LogLevel=ERROR", "-b", batch, "ci-deploy@127.0.0.1")
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return string(out), code
	}
	if out, code := sftp("get " + remote + "/export.ndjson got.ndjson"); code != 0 {
		t.Fatalf("get: %d\n%s", code, out)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "got.ndjson")); err != nil || strings.Contains(string(b), "@example") ||
		!strings.Contains(string(b), `"id":1`) {
		t.Fatalf("masked get: %q %v", b, err)
	}
	if out, code := sftp("put upload.txt " + remote + "/locked/upload.txt"); code == 0 || !strings.Contains(out, "Permission denied") {
		t.Fatalf("blocked put: %d\n%s", code, out)
	}
	if _, err := os.Stat(filepath.Join(remote, "locked", "upload.txt")); err == nil {
		t.Fatal("the blocked put wrote the file")
	}

	admin := []string{"--admin-url", adminAddr, "--data-dir", filepath.Join(dir, "data")}
	code, list, _ := run2(t, append([]string{"sessions", "list", "--target", "files", "--json"}, admin...)...)
	var sessions []struct {
		ID       string `json:"id"`
		Identity string `json:"identity"`
	}
	if err := json.Unmarshal([]byte(list), &sessions); code != 0 || err != nil || len(sessions) != 2 {
		t.Fatalf("sessions list: %d %v\n%s", code, err, list)
	}
	var events strings.Builder
	for _, s := range sessions {
		code, out, _ := run2(t, append([]string{"sessions", "export", s.ID}, admin...)...)
		if code != 0 || s.Identity != "ci-deploy" {
			t.Fatalf("sessions export %s: %d\n%s", s.ID, code, out)
		}
		events.WriteString(out)
	}
	// The blocked put counts among the sessions' verdicts.
	if code, table, _ := run2(t, append([]string{"sessions", "list", "--target", "files"}, admin...)...); code != 0 || !strings.Contains(table, "block=1") {
		t.Errorf("sessions list does not count the blocked put:\n%s", table)
	}
	for _, want := range []string{`"kind":"sftp"`, `"op":"read"`, `"masked":true`, `"op":"write"`, `"verdict":"block"`} {
		if !strings.Contains(events.String(), want) {
			t.Errorf("no %s in the recorded events:\n%s", want, events.String())
		}
	}
}
