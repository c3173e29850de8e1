package pluginhost

// Does a runaway plugin stall the rest of the gateway? One goroutine calls
// the fixture in mode "l" (sluice_records loops forever) over and over,
// each call stopped by its time budget (100ms), while a ping loop stands in
// for the rest of the gateway: every 100µs it sends a ping to an echo
// goroutine and waits for the pong. Two latencies are recorded per ping:
// the round trip (send to pong: can another goroutine be scheduled at
// once?) and the wake-up lateness (scheduled tick to send: do timers fire
// on time?). Go's timers have a resolution of about 1ms on an idle Linux
// process, so lateness has a ~1ms floor even when nothing stalls; its
// maximum is what to compare. Cases, per engine:
//
//	idle      no spinning plugin (the machine's own floor)
//	spin      the spinning plugin
//	idle-gc   no plugin, plus a goroutine allocating ~1 MB/ms, so the GC
//	          runs (and stops the world) every few ms
//	spin-gc   both: a stop-the-world must wait for the spinning goroutine
//
// TestStall runs each case briefly and only logs (set SLUICE_STALL=2s for a
// longer run); it checks that every spinning call ended in a timeout.
// BenchmarkStall reports the same numbers as metrics (µs) for bench/run.sh.

import (
	"context"
	"errors"
	"os"
	"runtime"
	"runtime/metrics"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sluicegw/sluice/abi"
)

const (
	stallPingEvery = 100 * time.Microsecond
	stallBudget    = DefaultTimeout
)

var stallCases = []struct {
	name     string
	spin, gc bool
}{{"idle", false, false}, {"spin", true, false}, {"idle-gc", false, true}, {"spin-gc", true, true}}

// stallResult is what one case measured.
type stallResult struct {
	pings         []time.Duration // round trips, sorted
	late          []time.Duration // wake-up lateness, sorted
	calls         int             // spinning calls that ended
	timeouts      int             // ... with a FailTimeout
	spinMax       time.Duration   // the longest spinning call
	gcs           uint32          // GC cycles during the case
	gcPauseMax    time.Duration   // the longest stop-the-world of a GC, about
	firstFailures []error
}

func quantile(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	return d[min(len(d)-1, int(q*float64(len(d))))]
}

// runStall runs one case on eng until wait returns.
func runStall(tb testing.TB, eng string, spin, gc bool, wait func()) *stallResult {
	tb.Helper()
	var p *Plugin
	if spin {
		h := newBenchHost(tb, Options{Engine: eng})
		var err error
		p, err = loadFixture(tb, h, "l", func(s *Spec) {
			s.Timeout = stallBudget
			s.BreakerFailures = -1 // never open: every call spins to its budget
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
	res := &stallResult{}
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	pauses0 := gcPauses()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	if spin {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var bb abi.BatchBuilder
			oneFieldBatch(&bb)
			for {
				select {
				case <-stop:
					return
				default:
				}
				start := time.Now()
				err := p.Records(context.Background(), &bb, func(*abi.Batch, *abi.Edits) error { return nil })
				res.spinMax = max(res.spinMax, time.Since(start))
				res.calls++
				var pe *PluginError
				if errors.As(err, &pe) && pe.Kind == FailTimeout {
					res.timeouts++
				} else if len(res.firstFailures) < 3 {
					res.firstFailures = append(res.firstFailures, err)
				}
			}
		}()
	}
	if gc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var keep [16][]byte
			tick := time.NewTicker(time.Millisecond)
			defer tick.Stop()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				for j := range 16 {
					keep[(i*16+j)%len(keep)] = make([]byte, 64<<10)
				}
			}
		}()
	}
	ping, pong := make(chan struct{}), make(chan struct{})
	wg.Add(2)
	go func() {
		defer wg.Done()
		for range ping {
			pong <- struct{}{}
		}
	}()
	go func() {
		defer wg.Done()
		defer close(ping)
		next := time.Now()
		for {
			next = next.Add(stallPingEvery)
			if d := time.Until(next); d > 0 {
				time.Sleep(d)
			}
			select {
			case <-stop:
				return
			default:
			}
			sent := time.Now()
			ping <- struct{}{}
			<-pong
			res.pings = append(res.pings, time.Since(sent))
			res.late = append(res.late, sent.Sub(next))
			// After a stall, resume from now rather than firing the
			// missed ticks back to back.
			if now := time.Now(); now.Sub(next) > stallPingEvery {
				next = now
			}
		}
	}()
	wait()
	close(stop)
	wg.Wait()
	runtime.ReadMemStats(&ms1)
	res.gcs = ms1.NumGC - ms0.NumGC
	res.gcPauseMax = maxNewSample(pauses0, gcPauses())
	slices.Sort(res.pings)
	slices.Sort(res.late)
	if spin && (res.calls == 0 || res.timeouts != res.calls) {
		tb.Errorf("%s: %d of %d spinning calls timed out; first others: %v", eng, res.timeouts, res.calls, res.firstFailures)
	}
	return res
}

// gcPauses reads the histogram of the GC's stop-the-world pauses (from
// the request to stop to the restart, so it includes waiting for every
// goroutine to stop).
func gcPauses() *metrics.Float64Histogram {
	s := []metrics.Sample{{Name: "/sched/pauses/total/gc:seconds"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindFloat64Histogram {
		return nil
	}
	return s[0].Value.Float64Histogram()
}

// maxNewSample returns the upper bound of the highest bucket that gained
// samples between two reads of a histogram.
func maxNewSample(before, after *metrics.Float64Histogram) time.Duration {
	if before == nil || after == nil || len(before.Counts) != len(after.Counts) {
		return 0
	}
	for i := len(after.Counts) - 1; i >= 0; i-- {
		if after.Counts[i] > before.Counts[i] {
			return time.Duration(after.Buckets[i+1] * 1e9)
		}
	}
	return 0
}

func logStall(tb testing.TB, eng, name string, r *stallResult) {
	us := func(d []time.Duration, q float64) time.Duration { return quantile(d, q).Round(time.Microsecond) }
	tb.Logf("%-8s %-7s pings %5d  rtt p50 %7v p99 %7v max %7v | late p50 %7v p99 %7v max %7v | GCs %3d, longest STW %v | spinning calls %d (timeouts %d, longest %v)",
		eng, name, len(r.pings), us(r.pings, 0.5), us(r.pings, 0.99), us(r.pings, 1),
		us(r.late, 0.5), us(r.late, 0.99), us(r.late, 1), r.gcs, r.gcPauseMax.Round(time.Microsecond), r.calls, r.timeouts, r.spinMax.Round(time.Microsecond))
}

func TestStall(t *testing.T) {
	d := 300 * time.Millisecond
	if s := os.Getenv("SLUICE_STALL"); s != "" {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			t.Fatalf("SLUICE_STALL: %v", err)
		}
	} else if testing.Short() {
		t.Skip("short mode")
	}
	for _, eng := range Engines() {
		for _, c := range stallCases {
			r := runStall(t, eng, c.spin, c.gc, func() { time.Sleep(d) })
			logStall(t, eng, c.name, r)
		}
	}
}

func BenchmarkStall(b *testing.B) {
	benchEngines(b, func(b *testing.B, eng string) {
		for _, c := range stallCases {
			b.Run(c.name, func(b *testing.B) {
				r := runStall(b, eng, c.spin, c.gc, func() {
					// One op is one budget's worth of time.
					for b.Loop() {
						time.Sleep(stallBudget)
					}
				})
				if testing.Verbose() {
					logStall(b, eng, c.name, r)
				}
				us := func(d time.Duration) float64 { return float64(d) / 1e3 }
				b.ReportMetric(us(quantile(r.pings, 0.5)), "rtt-p50-µs")
				b.ReportMetric(us(quantile(r.pings, 0.99)), "rtt-p99-µs")
				b.ReportMetric(us(quantile(r.pings, 1)), "rtt-max-µs")
				b.ReportMetric(us(quantile(r.late, 0.99)), "late-p99-µs")
				b.ReportMetric(us(quantile(r.late, 1)), "late-max-µs")
				if c.gc {
					b.ReportMetric(us(r.gcPauseMax), "stw-max-µs")
				}
				if c.spin {
					b.ReportMetric(float64(r.spinMax)/1e6, "spin-max-ms")
				}
			})
		}
	})
}
