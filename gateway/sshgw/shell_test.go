package sshgw

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicegw/sluice/gateway/policy"
)

// TestShell drives an interactive shell through ssh -tt: lines are
// judged at Enter (a blocked one never runs, an edited one is refused),
// output is masked, and the session is recorded as asciicast events.
func TestShell(t *testing.T) {
	g := startGateway(t, policy.Chain{plugin(t, "shell-guard", "{}"), plugin(t, "pii-mask", "")}, nil)
	file := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(file, []byte("contact user7@example.com end-of-notes\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(t.TempDir(), "ran")
	cmd := g.command(g.client.File, "ci", "", "-tt")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr syncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Errorf("ssh did not end")
		}
	})
	waitFor := func(b *syncBuffer, s string) {
		t.Helper()
		deadline := time.Now().Add(8 * time.Second)
		for !strings.Contains(b.String(), s) {
			if time.Now().After(deadline) {
				t.Fatalf("no %q in\nstdout: %q\nstderr: %q", s, stdout.String(), stderr.String())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	type_ := func(s string) {
		if _, err := stdin.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	type_("echo mark-$((40+2))\r")
	waitFor(&stdout, "mark-42")
	type_("cat " + file + "\r")
	waitFor(&stdout, "end-of-notes")
	type_("sudo touch " + marker + "\r")
	waitFor(&stderr, "sluice: blocked by policy: privilege_escalation")
	type_("echo x\x1b[D\x1b[Dy\r")
	waitFor(&stderr, "sluice: line not run")
	type_("echo done-$((1+1))\r")
	waitFor(&stdout, "done-2")
	type_("exit\r")
	select {
	case <-done:
		if waitErr != nil {
			t.Errorf("ssh: %v\nstderr: %q", waitErr, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the shell did not end")
	}
	if strings.Contains(stdout.String(), "user7@example.com") {
		t.Errorf("unmasked output: %q", stdout.String())
	}
	if _, err := os.Stat(marker); err == nil {
		t.Errorf("the blocked line ran")
	}
	evs := g.expectEvents(t,
		[]string{"ci output", `"asciicast_header"`, `"version":2`},
		[]string{"ci output", `"asciicast":[`, `"o"`, "mark-42"},
		[]string{"ci command", `"text":"echo mark-$((40+2))"`, `"verdict":"allow"`, `"note":"shell"`},
		[]string{"ci command", `"text":"sudo touch `, `"verdict":"block"`},
		[]string{"ci command", `"verdict":"block"`, "edited with keys"},
		[]string{"ci output", `"exit_status":0`},
	)
	for _, e := range evs {
		if strings.Contains(e, "user7@example.com") {
			t.Errorf("recorded unmasked: %.300s", e)
		}
	}
}
