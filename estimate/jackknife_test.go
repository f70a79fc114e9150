package estimate

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/difficulty"
)

// A ratio of two sample means whose denominator is a small, noisy rate
// overshoots the ratio of the population means; Beale's correction, with
// the jackknife's variance and covariance of the two means, removes most of
// that bias. Truth: x exponential with mean 0.1 (coefficient of variation
// 1), y independent of it with mean 0.08, eight units a sample, so
// E[ȳ]/E[x̄] = 0.8 while E[ȳ/x̄] ≈ 0.8·(1 + 1/8).
func TestBealeRatioRemovesTheBiasOfARatioWithANoisyDenominator(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const reps, n = 4000, 8
	var plain, beale float64
	for range reps {
		xs, ys := make([]float64, n), make([]float64, n)
		var sx, sy float64
		for i := range xs {
			xs[i], ys[i] = 0.1*r.ExpFloat64(), 0.16*r.Float64()
			sx, sy = sx+xs[i], sy+ys[i]
		}
		jx, jy := make([]float64, n), make([]float64, n)
		for i := range n {
			jx[i], jy[i] = (sx-xs[i])/(n-1), (sy-ys[i])/(n-1)
		}
		plain += sy / sx
		beale += BealeRatio(sy/n, sx/n, JackknifeCov(jx, jx), JackknifeCov(jy, jx))
	}
	plain, beale = plain/reps, beale/reps
	t.Logf("mean over %d samples of %d: plain ratio %.4f, Beale %.4f (truth 0.8)", reps, n, plain, beale)
	assert.Greater(t, plain-0.8, 0.05, "the plain ratio must be visibly biased here, or the test has no power")
	assert.Less(t, math.Abs(beale-0.8), (plain-0.8)/2, "Beale's correction removes most of the bias")
}

func TestBealeRatioEdges(t *testing.T) {
	assert.Equal(t, 0.4/0.5, BealeRatio(0.4, 0.5, 0, 0), "no sampling variance: the plain ratio")
	assert.Equal(t, 0.4/0.5, BealeRatio(0.4, 0.5, math.NaN(), 0), "unknown variance: the plain ratio")
	assert.Equal(t, 0.0, BealeRatio(0, 0.5, 0.01, 0))
	assert.True(t, math.IsNaN(BealeRatio(0.4, 0, 0.01, 0)), "nothing to divide by")
	assert.InDelta(t, 0.8/1.04, BealeRatio(0.4, 0.5, 0.01, 0), 1e-12, "shrunk by 1 + var/den²")
	assert.InDelta(t, 0.8*1.05/1.04, BealeRatio(0.4, 0.5, 0.01, 0.01), 1e-12, "grown by 1 + cov/(num·den)")
}

// The jackknife variance of the sample mean, from its leave-one-out
// values, is the textbook s²/n.
func TestJackknifeCovOfTheMeanIsSSquaredOverN(t *testing.T) {
	xs := []float64{1, 4, 2, 8, 5, 7}
	n := float64(len(xs))
	var sum float64
	for _, x := range xs {
		sum += x
	}
	loo := make([]float64, len(xs))
	for i, x := range xs {
		loo[i] = (sum - x) / (n - 1)
	}
	mean := sum / n
	var ss float64
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	assert.InDelta(t, ss/(n-1)/n, JackknifeCov(loo, loo), 1e-12)
	assert.True(t, math.IsNaN(JackknifeCov([]float64{1}, []float64{1})))
	assert.InDelta(t, JackknifeCov(loo[1:], loo[1:]), JackknifeCov(append([]float64{math.NaN()}, loo[1:]...), loo), 1e-12, "NaN pairs skipped")
}

// Jackknife leaves each group out once, refitting the prior to the rest.
func TestJackknifeLeavesEachGroupOut(t *testing.T) {
	counts := make([]difficulty.Count, 10)
	for i := range counts {
		counts[i] = difficulty.Count{K: i % 6, N: 5}
	}
	fit, err := FitPrior(counts)
	require.NoError(t, err)
	seen := map[int]float64{}
	draws := Jackknife(Each(counts), fit, 4, func(mult []float64, _ PriorFit) []float64 {
		n := 0.0
		for i, m := range mult {
			seen[i] += m
			n += m
		}
		return []float64{n}
	})
	require.Len(t, draws, 4)
	// Groups i mod 4: sizes 3, 3, 2, 2, so each draw holds the other 7 or 8.
	assert.Equal(t, [][]float64{{7}, {7}, {8}, {8}}, draws)
	for i := range counts {
		assert.Equal(t, 3.0, seen[i], "problem %d is in every draw but its own group's", i)
	}
	assert.Len(t, Jackknife(Each(counts), fit, 100, func([]float64, PriorFit) []float64 { return nil }), 10, "at most one group per problem")
	assert.Nil(t, Jackknife(Each(counts[:1]), fit, 30, nil))
}
