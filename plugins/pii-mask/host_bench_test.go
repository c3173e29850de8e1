package main

import (
	"context"
	"log/slog"
	"os"
	"testing"

	"github.com/sluicegw/sluice/abi"
	"github.com/sluicegw/sluice/gateway/pluginhost"
)

// BenchmarkWasmRecords runs the built module (pii-mask.wasm, `make
// plugins`) through the gateway's plugin host, with no time budget: one
// op is one Records call on the batch of BenchmarkRecords (256 ~200-byte
// records), arena copy and edit validation included. MB/s counts the
// records' JSON size, as BenchmarkRecords does. PII_MASK_ENGINE picks the
// engine (wazero by default; wasmtime in a -tags wasmtime build).
func BenchmarkWasmRecords(b *testing.B) {
	path := "pii-mask.wasm"
	if p := os.Getenv("PII_MASK_WASM"); p != "" {
		path = p // another build of the module, to compare
	}
	if _, err := os.Stat(path); err != nil {
		b.Skip("pii-mask.wasm not built (make plugins)")
	}
	for _, bc := range []struct{ name, config string }{
		{"redact", `{}`},
		{"hash", `{"strategy":"hash",` + key + `}`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ctx := context.Background()
			h, err := pluginhost.New(pluginhost.Options{Engine: os.Getenv("PII_MASK_ENGINE"), NoBudget: true, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				b.Fatal(err)
			}
			defer h.Close(ctx)
			p, err := h.Load(ctx, pluginhost.Spec{Name: "pii-mask", Path: path, Config: []byte(bc.config), PoolSize: 1})
			if err != nil {
				b.Fatal(err)
			}
			var bb abi.BatchBuilder
			size := benchRecords(&bb, 256)
			apply := func(*abi.Batch, *abi.Edits) error { return nil }
			if err := p.Records(ctx, &bb, apply); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				if err := p.Records(ctx, &bb, apply); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
