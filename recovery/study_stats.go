package recovery

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"math"
	"slices"
)

// ContinuationCounts is one model's continuations of one prefix.
type ContinuationCounts struct {
	// Recovered of Continuations verified continuations reached the answer.
	Recovered, Continuations int
	// Prefix identifies the prefix text (a hash); two models continued the
	// same prefix when it is equal.
	Prefix string
}

// ProblemCounts is one model's data on one problem: its straight-shot
// counts, its bucket and its continuations per strategy.
type ProblemCounts struct {
	K, N      int
	Bucket    string
	Continued map[string]ContinuationCounts
}

// ModelCounts is the input of Compare for one model: per-problem counts by
// problem ID, and the problem IDs in a fixed order.
type ModelCounts struct {
	Model    string
	Problems map[string]ProblemCounts
	Order    []string
}

// PrefixID is the identity of a prefix text used to pair continuations
// across models (a SHA-256 prefix of the text).
func PrefixID(text string) string {
	h := sha256.Sum256([]byte(text))
	return hex.EncodeToString(h[:8])
}

// LoadModelCounts reads one model's counts from its run store.
func LoadModelCounts(ctx context.Context, st *Store, model string) (ModelCounts, error) {
	mc := ModelCounts{Model: model, Problems: map[string]ProblemCounts{}}
	ps, err := st.Problems(ctx)
	if err != nil {
		return mc, err
	}
	for _, p := range ps {
		mc.Problems[p.ID] = ProblemCounts{K: p.StrongK, N: p.StrongN, Bucket: p.Bucket, Continued: map[string]ContinuationCounts{}}
		mc.Order = append(mc.Order, p.ID)
	}
	pres, err := st.Prefixes(ctx, "")
	if err != nil {
		return mc, err
	}
	for _, r := range pres {
		pc, ok := mc.Problems[r.ProblemID]
		if !ok || r.SetAside != "" || r.Error != "" {
			continue
		}
		pc.Continued[r.Strategy] = ContinuationCounts{Prefix: PrefixID(r.Text)}
	}
	err = st.eachSample(ctx, true, `stage = 'continue'`, func(r Sample) error {
		pc, ok := mc.Problems[r.ProblemID]
		if !ok || r.Error != "" {
			return nil
		}
		c, ok := pc.Continued[r.Prefix]
		if !ok {
			return nil
		}
		c.Continuations++
		if r.Correct {
			c.Recovered++
		}
		pc.Continued[r.Prefix] = c
		return nil
	})
	return mc, err
}

// IntervalFunc is a confidence interval for a rate pooled over clusters
// (cluster i: y[i] successes of m[i] trials) at level; ClusterCI is one.
type IntervalFunc func(y, m []int, level float64) (lo, hi float64)

// PairedFunc estimates the difference of two pooled rates measured on the
// same clusters (cluster i: yA[i] of mA[i] for model A, yB[i] of mB[i] for
// B, every m positive) and its interval at level; PairedDiffCI is one.
type PairedFunc func(yA, mA, yB, mB []int, level float64) (diff, lo, hi float64)

// CompareOptions configures Compare. The zero value compares per model's
// own buckets at 95 % with ClusterCI and PairedDiffCI.
type CompareOptions struct {
	// Buckets fixes the bucket order (others follow in order of appearance).
	Buckets []string
	// Reference, if set, is the model whose buckets every model is binned
	// by, so buckets hold the same problems for every model and paired
	// differences are reported per bucket as well as overall.
	Reference string
	// Shared lists the strategies whose prefixes are shared across models;
	// paired differences are computed for them only (and only on problems
	// whose prefix text is the same for both models). Nil means every
	// strategy, still pairing only identical prefixes.
	Shared []string
	// Level is the confidence level; 0 means 0.95.
	Level float64
	// RateCI and Paired replace the interval methods (e.g. with estimators
	// from a statistics package); nil means ClusterCI and PairedDiffCI.
	RateCI IntervalFunc
	Paired PairedFunc
	// Edges, if set, are the inner edges of latent buckets (increasing, in
	// (0, 1)): each model then also gets latent rows per strategy
	// (ModelRates.Latent), named after Buckets. A Study sets them from
	// Base.Binner.
	Edges []float64
	// BootstrapReps is the number of cluster-bootstrap resamples behind the
	// latent rows' intervals; 0 means BootstrapReps.
	BootstrapReps int
}

// RateRow is one model's line for one strategy and bucket.
type RateRow struct {
	Strategy string `json:"strategy"`
	Bucket   string `json:"bucket"`
	Problems int    `json:"problems"`
	// PassRate is the model's pooled straight-shot pass rate Σk/Σn over the
	// bucket's calibrated problems, with its clustered interval; with
	// CompareOptions.Edges (every study) it is instead the mean posterior
	// pass rate under the model's fitted prior, free of the winner's curse,
	// with a cluster-bootstrap interval (see observedRates).
	PassRate   Rate    `json:"pass_rate"`
	PassRateCI [2]Rate `json:"pass_rate_ci"`
	// Recovery is Σy/Σm over the strategy's continuations in the bucket.
	Continuations int     `json:"continuations"`
	Recovered     int     `json:"recovered"`
	Recovery      Rate    `json:"recovery"`
	RecoveryCI    [2]Rate `json:"recovery_ci"`
	// Normalized is Recovery ÷ PassRate, with a delta-method interval
	// clustered by problem (the two rates share problems); with
	// CompareOptions.Edges it divides by the posterior pass rate of the
	// continued problems only, with a cluster-bootstrap interval.
	Normalized   Rate    `json:"normalized_recovery"`
	NormalizedCI [2]Rate `json:"normalized_recovery_ci"`
}

// ModelRates is one model's rows, by strategy then bucket (with an
// "overall" row per strategy).
type ModelRates struct {
	Model string    `json:"model"`
	Rows  []RateRow `json:"rows"`
	// Latent are the model's rows per strategy and latent bucket (with
	// CompareOptions.Edges), under Prior, the prior fitted to the model's
	// straight-shot counts.
	Latent []LatentRow   `json:"latent,omitempty"`
	Prior  *PriorSummary `json:"prior,omitempty"`
}

// PairedDifference is recovery of model A minus recovery of model B on the
// prefixes both continued (paired by problem).
type PairedDifference struct {
	A        string `json:"a"`
	B        string `json:"b"`
	Strategy string `json:"strategy"`
	Bucket   string `json:"bucket"`
	// Problems is the number of paired problems; Unpaired counts problems
	// both models continued with different prefix texts (left out).
	Problems  int  `json:"problems"`
	Unpaired  int  `json:"unpaired"`
	RecoveryA Rate `json:"recovery_a"`
	RecoveryB Rate `json:"recovery_b"`
	// Diff is RecoveryA − RecoveryB with the paired interval DiffCI.
	Diff   Rate    `json:"diff"`
	DiffCI [2]Rate `json:"diff_ci"`
	// IndependentCI is the interval two independent runs of the same size
	// would give (variances added, no covariance), for comparison; WidthRatio
	// is DiffCI's width ÷ IndependentCI's.
	IndependentCI [2]Rate `json:"independent_ci"`
	WidthRatio    Rate    `json:"width_ratio"`
}

// Comparison is the cross-model statistics of a study.
type Comparison struct {
	// Binning is "own" (each model's buckets from its own calibration) or
	// "reference:<model>".
	Binning string             `json:"binning"`
	Level   float64            `json:"level"`
	Models  []ModelRates       `json:"models"`
	Paired  []PairedDifference `json:"paired"`
}

// Compare computes per-model rates per strategy and bucket and the paired
// differences between every two models, in models order. It is a pure
// function of its input.
func Compare(models []ModelCounts, opt CompareOptions) Comparison {
	if opt.Level == 0 {
		opt.Level = 0.95
	}
	if opt.RateCI == nil {
		opt.RateCI = ClusterCI
	}
	if opt.Paired == nil {
		opt.Paired = PairedDiffCI
	}
	cmp := Comparison{Binning: "own", Level: opt.Level, Models: []ModelRates{}, Paired: []PairedDifference{}}
	var ref *ModelCounts
	if opt.Reference != "" {
		for i := range models {
			if models[i].Model == opt.Reference {
				ref = &models[i]
			}
		}
		if ref != nil {
			cmp.Binning = "reference:" + opt.Reference
		}
	}
	bucketOf := func(m *ModelCounts, id string) string {
		src := m
		if ref != nil {
			src = ref
		}
		b := src.Problems[id].Bucket
		if b == "" {
			b = "unbinned"
		}
		return b
	}
	order := slices.Clone(opt.Buckets)
	strategies := map[string]bool{}
	for i := range models {
		m := &models[i]
		for _, id := range m.Order {
			if b := bucketOf(m, id); !slices.Contains(order, b) {
				order = append(order, b)
			}
			for st := range m.Problems[id].Continued {
				strategies[st] = true
			}
		}
	}
	strats := slices.Sorted(maps.Keys(strategies))
	for i := range models {
		m := &models[i]
		mr := ModelRates{Model: m.Model, Rows: []RateRow{}}
		var rowIDs [][]string
		for _, st := range strats {
			for _, b := range append(slices.Clone(order), "overall") {
				var ids []string
				for _, id := range m.Order {
					if b == "overall" || bucketOf(m, id) == b {
						ids = append(ids, id)
					}
				}
				if len(ids) == 0 {
					continue
				}
				mr.Rows = append(mr.Rows, rateRow(m, st, b, ids, opt))
				rowIDs = append(rowIDs, ids)
			}
		}
		if len(opt.Edges) > 0 {
			reps := opt.BootstrapReps
			if reps <= 0 {
				reps = BootstrapReps
			}
			mr.Latent, mr.Prior = latentRows(m, strats, opt.Buckets, opt.Edges, opt.Level, reps)
			if mr.Latent != nil { // the fitted prior study.md's method describes
				observedRates(m, mr.Rows, rowIDs, opt.Level, reps)
			}
		}
		cmp.Models = append(cmp.Models, mr)
	}
	for i := range models {
		for j := i + 1; j < len(models); j++ {
			a, bm := &models[i], &models[j]
			for _, st := range strats {
				if opt.Shared != nil && !slices.Contains(opt.Shared, st) {
					continue
				}
				buckets := []string{"overall"}
				if ref != nil {
					buckets = append(slices.Clone(order), "overall")
				}
				for _, b := range buckets {
					if d, ok := pairedRow(a, bm, st, b, bucketOf, opt); ok {
						cmp.Paired = append(cmp.Paired, d)
					}
				}
			}
		}
	}
	return cmp
}

func rateRow(m *ModelCounts, st, bucket string, ids []string, opt CompareOptions) RateRow {
	row := RateRow{Strategy: st, Bucket: bucket, Problems: len(ids), PassRate: NoRate, Recovery: NoRate, Normalized: NoRate,
		PassRateCI: [2]Rate{NoRate, NoRate}, RecoveryCI: [2]Rate{NoRate, NoRate}, NormalizedCI: [2]Rate{NoRate, NoRate}}
	ks, ns, ys, ms := make([]int, len(ids)), make([]int, len(ids)), make([]int, len(ids)), make([]int, len(ids))
	var K, N int
	for x, id := range ids {
		p := m.Problems[id]
		ks[x], ns[x] = p.K, p.N
		c := p.Continued[st]
		ys[x], ms[x] = c.Recovered, c.Continuations
		K += p.K
		N += p.N
		row.Recovered += c.Recovered
		row.Continuations += c.Continuations
	}
	if N > 0 {
		row.PassRate = rateOf(K, N)
		lo, hi := opt.RateCI(ks, ns, opt.Level)
		row.PassRateCI = [2]Rate{Rate(lo), Rate(hi)}
	}
	if row.Continuations > 0 {
		row.Recovery = rateOf(row.Recovered, row.Continuations)
		lo, hi := opt.RateCI(ys, ms, opt.Level)
		row.RecoveryCI = [2]Rate{Rate(lo), Rate(hi)}
	}
	if row.Recovery.Defined() && row.PassRate.Defined() && row.PassRate > 0 {
		n, lo, hi := ratioCI(ys, ms, ks, ns, opt.Level)
		row.Normalized, row.NormalizedCI = Rate(n), [2]Rate{Rate(lo), Rate(hi)}
	}
	return row
}

// ratioCI is the estimate (Σy/Σm) ÷ (Σk/Σn) and its delta-method interval
// over clusters (problems) that may contribute to either rate: each
// cluster's influence is (y−R·m)/m̄ − Q·(k−P·n)/n̄ divided by P, the
// variance G/(G−1)·Σinfl²/G², with a Student-t quantile on G−1 degrees of
// freedom, where G counts clusters with any trials. The interval is clipped
// at 0.
func ratioCI(y, m, k, n []int, level float64) (q, lo, hi float64) {
	var Y, M, K, N, G int
	for i := range y {
		if m[i] > 0 || n[i] > 0 {
			G++
		}
		Y, M, K, N = Y+y[i], M+m[i], K+k[i], N+n[i]
	}
	if M == 0 || N == 0 || K == 0 {
		return math.NaN(), math.NaN(), math.NaN()
	}
	R, P := float64(Y)/float64(M), float64(K)/float64(N)
	q = R / P
	if G < 2 {
		return q, math.NaN(), math.NaN()
	}
	mbar, nbar := float64(M)/float64(G), float64(N)/float64(G)
	var ss float64
	for i := range y {
		if m[i] == 0 && n[i] == 0 {
			continue
		}
		a := (float64(y[i]) - R*float64(m[i])) / mbar
		b := (float64(k[i]) - P*float64(n[i])) / nbar
		z := (a - q*b) / P
		ss += z * z
	}
	se := math.Sqrt(float64(G) / float64(G-1) * ss / float64(G*G))
	t := tQuantile(level, G-1)
	return q, math.Max(0, q-t*se), q + t*se
}

// PairedDiffCI is the default PairedFunc: the difference of the pooled
// rates Σy_A/Σm_A − Σy_B/Σm_B over clusters both models measured, with the
// cluster-robust (linearized) variance of the difference,
//
//	v = G/(G−1) · Σ d_i² / G²,  d_i = (y_Ai − R_A·m_Ai)/m̄_A − (y_Bi − R_B·m_Bi)/m̄_B,
//
// and a Student-t quantile on G−1 degrees of freedom. Because both models
// continue the same prefix of each problem, a prefix that is hard to fix
// for one tends to be hard for the other; the d_i carry that covariance, so
// the interval is narrower than the two rates' intervals combined. With
// fewer than two clusters the interval is NaN.
func PairedDiffCI(yA, mA, yB, mB []int, level float64) (diff, lo, hi float64) {
	d, se, g := pairedSE(yA, mA, yB, mB, true)
	if g < 2 {
		return d, math.NaN(), math.NaN()
	}
	t := tQuantile(level, g-1)
	return d, d - t*se, d + t*se
}

// IndependentDiffCI is the interval for the same difference as if the two
// rates came from independent runs: their cluster-robust variances added,
// without the covariance. It is what two separate single-model runs would
// report.
func IndependentDiffCI(yA, mA, yB, mB []int, level float64) (diff, lo, hi float64) {
	d, se, g := pairedSE(yA, mA, yB, mB, false)
	if g < 2 {
		return d, math.NaN(), math.NaN()
	}
	t := tQuantile(level, g-1)
	return d, d - t*se, d + t*se
}

func pairedSE(yA, mA, yB, mB []int, paired bool) (diff, se float64, g int) {
	var YA, MA, YB, MB int
	for i := range yA {
		YA, MA, YB, MB = YA+yA[i], MA+mA[i], YB+yB[i], MB+mB[i]
	}
	g = len(yA)
	if MA == 0 || MB == 0 {
		return math.NaN(), math.NaN(), 0
	}
	RA, RB := float64(YA)/float64(MA), float64(YB)/float64(MB)
	diff = RA - RB
	if g < 2 {
		return diff, math.NaN(), g
	}
	ma, mb := float64(MA)/float64(g), float64(MB)/float64(g)
	var ss, sa, sb float64
	for i := range yA {
		a := (float64(yA[i]) - RA*float64(mA[i])) / ma
		b := (float64(yB[i]) - RB*float64(mB[i])) / mb
		ss += (a - b) * (a - b)
		sa += a * a
		sb += b * b
	}
	if !paired {
		ss = sa + sb
	}
	return diff, math.Sqrt(float64(g) / float64(g-1) * ss / float64(g*g)), g
}

func pairedRow(a, b *ModelCounts, st, bucket string, bucketOf func(*ModelCounts, string) string, opt CompareOptions) (PairedDifference, bool) {
	d := PairedDifference{A: a.Model, B: b.Model, Strategy: st, Bucket: bucket, RecoveryA: NoRate, RecoveryB: NoRate,
		Diff: NoRate, DiffCI: [2]Rate{NoRate, NoRate}, IndependentCI: [2]Rate{NoRate, NoRate}, WidthRatio: NoRate}
	var yA, mA, yB, mB []int
	for _, id := range a.Order {
		if bucket != "overall" && bucketOf(a, id) != bucket {
			continue
		}
		ca, okA := a.Problems[id].Continued[st]
		pb, okP := b.Problems[id]
		if !okA || !okP {
			continue
		}
		cb, okB := pb.Continued[st]
		if !okB || ca.Continuations == 0 || cb.Continuations == 0 {
			continue
		}
		if ca.Prefix != cb.Prefix {
			d.Unpaired++
			continue
		}
		yA, mA, yB, mB = append(yA, ca.Recovered), append(mA, ca.Continuations), append(yB, cb.Recovered), append(mB, cb.Continuations)
	}
	d.Problems = len(yA)
	if d.Problems == 0 {
		return d, d.Unpaired > 0
	}
	var YA, MA, YB, MB int
	for i := range yA {
		YA, MA, YB, MB = YA+yA[i], MA+mA[i], YB+yB[i], MB+mB[i]
	}
	d.RecoveryA, d.RecoveryB = rateOf(YA, MA), rateOf(YB, MB)
	diff, lo, hi := opt.Paired(yA, mA, yB, mB, opt.Level)
	d.Diff, d.DiffCI = Rate(diff), [2]Rate{Rate(lo), Rate(hi)}
	_, ilo, ihi := IndependentDiffCI(yA, mA, yB, mB, opt.Level)
	d.IndependentCI = [2]Rate{Rate(ilo), Rate(ihi)}
	if ihi > ilo {
		d.WidthRatio = Rate((hi - lo) / (ihi - ilo))
	}
	return d, true
}

// Row returns the model's row for strategy and bucket, if any.
func (m ModelRates) Row(strategy, bucket string) (RateRow, bool) {
	for _, r := range m.Rows {
		if r.Strategy == strategy && r.Bucket == bucket {
			return r, true
		}
	}
	return RateRow{}, false
}
