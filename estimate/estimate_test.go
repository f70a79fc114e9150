package estimate

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/stat/distuv"

	"github.com/rebound-lab/rebound/difficulty"
)

// bimodal draws from the simulator's strong preset: 55 % Beta(8, 1.5),
// 25 % Beta(1.5, 8), 20 % uniform.
func bimodal(r *rand.Rand) float64 {
	u := r.Float64()
	a, b := 1.0, 1.0
	switch {
	case u < 0.55:
		a, b = 8, 1.5
	case u < 0.80:
		a, b = 1.5, 8
	}
	return distuv.Beta{Alpha: a, Beta: b, Src: r}.Rand()
}

func binom(r *rand.Rand, n int, p float64) int {
	k := 0
	for range n {
		if r.Float64() < p {
			k++
		}
	}
	return k
}

func TestFitPriorPicksAMixtureForALargeBimodalPopulation(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var counts []difficulty.Count
	var ps []float64
	for range 3000 {
		p := bimodal(r)
		ps = append(ps, p)
		counts = append(counts, difficulty.Count{K: binom(r, 10, p), N: 10})
	}
	fit, err := FitPrior(counts)
	require.NoError(t, err)
	t.Logf("%s %s loglik %.1f", fit.Kind, fit.Mixture, fit.LogLik)
	assert.Equal(t, "beta-mixture", fit.Kind)
	var mean float64
	for _, p := range ps {
		mean += p / float64(len(ps))
	}
	assert.InDelta(t, mean, fit.Mixture.Mean(), 0.02)
	// Posterior means are unbiased for the mean true rate given k.
	sum, n := map[int]float64{}, map[int]float64{}
	for i, c := range counts {
		sum[c.K] += ps[i]
		n[c.K]++
	}
	for k := range 11 {
		if n[k] < 100 {
			continue
		}
		assert.InDelta(t, sum[k]/n[k], fit.Mixture.Posterior(k, 10).Mean(), 0.03, "k = %d", k)
	}
	_, err = FitPrior([]difficulty.Count{{K: 0, N: 0}})
	assert.ErrorIs(t, err, ErrNoData)
}

func TestClusterRateCR2DegreesOfFreedomFallWithUnequalClusters(t *testing.T) {
	eq := ClusterRate([]int{1, 2, 3, 4}, []int{5, 5, 5, 5}, 0.95)
	assert.InDelta(t, 3, eq.DF, 1e-9, "equal sizes: G − 1")
	uneq := ClusterRate([]int{1, 2, 3, 20}, []int{5, 5, 5, 40}, 0.95)
	assert.Less(t, uneq.DF, 3.0, "one dominant cluster leaves fewer effective degrees of freedom")
	none := ClusterRate(nil, nil, 0.95)
	assert.True(t, math.IsNaN(none.Rate))
}

func TestLatentRecoversAStepFromLargeData(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	var units []Unit
	var counts []difficulty.Count
	for range 2000 {
		p := bimodal(r)
		rec := 0.2
		if p >= 0.2 && p <= 0.8 {
			rec = 0.7
		}
		u := Unit{K: binom(r, 5, p), N: 5, Y: binom(r, 5, rec), M: 5}
		units = append(units, u)
		counts = append(counts, difficulty.Count{K: u.K, N: u.N})
	}
	fit, err := FitPrior(counts)
	require.NoError(t, err)
	lb := Latent(units, fit.Mixture, []float64{0.2, 0.8})
	assert.InDelta(t, 0.2, lb[0].Recovery, 0.05)
	assert.InDelta(t, 0.7, lb[1].Recovery, 0.06)
	assert.InDelta(t, 0.2, lb[2].Recovery, 0.05)
}

func TestRatioAndDifference(t *testing.T) {
	y, m := []int{2, 3, 1, 4}, []int{5, 5, 5, 5}
	s := []float64{0.5, 0.5, 0.5, 0.5}
	nr := Ratio(y, m, s, 0.95, 0)
	assert.InDelta(t, 0.5/0.5, nr.Value, 1e-12)
	assert.True(t, nr.CI.Contains(nr.Value))
	d := Difference(y, m, s, 0.95, 0)
	assert.InDelta(t, 0.0, d.Value, 1e-12)
	assert.True(t, d.CI.Lo < 0 && d.CI.Hi > 0)
	assert.True(t, math.IsNaN(Ratio(nil, nil, nil, 0.95, 0).Value))
}

// linearUnits draws n problems from the bimodal population, each with 5
// straight shots and m continuations that recover at 0.8·p, and their
// straight-shot counts.
func linearUnits(r *rand.Rand, n, m int) ([]Unit, []difficulty.Count) {
	units := make([]Unit, n)
	counts := make([]difficulty.Count, n)
	for i := range units {
		p := bimodal(r)
		units[i] = Unit{K: binom(r, 5, p), N: 5, Y: binom(r, m, 0.8*p), M: m}
		counts[i] = difficulty.Count{K: units[i].K, N: 5}
	}
	return units, counts
}

// BenchmarkBootstrapLatent10k is one resample's work on a 10,000-problem
// run: a prior refit and the latent EM (distinct units are fitted once).
func BenchmarkBootstrapLatent10k(b *testing.B) {
	units, counts := linearUnits(rand.New(rand.NewPCG(9, 9)), 10000, 5)
	fit, err := FitPrior(counts)
	require.NoError(b, err)
	b.ResetTimer()
	for i := range b.N {
		Bootstrap(Each(counts), fit, 1, uint64(i), func(mult []float64, f PriorFit) []float64 {
			return []float64{LatentWeighted(units, mult, f.Mixture, []float64{0.2, 0.8})[1].Recovery}
		})
	}
}
