package sqlscan

import (
	"os"
	"sync"
	"testing"
	"time"

	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/sluicegw/sluice/abi"
	wpg "github.com/wasilibs/go-pgquery"
)

const stmt200 = `SELECT u.id, u.email, count(o.id) AS n FROM public.users u JOIN orders o ON o.user_id = u.id WHERE u.created_at > now() - interval '7 days' AND u.status = 'active' GROUP BY u.id, u.email ORDER BY n DESC`

func BenchmarkRawCgoParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := pg.Parse(stmt200); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRawCgoFingerprint(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := pg.Fingerprint(stmt200); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRawWasmParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := wpg.Parse(stmt200); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRawWasmParseParallel(b *testing.B) {
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := wpg.Parse(stmt200); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkRawCgoParseParallel(b *testing.B) {
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := pg.Parse(stmt200); err != nil {
				b.Fatal(err)
			}
		}
	})
}

var wasmInitOnce sync.Once

func TestWasmInitCost(t *testing.T) {
	if os.Getenv("SQLSCAN_MEASURE") == "" {
		t.Skip("set SQLSCAN_MEASURE=1 to measure parser start-up (go-pgquery takes ~2 s)")
	}
	wasmInitOnce.Do(func() {
		t0 := time.Now()
		if _, err := wpg.Parse("SELECT 1"); err != nil {
			t.Fatal(err)
		}
		t.Logf("go-pgquery first call (init): %v", time.Since(t0))
		t0 = time.Now()
		wpg.Parse("SELECT 2")
		t.Logf("go-pgquery second call: %v", time.Since(t0))
	})
	t0 := time.Now()
	pg.Parse("SELECT 1")
	t.Logf("pg_query_go first call: %v", time.Since(t0))
}

func BenchmarkAnalyze200(b *testing.B) {
	if len(stmt200) < 190 || len(stmt200) > 210 {
		b.Fatalf("statement is %d chars", len(stmt200))
	}
	var cb abi.CommandBuilder
	b.ReportAllocs()
	for b.Loop() {
		// Not Analyze: its cache would answer every iteration after the
		// first (BenchmarkAnalyze200Cached measures that).
		a, err := analyze(defaultParser, nil, stmt200)
		if err != nil || a.ParseError != "" {
			b.Fatal(err, a.ParseError)
		}
		cb.Reset()
		cb.Set(abi.CommandSQL, stmt200, "id", "target")
		a.AddFacts(&cb)
	}
}

// BenchmarkAnalyze200Wasm is the same analysis on go-pgquery (Wasm).
func BenchmarkAnalyze200Wasm(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := analyze(wasmParser{}, nil, stmt200); err != nil {
			b.Fatal(err)
		}
	}
}

type wasmParser struct{}

func (wasmParser) normalize(s string) (string, error) { return wpg.Normalize(s) }

func (wasmParser) parse(sql string) (*pg.ParseResult, error) {
	r, err := wpg.Parse(sql)
	if err != nil {
		return nil, &parseError{msg: err.Error()}
	}
	return r, nil
}

// BenchmarkWalk200 is the tree walk alone (no parse, no fingerprint).
func BenchmarkWalk200(b *testing.B) {
	r, err := pg.Parse(stmt200)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		var st Statement
		walkStatement(&st, r.Stmts[0].Stmt, nil)
	}
}
