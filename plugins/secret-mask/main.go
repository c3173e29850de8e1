// Command secret-mask is a sluice plugin that finds secrets inside every
// non-NULL string value of the records a gateway returns (cloud keys, API
// tokens, private key blocks, JWTs, passwords in connection strings and
// assignments, ...) and replaces each match, in place in the value, with
// "[REDACTED:<rule>]". It lets every command through. See README.md for the
// rules and the config.
//
// Build it as a WASI reactor (main never runs; init registers the hooks):
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o plugins/secret-mask/secret-mask.wasm ./plugins/secret-mask
//	sluice plugin manifest set plugins/secret-mask/secret-mask.wasm plugins/secret-mask/manifest.json
package main

import (
	"errors"

	"github.com/sluicegw/sluice/sdk/go/sluice"
)

func init() { sluice.Register(hooks()) }

// hooks is the plugin; the manifest's "hooks" must list the same ones.
// There is no Plan hook: every column is inspected, since a secret can sit
// in any string value.
func hooks() sluice.Plugin {
	return sluice.Plugin{
		Init:     initConfig,
		Command:  command,
		Records:  records,
		SelfTest: selfTest,
	}
}

// main is required by the go tool for package main; a -buildmode=c-shared
// module never runs it.
func main() {}

// current is the masker Init built from the operator's config. An instance
// runs one call at a time, so it needs no lock.
var current *masker

var errNotInitialized = errors.New("secret-mask: not initialized (the host calls init before records)")

func initConfig(config []byte) error {
	m, err := newMasker(config)
	if err != nil {
		return err
	}
	current = m
	return nil
}

// command lets every command through: this is a masking plugin.
func command(*sluice.Command) sluice.Verdict { return sluice.Allow() }

func records(b *sluice.Batch, e *sluice.Edits) error {
	if current == nil {
		return errNotInitialized
	}
	return current.records(b, e)
}
