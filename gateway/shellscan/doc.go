// Package shellscan turns a shell command line (an SSH exec command or an
// interactive shell line) into facts that policy plugins judge, so that a
// guest never has to parse shell itself and cannot be fooled by quoting.
//
// The line is parsed by mvdan.cc/sh/v3/syntax as bash, a real shell
// parser: no regular expressions. Every simple command found anywhere in
// the line is listed: in lists, pipelines, subshells, blocks, if/while/
// until/for/select/case bodies, function bodies, command and process
// substitutions ($(...), `...`, <(...), >(...)), and in the strings and
// argv run by wrappers: sh/bash/zsh/dash/ksh/mksh/ash/yash/fish/rbash -c,
// heredocs and here-strings given to a shell (sh <<EOF ... EOF), an echo
// piped to a shell (also to sudo -s/-i and to su without -c), eval,
// watch, su -c, sudo, doas, pkexec, run0, env
// (including env -S), xargs, nohup, setsid, timeout, nice, ionice, stdbuf,
// chroot, time, exec, command, builtin, busybox and find -exec/-execdir/
// -ok/-okdir. A wrapper and the command it runs are both listed.
//
// # Entry points
//
// Analyze(line) returns an *Analysis: Commands (one Command per simple
// command, in source order), ParseError, ForkBomb and Truncated. A line
// that does not parse is not hidden: ParseError is set (guards should
// block on it) and, where the parser can recover from missing tokens, the
// commands it did see are still listed. (*Analysis).AddFacts(cb) appends
// the analysis to an abi.CommandBuilder.
//
// Words are given as the shell would pass them where that is statically
// known: quotes removed, backslash escapes and $'...' resolved, adjacent
// parts joined (r"m" and 'rm' and $'\x72m' are all rm). A word with a
// parameter expansion, command or process substitution or arithmetic
// expansion is dynamic: its text is its source text. A word that is a
// whole {a,b,c} brace list is expanded into its words, as bash does
// ({rm,-rf,/} is rm -rf /); other brace expansions, tildes and globs are
// kept as written (globs are marked).
//
// # Facts
//
// Facts are (statement, key, value) strings (ABI.md section 3.6). Line
// facts have statement 0; the facts of Commands[i] have statement i.
//
// Line:
//
//	commands      number of commands listed (always present)
//	parse_error   the first parse error, of the line or of a nested string
//	              ("sudo sh -c: 1:4: reached EOF without closing quote")
//	fork_bomb     true: a function runs itself in a pipeline or background
//	truncated     true: MaxCommands or MaxDepth was reached
//
// Per command (absent when empty or false):
//
//	argv0         the command word as written, path kept (/usr/bin/sudo)
//	name          basename of argv0 (sudo)
//	arg           each further word, in order (repeats)
//	dynamic       index in argv (0 = argv0) of a dynamic word (repeats)
//	glob          index in argv of a word with an unquoted *, ? or [, which
//	              the shell replaces with file names (/???/r? -rf /) (repeats)
//	env           NAME=VALUE prefixing the command, or given to env (repeats)
//	assign        NAME=VALUE of a bare assignment with no command (repeats)
//	redirect      op and target: "> /etc/passwd", "2>&1", "<< EOF" (repeats);
//	              a compound command's redirects go to each command in it
//	pipe          position in a pipeline of two or more (0 first)
//	pipe_from     name of the command piped into this one (curl x | sh)
//	subshell      true inside ( )
//	substitution  true inside $( ), backticks, <( ) or >( )
//	background    true when run with & (or inside something that is)
//	function      name of the enclosing function definition
//	clause        enclosing if, while, until, for, select or case
//	list          && or ||: run depending on the status of the one before
//	via           wrapper chain, outermost first: "sudo", "sh -c",
//	              "sudo bash -c", "bash <<", "bash <<<", "bash |", "env",
//	              "xargs", "find -exec", "eval"
//	sudo          true when via includes sudo, doas, su, pkexec or run0
//
// The key set grows within ABI v1; guests ignore keys they do not know.
//
// # Concurrency
//
// Analyze is safe for concurrent use; parsers are pooled. An Analysis is
// not modified after Analyze returns.
package shellscan
