package policy

// The bundled plugins on the paths the gateway runs them on, built by
// `make plugins`. See bench/README.md for results.
//
//	go test -run '^$' -bench 'Bundled|Guard' -benchmem ./gateway/policy/
//
// BenchmarkGuard/sql-cold: a 200-character statement the analysis caches
// have not seen (a new table name each time: sqlscan parse and walk) + its
// facts + sql-guard's verdict. sql-constants: the same statement with a new
// constant each time (the normalized-text cache: pg_query's normalization
// instead of a parse). sql-cached: the same text again (a job or driver
// repeating itself). shell: shellscan + shell-guard on an ~80-character
// line. Each reports µs/command.
//
// BenchmarkBundledMask/PLUGIN: MaskStream over ~200-byte NDJSON records
// with the plugin's default config (MB/s), next to no plugin at all
// (passthrough: tokenizing and re-writing only) in the same run.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/sluicegw/sluice/abi"
	"github.com/sluicegw/sluice/gateway/pluginhost"
	"github.com/sluicegw/sluice/gateway/shellscan"
	"github.com/sluicegw/sluice/gateway/sqlscan"
)

// bundled loads plugins/NAME/NAME.wasm on every engine compiled in.
func bundled(b *testing.B, name, config string) map[string]*pluginhost.Plugin {
	b.Helper()
	path := filepath.Join("..", "..", "plugins", name, name+".wasm")
	if _, err := os.Stat(path); err != nil {
		b.Fatalf("%v: build the bundled plugins with `make plugins`", err)
	}
	out := map[string]*pluginhost.Plugin{}
	for _, eng := range pluginhost.Engines() {
		h, err := pluginhost.New(pluginhost.Options{Engine: eng, CacheDir: benchCacheDir()})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { h.Close(context.Background()) })
		p, err := h.Load(context.Background(), pluginhost.Spec{Name: name, Path: path, Config: []byte(config)})
		if err != nil {
			b.Fatal(err)
		}
		out[eng] = p
	}
	return out
}

// guardSQL is a ~200-character statement sql-guard allows; the first %04d
// makes a new table name (no cache can answer), the second a new constant.
const guardSQL = `SELECT u.id, u.email, o.total AS n FROM public.users u JOIN orders%04d o ON o.user_id = u.id WHERE u.created_at > '2024-01-01' AND u.status = 'active' AND u.id > %04d ORDER BY u.email, o.total`

const guardShell = `cd /var/log && tail -n 200 syslog | grep -i "error" > /tmp/errors.txt 2>&1`

func BenchmarkGuard(b *testing.B) {
	if n := len(fmt.Sprintf(guardSQL, 0, 0)); n < 190 || n > 210 {
		b.Fatalf("statement is %d characters", n)
	}
	ctx := context.Background()
	sqlGuards := bundled(b, "sql-guard", "")
	shellGuards := bundled(b, "shell-guard", "")
	for _, eng := range pluginhost.Engines() {
		sqlChain, shellChain := Chain{sqlGuards[eng]}, Chain{shellGuards[eng]}
		var cb abi.CommandBuilder
		sqlVerdict := func(text string) {
			a, err := sqlscan.Analyze(text)
			if err != nil {
				b.Fatal(err)
			}
			cb.Reset()
			cb.Set(abi.CommandSQL, text, "ci-deploy", "db")
			a.AddFacts(&cb)
			if r := sqlChain.Evaluate(ctx, &cb); r.Verdict != abi.Allow {
				b.Fatalf("%s: %v %s %v", text, r.Verdict, r.Reason, r.Err())
			}
		}
		// Distinct texts, prepared before timing; the caches hold 1024,
		// so 4096 of them cycle through misses.
		cold := make([]string, 4096)
		consts := make([]string, 4096)
		for i := range cold {
			cold[i] = fmt.Sprintf(guardSQL, i, 0)
			consts[i] = fmt.Sprintf(guardSQL, 0, i)
		}
		for _, c := range []struct {
			name  string
			texts []string
		}{{"sql-cold", cold}, {"sql-constants", consts}} {
			b.Run(c.name+"/"+eng, func(b *testing.B) {
				i := 0
				b.ReportAllocs()
				for b.Loop() {
					sqlVerdict(c.texts[i%len(c.texts)])
					i++
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/1000/float64(b.N), "µs/cmd")
			})
		}
		b.Run("sql-cached/"+eng, func(b *testing.B) {
			sqlVerdict(cold[0])
			b.ReportAllocs()
			for b.Loop() {
				sqlVerdict(cold[0])
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/1000/float64(b.N), "µs/cmd")
		})
		b.Run("shell/"+eng, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				cb.Reset()
				cb.Set(abi.CommandShell, guardShell, "ci-deploy", "host")
				shellscan.Analyze(guardShell).AddFacts(&cb)
				if r := shellChain.Evaluate(ctx, &cb); r.Verdict != abi.Allow {
					b.Fatalf("%v %s %v", r.Verdict, r.Reason, r.Err())
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/1000/float64(b.N), "µs/cmd")
		})
	}
}

func BenchmarkBundledMask(b *testing.B) {
	const n = 4096
	data := benchNDJSON(n)
	ctx := context.Background()
	run := func(b *testing.B, m *Masker) {
		// Warm up: compile the plan, grow the buffers, pool an instance.
		if _, err := MaskStream(ctx, m, bytes.NewReader(data), io.Discard, StreamOptions{}); err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := MaskStream(ctx, m, bytes.NewReader(data), io.Discard, StreamOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("passthrough", func(b *testing.B) { run(b, NewMasker(nil)) })
	for _, name := range []string{"pii-mask", "secret-mask"} {
		plugins := bundled(b, name, "")
		for _, eng := range pluginhost.Engines() {
			m := NewMasker(Chain{plugins[eng]})
			var out bytes.Buffer
			if _, err := MaskStream(ctx, m, bytes.NewReader(data[:10*benchRecordSize]), &out, StreamOptions{}); err != nil {
				b.Fatal(err)
			}
			if name == "pii-mask" && bytes.Contains(out.Bytes(), []byte("@example.com")) {
				b.Fatalf("pii-mask left an email: %.300s", out.Bytes())
			}
			b.Run(name+"/"+eng, func(b *testing.B) { run(b, m) })
		}
	}
}
