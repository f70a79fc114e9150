package recovery

import (
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// ClusterCI returns a two-sided confidence interval at level (e.g. 0.95)
// for a rate pooled over clusters: cluster i contributed m[i] trials of
// which y[i] succeeded, and the estimate is Σy/Σm. Continuations of one
// problem are correlated (a prefix the model can fix is fixed in most
// samples), so treating them as independent would give intervals far too
// narrow.
//
// Method: a design-effect-corrected Wilson interval. The ratio estimator's
// cluster-robust variance
//
//	v = G/(G-1) · Σ(y_i − p̂·m_i)² / (Σm)²
//
// over the G clusters with m_i > 0 gives the design effect deff = v ÷
// (p̂(1−p̂)/Σm), floored at 1, and an effective sample size n_eff = Σm/deff;
// the interval is Wilson's score interval at n_eff with the Student-t
// quantile on G−1 degrees of freedom in place of the normal one, which keeps
// coverage near nominal with few clusters. When p̂ is 0 or 1 the data say
// nothing about the correlation and the worst case (n_eff = G, one
// observation per cluster) is used; with one cluster the interval is
// Wilson's with n_eff = 1. Wilson rather than Wald keeps the interval inside
// [0, 1] and honest near the edges, where bimodal pass rates put many
// buckets. It is deterministic (no resampling), unlike a cluster bootstrap,
// which also undercovers with few clusters.
//
// With no trials ClusterCI returns NaN, NaN.
func ClusterCI(y, m []int, level float64) (lo, hi float64) {
	var Y, M, G int
	for i := range m {
		if m[i] > 0 {
			Y += y[i]
			M += m[i]
			G++
		}
	}
	if M == 0 {
		return math.NaN(), math.NaN()
	}
	p := float64(Y) / float64(M)
	var neff, q float64
	switch {
	case G == 1:
		neff = 1
		q = normalQuantile(level)
	case Y == 0 || Y == M:
		neff = float64(G)
		q = tQuantile(level, G-1)
	default:
		var ss float64
		for i := range m {
			if m[i] > 0 {
				d := float64(y[i]) - p*float64(m[i])
				ss += d * d
			}
		}
		v := float64(G) / float64(G-1) * ss / (float64(M) * float64(M))
		vb := p * (1 - p) / float64(M)
		deff := math.Max(1, v/vb)
		neff = float64(M) / deff
		q = tQuantile(level, G-1)
	}
	return wilson(p, neff, q)
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
