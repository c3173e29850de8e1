package main

import (
	"errors"
	"path"
	"strconv"
	"strings"

	"github.com/sluicegw/sluice/sdk/go/sluice"
	"github.com/sluicegw/sluice/sdk/go/sluice/jsonconfig"
)

// The classes, in the order they are checked for each command.
const (
	classUnparseable   = "unparseable"
	classForkBomb      = "fork_bomb"
	classNotAllowed    = "not_allowed"
	classPrivilege     = "privilege_escalation"
	classRecursive     = "recursive_delete"
	classSystemWrites  = "system_writes"
	classDiskWrites    = "disk_writes"
	classDownloadExec  = "download_exec"
	classPower         = "power"
	classHistoryTamper = "history_tampering"
)

type action uint8

const (
	actBlock action = iota
	actApprove
	actAllow
)

func parseAction(key, s string) (action, error) {
	switch s {
	case "", "block":
		return actBlock, nil
	case "approve":
		return actApprove, nil
	case "allow":
		return actAllow, nil
	}
	return 0, errors.New("shell-guard: config " + key + ": " + strconv.Quote(s) + ": want block, approve or allow")
}

// config is the operator's config, decoded strictly (unknown keys fail the
// load). Every class key is "block" (the default), "approve" or "allow".
type config struct {
	PrivilegeEscalation string   `json:"privilege_escalation"`
	RecursiveDelete     string   `json:"recursive_delete"`
	SystemWrites        string   `json:"system_writes"`
	DiskWrites          string   `json:"disk_writes"`
	DownloadExec        string   `json:"download_exec"`
	Power               string   `json:"power"`
	ForkBomb            string   `json:"fork_bomb"`
	HistoryTampering    string   `json:"history_tampering"`
	Unparseable         string   `json:"unparseable"`
	NotAllowed          string   `json:"not_allowed"`
	AllowCommands       []string `json:"allow_commands"`
}

// guard is a decoded config: an action per class and the allow list.
type guard struct {
	actions map[string]action
	allow   map[string]bool // nil: no allow list
}

func newGuard(raw []byte) (*guard, error) {
	var c config
	if len(raw) > 0 {
		if err := jsonconfig.Decode(raw, &c); err != nil {
			return nil, errors.New("shell-guard: config: " + err.Error())
		}
	}
	g := &guard{actions: map[string]action{}}
	for _, kv := range []struct{ key, val string }{
		{classPrivilege, c.PrivilegeEscalation},
		{classRecursive, c.RecursiveDelete},
		{classSystemWrites, c.SystemWrites},
		{classDiskWrites, c.DiskWrites},
		{classDownloadExec, c.DownloadExec},
		{classPower, c.Power},
		{classForkBomb, c.ForkBomb},
		{classHistoryTamper, c.HistoryTampering},
		{classUnparseable, c.Unparseable},
		{classNotAllowed, c.NotAllowed},
	} {
		a, err := parseAction(kv.key, kv.val)
		if err != nil {
			return nil, err
		}
		g.actions[kv.key] = a
	}
	if c.AllowCommands != nil {
		g.allow = map[string]bool{}
		for _, n := range c.AllowCommands {
			if n == "" || strings.ContainsAny(n, "/ \t") {
				return nil, errors.New("shell-guard: config allow_commands: " + strconv.Quote(n) + ": want a command name (no path, no spaces)")
			}
			g.allow[n] = true
		}
	}
	return g, nil
}

// cmd is one command of the analysis: the facts of one statement.
type cmd struct {
	index     int
	argv0     string
	name      string
	args      []string
	dynamic   map[int]bool // argv indexes (0 = argv0)
	glob      map[int]bool
	env       []string
	assign    []string
	redirects []string
	pipe      int // -1: not in a pipeline
	pipeFrom  string
	via       string
	sudo      bool
	subst     bool
}

// line is the analysis of a whole command line.
type line struct {
	cmds       []cmd
	parseError string
	forkBomb   bool
	truncated  bool
}

func (l *line) at(i int) *cmd {
	for len(l.cmds) <= i {
		l.cmds = append(l.cmds, cmd{index: len(l.cmds), pipe: -1})
	}
	return &l.cmds[i]
}

// parseFacts groups the facts by statement. Line facts (commands,
// parse_error, fork_bomb, truncated) have statement 0, like the facts of
// command 0; their keys differ, so they are told apart by key.
func parseFacts(c *sluice.Command) *line {
	l := &line{}
	n := 0
	for f := range c.Facts() {
		if f.Stmt < 0 || f.Stmt > 1<<16 {
			continue
		}
		v := string(f.Value)
		switch string(f.Key) {
		case "commands":
			n, _ = strconv.Atoi(v)
			continue
		case "parse_error":
			l.parseError = v
			continue
		case "fork_bomb":
			l.forkBomb = v == "true"
			continue
		case "truncated":
			l.truncated = v == "true"
			continue
		}
		m := l.at(f.Stmt)
		switch string(f.Key) {
		case "argv0":
			m.argv0 = v
		case "name":
			m.name = v
		case "arg":
			m.args = append(m.args, v)
		case "dynamic":
			if i, err := strconv.Atoi(v); err == nil {
				if m.dynamic == nil {
					m.dynamic = map[int]bool{}
				}
				m.dynamic[i] = true
			}
		case "glob":
			if i, err := strconv.Atoi(v); err == nil {
				if m.glob == nil {
					m.glob = map[int]bool{}
				}
				m.glob[i] = true
			}
		case "env":
			m.env = append(m.env, v)
		case "assign":
			m.assign = append(m.assign, v)
		case "redirect":
			m.redirects = append(m.redirects, v)
		case "pipe":
			m.pipe, _ = strconv.Atoi(v)
		case "pipe_from":
			m.pipeFrom = v
		case "via":
			m.via = v
		case "sudo":
			m.sudo = v == "true"
		case "substitution":
			m.subst = v == "true"
		}
	}
	if n > 0 && n <= 1<<16 {
		l.at(n - 1)
	}
	for i := range l.cmds {
		m := &l.cmds[i]
		if m.name == "" && m.argv0 != "" {
			m.name = path.Base(m.argv0)
		}
	}
	return l
}

// hit is one match: the class and what matched.
type hit struct {
	class string
	what  string
}

// judge returns the verdict for a line: the first BLOCK, else the first
// REQUIRE_APPROVAL, else ALLOW.
func (g *guard) judge(l *line) sluice.Verdict {
	var approve string
	decide := func(class, where, what string) (sluice.Verdict, bool) {
		reason := class + ": " + where + ": " + clip(what)
		switch g.actions[class] {
		case actBlock:
			return sluice.Block(reason), true
		case actApprove:
			if approve == "" {
				approve = reason
			}
		}
		return sluice.Verdict{}, false
	}
	if l.parseError != "" {
		if v, ok := decide(classUnparseable, "line", "parse error: "+l.parseError); ok {
			return v
		}
	}
	if l.truncated {
		if v, ok := decide(classUnparseable, "line", "too many or too deeply nested commands to analyze"); ok {
			return v
		}
	}
	if l.forkBomb {
		if v, ok := decide(classForkBomb, "line", "a function runs itself in a pipeline or in the background"); ok {
			return v
		}
	}
	for i := range l.cmds {
		m := &l.cmds[i]
		where := "command " + strconv.Itoa(m.index)
		if m.name != "" {
			where += " (" + m.name + ")"
		}
		if g.allow != nil && m.name != "" && !g.allow[m.name] {
			if v, ok := decide(classNotAllowed, where, m.name+" is not in allow_commands"); ok {
				return v
			}
		}
		for _, h := range classify(l, m) {
			if v, ok := decide(h.class, where, h.what); ok {
				return v
			}
		}
	}
	if approve != "" {
		return sluice.RequireApproval(approve)
	}
	return sluice.Allow()
}

func clip(s string) string {
	const max = 240
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}

// text is the command as the shell would run it: argv joined by spaces.
func (m *cmd) text() string {
	if m.argv0 == "" {
		return strings.Join(append(append([]string{}, m.assign...), m.redirects...), " ")
	}
	return strings.Join(append([]string{m.argv0}, m.args...), " ")
}

// argDynamic reports whether m.args[i] is dynamic or a glob.
func (m *cmd) argDynamic(i int) bool { return m.dynamic[i+1] || m.glob[i+1] }

// classify returns every class m matches, in check order.
func classify(l *line, m *cmd) []hit {
	var hits []hit
	add := func(class, what string) { hits = append(hits, hit{class, what}) }
	name := m.name
	if privilegeNames[name] {
		add(classPrivilege, m.text())
	} else if m.sudo {
		add(classPrivilege, m.text()+" (via "+m.via+")")
	}
	if what := recursiveDelete(m); what != "" {
		add(classRecursive, what)
	}
	if what := systemWrite(m); what != "" {
		add(classSystemWrites, what)
	}
	if what := diskWrite(m); what != "" {
		add(classDiskWrites, what)
	}
	if what := downloadExec(l, m); what != "" {
		add(classDownloadExec, what)
	}
	if what := power(m); what != "" {
		add(classPower, what)
	}
	if what := historyTamper(m); what != "" {
		add(classHistoryTamper, what)
	}
	return hits
}

var privilegeNames = set("sudo", "su", "doas", "pkexec", "run0", "sudoedit")

func set(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// unquote strips the quotes of a dynamic word's source text ("$HOME" is
// kept as $HOME) so that it can be compared.
func unquote(s string) string {
	if len(s) >= 2 && (s[0] == '"' && s[len(s)-1] == '"' || s[0] == '\'' && s[len(s)-1] == '\'') {
		return s[1 : len(s)-1]
	}
	return s
}

// cleanPath normalizes a path word: quotes of a dynamic word removed,
// ${HOME} and $HOME as ~, "." and ".." resolved, trailing slashes removed.
func cleanPath(s string) string {
	s = unquote(s)
	for _, h := range []string{"${HOME}", "$HOME"} {
		if rest, ok := strings.CutPrefix(s, h); ok && (rest == "" || rest[0] == '/') {
			s = "~" + rest
		}
	}
	if s == "" {
		return s
	}
	return path.Clean(s)
}

// broadPaths are targets whose recursive deletion destroys a system or a
// home directory.
var broadPaths = set("/", "~", "/etc", "/usr", "/var", "/home", "/boot", "/root",
	"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/opt", "/srv", "/dev", "/sys", "/proc",
	"/mnt", "/media", "/snap", ".", "..", "*", "~/*", "/*", "./*")

func broadPath(p string) bool {
	if broadPaths[p] {
		return true
	}
	// ../.., ../../..: only parent steps.
	if strings.Trim(strings.ReplaceAll(p, "..", ""), "/") == "" && strings.Contains(p, "..") {
		return true
	}
	// ~user
	return strings.HasPrefix(p, "~") && !strings.Contains(p, "/")
}

// recursiveDelete: rm -r on a broad, dynamic or glob target; find -delete
// or find -exec rm on a broad path.
func recursiveDelete(m *cmd) string {
	name := m.name
	if m.dynamic[0] {
		name = "rm" // $CMD -rf /: an unknown command is judged as if it were rm
	}
	switch name {
	case "rm":
		recursive, targets, broad := false, 0, ""
		flags := true
		for i, a := range m.args {
			if flags && a == "--" {
				flags = false
				continue
			}
			if flags && len(a) > 1 && a[0] == '-' && !m.argDynamic(i) {
				if a == "--recursive" || (a[1] != '-' && strings.ContainsAny(a[1:], "rR")) {
					recursive = true
				}
				continue
			}
			if a == "{}" && strings.HasPrefix(m.via, "find") {
				continue // the find command is judged itself
			}
			targets++
			if broad == "" && (m.argDynamic(i) || broadPath(cleanPath(a))) {
				broad = a
			}
		}
		if !recursive {
			return ""
		}
		if broad != "" {
			return m.text() + " (target " + broad + ")"
		}
		if targets == 0 && (strings.Contains(m.via, "xargs") || m.pipeFrom != "") {
			return m.text() + " (targets read from input)"
		}
	case "find":
		var paths []string
		deletes, filtered := "", false
		for i, a := range m.args {
			if len(paths) == i && a != "" && a[0] != '-' && a != "(" && a != "!" {
				paths = append(paths, a)
				continue
			}
			switch a {
			case "-delete":
				deletes = a
			case "-exec", "-execdir", "-ok", "-okdir":
				if i+1 < len(m.args) && path.Base(m.args[i+1]) == "rm" {
					deletes = a + " rm"
				}
			case "-name", "-iname", "-path", "-ipath", "-wholename", "-iwholename",
				"-regex", "-iregex", "-newer", "-mtime", "-mmin", "-user", "-size", "-empty":
				filtered = true
			}
		}
		if deletes == "" {
			return ""
		}
		if len(paths) == 0 {
			paths = []string{"."}
		}
		for j, p := range paths {
			c := cleanPath(p)
			dyn := m.argDynamic(j)
			if (c == "." || c == "..") && filtered && !dyn {
				continue // find . -name '*.o' -delete
			}
			if dyn || broadPath(c) {
				return m.text() + " (" + deletes + " under " + p + ")"
			}
		}
	}
	return ""
}

// devSafe are device files that are not disks.
var devSafe = set("/dev/null", "/dev/zero", "/dev/stdout", "/dev/stderr", "/dev/stdin",
	"/dev/tty", "/dev/random", "/dev/urandom", "/dev/full")

func diskDevice(p string) bool {
	if !strings.HasPrefix(p, "/dev/") || devSafe[p] {
		return false
	}
	return !strings.HasPrefix(p, "/dev/fd/") && !strings.HasPrefix(p, "/dev/pts/") && !strings.HasPrefix(p, "/dev/shm/")
}

// systemPath reports whether writing p changes the system or grants
// access: /etc, /usr, /bin, /sbin, /lib*, /boot, /sys, /proc, disks, root's
// home and ssh keys.
func systemPath(word string) bool {
	p := cleanPath(word)
	if p == "/" {
		return true
	}
	for _, d := range []string{"/etc", "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/boot", "/sys", "/proc", "/root"} {
		if p == d || strings.HasPrefix(p, d+"/") {
			return true
		}
	}
	if strings.HasPrefix(p, "/dev/") && diskDevice(p) {
		return true
	}
	return p == "~/.ssh/authorized_keys" || p == "~/.ssh/authorized_keys2" ||
		(strings.HasPrefix(p, "/home/") && strings.HasSuffix(p, "/.ssh/authorized_keys"))
}

// writeRedirect returns the target of a redirect that writes a file, or "".
func writeRedirect(r string) string {
	op, target, ok := strings.Cut(r, " ")
	if !ok || !strings.Contains(op, ">") || strings.HasSuffix(op, "&") {
		return "" // 2>&1, <, << EOF
	}
	return target
}

// systemWrite: a redirect into, or cp/mv/install/ln/tee/chmod/chown/... of,
// a system path.
func systemWrite(m *cmd) string {
	for _, r := range m.redirects {
		if t := writeRedirect(r); t != "" && systemPath(t) {
			return "redirect " + r
		}
	}
	operands := func() []string {
		var out []string
		flags := true
		for _, a := range m.args {
			if flags && a == "--" {
				flags = false
				continue
			}
			if flags && len(a) > 1 && a[0] == '-' {
				if v, ok := strings.CutPrefix(a, "--target-directory="); ok {
					out = append(out, v)
				}
				continue
			}
			out = append(out, a)
		}
		return out
	}
	switch m.name {
	case "cp", "mv", "install", "ln", "rsync", "scp":
		ops := operands()
		for i, a := range m.args {
			if (a == "-t" || a == "--target-directory") && i+1 < len(m.args) && systemPath(m.args[i+1]) {
				return m.text() + " (destination " + m.args[i+1] + ")"
			}
		}
		if len(ops) >= 2 && systemPath(ops[len(ops)-1]) {
			return m.text() + " (destination " + ops[len(ops)-1] + ")"
		}
	case "tee", "chmod", "chown", "chgrp", "chattr", "truncate", "setfacl":
		for _, a := range operands() {
			if systemPath(a) {
				return m.text() + " (target " + a + ")"
			}
		}
	case "sed", "perl":
		inPlace := false
		for _, a := range m.args {
			if strings.HasPrefix(a, "-i") || a == "--in-place" || strings.HasPrefix(a, "--in-place=") || (m.name == "perl" && strings.HasPrefix(a, "-p") && strings.Contains(a, "i")) {
				inPlace = true
			}
		}
		if inPlace {
			for _, a := range operands() {
				if strings.HasPrefix(a, "/") && systemPath(a) {
					return m.text() + " (edits " + a + " in place)"
				}
			}
		}
	case "dd":
		for _, a := range m.args {
			if t, ok := strings.CutPrefix(a, "of="); ok && systemPath(t) && !diskDevice(cleanPath(t)) {
				return m.text() + " (" + a + ")"
			}
		}
	}
	return ""
}

var mkfsNames = set("mkfs", "mke2fs", "mkswap", "mkdosfs", "mkntfs", "blkdiscard", "sgdisk", "gdisk", "cfdisk", "sfdisk", "fdisk", "parted", "wipefs")

// diskWrite: dd of=/dev/..., mkfs*, partitioning tools, wipefs, shred of
// a device.
func diskWrite(m *cmd) string {
	has := func(flags ...string) bool {
		for _, a := range m.args {
			for _, f := range flags {
				if a == f || (len(f) == 2 && f[0] == '-' && len(a) > 2 && a[0] == '-' && a[1] != '-' && strings.Contains(a[1:], f[1:])) {
					return true
				}
			}
		}
		return false
	}
	switch {
	case m.name == "dd":
		for _, a := range m.args {
			if t, ok := strings.CutPrefix(a, "of="); ok && diskDevice(cleanPath(t)) {
				return m.text() + " (" + a + ")"
			}
		}
	case strings.HasPrefix(m.name, "mkfs") || mkfsNames[m.name]:
		switch m.name {
		case "fdisk", "sfdisk":
			if has("-l", "--list", "-s", "--show-size") {
				return ""
			}
		case "parted":
			if has("-l", "--list") {
				return ""
			}
			if len(m.args) > 0 && m.args[len(m.args)-1] == "print" {
				return ""
			}
		case "wipefs":
			if !has("-a", "--all", "-o", "--offset") {
				return "" // lists signatures only
			}
		}
		if has("-h", "--help", "-V", "--version") {
			return ""
		}
		return m.text()
	case m.name == "shred":
		for i, a := range m.args {
			if (len(a) == 0 || a[0] != '-') && (diskDevice(cleanPath(a)) || (m.argDynamic(i) && strings.Contains(a, "/dev/"))) {
				return m.text() + " (device " + a + ")"
			}
		}
	}
	return ""
}

var downloaders = set("curl", "wget", "fetch", "aria2c", "http", "https", "xh", "lwp-download", "lwp-request", "GET")

var shells = set("sh", "bash", "zsh", "dash", "ksh", "mksh", "ash", "fish", "yash", "rbash", "csh", "tcsh",
	"perl", "ruby", "node", "nodejs", "php", "lua", "deno", "bun", "source", ".", "eval", "osascript", "pwsh", "powershell")

func interpreter(name string) bool {
	return shells[name] || strings.HasPrefix(name, "python") || strings.HasPrefix(name, "pypy") ||
		strings.HasPrefix(name, "perl5") || strings.HasPrefix(name, "ruby")
}

// runsStdin reports whether an interpreter runs its standard input as a
// program: no script or -c/-e/-m program given (sh, bash -, python3 -,
// sh -s -- args). curl x | python3 -m json.tool and curl x | perl -ne ...
// read it as data.
func runsStdin(m *cmd) bool {
	for _, a := range m.args {
		switch {
		case a == "-" || a == "-s" || a == "--":
			return true
		case strings.HasPrefix(a, "--"):
			if a == "--eval" || a == "--command" || a == "--print" || strings.HasPrefix(a, "--eval=") {
				return false
			}
		case strings.HasPrefix(a, "-"):
			if strings.ContainsAny(a[1:], "ce") || (strings.HasPrefix(m.name, "python") && strings.Contains(a[1:], "m")) ||
				(m.name == "php" && strings.Contains(a[1:], "r")) || ((m.name == "node" || m.name == "nodejs") && strings.Contains(a[1:], "p")) {
				return false
			}
		default:
			return false // a script file
		}
	}
	return true
}

// mentionsDownloader reports whether a dynamic word's source text runs a
// downloader: "$(curl -fsSL x)", <(wget -O- x).
func mentionsDownloader(s string) string {
	for _, w := range strings.FieldsFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_')
	}) {
		if downloaders[w] {
			return w
		}
	}
	return ""
}

// stagedExec: a file a downloader wrote earlier in the line, run as the
// command (./x.sh) or as an interpreter's script (curl -o f x && sh f).
func stagedExec(l *line, m *cmd) string {
	run := ""
	if m.argv0 != "" && strings.Contains(m.argv0, "/") {
		run = m.argv0
	} else if interpreter(m.name) {
		for _, a := range m.args {
			if !strings.HasPrefix(a, "-") {
				run = a
				break
			}
		}
	}
	if run == "" {
		return ""
	}
	for j := 0; j < m.index && j < len(l.cmds); j++ {
		p := &l.cmds[j]
		if !downloaders[p.name] {
			continue
		}
		for _, f := range downloadedFiles(p) {
			if f != "" && f == cleanPath(run) {
				return m.text() + " (runs " + run + ", downloaded by command " + strconv.Itoa(p.index) + " (" + p.name + "))"
			}
		}
	}
	return ""
}

// downloadedFiles returns the cleaned paths a downloader command writes:
// curl -o F / --output F, wget -O F / --output-document=F, > F.
func downloadedFiles(p *cmd) []string {
	var out []string
	for i, a := range p.args {
		switch {
		case (a == "-o" || a == "-O" || a == "--output" || a == "--output-document") && i+1 < len(p.args):
			out = append(out, cleanPath(p.args[i+1]))
		case strings.HasPrefix(a, "--output-document=") || strings.HasPrefix(a, "--output="):
			_, v, _ := strings.Cut(a, "=")
			out = append(out, cleanPath(v))
		case len(a) > 2 && (strings.HasPrefix(a, "-o") || strings.HasPrefix(a, "-O")) && a[2] != '-':
			out = append(out, cleanPath(a[2:]))
		}
	}
	for _, r := range p.redirects {
		if t := writeRedirect(r); t != "" {
			out = append(out, cleanPath(t))
		}
	}
	return out
}

// downloadExec: a downloader's output piped into a shell or interpreter,
// or given to one as a process or command substitution.
func downloadExec(l *line, m *cmd) string {
	if what := stagedExec(l, m); what != "" {
		return what
	}
	if !interpreter(m.name) {
		return ""
	}
	for i, a := range m.args {
		if m.dynamic[i+1] {
			if d := mentionsDownloader(a); d != "" {
				return m.text() + " (runs the output of " + d + ")"
			}
		}
	}
	if m.pipe > 0 && runsStdin(m) {
		if downloaders[m.pipeFrom] {
			return m.pipeFrom + " | " + m.text()
		}
		// Walk back over the earlier stages of this pipeline (curl x | gunzip | sh).
		for j := m.index - 1; j >= 0; j-- {
			p := &l.cmds[j]
			if p.pipe < 0 || p.pipe >= m.pipe && p.via == m.via {
				break
			}
			if downloaders[p.name] {
				return p.name + " | ... | " + m.text()
			}
			if p.pipe == 0 {
				break
			}
		}
	}
	return ""
}

// power: shutdown, reboot, halt, poweroff, init/telinit 0 or 6, systemctl
// poweroff/reboot/halt/kexec.
func power(m *cmd) string {
	switch m.name {
	case "shutdown":
		for _, a := range m.args {
			if a == "-c" || a == "--help" {
				return ""
			}
		}
		return m.text()
	case "reboot", "halt", "poweroff", "kexec":
		for _, a := range m.args {
			if a == "--help" {
				return ""
			}
		}
		return m.text()
	case "init", "telinit":
		for _, a := range m.args {
			if a == "0" || a == "6" {
				return m.text()
			}
		}
	case "systemctl", "loginctl":
		for _, a := range m.args {
			switch a {
			case "poweroff", "reboot", "halt", "kexec", "soft-reboot",
				"poweroff.target", "reboot.target", "halt.target", "kexec.target":
				return m.text()
			}
		}
	}
	return ""
}

// historyFile reports whether p is a shell history file or a system log.
func historyFile(word string) bool {
	p := cleanPath(word)
	b := path.Base(p)
	if strings.HasSuffix(b, "_history") || b == ".history" || b == ".histfile" || b == ".lesshst" {
		return true
	}
	return p == "/var/log" || strings.HasPrefix(p, "/var/log/") || strings.HasPrefix(p, "/var/audit")
}

// histVar reports whether NAME=VALUE disables or redirects history.
func histVar(kv string) bool {
	k, v, ok := strings.Cut(kv, "=")
	if !ok {
		return false
	}
	v = unquote(v)
	switch k {
	case "HISTFILE":
		return v == "" || v == "/dev/null"
	case "HISTSIZE", "HISTFILESIZE", "SAVEHIST":
		return v == "0"
	}
	return false
}

// historyTamper: clearing or disabling shell history, deleting logs,
// disabling auditing.
func historyTamper(m *cmd) string {
	for _, r := range m.redirects {
		if t := writeRedirect(r); t != "" && historyFile(t) {
			return "redirect " + r
		}
	}
	for _, kv := range append(append([]string{}, m.assign...), m.env...) {
		if histVar(kv) {
			return kv
		}
	}
	switch m.name {
	case "history":
		for _, a := range m.args {
			if len(a) > 1 && a[0] == '-' && strings.ContainsAny(a[1:], "cwd") {
				return m.text()
			}
		}
	case "unset":
		for _, a := range m.args {
			if a == "HISTFILE" || a == "HISTSIZE" || a == "HISTFILESIZE" {
				return m.text()
			}
		}
	case "export", "declare", "typeset", "readonly", "local", "setenv", "env":
		for _, a := range m.args {
			if histVar(a) {
				return m.text()
			}
		}
	case "set":
		for i, a := range m.args {
			if a == "+o" && i+1 < len(m.args) && m.args[i+1] == "history" {
				return m.text()
			}
		}
	case "rm", "shred", "truncate", "unlink", "srm", "wipe", "ln":
		for i, a := range m.args {
			if len(a) > 0 && a[0] == '-' {
				continue
			}
			if m.name == "ln" && i != len(m.args)-1 {
				continue
			}
			if historyFile(a) {
				return m.text() + " (target " + a + ")"
			}
		}
	case "auditctl":
		for i, a := range m.args {
			if a == "-D" || a == "-e0" || (a == "-e" && i+1 < len(m.args) && m.args[i+1] == "0") {
				return m.text()
			}
		}
	case "systemctl", "service":
		stop, audit := false, false
		for _, a := range m.args {
			switch a {
			case "stop", "disable", "mask", "kill":
				stop = true
			case "auditd", "auditd.service", "rsyslog", "rsyslog.service", "systemd-journald", "systemd-journald.service", "syslog", "syslog-ng":
				audit = true
			}
		}
		if stop && audit {
			return m.text()
		}
	case "journalctl":
		for _, a := range m.args {
			if strings.HasPrefix(a, "--vacuum") {
				return m.text()
			}
		}
	}
	return ""
}
