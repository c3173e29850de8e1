// Command json-field-mask is the example sluice plugin of the Go SDK: it
// masks configured fields of records (JSON paths, SQL and CSV column names,
// or "line" for text) and lets every command through. See README.md for the
// config and how to build, test and use it.
//
// Build it as a WASI reactor (main never runs; init registers the hooks):
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o json-field-mask.wasm ./sdk/go/example
//	sluice plugin manifest set json-field-mask.wasm sdk/go/example/manifest.json
package main

import "github.com/sluicegw/sluice/sdk/go/sluice"

func init() { sluice.Register(hooks()) }

// hooks is the plugin; the manifest's "hooks" must list the same ones (a
// test checks it).
func hooks() sluice.Plugin {
	return sluice.Plugin{
		Init:     initConfig,
		Command:  command,
		Records:  records,
		Plan:     plan,
		SelfTest: selfTest,
	}
}

// main is required by the go tool for package main; a -buildmode=c-shared
// module never runs it.
func main() {}

// current is the masker Init built from the operator's config. An instance
// runs one call at a time, so it needs no lock.
var current *masker

func initConfig(config []byte) error {
	m, err := newMasker(config)
	if err != nil {
		return err
	}
	current = m
	return nil
}

// command lets every command through: this is a masking plugin. It declares
// the hook anyway (and costs one call per command, not per row) so that a
// chain's verdict, `sluice plugin eval` and the vectors treat it uniformly.
func command(*sluice.Command) sluice.Verdict { return sluice.Allow() }

// plan inspects the listed columns and ignores the rest, so the host sends
// only listed fields and passes the others through natively.
// Without a config it inspects everything, so that records fails and the
// fail mode applies rather than letting fields through unmasked.
func plan(c sluice.Column) sluice.Action {
	if current == nil || current.matches(c.Name) {
		return sluice.Inspect
	}
	return sluice.Ignore
}

func records(b *sluice.Batch, e *sluice.Edits) error {
	if current == nil {
		return errNotInitialized
	}
	return current.records(b, e)
}
