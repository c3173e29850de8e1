//go:build wasmtime

package policy

func init() { testEngine = "wasmtime" }
