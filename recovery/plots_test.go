package recovery

import (
	"bytes"
	"encoding/xml"
	"github.com/rebound-lab/rebound/providers/sim"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// bimodalSummary is a summary whose pass rates pile up at 0 and 1.
func bimodalSummary() Summary {
	pr, px, sm := handCase()
	s := Aggregate(pr, px, sm, nil)
	// Strong: 25 at 1, 20 at 0, three at each of 1/6 … 5/6; weak the same
	// with 15 at 1.
	s.PassRateCounts, s.WeakPassRateCounts = []RateCount{{0, 20}}, []RateCount{{0, 20}}
	for k := 1; k <= 5; k++ {
		s.PassRateCounts = append(s.PassRateCounts, RateCount{float64(k) / 6, 3})
		s.WeakPassRateCounts = append(s.WeakPassRateCounts, RateCount{float64(k) / 6, 3})
	}
	s.PassRateCounts = append(s.PassRateCounts, RateCount{1, 25})
	s.WeakPassRateCounts = append(s.WeakPassRateCounts, RateCount{1, 15})
	return s
}

func TestWritePlotsRendersValidSVGAndPNGOfEveryPlot(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, WritePlots(dir, bimodalSummary()))
	for _, name := range []string{PlotRecoveryByBucket, PlotPassRates, PlotRecoveryByDepth} {
		svg, err := os.ReadFile(filepath.Join(dir, name+".svg"))
		require.NoError(t, err)
		assert.Greater(t, len(svg), 5000, "%s.svg is not trivial", name)
		dec := xml.NewDecoder(bytes.NewReader(svg))
		root := ""
		for {
			tok, err := dec.Token()
			if err == io.EOF {
				break
			}
			require.NoError(t, err, "%s.svg is well-formed XML", name)
			if se, ok := tok.(xml.StartElement); ok && root == "" {
				root = se.Name.Local
			}
		}
		assert.Equal(t, "svg", root)

		f, err := os.Open(filepath.Join(dir, name+".png"))
		require.NoError(t, err)
		img, err := png.Decode(f)
		f.Close()
		require.NoError(t, err, "%s.png decodes", name)
		b := img.Bounds()
		assert.Greater(t, b.Dx(), 400)
		assert.Greater(t, b.Dy(), 250)
		// Not a blank canvas: count distinct colours.
		colours := map[[4]uint32]bool{}
		for y := b.Min.Y; y < b.Max.Y; y += 3 {
			for x := b.Min.X; x < b.Max.X; x += 3 {
				r, g, bl, a := img.At(x, y).RGBA()
				colours[[4]uint32{r, g, bl, a}] = true
			}
		}
		assert.Greater(t, len(colours), 10, "%s.png has drawn content", name)
	}
	svg, _ := os.ReadFile(filepath.Join(dir, PlotRecoveryByBucket+".svg"))
	for _, label := range []string{"hard", "easy", "recovery, observed bucket (95% CI)", "strong pass rate", "weak pass rate"} {
		assert.Contains(t, string(svg), label)
	}
}

func TestHeadlinePlotNamesObservedAndLatentBuckets(t *testing.T) {
	sc := popScenario{name: "step", curve: sim.StepRecovery(0.7, 0.2, 0.2, 0.8), samples: 5}
	s, _, _, _ := popReplicate(sc, 3)
	require.NotNil(t, s.Latent)
	dir := t.TempDir()
	require.NoError(t, WritePlots(dir, s))
	svg, err := os.ReadFile(filepath.Join(dir, PlotRecoveryByBucket+".svg"))
	require.NoError(t, err)
	assert.Contains(t, string(svg), "recovery, observed bucket (95% CI)")
	assert.Contains(t, string(svg), "recovery, latent bucket by true pass rate (EM, 95% CI)")
}

func TestPlotsOfAnEmptyRunStillRender(t *testing.T) {
	require.NoError(t, WritePlots(t.TempDir(), Aggregate(nil, nil, nil, []string{"hard", "medium", "easy"})))
}

func TestTheDepthPlotHasEachBinsIntervalAsWhiskersAndItsCounts(t *testing.T) {
	s := Summary{ByDepth: []DepthSummary{
		{Depth: 0.125, Continuations: 12, Problems: 4, RecoveryRate: 0.5, RecoveryCI: [2]Rate{0.3, 0.8}},
		{Depth: 0.375, Continuations: 0, RecoveryRate: NoRate, RecoveryCI: [2]Rate{NoRate, NoRate}},
		{Depth: 0.625, Continuations: 9, Problems: 3, RecoveryRate: 0.9, RecoveryCI: [2]Rate{0.6, 1}},
	}}
	pts, top, counts := depthSeries(s)
	require.Len(t, pts.XYs, 2, "undefined bins are left out")
	assert.InDelta(t, 0.2, pts.YErrors[0].Low, 1e-12)
	assert.InDelta(t, 0.3, pts.YErrors[0].High, 1e-12)
	assert.InDelta(t, 0.3, pts.YErrors[1].Low, 1e-12)
	assert.InDelta(t, 0.1, pts.YErrors[1].High, 1e-12)
	assert.InDelta(t, 0.8, top[0].Y, 1e-12, "counts sit above the whisker")
	assert.Equal(t, []string{"n=12 (4 problems)", "n=9 (3 problems)"}, counts)
	p, err := RecoveryByDepthPlot(s)
	require.NoError(t, err)
	assert.Contains(t, p.Y.Label.Text, "95% CI")
}
