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
