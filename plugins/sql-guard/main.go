// Command sql-guard is a sluice plugin that blocks (or sends for approval)
// dangerous SQL: destructive DDL, unbounded writes, privilege and role
// changes, server-side code and file access, dangerous functions, session
// escapes and statements that do not parse; optionally everything that
// writes, and relations outside an allow list or on a deny list. It decides
// from the host's sqlscan facts only (PostgreSQL's own parser), never from
// the text, so literals and comments cannot trigger or hide anything. See
// README.md for the config.
//
// Build it as a WASI reactor (main never runs; init registers the hooks):
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o plugins/sql-guard/sql-guard.wasm ./plugins/sql-guard
//	sluice plugin manifest set plugins/sql-guard/sql-guard.wasm plugins/sql-guard/manifest.json
package main

import (
	"errors"

	"github.com/sluicegw/sluice/sdk/go/sluice"
)

func init() { sluice.Register(hooks()) }

// hooks is the plugin; the manifest's "hooks" must list the same ones (a
// test checks it).
func hooks() sluice.Plugin {
	return sluice.Plugin{
		Init:     initConfig,
		Command:  command,
		SelfTest: selfTest,
	}
}

// main is required by the go tool for package main; a -buildmode=c-shared
// module never runs it.
func main() {}

// current is the guard Init built from the operator's config. An instance
// runs one call at a time, so it needs no lock.
var current *guard

var errNotInitialized = errors.New("sql-guard: not initialized")

func initConfig(config []byte) error {
	g, err := newGuard(config)
	if err != nil {
		return errors.New("sql-guard config: " + err.Error())
	}
	current = g
	return nil
}

// command decides SQL commands from their facts; other kinds (shell, HTTP)
// are not this plugin's business and are allowed.
func command(c *sluice.Command) sluice.Verdict {
	if c.Kind() != sluice.CommandSQL {
		return sluice.Allow()
	}
	if current == nil {
		return sluice.Block(errNotInitialized.Error())
	}
	return current.decide(c)
}
