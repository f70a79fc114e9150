package recovery

import (
	"math"

	"github.com/rebound-lab/rebound/difficulty"
	"github.com/rebound-lab/rebound/estimate"
)

// observedRates re-estimates each observed row's pass rate and normalized
// recovery the way a run's report does (statistics.go), so a study's rows
// are free of the winner's curse: the pass rate is the mean posterior pass
// rate of the row's problems under the prior fitted to the model's own
// straight-shot counts (the pooled k/n of problems that the same samples
// put in the bucket reads 0 in hard and 1 in easy), and normalized recovery
// divides the row's recovery by the posterior pass rate of the same
// problems it continued, not of every problem in the bucket. Intervals are
// cluster-bootstrap intervals over problems that refit the prior
// (estimate.Bootstrap), the pass rate's widened to the alternative prior's
// estimate. ids[j] are rows[j]'s problems. Rows are left as they are when
// no prior can be fitted.
func observedRates(m *ModelCounts, rows []RateRow, ids [][]string, level float64, reps int) {
	var counts []difficulty.Count
	index := map[string]int{}
	for _, id := range m.Order {
		p, ok := m.Problems[id]
		if _, dup := index[id]; !ok || dup || p.N <= 0 {
			continue
		}
		index[id] = len(counts)
		counts = append(counts, difficulty.Count{K: p.K, N: p.N})
	}
	if len(counts) == 0 {
		return
	}
	fit, err := estimate.FitPrior(counts)
	if err != nil {
		return
	}
	rd := make([]statRows, len(rows))
	for j, r := range rows {
		for _, id := range ids[j] {
			i, ok := index[id]
			if !ok {
				continue
			}
			rd[j].members = append(rd[j].members, i)
			if c := m.Problems[id].Continued[r.Strategy]; c.Continuations > 0 {
				rd[j].cont = append(rd[j].cont, i)
				rd[j].y = append(rd[j].y, c.Recovered)
				rd[j].m = append(rd[j].m, c.Continuations)
			}
		}
	}
	// stat: per row [pass rate, normalized recovery, recovery, pass rate of
	// the continued problems].
	stat := func(mult []float64, f estimate.PriorFit) []float64 {
		pm := estimate.PosteriorMeans(counts, f.Mixture)
		out := make([]float64, 0, 4*len(rows))
		for j := range rows {
			pass, rec, sc := rd[j].rates(mult, pm)
			out = append(out, pass, rec/sc, rec, sc)
		}
		return out
	}
	cl := estimate.Each(counts)
	point, alt, draws := bootstrapStat(cl, fit, reps, stat)
	rate := func(x float64) Rate {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return NoRate
		}
		return Rate(x)
	}
	iv := func(v estimate.Interval) [2]Rate { return [2]Rate{rate(v.Lo), rate(v.Hi)} }
	for j := range rows {
		r := &rows[j]
		k := 4 * j
		r.PassRate, r.PassRateCI = rate(point[k]), [2]Rate{NoRate, NoRate}
		if g := len(rd[j].members); g > 0 {
			v := estimate.BootstrapCI(point[k], estimate.Column(draws, k), level, g, 0, 1)
			if !math.IsNaN(v.Lo) && !math.IsNaN(alt[k]) {
				v = estimate.Interval{Lo: math.Min(v.Lo, alt[k]), Hi: math.Max(v.Hi, alt[k])}
			}
			r.PassRateCI = iv(v)
		}
		// Corrected as in a run's rows (statistics.go).
		nr := math.NaN()
		if !math.IsNaN(point[k+1]) {
			nr = correctedRatio(point[k+2], point[k+3], pairedColumn(draws, k+2), pairedColumn(draws, k+3))
		}
		r.Normalized, r.NormalizedCI = rate(nr), [2]Rate{NoRate, NoRate}
		if r.Normalized.Defined() {
			r.NormalizedCI = [2]Rate{Rate(0), Rate(math.Inf(1))} // unbounded unless the bootstrap bounds it
			if v := estimate.BootstrapCI(nr, estimate.Column(draws, k+1), level, len(rd[j].cont), 0, math.Inf(1)); !math.IsNaN(v.Lo) {
				r.NormalizedCI = iv(v)
			}
		}
	}
}
