package sshgw

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pkg/sftp"

	"github.com/sluicegw/sluice/gateway/config"
	"github.com/sluicegw/sluice/gateway/policy"
)

// startSFTPGateway starts a gateway whose target serves sftp with cfg.
func startSFTPGateway(t *testing.T, chain policy.Chain, cfg config.TargetSFTP) *gateway {
	t.Helper()
	return startGateway(t, chain, func(o *Options, _ *sshd) {
		// The target as given, not the parsed config's copy without sftp.
		o.Config = nil
		o.Target.SSH.SFTP = cfg
	})
}

// transferArgs are the options of sftp and scp runs (-P, not ssh's -p).
func (g *gateway) transferArgs() []string {
	return []string{"-F", "/dev/null", "-P", g.port, "-i", g.client.File,
		"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
		"-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none", "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=20"}
}

// sftpBatch runs /usr/bin/sftp -b with the batch's lines as ci; a line
// starting with "-" may fail without ending the batch.
func (g *gateway) sftpBatch(t *testing.T, lines ...string) result {
	t.Helper()
	if _, err := os.Stat("/usr/bin/sftp"); err != nil {
		skipOrFail(t, "sftp is not installed (openssh-client)")
	}
	batch := filepath.Join(g.dir, "batch")
	if err := os.WriteFile(batch, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	args := append(g.transferArgs(), "-b", batch, "ci@"+g.host)
	cmd := exec.Command("/usr/bin/sftp", args...)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + g.dir}
	cmd.Dir = g.dir
	return g.run(t, cmd, "")
}

// scp runs /usr/bin/scp as ci; extra go first (-O: the legacy protocol).
func (g *gateway) scp(t *testing.T, extra []string, from, to string) result {
	t.Helper()
	if _, err := os.Stat("/usr/bin/scp"); err != nil {
		skipOrFail(t, "scp is not installed (openssh-client)")
	}
	args := append(append(extra, g.transferArgs()...), from, to)
	cmd := exec.Command("/usr/bin/scp", args...)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + g.dir}
	return g.run(t, cmd, "")
}

// goSFTP opens an sftp client through sluice with x/crypto/ssh and
// pkg/sftp, for requests the OpenSSH client does not make on demand.
// Closing it ends the connection.
func (g *gateway) goSFTP(t *testing.T) *goSFTPClient {
	t.Helper()
	sc := g.goClient(t)
	c, err := sftp.NewClient(sc)
	if err != nil {
		t.Fatal(err)
	}
	return &goSFTPClient{Client: c, conn: sc}
}

type goSFTPClient struct {
	*sftp.Client
	conn io.Closer
}

func (c *goSFTPClient) Close() error {
	c.Client.Close()
	return c.conn.Close()
}

func writeFile(t *testing.T, name string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func exists(name string) bool {
	_, err := os.Lstat(name)
	return err == nil
}

func binaryData(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

// TestSFTP: put and get through a real sftp client, sluice and a real
// sshd, byte for byte; operations blocked by ssh.sftp.rules get
// "Permission denied" and nothing happens upstream, whatever the path's
// spelling ("..", relative, a symlink); every operation is recorded.
func TestSFTP(t *testing.T) {
	remote := t.TempDir()
	g := startSFTPGateway(t, policy.Chain{plugin(t, "pii-mask", "")}, config.TargetSFTP{
		Enabled: true,
		Rules: []config.SFTPRule{
			{Path: remote + "/keep/**", Ops: []string{"write", "remove", "rename", "setstat"}, Action: "block"},
			{Path: remote + "/secret/**", Action: "block"},
			{Path: "*.key", Ops: []string{"read"}, Action: "block"},
			{Path: remote + "/public/**", Action: "allow"},
		},
	})
	data := binaryData(300 << 10)
	// Text with an address: reads are not masked unless mask_reads.
	text := []byte("contact: user1@example.com\n")
	local := filepath.Join(g.dir, "upload.bin")
	writeFile(t, local, data)
	writeFile(t, filepath.Join(g.dir, "notes.txt"), text)
	writeFile(t, filepath.Join(remote, "keep", "kept.txt"), []byte("kept\n"))
	writeFile(t, filepath.Join(remote, "secret", "s.txt"), []byte("secret\n"))
	writeFile(t, filepath.Join(remote, "public", "id.key"), []byte("key\n"))
	if err := os.Symlink(filepath.Join(remote, "secret", "s.txt"), filepath.Join(remote, "public", "link")); err != nil {
		t.Fatal(err)
	}

	r := g.sftpBatch(t,
		"put upload.bin "+remote+"/up.bin",
		"put notes.txt "+remote+"/notes.txt",
		"get "+remote+"/up.bin back.bin",
		"get "+remote+"/notes.txt notes-back.txt",
		"mkdir "+remote+"/made",
		"rename "+remote+"/notes.txt "+remote+"/made/notes.txt",
		"ls "+remote+"/made",
	)
	if r.code != 0 || !strings.Contains(r.stdout, "notes.txt") {
		t.Fatalf("allowed operations: %+v", r)
	}
	if b, err := os.ReadFile(filepath.Join(remote, "up.bin")); err != nil || !bytes.Equal(b, data) {
		t.Errorf("put: the remote file differs (%v)", err)
	}
	if b, err := os.ReadFile(filepath.Join(g.dir, "back.bin")); err != nil || !bytes.Equal(b, data) {
		t.Errorf("get: the file differs (%v)", err)
	}
	if b, err := os.ReadFile(filepath.Join(g.dir, "notes-back.txt")); err != nil || !bytes.Equal(b, text) {
		t.Errorf("get without mask_reads: %q (%v)", b, err)
	}
	if !exists(filepath.Join(remote, "made", "notes.txt")) {
		t.Errorf("rename did not happen")
	}

	// Each refusal on its own run: sftp -b stops at a failed command.
	// OpenSSH's get and ls stat the path first, and report a stat that
	// failed as "not found".
	const perm, notFound = "Permission denied", "not found"
	denied := []struct{ name, batch, says string }{
		{"remove", "rm " + remote + "/keep/kept.txt", perm},
		{"put", "put upload.bin " + remote + "/keep/new.bin", perm},
		{"rename into", "rename " + remote + "/up.bin " + remote + "/keep/up.bin", perm},
		{"read by a rule without a slash", "get " + remote + "/public/id.key", perm},
		{"dot-dot", "get " + remote + "/public/../secret/s.txt", notFound},
		{"relative dot-dot", "cd " + remote + "/public\nget ../secret/s.txt", notFound},
		{"dot-dot above the top", "get ../../../../../../.." + remote + "/secret/s.txt", notFound},
		{"symlink to a secret", "get " + remote + "/public/link", notFound},
		{"list", "ls " + remote + "/secret", notFound},
	}
	for _, d := range denied {
		r := g.sftpBatch(t, strings.Split(d.batch, "\n")...)
		if r.code == 0 || !strings.Contains(r.stderr, d.says) {
			t.Errorf("%s: %+v", d.name, r)
		}
	}
	if !exists(filepath.Join(remote, "keep", "kept.txt")) {
		t.Errorf("a blocked remove removed the file")
	}
	if exists(filepath.Join(remote, "keep", "new.bin")) || exists(filepath.Join(remote, "keep", "up.bin")) {
		t.Errorf("a blocked write or rename wrote the file")
	}
	if !exists(filepath.Join(remote, "up.bin")) {
		t.Errorf("a blocked rename moved the file")
	}
	for _, f := range []string{"s.txt", "link", "id.key"} {
		if exists(filepath.Join(g.dir, f)) {
			t.Errorf("a blocked get wrote %s", f)
		}
	}

	g.expectEvents(t,
		[]string{"ci sftp", `"op":"start"`},
		[]string{"ci sftp", `"op":"write"`, `"path":"` + remote + `/up.bin"`, `"verdict":"allow"`},
		[]string{"ci sftp", `"op":"close"`, `"path":"` + remote + `/up.bin"`, fmt.Sprintf(`"bytes_written":%d`, len(data))},
		[]string{"ci sftp", `"op":"read"`, `"path":"` + remote + `/up.bin"`, `"verdict":"allow"`},
		[]string{"ci sftp", `"op":"close"`, fmt.Sprintf(`"bytes_read":%d`, len(data))},
		[]string{"ci sftp", `"op":"mkdir"`, `"verdict":"allow"`},
		[]string{"ci sftp", `"op":"rename"`, `"target":"` + remote + `/made/notes.txt"`, `"verdict":"allow"`},
		[]string{"ci sftp", `"op":"list"`, `"path":"` + remote + `/made"`},
		[]string{"ci sftp", `"op":"remove"`, `"path":"` + remote + `/keep/kept.txt"`, `"verdict":"block"`, `"rule":1`},
		[]string{"ci sftp", `"op":"write"`, `"path":"` + remote + `/keep/new.bin"`, `"verdict":"block"`, `"rule":1`},
		[]string{"ci sftp", `"op":"stat"`, `"path":"` + remote + `/secret/s.txt"`, `"verdict":"block"`, `"rule":2`},
		[]string{"ci sftp", `"op":"stat"`, `"path":"` + remote + `/public/link"`, `"verdict":"block"`, `"resolved":"` + remote + `/secret/s.txt"`},
		[]string{"ci sftp", `"op":"stat"`, `"path":"` + remote + `/secret"`, `"verdict":"block"`},
		[]string{"ci sftp", `"op":"read"`, `"path":"` + remote + `/public/id.key"`, `"verdict":"block"`, `"rule":3`},
		[]string{"ci sftp", `"op":"end"`},
		[]string{"ci disconnect"},
	)
}

// TestSFTPGoClient: requests the OpenSSH client makes only in passing:
// symlinks, hard links, setstat, a rename onto a blocked path, each
// judged on every path involved.
func TestSFTPGoClient(t *testing.T) {
	remote := t.TempDir()
	g := startSFTPGateway(t, nil, config.TargetSFTP{
		Enabled: true,
		Rules:   []config.SFTPRule{{Path: remote + "/secret/**", Action: "block"}},
	})
	writeFile(t, filepath.Join(remote, "secret", "s.txt"), []byte("secret\n"))
	writeFile(t, filepath.Join(remote, "open.txt"), []byte("open\n"))
	c := g.goSFTP(t)
	denied := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, os.ErrPermission) {
			t.Errorf("%s: %v, want permission denied", what, err)
		}
	}
	denied("symlink to a blocked path", c.Symlink(remote+"/secret/s.txt", remote+"/l1"))
	denied("relative symlink to a blocked path", c.Symlink("secret/s.txt", remote+"/l2"))
	if exists(remote+"/l1") || exists(remote+"/l2") {
		t.Errorf("a blocked symlink was made")
	}
	if err := c.Symlink("open.txt", remote+"/l3"); err != nil {
		t.Errorf("allowed symlink: %v", err)
	}
	if err := c.Link(remote+"/secret/s.txt", remote+"/h1"); err == nil || exists(remote+"/h1") {
		t.Errorf("a hard link was made: %v", err)
	}
	denied("chmod", c.Chmod(remote+"/secret/s.txt", 0o777))
	if err := c.Chmod(remote+"/open.txt", 0o600); err != nil {
		t.Errorf("chmod: %v", err)
	}
	if fi, err := os.Stat(remote + "/open.txt"); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("chmod did not apply: %v %v", fi.Mode(), err)
	}
	denied("posix rename onto a blocked path", c.PosixRename(remote+"/open.txt", remote+"/secret/s.txt"))
	if b, _ := os.ReadFile(remote + "/secret/s.txt"); string(b) != "secret\n" {
		t.Errorf("a blocked rename replaced the file: %q", b)
	}
	denied("mkdir", c.Mkdir(remote+"/secret/d"))
	denied("stat", func() error { _, err := c.Stat(remote + "/secret/s.txt"); return err }())
	c.Close()
	g.expectEvents(t,
		[]string{"ci sftp", `"op":"symlink"`, `"path":"` + remote + `/l2"`, `"target":"secret/s.txt"`, `"verdict":"block"`},
		[]string{"ci sftp", `"op":"symlink"`, `"path":"` + remote + `/l3"`, `"verdict":"allow"`},
		[]string{"ci sftp", `"op":"link"`, `"verdict":"block"`, "hard links are not supported"},
		[]string{"ci sftp", `"op":"setstat"`, `"verdict":"block"`},
		[]string{"ci sftp", `"op":"rename"`, `"verdict":"block"`},
	)
}

// TestSFTPMaskedReads: with mask_reads, a file read through sftp is
// masked by the chain like command output (lines of any length, a file
// of many reads in flight); a read before what the masked stream keeps
// fails instead of serving unmasked bytes.
func TestSFTPMaskedReads(t *testing.T) {
	remote := t.TempDir()
	g := startSFTPGateway(t, policy.Chain{plugin(t, "pii-mask", "")}, config.TargetSFTP{Enabled: true, MaskReads: true})
	var b strings.Builder
	for i := 0; b.Len() < 1<<20; i++ {
		fmt.Fprintf(&b, "line %d: mail user%d@example.com about order %d\n", i, i, i)
	}
	orig := b.String()
	writeFile(t, filepath.Join(remote, "people.txt"), []byte(orig))
	if r := g.sftpBatch(t, "get "+remote+"/people.txt masked.txt"); r.code != 0 {
		t.Fatalf("get: %+v", r)
	}
	got, err := os.ReadFile(filepath.Join(g.dir, "masked.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(got), "@example.com") {
		t.Fatalf("an address came through unmasked")
	}
	lines := strings.Split(strings.TrimSuffix(string(got), "\n"), "\n")
	want := strings.Count(orig, "\n")
	if len(lines) != want || !strings.HasPrefix(lines[0], "line 0: mail ") || !strings.HasPrefix(lines[want-1], fmt.Sprintf("line %d: mail ", want-1)) {
		t.Fatalf("masked file: %d lines, want %d; first %q last %q", len(lines), want, lines[0], lines[len(lines)-1])
	}

	// Masked longer than the file's size: sftp and scp read on to EOF.
	short := strings.Repeat("x a@b.io y\n", 20000)
	writeFile(t, filepath.Join(remote, "short.txt"), []byte(short))
	if r := g.sftpBatch(t, "get "+remote+"/short.txt"); r.code != 0 {
		t.Fatalf("get: %+v", r)
	}
	if r := g.scp(t, nil, "ci@"+g.host+":"+remote+"/short.txt", filepath.Join(g.dir, "scp-short.txt")); r.code != 0 {
		t.Fatalf("scp: %+v", r)
	}
	for _, name := range []string{"short.txt", "scp-short.txt"} {
		b, err := os.ReadFile(filepath.Join(g.dir, name))
		if err != nil || len(b) <= len(short) || strings.Contains(string(b), "@b.io") || strings.Count(string(b), "\n") != 20000 {
			t.Errorf("%s: %d bytes (file: %d), %d lines, %v", name, len(b), len(short), strings.Count(string(b), "\n"), err)
		}
	}

	// CSV and JSON lines are masked like command output: by column, by
	// field.
	writeFile(t, filepath.Join(remote, "people.csv"), []byte("name,email\nann,ann@example.com\nbob,bob@example.com\n"))
	writeFile(t, filepath.Join(remote, "events.ndjson"), []byte(`{"user":{"email":"ann@example.com"},"n":1}`+"\nplain ann@example.com\n"))
	if r := g.sftpBatch(t, "get "+remote+"/people.csv", "get "+remote+"/events.ndjson"); r.code != 0 {
		t.Fatalf("get: %+v", r)
	}
	for name, prefix := range map[string]string{"people.csv": "name,email\nann,", "events.ndjson": `{"user":{"email":`} {
		b, err := os.ReadFile(filepath.Join(g.dir, name))
		if err != nil || strings.Contains(string(b), "@example.com") || !strings.HasPrefix(string(b), prefix) ||
			strings.Count(string(b), "\n") != 3 && name == "people.csv" {
			t.Errorf("%s: %q %v", name, b, err)
		}
	}

	// Random access: the masked stream's start again, after it moved on
	// more than the window, fails.
	defer func(w int64) { maskedReadWindow = w }(maskedReadWindow)
	maskedReadWindow = 256 << 10
	c := g.goSFTP(t)
	f, err := c.Open(remote + "/people.txt")
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 32<<10)
	n, err := f.ReadAt(buf, 0)
	if err != nil || strings.Contains(string(buf[:n]), "@example.com") || !strings.HasPrefix(string(buf[:n]), "line 0: mail ") {
		t.Fatalf("first read: %q %v", buf[:min(n, 80)], err)
	}
	big := make([]byte, 64<<10)
	for off := int64(0); off < 4*maskedReadWindow; off += int64(len(big)) {
		if _, err := f.ReadAt(big, off); err != nil && !errors.Is(err, io.EOF) {
			t.Fatalf("read at %d: %v", off, err)
		}
	}
	if n, err := f.ReadAt(buf, 0); err == nil || n > 0 {
		t.Errorf("a read before the window: %d bytes, %v", n, err)
	}
	f.Close()
	// At most maxMaskedFiles at once.
	var open []*sftp.File
	for i := 0; i < maxMaskedFiles; i++ {
		f, err := c.Open(remote + "/short.txt")
		if err != nil {
			t.Fatalf("masked file %d: %v", i, err)
		}
		open = append(open, f)
	}
	if _, err := c.Open(remote + "/short.txt"); err == nil {
		t.Errorf("masked file %d opened", maxMaskedFiles+1)
	}
	open[0].Close()
	if f, err := c.Open(remote + "/short.txt"); err != nil {
		t.Errorf("after a close: %v", err)
	} else {
		f.Close()
	}
	for _, f := range open[1:] {
		f.Close()
	}
	// Writes are not masked; a read-write open is refused.
	if _, err := c.OpenFile(remote+"/rw.txt", os.O_RDWR|os.O_CREATE); !errors.Is(err, os.ErrPermission) {
		t.Errorf("read-write open: %v", err)
	}
	c.Close()
	g.expectEvents(t,
		[]string{"ci sftp", `"op":"read"`, `"path":"` + remote + `/people.txt"`, `"masked":true`},
		[]string{"ci sftp", `"op":"close"`, "served in order"},
		[]string{"ci sftp", `"op":"read"`, `"path":"` + remote + `/rw.txt"`, `"verdict":"block"`, "read-write open"},
	)
}

// TestSFTPMaskFailsClosed: a masking plugin that fails makes the read
// fail, even when the plugin's own fail mode would let data through.
func TestSFTPMaskFailsClosed(t *testing.T) {
	remote := t.TempDir()
	writeFile(t, filepath.Join(remote, "a.txt"), []byte("mail user1@example.com\n"))
	g := startGateway(t, nil, func(o *Options, _ *sshd) {
		o.Config = nil
		o.Target.SSH.SFTP = config.TargetSFTP{Enabled: true, MaskReads: true}
		o.Chain = func() (policy.Chain, error) { return nil, errors.New("plugins not loaded") }
	})
	r := g.sftpBatch(t, "get "+remote+"/a.txt a.txt")
	if r.code == 0 || exists(filepath.Join(g.dir, "a.txt")) && fileHas(t, filepath.Join(g.dir, "a.txt"), "@example.com") {
		t.Fatalf("read with no policy: %+v", r)
	}
}

func fileHas(t *testing.T, name, s string) bool {
	b, err := os.ReadFile(name)
	return err == nil && strings.Contains(string(b), s)
}

// TestSFTPDisabled: without ssh.sftp.enabled, sftp and scp (whose modern
// protocol is sftp) are refused with a message; legacy scp (-O) runs as
// an exec command.
func TestSFTPDisabled(t *testing.T) {
	g := startGateway(t, nil, nil)
	local := filepath.Join(g.dir, "f.txt")
	writeFile(t, local, []byte("hello\n"))
	remote := t.TempDir()
	r := g.sftpBatch(t, "ls /")
	if r.code == 0 || !strings.Contains(r.stderr, `subsystem "sftp" is not enabled on this target`) {
		t.Errorf("sftp: %+v", r)
	}
	r = g.scp(t, nil, local, "ci@"+g.host+":"+remote+"/f.txt")
	if r.code == 0 || !strings.Contains(r.stderr, `subsystem "sftp" is not enabled on this target`) || exists(remote+"/f.txt") {
		t.Errorf("scp: %+v", r)
	}
	if r := g.scp(t, []string{"-O"}, local, "ci@"+g.host+":"+remote+"/f.txt"); r.code != 0 || !exists(remote+"/f.txt") {
		t.Errorf("scp -O: %+v", r)
	}
	g.expectEvents(t, []string{"ci error", "subsystem sftp"}, []string{"ci command", `"text":"scp -t `})
}

// TestSCPOverSFTP: modern scp (the sftp protocol) both ways when sftp is
// enabled, under the rules; legacy scp still runs as a command.
func TestSCPOverSFTP(t *testing.T) {
	remote := t.TempDir()
	g := startSFTPGateway(t, nil, config.TargetSFTP{
		Enabled: true,
		Rules:   []config.SFTPRule{{Path: remote + "/ro/**", Ops: []string{"write"}, Action: "block"}},
	})
	data := binaryData(200 << 10)
	local := filepath.Join(g.dir, "f.bin")
	writeFile(t, local, data)
	if r := g.scp(t, nil, local, "ci@"+g.host+":"+remote+"/f.bin"); r.code != 0 {
		t.Fatalf("upload: %+v", r)
	}
	if b, err := os.ReadFile(remote + "/f.bin"); err != nil || !bytes.Equal(b, data) {
		t.Fatalf("upload: the remote file differs (%v)", err)
	}
	back := filepath.Join(g.dir, "back.bin")
	if r := g.scp(t, nil, "ci@"+g.host+":"+remote+"/f.bin", back); r.code != 0 {
		t.Fatalf("download: %+v", r)
	}
	if b, err := os.ReadFile(back); err != nil || !bytes.Equal(b, data) {
		t.Fatalf("download: the file differs (%v)", err)
	}
	if r := g.scp(t, nil, local, "ci@"+g.host+":"+remote+"/ro/f.bin"); r.code == 0 || exists(remote+"/ro/f.bin") {
		t.Errorf("upload into a blocked path: %+v", r)
	}
	if r := g.scp(t, []string{"-O"}, "ci@"+g.host+":"+remote+"/f.bin", back+"2"); r.code != 0 {
		t.Errorf("scp -O: %+v", r)
	}
	g.expectEvents(t,
		[]string{"ci sftp", `"op":"write"`, `"path":"` + remote + `/f.bin"`, `"verdict":"allow"`},
		[]string{"ci sftp", `"op":"read"`, `"path":"` + remote + `/f.bin"`, `"verdict":"allow"`},
		[]string{"ci sftp", `"op":"write"`, `"path":"` + remote + `/ro/f.bin"`, `"verdict":"block"`},
		[]string{"ci command", `"text":"scp -f `},
	)
}

func TestGlobRegexp(t *testing.T) {
	for _, c := range []struct {
		glob, path string
		want       bool
	}{
		{"/etc/**", "/etc", true},
		{"/etc/**", "/etc/ssh/sshd_config", true},
		{"/etc/**", "/etcetera", false},
		{"/home/*/.ssh/**", "/home/ci/.ssh/id", true},
		{"/home/*/.ssh/**", "/home/ci/x/.ssh/id", false},
		{"/srv/**/secret", "/srv/secret", true},
		{"/srv/**/secret", "/srv/a/b/secret", true},
		{"**/.git/**", "/repo/.git/config", true},
		{"*.pem", "/a/b/c.pem", true},
		{"*.pem", "/a/b/c.pem.txt", false},
		{"/data/file?.csv", "/data/file1.csv", true},
		{"/data/file?.csv", "/data/file/.csv", false},
		{"/a.b", "/aXb", false},
	} {
		if got := globRegexp(c.glob).MatchString(c.path); got != c.want {
			t.Errorf("%s ~ %s: %v, want %v", c.glob, c.path, got, c.want)
		}
	}
}
