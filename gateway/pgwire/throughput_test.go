package pgwire

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// BenchmarkPgbench reports pgbench select-only TPS straight to the
// backend and through sluice, without plugins and with sql-guard and
// json-field-mask, in one run (one op is the whole measurement; run it
// with -benchtime 1x):
//
//	go test -run '^$' -bench Pgbench -benchtime 1x ./gateway/pgwire/
func BenchmarkPgbench(b *testing.B) {
	t := b
	needPG(t)
	bench := filepath.Join(testPG.bin, "pgbench")
	port := strings.Split(testPG.addr, ":")[1]
	direct := fmt.Sprintf("host=127.0.0.1 port=%s user=%s dbname=%s sslmode=disable", port, testPG.user, testPG.database)
	run := func(dsn, password string, args ...string) string {
		cmd := exec.Command(bench, append(args, dsn)...)
		cmd.Env = append(os.Environ(), "PGPASSWORD="+password, "PGCLIENTENCODING=UTF8")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("pgbench: %v\n%s", err, out)
		}
		return string(out)
	}
	run(direct, testPG.password, "-i", "-s", "1", "-q", "-I", "dtgvp")
	tps := regexp.MustCompile(`tps = ([0-9.]+) \(without`)
	args := []string{"-n", "-S", "-c", "4", "-j", "2", "-T", "5"}
	measure := func(name, dsn, password string) float64 {
		out := run(dsn, password, args...)
		m := tps.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("%s: no tps in\n%s", name, out)
		}
		v, _ := strconv.ParseFloat(m[1], 64)
		return v
	}
	none := newEnv(t, envOptions{})
	guarded := newEnv(t, envOptions{guard: true, mask: true})
	for b.Loop() {
		d := measure("direct", direct, testPG.password)
		n := measure("sluice, no plugins", strings.Replace(none.dsn("ci-bot", ""), "password=''", "", 1), botToken)
		g := measure("sluice, guard + mask", strings.Replace(guarded.dsn("ci-bot", ""), "password=''", "", 1), botToken)
		b.ReportMetric(d, "direct-tps")
		b.ReportMetric(n, "sluice-tps")
		b.ReportMetric(g, "sluice-guard-mask-tps")
		b.ReportMetric(n/d, "x-direct")
	}
}

// BenchmarkIdleConnectionMemory reports the heap per idle client
// connection (TLS, both protocol codecs, two goroutines): an upper bound,
// client and gateway together. Run with -benchtime 1x.
func BenchmarkIdleConnectionMemory(b *testing.B) {
	t := b
	needPG(t)
	e := newEnv(t, envOptions{guard: true, mask: true})
	ctx := ctxT(t)
	warm, err := pgconn.Connect(ctx, e.dsn("ci-bot", botToken))
	if err != nil {
		t.Fatal(err)
	}
	defer warm.Close(ctx)
	const n = 40
	before := heapInUse()
	var conns []*pgconn.PgConn
	for range n {
		pc, err := pgconn.Connect(ctx, e.dsn("ci-bot", botToken))
		if err != nil {
			t.Fatal(err)
		}
		if err := pc.Exec(ctx, "SELECT 1").Close(); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, pc)
	}
	// The clients live in this process too: count their share out by
	// measuring them alone afterwards is not possible, so this is an
	// upper bound (client + gateway per connection).
	after := heapInUse()
	for b.Loop() {
		b.ReportMetric(float64(after-before)/n/1024, "KiB/conn")
	}
	for _, pc := range conns {
		pc.Close(ctx)
	}
}

func heapInUse() int64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapInuse) + int64(ms.StackInuse)
}
