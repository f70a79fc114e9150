package estimate

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"

	"github.com/rebound-lab/rebound/difficulty"
)

// Unit is one problem's data: K correct of N straight-shot samples, and Y
// recovered of M verified continuations (M = 0 if none).
type Unit struct {
	K, N int
	Y, M int
}

// Memberships is, for each bucket between consecutive edges (inner edges,
// increasing, in (0, 1)), the posterior probability under prior that the
// true pass rate lies in it after k of n.
func Memberships(prior difficulty.Mixture, edges []float64, k, n int) []float64 {
	post := prior.Posterior(k, n)
	out := make([]float64, len(edges)+1)
	prev := 0.0
	for i := range out {
		c := 1.0
		if i < len(edges) {
			c = post.CDF(edges[i])
		}
		out[i] = math.Max(0, c-prev)
		prev = math.Max(prev, c)
	}
	return out
}

// LatentBucket is one latent bucket's fitted values.
type LatentBucket struct {
	// Problems is the expected number of problems whose true pass rate
	// lies in the bucket (Σ of posterior responsibilities).
	Problems float64
	// StrongPass is the mean true pass rate of those problems.
	StrongPass float64
	// Recovery is the recovery rate of their continuations; NaN when no
	// continuation has a meaningful weight in the bucket.
	Recovery float64
	// Informative is the expected number of the bucket's problems on the
	// rarer side of "some continuation recovered" / "some did not": below
	// a handful, a bootstrap of Recovery degenerates.
	Informative float64
}

// Latent fits recovery per latent bucket: each problem's bucket z is
// unknown, with prior probabilities Memberships(prior, edges, K, N) from
// its straight-shot counts, and its continuations are beta-binomial with
// mean ρ_z and a common within-bucket intra-class correlation φ (problems
// in one bucket may still differ: φ = 0 is binomial, φ → 1 all-or-nothing).
// EM alternates responsibilities γ_ib ∝ π_ib·BB(Y_i; M_i, ρ_b, φ) with
// ρ_b = Σγ_ib·Y_i / Σγ_ib·M_i and a moment update of φ until nothing moves
// more than 1e-9. Without φ a heterogeneous bucket's all-or-nothing
// problems would be pulled into whichever bucket has the extreme rate. The
// recovery outcomes thus sharpen each problem's bucket, which keeps the
// estimate honest when the prior places a problem badly; the straight-shot
// and continuation samples must be independent given the problem (they are
// separate calls).
//
// StrongPass averages, with the responsibilities, each problem's posterior
// mean pass rate restricted to the bucket. Problems with M = 0 count in
// Problems and StrongPass with their prior memberships.
func Latent(units []Unit, prior difficulty.Mixture, edges []float64) []LatentBucket {
	return LatentWeighted(units, nil, prior, edges)
}

// LatentWeighted is Latent with units[i] taken wt[i] times (a class of
// problems with equal data, or a bootstrap multiplicity; nil: once each);
// units with weight 0 are ignored.
func LatentWeighted(units []Unit, wt []float64, prior difficulty.Mixture, edges []float64) []LatentBucket {
	if wt != nil && len(wt) != len(units) {
		panic("estimate: LatentWeighted needs one weight per unit")
	}
	// Problems with equal data contribute equal terms: fit on the distinct
	// units with multiplicities (a 10,000-problem run has a few hundred).
	index := map[Unit]int{}
	var us []Unit
	var ws []float64
	for i, u := range units {
		w := weightAt(wt, i)
		if w <= 0 {
			continue
		}
		k, ok := index[u]
		if !ok {
			k = len(us)
			index[u] = k
			us, ws = append(us, u), append(ws, 0)
		}
		ws[k] += w
	}
	return latent(us, ws, prior, edges)
}

func latent(units []Unit, wt []float64, prior difficulty.Mixture, edges []float64) []LatentBucket {
	B := len(edges) + 1
	pi := make([][]float64, len(units))
	cm := make([][]float64, len(units)) // E[p | k, bucket b]
	type memo struct{ pi, cm []float64 }
	seen := map[[2]int]memo{}
	for i, u := range units {
		if m, ok := seen[[2]int{u.K, u.N}]; ok {
			pi[i], cm[i] = m.pi, m.cm
			continue
		}
		pi[i] = Memberships(prior, edges, u.K, u.N)
		post := prior.Posterior(u.K, u.N)
		cm[i] = make([]float64, B)
		seen[[2]int{u.K, u.N}] = memo{pi[i], cm[i]}
		for b := range B {
			lo, hi := 0.0, 1.0
			if b > 0 {
				lo = edges[b-1]
			}
			if b < len(edges) {
				hi = edges[b]
			}
			if pi[i][b] > 1e-12 {
				cm[i][b] = post.PartialMean(lo, hi) / pi[i][b]
			} else {
				cm[i][b] = (lo + hi) / 2
			}
		}
	}
	var Y, M float64
	for i, u := range units {
		Y += wt[i] * float64(u.Y)
		M += wt[i] * float64(u.M)
	}
	rho := make([]float64, B)
	for b := range rho {
		rho[b] = 0.5
		if M > 0 {
			rho[b] = clampOpen(Y / M)
		}
	}
	gamma := make([][]float64, len(units))
	for i := range gamma {
		gamma[i] = make([]float64, B)
	}
	phi := 0.0 // within-bucket intra-class correlation
	lbb := func(y, m int, r float64) float64 {
		if phi < 1e-6 {
			return float64(y)*math.Log(r) + float64(m-y)*math.Log1p(-r)
		}
		// Beta-binomial with mean r and ICC phi (binomial coefficient omitted).
		a, b := r*(1-phi)/phi, (1-r)*(1-phi)/phi
		return lbeta(a+float64(y), b+float64(m-y)) - lbeta(a, b)
	}
	estep := func() {
		for i, u := range units {
			if u.M == 0 {
				copy(gamma[i], pi[i])
				continue
			}
			top := math.Inf(-1)
			for b := range B {
				if pi[i][b] <= 0 {
					gamma[i][b] = math.Inf(-1)
					continue
				}
				gamma[i][b] = math.Log(pi[i][b]) + lbb(u.Y, u.M, rho[b])
				top = math.Max(top, gamma[i][b])
			}
			var s float64
			for b := range B {
				gamma[i][b] = math.Exp(gamma[i][b] - top)
				s += gamma[i][b]
			}
			for b := range B {
				gamma[i][b] /= s
			}
		}
	}
	num, den := make([]float64, B), make([]float64, B)
	for iter := 0; iter < 1000 && M > 0; iter++ {
		estep()
		clear(num)
		clear(den)
		for i, u := range units {
			for b := range B {
				num[b] += wt[i] * gamma[i][b] * float64(u.Y)
				den[b] += wt[i] * gamma[i][b] * float64(u.M)
			}
		}
		moved := 0.0
		for b := range B {
			if den[b] > 1e-12 {
				r := clampOpen(num[b] / den[b])
				moved = math.Max(moved, math.Abs(r-rho[b]))
				rho[b] = r
			}
		}
		// Moment update of the within-bucket ICC from
		// Var(y | b) = m·ρ(1−ρ)·(1 + (m−1)·φ).
		var pn, pd float64
		for i, u := range units {
			if u.M < 2 {
				continue
			}
			for b := range B {
				v := rho[b] * (1 - rho[b])
				d := float64(u.Y) - float64(u.M)*rho[b]
				pn += wt[i] * gamma[i][b] * (d*d - float64(u.M)*v)
				pd += wt[i] * gamma[i][b] * float64(u.M*(u.M-1)) * v
			}
		}
		if pd > 0 {
			np := math.Min(0.95, math.Max(0, pn/pd))
			moved = math.Max(moved, math.Abs(np-phi))
			phi = np
		}
		if moved < 1e-9 {
			break
		}
	}
	estep()
	out := make([]LatentBucket, B)
	for b := range B {
		var g, sp, n, d, pos, neg float64
		for i, u := range units {
			if u.M > 0 && u.Y > 0 {
				pos += wt[i] * gamma[i][b]
			}
			if u.M > 0 && u.Y < u.M {
				neg += wt[i] * gamma[i][b]
			}
			g += wt[i] * gamma[i][b]
			sp += wt[i] * gamma[i][b] * cm[i][b]
			n += wt[i] * gamma[i][b] * float64(u.Y)
			d += wt[i] * gamma[i][b] * float64(u.M)
		}
		out[b] = LatentBucket{Problems: g, StrongPass: math.NaN(), Recovery: math.NaN(), Informative: math.Min(pos, neg)}
		if g > 1e-9 {
			out[b].StrongPass = sp / g
		}
		// Less than a tenth of one continuation's weight says nothing.
		if d > 0.1 {
			out[b].Recovery = n / d
		}
	}
	return out
}

func clampOpen(x float64) float64 { return math.Min(1-1e-9, math.Max(1e-9, x)) }

// Stat computes statistics on a resample of problems given as
// multiplicities: mult[c] is the number of class c's problems in it, with
// repeats (see Classes), and prior the prior refitted to it. Bootstrap and
// Jackknife call it once per draw.
type Stat func(mult []float64, prior PriorFit) []float64

// Bootstrap resamples problems (the clusters) with replacement reps times,
// refits the prior on each resample's counts (warm-started at fit), and
// returns stat of each: draws[r][j] is statistic j in resample r. The
// prior is refitted because it is estimated from the same problems, and
// its uncertainty belongs in every interval that depends on it. Problems
// are drawn one by one, as individuals, and handed to stat as class
// multiplicities, so its work and memory grow with the number of classes,
// not of problems. Resampling is reproducible: a PCG generator seeded with
// seed.
func Bootstrap(cl Classes, fit PriorFit, reps int, seed uint64, stat Stat) [][]float64 {
	n := len(cl.Of)
	if n == 0 {
		return nil
	}
	rng := rand.New(rand.NewPCG(seed, 0xda3e39cb94b95bdb))
	draws := make([][]float64, 0, reps)
	mult := make([]float64, len(cl.Counts))
	for range reps {
		clear(mult)
		for range n {
			mult[cl.Of[rng.IntN(n)]]++
		}
		f, err := fitPriorWeighted(cl.Counts, mult, &fit)
		if err != nil {
			continue
		}
		draws = append(draws, stat(mult, f))
	}
	return draws
}

// Jackknife is the grouped (delete-a-group) jackknife: the problems are
// dealt into min(groups, problems) groups by index (i mod g), and stat
// is evaluated with each group left out in turn, the prior refitted
// (warm-started at fit) to the rest: draws[k] is stat without group k (nil
// where the refit failed). With one problem per group it is the ordinary
// leave-one-out jackknife; groups bounds its cost for large runs. Its
// spread gives JackknifeCov's variances, which come from no resample with
// repeated problems. Measured on the simulator (a hard bucket's posterior
// pass rate, 30 problems, N = 5, 536 replications), neither is exact: the
// jackknife's median variance was close to the real spread over
// replications but its mean 3.6× it (a few delete-one refits jump between
// prior shapes), the bootstrap's mean 2.2×. The report no longer uses it
// (see LognormalRatio).
func Jackknife(cl Classes, fit PriorFit, groups int, stat Stat) [][]float64 {
	n := len(cl.Of)
	g := min(groups, n)
	if g < 2 {
		return nil
	}
	// in[c*g+k] is the number of class c's problems in group k.
	in := make([]float64, len(cl.Counts)*g)
	for i, c := range cl.Of {
		in[int(c)*g+i%g]++
	}
	size := cl.Sizes()
	draws := make([][]float64, g)
	mult := make([]float64, len(cl.Counts))
	for k := range g {
		for c := range mult {
			mult[c] = size[c] - in[c*g+k]
		}
		f, err := fitPriorWeighted(cl.Counts, mult, &fit)
		if err != nil {
			continue
		}
		draws[k] = stat(mult, f)
	}
	return draws
}

// Column returns statistic j of every draw, dropping NaNs.
func Column(draws [][]float64, j int) []float64 {
	var xs []float64
	for _, d := range draws {
		if j < len(d) && !math.IsNaN(d[j]) && !math.IsInf(d[j], 0) {
			xs = append(xs, d[j])
		}
	}
	return xs
}

// BootstrapCI is the interval for a statistic with point estimate point
// and bootstrap draws, at level, over clusters resampled units: the
// percentile interval's two arms about point, each scaled by
// t_{G−1}/z · sqrt(G/(G−1)) — the bootstrap's variance is the plug-in
// (1/G) one and its tails are normal-like, so with few clusters plain
// percentiles undercover — and each arm is at least t_{G−1} times the
// bootstrap standard error (also scaled by sqrt(G/(G−1))): with 200 draws
// a 2.5 % tail holds 5 of them, so percentile arms alone are noisy and on
// average short (measured: the overall strong pass rate covered its
// population truth in 91 % of 120 replications with percentile arms, 94–98 %
// with the floor). Bounds are clipped to [lo, hi]. Fewer than 20 usable
// draws give an undefined interval.
func BootstrapCI(point float64, draws []float64, level float64, clusters int, lo, hi float64) Interval {
	if len(draws) < 20 || math.IsNaN(point) || clusters < 2 {
		return noInterval
	}
	xs := slices.Clone(draws)
	sort.Float64s(xs)
	a := (1 - level) / 2
	ql, qh := quantile(xs, a), quantile(xs, 1-a)
	med := quantile(xs, 0.5)
	g := float64(clusters)
	f := tQ(level, g-1) / normalQ(level) * math.Sqrt(g/(g-1))
	// Each arm is at least the Student-t arm on the bootstrap standard
	// error: 200 draws put 5 in each 2.5 % tail, so the percentile arms are
	// noisy and, on average over replications, too short.
	sd := tQ(level, g-1) * math.Sqrt(Var(xs)*g/(g-1))
	l := point - math.Max(f*(med-ql), sd)
	h := point + math.Max(f*(qh-med), sd)
	return Interval{Lo: math.Max(lo, math.Min(l, point)), Hi: math.Min(hi, math.Max(h, point))}
}

// Var is the sample variance of xs (NaN with fewer than two).
func Var(xs []float64) float64 {
	if len(xs) < 2 {
		return math.NaN()
	}
	var s, ss float64
	for _, x := range xs {
		s += x
	}
	mu := s / float64(len(xs))
	for _, x := range xs {
		ss += (x - mu) * (x - mu)
	}
	return ss / float64(len(xs)-1)
}

func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	x := q * float64(len(sorted)-1)
	i := int(x)
	if i >= len(sorted)-1 {
		return sorted[len(sorted)-1]
	}
	f := x - float64(i)
	return sorted[i]*(1-f) + sorted[i+1]*f
}

// PosteriorMeans returns each unit's posterior mean pass rate under prior:
// the winner's-curse-free per-problem estimate (averaged over the problems
// of an observed bucket it is unbiased for the bucket's mean true pass rate
// when the prior is right, because the bucket is a function of the counts).
func PosteriorMeans(counts []difficulty.Count, prior difficulty.Mixture) []float64 {
	out := make([]float64, len(counts))
	seen := map[difficulty.Count]float64{}
	for i, c := range counts {
		v, ok := seen[c]
		if !ok {
			v = prior.Posterior(c.K, c.N).Mean()
			seen[c] = v
		}
		out[i] = v
	}
	return out
}
