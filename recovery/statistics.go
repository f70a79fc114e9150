package recovery

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/rebound-lab/rebound/difficulty"
	"github.com/rebound-lab/rebound/estimate"
)

// PriorSummary is the difficulty prior fitted to the strong model's
// straight-shot counts (empirical Bayes), in summary.json as "prior" and
// inside "latent".
type PriorSummary struct {
	// Kind is "beta" or "beta-mixture" (two Betas, chosen when they gain more than 3 in log-likelihood).
	Kind    string             `json:"kind"`
	Mixture difficulty.Mixture `json:"mixture"`
	// Text is Mixture in words, e.g. "0.31·Beta(0.60, 4.10) + 0.69·Beta(5.20, 0.80)".
	Text     string `json:"text"`
	Problems int    `json:"problems"`
	// Memberships names the prior that assigned the observed buckets:
	// "fitted" (this one, the default) or "jeffreys"; "" when unknown
	// (Aggregate called directly).
	Memberships string `json:"memberships,omitempty"`
}

// LatentBucketSummary estimates rates for the problems whose TRUE strong
// pass rate lies in a bucket (no problem is known to be in it; see
// estimate.Latent).
type LatentBucketSummary struct {
	Name string `json:"name"`
	// Problems is the expected number of the run's problems in the bucket.
	Problems       float64 `json:"problems"`
	StrongPassRate Rate    `json:"strong_pass_rate"`
	StrongPassCI   [2]Rate `json:"strong_pass_ci"`
	RecoveryRate   Rate    `json:"recovery_rate"`
	RecoveryCI     [2]Rate `json:"recovery_ci"`
}

// LatentSummary is summary.json's "latent" block.
type LatentSummary struct {
	Prior   PriorSummary          `json:"prior"`
	Edges   []float64             `json:"edges"`
	Buckets []LatentBucketSummary `json:"buckets"`
}

// OnPolicySummary makes the on-policy strategy's selection explicit.
type OnPolicySummary struct {
	// Band is the effective inclusive band of OBSERVED strong pass rates
	// k/n (the default when Config.OnPolicyBand is zero).
	Band [2]float64 `json:"band"`
	// Counts says what the band means in observed counts at this run's
	// sample size, e.g. "1–4 of 5".
	Counts string `json:"counts"`
	// Prefixes is the number of problems that got a prefix, per strategy.
	Prefixes map[string]int `json:"prefixes"`
}

// BootstrapReps is the number of cluster-bootstrap resamples behind every
// interval that depends on the fitted prior.
const BootstrapReps = 200

// pairedColumn is statistic j of every draw, NaN where a draw is
// missing, so columns stay paired.
func pairedColumn(draws [][]float64, j int) []float64 {
	xs := make([]float64, len(draws))
	for i, d := range draws {
		xs[i] = math.NaN()
		if j < len(d) {
			xs[i] = d[j]
		}
	}
	return xs
}

// correctedRatio is the normalized recovery num/den of a row (point
// estimates) corrected for the bias of its noisy denominator with the
// bootstrap draws numB, denB of both (estimate.LognormalRatio).
func correctedRatio(num, den float64, numB, denB []float64) float64 {
	return estimate.LognormalRatio(num, den, estimate.LogVariance(denB), estimate.PairedCov(numB, denB))
}

// perRow is the number of bootstrap statistics per summary row: strong
// pass, normalized recovery, recovery − pass, and the pass rate of the
// continued problems.
const perRow = 4

// minInformative: see the degenerate-ratio fallback in statistics.
const minInformative = 3

// statRow is one summary row and its accumulator.
type statRow struct {
	bs *BucketSummary
	a  *acc
}

func defaultEdges(buckets []string) []float64 {
	if slices.Equal(buckets, difficulty.DefaultBinner().Buckets()) {
		return difficulty.DefaultBinner().Edges()
	}
	return nil
}

func clusteredCI(y, m map[string]int) (int, [2]Rate) {
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	ys, ms := make([]int, len(ids)), make([]int, len(ids))
	for i, id := range ids {
		ys[i], ms[i] = y[id], m[id]
	}
	r := estimate.ClusterRate(ys, ms, 0.95)
	return len(ids), [2]Rate{Rate(r.CI.Lo), Rate(r.CI.Hi)}
}

func ci(iv estimate.Interval) [2]Rate { return [2]Rate{Rate(iv.Lo), Rate(iv.Hi)} }

var noCI = [2]Rate{NoRate, NoRate}

// observedRange gathers the counts of a bucket's problems for its label.
type observedRange struct {
	n, kmin, kmax int
	same, any     bool
	rmin, rmax    float64
}

func (o *observedRange) add(c difficulty.Count) {
	r := float64(c.K) / float64(c.N)
	if !o.any {
		*o = observedRange{n: c.N, kmin: c.K, kmax: c.K, same: true, any: true, rmin: r, rmax: r}
		return
	}
	o.same = o.same && c.N == o.n
	o.kmin, o.kmax = min(o.kmin, c.K), max(o.kmax, c.K)
	o.rmin, o.rmax = math.Min(o.rmin, r), math.Max(o.rmax, r)
}

// label describes the counts: "0/5", "1–4/5", or with several n the range
// of k/n, "k/n 0.10–0.40"; "" for none.
func (o *observedRange) label() string {
	switch {
	case !o.any:
		return ""
	case o.same && o.kmin == o.kmax:
		return fmt.Sprintf("%d/%d", o.kmin, o.n)
	case o.same:
		return fmt.Sprintf("%d–%d/%d", o.kmin, o.kmax, o.n)
	case o.rmin == o.rmax:
		return fmt.Sprintf("k/n %.2f", o.rmin)
	}
	return fmt.Sprintf("k/n %.2f–%.2f", o.rmin, o.rmax)
}

// statistics fills the fields that need the fitted prior: posterior-mean
// pass rates, normalized recovery and recovery − pass rate with intervals,
// labels, confidence, ICC and minimum detectable differences, the prior and
// the latent block.
func (s *Summary) statistics(t *reportTable, rows []statRow, all *acc, edges []float64) {
	cls := t.classes(rows, t.eachClass)
	for _, r := range rows {
		bs, a := r.bs, r.a
		bs.StrongPassObserved = bs.StrongPassRate
		bs.StrongPassRate, bs.StrongPassCI = NoRate, noCI
		bs.NormalizedRecovery, bs.NormalizedRecoveryCI, bs.NormalizedRecoveryPlain = NoRate, noCI, NoRate
		bs.RecoveryMinusPass, bs.RecoveryMinusPassCI = NoRate, noCI
		bs.Confidence, bs.ICC, bs.MinDetectable = NoRate, NoRate, NoRate
		var cs observedRange
		var cf float64
		nc := 0
		for id := range int32(t.len()) {
			if !a.member(id) {
				continue
			}
			src := id // a repeated ID counts with the first one's counts
			if first, dup := t.dups[id]; dup {
				src = first
			}
			if p := t.at(src); p.strongN > 0 {
				cs.add(difficulty.Count{K: int(p.strongK), N: int(p.strongN)})
			}
			if c := t.at(id).conf; !math.IsNaN(c) {
				cf += c
				nc++
			}
		}
		if bs.Name != "overall" {
			bs.Observed = cs.label()
			if nc > 0 {
				bs.Confidence = Rate(cf / float64(nc))
			}
		}
		tl := a.rowCounts()
		bs.ContinuedProblems = tl.problems
		if icc := estimate.ICCWeighted(tl.ys, tl.ms, tl.ws); !math.IsNaN(icc) {
			bs.ICC = Rate(icc)
			if bs.RecoveryRate.Defined() {
				k := int(math.Round(float64(bs.Continuations) / float64(tl.problems)))
				d := estimate.Design{Problems: tl.problems, K: max(1, k), Rate: float64(bs.RecoveryRate), ICC: icc}
				bs.MinDetectable = Rate(estimate.MinDetectable(d, d, 0.95, 0.8))
			}
		}
	}
	if len(cls.Of) == 0 {
		return
	}
	fit, err := cls.FitPrior()
	if err != nil {
		return
	}
	s.Prior = &PriorSummary{Kind: fit.Kind, Mixture: fit.Mixture, Text: fit.Mixture.String(), Problems: fit.Problems}
	rd, units := cls.rows, cls.units
	nb := len(edges) + 1
	latent := len(edges) > 0 && all.continued()
	// stat: per row [strong pass, normalized recovery, recovery − pass],
	// then per latent bucket [strong pass, recovery, problems, informative].
	stat := func(mult []float64, f estimate.PriorFit) []float64 {
		pm := estimate.PosteriorMeans(cls.Counts, f.Mixture)
		out := make([]float64, 0, perRow*len(rows)+4*nb)
		for j := range rows {
			sv, rec, sc := rd[j].rates(mult, pm)
			out = append(out, sv, rec/sc, rec-sc, sc)
		}
		if latent {
			for _, lb := range estimate.LatentWeighted(units, mult, f.Mixture, edges) {
				out = append(out, lb.StrongPass, lb.Recovery, lb.Problems, lb.Informative)
			}
		}
		return out
	}
	// alt: the other prior model's estimates: pass-rate intervals are
	// widened to include them (model uncertainty that resampling one model
	// misses).
	point, alt, draws := bootstrapStat(cls.Classes, fit, BootstrapReps, stat)
	size := cls.Sizes()
	widen := func(iv estimate.Interval, x float64) estimate.Interval {
		if math.IsNaN(iv.Lo) || math.IsNaN(x) {
			return iv
		}
		return estimate.Interval{Lo: math.Min(iv.Lo, x), Hi: math.Max(iv.Hi, x)}
	}
	rate := func(x float64) Rate {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return NoRate
		}
		return Rate(x)
	}
	for j, r := range rows {
		bs := r.bs
		g, gc := rd[j].problems(size)
		k := perRow * j
		bs.StrongPassRate = rate(point[k])
		bs.StrongPassCI = ci(widen(estimate.BootstrapCI(point[k], estimate.Column(draws, k), 0.95, g, 0, 1), alt[k]))
		// The ratio of two noisy means overshoots on average when its
		// denominator is small (hard buckets: measured on the simulator,
		// 0.87–0.92 where the truth is 0.8): corrected on the log scale with
		// the bootstrap's variance of log pass rate and its covariance
		// with recovery (the prior refitted each time). The interval is
		// centred on it.
		nr := math.NaN()
		if !math.IsNaN(point[k+1]) {
			num, den := pairedColumn(draws, k+2), pairedColumn(draws, k+3)
			for i := range num {
				num[i] += den[i] // (recovery − pass) + pass = recovery
			}
			nr = correctedRatio(point[k+2]+point[k+3], point[k+3], num, den)
		}
		bs.NormalizedRecovery, bs.NormalizedRecoveryPlain = rate(nr), rate(point[k+1])
		bs.NormalizedRecoveryCI = ci(estimate.BootstrapCI(nr, estimate.Column(draws, k+1), 0.95, gc, 0, math.Inf(1)))
		bs.RecoveryMinusPass = rate(point[k+2])
		bs.RecoveryMinusPassCI = ci(estimate.BootstrapCI(point[k+2], estimate.Column(draws, k+2), 0.95, gc, -1, 1))
		// With fewer than minInformative problems on either side of
		// "all recovered" / "none recovered", the bootstrap of a ratio
		// degenerates (every resample has no success): combine the
		// clustered recovery interval and the pass rate's interval, each at
		// 97.5 %, into a conservative (Bonferroni) 95 % interval.
		pos, neg := 0, 0
		for c, cl := range rd[j].cont {
			if rd[j].y[c] > 0 {
				pos += int(size[cl])
			}
			if rd[j].y[c] < rd[j].m[c] {
				neg += int(size[cl])
			}
		}
		if gc >= 2 && (pos < minInformative || neg < minInformative) && !math.IsNaN(point[k+3]) {
			ys, ms := rd[j].perProblem(size)
			rr := estimate.ClusterRate(ys, ms, 0.975).CI
			sc := estimate.BootstrapCI(point[k+3], estimate.Column(draws, k+3), 0.975, gc, 0, 1)
			if !math.IsNaN(sc.Lo) {
				hi := math.Inf(1)
				if sc.Lo > 0 {
					hi = rr.Hi / sc.Lo
				}
				// The corrected point stays inside its interval.
				bs.NormalizedRecoveryCI = [2]Rate{Rate(math.Min(rr.Lo/sc.Hi, nanTo(nr, math.Inf(1)))), Rate(math.Max(hi, nanTo(nr, 0)))}
				bs.RecoveryMinusPassCI = [2]Rate{Rate(rr.Lo - sc.Hi), Rate(rr.Hi - sc.Lo)}
			}
		}
	}
	if !latent {
		return
	}
	names := s.BucketNames()
	ls := &LatentSummary{Prior: *s.Prior, Edges: slices.Clone(edges)}
	base := perRow * len(rows)
	for b := range nb {
		name := fmt.Sprintf("latent %d", b)
		if b < len(names) {
			name = names[b]
		}
		lo, hi := 0.0, 1.0
		if b > 0 {
			lo = edges[b-1]
		}
		if b < len(edges) {
			hi = edges[b]
		}
		name = fmt.Sprintf("%s (true %.2g–%.2g)", strings.SplitN(name, " ", 2)[0], lo, hi)
		k := base + 4*b
		g := max(2, int(math.Round(point[k+2])))
		rec := estimate.BootstrapCI(point[k+1], estimate.Column(draws, k+1), 0.95, g, 0, 1)
		if point[k+3] < minInformative && !math.IsNaN(point[k+1]) {
			// Degenerate bootstrap (nearly every problem all or nothing on
			// one side): widen to the worst case, one effective trial per
			// expected problem, as ClusterRate does at a rate of 0 or 1.
			w := estimate.WilsonT(point[k+1], point[k+2], 0.95)
			rec = estimate.Interval{Lo: math.Min(nanTo(rec.Lo, w.Lo), w.Lo), Hi: math.Max(nanTo(rec.Hi, w.Hi), w.Hi)}
		}
		ls.Buckets = append(ls.Buckets, LatentBucketSummary{Name: name, Problems: point[k+2],
			StrongPassRate: rate(point[k]),
			StrongPassCI:   ci(widen(estimate.BootstrapCI(point[k], estimate.Column(draws, k), 0.95, g, 0, 1), alt[k])),
			RecoveryRate:   rate(point[k+1]),
			RecoveryCI:     ci(rec),
		})
	}
	s.Latent = ls
}

// bootstrapStat evaluates stat on every problem under fit (point) and
// under the other prior model (alt; point itself when there is none), and
// draws reps cluster-bootstrap resamples of it that refit the prior.
func bootstrapStat(cl estimate.Classes, fit estimate.PriorFit, reps int, stat estimate.Stat) (point, alt []float64, draws [][]float64) {
	all := cl.Sizes()
	point = stat(all, fit)
	alt = point
	if a, ok := fit.Alternative(); ok {
		alt = stat(all, a)
	}
	return point, alt, estimate.Bootstrap(cl, fit, reps, 1, stat)
}

// statRows are one summary row's problems, as indices into the classes
// of problems (or the problems) whose multiplicities rates weighs:
// members (its calibrated problems, a class once per problem of it that
// the row holds) and cont (those continued, with their recovered y and
// continuations m).
type statRows struct {
	members []int
	cont    []int
	y, m    []int
}

// problems is the number of problems of the row (members) and of those
// continued (cont), size[c] being the number of problems of class c.
func (r statRows) problems(size []float64) (members, cont int) {
	for _, c := range r.members {
		members += int(size[c])
	}
	for _, c := range r.cont {
		cont += int(size[c])
	}
	return members, cont
}

// perProblem is the row's continued problems' recovered and verified
// continuations, a class's once per problem of it (in class order).
func (r statRows) perProblem(size []float64) (ys, ms []int) {
	for k, c := range r.cont {
		for range int(size[c]) {
			ys, ms = append(ys, r.y[k]), append(ms, r.m[k])
		}
	}
	return ys, ms
}

// rates returns, with each problem weighted by mult (its bootstrap
// multiplicity), the mean posterior pass rate pm of the members, the
// recovery of the continued problems and their mean posterior pass rate;
// NaN where undefined (no members; no continuation or a zero pass rate).
func (r statRows) rates(mult, pm []float64) (pass, recovery, contPass float64) {
	pass, recovery, contPass = math.NaN(), math.NaN(), math.NaN()
	var sw, sp float64
	for _, i := range r.members {
		sw += mult[i]
		sp += mult[i] * pm[i]
	}
	if sw > 0 {
		pass = sp / sw
	}
	var Y, M, S, G float64
	for c, i := range r.cont {
		Y += mult[i] * float64(r.y[c])
		M += mult[i] * float64(r.m[c])
		S += mult[i] * pm[i]
		G += mult[i]
	}
	if M > 0 && S > 0 {
		recovery, contPass = Y/M, S/G
	}
	return pass, recovery, contPass
}

// statisticsNote is report.md's text under the bucket table: what each
// number is and how each interval is computed, then the latent table, the
// prior and the design figures.
func (s Summary) statisticsNote() string {
	var b strings.Builder
	b.WriteString("\nObserved buckets are sets of problems chosen by their straight-shot counts (shown in brackets); every rate in a " +
		"row is conditional on that choice. Membership is the rows' mean posterior probability that a problem's true pass rate lies " +
		"in its bucket. Strong pass is the mean posterior-mean pass rate under the fitted prior (below) — free of the winner's curse " +
		"that the raw k/n carries, because the samples that chose a bucket also measured it. Recovery is the share of verified " +
		"continuations whose full trace (prefix + continuation) reaches the reference answer (restarts count and are reported " +
		"separately); its interval is clustered by problem (CR2 variance, Bell–McCaffrey degrees of freedom, Wilson at the effective " +
		"sample size). Normalized recovery is recovery ÷ the strong pass rate of the same problems (those with continuations), " +
		"corrected for the bias a small, noisy denominator gives a ratio (on the log scale, from the bootstrap); " +
		"recovery − pass is the paired per-problem difference. Both, and strong pass, have 95 % cluster-bootstrap intervals over " +
		"problems that refit the prior each time.\n\n")
	var shaky []string
	for _, bs := range s.Buckets {
		if bs.NormalizedRecovery.Defined() && bs.StrongPassRate.Defined() && bs.StrongPassRate < 0.2 && bs.ContinuedProblems < 100 {
			shaky = append(shaky, bs.Label())
		}
	}
	if len(shaky) > 0 {
		fmt.Fprintf(&b, "**Normalized recovery in %s divides by a model-based pass rate below 0.2 from fewer than 100 problems**: "+
			"it is bias-corrected but unstable (measured on the simulator at 30 problems, truth 0.8: one run's value "+
			"varies by ±0.75). Read recovery − pass there instead.\n\n", strings.Join(shaky, ", "))
	}
	if s.Prior != nil {
		fmt.Fprintf(&b, "Fitted prior (%s, %d problems): %s.", s.Prior.Kind, s.Prior.Problems, s.Prior.Text)
		if m := s.Prior.Memberships; m != "" {
			fmt.Fprintf(&b, " Observed buckets were assigned with the %s prior.", m)
		}
		b.WriteString("\n\n")
	}
	if s.Latent != nil {
		b.WriteString("## Recovery over true difficulty (latent buckets)\n\n" +
			"A latent bucket holds the problems whose TRUE strong pass rate lies in its range; no problem is known to be in one, so the " +
			"rates come from a mixture model: each problem's bucket is unknown with prior probabilities from its straight-shot posterior, " +
			"and recovery per latent bucket is fitted by EM over all continuations (all strategies pooled). Problems is the expected " +
			"count. Intervals: 95 % cluster bootstrap over problems, refitting the prior. The model assumes that whether a problem got " +
			"a continued prefix does not depend on its true pass rate beyond its straight-shot counts (true for injected errors; " +
			"only approximately for weak-model and on-policy prefixes).\n\n" +
			"| latent bucket | problems (expected) | strong pass (95% CI) | recovery (95% CI) |\n|---|---:|---|---|\n")
		for _, l := range s.Latent.Buckets {
			fmt.Fprintf(&b, "| %s | %.1f | %s %s | %s %s |\n", l.Name, l.Problems, l.StrongPassRate, ciText(l.StrongPassCI),
				l.RecoveryRate, ciText(l.RecoveryCI))
		}
		b.WriteString("\n")
	}
	b.WriteString("## Design: what this run can detect\n\n" +
		"| observed bucket | problems | continuations per problem | ICC | minimum detectable difference |\n|---|---:|---:|---:|---:|\n")
	for _, bs := range append(slices.Clone(s.Buckets), s.Overall) {
		k := NoRate
		if n := bs.ContinuedProblems; n > 0 {
			k = Rate(float64(bs.Continuations) / float64(n))
		}
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %s |\n", bs.Label(), bs.ContinuedProblems, k, bs.ICC, bs.MinDetectable)
	}
	b.WriteString("\nThe minimum detectable difference is the smallest gap in recovery between this bucket and another of the same size, " +
		"rate and ICC that a two-sided 5 % test finds with 80 % power. With ICC > 0 more continuations per problem help little and " +
		"more straight-shot samples not at all: only more problems narrow recovery intervals (see -plan).\n\n")
	if o := s.OnPolicy; o != nil {
		fmt.Fprintf(&b, "On-policy band: observed strong pass rate k/n in [%.2f, %.2f] — %s. Problems with a prefix per strategy:",
			o.Band[0], o.Band[1], o.Counts)
		for _, name := range slices.Sorted(maps.Keys(o.Prefixes)) {
			fmt.Fprintf(&b, " %s %d;", name, o.Prefixes[name])
		}
		b.WriteString("\n\n")
	}
	return b.String()
}

func nanTo(x, d float64) float64 {
	if math.IsNaN(x) {
		return d
	}
	return x
}
