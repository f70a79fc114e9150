package estimate

import (
	"math"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"

	"github.com/rebound-lab/rebound/difficulty"
)

// Interval is a closed interval [Lo, Hi]; NaN bounds mean undefined.
type Interval = difficulty.Interval

var noInterval = Interval{Lo: math.NaN(), Hi: math.NaN()}

// RateCI is a pooled rate with its clustered interval.
type RateCI struct {
	Rate float64  // Σy / Σm
	CI   Interval // at the level asked for
	// DF is the Bell–McCaffrey degrees of freedom used for the quantile,
	// Clusters the clusters with m > 0 and DesignEffect the variance
	// inflation over independent trials (≥ 1).
	DF, DesignEffect float64
	Clusters         int
}

// ClusterRate estimates the rate Σy/Σm pooled over clusters (cluster i had
// m[i] trials, y[i] successes — a problem's continuations) with an interval
// at level (e.g. 0.95) that allows for correlation inside a cluster.
//
// Method: the CR2 (Bell–McCaffrey) cluster-robust variance of the pooled
// mean, which for a rate has the closed form
//
//	V = Σ (y_i − p̂ m_i)² / (1 − m_i/M) / M²,   M = Σ m_i,
//
// (the 1/(1 − m_i/M) is CR2's leverage correction, which removes the
// downward bias of the plain sandwich with few clusters); the
// Bell–McCaffrey Satterthwaite degrees of freedom (Imbens & Kolesár 2016,
// "Robust standard errors in small samples"), which are G − 1 for equal
// cluster sizes and fewer when sizes differ; and, to stay inside [0, 1] and
// honest near the edges, Wilson's score interval at the effective sample
// size M / deff, deff = max(1, V / (p̂(1 − p̂)/M)), with the Student-t
// quantile on those degrees of freedom. When p̂ is 0 or 1 the data say
// nothing about correlation and the worst case (one effective trial per
// cluster) is used. One cluster gives Wilson's interval for one trial.
// Without trials the rate and interval are NaN.
func ClusterRate(y, m []int, level float64) RateCI {
	return ClusterRateWeighted(y, m, nil, level)
}

// ClusterRateWeighted is ClusterRate with cluster i taken w[i] times (w
// whole numbers; nil: once each): the same interval from clusters tallied
// by their data, in memory that does not grow with the clusters.
func ClusterRateWeighted(y, m []int, w []float64, level float64) RateCI {
	var Y, M float64
	G := 0
	for i := range m {
		if m[i] > 0 && weightAt(w, i) > 0 {
			Y += weightAt(w, i) * float64(y[i])
			M += weightAt(w, i) * float64(m[i])
			G += int(weightAt(w, i))
		}
	}
	if G == 0 {
		return RateCI{Rate: math.NaN(), CI: noInterval, DF: math.NaN(), DesignEffect: math.NaN()}
	}
	p := Y / M
	r := RateCI{Rate: p, Clusters: G, DesignEffect: 1}
	switch {
	case G == 1:
		r.DF = math.Inf(1)
		r.DesignEffect = M
		r.CI = wilson(p, 1, normalQ(level))
		return r
	case Y == 0 || Y == M:
		r.DF = float64(G - 1)
		r.DesignEffect = M / float64(G)
		r.CI = wilson(p, float64(G), tQ(level, r.DF))
		return r
	}
	var v, tr, sd2, sdc2, sc2 float64
	for i := range m {
		if m[i] == 0 || weightAt(w, i) <= 0 {
			continue
		}
		wi := weightAt(w, i)
		mi := float64(m[i])
		lev := 1 - mi/M
		d := float64(y[i]) - p*mi
		v += wi * d * d / lev
		a2 := 1 / lev
		di := a2 * mi / (M * M)
		ci := math.Sqrt(a2) * mi / (M * M)
		tr += wi * di
		sd2 += wi * di * di
		sdc2 += wi * di * ci * ci
		sc2 += wi * ci * ci
	}
	v /= M * M
	tr -= M * sc2
	fro := sd2 - 2*M*sdc2 + M*M*sc2*sc2
	r.DF = float64(G - 1)
	if fro > 0 && tr > 0 {
		r.DF = math.Max(1, math.Min(float64(G-1), tr*tr/fro))
	}
	r.DesignEffect = math.Max(1, v/(p*(1-p)/M))
	r.CI = wilson(p, M/r.DesignEffect, tQ(level, r.DF))
	return r
}

// Naive is the Wilson interval that treats every trial as independent:
// the interval ClusterRate replaces. It is here so tests can show that it
// undercovers when trials in a cluster are correlated; do not report it.
func Naive(y, m []int, level float64) Interval {
	var Y, M float64
	for i := range m {
		Y += float64(y[i])
		M += float64(m[i])
	}
	if M == 0 {
		return noInterval
	}
	return wilson(Y/M, M, normalQ(level))
}

func wilson(p, n, z float64) Interval {
	z2 := z * z
	den := 1 + z2/n
	centre := (p + z2/(2*n)) / den
	half := z / den * math.Sqrt(math.Max(0, p*(1-p)/n+z2/(4*n*n)))
	return Interval{Lo: math.Max(0, centre-half), Hi: math.Min(1, centre+half)}
}

func normalQ(level float64) float64 { return distuv.UnitNormal.Quantile(1 - (1-level)/2) }

func tQ(level, df float64) float64 {
	if math.IsInf(df, 1) || df > 1e6 {
		return normalQ(level)
	}
	return distuv.StudentsT{Mu: 0, Sigma: 1, Nu: df}.Quantile(1 - (1-level)/2)
}

// Estimate is a point estimate with an interval.
type Estimate struct {
	Value float64  `json:"value"`
	CI    Interval `json:"ci"`
}

// Ratio estimates normalized recovery — the pooled rate Σy/Σm divided by
// the mean of the per-cluster values s (each problem's intrinsic pass rate
// estimate) over the same clusters — with a clustered delta-method
// interval: on the log scale, log θ = log Ȳ − log M̄ − log S̄ has the
// per-cluster influence ψ_i = y_i/Ȳ − m_i/M̄ − s_i/S̄, whose variance over G
// clusters (with the G/(G−1) correction) gives the standard error, and the
// interval is exp(log θ ± t_{G−1}·se). Only clusters with m > 0 enter. The
// value is NaN when there is nothing to divide; with no successes the
// lower bound is 0 and the upper uses the worst case of one success.
// extraVar, if positive, is added to Var(log S̄) (e.g. the bootstrap
// variance a fitted prior adds to posterior-mean pass rates).
func Ratio(y, m []int, s []float64, level, extraVar float64) Estimate {
	var Y, M, S float64
	G := 0
	for i := range m {
		if m[i] > 0 {
			Y += float64(y[i])
			M += float64(m[i])
			S += s[i]
			G++
		}
	}
	if G == 0 || S <= 0 {
		return Estimate{Value: math.NaN(), CI: noInterval}
	}
	g := float64(G)
	Yb, Mb, Sb := Y/g, M/g, S/g
	val := Yb / (Mb * Sb)
	if G < 2 {
		return Estimate{Value: val, CI: Interval{Lo: 0, Hi: math.Inf(1)}}
	}
	y0 := Yb
	if Y == 0 {
		y0 = 1 / g // worst case: one success
	}
	// Centre ψ (it has mean 0 except for the Y = 0 substitution).
	var mean float64
	for i := range m {
		if m[i] > 0 {
			mean += float64(y[i])/y0 - float64(m[i])/Mb - s[i]/Sb
		}
	}
	mean /= g
	var ss float64
	for i := range m {
		if m[i] > 0 {
			d := float64(y[i])/y0 - float64(m[i])/Mb - s[i]/Sb - mean
			ss += d * d
		}
	}
	vlog := ss/(g*(g-1)) + math.Max(0, extraVar)
	q := tQ(level, g-1)
	se := math.Sqrt(vlog)
	if Y == 0 {
		hi := (1 / g) / (Mb * Sb) * math.Exp(q*se)
		return Estimate{Value: 0, CI: Interval{Lo: 0, Hi: hi}}
	}
	return Estimate{Value: val, CI: Interval{Lo: val * math.Exp(-q*se), Hi: val * math.Exp(q*se)}}
}

// Difference estimates the paired per-problem difference "recovery −
// intrinsic pass rate", Σy/Σm − mean(s), over clusters with m > 0, with a
// clustered (linearized) interval: influence ψ_i = (y_i − R̂ m_i)/M̄ −
// (s_i − S̄), standard error sqrt(Σψ²/(G(G−1)) + extraVar), Student-t on
// G − 1 degrees of freedom. Pairing removes the between-problem variation
// that recovery and pass rate share, so this is usually tighter than the
// two rates' intervals suggest.
func Difference(y, m []int, s []float64, level, extraVar float64) Estimate {
	var Y, M, S float64
	G := 0
	for i := range m {
		if m[i] > 0 {
			Y += float64(y[i])
			M += float64(m[i])
			S += s[i]
			G++
		}
	}
	if G == 0 {
		return Estimate{Value: math.NaN(), CI: noInterval}
	}
	g := float64(G)
	R, Sb, Mb := Y/M, S/g, M/g
	val := R - Sb
	if G < 2 {
		return Estimate{Value: val, CI: Interval{Lo: -1, Hi: 1}}
	}
	var ss float64
	for i := range m {
		if m[i] > 0 {
			psi := (float64(y[i])-R*float64(m[i]))/Mb - (s[i] - Sb)
			ss += psi * psi
		}
	}
	se := math.Sqrt(ss/(g*(g-1)) + math.Max(0, extraVar))
	q := tQ(level, g-1)
	return Estimate{Value: val, CI: Interval{Lo: math.Max(-1, val-q*se), Hi: math.Min(1, val+q*se)}}
}

// MeanCI is the mean of xs with a Student-t interval at level (NaN with no
// values; the mean and a zero-width interval with one).
func MeanCI(xs []float64, level float64) Estimate { return MeanCIWeighted(xs, nil, level) }

// MeanCIWeighted is MeanCI with xs[i] taken w[i] times (w whole numbers;
// nil: once each).
func MeanCIWeighted(xs, w []float64, level float64) Estimate {
	var n, s float64
	for i, x := range xs {
		n += weightAt(w, i)
		s += weightAt(w, i) * x
	}
	if n == 0 {
		return Estimate{Value: math.NaN(), CI: noInterval}
	}
	mu := s / n
	if n < 2 {
		return Estimate{Value: mu, CI: Interval{Lo: mu, Hi: mu}}
	}
	var ss float64
	for i, x := range xs {
		ss += weightAt(w, i) * (x - mu) * (x - mu)
	}
	se := math.Sqrt(ss / (n - 1) / n)
	q := tQ(level, n-1)
	return Estimate{Value: mu, CI: Interval{Lo: mu - q*se, Hi: mu + q*se}}
}

// ICC is the intra-class correlation of binary outcomes within clusters
// (continuations of one problem), by the one-way ANOVA estimator
// (MSB − MSW) / (MSB + (m₀ − 1)·MSW) with m₀ the size-adjusted mean
// cluster size; clamped to [0, 1]. It is NaN with fewer than two clusters
// with m > 0, no within-cluster degrees of freedom, or a pooled rate of 0
// or 1 (no variation to attribute).
func ICC(y, m []int) float64 { return ICCWeighted(y, m, nil) }

// ICCWeighted is ICC with cluster i taken w[i] times (nil: once each).
func ICCWeighted(y, m []int, w []float64) float64 {
	var Y, M, G float64
	var sumM2 float64
	for i := range m {
		if m[i] > 0 && weightAt(w, i) > 0 {
			Y += weightAt(w, i) * float64(y[i])
			M += weightAt(w, i) * float64(m[i])
			sumM2 += weightAt(w, i) * float64(m[i]) * float64(m[i])
			G += weightAt(w, i)
		}
	}
	if G < 2 || M-G < 1 || Y == 0 || Y == M {
		return math.NaN() // no variation: the data say nothing about the correlation
	}
	p := Y / M
	var ssb, ssw float64
	for i := range m {
		if m[i] == 0 || weightAt(w, i) <= 0 {
			continue
		}
		mi, yi := float64(m[i]), float64(y[i])
		pi := yi / mi
		ssb += weightAt(w, i) * mi * (pi - p) * (pi - p)
		ssw += weightAt(w, i) * yi * (1 - pi) // Σ (x − p̄_i)² for binary x
	}
	msb := ssb / (G - 1)
	msw := ssw / (M - G)
	m0 := (M - sumM2/M) / (G - 1)
	den := msb + (m0-1)*msw
	if den <= 0 {
		return 0
	}
	return math.Max(0, math.Min(1, (msb-msw)/den))
}

// WilsonT is Wilson's score interval for rate p at (possibly fractional)
// sample size n with the Student-t quantile on n − 1 degrees of freedom
// (at least 1): the worst-case interval for a rate over n clusters when
// every cluster is all or nothing.
func WilsonT(p, n, level float64) Interval {
	if !(n > 0) || math.IsNaN(p) {
		return noInterval
	}
	return wilson(p, n, tQ(level, math.Max(1, n-1)))
}

// BealeRatio is Beale's bias-corrected ratio of means (Beale 1962; Cochran,
// Sampling Techniques, 3rd ed., §6.9): num/den × (1 + cov/(num·den)) ÷
// (1 + varDen/den²), where varDen is the sampling variance of den and cov
// that of num with den (see Jackknife and JackknifeCov). The plain ratio's
// bias is of order varDen/den²: it is large exactly when the denominator is
// a small, noisy rate (a hard bucket's pass rate), where the ratio's right
// tail makes its mean overshoot. The correction only shrinks a ratio whose
// denominator is noisy, so unlike a jackknife bias correction of the ratio
// itself (tried: its mean over replications read 1.4 where the truth was
// 0.8) it cannot blow up. The report used it until it measured, with
// jackknife variances, an undershoot of −0.05 to −0.065 in hard buckets
// (truth 0.8); it now uses LognormalRatio. It returns num/den when a
// variance is not a number, and NaN when den is not positive.
func BealeRatio(num, den, varDen, cov float64) float64 {
	if !(den > 0) || math.IsNaN(num) {
		return math.NaN()
	}
	r := num / den
	if num == 0 || math.IsNaN(varDen) || math.IsNaN(cov) {
		return r
	}
	return r * (1 + cov/(num*den)) / (1 + math.Max(0, varDen)/(den*den))
}

// LognormalRatio is the ratio of means num/den corrected for the bias
// that a noisy, positive denominator gives it: num/den × exp(−σ²/2) ×
// (1 + cov/(num·den)), where σ² is the sampling variance of log den (see
// LogVariance: from bootstrap draws of den) and cov the covariance of num
// with den (PairedCov). If log den is roughly normal about the log of the
// truth S (den median-unbiased), E[S/den] = exp(σ²/2): the first factor
// removes that, and the second the first-order part that num's covariance
// with den adds (as in Beale's estimator, BealeRatio). Unlike Beale's
// 1/(1 + Var(den)/den²), the log-scale variance is not inflated by the
// few draws of den near zero that a small rate's bootstrap has. Measured
// on the simulator (README, "Normalized recovery"): where a hard bucket's
// posterior pass rate near 0.1 comes from a handful of problems, the plain
// ratio overshoots the truth 0.8 by +0.07 to +0.12 and BealeRatio with
// jackknife variances undershoots by −0.05 to −0.065; this one is within
// ±0.03 (−0.028 to +0.016). It returns num/den when σ² is not a number, and NaN when den is
// not positive.
func LognormalRatio(num, den, sigma2, cov float64) float64 {
	if !(den > 0) || math.IsNaN(num) {
		return math.NaN()
	}
	r := num / den
	if num == 0 || math.IsNaN(sigma2) {
		return r
	}
	r *= math.Exp(-math.Max(0, sigma2) / 2)
	if !math.IsNaN(cov) {
		r *= 1 + cov/(num*den)
	}
	return r
}

// LogVariance is the sample variance of log x over the positive, finite
// xs (the others are skipped): from bootstrap draws of an estimate, its
// sampling variance on the log scale. NaN with fewer than two such xs.
func LogVariance(xs []float64) float64 {
	var ls []float64
	for _, x := range xs {
		if x > 0 && !math.IsInf(x, 0) {
			ls = append(ls, math.Log(x))
		}
	}
	if len(ls) < 2 {
		return math.NaN()
	}
	return stat.Variance(ls, nil)
}

// PairedCov is the sample covariance (n − 1 in the denominator) of the
// pairs (a[i], b[i]) in which both are finite; NaN with fewer than two.
func PairedCov(a, b []float64) float64 {
	xs, ys := finitePairs(a, b)
	if len(xs) < 2 {
		return math.NaN()
	}
	return stat.Covariance(xs, ys, nil)
}

// finitePairs are the pairs (a[i], b[i]) in which both are finite.
func finitePairs(a, b []float64) (xs, ys []float64) {
	for i := range min(len(a), len(b)) {
		if !math.IsNaN(a[i]) && !math.IsNaN(b[i]) && !math.IsInf(a[i], 0) && !math.IsInf(b[i], 0) {
			xs, ys = append(xs, a[i]), append(ys, b[i])
		}
	}
	return xs, ys
}

// JackknifeCov is the jackknife estimate of the sampling covariance of two
// statistics from their delete-a-group values a[k], b[k] over g groups
// (Efron & Stein 1981; see Jackknife): (g−1)/g · Σ (a_k − ā)(b_k − b̄).
// Pairs with a NaN or an infinity are skipped; NaN with fewer than two left.
func JackknifeCov(a, b []float64) float64 {
	xs, ys := finitePairs(a, b)
	n := float64(len(xs))
	if n < 2 {
		return math.NaN()
	}
	// (g−1)/g · Σ(…) is the sample covariance Σ(…)/(g−1) times (g−1)²/g.
	return stat.Covariance(xs, ys, nil) * (n - 1) * (n - 1) / n
}

// weightAt is w[i], or 1 when w is nil (every cluster once).
func weightAt(w []float64, i int) float64 {
	if w == nil {
		return 1
	}
	return w[i]
}
