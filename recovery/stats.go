package recovery

import (
	"cmp"
	"math"
	"slices"

	"github.com/rebound-lab/rebound/estimate"

	"gonum.org/v1/gonum/stat/distuv"
)

// ClusterCI returns a two-sided confidence interval at level (e.g. 0.95)
// for a rate pooled over clusters: cluster i contributed m[i] trials of
// which y[i] succeeded, and the estimate is Σy/Σm. Continuations of one
// problem are correlated (a prefix the model can fix is fixed in most
// samples), so treating them as independent would give intervals far too
// narrow.
//
// Method: estimate.ClusterRate — the CR2 (Bell–McCaffrey) cluster-robust
// variance, Bell–McCaffrey degrees of freedom and a Wilson score interval
// at the design-effect-corrected sample size. With no trials ClusterCI
// returns NaN, NaN.
func ClusterCI(y, m []int, level float64) (lo, hi float64) {
	r := estimate.ClusterRate(y, m, level)
	return r.CI.Lo, r.CI.Hi
}

// wilson is the Wilson score interval for proportion p at sample size n and
// quantile z.
func wilson(p, n, z float64) (lo, hi float64) {
	z2 := z * z
	den := 1 + z2/n
	centre := (p + z2/(2*n)) / den
	half := z / den * math.Sqrt(p*(1-p)/n+z2/(4*n*n))
	return math.Max(0, centre-half), math.Min(1, centre+half)
}

func normalQuantile(level float64) float64 {
	return distuv.UnitNormal.Quantile(1 - (1-level)/2)
}

func tQuantile(level float64, df int) float64 {
	return distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(df)}.Quantile(1 - (1-level)/2)
}

// RateCount is one distinct per-problem pass rate and the number of
// problems with it.
type RateCount struct {
	Rate     float64
	Problems int
}

// rateTally counts problems by pass rate (see Summary.PassRateCounts).
type rateTally map[float64]int

// sorted returns the tally in increasing order of rate (nil when empty).
func (t rateTally) sorted() []RateCount {
	if len(t) == 0 {
		return nil
	}
	out := make([]RateCount, 0, len(t))
	for r, n := range t {
		out = append(out, RateCount{Rate: r, Problems: n})
	}
	slices.SortFunc(out, func(a, b RateCount) int { return cmp.Compare(a.Rate, b.Rate) })
	return out
}

// rateCounts splits a tally into its rates and counts.
func rateCounts(rc []RateCount) (rates []float64, counts []int) {
	for _, r := range rc {
		rates, counts = append(rates, r.Rate), append(counts, r.Problems)
	}
	return rates, counts
}

// problemsIn is the number of problems a tally counts.
func problemsIn(rc []RateCount) int {
	n := 0
	for _, r := range rc {
		n += r.Problems
	}
	return n
}
