package pluginhost

// Benchmarks of the cost of one host-to-guest call, on every engine
// compiled in (wazero always; wasmtime with -tags wasmtime), with the time
// budget on (the default) and off (Options.NoBudget). See bench/README.md.
//
//	go test -run '^$' -bench 'Call' -benchmem ./gateway/pluginhost/
//	go test -run '^$' -bench 'Call' -benchmem -tags wasmtime ./gateway/pluginhost/
//
// BenchmarkCall measures, per engine and budget mode:
//
//	raw-selftest   the engine's own call of a trivial export, () -> i32,
//	               through the unexported instance interface: no pool, no
//	               metrics, no ABI encoding (the floor).
//	raw-records1   the engine's call of sluice_records on a 1-field batch
//	               already in the arena (the guest's work included).
//	raw-records256 the same with 256 one-field records: the fixture's loop
//	               runs 256 times, so budget minus nobudget, less the
//	               per-call difference, over 256 prices one loop back-edge
//	               under the engine's interruption checks (on wazero: the
//	               host's loop metering, or wazero's own checks when built
//	               with wazeroInterrupt=close).
//	records1       Plugin.Records with a 1-field batch: what a masking
//	               chain pays per batch on top of the guest's work.
//	records1-floor Plugin.Records' steps without its metrics, breaker and
//	               clock reads: pool, encode, engine call, validation of
//	               the output, the batch and the edits (what the host path
//	               could cost with the same safety).
//	command        Plugin.Command with a tiny command.
//
// BenchmarkCallParts measures, engine-free, the pieces of Plugin.Records'
// own overhead, to tell what dominates.

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/sluicegw/sluice/abi"
)

// benchEngines runs f once per engine compiled into the test binary, so
// that with -tags wasmtime both engines are measured in the same run.
func benchEngines(b *testing.B, f func(b *testing.B, eng string)) {
	for _, eng := range Engines() {
		b.Run(eng, func(b *testing.B) { f(b, eng) })
	}
}

// budgetModes are the two Options.NoBudget settings, named for results.
var budgetModes = []struct {
	name     string
	noBudget bool
}{{"budget", false}, {"nobudget", true}}

// newBenchHost is newTestHost with an explicit engine and options.
func newBenchHost(tb testing.TB, opts Options) *Host {
	tb.Helper()
	h, err := New(opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { h.Close(context.Background()) })
	return h
}

// oneFieldBatch is the smallest useful records batch: one record with one
// string field.
func oneFieldBatch(bb *abi.BatchBuilder) {
	bb.Reset()
	c := bb.AddColumn([]byte("email"), abi.TypeText, 0)
	bb.BeginRecord()
	bb.AddField(c, abi.KindString, false, []byte("ann@example.com"))
}

func BenchmarkCall(b *testing.B) {
	benchEngines(b, func(b *testing.B, eng string) {
		for _, bm := range budgetModes {
			b.Run(bm.name, func(b *testing.B) {
				h := newBenchHost(b, Options{Engine: eng, NoBudget: bm.noBudget})
				// The default budget (100ms), as the gateway runs it.
				p, err := loadFixture(b, h, "n", func(s *Spec) { s.Timeout = DefaultTimeout })
				if err != nil {
					b.Fatal(err)
				}
				b.Run("raw-selftest", func(b *testing.B) { benchRaw(b, p, 0) })
				b.Run("raw-records1", func(b *testing.B) { benchRaw(b, p, 1) })
				b.Run("raw-records256", func(b *testing.B) { benchRaw(b, p, 256) })
				if eng == "wazero" && !bm.noBudget {
					b.Run("raw-selftest-sharedctx", func(b *testing.B) { benchWazeroSharedCtx(b, p) })
				}
				b.Run("records1", func(b *testing.B) {
					var bb abi.BatchBuilder
					oneFieldBatch(&bb)
					edits := 0
					apply := func(_ *abi.Batch, e *abi.Edits) error { edits += e.Len(); return nil }
					ctx := context.Background()
					b.ReportAllocs()
					for b.Loop() {
						if err := p.Records(ctx, &bb, apply); err != nil {
							b.Fatal(err)
						}
					}
					if edits == 0 {
						b.Fatal("the fixture made no edits")
					}
				})
				b.Run("records1-floor", func(b *testing.B) { benchRecordsFloor(b, p) })
				b.Run("command", func(b *testing.B) {
					var cb abi.CommandBuilder
					cb.Set(abi.CommandSQL, "SELECT 1", "ci", "db")
					ctx := context.Background()
					b.ReportAllocs()
					for b.Loop() {
						d, err := p.Command(ctx, &cb)
						if err != nil || d.Verdict != abi.Allow {
							b.Fatalf("%v %v", d, err)
						}
					}
				})
			})
		}
	})
}

// benchRaw calls the engine directly on a pooled instance of p: the
// selftest export (no arguments, one result) with records 0, else
// sluice_records on a batch of that many one-field records encoded into
// the arena once.
func benchRaw(b *testing.B, p *Plugin, records int) {
	g := p.cur.Load()
	pi, err := g.acquire(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	defer g.release(pi, false)
	fn, in, out := fnSelfTest, uint32(0), uint32(0)
	if records > 0 {
		var bb abi.BatchBuilder
		oneFieldBatch(&bb)
		for range records - 1 {
			bb.BeginRecord()
			bb.AddField(0, abi.KindString, false, []byte("ann@example.com"))
		}
		n := bb.Encode(pi.in.memory()[pi.arena:])
		fn, in, out = fnRecords, uint32(n), uint32(abi.AlignUp(n))
	}
	b.ReportAllocs()
	for b.Loop() {
		st, err := pi.in.call(fn, in, out)
		if err != nil || st != 0 {
			b.Fatalf("status %d, %v", st, err)
		}
	}
}

// benchRecordsFloor runs Plugin.Records' steps (see callHook) with
// nothing else: no metrics, no breaker, no clock.
func benchRecordsFloor(b *testing.B, p *Plugin) {
	g := p.cur.Load()
	var bb abi.BatchBuilder
	oneFieldBatch(&bb)
	ctx := context.Background()
	edits := 0
	b.ReportAllocs()
	for b.Loop() {
		pi, err := g.acquire(ctx)
		if err != nil {
			b.Fatal(err)
		}
		n := bb.Size()
		outOff := abi.AlignUp(n)
		bb.Encode(pi.in.memory()[pi.arena : pi.arena+uint32(n)])
		st, err := pi.in.call(fnRecords, uint32(n), uint32(outOff))
		if err != nil || st != 0 {
			b.Fatalf("status %d, %v", st, err)
		}
		mem := pi.in.memory()
		payload, err := abi.ParseOutput(mem[pi.arena+uint32(outOff) : pi.arena+pi.arenaSize])
		if err != nil {
			b.Fatal(err)
		}
		batch, err := abi.ParseBatch(mem[pi.arena : pi.arena+uint32(n)])
		if err != nil {
			b.Fatal(err)
		}
		e, err := abi.ParseEdits(payload, &batch)
		if err != nil {
			b.Fatal(err)
		}
		edits += e.Len()
		g.release(pi, false)
	}
	if edits == 0 {
		b.Fatal("the fixture made no edits")
	}
}

// benchWazeroSharedCtx calls the selftest export through wazero's API with
// one long-lived cancellable context, without the host's per-call timer:
// what wazero itself costs per call in the configured interruption mode
// (with wazeroInterrupt=close, its watcher goroutine per call).
func benchWazeroSharedCtx(b *testing.B, p *Plugin) {
	g := p.cur.Load()
	pi, err := g.acquire(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	defer g.release(pi, false)
	in := pi.in.(*wazeroInstance)
	f := in.fns[fnSelfTest]
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stack [1]uint64
	b.ReportAllocs()
	for b.Loop() {
		if err := f.CallWithStack(ctx, stack[:]); err != nil || stack[0] != 0 {
			b.Fatalf("status %d, %v", stack[0], err)
		}
	}
}

// BenchmarkCallParts prices, without any engine, what Plugin.Records and
// the engines add around the guest call:
//
//	clock-now        time.Now (wall and monotonic clocks)
//	clock-since      time.Since (monotonic clock only)
//	ctx-timeout      context.WithTimeout + cancel (wazero, per call with a budget)
//	timer-reset      Reset + Stop of one reused timer, a cheaper way to arm
//	                 a budget per call
//	watch-goroutine  wazero's per-call watcher with a budget: a channel, a
//	                 goroutine selecting on ctx.Done, and closing the channel
//	metrics          the call counter and the duration histogram, with the
//	                 two time.Now calls around them
//	pool             acquiring and releasing a pooled instance
//	breaker          the circuit breaker's allow + success
//	abi              encoding the 1-field batch into the arena, parsing the
//	                 output header, re-parsing the batch and the edits
func BenchmarkCallParts(b *testing.B) {
	h := newBenchHost(b, Options{Engine: "wazero"})
	p, err := loadFixture(b, h, "n", nil)
	if err != nil {
		b.Fatal(err)
	}
	g := p.cur.Load()
	b.Run("clock-now", func(b *testing.B) {
		var t time.Time
		for b.Loop() {
			t = time.Now()
		}
		_ = t
	})
	b.Run("clock-since", func(b *testing.B) {
		t0 := time.Now()
		var d time.Duration
		for b.Loop() {
			d = time.Since(t0)
		}
		_ = d
	})
	b.Run("ctx-timeout", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, cancel := context.WithTimeout(context.Background(), DefaultTimeout)
			cancel()
		}
	})
	b.Run("timer-reset", func(b *testing.B) {
		t := time.AfterFunc(time.Hour, func() {})
		defer t.Stop()
		b.ReportAllocs()
		for b.Loop() {
			t.Reset(DefaultTimeout)
			t.Stop()
		}
	})
	b.Run("watch-goroutine", func(b *testing.B) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
		defer cancel()
		var wg sync.WaitGroup
		b.ReportAllocs()
		for b.Loop() {
			// The shape of wazero's CloseModuleOnCanceledOrTimeout.
			ch := make(chan struct{})
			wg.Add(1)
			go func() {
				defer wg.Done()
				select {
				case <-ctx.Done():
				case <-ch:
				}
			}()
			close(ch)
		}
		wg.Wait()
	})
	b.Run("metrics", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			start := time.Now()
			g.calls[fnRecords].Inc()
			g.duration[fnRecords].Observe(time.Since(start).Seconds())
		}
	})
	b.Run("pool", func(b *testing.B) {
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			pi, err := g.acquire(ctx)
			if err != nil {
				b.Fatal(err)
			}
			g.release(pi, false)
		}
	})
	b.Run("breaker", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if !p.breaker.allow() {
				b.Fatal("breaker open")
			}
			p.breaker.success()
		}
	})
	b.Run("abi", func(b *testing.B) {
		var bb abi.BatchBuilder
		oneFieldBatch(&bb)
		arena := make([]byte, minArena)
		n := bb.Size()
		outOff := abi.AlignUp(n)
		// An output region holding one IN_PLACE edit of field 0, as the
		// fixture writes it.
		region := arena[outOff:]
		ew := abi.NewEditWriter(abi.Payload(region))
		ew.InPlace(0, 0, 3)
		abi.FinishOutput(region, ew.Finish())
		b.ReportAllocs()
		for b.Loop() {
			bb.Encode(arena[:n])
			payload, err := abi.ParseOutput(arena[outOff:])
			if err != nil {
				b.Fatal(err)
			}
			batch, err := abi.ParseBatch(arena[:n])
			if err != nil {
				b.Fatal(err)
			}
			if _, err := abi.ParseEdits(payload, &batch); err != nil {
				b.Fatal(err)
			}
		}
	})
}
