package shellscan

import (
	"strconv"

	"github.com/sluicegw/sluice/abi"
)

// AddFacts appends the analysis to cb as facts (see the package doc for the
// keys). Line facts have statement 0; command i has statement i.
func (a *Analysis) AddFacts(cb *abi.CommandBuilder) {
	cb.AddFact(0, "commands", strconv.Itoa(len(a.Commands)))
	if a.ParseError != "" {
		cb.AddFact(0, "parse_error", a.ParseError)
	}
	if a.ForkBomb {
		cb.AddFact(0, "fork_bomb", "true")
	}
	if a.Truncated {
		cb.AddFact(0, "truncated", "true")
	}
	for i := range a.Commands {
		cm := &a.Commands[i]
		if len(cm.Argv) > 0 {
			cb.AddFact(i, "argv0", cm.Argv[0].Text)
			cb.AddFact(i, "name", cm.Name)
			for _, w := range cm.Argv[1:] {
				cb.AddFact(i, "arg", w.Text)
			}
			for j, w := range cm.Argv {
				if w.Dynamic {
					cb.AddFact(i, "dynamic", strconv.Itoa(j))
				}
				if w.Glob {
					cb.AddFact(i, "glob", strconv.Itoa(j))
				}
			}
		}
		for _, e := range cm.Env {
			cb.AddFact(i, "env", e)
		}
		for _, e := range cm.Assigns {
			cb.AddFact(i, "assign", e)
		}
		for _, r := range cm.Redirects {
			cb.AddFact(i, "redirect", r)
		}
		if cm.Pipe >= 0 {
			cb.AddFact(i, "pipe", strconv.Itoa(cm.Pipe))
		}
		if cm.PipeFrom != "" {
			cb.AddFact(i, "pipe_from", cm.PipeFrom)
		}
		if cm.Subshell {
			cb.AddFact(i, "subshell", "true")
		}
		if cm.Substitution {
			cb.AddFact(i, "substitution", "true")
		}
		if cm.Background {
			cb.AddFact(i, "background", "true")
		}
		if cm.Function != "" {
			cb.AddFact(i, "function", cm.Function)
		}
		if cm.Clause != "" {
			cb.AddFact(i, "clause", cm.Clause)
		}
		if cm.List != "" {
			cb.AddFact(i, "list", cm.List)
		}
		if cm.Via != "" {
			cb.AddFact(i, "via", cm.Via)
		}
		if cm.Elevated {
			cb.AddFact(i, "sudo", "true")
		}
	}
}
