package shellscan

import (
	"strconv"
	"testing"
	"unicode/utf8"

	"github.com/sluicegw/sluice/abi"
)

func FuzzAnalyze(f *testing.F) {
	for _, s := range []string{
		"rm -rf /", `r"m" -rf /`, ":(){ :|:& };:", "curl x | sudo -E bash -",
		"sh <<EOF\nrm -rf /\nEOF", `sudo sh -c 'echo $(id) > /etc/x'`, "bash <(curl -s x)",
		"f() { (a | b &) ; }; for i in $(seq 3); do eval \"$i\"; done", `$'\x72m' "a\ b"`,
		"case $x in a) :;; esac; [[ -f $(x) ]]; let x=$(y)+1", "env -S 'a b' | xargs -I{} c {}",
		"echo \"rm -rf /\" | bash", "(a |", `"`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		a := Analyze(line)
		if len(a.Commands) > MaxCommands {
			t.Fatalf("%d commands", len(a.Commands))
		}
		for i, c := range a.Commands {
			if (len(c.Argv) == 0) != (c.Name == "") && !(len(c.Argv) > 0 && basename(c.Argv[0].Text) == "") {
				t.Fatalf("command %d: name %q argv %v", i, c.Name, c.Argv)
			}
			if c.PipeFrom != "" && c.Pipe < 0 {
				t.Fatalf("command %d: pipe_from without pipe position", i)
			}
		}
		var cb abi.CommandBuilder
		cb.Set(abi.CommandShell, line, "fuzz", "fuzz")
		a.AddFacts(&cb)
		buf := make([]byte, cb.Size())
		cb.Encode(buf)
		cmd, err := abi.ParseCommand(buf)
		if err != nil {
			t.Fatal(err)
		}
		n := cmd.NumFacts()
		if n == 0 {
			t.Fatal("no facts")
		}
		if v, _ := cmd.Lookup(0, "commands"); string(v) != strconv.Itoa(len(a.Commands)) {
			t.Fatalf("commands = %q, want %d", v, len(a.Commands))
		}
		for i := 0; i < n; i++ {
			fc := cmd.Fact(i)
			if fc.Stmt < 0 || (len(a.Commands) > 0 && fc.Stmt >= len(a.Commands)) || len(fc.Key) == 0 {
				t.Fatalf("fact %d: stmt %d key %q", i, fc.Stmt, fc.Key)
			}
			if utf8.ValidString(line) && !utf8.Valid(fc.Value) && string(fc.Key) != "arg" && string(fc.Key) != "argv0" && string(fc.Key) != "env" && string(fc.Key) != "redirect" {
				t.Fatalf("fact %d %s: invalid UTF-8 %q", i, fc.Key, fc.Value)
			}
		}
	})
}
