package recovery

import (
	"fmt"
	"image/color"
	"math"
	"path/filepath"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Plot file stems written by WritePlots, each as .svg and .png.
const (
	PlotRecoveryByBucket = "recovery_by_bucket"
	PlotPassRates        = "pass_rates"
	PlotRecoveryByDepth  = "recovery_by_depth"
)

var (
	colStrong   = color.RGBA{R: 31, G: 119, B: 180, A: 255}
	colWeak     = color.RGBA{R: 255, G: 127, B: 14, A: 255}
	colRecovery = color.RGBA{R: 214, G: 39, B: 40, A: 255}
	colLatent   = color.RGBA{R: 148, G: 103, B: 189, A: 255}
)

// WritePlots renders the report's plots into dir, each as SVG, PDF and PNG
// (FigureDPI) with print-readable fonts: recovery per bucket with 95 %
// intervals over the intrinsic strong and weak pass rates (also with
// intervals), bucket labels carrying their problem counts, one panel per
// strategy when the run used several; the histogram of straight-shot pass
// rates; and recovery by truncation depth. A summary without continuations
// (a calibration-only main) gets the histogram only: no empty recovery
// plots.
func WritePlots(dir string, s Summary) error {
	save := func(name string, w vg.Length, grid [][]*plot.Plot) error {
		return SaveFigure(filepath.Join(dir, name), w, 10*vg.Centimeter, grid)
	}
	p, err := PassRatePlot(s)
	if err != nil {
		return fmt.Errorf("recovery: plot %s: %w", PlotPassRates, err)
	}
	if err := save(PlotPassRates, 16*vg.Centimeter, [][]*plot.Plot{{p}}); err != nil {
		return err
	}
	if s.Overall.Continuations == 0 {
		return nil
	}
	var row []*plot.Plot
	if len(s.ByStrategy) > 1 {
		for _, ss := range s.ByStrategy {
			p, err := recoveryByBucketPanel(s, ss.Buckets, "Recovery by bucket: "+ss.Strategy, false)
			if err != nil {
				return fmt.Errorf("recovery: plot %s: %w", PlotRecoveryByBucket, err)
			}
			row = append(row, p)
		}
	} else {
		p, err := RecoveryByBucketPlot(s)
		if err != nil {
			return fmt.Errorf("recovery: plot %s: %w", PlotRecoveryByBucket, err)
		}
		row = append(row, p)
	}
	if err := SaveFigure(filepath.Join(dir, PlotRecoveryByBucket), 0, 0, panelGrid(row)); err != nil {
		return err
	}
	p, err = RecoveryByDepthPlot(s)
	if err != nil {
		return fmt.Errorf("recovery: plot %s: %w", PlotRecoveryByDepth, err)
	}
	return save(PlotRecoveryByDepth, 16*vg.Centimeter, [][]*plot.Plot{{p}})
}

// RecoveryByBucketPlot plots recovery per bucket with its interval as
// whiskers, overlaid on the intrinsic strong and weak pass rates with
// theirs; each bucket's label carries its problem count.
func RecoveryByBucketPlot(s Summary) (*plot.Plot, error) {
	return recoveryByBucketPanel(s, s.Buckets, "Recovery by difficulty bucket", true)
}

// With latent set (the pooled headline), the latent-bucket recovery of
// s.Latent is drawn beside the observed one, both named as such.
func recoveryByBucketPanel(s Summary, buckets []BucketSummary, title string, latent bool) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = "rate"
	p.X.Label.Text = "bucket: observed by strong k/n (n = problems); latent by true pass rate"
	setFontSizes(p, 11)
	names := make([]string, len(buckets))
	for i, b := range buckets {
		names[i] = fmt.Sprintf("%s\nn=%d", b.Name, b.Problems)
	}
	p.NominalX(names...)
	p.X.Min, p.X.Max = -0.5, float64(max(len(buckets), 1))-0.5
	p.Y.Min, p.Y.Max = 0, 1.35 // headroom for the legend above the data
	p.Y.Tick.Marker = unitTicks{}
	p.Legend.Top, p.Legend.Left = true, true
	p.Legend.XOffs = vg.Points(6)
	p.Add(plotter.NewGrid())

	series := []struct {
		label string
		rate  func(BucketSummary) Rate
		ci    func(BucketSummary) [2]Rate
		c     color.Color
		g     draw.GlyphDrawer
		off   float64
		dash  bool
	}{
		{"strong pass rate (posterior mean, 95% CI)", func(b BucketSummary) Rate { return b.StrongPassRate },
			func(b BucketSummary) [2]Rate {
				if b.StrongPassCI[0].Defined() {
					return b.StrongPassCI
				}
				return s.bucketPassCI(b.Name, false)
			}, colStrong, draw.CircleGlyph{}, -0.12, true},
		{"weak pass rate (95% CI)", func(b BucketSummary) Rate { return b.WeakPassRate },
			func(b BucketSummary) [2]Rate { return s.bucketPassCI(b.Name, true) }, colWeak, draw.SquareGlyph{}, 0, true},
		{"recovery, observed bucket (95% CI)", func(b BucketSummary) Rate { return b.RecoveryRate },
			func(b BucketSummary) [2]Rate { return b.RecoveryCI }, colRecovery, draw.TriangleGlyph{}, 0.12, false},
	}
	if latent && s.Latent != nil {
		lat := func(b BucketSummary) (LatentBucketSummary, bool) {
			// Latent buckets are named "hard (true 0–0.2)": match by the
			// bucket's own name, the first word of both.
			for _, l := range s.Latent.Buckets {
				if strings.SplitN(l.Name, " ", 2)[0] == strings.SplitN(b.Name, " ", 2)[0] {
					return l, true
				}
			}
			return LatentBucketSummary{}, false
		}
		series = append(series, struct {
			label string
			rate  func(BucketSummary) Rate
			ci    func(BucketSummary) [2]Rate
			c     color.Color
			g     draw.GlyphDrawer
			off   float64
			dash  bool
		}{"recovery, latent bucket by true pass rate (EM, 95% CI)",
			func(b BucketSummary) Rate {
				if l, ok := lat(b); ok {
					return l.RecoveryRate
				}
				return Rate(math.NaN())
			},
			func(b BucketSummary) [2]Rate { l, _ := lat(b); return l.RecoveryCI },
			colLatent, draw.PyramidGlyph{}, 0.24, true})
	}
	for _, sr := range series {
		var pts xyErr
		for i, b := range buckets {
			r := sr.rate(b)
			if !r.Defined() {
				continue
			}
			pts.XYs = append(pts.XYs, plotter.XY{X: float64(i) + sr.off, Y: float64(r)})
			lo, hi := errOf(r, sr.ci(b))
			pts.YErrors = append(pts.YErrors, struct{ Low, High float64 }{lo, hi})
		}
		if len(pts.XYs) == 0 {
			continue
		}
		if len(pts.XYs) > 1 {
			l, err := plotter.NewLine(pts.XYs)
			if err != nil {
				return nil, err
			}
			l.Color, l.Width = sr.c, vg.Points(1.2)
			if sr.dash {
				l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
			}
			p.Add(l)
		}
		if err := addErrPoints(p, pts, sr.c, sr.g, sr.label, false); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// PassRateBins is the number of histogram bins of PassRatePlot when the
// pass rates are not all multiples of 1/m for a small m.
const PassRateBins = 10

// rateGrid returns m if every rate is a multiple of 1/m for some m ≤ 20
// (the usual case: k of n samples with one n), else 0.
func rateGrid(rates []float64) int {
	for m := 1; m <= 20; m++ {
		ok := true
		for _, r := range rates {
			if x := r * float64(m); math.Abs(x-math.Round(x)) > 1e-6 {
				ok = false
				break
			}
		}
		if ok {
			return m
		}
	}
	return 0
}

// PassRatePlot is the histogram of per-problem straight-shot pass rates of
// the strong and the weak model, side by side; a bimodal distribution shows
// as mass at both ends. When the rates are k/n for one n, each k/n gets its
// own bin.
func PassRatePlot(s Summary) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = "Straight-shot pass rates"
	setFontSizes(p, 11)
	p.X.Label.Text = "per-problem pass rate k/n"
	p.Y.Label.Text = "problems"
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	all, _ := rateCounts(append(slices.Clone(s.PassRateCounts), s.WeakPassRateCounts...))
	m := rateGrid(all)
	// Bin i is centred at centre(i) with width w.
	nbins, w := PassRateBins, 1.0/PassRateBins
	centre := func(i int) float64 { return (float64(i) + 0.5) / PassRateBins }
	index := func(r float64) int { return max(0, min(int(r*PassRateBins), PassRateBins-1)) }
	if m > 0 {
		nbins, w = m+1, 1.0/float64(m)
		centre = func(i int) float64 { return float64(i) / float64(m) }
		index = func(r float64) int { return int(math.Round(r * float64(m))) }
	}
	p.X.Min, p.X.Max = centre(0)-w/2, centre(nbins-1)+w/2
	if m > 0 && m <= 12 {
		p.X.Tick.Marker = fractionTicks(m)
		p.X.Label.Text = fmt.Sprintf("per-problem pass rate k/%d (one bin per value)", m)
	}
	ymax := 0.0
	hist := func(rates []RateCount, c color.NRGBA, label string, side float64) {
		if len(rates) == 0 {
			return
		}
		h := &plotter.Histogram{Width: w * 0.45, FillColor: c, LineStyle: plotter.DefaultLineStyle}
		h.LineStyle.Color = color.White
		for i := range nbins {
			lo := centre(i) + side*w*0.45
			h.Bins = append(h.Bins, plotter.HistogramBin{Min: lo, Max: lo + w*0.45})
		}
		for _, r := range rates {
			h.Bins[index(r.Rate)].Weight += float64(r.Problems)
		}
		for _, b := range h.Bins {
			ymax = math.Max(ymax, b.Weight)
		}
		p.Add(h)
		p.Legend.Add(label, h)
	}
	hist(s.PassRateCounts, color.NRGBA{R: 31, G: 119, B: 180, A: 255}, fmt.Sprintf("strong (%d problems)", problemsIn(s.PassRateCounts)), -1)
	hist(s.WeakPassRateCounts, color.NRGBA{R: 255, G: 127, B: 14, A: 255}, fmt.Sprintf("weak (%d problems)", problemsIn(s.WeakPassRateCounts)), 0)
	p.Y.Min, p.Y.Max = 0, math.Max(1, ymax*1.25) // headroom for the legend
	return p, nil
}

// RecoveryByDepthPlot plots recovery against truncation depth (bin
// midpoints of perturb.Prefix.Depth), all strategies pooled, with each
// bin's 95 % interval clustered by problem as whiskers and its continuation
// and problem counts above them.
func RecoveryByDepthPlot(s Summary) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = "Recovery by truncation depth (all strategies pooled)"
	setFontSizes(p, 11)
	p.X.Label.Text = "share of the source trace kept in the prefix"
	p.Y.Label.Text = "recovery rate (95% CI)"
	p.X.Min, p.X.Max = 0, 1
	p.Y.Min, p.Y.Max = 0, 1.12 // headroom for the counts above a whisker near 1
	p.Add(plotter.NewGrid())
	p.Y.Tick.Marker = unitTicks{}
	pts, top, counts := depthSeries(s)
	if len(pts.XYs) == 0 {
		return p, nil
	}
	if len(pts.XYs) > 1 {
		l, err := plotter.NewLine(pts.XYs)
		if err != nil {
			return nil, err
		}
		l.Color, l.Width = colRecovery, vg.Points(1.5)
		p.Add(l)
	}
	if err := addErrPoints(p, pts, colRecovery, draw.TriangleGlyph{}, "", false); err != nil {
		return nil, err
	}
	lb, err := plotter.NewLabels(plotter.XYLabels{XYs: top, Labels: counts})
	if err != nil {
		return nil, err
	}
	for i := range lb.TextStyle {
		lb.TextStyle[i].Font.Size = 9
		lb.TextStyle[i].XAlign = draw.XCenter
	}
	lb.Offset = vg.Point{Y: vg.Points(4)}
	p.Add(lb)
	return p, nil
}

// depthSeries is the depth plot's points with their whiskers, the top of
// each whisker (where its counts go) and the counts.
func depthSeries(s Summary) (pts xyErr, top plotter.XYs, counts []string) {
	for _, d := range s.ByDepth {
		if !d.RecoveryRate.Defined() {
			continue
		}
		y := float64(d.RecoveryRate)
		pts.XYs = append(pts.XYs, plotter.XY{X: d.Depth, Y: y})
		lo, hi := errOf(d.RecoveryRate, d.RecoveryCI)
		pts.YErrors = append(pts.YErrors, struct{ Low, High float64 }{lo, hi})
		top = append(top, plotter.XY{X: d.Depth, Y: y + hi})
		label := fmt.Sprintf("n=%d", d.Continuations)
		if d.Problems > 0 {
			label = fmt.Sprintf("n=%d (%d problems)", d.Continuations, d.Problems)
		}
		counts = append(counts, label)
	}
	return pts, top, counts
}

// fractionTicks labels every k/m in [0, 1].
type fractionTicks int

func (m fractionTicks) Ticks(lo, hi float64) []plot.Tick {
	var out []plot.Tick
	for k := 0; k <= int(m); k++ {
		out = append(out, plot.Tick{Value: float64(k) / float64(m), Label: fmt.Sprintf("%d/%d", k, int(m))})
	}
	return out
}
