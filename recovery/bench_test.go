package recovery

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkRunOnTheSimulator measures the whole harness (store, cache,
// stages, report, plots) on 50 problems per op; calls/s is completions per
// second including cache hits.
func BenchmarkRunOnTheSimulator(b *testing.B) {
	b.ReportAllocs()
	var calls int
	for i := 0; b.Loop(); i++ {
		cfg := simConfig(b, b.TempDir(), 50, int64(i))
		sum, err := Run(context.Background(), cfg)
		if err != nil {
			b.Fatal(err)
		}
		calls += sum.Cost.Calls
	}
	b.ReportMetric(float64(calls)/b.Elapsed().Seconds(), "calls/s")
}

// BenchmarkAggregate10k aggregates a 10,000-problem run (5 samples, 5
// continuations each) from rows.
func BenchmarkAggregate10k(b *testing.B) {
	const n = 10000
	var problems []Problem
	var prefixes []Prefix
	var samples []Sample
	buckets := []string{"hard", "medium", "easy"}
	for i := range n {
		id := fmt.Sprintf("p%d", i)
		problems = append(problems, Problem{ID: id, Bucket: buckets[i%3], StrongK: i % 6, StrongN: 5, WeakK: i % 4, WeakN: 5})
		prefixes = append(prefixes, Prefix{ProblemID: id, Strategy: "weak", Text: "x", Depth: float64(i%10) / 10})
		for j := range 5 {
			samples = append(samples,
				Sample{Stage: StageStrong, ProblemID: id, Sample: j, Correct: j < i%6},
				Sample{Stage: StageContinue, ProblemID: id, Prefix: "weak", Sample: j, Correct: (i+j)%3 == 0})
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		s := Aggregate(problems, prefixes, samples, buckets)
		if s.Overall.Continuations != n*5 {
			b.Fatal(s.Overall.Continuations)
		}
	}
}
