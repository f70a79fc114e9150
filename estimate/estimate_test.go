package estimate

import (
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
