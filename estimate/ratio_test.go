package estimate

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestLognormalRatioRemovesTheBiasOfARatioWithANoisyDenominator(t *testing.T) {
	// A median-unbiased denominator with 45 % relative error on the log
	// scale (σ² = 0.2) and a numerator that shares part of its noise
	// (correlation 0.3 on the log scale): truth 0.08/0.1 = 0.8. Each
	// replication's σ² and covariance come from 200 bootstrap-like draws of
	// the same distribution about its own estimates, as the report's do.
	r := rand.New(rand.NewPCG(3, 4))
	const reps, draws = 20000, 200
	const sigma, rho = 0.4472136, 0.3
	var plain, corrected float64
	nb, db := make([]float64, draws), make([]float64, draws)
	for range reps {
		z, w := r.NormFloat64(), r.NormFloat64()
		den := 0.1 * math.Exp(sigma*z)
		num := 0.08 * math.Exp(0.2*(rho*z+math.Sqrt(1-rho*rho)*w)-0.02) // mean-unbiased
		for b := range draws {
			zb, wb := r.NormFloat64(), r.NormFloat64()
			db[b] = den * math.Exp(sigma*zb)
			nb[b] = num * math.Exp(0.2*(rho*zb+math.Sqrt(1-rho*rho)*wb)-0.02)
		}
		plain += num / den
		corrected += LognormalRatio(num, den, LogVariance(db), PairedCov(nb, db))
	}
	plain, corrected = plain/reps, corrected/reps
	t.Logf("mean over %d replications: plain ratio %.4f, log-normal corrected %.4f (truth 0.8)", reps, plain, corrected)
	assert.Greater(t, plain-0.8, 0.05, "the plain ratio must be visibly biased here, or the test has no power")
	assert.InDelta(t, 0.8, corrected, 0.015, "the correction removes the bias (Monte Carlo SE ≈ 0.003)")
}

func TestLognormalRatioEdges(t *testing.T) {
	assert.Equal(t, 0.4/0.5, LognormalRatio(0.4, 0.5, 0, 0), "no sampling noise: the plain ratio")
	assert.Equal(t, 0.4/0.5, LognormalRatio(0.4, 0.5, math.NaN(), 0.01), "unknown variance: the plain ratio")
	assert.Equal(t, 0.0, LognormalRatio(0, 0.5, 0.1, 0))
	assert.True(t, math.IsNaN(LognormalRatio(0.4, 0, 0.1, 0)), "nothing to divide by")
	assert.InDelta(t, 0.8*math.Exp(-0.05), LognormalRatio(0.4, 0.5, 0.1, 0), 1e-12, "shrunk by exp(−σ²/2)")
	assert.InDelta(t, 0.8*1.05, LognormalRatio(0.4, 0.5, 0, 0.01), 1e-12, "grown by 1 + cov/(num·den)")
	assert.InDelta(t, 0.8*math.Exp(-0.05), LognormalRatio(0.4, 0.5, 0.1, math.NaN()), 1e-12, "unknown covariance: left out")
}

func TestLogVarianceAndPairedCov(t *testing.T) {
	assert.InDelta(t, 2*math.Ln2*math.Ln2, LogVariance([]float64{0.5, 2, 0, math.NaN(), math.Inf(1)}), 1e-12,
		"sample variance of ±ln 2; zero, NaN and ∞ skipped")
	assert.True(t, math.IsNaN(LogVariance([]float64{1, 0})), "one usable draw: no variance")
	assert.InDelta(t, 1.0, PairedCov([]float64{1, 2, 3, math.NaN()}, []float64{2, 3, 4, 5}), 1e-12)
	assert.True(t, math.IsNaN(PairedCov([]float64{1}, []float64{1})))
}
