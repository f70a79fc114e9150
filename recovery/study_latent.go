package recovery

import (
	"fmt"
	"image/color"
	"math"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/rebound-lab/rebound/difficulty"
	"github.com/rebound-lab/rebound/estimate"
)

// LatentRow is one model's estimate for one strategy and latent bucket: the
// problems whose TRUE straight-shot pass rate (for this model) lies in the
// bucket's range. No problem is known to be in a latent bucket; the rates
// come from the mixture model of estimate.Latent under the prior fitted to
// the model's own straight-shot counts (as in a run's report.md).
type LatentRow struct {
	Strategy string `json:"strategy"`
	// Bucket names the range, e.g. "hard (true 0–0.2)".
	Bucket string `json:"bucket"`
	// Lo and Hi are the bucket's range of true pass rates.
	Lo float64 `json:"lo"`
	Hi float64 `json:"hi"`
	// Problems is the expected number of the model's calibrated problems in
	// the bucket.
	Problems float64 `json:"problems"`
	// PassRate is the mean true pass rate of the bucket's problems.
	PassRate   Rate    `json:"pass_rate"`
	PassRateCI [2]Rate `json:"pass_rate_ci"`
	// Recovery is the recovery rate of the strategy's continuations of the
	// bucket's problems (EM over every continuation, see estimate.Latent).
	Recovery   Rate    `json:"recovery"`
	RecoveryCI [2]Rate `json:"recovery_ci"`
	// Normalized is Recovery ÷ PassRate.
	Normalized   Rate    `json:"normalized_recovery"`
	NormalizedCI [2]Rate `json:"normalized_recovery_ci"`
}

// latentStats is the number of bootstrap statistics per strategy and
// latent bucket: pass, recovery, normalized, problems, informative.
const latentStats = 5

// latentRows computes m's latent rows for strategies, with 95 %-style
// cluster-bootstrap intervals at level over problems that refit the prior
// (estimate.Bootstrap), as a run's latent block does. names are the
// observed buckets' names (their first word names the latent bucket) and
// edges the inner edges. It returns nil (and no prior) when the model has
// no calibrated problems or no continuations.
func latentRows(m *ModelCounts, strategies, names []string, edges []float64, level float64, reps int) ([]LatentRow, *PriorSummary) {
	var counts []difficulty.Count
	var ids []string
	seen := map[string]bool{}
	for _, id := range m.Order {
		p, ok := m.Problems[id]
		if !ok || p.N <= 0 || seen[id] {
			continue
		}
		seen[id] = true
		counts = append(counts, difficulty.Count{K: p.K, N: p.N})
		ids = append(ids, id)
	}
	if len(counts) == 0 {
		return nil, nil
	}
	// units[s][i]: problem i's straight-shot counts and strategy s's
	// continuation counts.
	units := make([][]estimate.Unit, len(strategies))
	var used []int
	for s, st := range strategies {
		units[s] = make([]estimate.Unit, len(ids))
		cont := false
		for i, id := range ids {
			p := m.Problems[id]
			c := p.Continued[st]
			units[s][i] = estimate.Unit{K: p.K, N: p.N, Y: c.Recovered, M: c.Continuations}
			cont = cont || c.Continuations > 0
		}
		if cont {
			used = append(used, s)
		}
	}
	if len(used) == 0 {
		return nil, nil
	}
	fit, err := estimate.FitPrior(counts)
	if err != nil {
		return nil, nil
	}
	nb := len(edges) + 1
	stat := func(mult []float64, f estimate.PriorFit) []float64 {
		out := make([]float64, 0, len(used)*nb*latentStats)
		for _, s := range used {
			for _, lb := range estimate.LatentWeighted(units[s], mult, f.Mixture, edges) {
				nr := math.NaN()
				if lb.StrongPass > 0 {
					nr = lb.Recovery / lb.StrongPass
				}
				out = append(out, lb.StrongPass, lb.Recovery, nr, lb.Problems, lb.Informative)
			}
		}
		return out
	}
	point, alt, draws := bootstrapStat(estimate.Each(counts), fit, reps, stat)
	rate := func(x float64) Rate {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return NoRate
		}
		return Rate(x)
	}
	bound := func(x float64) Rate {
		if math.IsNaN(x) {
			return NoRate
		}
		return Rate(x)
	}
	iv := func(v estimate.Interval) [2]Rate { return [2]Rate{bound(v.Lo), bound(v.Hi)} }
	var rows []LatentRow
	for u, s := range used {
		for b := range nb {
			lo, hi := 0.0, 1.0
			if b > 0 {
				lo = edges[b-1]
			}
			if b < len(edges) {
				hi = edges[b]
			}
			k := (u*nb + b) * latentStats
			g := max(2, int(math.Round(point[k+3])))
			pass := estimate.BootstrapCI(point[k], estimate.Column(draws, k), level, g, 0, 1)
			if x := alt[k]; !math.IsNaN(pass.Lo) && !math.IsNaN(x) {
				// The other prior model's estimate widens the interval
				// (model uncertainty that resampling one model misses).
				pass = estimate.Interval{Lo: math.Min(pass.Lo, x), Hi: math.Max(pass.Hi, x)}
			}
			rec := estimate.BootstrapCI(point[k+1], estimate.Column(draws, k+1), level, g, 0, 1)
			nr := estimate.BootstrapCI(point[k+2], estimate.Column(draws, k+2), level, g, 0, math.Inf(1))
			if point[k+4] < minInformative && !math.IsNaN(point[k+1]) {
				// Degenerate bootstrap (nearly every problem all or nothing
				// on one side): widen recovery to one effective trial per
				// expected problem, and bound the ratio by the two
				// intervals' ends.
				w := estimate.WilsonT(point[k+1], point[k+3], level)
				rec = estimate.Interval{Lo: math.Min(nanTo(rec.Lo, w.Lo), w.Lo), Hi: math.Max(nanTo(rec.Hi, w.Hi), w.Hi)}
				if !math.IsNaN(pass.Lo) && pass.Hi > 0 {
					h := math.Inf(1)
					if pass.Lo > 0 {
						h = rec.Hi / pass.Lo
					}
					nr = estimate.Interval{Lo: math.Min(nanTo(nr.Lo, rec.Lo/pass.Hi), rec.Lo/pass.Hi), Hi: math.Max(nanTo(nr.Hi, h), h)}
				}
			}
			rows = append(rows, LatentRow{Strategy: strategies[s], Bucket: latentName(names, b, lo, hi), Lo: lo, Hi: hi,
				Problems: point[k+3], PassRate: rate(point[k]), PassRateCI: iv(pass), Recovery: rate(point[k+1]),
				RecoveryCI: iv(rec), Normalized: rate(point[k+2]), NormalizedCI: iv(nr)})
		}
	}
	return rows, &PriorSummary{Kind: fit.Kind, Mixture: fit.Mixture, Text: fit.Mixture.String(), Problems: fit.Problems}
}

// latentName is "<first word of the observed bucket's name> (true lo–hi)",
// as in a run's latent table.
func latentName(names []string, b int, lo, hi float64) string {
	name := fmt.Sprintf("latent %d", b)
	if b < len(names) && names[b] != "" {
		name = strings.SplitN(names[b], " ", 2)[0]
	}
	return fmt.Sprintf("%s (true %.2g–%.2g)", name, lo, hi)
}

// LatentRows returns the model's latent rows of strategy, in bucket order.
func (m ModelRates) LatentRows(strategy string) []LatentRow {
	var out []LatentRow
	for _, r := range m.Latent {
		if r.Strategy == strategy {
			out = append(out, r)
		}
	}
	return out
}

// latentMethod is study.md's paragraph on the latent rows.
const latentMethod = "Latent buckets hold the problems whose TRUE pass rate for that model lies in the bucket's range; no problem is " +
	"known to be in one, so each model's latent rows come from a mixture model (estimate.Latent): a problem's bucket is unknown " +
	"with prior probabilities from its straight-shot posterior under the prior fitted to that model's counts, and recovery per " +
	"latent bucket is fitted by EM over the strategy's continuations. Pass is the bucket's mean true pass rate, normalized " +
	"recovery = recovery ÷ pass, problems the expected count. Intervals: cluster bootstrap over problems that refits the prior " +
	"each time (pass-rate intervals also span the other prior model's estimate); where almost every problem of a bucket " +
	"recovered all or none of its continuations, recovery is widened to one effective trial per expected problem and the ratio " +
	"bounded by the two intervals' ends. Latent buckets are each model's own (true difficulty differs between models), so " +
	"paired differences are over observed buckets and overall only."

// writeLatentTable writes strategy st's latent rows of every model, if any.
func writeLatentTable(b *strings.Builder, c Comparison, st string) {
	started := false
	for _, m := range c.Models {
		for _, r := range m.LatentRows(st) {
			if !started {
				b.WriteString("#### Latent buckets (true difficulty, estimated)\n\n" +
					"| model | latent bucket | problems (expected) | pass rate (CI) | recovery (CI) | normalized (CI) |\n|---|---|---:|---|---|---|\n")
				started = true
			}
			fmt.Fprintf(b, "| %s | %s | %.1f | %s %s | %s %s | %s %s |\n", m.Model, r.Bucket, r.Problems, r.PassRate, studyCI(r.PassRateCI),
				r.Recovery, studyCI(r.RecoveryCI), r.Normalized, studyCI(r.NormalizedCI))
		}
	}
	if started {
		b.WriteString("\n")
	}
}

func (c Comparison) hasLatent() bool {
	for _, m := range c.Models {
		if len(m.Latent) > 0 {
			return true
		}
	}
	return false
}

// StudyLatentPlot plots, for one strategy, each model's recovery against
// its true pass rate, one point per latent bucket (both with their
// bootstrap intervals) joined in bucket order; the diagonal is recovery
// equal to the pass rate. Unlike observed buckets, the x values carry no
// winner's curse (the samples that chose a bucket do not also measure it).
// Buckets with less than one expected problem are left out.
func StudyLatentPlot(c Comparison, strategy string) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = "Latent buckets: " + strategy
	p.X.Label.Text = "true pass rate (latent bucket mean, 95% CI)"
	p.Y.Label.Text = "recovery rate (95% CI)"
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, 1, 0, 1.3 // headroom for the legend
	p.Add(plotter.NewGrid())
	setFontSizes(p, 11)
	p.Legend.Top, p.Legend.Left = true, true
	p.Legend.XOffs = vg.Points(6)
	diag, err := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}, {X: 1, Y: 1}})
	if err != nil {
		return nil, err
	}
	diag.Color, diag.Dashes = color.Gray{Y: 150}, []vg.Length{vg.Points(2), vg.Points(2)}
	p.Add(diag)
	p.Y.Tick.Marker = unitTicks{}
	for i, m := range c.Models {
		var pts xyErr
		for _, r := range m.LatentRows(strategy) {
			if r.Problems < 1 || !r.Recovery.Defined() || !r.PassRate.Defined() {
				continue
			}
			pts.add(r.PassRate, r.PassRateCI, r.Recovery, r.RecoveryCI)
		}
		if err := addErrPoints(p, pts, modelColor(i), modelGlyph(i), m.Model, true); err != nil {
			return nil, err
		}
	}
	return p, nil
}
