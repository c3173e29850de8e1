package config

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the expected output of testdata/errors/*.txt")

// goldenEnv is the environment of every golden case, plus the case's own
// "# env: K=V" header lines.
var goldenEnv = []string{"ORDERS_PG_PASSWORD=s3cret", "HOME=/home/sluice"}

// TestGoldenErrors runs each testdata/errors/*.txt: a YAML document
// (optionally starting with "# env: K=V" lines), a "----" line, and the
// exact error Parse returns for it, one problem per line ("ok" when it
// parses). Run with -update to regenerate after an intended change, and
// read the diff.
func TestGoldenErrors(t *testing.T) {
	files, err := filepath.Glob("testdata/errors/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txt"), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			input, want, ok := bytes.Cut(data, []byte("\n----\n"))
			if !ok {
				t.Fatalf("%s: no ---- separator", file)
			}
			env := append([]string(nil), goldenEnv...)
			for _, line := range strings.Split(string(input), "\n") {
				if v, ok := strings.CutPrefix(line, "# env: "); ok {
					env = append(env, v)
				}
			}
			got := "ok"
			if _, err := Parse("sluice.yaml", input, env); err != nil {
				got = err.Error()
			}
			got += "\n"
			if *update {
				out := append(append(input, "\n----\n"...), got...)
				if err := os.WriteFile(file, out, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if got != string(want) {
				t.Errorf("errors differ (-update to accept)\ngot:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}
