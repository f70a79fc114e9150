package recovery

import (
	"context"
	"fmt"
	"math"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/rebound-lab/rebound/dataset"
	"github.com/rebound-lab/rebound/providers/sim"
)

// cpuTime is this process's user+system CPU time so far.
func cpuTime(tb testing.TB) float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// syntheticProblems is n distinct GSM8K-style problems (GSM8K questions
// with a variant number), as internal/e2e.Synthetic makes them.
func syntheticProblems(n int) []dataset.Problem {
	base := dataset.GSM8KTest()
	out := make([]dataset.Problem, n)
	for i := range out {
		p := base[i%len(base)]
		p.ID = fmt.Sprintf("syn-%d", i)
		p.Question = fmt.Sprintf("(Variant %d) %s", i, p.Question)
		p.Meta = nil
		out[i] = p
	}
	return out
}

// BenchmarkRunCPUPerCall runs a whole simulated run (2,000 problems,
// -samples 3 -continuations 2, the default strategies) per op in a fresh
// run directory and reports the process's CPU time (user + system, every
// goroutine: stages, cache, store writer, report, GC and the simulator
// itself) per completion the run made, cache hits included: the harness's
// overhead per simulated call.
func BenchmarkRunCPUPerCall(b *testing.B) {
	const n = 2000
	problems := syntheticProblems(n)
	var calls int
	var cpu, stages float64
	for i := 0; b.Loop(); i++ {
		sc, wc := sim.Strong(), sim.Weak()
		var last atomic.Uint64 // CPU time at the last stage event, as float64 bits
		cfg := Config{Dir: b.TempDir(), Problems: problems,
			Strong: sim.New(sc, problems...), StrongModel: "sim:strong",
			Weak: sim.New(wc, problems...), WeakModel: "sim:weak",
			Samples: 3, Continuations: 2, Concurrency: 8,
			Progress: func(Event) { last.Store(math.Float64bits(cpuTime(b))) }}
		c0 := cpuTime(b)
		sum, err := Run(context.Background(), cfg)
		if err != nil {
			b.Fatal(err)
		}
		cpu += cpuTime(b) - c0
		stages += math.Float64frombits(last.Load()) - c0
		calls += sum.Cost.Calls
	}
	b.ReportMetric(cpu*1e6/float64(calls), "cpu-µs/call")
	// The split: until the stages' last event (the calls, the cache, the
	// store's writes, GC meanwhile), and after it (the last flush, the
	// behaviour labels, the summary, report.md, plots, samples.jsonl and
	// the tidy export, each a pass over the rows).
	b.ReportMetric(stages*1e6/float64(calls), "stages-cpu-µs/call")
	b.ReportMetric((cpu-stages)*1e6/float64(calls), "after-cpu-µs/call")
	b.ReportMetric(float64(calls)/float64(b.N), "calls/op")
}
