package sshgw

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sluicegw/sluice/gateway/approvals"
	"github.com/sluicegw/sluice/gateway/policy"
)

// TestShellGuardBlocks: commands shell-guard blocks, also inside sh -c,
// get the reason on stderr and exit status 126, and nothing of the line
// runs upstream; ordinary commands run.
func TestShellGuardBlocks(t *testing.T) {
	g := startGateway(t, policy.Chain{plugin(t, "shell-guard", "{}")}, nil)
	marker := filepath.Join(t.TempDir(), "ran")
	for _, cmd := range []string{
		`sudo rm -rf /var/lib/x`,
		`sh -c 'sudo id'`,
		`touch ` + marker + `; sudo id`,
		`echo x | sudo tee -a /etc/hosts`,
		`r"m" -rf /`,
	} {
		r := g.ssh(t, "", cmd)
		if r.code != ExitRefused || r.stdout != "" || !strings.Contains(r.stderr, "sluice: blocked by policy: ") ||
			!strings.Contains(r.stderr, "plugin shell-guard") {
			t.Errorf("%s: got %+v", cmd, r)
		}
	}
	if _, err := os.Stat(marker); err == nil {
		t.Errorf("a blocked line ran upstream")
	}
	if r := g.ssh(t, "", "echo hi"); r.stdout != "hi\n" || r.code != 0 || r.stderr != "" {
		t.Errorf("echo hi: %+v", r)
	}
	g.expectEvents(t,
		[]string{"ci command", `"text":"sudo rm -rf /var/lib/x"`, `"verdict":"block"`, `"plugin":"shell-guard"`, "privilege_escalation"},
		[]string{"ci command", `"text":"sh -c 'sudo id'"`, `"verdict":"block"`},
		[]string{"ci command", `"text":"echo hi"`, `"verdict":"allow"`},
	)
}

// TestChainUnavailable: no policy, no command.
func TestChainUnavailable(t *testing.T) {
	g := startGateway(t, nil, func(o *Options, _ *sshd) {
		o.Chain = func() (policy.Chain, error) { return nil, fmt.Errorf("plugin shell-guard is not loaded") }
	})
	if r := g.ssh(t, "", "echo hi"); r.code != ExitRefused || r.stdout != "" || !strings.Contains(r.stderr, "policy of this target is unavailable") {
		t.Errorf("got %+v", r)
	}
}

// TestMaskedOutput: NDJSON with e-mails, cat through sluice with
// pii-mask, comes back masked on stdout and stderr, line for line, and
// is recorded masked.
func TestMaskedOutput(t *testing.T) {
	g := startGateway(t, policy.Chain{plugin(t, "pii-mask", "")}, nil)
	file := filepath.Join(t.TempDir(), "export.ndjson")
	var b bytes.Buffer
	for i := range 200 {
		json.NewEncoder(&b).Encode(map[string]any{"id": i, "email": fmt.Sprintf("user%d@example.com", i), "plan": "pro"})
	}
	if err := os.WriteFile(file, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	r := g.ssh(t, "", "cat "+file+"; cat "+file+" >&2; echo call jane.doe@example.org")
	if r.code != 0 {
		t.Fatalf("got %+v", r)
	}
	if strings.Contains(r.stdout, "@example.") || strings.Contains(r.stderr, "@example.") {
		t.Fatalf("unmasked output:\n%s\n%s", r.stdout, r.stderr)
	}
	if n := strings.Count(r.stdout, "\n"); n != 201 {
		t.Errorf("%d lines on stdout, want 201", n)
	}
	if n := strings.Count(r.stderr, "\n"); n != 200 {
		t.Errorf("%d lines on stderr, want 200", n)
	}
	sc := bufio.NewScanner(strings.NewReader(r.stdout))
	for i := 0; i < 200 && sc.Scan(); i++ {
		var v map[string]any
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil || v["plan"] != "pro" || v["email"] == "" {
			t.Fatalf("line %d is not the masked record: %q %v", i, sc.Text(), err)
		}
	}
	evs := g.expectEvents(t,
		[]string{"ci output", `"stream":"stdout"`, `plan`},
		[]string{"ci output", `"stream":"stderr"`, `plan`},
		[]string{"ci output", `"exit_status":0`},
	)
	for _, e := range evs {
		if strings.Contains(e, "@example.") {
			t.Errorf("recorded unmasked: %.200s", e)
		}
	}
}

// TestApproval: a command shell-guard sends for approval waits, with the
// request ID and how to approve it on stderr; approved, it runs; denied,
// it exits 126 with the reviewer's reason.
func TestApproval(t *testing.T) {
	g := startGateway(t, policy.Chain{plugin(t, "shell-guard", `{"allow_commands":["echo","cat"],"not_allowed":"approve"}`)}, nil)
	alice := approvals.Reviewer{Name: "alice", Human: true, Roles: []string{approvals.RoleReviewer}}
	idRE := regexp.MustCompile(`request (\S+): `)
	for _, approve := range []bool{true, false} {
		cmd := g.command(g.client.File, "ci", "printf released")
		var out bytes.Buffer
		cmd.Stdout = &out
		pr, pw, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = pw
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		pw.Close()
		br := bufio.NewReader(pr)
		var stderr strings.Builder
		var id string
		for id == "" {
			line, err := br.ReadString('\n')
			stderr.WriteString(line)
			if err != nil {
				cmd.Wait()
				t.Fatalf("no request ID on stderr: %q", stderr.String())
			}
			if m := idRE.FindStringSubmatch(line); m != nil {
				id = m[1]
			}
		}
		if approve {
			_, err = g.apr.Approve(id, alice, "deploy window", approvals.GrantSpec{})
		} else {
			_, err = g.apr.Deny(id, alice, "not during the freeze")
		}
		if err != nil {
			t.Fatal(err)
		}
		rest, _ := readAll(br)
		stderr.WriteString(rest)
		werr := cmd.Wait()
		code := cmd.ProcessState.ExitCode()
		if !strings.Contains(stderr.String(), "sluice approvals approve "+id) {
			t.Errorf("stderr does not say how to approve: %q", stderr.String())
		}
		if approve {
			if code != 0 || out.String() != "released" {
				t.Errorf("approved: code %d (%v), stdout %q, stderr %q", code, werr, out.String(), stderr.String())
			}
		} else if code != ExitRefused || out.String() != "" || !strings.Contains(stderr.String(), "denied: not during the freeze (decided by alice)") {
			t.Errorf("denied: code %d, stdout %q, stderr %q", code, out.String(), stderr.String())
		}
	}
	g.expectEvents(t,
		[]string{"ci command", `"text":"printf released"`, `"verdict":"require_approval"`},
		[]string{"ci approval_request"},
		[]string{"ci approval_decision"},
	)
}

func readAll(br *bufio.Reader) (string, error) {
	var sb strings.Builder
	_, err := br.WriteTo(&sb)
	return sb.String(), err
}
