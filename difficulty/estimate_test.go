package difficulty_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/stat/distuv"

	"github.com/rebound-lab/rebound/difficulty"
)

var priors = []difficulty.Prior{difficulty.Jeffreys, difficulty.Uniform, {Alpha: 2, Beta: 5}, {Alpha: 0.5, Beta: 3}}

func TestEstimateKnownValues(t *testing.T) {
	r := difficulty.Estimate(7, 10, difficulty.Jeffreys)
	assert.Equal(t, 7, r.K)
	assert.Equal(t, 10, r.N)
	assert.InDelta(t, 0.7, r.Observed, 1e-12)
	assert.InDelta(t, 7.5/11, r.Mean, 1e-12)
	// Jeffreys interval for 7/10: the 2.5 % and 97.5 % quantiles of
	// Beta(7.5, 3.5), computed independently by bisection on a numerically
	// integrated density: 0.39418, 0.90731.
	assert.InDelta(t, 0.39418, r.CI95.Lo, 1e-4)
	assert.InDelta(t, 0.90731, r.CI95.Hi, 1e-4)
	// Wilson 95 % interval for 7/10: [0.39678, 0.89221].
	assert.InDelta(t, 0.39678, r.Wilson.Lo, 1e-4)
	assert.InDelta(t, 0.89221, r.Wilson.Hi, 1e-4)
	assert.Equal(t, "7/10: mean 0.68, 95% CI [0.39, 0.91], Wilson [0.40, 0.89]", r.String())
}

func TestEstimateWithNoSamplesIsThePrior(t *testing.T) {
	r := difficulty.Estimate(0, 0, difficulty.Prior{Alpha: 2, Beta: 6})
	assert.InDelta(t, 0.25, r.Mean, 1e-12)
	assert.Equal(t, difficulty.Interval{Lo: 0, Hi: 1}, r.Wilson)
	assert.Equal(t, 0.0, r.Observed)
}

func TestAnImproperPriorMeansJeffreys(t *testing.T) {
	for _, p := range []difficulty.Prior{{}, {Alpha: -1, Beta: 1}, {Alpha: math.NaN(), Beta: 1}, {Alpha: math.Inf(1), Beta: 1}} {
		r := difficulty.Estimate(3, 4, p)
		assert.Equal(t, difficulty.Jeffreys, r.Prior, "%+v", p)
		assert.InDelta(t, 3.5/5, r.Mean, 1e-12)
	}
}

func TestEstimatePanicsOnImpossibleCounts(t *testing.T) {
	assert.Panics(t, func() { difficulty.Estimate(4, 3, difficulty.Jeffreys) })
	assert.Panics(t, func() { difficulty.Estimate(-1, 3, difficulty.Jeffreys) })
	assert.Panics(t, func() { difficulty.Estimate(0, -1, difficulty.Jeffreys) })
}

func TestIntervalsContainTheirPointEstimates(t *testing.T) {
	for _, p := range priors {
		for n := 0; n <= 30; n++ {
			for k := 0; k <= n; k++ {
				r := difficulty.Estimate(k, n, p)
				assert.True(t, r.CI95.Contains(r.Mean), "%v prior %+v: CI %v misses mean %v", r, p, r.CI95, r.Mean)
				assert.True(t, r.Wilson.Contains(r.Observed), "%v: Wilson %v misses k/n", r, r.Wilson)
				assert.True(t, 0 <= r.CI95.Lo && r.CI95.Hi <= 1 && 0 <= r.Wilson.Lo && r.Wilson.Hi <= 1, "%v", r)
				if n > 0 {
					assert.True(t, r.Wilson.Contains(r.Mean) || p != difficulty.Jeffreys, "%v: Wilson %v misses the Jeffreys mean", r, r.Wilson)
				}
			}
		}
	}
}

func TestCredibleIntervalHas95PercentPosteriorMass(t *testing.T) {
	for _, p := range priors {
		for _, c := range [][2]int{{0, 3}, {2, 3}, {5, 10}, {10, 10}, {1, 7}} {
			k, n := c[0], c[1]
			r := difficulty.Estimate(k, n, p)
			a, b := p.Posterior(k, n)
			d := distuv.Beta{Alpha: a, Beta: b}
			assert.InDelta(t, 0.025, d.CDF(r.CI95.Lo), 1e-9, "%d/%d %+v", k, n, p)
			assert.InDelta(t, 0.975, d.CDF(r.CI95.Hi), 1e-9, "%d/%d %+v", k, n, p)
		}
	}
}

func TestIntervalsNarrowAsSamplesGrow(t *testing.T) {
	prev := difficulty.Estimate(1, 2, difficulty.Jeffreys)
	for n := 4; n <= 64; n *= 2 {
		r := difficulty.Estimate(n/2, n, difficulty.Jeffreys)
		assert.Less(t, r.CI95.Width(), prev.CI95.Width(), "n=%d", n)
		assert.Less(t, r.Wilson.Width(), prev.Wilson.Width(), "n=%d", n)
		prev = r
	}
}

func TestPosteriorAddsCountsToThePrior(t *testing.T) {
	a, b := difficulty.Prior{Alpha: 2, Beta: 3}.Posterior(4, 9)
	assert.Equal(t, 6.0, a)
	assert.Equal(t, 8.0, b)
	require.Equal(t, difficulty.Jeffreys, difficulty.DefaultPrior())
}
