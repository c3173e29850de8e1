package config

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Error is one problem found while loading a configuration. Parse and Load
// return every problem at once, joined with [errors.Join] and sorted by where
// the key appears in the file; use errors.As on the joined error's Unwrap()
// []error to inspect them one by one.
type Error struct {
	// File is the config file's base name ("sluice.yaml"), or "environment"
	// for a SLUICE_ variable that names no config key.
	File string
	// Key is the key path, e.g. "targets[0].upstream.address"; empty when the
	// problem concerns the whole file.
	Key string
	// Line is the 1-based line of the key, or of its closest ancestor present
	// in the file; 0 when unknown (a value set only by the environment).
	Line int
	// Env names the environment variable that set this key's value, if any.
	Env string
	// Msg says what is wrong. It never contains an expanded ${VAR} value.
	Msg string
}

// Error formats the problem as "file: key: message", the form users grep
// for; a value that came from the environment says so at the end.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	switch {
	case e.Key != "":
		b.WriteString(": ")
		b.WriteString(e.Key)
	case e.Env != "":
		b.WriteString(": ")
		b.WriteString(e.Env)
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	if e.Key != "" && e.Env != "" {
		b.WriteString(" (set by ")
		b.WriteString(e.Env)
		b.WriteString(")")
	}
	return b.String()
}

// problems collects the errors of one Parse. Keys whose value had the wrong
// shape are remembered as broken, and later errors at or beneath a broken
// key are dropped: "targets[0].upstream: expected a mapping" already says
// everything "targets[0].upstream.address: missing" would.
type problems struct {
	file   string
	lines  map[string]int    // key path -> line in the file
	origin map[string]string // key path -> SLUICE_ variable that set it
	broken map[string]bool
	list   []*Error
}

func newProblems(file string, lines map[string]int) *problems {
	return &problems{
		file:   file,
		lines:  lines,
		origin: map[string]string{},
		broken: map[string]bool{},
	}
}

// add records a problem at key.
func (p *problems) add(key, format string, args ...any) {
	for k := key; k != ""; k = parentKey(k) {
		if p.broken[k] {
			return
		}
	}
	p.list = append(p.list, &Error{
		File: p.file,
		Key:  key,
		Line: p.lineOf(key),
		Env:  p.originOf(key),
		Msg:  fmt.Sprintf(format, args...),
	})
}

// addShape records a problem with the shape (type) of the value at key and
// marks the key broken.
func (p *problems) addShape(key, format string, args ...any) {
	p.add(key, format, args...)
	p.broken[key] = true
}

// addEnv records a problem with a SLUICE_ variable that is not tied to a
// key of the file.
func (p *problems) addEnv(variable, format string, args ...any) {
	p.list = append(p.list, &Error{File: "environment", Env: variable, Msg: fmt.Sprintf(format, args...)})
}

func (p *problems) lineOf(key string) int {
	for k := key; k != ""; k = parentKey(k) {
		if l, ok := p.lines[k]; ok {
			return l
		}
	}
	return 0
}

// originOf names the variable that set key or one of its ancestors (env
// overrides set only scalars, so in practice it is key itself).
func (p *problems) originOf(key string) string {
	for k := key; k != ""; k = parentKey(k) {
		if v, ok := p.origin[k]; ok {
			return v
		}
	}
	return ""
}

// err returns the problems in file order, environment problems first, or nil.
func (p *problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	sort.SliceStable(p.list, func(i, j int) bool {
		a, b := p.list[i], p.list[j]
		if (a.Key == "") != (b.Key == "") {
			return a.Key == ""
		}
		return a.Line < b.Line
	})
	errs := make([]error, len(p.list))
	for i, e := range p.list {
		errs[i] = e
	}
	return errors.Join(errs...)
}

// parentKey returns the key path one level up: "a.b[2].c" -> "a.b[2]" ->
// "a.b" -> "a" -> "".
func parentKey(key string) string {
	i := strings.LastIndexAny(key, ".[")
	if i < 0 {
		return ""
	}
	return key[:i]
}

// joinKey appends a mapping key to a key path.
func joinKey(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// indexKey appends a list index to a key path.
func indexKey(parent string, i int) string {
	return fmt.Sprintf("%s[%d]", parent, i)
}
