package sluice

import (
	"iter"

	"github.com/sluicegw/sluice/abi"
)

// Command is the Command hook's view of one command and the host's analysis
// of it (ABI.md 3.6). Everything read from it aliases the arena and is only
// valid during the hook call.
type Command struct {
	c abi.Command
}

// Kind returns the protocol: CommandSQL, CommandShell or CommandHTTP.
func (c *Command) Kind() CommandKind { return c.c.Kind() }

// Text returns the command verbatim: SQL, a shell line, or "METHOD PATH".
func (c *Command) Text() []byte { return c.c.Text() }

// Identity returns the name of the identity that sent the command.
func (c *Command) Identity() []byte { return c.c.Identity() }

// Target returns the name of the target the command is for.
func (c *Command) Target() []byte { return c.c.Target() }

// NumFacts returns the number of analysis facts.
func (c *Command) NumFacts() int { return c.c.NumFacts() }

// Fact returns fact i.
func (c *Command) Fact(i int) Fact { return c.c.Fact(i) }

// Facts iterates over the analysis facts in order. The fact keys per kind
// are listed in ABI.md 3.6; ignore keys you do not know, the set grows.
func (c *Command) Facts() iter.Seq[Fact] {
	return func(yield func(Fact) bool) {
		for i := range c.c.NumFacts() {
			if !yield(c.c.Fact(i)) {
				return
			}
		}
	}
}

// Lookup returns the value of the first fact of statement stmt with key
// (stmt < 0 matches any statement).
func (c *Command) Lookup(stmt int, key string) ([]byte, bool) { return c.c.Lookup(stmt, key) }

// Has reports whether any statement has a fact key=value, e.g.
// Has("tag", "DROP TABLE") or Has("where", "false").
func (c *Command) Has(key, value string) bool {
	for i := range c.c.NumFacts() {
		f := c.c.Fact(i)
		if string(f.Key) == key && string(f.Value) == value {
			return true
		}
	}
	return false
}
