package shellscan

import (
	"strings"
	"sync"

	"mvdan.cc/sh/v3/syntax"
)

// Limits on the work one line can cause. Past them the analysis stops
// adding commands and sets Truncated.
const (
	// MaxCommands is the most commands one Analysis holds.
	MaxCommands = 1024
	// MaxDepth is the deepest nesting of command strings (sh -c, eval,
	// su -c, heredocs to shells) and argv wrappers (sudo, env, ...) that is
	// followed.
	MaxDepth = 16
)

// Analysis is the result of Analyze.
type Analysis struct {
	// Commands lists every simple command found anywhere in the line, in
	// source order, including those inside substitutions, function bodies,
	// compound commands and strings run by wrappers (sh -c, sudo, ...).
	// A wrapper and the command it runs are both listed; the inner one has
	// Via set. An index into Commands is the fact statement index.
	Commands []Command
	// ParseError is the first parse error, of the line or of a nested
	// command string, or "" if everything parsed.
	ParseError string
	// ForkBomb reports a function that runs itself in a pipeline or in
	// the background, as in :(){ :|:& };:
	ForkBomb bool
	// Truncated reports that MaxCommands or MaxDepth was reached.
	Truncated bool
}

// Command is one simple command.
type Command struct {
	// Argv is the command's words; Argv[0] is the command name as written
	// (with any path). Empty for a bare assignment such as HISTFILE=.
	Argv []Word
	// Name is the basename of Argv[0].Text ("/usr/bin/sudo" -> "sudo").
	Name string
	// Env holds NAME=VALUE assignments prefixing the command (FOO=1 cmd),
	// or those given to an env wrapper for the command it runs.
	Env []string
	// Assigns holds NAME=VALUE of a bare assignment (no command).
	Assigns []string
	// Redirects holds redirections as "op target" ("> /etc/passwd",
	// "2>&1", ">> ~/.bash_history", "<< EOF"); those of a compound command
	// are given to every command inside it.
	Redirects []string
	// Pipe is the position in a pipeline of two or more commands, or -1.
	Pipe int
	// PipeFrom is the Name of the command whose output is piped into this
	// one (curl x | sh: sh has PipeFrom "curl"), or "".
	PipeFrom string
	// Subshell reports a command inside ( ... ).
	Subshell bool
	// Substitution reports a command inside $( ), ` `, <( ) or >( ).
	Substitution bool
	// Background reports a command run with & (or inside one).
	Background bool
	// Function is the name of the innermost enclosing function definition.
	Function string
	// Clause is the innermost enclosing if, while, until, for, select or
	// case construct.
	Clause string
	// List is "&&" or "||" for a command run only depending on the status
	// of the one before it (the right side of a && or || list).
	List string
	// Via is the chain of wrappers that run this command, outermost first,
	// space separated: "sudo", "sh -c", "sudo bash -c", "xargs".
	Via string
	// Elevated reports that Via includes sudo, doas, su, pkexec or run0.
	Elevated bool
}

// ctx is the inherited context of a walk.
type ctx struct {
	pipe         int
	pipeFrom     string
	subshell     bool
	substitution bool
	background   bool
	function     string
	clause       string
	list         string
	via          string
	elevated     bool
	depth        int
	level        int      // substitution nesting
	redirs       []string // of enclosing compound commands
}

type analyzer struct {
	a      *Analysis
	parser *syntax.Parser
	levels []int // substitution nesting of each command
}

var parsers = sync.Pool{New: func() any {
	return syntax.NewParser(syntax.Variant(syntax.LangBash))
}}

// recovering parsers give a partial syntax tree for a line with missing
// tokens (an unclosed subshell, a dangling pipe).
var recovering = sync.Pool{New: func() any {
	return syntax.NewParser(syntax.Variant(syntax.LangBash), syntax.RecoverErrors(8))
}}

// Analyze parses line as a bash command line and returns its analysis. It
// never fails: a parse error is reported in Analysis.ParseError (with the
// commands of a nested string that failed to parse left out). Analyze is
// safe for concurrent use.
func Analyze(line string) *Analysis {
	p := parsers.Get().(*syntax.Parser)
	defer parsers.Put(p)
	z := analyzer{a: &Analysis{}, parser: p}
	z.parse(line, ctx{pipe: -1})
	return z.a
}

// parse parses src and walks it with c.
func (z *analyzer) parse(src string, c ctx) {
	if c.depth > MaxDepth {
		z.a.Truncated = true
		return
	}
	f, err := z.parser.Parse(strings.NewReader(src), "")
	if err != nil {
		if z.a.ParseError == "" {
			msg := err.Error()
			if c.via != "" {
				msg = c.via + ": " + msg
			}
			z.a.ParseError = msg
		}
		// Judge what can be seen: guards should block on parse_error, but
		// a partial analysis still names the commands.
		rp := recovering.Get().(*syntax.Parser)
		f, err = rp.Parse(strings.NewReader(src), "")
		recovering.Put(rp)
		if err != nil || f == nil {
			return
		}
	}
	z.stmts(src, f.Stmts, c)
}

func (z *analyzer) stmts(src string, ss []*syntax.Stmt, c ctx) {
	for _, s := range ss {
		z.stmt(src, s, c)
	}
}

func (z *analyzer) stmt(src string, s *syntax.Stmt, c ctx) {
	if s == nil {
		return
	}
	if s.Background || s.Coprocess || s.Disown {
		c.background = true
	}
	var redirs []string
	var stdin *syntax.Redirect
	for _, r := range s.Redirs {
		redirs = append(redirs, redirString(src, r))
		switch r.Op {
		case syntax.Hdoc, syntax.DashHdoc, syntax.WordHdoc:
			stdin = r
		}
		z.words(src, c, r.Word, r.Hdoc)
	}
	if call, ok := s.Cmd.(*syntax.CallExpr); ok {
		z.call(src, call, redirs, stdin, c)
		return
	}
	if s.Cmd == nil && len(redirs) > 0 { // > /etc/hosts
		z.emit(Command{Redirects: redirs}, c)
		return
	}
	if len(redirs) > 0 {
		c.redirs = append(append([]string(nil), c.redirs...), redirs...)
	}
	z.command(src, s.Cmd, c)
}

// command walks a compound command.
func (z *analyzer) command(src string, cmd syntax.Command, c ctx) {
	switch x := cmd.(type) {
	case nil:
	case *syntax.BinaryCmd:
		switch x.Op {
		case syntax.Pipe, syntax.PipeAll:
			z.pipeline(src, x, c)
		default:
			z.stmt(src, x.X, c)
			c.list = x.Op.String()
			z.stmt(src, x.Y, c)
		}
	case *syntax.Subshell:
		c.subshell = true
		z.stmts(src, x.Stmts, c)
	case *syntax.Block:
		z.stmts(src, x.Stmts, c)
	case *syntax.IfClause:
		c.clause = "if"
		for ic := x; ic != nil; ic = ic.Else {
			z.stmts(src, ic.Cond, c)
			z.stmts(src, ic.Then, c)
		}
	case *syntax.WhileClause:
		c.clause = "while"
		if x.Until {
			c.clause = "until"
		}
		z.stmts(src, x.Cond, c)
		z.stmts(src, x.Do, c)
	case *syntax.ForClause:
		c.clause = "for"
		if x.Select {
			c.clause = "select"
		}
		z.substs(src, c, x.Loop)
		z.stmts(src, x.Do, c)
	case *syntax.CaseClause:
		c.clause = "case"
		z.words(src, c, x.Word)
		for _, it := range x.Items {
			z.words(src, c, it.Patterns...)
			z.stmts(src, it.Stmts, c)
		}
	case *syntax.FuncDecl:
		if x.Name != nil {
			c.function = x.Name.Value
		}
		// The body is not run here, but guards judge what it would run.
		z.stmt(src, x.Body, c)
	case *syntax.DeclClause:
		z.decl(src, x, c)
	case *syntax.LetClause:
		argv := []Word{{Text: "let"}}
		for _, e := range x.Exprs {
			argv = append(argv, Word{Text: source(src, e), Dynamic: true})
		}
		z.emit(Command{Argv: argv}, c)
		z.substs(src, c, x)
	case *syntax.TimeClause:
		z.stmt(src, x.Stmt, c)
	case *syntax.CoprocClause:
		c.background = true
		z.stmt(src, x.Stmt, c)
	case *syntax.TestDecl:
		z.stmt(src, x.Body, c)
	default: // ArithmCmd, TestClause: only substitutions run commands
		z.substs(src, c, x)
	}
}

// pipeline walks a | b | c; each element after the first gets PipeFrom
// from the last command of the element before it.
func (z *analyzer) pipeline(src string, b *syntax.BinaryCmd, c ctx) {
	var elems []*syntax.Stmt
	var flat func(s *syntax.Stmt)
	flat = func(s *syntax.Stmt) {
		if bc, ok := s.Cmd.(*syntax.BinaryCmd); ok && !s.Background && len(s.Redirs) == 0 && (bc.Op == syntax.Pipe || bc.Op == syntax.PipeAll) {
			flat(bc.X)
			flat(bc.Y)
			return
		}
		elems = append(elems, s)
	}
	flat(b.X)
	flat(b.Y)
	for i, s := range elems {
		e := c
		e.pipe = i
		if i > 0 {
			e.pipeFrom = z.lastName(c)
			e.list = ""
		}
		z.stmt(src, s, e)
	}
}

// lastName is the Name of the last command added at the nesting level of
// c (not inside a deeper substitution).
func (z *analyzer) lastName(c ctx) string {
	for i := len(z.a.Commands) - 1; i >= 0; i-- {
		if z.levels[i] == c.level {
			return z.a.Commands[i].Name
		}
	}
	return ""
}

// call walks a simple command.
func (z *analyzer) call(src string, x *syntax.CallExpr, redirs []string, stdin *syntax.Redirect, c ctx) {
	var env []string
	for _, as := range x.Assigns {
		env = append(env, assignString(src, as))
	}
	argv := make([]Word, 0, len(x.Args))
	for _, w := range x.Args {
		if ws := braces(src, w); ws != nil {
			argv = append(argv, ws...)
			continue
		}
		argv = append(argv, evalWord(src, w))
	}
	cm := Command{Argv: argv, Redirects: redirs}
	if len(argv) == 0 {
		cm.Assigns = env
	} else {
		cm.Env = env
	}
	z.emit(cm, c)
	// Substitutions run before the command: walk them after it so the
	// command's own entry is not in the way of lastName in pipelines.
	for _, as := range x.Assigns {
		z.substs(src, c, as)
	}
	z.words(src, c, x.Args...)
	z.unwrap(src, argv, stdin, c)
}

func (z *analyzer) decl(src string, x *syntax.DeclClause, c ctx) {
	argv := []Word{{Text: x.Variant.Value}}
	for _, as := range x.Args {
		if as.Naked && as.Name == nil {
			argv = append(argv, evalWord(src, as.Value))
			continue
		}
		argv = append(argv, Word{Text: assignString(src, as), Dynamic: assignDynamic(as)})
	}
	z.emit(Command{Argv: argv}, c)
	for _, as := range x.Args {
		z.substs(src, c, as)
	}
}

// emit adds a command with the context c.
func (z *analyzer) emit(cm Command, c ctx) {
	if len(z.a.Commands) >= MaxCommands {
		z.a.Truncated = true
		return
	}
	if len(cm.Argv) > 0 {
		cm.Name = basename(cm.Argv[0].Text)
	}
	if len(c.redirs) > 0 {
		cm.Redirects = append(append([]string(nil), cm.Redirects...), c.redirs...)
	}
	cm.Pipe, cm.PipeFrom = c.pipe, c.pipeFrom
	cm.Subshell, cm.Substitution, cm.Background = c.subshell, c.substitution, c.background
	cm.Function, cm.Clause, cm.List = c.function, c.clause, c.list
	cm.Via, cm.Elevated = c.via, c.elevated
	if cm.Name != "" && cm.Name == c.function && (c.pipe >= 0 || c.background) {
		z.a.ForkBomb = true
	}
	z.a.Commands = append(z.a.Commands, cm)
	z.levels = append(z.levels, c.level)
}

// words walks the substitutions inside ws.
func (z *analyzer) words(src string, c ctx, ws ...*syntax.Word) {
	for _, w := range ws {
		if w != nil {
			z.substs(src, c, w)
		}
	}
}

// substs walks the command and process substitutions inside n.
func (z *analyzer) substs(src string, c ctx, n syntax.Node) {
	if n == nil {
		return
	}
	sub := c
	sub.substitution = true
	sub.level++
	sub.pipe, sub.pipeFrom, sub.list = -1, "", ""
	sub.redirs = nil
	syntax.Walk(n, func(n syntax.Node) bool {
		switch x := n.(type) {
		case *syntax.CmdSubst:
			z.stmts(src, x.Stmts, sub)
			return false
		case *syntax.ProcSubst:
			z.stmts(src, x.Stmts, sub)
			return false
		}
		return true
	})
}

func redirString(src string, r *syntax.Redirect) string {
	var sb strings.Builder
	if r.N != nil {
		sb.WriteString(r.N.Value)
	}
	sb.WriteString(r.Op.String())
	switch r.Op {
	case syntax.DplIn, syntax.DplOut:
	default:
		sb.WriteByte(' ')
	}
	w := evalWord(src, r.Word)
	sb.WriteString(w.Text)
	return sb.String()
}

func assignString(src string, as *syntax.Assign) string {
	var sb strings.Builder
	if as.Name != nil {
		sb.WriteString(as.Name.Value)
	}
	if as.Index != nil {
		sb.WriteByte('[')
		sb.WriteString(source(src, as.Index))
		sb.WriteByte(']')
	}
	if as.Naked {
		return sb.String()
	}
	if as.Append {
		sb.WriteByte('+')
	}
	sb.WriteByte('=')
	switch {
	case as.Array != nil:
		sb.WriteString(source(src, as.Array))
	case as.Value != nil:
		sb.WriteString(evalWord(src, as.Value).Text)
	}
	return sb.String()
}

func assignDynamic(as *syntax.Assign) bool {
	if as.Array != nil {
		return true
	}
	if as.Value == nil {
		return false
	}
	var sb strings.Builder
	return !appendParts(&sb, as.Value.Parts, false)
}
