package recovery

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/difficulty"
)

// latentFixture draws a model whose true pass rates are uniform on [0, 1]
// and whose recovery depends on the latent bucket only: 0.2 below 0.2,
// 0.5 up to 0.8, 0.8 above. So per latent bucket the truth is known
// exactly: pass 0.1 / 0.5 / 0.9, recovery 0.2 / 0.5 / 0.8. A second
// strategy ("inject") recovers 0.6 in every bucket.
func latentFixture(seed uint64, problems, n, k int) ModelCounts {
	rng := rand.New(rand.NewPCG(seed, 3))
	binner := difficulty.DefaultBinner()
	mc := ModelCounts{Model: "sim:latent", Problems: map[string]ProblemCounts{}}
	for i := range problems {
		p := rng.Float64()
		r := 0.5
		switch {
		case p < 0.2:
			r = 0.2
		case p >= 0.8:
			r = 0.8
		}
		kk, y, yi := 0, 0, 0
		for range n {
			if rng.Float64() < p {
				kk++
			}
		}
		for range k {
			if rng.Float64() < r {
				y++
			}
			if rng.Float64() < 0.6 {
				yi++
			}
		}
		id := fmt.Sprintf("p%03d", i)
		b, _ := binner.Assign(kk, n)
		mc.Problems[id] = ProblemCounts{K: kk, N: n, Bucket: b,
			Continued: map[string]ContinuationCounts{StrategyWeak: {Recovered: y, Continuations: k, Prefix: id},
				StrategyInject: {Recovered: yi, Continuations: k, Prefix: id + "i"}}}
		mc.Order = append(mc.Order, id)
	}
	return mc
}

func TestCompareLatentRowsRecoverTheTrueBucketsWhereObservedBucketsAreBiased(t *testing.T) {
	mc := latentFixture(11, 300, 6, 4)
	binner := difficulty.DefaultBinner()
	cmp := Compare([]ModelCounts{mc}, CompareOptions{Buckets: binner.Buckets(), Edges: binner.Edges(), BootstrapReps: 100})
	require.Len(t, cmp.Models, 1)
	m := cmp.Models[0]
	require.NotNil(t, m.Prior)
	rows := m.LatentRows(StrategyWeak)
	require.Len(t, rows, 3)
	truePass := []float64{0.1, 0.5, 0.9}
	trueRec := []float64{0.2, 0.5, 0.8}
	var expected float64
	for b, r := range rows {
		t.Logf("%s: problems %.1f, pass %s %v, recovery %s %v, normalized %s %v", r.Bucket, r.Problems, r.PassRate, r.PassRateCI,
			r.Recovery, r.RecoveryCI, r.Normalized, r.NormalizedCI)
		expected += r.Problems
		assert.InDelta(t, float64(r.Normalized), float64(r.Recovery)/float64(r.PassRate), 1e-9, r.Bucket)
		for _, c := range []struct {
			name  string
			ci    [2]Rate
			truth float64
		}{{"pass", r.PassRateCI, truePass[b]}, {"recovery", r.RecoveryCI, trueRec[b]}, {"normalized", r.NormalizedCI, trueRec[b] / truePass[b]}} {
			assert.True(t, float64(c.ci[0]) <= c.truth && c.truth <= float64(c.ci[1]),
				"%s %s: interval %v misses the truth %.3f", r.Bucket, c.name, c.ci, c.truth)
		}
	}
	assert.InDelta(t, 300, expected, 1e-6, "every calibrated problem is in some latent bucket")
	inj := m.LatentRows(StrategyInject)
	require.Len(t, inj, 3)
	for _, r := range inj {
		assert.True(t, float64(r.RecoveryCI[0]) <= 0.6 && 0.6 <= float64(r.RecoveryCI[1]),
			"inject %s: interval %v misses the truth 0.6 (each strategy is fitted on its own continuations)", r.Bucket, r.RecoveryCI)
	}
	assert.Contains(t, rows[0].Bucket, "true 0–0.2")

	// The observed extreme buckets mix in problems of the middle one (6
	// samples say little), so their recovery is pulled toward 0.5; the
	// latent rows are not.
	for b, name := range []string{"hard", "easy"} {
		obs, ok := m.Row(StrategyWeak, name)
		require.True(t, ok, name)
		lat := rows[2*b]
		t.Logf("%s: observed recovery %s, latent %s, truth %.1f", name, obs.Recovery, lat.Recovery, trueRec[2*b])
		assert.Less(t, math.Abs(float64(lat.Recovery)-trueRec[2*b]), math.Abs(float64(obs.Recovery)-trueRec[2*b]), name)
	}

	// Without edges Compare has no latent rows.
	plain := Compare([]ModelCounts{mc}, CompareOptions{Buckets: binner.Buckets()})
	assert.Empty(t, plain.Models[0].Latent)
	assert.Nil(t, plain.Models[0].Prior)
}

// TestCompareLatentIntervalsCoverTheKnownTruthOverReplications measures the
// latent rows' coverage on the latentFixture model (truth known exactly)
// over seeded replications; it reports and asserts a floor, skipped under
// -short and -race (.ci/run runs it without -race).
func TestCompareLatentIntervalsCoverTheKnownTruthOverReplications(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("seeded replications; run without -short and -race")
	}
	const reps = 40
	binner := difficulty.DefaultBinner()
	truePass := []float64{0.1, 0.5, 0.9}
	trueRec := map[string][]float64{StrategyWeak: {0.2, 0.5, 0.8}, StrategyInject: {0.6, 0.6, 0.6}}
	covered, total := map[string]int{}, map[string]int{}
	for r := range reps {
		mc := latentFixture(uint64(1000+r), 200, 6, 4)
		cmp := Compare([]ModelCounts{mc}, CompareOptions{Buckets: binner.Buckets(), Edges: binner.Edges(), BootstrapReps: 100})
		for st, rec := range trueRec {
			for b, row := range cmp.Models[0].LatentRows(st) {
				for _, c := range []struct {
					what  string
					ci    [2]Rate
					truth float64
				}{{"pass", row.PassRateCI, truePass[b]}, {"recovery", row.RecoveryCI, rec[b]}, {"normalized", row.NormalizedCI, rec[b] / truePass[b]}} {
					total[c.what]++
					if float64(c.ci[0]) <= c.truth && c.truth <= float64(c.ci[1]) {
						covered[c.what]++
					}
				}
			}
		}
	}
	for _, what := range []string{"pass", "recovery", "normalized"} {
		cov := float64(covered[what]) / float64(total[what])
		t.Logf("latent %s: 95%% intervals covered the truth in %d of %d (%.1f %%)", what, covered[what], total[what], 100*cov)
		assert.GreaterOrEqual(t, cov, 0.90, what)
	}
}
