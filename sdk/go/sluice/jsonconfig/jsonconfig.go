// Package jsonconfig decodes a sluice plugin's config JSON, strictly, in its
// Init hook.
//
// It is a package of its own, not part of package sluice, because
// encoding/json (with reflect, fmt and os, which it pulls in) is the largest
// thing a Go plugin links: a minimal plugin is 1.9 MB of wasm and one that
// decodes its config with this package 3.4 MB (GOOS=wasip1, Go 1.26; just
// importing encoding/json costs 0.4 MB of that, for its package
// initializers). The cost is compile time at every load and hot reload,
// not time per call: Init runs once per instance. A plugin without config
// does not pay it. Never call Decode on the hot path.
package jsonconfig

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
)

// Decode decodes config, the JSON object an Init hook receives, into v (a
// pointer to a struct with json tags). It is strict: an unknown key or data
// after the object is an error, so a typo in the operator's config fails
// the load instead of silently dropping a setting. Decoded strings and
// slices are copies, so v may be kept after Init returns although config
// aliases the arena.
func Decode(config []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(config))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if err == io.EOF {
			return errors.New("config: empty, want a JSON object")
		}
		return errors.New("config: " + err.Error())
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("config: unexpected data after the JSON object")
	}
	return nil
}
