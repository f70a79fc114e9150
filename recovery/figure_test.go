package recovery

import (
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
)

// Rasterizing at 300 dpi and embedding fonts in PDFs are slow under the
// race detector (a run's figures took 87 s instead of 6 s), so this
// package's tests write 96-dpi PNGs and SVGs only;
// TestFiguresArePrintResolutionByDefault checks the defaults on a small
// figure.
func init() { FigureDPI, FigureFormats = 96, []string{".svg", ".png"} }

func TestFiguresArePrintResolutionByDefault(t *testing.T) {
	oldDPI, oldFormats := FigureDPI, FigureFormats
	FigureDPI, FigureFormats = 300, []string{".svg", ".pdf", ".png"}
	defer func() { FigureDPI, FigureFormats = oldDPI, oldFormats }()
	p, err := PassRatePlot(bimodalSummary())
	require.NoError(t, err)
	base := filepath.Join(t.TempDir(), "fig")
	// 2.54 cm × 2.54 cm = 1 in × 1 in: 300 × 300 pixels at 300 dpi.
	require.NoError(t, SaveFigure(base, 2.54*vg.Centimeter, 2.54*vg.Centimeter, [][]*plot.Plot{{p}}))
	f, err := os.Open(base + ".png")
	require.NoError(t, err)
	defer f.Close()
	img, err := png.Decode(f)
	require.NoError(t, err)
	assert.Equal(t, 300, img.Bounds().Dx())
	assert.Equal(t, 300, img.Bounds().Dy())
	for _, ext := range []string{".svg", ".pdf"} {
		st, err := os.Stat(base + ext)
		require.NoError(t, err, ext)
		assert.Positive(t, st.Size(), ext)
	}
	pdf, err := os.ReadFile(base + ".pdf")
	require.NoError(t, err)
	assert.Equal(t, "%PDF", string(pdf[:4]))
}
