package shellscan

import (
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// shells are the command names whose -c string, heredoc or piped echo is
// analysed as a command line.
var shells = map[string]bool{
	"sh": true, "bash": true, "zsh": true, "dash": true, "ksh": true,
	"mksh": true, "ash": true, "yash": true, "fish": true, "rbash": true,
}

// opts describes a wrapper's options: short letters taking a value and long
// options taking a value as the next word.
type opts struct {
	short string
	long  []string
}

// skip returns the index of the first operand in args: options end at
// "--", at a word not starting with '-', or at a dynamic word.
func (o opts) skip(args []Word) int {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a.Dynamic || len(a.Text) < 2 || a.Text[0] != '-' {
			return i
		}
		if a.Text == "--" {
			return i + 1
		}
		if strings.HasPrefix(a.Text, "--") {
			if strings.IndexByte(a.Text, '=') < 0 {
				for _, l := range o.long {
					if a.Text[2:] == l {
						i++
						break
					}
				}
			}
			continue
		}
		for j := 1; j < len(a.Text); j++ {
			if strings.IndexByte(o.short, a.Text[j]) >= 0 {
				if j == len(a.Text)-1 {
					i++ // value is the next word
				}
				break
			}
		}
	}
	return len(args)
}

var (
	sudoOpts    = opts{"ugpCrtUDRT", []string{"user", "group", "prompt", "close-from", "role", "type", "other-user", "chdir", "chroot", "host", "command-timeout"}}
	doasOpts    = opts{"uC", nil}
	pkexecOpts  = opts{"", []string{"user"}}
	run0Opts    = opts{"ugD", []string{"user", "group", "chdir", "description", "slice", "property", "nice", "setenv", "unit", "machine"}}
	xargsOpts   = opts{"IadEnLPs", []string{"arg-file", "delimiter", "max-args", "max-lines", "max-procs", "max-chars", "eof", "process-slot-var"}}
	timeoutOpts = opts{"sk", []string{"signal", "kill-after"}}
	niceOpts    = opts{"n", []string{"adjustment"}}
	execOpts    = opts{"a", nil}
	timeOpts    = opts{"fo", []string{"format", "output"}}
	stdbufOpts  = opts{"ioe", []string{"input", "output", "error"}}
	ioniceOpts  = opts{"cnpPu", []string{"class", "classdata", "pid", "pgid", "uid"}}
	watchOpts   = opts{"nq", []string{"interval", "equexit"}}
	noOpts      = opts{}
)

// unwrap analyses the command run by a wrapper (sudo cmd, sh -c '...').
// argv is the wrapper's argv; stdin is a heredoc or here-string redirect
// feeding it.
func (z *analyzer) unwrap(src string, argv []Word, stdin *syntax.Redirect, c ctx) {
	if len(argv) == 0 || argv[0].Dynamic {
		return
	}
	name := basename(argv[0].Text)
	args := argv[1:]
	if c.depth >= MaxDepth {
		if isWrapper(name) {
			z.a.Truncated = true
		}
		return
	}
	c.depth++
	switch name {
	case "sudo":
		i := sudoOpts.skip(args)
		if i == len(args) && sudoShell(args) {
			// sudo -s / sudo -i: a root shell reading stdin
			z.shell(src, "sh", nil, stdin, elevate(c, "sudo"))
			return
		}
		z.inner(src, args[i:], nil, stdin, elevate(c, "sudo"))
	case "doas":
		z.inner(src, args[doasOpts.skip(args):], nil, stdin, elevate(c, "doas"))
	case "pkexec":
		z.inner(src, args[pkexecOpts.skip(args):], nil, stdin, elevate(c, "pkexec"))
	case "run0":
		z.inner(src, args[run0Opts.skip(args):], nil, stdin, elevate(c, "run0"))
	case "su":
		z.su(src, args, stdin, elevate(c, ""))
	case "env":
		z.env(src, args, stdin, c)
	case "xargs":
		z.inner(src, args[xargsOpts.skip(args):], nil, stdin, via(c, "xargs"))
	case "nohup", "setsid", "unbuffer", "torify", "torsocks", "chpst", "catchsegv":
		z.inner(src, args[noOpts.skip(args):], nil, stdin, via(c, name))
	case "timeout":
		i := timeoutOpts.skip(args)
		if i < len(args) {
			i++ // the duration
		}
		z.inner(src, args[i:], nil, stdin, via(c, name))
	case "nice":
		z.inner(src, args[niceOpts.skip(args):], nil, stdin, via(c, name))
	case "exec":
		z.inner(src, args[execOpts.skip(args):], nil, stdin, via(c, name))
	case "time":
		z.inner(src, args[timeOpts.skip(args):], nil, stdin, via(c, name))
	case "stdbuf":
		z.inner(src, args[stdbufOpts.skip(args):], nil, stdin, via(c, name))
	case "ionice":
		z.inner(src, args[ioniceOpts.skip(args):], nil, stdin, via(c, name))
	case "chroot":
		i := noOpts.skip(args)
		if i < len(args) {
			i++ // the new root
		}
		z.inner(src, args[i:], nil, stdin, via(c, name))
	case "command", "builtin":
		for _, a := range args {
			if a.Dynamic || !strings.HasPrefix(a.Text, "-") || a.Text == "--" {
				break
			}
			if strings.ContainsAny(a.Text, "vV") {
				return // command -v: a lookup, runs nothing
			}
		}
		z.inner(src, args[noOpts.skip(args):], nil, stdin, via(c, name))
	case "busybox":
		if len(args) > 0 && !strings.HasPrefix(args[0].Text, "-") {
			z.inner(src, args, nil, stdin, via(c, name))
		}
	case "eval":
		z.script(args, via(c, "eval"))
	case "watch":
		z.script(args[watchOpts.skip(args):], via(c, "watch"))
	case "find":
		z.find(src, args, c)
	default:
		if shells[name] {
			z.shell(src, name, args, stdin, c)
		}
	}
}

func isWrapper(name string) bool {
	switch name {
	case "sudo", "doas", "pkexec", "run0", "su", "env", "xargs", "nohup", "setsid",
		"unbuffer", "torify", "torsocks", "chpst", "catchsegv", "timeout", "nice",
		"exec", "time", "stdbuf", "ionice", "chroot", "command", "builtin",
		"busybox", "eval", "watch", "find":
		return true
	}
	return shells[name]
}

func via(c ctx, label string) ctx {
	if label == "" {
		return c
	}
	if c.via == "" {
		c.via = label
	} else {
		c.via += " " + label
	}
	return c
}

func elevate(c ctx, label string) ctx {
	c.elevated = true
	return via(c, label)
}

// inner adds the command run by an argv wrapper and unwraps it in turn.
func (z *analyzer) inner(src string, argv []Word, env []string, stdin *syntax.Redirect, c ctx) {
	if len(argv) == 0 {
		return
	}
	z.emit(Command{Argv: argv, Env: env}, c)
	z.unwrap(src, argv, stdin, c)
}

// script analyses the words joined by spaces as a command line (eval,
// watch). Dynamic words are not guessed at.
func (z *analyzer) script(args []Word, c ctx) {
	if len(args) == 0 {
		return
	}
	parts := make([]string, len(args))
	for i, a := range args {
		if a.Dynamic {
			return
		}
		parts[i] = a.Text
	}
	z.parse(strings.Join(parts, " "), c)
}

// shell handles sh/bash/... args: -c STRING, or a script read from a
// heredoc, a here-string or an echo piped in.
func (z *analyzer) shell(src, name string, args []Word, stdin *syntax.Redirect, c ctx) {
	cflag, sflag := false, false
	i := 0
loop:
	for ; i < len(args); i++ {
		a := args[i]
		switch {
		case a.Dynamic:
			return
		case a.Text == "-" || a.Text == "--":
			i++
			break loop
		case strings.HasPrefix(a.Text, "--"):
			switch a.Text[2:] {
			case "rcfile", "init-file":
				i++
			}
		case len(a.Text) > 1 && (a.Text[0] == '-' || a.Text[0] == '+'):
			for j := 1; j < len(a.Text); j++ {
				switch a.Text[j] {
				case 'c':
					cflag = a.Text[0] == '-' || cflag
				case 's':
					sflag = true
				case 'o', 'O':
					i++
				}
			}
		default:
			break loop
		}
	}
	switch {
	case cflag:
		if i < len(args) && !args[i].Dynamic {
			z.parse(args[i].Text, via(c, name+" -c"))
		}
	case i < len(args) && !sflag:
		// runs a script file: nothing to see
	case stdin != nil:
		switch stdin.Op {
		case syntax.WordHdoc:
			if w := evalWord(src, stdin.Word); !w.Dynamic {
				z.parse(w.Text, via(c, name+" <<<"))
			}
		default:
			if stdin.Hdoc != nil {
				z.parse(heredoc(src, stdin), via(c, name+" <<"))
			}
		}
	case c.pipe > 0:
		if prev := z.lastAt(c.level, c.pipe-1); prev != nil && prev.Name == "echo" {
			args := prev.Argv[1:]
			for len(args) > 0 && (args[0].Text == "-n" || args[0].Text == "-e" || args[0].Text == "-E") {
				args = args[1:]
			}
			z.script(args, via(c, name+" |"))
		}
	}
}

// lastAt returns the last command at substitution level lvl in pipeline
// position pipe, or nil.
func (z *analyzer) lastAt(lvl, pipe int) *Command {
	for i := len(z.a.Commands) - 1; i >= 0; i-- {
		if z.levels[i] == lvl && z.a.Commands[i].Pipe == pipe {
			return &z.a.Commands[i]
		}
	}
	return nil
}

// su runs -c STRING (or --command STRING) through the user's shell.
func (z *analyzer) su(src string, args []Word, stdin *syntax.Redirect, c ctx) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a.Dynamic {
			continue
		}
		switch {
		case a.Text == "-c" || a.Text == "--command":
			if i+1 < len(args) && !args[i+1].Dynamic {
				z.parse(args[i+1].Text, via(c, "su -c"))
			}
			return
		case strings.HasPrefix(a.Text, "--command="):
			z.parse(a.Text[len("--command="):], via(c, "su -c"))
			return
		}
	}
	// no -c: the user's shell reads stdin
	z.shell(src, "sh", nil, stdin, via(c, "su"))
}

// sudoShell reports sudo -s, -i, --shell or --login among sudo's options.
func sudoShell(args []Word) bool {
	for _, a := range args {
		t := a.Text
		if t == "--shell" || t == "--login" {
			return true
		}
		if len(t) > 1 && t[0] == '-' && t[1] != '-' {
			for j := 1; j < len(t); j++ {
				if strings.IndexByte(sudoOpts.short, t[j]) >= 0 {
					break
				}
				if t[j] == 's' || t[j] == 'i' {
					return true
				}
			}
		}
	}
	return false
}

// env: options, NAME=VALUE assignments, then the command. -S STRING is
// split like a command line.
func (z *analyzer) env(src string, args []Word, stdin *syntax.Redirect, c ctx) {
	c = via(c, "env")
	var env []string
	i := 0
	for ; i < len(args); i++ {
		a := args[i]
		if a.Dynamic {
			break
		}
		t := a.Text
		switch {
		case t == "--":
			i++
			goto assigns
		case t == "-S" || t == "--split-string":
			if i+1 < len(args) && !args[i+1].Dynamic {
				z.parse(args[i+1].Text+" "+joinStatic(args[i+2:]), c)
			}
			return
		case strings.HasPrefix(t, "--split-string="):
			z.parse(t[len("--split-string="):]+" "+joinStatic(args[i+1:]), c)
			return
		case strings.HasPrefix(t, "-S") && len(t) > 2:
			z.parse(t[2:]+" "+joinStatic(args[i+1:]), c)
			return
		case t == "-u" || t == "-C" || t == "--unset" || t == "--chdir":
			i++
		case t == "-" || strings.HasPrefix(t, "-"):
		default:
			goto assigns
		}
	}
assigns:
	i = min(i, len(args))
	for ; i < len(args); i++ {
		if args[i].Dynamic || !isAssign(args[i].Text) {
			break
		}
		env = append(env, args[i].Text)
	}
	z.inner(src, args[i:], env, stdin, c)
}

func joinStatic(args []Word) string {
	parts := make([]string, 0, len(args))
	for _, a := range args {
		parts = append(parts, a.Text)
	}
	return strings.Join(parts, " ")
}

func isAssign(s string) bool {
	eq := strings.IndexByte(s, '=')
	if eq <= 0 {
		return false
	}
	for i := 0; i < eq; i++ {
		c := s[i]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// find: the commands of -exec/-execdir/-ok/-okdir ... ; or +.
func (z *analyzer) find(src string, args []Word, c ctx) {
	for i := 0; i < len(args); i++ {
		switch args[i].Text {
		case "-exec", "-execdir", "-ok", "-okdir":
			j := i + 1
			for j < len(args) && args[j].Text != ";" && args[j].Text != "+" {
				j++
			}
			z.inner(src, args[i+1:j], nil, nil, via(c, "find "+args[i].Text))
			i = j
		}
	}
}

// heredoc returns the body of a heredoc as the shell passes it on: for an
// unquoted delimiter \$ \` \\ and line continuations are resolved and
// expansions are kept as source text (the outer shell's substitutions are
// also listed by the outer walk).
func heredoc(src string, r *syntax.Redirect) string {
	quoted := r.Word != nil && (len(r.Word.Parts) != 1 || strings.IndexByte(source(src, r.Word), '\\') >= 0)
	if r.Word != nil && len(r.Word.Parts) == 1 {
		_, lit := r.Word.Parts[0].(*syntax.Lit)
		quoted = !lit || quoted
	}
	var sb strings.Builder
	for _, p := range r.Hdoc.Parts {
		l, ok := p.(*syntax.Lit)
		switch {
		case !ok:
			sb.WriteString(source(src, p))
		case quoted:
			sb.WriteString(l.Value)
		default:
			unescapeHeredoc(&sb, l.Value)
		}
	}
	return sb.String()
}

func unescapeHeredoc(sb *strings.Builder, s string) {
	for {
		i := strings.IndexByte(s, '\\')
		if i < 0 || i == len(s)-1 {
			sb.WriteString(s)
			return
		}
		sb.WriteString(s[:i])
		switch c := s[i+1]; c {
		case '\n':
		case '$', '`', '\\':
			sb.WriteByte(c)
		default:
			sb.WriteByte('\\')
			sb.WriteByte(c)
		}
		s = s[i+2:]
	}
}
