package bench

import (
	"os/exec"
	"testing"
)

// TestRunScriptParses checks the scripts' syntax without running them.
func TestRunScriptParses(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	for _, s := range []string{"run.sh", "pg.sh", "http.sh", "ssh.sh"} {
		if out, err := exec.Command(bash, "-n", s).CombinedOutput(); err != nil {
			t.Errorf("bash -n %s: %v\n%s", s, err, out)
		}
	}
}
