package recovery

import (
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgpdf"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Study plot file stems written by WriteStudyPlots, each as .svg, .pdf and
// .png.
const (
	PlotStudyRecoveryVsPass   = "study_recovery_vs_pass"
	PlotStudyRecoveryByBucket = "study_recovery_by_bucket"
	PlotStudyPaired           = "study_paired_differences"
	// PlotStudyLatent is recovery against the true pass rate per latent
	// bucket and model (Comparison rows from CompareOptions.Edges).
	PlotStudyLatent = "study_latent_recovery_vs_pass"
)

// FigureDPI is the resolution of PNG figures: 300, print quality. Lower it
// for quick drafts (rasterizing is the slow part of writing a report; the
// SVG and PDF are vector and unaffected).
var FigureDPI = 300

// FigureFormats are the file formats SaveFigure writes, by extension
// (".svg", ".pdf", ".png"); by default all three. PDFs embed their fonts
// (journals require it), which makes them the slowest to write after
// 300-dpi PNGs.
var FigureFormats = []string{".svg", ".pdf", ".png"}

// modelColors is a colour-blind-safe palette (Okabe–Ito) for models.
var modelColors = []color.Color{
	color.RGBA{R: 0, G: 114, B: 178, A: 255},
	color.RGBA{R: 213, G: 94, B: 0, A: 255},
	color.RGBA{R: 0, G: 158, B: 115, A: 255},
	color.RGBA{R: 204, G: 121, B: 167, A: 255},
	color.RGBA{R: 230, G: 159, B: 0, A: 255},
	color.RGBA{R: 86, G: 180, B: 233, A: 255},
	color.RGBA{R: 0, G: 0, B: 0, A: 255},
}

var modelGlyphs = []draw.GlyphDrawer{draw.CircleGlyph{}, draw.SquareGlyph{}, draw.TriangleGlyph{}, draw.PyramidGlyph{},
	draw.RingGlyph{}, draw.BoxGlyph{}, draw.CrossGlyph{}}

func modelColor(i int) color.Color      { return modelColors[i%len(modelColors)] }
func modelGlyph(i int) draw.GlyphDrawer { return modelGlyphs[i%len(modelGlyphs)] }

// setFontSizes sets a plot's text to print-readable sizes: title size+2,
// labels size, ticks and legend size−1 (points).
func setFontSizes(p *plot.Plot, size float64) {
	p.Title.TextStyle.Font.Size = font.Length(size + 2)
	for _, ax := range []*plot.Axis{&p.X, &p.Y} {
		ax.Label.TextStyle.Font.Size = font.Length(size)
		ax.Tick.Label.Font.Size = font.Length(size - 1)
	}
	p.Legend.TextStyle.Font.Size = font.Length(size - 1)
}

// Panel sizes of multi-panel figures.
const (
	panelWidth  = 12 * vg.Centimeter
	panelHeight = 9.5 * vg.Centimeter
)

// panelGrid lays plots out in rows of at most two.
func panelGrid(ps []*plot.Plot) [][]*plot.Plot {
	if len(ps) == 1 {
		return [][]*plot.Plot{ps}
	}
	var grid [][]*plot.Plot
	for i := 0; i < len(ps); i += 2 {
		grid = append(grid, ps[i:min(i+2, len(ps))])
	}
	return grid
}

// SaveFigure writes the rows × cols grid of plots (nil cells stay empty) as
// base.svg, base.pdf and base.png (FigureDPI) of size w × h; a zero w or h
// means panelWidth per column (16 cm for a single plot) or panelHeight per
// row (10 cm for a single plot).
func SaveFigure(base string, w, h vg.Length, grid [][]*plot.Plot) error {
	rows := len(grid)
	if rows == 0 {
		return fmt.Errorf("recovery: figure %s: no plots", base)
	}
	cols := 0
	for _, r := range grid {
		cols = max(cols, len(r))
	}
	if w == 0 {
		w = vg.Length(cols) * panelWidth
		if rows == 1 && cols == 1 {
			w = 16 * vg.Centimeter
		}
	}
	if h == 0 {
		h = vg.Length(rows) * panelHeight
		if rows == 1 && cols == 1 {
			h = 10 * vg.Centimeter
		}
	}
	render := func(c draw.Canvas) {
		if rows == 1 && cols == 1 {
			grid[0][0].Draw(c)
			return
		}
		t := draw.Tiles{Rows: rows, Cols: cols, PadX: vg.Millimeter * 3, PadY: vg.Millimeter * 3,
			PadTop: vg.Millimeter, PadBottom: vg.Millimeter, PadLeft: vg.Millimeter, PadRight: vg.Millimeter}
		cells := make([][]*plot.Plot, rows)
		for i := range grid {
			cells[i] = make([]*plot.Plot, cols)
			copy(cells[i], grid[i])
		}
		canvases := plot.Align(cells, t, c)
		for i := range cells {
			for j := range cells[i] {
				if cells[i][j] != nil {
					cells[i][j].Draw(canvases[i][j])
				}
			}
		}
	}
	type target struct {
		ext string
		mk  func() vg.CanvasWriterTo
	}
	targets := []target{
		{".svg", func() vg.CanvasWriterTo { return vgsvg.New(w, h) }},
		{".pdf", func() vg.CanvasWriterTo { c := vgpdf.New(w, h); c.EmbedFonts(true); return c }},
		{".png", func() vg.CanvasWriterTo {
			return vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(FigureDPI))}
		}},
	}
	for _, tg := range targets {
		if !slices.Contains(FigureFormats, tg.ext) {
			continue
		}
		c := tg.mk() // vgimg canvases start white: transparent PNGs print and preview badly
		render(draw.New(c))
		path := base + tg.ext
		f, err := os.Create(path)
		if err != nil {
			return fmt.Errorf("recovery: save %s: %w", path, err)
		}
		if _, err := c.WriteTo(f); err != nil {
			f.Close()
			return fmt.Errorf("recovery: save %s: %w", path, err)
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("recovery: save %s: %w", path, err)
		}
	}
	return nil
}

// WriteStudyPlots renders the study plots into dir: recovery against
// intrinsic pass rate per model, recovery per bucket per model (one panel
// per strategy), and the paired differences with their intervals.
func WriteStudyPlots(dir string, r StudyResult) error {
	strats := r.Comparison.strategies()
	if len(strats) == 0 {
		return nil // nothing was continued yet: no empty recovery plots
	}
	figs := []struct {
		name string
		make func(Comparison, string) (*plot.Plot, error)
	}{
		{PlotStudyRecoveryVsPass, StudyRecoveryVsPassPlot},
		{PlotStudyRecoveryByBucket, StudyRecoveryByBucketPlot},
	}
	if r.Comparison.hasLatent() {
		figs = append(figs, struct {
			name string
			make func(Comparison, string) (*plot.Plot, error)
		}{PlotStudyLatent, StudyLatentPlot})
	}
	for _, f := range figs {
		var row []*plot.Plot
		for _, st := range strats {
			p, err := f.make(r.Comparison, st)
			if err != nil {
				return fmt.Errorf("recovery: plot %s: %w", f.name, err)
			}
			row = append(row, p)
		}
		if err := SaveFigure(filepath.Join(dir, f.name), 0, 0, panelGrid(row)); err != nil {
			return err
		}
	}
	if len(r.Comparison.Paired) > 0 {
		p, err := StudyPairedPlot(r.Comparison)
		if err != nil {
			return fmt.Errorf("recovery: plot %s: %w", PlotStudyPaired, err)
		}
		h := vg.Length(math.Max(8, 3+0.8*float64(len(r.Comparison.Paired)))) * vg.Centimeter
		if err := SaveFigure(filepath.Join(dir, PlotStudyPaired), 16*vg.Centimeter, h, [][]*plot.Plot{{p}}); err != nil {
			return err
		}
	}
	return nil
}

// xyErr is a point with horizontal and vertical error bars.
type xyErr struct {
	plotter.XYs
	plotter.XErrors
	plotter.YErrors
}

// add appends a point at (x, y) with both rates' intervals as error bars.
func (pts *xyErr) add(x Rate, xci [2]Rate, y Rate, yci [2]Rate) {
	pts.XYs = append(pts.XYs, plotter.XY{X: float64(x), Y: float64(y)})
	xl, xh := errOf(x, xci)
	yl, yh := errOf(y, yci)
	pts.XErrors = append(pts.XErrors, struct{ Low, High float64 }{xl, xh})
	pts.YErrors = append(pts.YErrors, struct{ Low, High float64 }{yl, yh})
}

func addErrPoints(p *plot.Plot, pts xyErr, c color.Color, g draw.GlyphDrawer, label string, line bool) error {
	if len(pts.XYs) == 0 {
		return nil
	}
	sc, err := plotter.NewScatter(pts.XYs)
	if err != nil {
		return err
	}
	sc.Color, sc.Shape, sc.Radius = c, g, vg.Points(3.5)
	if pts.YErrors != nil {
		eb, err := plotter.NewYErrorBars(struct {
			plotter.XYer
			plotter.YErrorer
		}{pts.XYs, pts.YErrors})
		if err != nil {
			return err
		}
		eb.Color, eb.LineStyle.Width, eb.CapWidth = c, vg.Points(1), vg.Points(5)
		p.Add(eb)
	}
	if pts.XErrors != nil {
		eb, err := plotter.NewXErrorBars(struct {
			plotter.XYer
			plotter.XErrorer
		}{pts.XYs, pts.XErrors})
		if err != nil {
			return err
		}
		eb.Color, eb.LineStyle.Width, eb.CapWidth = c, vg.Points(1), vg.Points(5)
		p.Add(eb)
	}
	if line && len(pts.XYs) > 1 {
		l, err := plotter.NewLine(pts.XYs)
		if err != nil {
			return err
		}
		l.Color, l.Width = c, vg.Points(1)
		l.Dashes = []vg.Length{vg.Points(3), vg.Points(2)}
		p.Add(l)
	}
	p.Add(sc)
	if label != "" {
		p.Legend.Add(label, sc)
	}
	return nil
}

func errOf(v Rate, c [2]Rate) (lo, hi float64) {
	if !c[0].Defined() || !c[1].Defined() {
		return 0, 0
	}
	return math.Max(0, float64(v)-float64(c[0])), math.Max(0, float64(c[1])-float64(v))
}

// StudyRecoveryVsPassPlot plots, for one strategy, each model's recovery
// against its intrinsic pass rate, one point per bucket (both with
// intervals) joined in bucket order; the diagonal is recovery equal to the
// pass rate (normalized recovery 1).
func StudyRecoveryVsPassPlot(c Comparison, strategy string) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = "Recovery vs intrinsic pass rate: " + strategy
	p.X.Label.Text = "straight-shot pass rate"
	p.Y.Label.Text = "recovery rate"
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, 1, 0, 1.3 // headroom for the legend
	p.Add(plotter.NewGrid())
	setFontSizes(p, 11)
	p.Legend.Top, p.Legend.Left = true, true
	p.Legend.XOffs = vg.Points(6)
	diag, _ := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}, {X: 1, Y: 1}})
	diag.Color, diag.Dashes = color.Gray{Y: 150}, []vg.Length{vg.Points(2), vg.Points(2)}
	p.Add(diag)
	p.Y.Tick.Marker = unitTicks{}
	for i, m := range c.Models {
		var pts xyErr
		for _, row := range m.Rows {
			if row.Strategy != strategy || row.Bucket == "overall" || !row.Recovery.Defined() || !row.PassRate.Defined() {
				continue
			}
			pts.add(row.PassRate, row.PassRateCI, row.Recovery, row.RecoveryCI)
		}
		if err := addErrPoints(p, pts, modelColor(i), modelGlyph(i), m.Model, true); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// unitTicks label 0, 0.2, …, 1 with minor ticks at the tenths, and none
// above 1 (the axis extends past 1 only to leave room for the legend).
type unitTicks struct{}

func (unitTicks) Ticks(min, max float64) []plot.Tick {
	var out []plot.Tick
	for i := 0; i <= 10; i++ {
		v := float64(i) / 10
		if v < min-1e-9 || v > max+1e-9 {
			continue
		}
		t := plot.Tick{Value: v}
		if i%2 == 0 {
			t.Label = fmt.Sprintf("%.1f", v)
		}
		out = append(out, t)
	}
	return out
}

// StudyRecoveryByBucketPlot plots, for one strategy, each model's recovery
// per bucket with intervals, models side by side within a bucket; the
// bucket labels carry the problem count (of the first model, or the common
// count under reference binning).
func StudyRecoveryByBucketPlot(c Comparison, strategy string) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = "Recovery by bucket: " + strategy
	p.Y.Label.Text = "recovery rate"
	p.X.Label.Text = "bucket (" + binningLabel(c.Binning) + ")"
	p.Add(plotter.NewGrid())
	setFontSizes(p, 11)
	var buckets []string
	counts := map[string][]int{}
	for _, m := range c.Models {
		for _, row := range m.Rows {
			if row.Strategy != strategy {
				continue
			}
			if !slices.Contains(buckets, row.Bucket) {
				buckets = append(buckets, row.Bucket)
			}
			counts[row.Bucket] = append(counts[row.Bucket], row.Problems)
		}
	}
	names := make([]string, len(buckets))
	for i, b := range buckets {
		names[i] = fmt.Sprintf("%s\nn=%s", b, countsLabel(counts[b]))
	}
	p.NominalX(names...)
	p.X.Min, p.X.Max = -0.5, float64(len(buckets))-0.5
	p.Y.Min, p.Y.Max = 0, 1.3
	p.Y.Tick.Marker = unitTicks{}
	p.Legend.Top, p.Legend.Left = true, true
	p.Legend.XOffs = vg.Points(6)
	nm := len(c.Models)
	for i, m := range c.Models {
		off := (float64(i) - float64(nm-1)/2) * 0.6 / float64(max(nm, 1))
		var pts xyErr
		for j, b := range buckets {
			row, ok := m.Row(strategy, b)
			if !ok || !row.Recovery.Defined() {
				continue
			}
			pts.XYs = append(pts.XYs, plotter.XY{X: float64(j) + off, Y: float64(row.Recovery)})
			yl, yh := errOf(row.Recovery, row.RecoveryCI)
			pts.YErrors = append(pts.YErrors, struct{ Low, High float64 }{yl, yh})
		}
		if err := addErrPoints(p, pts, modelColor(i), modelGlyph(i), m.Model, false); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// countsLabel is "n" when all counts agree, else "lo–hi".
func countsLabel(cs []int) string {
	if len(cs) == 0 {
		return "0"
	}
	lo, hi := slices.Min(cs), slices.Max(cs)
	if lo == hi {
		return fmt.Sprint(lo)
	}
	return fmt.Sprintf("%d–%d", lo, hi)
}

func binningLabel(b string) string {
	if ref, ok := cutPrefix(b, "reference:"); ok {
		return "binned by " + ref
	}
	return "each model's own bins"
}

func cutPrefix(s, p string) (string, bool) {
	if len(s) >= len(p) && s[:len(p)] == p {
		return s[len(p):], true
	}
	return s, false
}

// StudyPairedPlot plots every paired difference (A − B, per strategy and
// bucket) with its paired interval, and beside it, thinner and grey, the
// interval two independent runs would have given; the zero line marks no
// difference.
func StudyPairedPlot(c Comparison) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = "Paired differences in recovery (same prefixes)"
	p.X.Label.Text = "recovery A − recovery B"
	setFontSizes(p, 11)
	n := len(c.Paired)
	labels := make([]string, n)
	var pts, ind xyErr
	for i, d := range c.Paired {
		y := float64(n - 1 - i)
		labels[n-1-i] = fmt.Sprintf("%s − %s\n%s, %s (n=%d)", d.A, d.B, d.Strategy, d.Bucket, d.Problems)
		if !d.Diff.Defined() {
			continue
		}
		lo, hi := errOf(d.Diff, d.DiffCI)
		pts.XYs = append(pts.XYs, plotter.XY{X: float64(d.Diff), Y: y})
		pts.XErrors = append(pts.XErrors, struct{ Low, High float64 }{lo, hi})
		il, ih := errOf(d.Diff, d.IndependentCI)
		ind.XYs = append(ind.XYs, plotter.XY{X: float64(d.Diff), Y: y - 0.25})
		ind.XErrors = append(ind.XErrors, struct{ Low, High float64 }{il, ih})
	}
	p.NominalY(labels...)
	p.Y.Min, p.Y.Max = -0.75, float64(n)-0.25+0.8
	zero, err := plotter.NewLine(plotter.XYs{{X: 0, Y: -0.75}, {X: 0, Y: float64(n) - 0.5}})
	if err != nil {
		return nil, err
	}
	zero.Color = color.Gray{Y: 120}
	p.Add(plotter.NewGrid(), zero)
	if len(ind.XYs) > 0 {
		eb, err := plotter.NewXErrorBars(struct {
			plotter.XYer
			plotter.XErrorer
		}{ind.XYs, ind.XErrors})
		if err != nil {
			return nil, err
		}
		eb.Color, eb.LineStyle.Width, eb.CapWidth = color.Gray{Y: 140}, vg.Points(1), vg.Points(4)
		p.Add(eb)
		p.Legend.Add("two independent runs (CI)", &plotter.Line{LineStyle: eb.LineStyle})
	}
	if err := addErrPoints(p, pts, modelColor(0), draw.CircleGlyph{}, "paired (95% CI)", false); err != nil {
		return nil, err
	}
	p.Legend.Top = true
	lo, hi := 0.0, 0.0
	for _, d := range c.Paired {
		for _, v := range []Rate{d.DiffCI[0], d.DiffCI[1], d.IndependentCI[0], d.IndependentCI[1]} {
			if v.Defined() {
				lo, hi = math.Min(lo, float64(v)), math.Max(hi, float64(v))
			}
		}
	}
	pad := 0.1 * math.Max(hi-lo, 0.1)
	p.X.Min, p.X.Max = lo-pad, hi+pad
	return p, nil
}

// passCounts are one bucket's straight-shot counts, problems with equal
// counts tallied.
type passCounts struct{ strong, weak clusterTally }

func (s *Summary) addPassCounts(bucket string, p Problem) {
	if s.passCounts == nil {
		s.passCounts = map[string]*passCounts{}
	}
	for _, b := range []string{bucket, "overall"} {
		c := s.passCounts[b]
		if c == nil {
			c = &passCounts{}
			s.passCounts[b] = c
		}
		if p.StrongN > 0 {
			c.strong.add(p.StrongK, p.StrongN, 0)
		}
		if p.WeakN > 0 {
			c.weak.add(p.WeakK, p.WeakN, 0)
		}
	}
}

// bucketPassCI is the 95 % clustered interval (ClusterCI) of a bucket's
// strong or weak pass rate, from the counts Aggregate kept; NaN when the
// summary did not come from Aggregate (e.g. read from summary.json).
func (s Summary) bucketPassCI(bucket string, weak bool) [2]Rate {
	c := s.passCounts[bucket]
	if c == nil {
		return [2]Rate{NoRate, NoRate}
	}
	if weak {
		return c.weak.recoveryCI()
	}
	return c.strong.recoveryCI()
}
