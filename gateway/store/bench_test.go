package store

// Store benchmarks on the real filesystem (fsync included):
//
//	go test -run '^$' -bench . -benchtime 2000x ./gateway/store/
//
// BenchmarkDurable/sessions=N: N sessions each recording commands with
// Durable at once (what N concurrent clients cost); reports events/s
// over all sessions and the p50/p99 latency one Durable adds to a command.
// BenchmarkReplay: reading a 100,000-event session back (Events) and
// verifying it (Verify).

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

func BenchmarkDurable(b *testing.B) {
	for _, n := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("sessions=%d", n), func(b *testing.B) {
			s, err := Open(b.TempDir(), Options{MinFreeBytes: -1})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			sess := make([]*Session, n)
			for i := range sess {
				if sess[i], err = s.OpenSession(NewSession{Identity: "bench"}, nil); err != nil {
					b.Fatal(err)
				}
			}
			data := cmd("UPDATE accounts SET balance = balance - 10 WHERE id = 42", "allow")
			lat := make([][]time.Duration, n)
			per := b.N/n + 1
			b.ResetTimer()
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					l := make([]time.Duration, 0, per)
					for range per {
						t0 := time.Now()
						if _, err := sess[i].Durable(KindCommand, data); err != nil {
							b.Error(err)
							return
						}
						l = append(l, time.Since(t0))
					}
					lat[i] = l
				}()
			}
			wg.Wait()
			b.StopTimer()
			all := slices.Concat(lat...)
			slices.Sort(all)
			b.ReportMetric(float64(len(all))/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(all[len(all)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(all[len(all)*99/100].Microseconds()), "p99-µs")
		})
	}
}

func BenchmarkReplay(b *testing.B) {
	s, err := Open(b.TempDir(), Options{MinFreeBytes: -1, SessionQuota: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ss, _ := s.OpenSession(NewSession{Identity: "bench"}, nil)
	out := []byte(`{"records":[["1","****","2024-01-01"],["2","****","2024-01-02"]]}`)
	for i := range 100_000 - 2 {
		if i%10 == 0 {
			ss.Durable(KindCommand, cmd("SELECT * FROM t", "allow"))
		} else {
			ss.Append(KindOutput, out)
		}
	}
	ss.Close("done")
	id := ss.ID()
	b.Run("events", func(b *testing.B) {
		for b.Loop() {
			n := 0
			if err := s.Events(id, 1, func(Event) error { n++; return nil }); err != nil || n != 100_000 {
				b.Fatal(n, err)
			}
		}
		b.ReportMetric(100_000*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
	b.Run("verify", func(b *testing.B) {
		for b.Loop() {
			if v, err := s.Verify(id); err != nil || !v.OK {
				b.Fatal(v, err)
			}
		}
		b.ReportMetric(100_000*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
}
