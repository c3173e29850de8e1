package abi

// Command layout (see ABI.md "Commands"), integers little-endian u32,
// offsets relative to the start of the command:
//
//	header 40 bytes: magic "SLC1", kind, text_off, text_len,
//	                 identity_off, identity_len, target_off, target_len,
//	                 n_facts, facts_off
//	facts  n_facts x 20: stmt, key_off, key_len, val_off, val_len
//	strings
//
// The analysis is a flat list of facts (statement index, key, value) so a
// guest needs no parser: {0, "tag", "DELETE"}, {0, "where", "false"},
// {0, "relation", "public.users"}. A key may repeat (lists). Fact keys per
// command kind are listed in ABI.md.

// CommandMagic is "SLC1" read as a little-endian u32.
const CommandMagic = 0x31434c53

const (
	commandHeaderSize = 40
	factEntrySize     = 20
)

// Fact is one analysis fact. Key and Value alias the command buffer.
type Fact struct {
	Stmt       int
	Key, Value []byte
}

// Command is a validated, zero-copy view of an encoded command.
type Command struct {
	buf    []byte
	kind   CommandKind
	text   []byte
	ident  []byte
	target []byte
	nFacts int
	facts  int
}

// ParseCommand validates buf as a command and returns a view of it.
func ParseCommand(buf []byte) (Command, error) {
	var c Command
	if len(buf) < commandHeaderSize {
		return c, errAt("command", "header", -1, "truncated")
	}
	if le.Uint32(buf[0:]) != CommandMagic {
		return c, errAt("command", "header", -1, "bad magic")
	}
	c.buf = buf
	c.kind = CommandKind(le.Uint32(buf[4:]))
	if c.kind < CommandSQL || c.kind > CommandHTTP {
		return c, errAt("command", "kind", -1, "unknown kind")
	}
	var ok bool
	if c.text, ok = span(buf, le.Uint32(buf[8:]), le.Uint32(buf[12:])); !ok {
		return c, errAt("command", "text", -1, "out of range")
	}
	if c.ident, ok = span(buf, le.Uint32(buf[16:]), le.Uint32(buf[20:])); !ok {
		return c, errAt("command", "identity", -1, "out of range")
	}
	if c.target, ok = span(buf, le.Uint32(buf[24:]), le.Uint32(buf[28:])); !ok {
		return c, errAt("command", "target", -1, "out of range")
	}
	n, off := le.Uint32(buf[32:]), le.Uint32(buf[36:])
	if n > MaxBatchEntries || uint64(off)+uint64(n)*factEntrySize > uint64(len(buf)) {
		return c, errAt("command", "facts", -1, "out of range")
	}
	c.nFacts, c.facts = int(n), int(off)
	for i := 0; i < c.nFacts; i++ {
		e := buf[c.facts+i*factEntrySize:]
		if _, ok := span(buf, le.Uint32(e[4:]), le.Uint32(e[8:])); !ok {
			return c, errAt("command", "fact", i, "key out of range")
		}
		if _, ok := span(buf, le.Uint32(e[12:]), le.Uint32(e[16:])); !ok {
			return c, errAt("command", "fact", i, "value out of range")
		}
	}
	return c, nil
}

func span(buf []byte, off, n uint32) ([]byte, bool) {
	if uint64(off)+uint64(n) > uint64(len(buf)) {
		return nil, false
	}
	return buf[off : off+n : off+n], true
}

// Kind returns the protocol the command comes from.
func (c *Command) Kind() CommandKind { return c.kind }

// Text returns the command text: SQL, a shell line, or "METHOD PATH".
func (c *Command) Text() []byte { return c.text }

// Identity returns the name of the identity that sent the command.
func (c *Command) Identity() []byte { return c.ident }

// Target returns the name of the target the command is for.
func (c *Command) Target() []byte { return c.target }

// NumFacts returns the number of analysis facts.
func (c *Command) NumFacts() int { return c.nFacts }

// Fact returns fact i.
func (c *Command) Fact(i int) Fact {
	e := c.buf[c.facts+i*factEntrySize:]
	k, _ := span(c.buf, le.Uint32(e[4:]), le.Uint32(e[8:]))
	v, _ := span(c.buf, le.Uint32(e[12:]), le.Uint32(e[16:]))
	return Fact{Stmt: int(le.Uint32(e[0:])), Key: k, Value: v}
}

// Lookup returns the value of the first fact of stmt with key (stmt < 0
// matches any statement).
func (c *Command) Lookup(stmt int, key string) ([]byte, bool) {
	for i := 0; i < c.nFacts; i++ {
		f := c.Fact(i)
		if (stmt < 0 || f.Stmt == stmt) && string(f.Key) == key {
			return f.Value, true
		}
	}
	return nil, false
}

// CommandBuilder accumulates a command and encodes it; reuse it with Reset.
type CommandBuilder struct {
	kind                CommandKind
	text, ident, target []byte
	facts               []uint32 // stmt, key_off, key_len, val_off, val_len into strs
	strs                []byte
}

// Reset empties the builder and keeps its buffers.
func (cb *CommandBuilder) Reset() {
	cb.kind, cb.text, cb.ident, cb.target = 0, cb.text[:0], cb.ident[:0], cb.target[:0]
	cb.facts, cb.strs = cb.facts[:0], cb.strs[:0]
}

// Set sets the kind, text, identity and target.
func (cb *CommandBuilder) Set(kind CommandKind, text, identity, target string) {
	cb.kind = kind
	cb.text = append(cb.text[:0], text...)
	cb.ident = append(cb.ident[:0], identity...)
	cb.target = append(cb.target[:0], target...)
}

// AddFact appends an analysis fact.
func (cb *CommandBuilder) AddFact(stmt int, key, value string) {
	ko := len(cb.strs)
	cb.strs = append(cb.strs, key...)
	vo := len(cb.strs)
	cb.strs = append(cb.strs, value...)
	cb.facts = append(cb.facts, uint32(stmt), uint32(ko), uint32(len(key)), uint32(vo), uint32(len(value)))
}

// Size returns the encoded size.
func (cb *CommandBuilder) Size() int {
	return commandHeaderSize + len(cb.facts)/5*factEntrySize + len(cb.text) + len(cb.ident) + len(cb.target) + len(cb.strs)
}

// Encode writes the command to dst (at least Size() bytes) and returns its
// length.
func (cb *CommandBuilder) Encode(dst []byte) int {
	n := cb.Size()
	_ = dst[n-1]
	factsOff := commandHeaderSize
	p := factsOff + len(cb.facts)/5*factEntrySize
	put := func(b []byte) (uint32, uint32) {
		o := p
		p += copy(dst[p:], b)
		return uint32(o), uint32(len(b))
	}
	to, tl := put(cb.text)
	io, il := put(cb.ident)
	ro, rl := put(cb.target)
	strs := uint32(p)
	copy(dst[p:], cb.strs)
	le.PutUint32(dst[0:], CommandMagic)
	le.PutUint32(dst[4:], uint32(cb.kind))
	le.PutUint32(dst[8:], to)
	le.PutUint32(dst[12:], tl)
	le.PutUint32(dst[16:], io)
	le.PutUint32(dst[20:], il)
	le.PutUint32(dst[24:], ro)
	le.PutUint32(dst[28:], rl)
	le.PutUint32(dst[32:], uint32(len(cb.facts)/5))
	le.PutUint32(dst[36:], uint32(factsOff))
	for i := 0; i < len(cb.facts); i += 5 {
		e := dst[factsOff+i/5*factEntrySize:]
		le.PutUint32(e[0:], cb.facts[i])
		le.PutUint32(e[4:], strs+cb.facts[i+1])
		le.PutUint32(e[8:], cb.facts[i+2])
		le.PutUint32(e[12:], strs+cb.facts[i+3])
		le.PutUint32(e[16:], cb.facts[i+4])
	}
	return n
}
