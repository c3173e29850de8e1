package sshgw

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicegw/sluice/gateway/policy"
)

// TestRsync: rsync over ssh through sluice, both ways, to the real sshd:
// its remote side ("rsync --server ...") is an exec command judged like
// any other, so shell-guard's rule on writes into system paths refuses an
// upload into /etc before anything runs.
func TestRsync(t *testing.T) {
	const rsyncBin = "/usr/bin/rsync"
	if _, err := os.Stat(rsyncBin); err != nil {
		skipOrFail(t, "rsync is not installed; CI installs it")
	}
	g := startGateway(t, policy.Chain{plugin(t, "shell-guard", "{}")}, nil)
	src := filepath.Join(g.dir, "tree")
	data := make([]byte, 300<<10)
	for i := range data {
		data[i] = byte(i*7 + i/251)
	}
	files := map[string][]byte{"a.bin": data, "sub/b.txt": []byte("hello rsync\n"), "sub/deeper/c.ndjson": []byte("{\"id\":1}\n")}
	for name, b := range files {
		p := filepath.Join(src, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ssh := strings.Join(append([]string{sshBin}, g.sshArgs(g.client.File)...), " ")
	rsync := func(args ...string) result {
		cmd := exec.Command(rsyncBin, append([]string{"-a", "-e", ssh}, args...)...)
		cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + g.dir, "LANG=C"}
		return g.run(t, cmd, "")
	}
	remote := filepath.Join(t.TempDir(), "remote")
	if r := rsync(src+"/", "ci@"+g.host+":"+remote+"/"); r.code != 0 {
		t.Fatalf("upload: %+v", r)
	}
	back := filepath.Join(g.dir, "back")
	if r := rsync("ci@"+g.host+":"+remote+"/", back+"/"); r.code != 0 {
		t.Fatalf("download: %+v", r)
	}
	for name, want := range files {
		for _, dir := range []string{remote, back} {
			if got, err := os.ReadFile(filepath.Join(dir, name)); err != nil || !bytes.Equal(got, want) {
				t.Errorf("%s/%s differs (%v)", dir, name, err)
			}
		}
	}
	// Into a system path: the remote rsync is refused, nothing runs.
	r := rsync(filepath.Join(src, "sub", "b.txt"), "ci@"+g.host+":/etc/sluice-rsync-test")
	if r.code == 0 || !strings.Contains(r.stderr, "sluice: blocked by policy: ") {
		t.Errorf("rsync into /etc: %+v", r)
	}
	if _, err := os.Stat("/etc/sluice-rsync-test"); err == nil {
		os.Remove("/etc/sluice-rsync-test")
		t.Errorf("rsync into /etc ran")
	}
	g.expectEvents(t,
		[]string{"ci command", `"text":"rsync --server `, remote, `"verdict":"allow"`, `"commands":["rsync"]`},
		[]string{"ci command", `"text":"rsync --server --sender `, `"verdict":"allow"`},
		[]string{"ci command", `"text":"rsync --server `, `/etc/sluice-rsync-test"`, `"verdict":"block"`, "shell-guard"},
	)
}
