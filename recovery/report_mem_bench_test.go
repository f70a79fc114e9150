package recovery

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/rebound-lab/rebound/difficulty"
	"github.com/rebound-lab/rebound/providers/sim"
)

// peakHeap runs fn and returns, in MB above what was in use before it
// (after a collection), the largest heap in use while it ran (garbage
// included, sampled every 5 ms) and the largest live heap a collection
// found, and the seconds it took.
func peakHeap(fn func()) (float64, float64, float64) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	peak := base
	live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(live)
	liveBase := live[0].Value.Uint64()
	livePeak := liveBase
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			peak = max(peak, m.HeapInuse)
			metrics.Read(live)
			livePeak = max(livePeak, live[0].Value.Uint64())
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	start := time.Now()
	fn()
	runtime.GC() // the live heap at the end of the pass, results included
	close(done)
	wg.Wait()
	metrics.Read(live)
	livePeak = max(livePeak, live[0].Value.Uint64())
	return float64(peak-base) / (1 << 20), float64(livePeak-liveBase) / (1 << 20), time.Since(start).Seconds()
}

// BenchmarkReportPhaseMemory runs the report side of Run pass by pass —
// LabelBehaviours (relabelling every continuation), SummarizeBinned,
// WriteReport (summary, report.md, samples.jsonl, plots) and WriteTidy —
// over a finished run and reports each pass's peak heap above the
// baseline (MB: heap in use, garbage included; liveMB: the largest live
// heap a collection found), its time and the process's CPU time in it
// (every goroutine, the sampler's and the collector's included). The run is a copy of
// $REBOUND_REPORT_RUN (a run directory, e.g. from examples/recovery) or,
// without it, a fresh 2,000-problem simulated run.
func BenchmarkReportPhaseMemory(b *testing.B) {
	ctx := context.Background()
	src := os.Getenv("REBOUND_REPORT_RUN")
	if src == "" {
		src = b.TempDir()
		problems := syntheticProblems(2000)
		cfg := Config{Dir: src, Problems: problems,
			Strong: sim.New(sim.Strong(), problems...), StrongModel: "sim:strong",
			Weak: sim.New(sim.Weak(), problems...), WeakModel: "sim:weak",
			Samples: 3, Continuations: 2, Concurrency: 8}
		if _, err := Run(ctx, cfg); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		dir := b.TempDir()
		for _, f := range []string{StoreFile, StoreFile + "-wal"} {
			if _, err := os.Stat(filepath.Join(src, f)); err == nil {
				if out, err := exec.Command("cp", filepath.Join(src, f), dir).CombinedOutput(); err != nil {
					b.Fatal(err, string(out))
				}
			}
		}
		st, err := OpenStore(dir)
		if err != nil {
			b.Fatal(err)
		}
		var sum Summary
		var passErr error
		check := func(err error) {
			if err != nil && passErr == nil {
				passErr = err
			}
		}
		for _, p := range []struct {
			name string
			fn   func()
		}{
			{"label", func() { _, err := LabelBehaviours(ctx, st, true); check(err) }},
			{"summarize", func() { sum, err = SummarizeBinned(ctx, st, difficulty.DefaultBinner()); check(err) }},
			{"report", func() { check(WriteReport(ctx, dir, sum, st, "bench")) }},
			{"tidy", func() { check(WriteTidy(ctx, dir, []TidySource{{Store: st, Model: "sim:strong"}})) }},
		} {
			c0 := cpuTime(b)
			mb, liveMB, secs := peakHeap(p.fn)
			b.ReportMetric(cpuTime(b)-c0, p.name+"-cpu-s")
			if passErr != nil {
				b.Fatal(p.name, passErr)
			}
			b.ReportMetric(mb, p.name+"-MB")
			b.ReportMetric(liveMB, p.name+"-liveMB")
			b.ReportMetric(secs, p.name+"-s")
		}
		st.Close()
	}
}
