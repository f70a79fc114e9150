package recovery

import (
	"fmt"
	"image/color"
	"math"
	"path/filepath"
	"slices"

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
)

// WritePlots renders the report's plots into dir as SVG and PNG:
// recovery per bucket with 95 % whiskers over the intrinsic strong and weak
// pass rates, the histogram of straight-shot pass rates, and recovery by
// truncation depth.
func WritePlots(dir string, s Summary) error {
	plots := []struct {
		name string
		make func(Summary) (*plot.Plot, error)
	}{
		{PlotRecoveryByBucket, RecoveryByBucketPlot},
		{PlotPassRates, PassRatePlot},
		{PlotRecoveryByDepth, RecoveryByDepthPlot},
	}
	for _, pl := range plots {
		p, err := pl.make(s)
		if err != nil {
			return fmt.Errorf("recovery: plot %s: %w", pl.name, err)
		}
		for _, ext := range []string{".svg", ".png"} {
			path := filepath.Join(dir, pl.name+ext)
			if err := p.Save(16*vg.Centimeter, 10*vg.Centimeter, path); err != nil {
				return fmt.Errorf("recovery: save %s: %w", path, err)
			}
		}
	}
	return nil
}

func ratePoints(bs []BucketSummary, get func(BucketSummary) Rate) plotter.XYs {
	var xy plotter.XYs
	for i, b := range bs {
		if r := get(b); r.Defined() {
			xy = append(xy, plotter.XY{X: float64(i), Y: float64(r)})
		}
	}
	return xy
}

// RecoveryByBucketPlot plots recovery per bucket with its interval as
// whiskers, overlaid on the intrinsic strong and weak pass rates.
func RecoveryByBucketPlot(s Summary) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = "Recovery by difficulty bucket"
	p.Y.Label.Text = "rate"
	p.X.Label.Text = "bucket: observed (left points, by k/n) and latent (right, by true pass rate)"
	p.Y.Min, p.Y.Max = 0, 1
	p.X.Min, p.X.Max = -0.5, float64(max(len(s.Buckets), 1))-0.5
	names := make([]string, len(s.Buckets))
	for i, b := range s.Buckets {
		names[i] = b.Name
	}
	p.NominalX(names...)
	p.Y.Max = 1.05
	p.Legend.Top = true
	p.Legend.Left = true
	p.Legend.XOffs = vg.Points(10)
	p.Add(plotter.NewGrid())

	add := func(label string, xy plotter.XYs, c color.Color, shape draw.GlyphDrawer, dash bool) error {
		if len(xy) == 0 {
			return nil
		}
		l, sc, err := plotter.NewLinePoints(xy)
		if err != nil {
			return err
		}
		l.Color = c
		l.Width = vg.Points(1.5)
		if dash {
			l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		}
		sc.Color = c
		sc.Shape = shape
		sc.Radius = vg.Points(3.5)
		p.Add(l, sc)
		p.Legend.Add(label, l, sc)
		return nil
	}
	if err := add("strong pass rate (posterior mean)", ratePoints(s.Buckets, func(b BucketSummary) Rate { return b.StrongPassRate }),
		colStrong, draw.CircleGlyph{}, true); err != nil {
		return nil, err
	}
	if err := add("weak pass rate", ratePoints(s.Buckets, func(b BucketSummary) Rate { return b.WeakPassRate }),
		colWeak, draw.SquareGlyph{}, true); err != nil {
		return nil, err
	}
	rec := ratePoints(s.Buckets, func(b BucketSummary) Rate { return b.RecoveryRate })
	if err := add("recovery, observed bucket (95% CI)", rec, colRecovery, draw.TriangleGlyph{}, false); err != nil {
		return nil, err
	}
	if len(rec) > 0 {
		var errs plotter.YErrors
		var pts plotter.XYs
		for i, b := range s.Buckets {
			if !b.RecoveryRate.Defined() || !b.RecoveryCI[0].Defined() {
				continue
			}
			r := float64(b.RecoveryRate)
			pts = append(pts, plotter.XY{X: float64(i), Y: r})
			errs = append(errs, struct{ Low, High float64 }{r - float64(b.RecoveryCI[0]), float64(b.RecoveryCI[1]) - r})
		}
		if len(pts) > 0 {
			eb, err := plotter.NewYErrorBars(struct {
				plotter.XYer
				plotter.YErrorer
			}{pts, errs})
			if err != nil {
				return nil, err
			}
			eb.Color = colRecovery
			eb.LineStyle.Width = vg.Points(1.5)
			eb.CapWidth = vg.Points(8)
			p.Add(eb)
		}
	}
	if err := addLatent(p, s); err != nil {
		return nil, err
	}
	return p, nil
}

var colLatent = color.RGBA{R: 148, G: 103, B: 189, A: 255}

// addLatent overlays recovery per LATENT bucket (problems whose true pass
// rate lies in the bucket, estimate.Latent), a little to the right of the
// observed buckets' points, with its interval.
func addLatent(p *plot.Plot, s Summary) error {
	if s.Latent == nil {
		return nil
	}
	var pts plotter.XYs
	var errs plotter.YErrors
	for i, l := range s.Latent.Buckets {
		if i >= len(s.Buckets) || !l.RecoveryRate.Defined() || !l.RecoveryCI[0].Defined() {
			continue
		}
		r := float64(l.RecoveryRate)
		pts = append(pts, plotter.XY{X: float64(i) + 0.15, Y: r})
		errs = append(errs, struct{ Low, High float64 }{r - float64(l.RecoveryCI[0]), float64(l.RecoveryCI[1]) - r})
	}
	if len(pts) == 0 {
		return nil
	}
	sc, err := plotter.NewScatter(pts)
	if err != nil {
		return err
	}
	sc.Color = colLatent
	sc.Shape = draw.PyramidGlyph{}
	sc.Radius = vg.Points(3.5)
	eb, err := plotter.NewYErrorBars(struct {
		plotter.XYer
		plotter.YErrorer
	}{pts, errs})
	if err != nil {
		return err
	}
	eb.Color = colLatent
	eb.LineStyle.Width = vg.Points(1.5)
	eb.CapWidth = vg.Points(6)
	p.Add(sc, eb)
	p.Legend.Add("recovery, latent bucket by true pass rate (EM, 95% CI)", sc)
	return nil
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
	p.X.Label.Text = "per-problem pass rate k/n"
	p.Y.Label.Text = "problems"
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	all := append(slices.Clone(s.PassRates), s.WeakPassRates...)
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
	ymax := 0.0
	hist := func(rates []float64, c color.NRGBA, label string, side float64) {
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
			h.Bins[index(r)].Weight++
		}
		for _, b := range h.Bins {
			ymax = math.Max(ymax, b.Weight)
		}
		p.Add(h)
		p.Legend.Add(label, h)
	}
	hist(s.PassRates, color.NRGBA{R: 31, G: 119, B: 180, A: 255}, fmt.Sprintf("strong (%d problems)", len(s.PassRates)), -1)
	hist(s.WeakPassRates, color.NRGBA{R: 255, G: 127, B: 14, A: 255}, fmt.Sprintf("weak (%d problems)", len(s.WeakPassRates)), 0)
	p.Y.Min, p.Y.Max = 0, math.Max(1, ymax*1.25) // headroom for the legend
	return p, nil
}

// RecoveryByDepthPlot plots recovery against truncation depth (bin
// midpoints of perturb.Prefix.Depth).
func RecoveryByDepthPlot(s Summary) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = "Recovery by truncation depth"
	p.X.Label.Text = "share of the source trace kept in the prefix"
	p.Y.Label.Text = "recovery rate"
	p.X.Min, p.X.Max = 0, 1
	p.Y.Min, p.Y.Max = 0, 1
	p.Add(plotter.NewGrid())
	var xy plotter.XYs
	for _, d := range s.ByDepth {
		if d.RecoveryRate.Defined() {
			xy = append(xy, plotter.XY{X: d.Depth, Y: float64(d.RecoveryRate)})
		}
	}
	if len(xy) > 0 {
		l, sc, err := plotter.NewLinePoints(xy)
		if err != nil {
			return nil, err
		}
		l.Color = colRecovery
		l.Width = vg.Points(1.5)
		sc.Color = colRecovery
		sc.Shape = draw.TriangleGlyph{}
		sc.Radius = vg.Points(3.5)
		p.Add(l, sc)
	}
	return p, nil
}
