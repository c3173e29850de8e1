// Command pii-mask is a sluice plugin that masks personal data in the
// records a gateway returns: e-mail addresses, phone numbers, payment card
// numbers (Luhn), IBANs (mod-97), US SSNs and IPv4/IPv6 addresses found
// inside any value, whole fields picked by name (globs over JSON paths and
// column names), custom regular expressions and deny lists. Each match is
// redacted with a label, partially masked, replaced by a keyed hash or a
// format-preserving pseudonym, or nullified, and a masked value stays
// valid for its column's type. See README.md for the config and the rules.
//
// Build it as a WASI reactor (main never runs; init registers the hooks):
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -o plugins/pii-mask/pii-mask.wasm ./plugins/pii-mask
//	sluice plugin manifest set plugins/pii-mask/pii-mask.wasm plugins/pii-mask/manifest.json
package main

import (
	"errors"

	"github.com/sluicegw/sluice/sdk/go/sluice"
)

func init() { sluice.Register(hooks()) }

// hooks is the plugin; the manifest's "hooks" must list the same ones.
func hooks() sluice.Plugin {
	return sluice.Plugin{
		Init:     initConfig,
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

var errNotInitialized = errors.New("pii-mask: not initialized (the host calls init before records)")

func initConfig(config []byte) error {
	m, err := newMasker(config)
	if err != nil {
		return err
	}
	current = m
	return nil
}

func records(b *sluice.Batch, e *sluice.Edits) error {
	if current == nil {
		return errNotInitialized
	}
	return current.records(b, e)
}

// plan ignores the columns a "keep" field rule names and, without a field
// rule, bool and timestamp columns (no built-in entity fits in them); it
// inspects everything else.
func plan(c sluice.Column) sluice.Action {
	if current == nil {
		return sluice.Inspect
	}
	return current.plan(c.Name, c.Type)
}
