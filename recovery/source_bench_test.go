package recovery

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rebound-lab/rebound/dataset"
	"github.com/rebound-lab/rebound/internal/e2e"
)

// BenchmarkPipelinePhaseHeap runs the first half of Run — admitting a
// streamed JSONL dataset of n synthetic problems into the store, then the
// pipeline (straight shots, perturbation, continuations, -samples 3
// -continuations 2) on simulators that find their problems in the store —
// and reports the peak heap in use during it (sampled every 10 ms, GOGC
// 50 as the CLI sets it) and the heap live after it: the memory of the
// phase before LabelBehaviours and the report. A growth exponent of ≈ 0
// means these stay flat as n grows. 10k takes about a minute; the larger
// sizes are for a run by hand: go test -run '^$' -bench
// 'PipelinePhaseHeap/n=100000' -benchtime 1x ./recovery/
func BenchmarkPipelinePhaseHeap(b *testing.B) {
	for _, n := range []int{1000, 10000, 30000, 100000} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			data := filepath.Join(b.TempDir(), "problems.jsonl")
			f, err := os.Create(data)
			if err != nil {
				b.Fatal(err)
			}
			if err := e2e.WriteJSONL(f, e2e.Synthetic(n)); err != nil {
				b.Fatal(err)
			}
			f.Close()
			defer debug.SetGCPercent(debug.SetGCPercent(50))
			for b.Loop() {
				src, err := dataset.OpenStream(data)
				if err != nil {
					b.Fatal(err)
				}
				dir := b.TempDir()
				cfg := streamConfig(b, dir, src, 1)
				cfg.Samples, cfg.Continuations, cfg.Concurrency = 3, 2, 0
				runtime.GC()
				var peak atomic.Uint64
				stop := make(chan struct{})
				done := make(chan struct{})
				go func() {
					defer close(done)
					var ms runtime.MemStats
					t := time.NewTicker(10 * time.Millisecond)
					defer t.Stop()
					for {
						select {
						case <-stop:
							return
						case <-t.C:
						}
						runtime.ReadMemStats(&ms)
						if ms.HeapInuse > peak.Load() {
							peak.Store(ms.HeapInuse)
						}
					}
				}()
				start := time.Now()
				calls := pipelinePhase(b, cfg)
				close(stop)
				<-done
				wall := time.Since(start)
				runtime.GC()
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MB")
				b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "live-after-MB")
				b.ReportMetric(float64(calls), "calls")
				b.ReportMetric(wall.Seconds(), "wall-s")
			}
		})
	}
}

// pipelinePhase is Run up to its LabelBehaviours: admission and stages.
func pipelinePhase(b *testing.B, cfg Config) int {
	ctx := context.Background()
	if err := cfg.defaults(); err != nil {
		b.Fatal(err)
	}
	st, err := OpenStore(cfg.Dir)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if err := admitProblems(ctx, st, &cfg); err != nil {
		b.Fatal(err)
	}
	meter := &Meter{}
	strong, weak, err := cfg.wrap(ctx, st, meter, nil)
	if err != nil {
		b.Fatal(err)
	}
	if err := cfg.stages(ctx, Exec{Concurrency: cfg.Concurrency, Store: st, Meter: meter}, strong, weak); err != nil {
		b.Fatal(err)
	}
	if err := st.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	return meter.Totals().Calls
}

// BenchmarkAdmitProblems streams a JSONL dataset of n synthetic problems
// into a new run store (admitProblems: compare, store, count,
// fingerprint), then admits it again as a resume does: first reading it
// (the stamp record removed), then skipping it (files unchanged). It
// reports the peak heap in use during the first admission and each
// admission's wall time. By hand for a million problems (≈ 540 MB of
// JSONL): go test -run '^$' -bench 'AdmitProblems/n=1000000' -benchtime 1x ./recovery/
func BenchmarkAdmitProblems(b *testing.B) {
	for _, n := range []int{10000, 100000, 1000000} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			data := filepath.Join(b.TempDir(), "problems.jsonl")
			f, err := os.Create(data)
			if err != nil {
				b.Fatal(err)
			}
			base := e2e.Synthetic(100) // e2e.Synthetic(n), 10,000 at a time
			for lo := 0; lo < n; lo += 10000 {
				ps := make([]dataset.Problem, min(10000, n-lo))
				for i := range ps {
					p := base[(lo+i)%len(base)]
					p.ID = fmt.Sprintf("syn-%d", lo+i)
					p.Question = fmt.Sprintf("(Variant %d) %s", lo+i, strings.TrimPrefix(p.Question, fmt.Sprintf("(Variant %d) ", (lo+i)%len(base))))
					ps[i] = p
				}
				if err := e2e.WriteJSONL(f, ps); err != nil {
					b.Fatal(err)
				}
			}
			f.Close()
			for b.Loop() {
				dir := b.TempDir()
				admit := func() time.Duration {
					src, err := dataset.OpenStream(data)
					if err != nil {
						b.Fatal(err)
					}
					cfg := streamConfig(b, dir, src, 1)
					if err := cfg.defaults(); err != nil {
						b.Fatal(err)
					}
					st, err := OpenStore(dir)
					if err != nil {
						b.Fatal(err)
					}
					defer st.Close()
					start := time.Now()
					if err := admitProblems(context.Background(), st, &cfg); err != nil {
						b.Fatal(err)
					}
					if cfg.admitted.n != n {
						b.Fatalf("admitted %d of %d", cfg.admitted.n, n)
					}
					return time.Since(start)
				}
				runtime.GC()
				var peak atomic.Uint64
				stop, done := make(chan struct{}), make(chan struct{})
				go func() {
					defer close(done)
					var ms runtime.MemStats
					t := time.NewTicker(10 * time.Millisecond)
					defer t.Stop()
					for {
						select {
						case <-stop:
							return
						case <-t.C:
						}
						runtime.ReadMemStats(&ms)
						if ms.HeapInuse > peak.Load() {
							peak.Store(ms.HeapInuse)
						}
					}
				}()
				first := admit()
				close(stop)
				<-done
				st, err := OpenStore(dir)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := st.DB().Exec(`DELETE FROM store_state WHERE key = ?`, sourceStampKey); err != nil {
					b.Fatal(err)
				}
				st.Close()
				reread := admit()
				skipped := admit()
				b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MB")
				b.ReportMetric(first.Seconds(), "first-s")
				b.ReportMetric(reread.Seconds(), "reread-s")
				b.ReportMetric(skipped.Seconds(), "unchanged-s")
			}
		})
	}
}
