package estimate

import (
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// Design is a clustered binary measurement: Problems clusters of K trials
// each (continuations per problem), a rate near Rate and intra-class
// correlation ICC between trials of one problem.
type Design struct {
	Problems int
	K        int
	Rate     float64
	ICC      float64
}

// Variance is the design's variance of a pooled rate,
// r(1−r)·(1 + (K−1)·ICC) / (Problems·K). As K grows it tends to
// r(1−r)·ICC / Problems: with correlated continuations more continuations
// per problem (and more straight-shot samples, which do not enter at all)
// stop helping, and only more problems narrow the interval.
func (d Design) Variance() float64 {
	if d.Problems <= 0 || d.K <= 0 {
		return math.Inf(1)
	}
	r := math.Min(1, math.Max(0, d.Rate))
	icc := math.Min(1, math.Max(0, d.ICC))
	return r * (1 - r) * (1 + float64(d.K-1)*icc) / float64(d.Problems*d.K)
}

// HalfWidth is the half-width of the interval ClusterRate would print for
// the design: Wilson's score interval at the effective sample size
// Problems·K / (1 + (K−1)·ICC) with the Student-t quantile on Problems − 1
// degrees of freedom (half the interval's width, which is asymmetric near
// 0 and 1).
func (d Design) HalfWidth(level float64) float64 {
	if d.Problems < 2 || d.K < 1 {
		return math.Inf(1)
	}
	r := math.Min(1, math.Max(0, d.Rate))
	icc := math.Min(1, math.Max(0, d.ICC))
	neff := float64(d.Problems*d.K) / (1 + float64(d.K-1)*icc)
	iv := wilson(r, neff, tQ(level, float64(d.Problems-1)))
	return iv.Width() / 2
}

// ProblemsFor is the smallest number of problems whose design (d with
// Problems replaced) has HalfWidth ≤ h at level; at most 10,000,000,
// returned as is if even that is not enough.
func ProblemsFor(d Design, h, level float64) int {
	lo, hi := 2, 10_000_000
	d.Problems = hi
	if d.HalfWidth(level) > h {
		return hi
	}
	for lo < hi {
		mid := (lo + hi) / 2
		d.Problems = mid
		if d.HalfWidth(level) <= h {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// MinDetectable is the smallest difference between two independent
// groups' rates (two buckets, or two strategies on different problems)
// that a two-sided test at level detects with the given power:
// (t_{1−α/2} + t_{power})·sqrt(V_a + V_b) on G_a + G_b − 2 degrees of
// freedom. Infinite when either design has fewer than two problems.
func MinDetectable(a, b Design, level, power float64) float64 {
	if a.Problems < 2 || b.Problems < 2 {
		return math.Inf(1)
	}
	df := float64(a.Problems + b.Problems - 2)
	t := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: df}
	q := t.Quantile(1-(1-level)/2) + t.Quantile(power)
	return q * math.Sqrt(a.Variance()+b.Variance())
}
