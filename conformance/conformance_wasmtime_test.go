//go:build wasmtime

package conformance

func init() { testEngine = "wasmtime" }
