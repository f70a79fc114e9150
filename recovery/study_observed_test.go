package recovery

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/difficulty"
)

// observedTruth is the population truth of each observed bucket's pass rate
// for latentFixture (true pass rates uniform on [0, 1], n samples): k is
// then uniform on 0..n and E[p | k] = (k+1)/(n+2), so a bucket's truth is
// the mean of (k+1)/(n+2) over the k it is assigned.
func observedTruth(n int) map[string]float64 {
	binner := difficulty.DefaultBinner()
	sum, cnt := map[string]float64{}, map[string]float64{}
	for k := 0; k <= n; k++ {
		b, _ := binner.Assign(k, n)
		sum[b] += float64(k+1) / float64(n+2)
		cnt[b]++
		sum["overall"] += float64(k+1) / float64(n+2)
		cnt["overall"]++
	}
	out := map[string]float64{}
	for b := range sum {
		out[b] = sum[b] / cnt[b]
	}
	return out
}

func TestAStudysObservedPassRatesHaveNoWinnersCurse(t *testing.T) {
	binner := difficulty.DefaultBinner()
	truth := observedTruth(6)
	reps := 40
	if testing.Short() || raceEnabled {
		reps = 3 // the check that hard is not read as 0 still runs
	}
	errSum, covered, total := map[string]float64{}, 0, 0
	for r := range reps {
		mc := latentFixture(uint64(2000+r), 200, 6, 4)
		cmp := Compare([]ModelCounts{mc}, CompareOptions{Buckets: binner.Buckets(), Edges: binner.Edges(), BootstrapReps: 100})
		for b, want := range truth {
			row, ok := cmp.Models[0].Row(StrategyWeak, b)
			require.True(t, ok, b)
			errSum[b] += float64(row.PassRate) - want
			total++
			if float64(row.PassRateCI[0]) <= want && want <= float64(row.PassRateCI[1]) {
				covered++
			}
			if b == "hard" {
				assert.Greater(t, float64(row.PassRate), 0.02, "hard is not read as 0 (the pooled k/n of the samples that chose it)")
			}
		}
	}
	for b := range truth {
		t.Logf("%s: truth %.3f, mean error %+.4f over %d replications", b, truth[b], errSum[b]/float64(reps), reps)
	}
	t.Logf("pass-rate intervals covered the population truth in %d of %d", covered, total)
	if reps < 40 {
		return
	}
	for b := range truth {
		assert.Less(t, math.Abs(errSum[b]/float64(reps)), 0.03, "%s: mean error", b)
	}
	assert.GreaterOrEqual(t, float64(covered)/float64(total), 0.93, "coverage of the observed pass-rate intervals")
}
