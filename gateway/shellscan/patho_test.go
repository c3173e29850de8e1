package shellscan

import (
	"strings"
	"testing"
	"time"
)

// TestPathological feeds hostile shapes: the per-line limits must bound the
// work (no timing assertion: machines are noisy; the durations are logged
// and BenchmarkAnalyze tracks speed).
func TestPathological(t *testing.T) {
	for name, line := range map[string]string{
		"sudo chain":   strings.Repeat("sudo ", 5000) + "x",
		"eval chain":   strings.Repeat("eval ", 5000) + "x",
		"env chain":    strings.Repeat("env ", 5000) + "x",
		"args":         "sudo " + strings.Repeat("a ", 20000),
		"subst":        strings.Repeat("$(", 500) + strings.Repeat(")", 500),
		"pipes":        strings.Repeat("a|", 5000) + "a",
		"echo|sh":      strings.Repeat("echo 'echo x' | sh | ", 500) + "sh",
		"find exec":    "find " + strings.Repeat("-exec ", 5000),
		"find exec2":   strings.Repeat("find -exec ", 3000),
		"nested sh -c": strings.Repeat("sh -c sh -c ", 3000),
		"big script":   strings.Repeat(benchLine+"\n", 5000),
		"blocks":       strings.Repeat("{ ", 2000) + "a;" + strings.Repeat(" }", 2000) + " > x",
	} {
		start := time.Now()
		a := Analyze(line)
		if len(a.Commands) > MaxCommands {
			t.Errorf("%s: %d commands, more than MaxCommands (%d)", name, len(a.Commands), MaxCommands)
		}
		t.Logf("%s: %v, %d commands, truncated %v, err %q", name, time.Since(start), len(a.Commands), a.Truncated, a.ParseError)
	}
}
