package e2e_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/internal/e2e"
)

// memoryBound is the goal: the harness's peak RSS on the simulator.
const memoryBound = 300 << 20

// simRun runs the whole experiment on the simulator over n synthetic
// problems with 5 samples (and 5 continuations) each, and returns the
// child's peak RSS.
func simRun(tb testing.TB, n int) result {
	tb.Helper()
	data := filepath.Join(tb.TempDir(), "problems.jsonl")
	f, err := os.Create(data)
	require.NoError(tb, err)
	require.NoError(tb, e2e.WriteJSONL(f, e2e.Synthetic(n)))
	require.NoError(tb, f.Close())
	dir := filepath.Join(tb.TempDir(), "run")
	r := run(tb, context.Background(), nil, "-quiet", "-dataset", data, "-limit", "0", "-samples", "5",
		"-continuations", "5", "-out", dir)
	require.Equal(tb, 0, r.exit, r.stderr)
	require.Contains(tb, r.stdout, fmt.Sprintf("| overall | %d |", n))
	return r
}

// TestPeakRSSOnTheSimulatorStaysUnder300MB runs 2,000 problems × 5 samples
// (the whole experiment, about 35,000 calls) and asserts the child's peak
// RSS is under 300 MB. The bound is a memory goal, not a timing, so it is
// asserted; the 10,000-problem figure comes from BenchmarkPeakRSS10k,
// which takes minutes.
func TestPeakRSSOnTheSimulatorStaysUnder300MB(t *testing.T) {
	if testing.Short() {
		t.Skip("a 35,000-call run")
	}
	r := simRun(t, 2000)
	t.Logf("2,000 problems × 5 samples: peak RSS %.1f MB in %s", float64(r.maxRSS)/(1<<20), r.elapsed)
	assert.Positive(t, r.maxRSS)
	assert.Less(t, r.maxRSS, int64(memoryBound))
}

// BenchmarkPeakRSS10k runs 10,000 problems × 5 samples on the simulator
// (about 175,000 calls, several minutes: run with -benchtime=1x) and
// reports the child's peak RSS.
func BenchmarkPeakRSS10k(b *testing.B) {
	var peak int64
	for range b.N {
		peak = max(peak, simRun(b, 10000).maxRSS)
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-RSS-MB")
	if peak >= memoryBound {
		b.Errorf("peak RSS %.1f MB ≥ 300 MB", float64(peak)/(1<<20))
	}
}

// BenchmarkPeakRSSStreamed runs the scale command on the simulator
// — a JSONL dataset of n synthetic problems, streamed (-dataset FILE
// -limit 0 -samples 3 -continuations 2) — and then the same command again
// (a resume with nothing to do), and reports both peak RSS figures and
// the resume's wall time. One size at a time, by hand (-benchtime 1x):
// 10k takes minutes, 100k about 7 CPU-minutes, e.g.
// go test -run '^$' -bench 'PeakRSSStreamed/n=100000' -benchtime 1x ./internal/e2e/
func BenchmarkPeakRSSStreamed(b *testing.B) {
	for _, n := range []int{1000, 10000, 30000, 100000, 300000, 1000000} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			data := filepath.Join(b.TempDir(), "problems.jsonl")
			f, err := os.Create(data)
			require.NoError(b, err)
			require.NoError(b, e2e.WriteJSONL(f, e2e.Synthetic(n)))
			require.NoError(b, f.Close())
			for b.Loop() {
				dir := filepath.Join(b.TempDir(), "run")
				args := []string{"-quiet", "-dataset", data, "-limit", "0", "-samples", "3", "-continuations", "2", "-out", dir}
				r := run(b, context.Background(), nil, args...)
				require.Equal(b, 0, r.exit, r.stderr)
				require.Contains(b, r.stdout, fmt.Sprintf("| overall | %d |", n))
				again := run(b, context.Background(), nil, args...)
				require.Equal(b, 0, again.exit, again.stderr)
				require.Contains(b, again.stdout, "this invocation: 0 new calls")
				b.ReportMetric(float64(r.maxRSS)/(1<<20), "peak-RSS-MB")
				b.ReportMetric(r.elapsed.Seconds(), "run-s")
				b.ReportMetric(float64(again.maxRSS)/(1<<20), "resume-RSS-MB")
				b.ReportMetric(again.elapsed.Seconds(), "resume-s")
			}
		})
	}
}
