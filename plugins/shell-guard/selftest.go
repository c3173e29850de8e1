package main

import (
	"strconv"

	"github.com/sluicegw/sluice/abi"
	"github.com/sluicegw/sluice/sdk/go/sluice"
)

// selfTest runs after every (re)load, after Init, before the plugin serves.
// It checks that a config was loaded and runs fixed command lines (as the
// host's shell analysis would describe them) through a default guard: each
// must get the expected class, and an ordinary command must be allowed.
func selfTest() error {
	if current == nil {
		return errNotInitialized
	}
	def, err := newGuard(nil)
	if err != nil {
		return err
	}
	for _, tc := range selfTestCases {
		var cb abi.CommandBuilder
		cb.Set(abi.CommandShell, tc.text, "selftest", "selftest")
		n := 0
		for _, f := range tc.facts {
			cb.AddFact(f.stmt, f.key, f.val)
			n = max(n, f.stmt+1)
		}
		cb.AddFact(0, "commands", strconv.Itoa(n))
		h := sluice.NewHarness(sluice.Plugin{Command: func(c *sluice.Command) sluice.Verdict {
			return def.judge(parseFacts(c))
		}})
		v, err := h.Command(&cb)
		if err != nil {
			return err
		}
		if tc.class == "" {
			if v.Decision != abi.Allow {
				return errSelfTest(tc.text, "allow", v.Reason)
			}
			continue
		}
		if v.Decision != abi.Block || len(v.Reason) < len(tc.class) || v.Reason[:len(tc.class)] != tc.class {
			return errSelfTest(tc.text, "block "+tc.class, v.Reason)
		}
	}
	return nil
}

type selfTestError struct{ text, want, got string }

func (e selfTestError) Error() string {
	return "shell-guard selftest: " + e.text + ": want " + e.want + ", got " + e.got
}

func errSelfTest(text, want, got string) error {
	if got == "" {
		got = "allow"
	}
	return selfTestError{text, want, got}
}

type fact struct {
	stmt     int
	key, val string
}

var selfTestCases = []struct {
	text  string
	class string // "" = allow
	facts []fact
}{
	{"ls -la", "", []fact{{0, "argv0", "ls"}, {0, "name", "ls"}, {0, "arg", "-la"}}},
	{"rm -rf ./build", "", []fact{{0, "argv0", "rm"}, {0, "name", "rm"}, {0, "arg", "-rf"}, {0, "arg", "./build"}}},
	{"rm -rf /", classRecursive, []fact{{0, "argv0", "rm"}, {0, "name", "rm"}, {0, "arg", "-rf"}, {0, "arg", "/"}}},
	{"sudo id", classPrivilege, []fact{{0, "argv0", "sudo"}, {0, "name", "sudo"}, {0, "arg", "id"}, {1, "argv0", "id"}, {1, "name", "id"}, {1, "via", "sudo"}, {1, "sudo", "true"}}},
	{"curl x | sh", classDownloadExec, []fact{{0, "argv0", "curl"}, {0, "name", "curl"}, {0, "arg", "x"}, {0, "pipe", "0"}, {1, "argv0", "sh"}, {1, "name", "sh"}, {1, "pipe", "1"}, {1, "pipe_from", "curl"}}},
	{"echo x > /etc/passwd", classSystemWrites, []fact{{0, "argv0", "echo"}, {0, "name", "echo"}, {0, "arg", "x"}, {0, "redirect", "> /etc/passwd"}}},
	{"reboot", classPower, []fact{{0, "argv0", "reboot"}, {0, "name", "reboot"}}},
	{"history -c", classHistoryTamper, []fact{{0, "argv0", "history"}, {0, "name", "history"}, {0, "arg", "-c"}}},
	{"dd if=/dev/zero of=/dev/sda", classDiskWrites, []fact{{0, "argv0", "dd"}, {0, "name", "dd"}, {0, "arg", "if=/dev/zero"}, {0, "arg", "of=/dev/sda"}}},
	{":(){ :|:& };:", classForkBomb, []fact{{0, "fork_bomb", "true"}, {0, "argv0", ":"}, {0, "name", ":"}}},
	{"echo 'a", classUnparseable, []fact{{0, "parse_error", "1:6: reached EOF without closing quote"}, {0, "argv0", "echo"}, {0, "name", "echo"}}},
}
