// Package difficulty turns per-problem pass counts (k correct of n samples)
// into honest difficulty estimates: Beta-binomial posterior means with 95 %
// credible and Wilson intervals, fuzzy membership in named difficulty buckets
// (the posterior probability that the true pass rate lies in each), adaptive
// sampling plans that stop once a bucket is settled, and distribution
// summaries for reports.
//
// Everything here is pure computation over (k, n) counts: no I/O, no state,
// safe for concurrent use.
package difficulty

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mathext"
)

// Prior is a Beta(Alpha, Beta) prior on a problem's true pass rate.
//
// The default is Jeffreys' prior, Beta(0.5, 0.5), and a Prior whose
// parameters are not both positive (the zero value included) means it. Two
// reasons: with the 3–10 samples this project draws, a flat Beta(1, 1)
// drags every all-correct or all-wrong problem a full pseudo-count toward
// 0.5, while Jeffreys' half pseudo-count does so half as much — and its
// U shape matches the bimodal pass-rate distributions strong models show
// (most problems always or never solved); and the Jeffreys interval is the
// Bayesian interval with the best frequentist coverage for a binomial
// proportion at small n (Brown, Cai & DasGupta, Statistical Science 2001).
type Prior struct {
	Alpha float64 // pseudo-successes, > 0
	Beta  float64 // pseudo-failures, > 0
}

// Jeffreys is Beta(0.5, 0.5), the default prior.
var Jeffreys = Prior{Alpha: 0.5, Beta: 0.5}

// Uniform is Beta(1, 1), Laplace's flat prior.
var Uniform = Prior{Alpha: 1, Beta: 1}

// DefaultPrior returns Jeffreys.
func DefaultPrior() Prior { return Jeffreys }

// valid reports whether both parameters are positive and finite.
func (p Prior) valid() bool {
	return p.Alpha > 0 && p.Beta > 0 && !math.IsInf(p.Alpha, 0) && !math.IsInf(p.Beta, 0)
}

// orDefault returns p, or Jeffreys when p is not a proper prior.
func (p Prior) orDefault() Prior {
	if p.valid() {
		return p
	}
	return Jeffreys
}

// Posterior returns the parameters of the Beta posterior after k correct of
// n: Beta(Alpha+k, Beta+n−k). It panics if k < 0, n < 0 or k > n.
func (p Prior) Posterior(k, n int) (alpha, beta float64) {
	checkCounts(k, n)
	p = p.orDefault()
	return p.Alpha + float64(k), p.Beta + float64(n-k)
}

// Estimate computes Estimate(k, n, p).
func (p Prior) Estimate(k, n int) PassRate { return Estimate(k, n, p) }

// Interval is a closed interval [Lo, Hi] of pass rates.
type Interval struct {
	Lo float64 `json:"lo"`
	Hi float64 `json:"hi"`
}

// Contains reports whether Lo ≤ x ≤ Hi.
func (iv Interval) Contains(x float64) bool { return iv.Lo <= x && x <= iv.Hi }

// Width is Hi − Lo.
func (iv Interval) Width() float64 { return iv.Hi - iv.Lo }

// String formats the interval as "[0.12, 0.56]".
func (iv Interval) String() string { return fmt.Sprintf("[%.2f, %.2f]", iv.Lo, iv.Hi) }

// PassRate is what k correct of n samples say about a problem's true pass
// rate.
type PassRate struct {
	K, N     int
	Prior    Prior
	Observed float64  // k/n; 0 when n = 0
	Mean     float64  // posterior mean (k+α)/(n+α+β)
	CI95     Interval // equal-tailed 95 % Beta credible interval
	Wilson   Interval // Wilson score 95 % interval for k/n; [0, 1] when n = 0
}

// String formats the estimate, e.g. "7/10: mean 0.68, 95% CI [0.39, 0.89], Wilson [0.40, 0.89]".
func (r PassRate) String() string {
	return fmt.Sprintf("%d/%d: mean %.2f, 95%% CI %v, Wilson %v", r.K, r.N, r.Mean, r.CI95, r.Wilson)
}

// z95 is the standard normal 0.975 quantile.
const z95 = 1.959963984540054

// Estimate summarises k correct of n samples under prior (a Prior that is
// not proper, such as the zero value, means Jeffreys). It panics if k < 0,
// n < 0 or k > n: counts like that are a bug in the caller.
func Estimate(k, n int, prior Prior) PassRate {
	a, b := prior.Posterior(k, n)
	r := PassRate{K: k, N: n, Prior: prior.orDefault(), Mean: a / (a + b)}
	if n > 0 {
		r.Observed = float64(k) / float64(n)
	}
	r.CI95 = Interval{Lo: mathext.InvRegIncBeta(a, b, 0.025), Hi: mathext.InvRegIncBeta(a, b, 0.975)}
	r.Wilson = wilson(k, n, z95)
	return r
}

// wilson is the Wilson score interval for k of n at normal quantile z.
func wilson(k, n int, z float64) Interval {
	if n == 0 {
		return Interval{0, 1}
	}
	nf := float64(n)
	p := float64(k) / nf
	z2 := z * z
	denom := 1 + z2/nf
	center := (p + z2/(2*nf)) / denom
	half := z / denom * math.Sqrt(p*(1-p)/nf+z2/(4*nf*nf))
	iv := Interval{Lo: math.Max(0, center-half), Hi: math.Min(1, center+half)}
	// Rounding can leave the bound a hair off at k = 0 or k = n.
	if k == 0 {
		iv.Lo = 0
	}
	if k == n {
		iv.Hi = 1
	}
	return iv
}

// betaCDF is P(X ≤ x) for X ~ Beta(a, b).
func betaCDF(x, a, b float64) float64 {
	switch {
	case x <= 0:
		return 0
	case x >= 1:
		return 1
	}
	return mathext.RegIncBeta(a, b, x)
}

func checkCounts(k, n int) {
	if n < 0 || k < 0 || k > n {
		panic(fmt.Sprintf("difficulty: invalid counts k=%d of n=%d", k, n))
	}
}
