// Command shell-guard is a sluice policy plugin for shell command lines
// (SSH exec commands and interactive shell lines). It judges every command
// the host's shell analysis (gateway/shellscan) lists, wrappers and
// substitutions included, and blocks, requires approval for or allows nine
// classes of dangerous commands. See README.md for the classes and config.
//
// Build it as a WASI reactor (main never runs; init registers the hooks):
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o plugins/shell-guard/shell-guard.wasm ./plugins/shell-guard
//	sluice plugin manifest set plugins/shell-guard/shell-guard.wasm plugins/shell-guard/manifest.json
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

var errNotInitialized = errors.New("shell-guard: not initialized")

// current is the guard Init built from the operator's config. An instance
// runs one call at a time, so it needs no lock.
var current *guard

func initConfig(config []byte) error {
	g, err := newGuard(config)
	if err != nil {
		return err
	}
	current = g
	return nil
}

// command judges shell commands; SQL and HTTP commands are not this
// plugin's business and are allowed. Without a guard (Init failed or never
// ran) it blocks: fail closed.
func command(c *sluice.Command) sluice.Verdict {
	if c.Kind() != sluice.CommandShell {
		return sluice.Allow()
	}
	if current == nil {
		return sluice.Block(errNotInitialized.Error())
	}
	return current.judge(parseFacts(c))
}
