package httpgw

import (
	"io"
	"net/http"
	"testing"

	"github.com/sluicegw/sluice/gateway/policy"
)

// BenchmarkProxy1KB: 1 KB JSON responses over keep-alive connections from
// parallel Go clients: direct to the upstream, through sluice without
// plugins, and through sluice with pii-mask. Compare the ns/op of one run;
// the clients and the upstream share the machine with sluice.
func BenchmarkProxy1KB(b *testing.B) {
	for _, mode := range []string{"direct", "sluice", "sluice-pii-mask"} {
		b.Run(mode, func(b *testing.B) {
			var chain policy.Chain
			if mode == "sluice-pii-mask" {
				chain = policy.Chain{plugin(b, "pii-mask", "")}
			}
			g := startGateway(b, chain, nil)
			url := g.url + "/small.json"
			if mode == "direct" {
				url = "http://" + g.up.addr + "/small.json"
			}
			c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			defer c.CloseIdleConnections()
			b.ReportAllocs()
			b.SetBytes(1024)
			b.SetParallelism(16)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req, _ := http.NewRequest("GET", url, nil)
					req.Header.Set("Authorization", "Bearer "+ciToken)
					resp, err := c.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						b.Errorf("status %d", resp.StatusCode)
						return
					}
				}
			})
		})
	}
}

// BenchmarkProxyNDJSON: one NDJSON response of 100,000 fake customers
// (~9 MB, chunked by the upstream) per op, read whole by one client:
// direct, through sluice without plugins, and through sluice with
// pii-mask (MB/s). With -cpuprofile it shows where a masked stream's time
// goes.
func BenchmarkProxyNDJSON(b *testing.B) {
	for _, mode := range []string{"direct", "sluice", "sluice-pii-mask"} {
		b.Run(mode, func(b *testing.B) {
			var chain policy.Chain
			if mode == "sluice-pii-mask" {
				chain = policy.Chain{plugin(b, "pii-mask", "")}
			}
			g := startGateway(b, chain, nil)
			url := g.url + "/customers.ndjson?n=100000"
			if mode == "direct" {
				url = "http://" + g.up.addr + "/customers.ndjson?n=100000"
			}
			c := &http.Client{Transport: &http.Transport{DisableCompression: true}}
			defer c.CloseIdleConnections()
			var n int64
			for b.Loop() {
				req, _ := http.NewRequest("GET", url, nil)
				req.Header.Set("Authorization", "Bearer "+ciToken)
				resp, err := c.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				n, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != 200 {
					b.Fatalf("status %d after %d bytes: %v", resp.StatusCode, n, err)
				}
			}
			b.SetBytes(n)
		})
	}
}
