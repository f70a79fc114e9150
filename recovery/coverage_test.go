package recovery

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/dataset"
	"github.com/rebound-lab/rebound/difficulty"
	"github.com/rebound-lab/rebound/perturb"
	"github.com/rebound-lab/rebound/providers/sim"
	"github.com/rebound-lab/rebound/verify"
)

// replicate runs one small in-process experiment on the simulator (strong
// calibration, binning, injected-error prefixes, continuation) and returns
// its summary and, per bucket, the true recovery rate: the mean of the
// simulator's ContinueProb over the bucket's verified continuations.
func replicate(t testing.TB, seed int64, n, samples, k int) (Summary, map[string]float64) {
	ctx := context.Background()
	all := dataset.GSM8KTest()
	r := rand.New(rand.NewPCG(uint64(seed), 99))
	problems := make([]dataset.Problem, n)
	for i, j := range r.Perm(len(all))[:n] {
		problems[i] = all[j]
	}
	cfg := sim.Strong()
	cfg.Seed = seed
	strong := sim.New(cfg, problems...)
	v := verify.NewMath()
	exec := Exec{Concurrency: 4}

	cals, err := (&StraightShot{Exec: exec, Stage: StageStrong, Model: "sim:strong", Completer: strong,
		Verifier: v, Samples: samples}).Run(ctx, problems)
	require.NoError(t, err)
	binned, err := Bin(ctx, nil, difficulty.DefaultBinner(), cals)
	require.NoError(t, err)
	pre, err := (&PerturbStage{Exec: exec, Strategy: StrategyInject,
		Perturber: &perturb.InjectError{Seed: seed}}).Run(ctx, problems)
	require.NoError(t, err)
	conts, err := (&Continue{Exec: exec, Model: "sim:strong", Completer: strong, Verifier: v, K: k}).Run(ctx, pre)
	require.NoError(t, err)

	var rows []Problem
	bucketOf := map[string]string{}
	for _, b := range binned {
		rows = append(rows, Problem{ID: b.Problem.ID, StrongK: b.K, StrongN: b.N, Bucket: b.Bucket})
		bucketOf[b.Problem.ID] = b.Bucket
	}
	var prefixes []Prefix
	for _, p := range pre {
		prefixes = append(prefixes, prefixRow(p))
	}
	var samplesRows []Sample
	sum, cnt := map[string]float64{}, map[string]int{}
	for _, c := range conts {
		q := strong.ContinueProb(c.Problem.ID, c.Prefix.Text)
		for _, s := range c.Samples {
			samplesRows = append(samplesRows, s)
			if s.Error == "" {
				sum[bucketOf[c.Problem.ID]] += q
				cnt[bucketOf[c.Problem.ID]]++
			}
		}
	}
	truth := map[string]float64{}
	for b, s := range sum {
		truth[b] = s / float64(cnt[b])
	}
	return Aggregate(rows, prefixes, samplesRows, difficulty.DefaultBinner().Buckets()), truth
}

// TestRecoveryIntervalsCoverTheSimulatorsTruth scores against the
// REALISED problems' truth, which even an unclustered interval passes; the
// population-truth tests in population_test.go are the ones with power.
// Kept as an end-to-end check through the stages.
func TestRecoveryIntervalsCoverTheSimulatorsTruth(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("120 full-pipeline replications; superseded by population_test.go (skipped under -short and -race)")
	}
	const reps = 120
	covered, total := 0, 0
	overallCovered := 0
	bias, seen := map[string]float64{}, map[string]int{}
	for rep := range reps {
		s, truth := replicate(t, int64(rep+1), 24, 3, 3)
		for _, b := range s.Buckets {
			if b.Continuations == 0 {
				continue
			}
			bias[b.Name] += float64(b.RecoveryRate) - truth[b.Name]
			seen[b.Name]++
			total++
			if float64(b.RecoveryCI[0]) <= truth[b.Name] && truth[b.Name] <= float64(b.RecoveryCI[1]) {
				covered++
			}
		}
		var num, den float64
		for _, b := range s.Buckets {
			num += truth[b.Name] * float64(b.Continuations)
			den += float64(b.Continuations)
		}
		if o := num / den; float64(s.Overall.RecoveryCI[0]) <= o && o <= float64(s.Overall.RecoveryCI[1]) {
			overallCovered++
		}
	}
	rate := float64(covered) / float64(total)
	t.Logf("95%% intervals covered the true per-bucket recovery rate in %d of %d bucket-replications (%.1f%%); overall rate in %d of %d",
		covered, total, 100*rate, overallCovered, reps)
	assert.GreaterOrEqual(t, rate, 0.93)
	assert.GreaterOrEqual(t, float64(overallCovered)/reps, 0.93)
	for b, sum := range bias {
		mean := sum / float64(seen[b])
		t.Logf("%s: mean estimate − truth %+.4f over %d replications", b, mean, seen[b])
		assert.InDelta(t, 0, mean, 0.03, "the estimator is unbiased for bucket %s", b)
	}
}

func TestEstimatesMatchTheSimulatorsTruthWithinTheirIntervals(t *testing.T) {
	// Three larger runs. Each 95 % interval may miss by chance (measured
	// miss rate at this size: 4 of 120 bucket-runs), so up to two of the
	// nine may; three or more misses has probability < 0.5 %.
	missed, total := 0, 0
	for _, seed := range []int64{2026, 2027, 2028} {
		s, truth := replicate(t, seed, 80, 5, 4)
		for _, b := range s.Buckets {
			if b.Continuations == 0 {
				continue
			}
			total++
			in := float64(b.RecoveryCI[0]) <= truth[b.Name] && truth[b.Name] <= float64(b.RecoveryCI[1])
			if !in {
				missed++
			}
			t.Logf("seed %d %s: recovery %.3f [%.3f, %.3f], truth %.3f, covered %v", seed, b.Name,
				float64(b.RecoveryRate), float64(b.RecoveryCI[0]), float64(b.RecoveryCI[1]), truth[b.Name], in)
		}
	}
	assert.GreaterOrEqual(t, total, 8)
	assert.LessOrEqual(t, missed, 2)
}
