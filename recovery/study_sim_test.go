package recovery

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/dataset"
	"github.com/rebound-lab/rebound/perturb"
	"github.com/rebound-lab/rebound/providers/sim"
	"github.com/rebound-lab/rebound/verify"
)

var studyTrio = []string{"sim:A", "sim:B", "sim:C"}

// weakPrefixes builds the weak-model prefixes of problems in memory (no
// store), as a study's shared stage does.
func weakPrefixes(t testing.TB, problems []dataset.Problem, seed int64) []PrefixResult {
	wc := sim.Weak()
	wc.Seed = seed
	ps := &PerturbStage{Exec: Exec{Concurrency: 4}, Strategy: StrategyWeak,
		Perturber: &perturb.WeakModel{Completer: sim.New(wc, problems...), Model: "weak", Verifier: verify.NewMath(), Seed: seed}}
	res, err := ps.Run(context.Background(), problems)
	require.NoError(t, err)
	return res
}

// studyTruth is the population truth of each model's recovery on weak
// prefixes: the mean exact continuation-success probability
// (sim.Solver.ContinueProb) over the prefixes of every embedded GSM8K
// problem under several difficulty draws (seeds) not used by the
// replications. With K continuations per prefix the pooled estimator is
// the mean over problems, so this is its estimand.
func studyTruth(t testing.TB, seeds []int64) map[string]float64 {
	all := dataset.GSM8KTest()
	sum, n := map[string]float64{}, 0
	for _, seed := range seeds {
		solvers := map[string]*sim.Solver{}
		for _, spec := range studyTrio {
			solvers[spec] = sim.New(studySims(seed)[spec], all...)
		}
		for _, r := range weakPrefixes(t, all, seed) {
			if !r.OK() {
				continue
			}
			n++
			for spec, s := range solvers {
				sum[spec] += s.ContinueProb(r.Problem.ID, r.Prefix.Text)
			}
		}
	}
	for k := range sum {
		sum[k] /= float64(n)
	}
	return sum
}

// studyReplicate runs one simulated study in memory: weak prefixes of problems,
// K continuations by each model, and returns the counts Compare takes.
func studyReplicate(t testing.TB, problems []dataset.Problem, seed int64, k int) []ModelCounts {
	prefixes := weakPrefixes(t, problems, seed)
	var out []ModelCounts
	for _, spec := range studyTrio {
		cs := &Continue{Exec: Exec{Concurrency: 4}, Model: spec, Completer: sim.New(studySims(seed)[spec], problems...),
			Verifier: verify.NewMath(), K: k}
		res, err := cs.Run(context.Background(), prefixes)
		require.NoError(t, err)
		mc := ModelCounts{Model: spec, Problems: map[string]ProblemCounts{}}
		for _, c := range res {
			cc := ContinuationCounts{Prefix: PrefixID(c.Prefix.Text)}
			for _, s := range c.Samples {
				if s.Error == "" {
					cc.Continuations++
					if s.Correct {
						cc.Recovered++
					}
				}
			}
			mc.Problems[c.Problem.ID] = ProblemCounts{Bucket: "all", Continued: map[string]ContinuationCounts{StrategyWeak: cc}}
			mc.Order = append(mc.Order, c.Problem.ID)
		}
		out = append(out, mc)
	}
	return out
}

// TestPairedDifferencesCoverThePopulationTruthAndAreNarrowerThanIndependentRuns
// is the study's acceptance test on the simulator: three strong models of
// known, different recovery continue the same weak prefixes in 40 seeded
// replications (a fresh draw of problems and difficulties each); the study
// must rank them correctly, its 95 % paired intervals must cover the
// population truth of each difference in ≥ 93 % of cases, and they must be
// narrower than the intervals of two independent runs.
func TestPairedDifferencesCoverThePopulationTruthAndAreNarrowerThanIndependentRuns(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("40 simulated studies; run without -short and without -race (.ci/run has a step for it)")
	}
	const reps, nProblems, k = 40, 80, 4
	truth := studyTruth(t, []int64{9001, 9002})
	t.Logf("population recovery on weak prefixes: A %.4f, B %.4f, C %.4f", truth["sim:A"], truth["sim:B"], truth["sim:C"])
	require.Greater(t, truth["sim:A"], truth["sim:B"])
	require.Greater(t, truth["sim:B"], truth["sim:C"])

	all := dataset.GSM8KTest()
	var covered, total, ranked int
	var ratios []float64
	// diffs[pair] holds the paired estimate per replication; indep[pair]
	// the difference of A's estimate in one replication and B's in the
	// next (two independent runs).
	diffs, indep := map[string][]float64{}, map[string][]float64{}
	var prevRates map[string]float64
	for r := range reps {
		seed := int64(100 + r)
		rng := rand.New(rand.NewPCG(uint64(seed), 7))
		perm := rng.Perm(len(all))[:nProblems]
		problems := make([]dataset.Problem, nProblems)
		for i, j := range perm {
			problems[i] = all[j]
		}
		cmp := Compare(studyReplicate(t, problems, seed, k), CompareOptions{Shared: []string{StrategyWeak}})
		rates := map[string]float64{}
		for _, m := range cmp.Models {
			row, ok := m.Row(StrategyWeak, "overall")
			require.True(t, ok)
			rates[m.Model] = float64(row.Recovery)
		}
		if rates["sim:A"] > rates["sim:B"] && rates["sim:B"] > rates["sim:C"] {
			ranked++
		}
		for _, d := range cmp.Paired {
			if d.Bucket != "overall" {
				continue
			}
			want := truth[d.A] - truth[d.B]
			total++
			if float64(d.DiffCI[0]) <= want && want <= float64(d.DiffCI[1]) {
				covered++
			}
			ratios = append(ratios, float64(d.WidthRatio))
			key := d.A + "−" + d.B
			diffs[key] = append(diffs[key], float64(d.Diff))
			if prevRates != nil {
				indep[key] = append(indep[key], prevRates[d.A]-rates[d.B])
			}
		}
		prevRates = rates
	}
	cov := float64(covered) / float64(total)
	t.Logf("paired 95%% intervals covered the truth in %d of %d (%.1f %%); ranking A > B > C correct in %d of %d replications",
		covered, total, 100*cov, ranked, reps)
	assert.GreaterOrEqual(t, cov, 0.93)
	assert.GreaterOrEqual(t, ranked, reps-2, "the ranking is right in nearly every replication")
	slices.Sort(ratios)
	t.Logf("paired ÷ independent interval width: median %.3f (min %.3f, max %.3f)", ratios[len(ratios)/2], ratios[0], ratios[len(ratios)-1])
	assert.Less(t, ratios[len(ratios)/2], 0.95, "paired intervals are measurably narrower")
	for key := range diffs {
		sp, si := sd(diffs[key]), sd(indep[key])
		t.Logf("%s: SD of the paired estimate over replications %.4f, of two independent runs' difference %.4f (ratio %.3f)", key, sp, si, sp/si)
		assert.Less(t, sp, si, key)
	}
}

func sd(xs []float64) float64 {
	var m, s float64
	for _, x := range xs {
		m += x
	}
	m /= float64(len(xs))
	for _, x := range xs {
		s += (x - m) * (x - m)
	}
	return math.Sqrt(s / float64(len(xs)-1))
}
