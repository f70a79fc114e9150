package difficulty_test

import (
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/difficulty"
)

func TestSummarizeCountsSharesAndHistogram(t *testing.T) {
	s := difficulty.Summarize([]float64{0, 0.05, 0.1, 0.3, 0.7, 0.95, 1, 1, math.NaN(), 1.2})
	assert.Equal(t, 8, s.N)
	assert.Equal(t, 2, s.Invalid)
	assert.InDelta(t, 1.0/8, s.AtZero, 1e-12)
	assert.InDelta(t, 2.0/8, s.AtOne, 1e-12)
	assert.InDelta(t, 4.1/8, s.Mean, 1e-12)
	require.Len(t, s.Histogram, 10)
	want := []int{2, 1, 0, 1, 0, 0, 0, 1, 0, 3}
	for i, h := range s.Histogram {
		assert.Equal(t, want[i], h.Count, "bin %d [%v, %v)", i, h.Lo, h.Hi)
	}
}

func TestHistogramPutsKOverNRatesInTheRightBins(t *testing.T) {
	for n := 1; n <= 10; n++ {
		for k := 0; k <= n; k++ {
			r := float64(k) / float64(n)
			s := difficulty.Summarize([]float64{r})
			for _, h := range s.Histogram {
				if h.Count == 1 {
					assert.True(t, h.Lo <= r+1e-12 && (r < h.Hi-1e-12 || h.Hi == 1), "%d/%d in [%v, %v)", k, n, h.Lo, h.Hi)
				}
			}
		}
	}
}

func TestBimodalityCoefficientSeparatesShapes(t *testing.T) {
	var twoPeaks, uniform, onePeak []float64
	for i := 0; i < 1000; i++ {
		twoPeaks = append(twoPeaks, float64(i%2)) // half 0, half 1
		uniform = append(uniform, (float64(i)+0.5)/1000)
		// A triangle around 0.5 (single peak): the mean of two uniforms.
		onePeak = append(onePeak, ((float64(i)+0.5)/1000+(float64((i*617)%1000)+0.5)/1000)/2)
	}
	two := difficulty.Summarize(twoPeaks)
	assert.Greater(t, two.Bimodality, 0.95)
	assert.True(t, two.Bimodal())
	uni := difficulty.Summarize(uniform)
	assert.InDelta(t, 5.0/9, uni.Bimodality, 0.01, "uniform scores 5/9")
	one := difficulty.Summarize(onePeak)
	assert.Less(t, one.Bimodality, 0.5)
	assert.False(t, one.Bimodal())
}

func TestSarleCoefficientMatchesAHandComputation(t *testing.T) {
	// x = 0, 0, 0.5, 1, 1, 1, computed separately in Python from the
	// textbook formulas: m2 = 0.201389, m3 = −0.030093, m4 = 0.053675,
	// G1 = −0.455939, G2 = −2.390012, BC = 0.312923. (At n = 6 the small-
	// sample term 3(n−1)²/((n−2)(n−3)) = 6.25 dominates, so even this
	// two-cluster sample scores low: BC needs a few dozen rates to mean much.)
	s := difficulty.Summarize([]float64{0, 0, 0.5, 1, 1, 1})
	assert.InDelta(t, 7.0/12, s.Mean, 1e-12)
	assert.InDelta(t, -0.455939, s.Skewness, 1e-5)
	assert.InDelta(t, -2.390012, s.Kurtosis, 1e-5)
	assert.InDelta(t, 0.312923, s.Bimodality, 1e-5)
}

func TestSummarizeDegenerateInputs(t *testing.T) {
	empty := difficulty.Summarize(nil)
	assert.Equal(t, 0, empty.N)
	assert.Len(t, empty.Histogram, 10)
	assert.Contains(t, empty.String(), "0 problems")
	same := difficulty.Summarize([]float64{1, 1, 1, 1, 1})
	assert.Equal(t, 0.0, same.Bimodality)
	assert.Equal(t, 1.0, same.AtOne)
	few := difficulty.Summarize([]float64{0, 1, 1})
	assert.Equal(t, 0.0, few.Bimodality)
	assert.False(t, math.IsNaN(few.SD))
}

func TestSummaryStringShowsEveryBin(t *testing.T) {
	s := difficulty.Summarize([]float64{0, 0, 0, 1, 0.5})
	out := s.String()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	assert.Len(t, lines, 3+10)
	assert.Contains(t, out, "never solved (0): 60.0%")
	assert.Contains(t, out, "[0.9, 1.0] ")
}

// A tally of rates summarises as the list it counts: every field equal
// (the moments to rounding), invalid rates counted as often as they occur.
func TestSummarizeCountsIsSummarizeOfTheList(t *testing.T) {
	values := []float64{0, 1.0 / 3, 2.0 / 3, 1, math.NaN(), 0.5}
	counts := []int{7, 3, 0, 11, 2, 5}
	var list []float64
	for i, v := range values {
		for range counts[i] {
			list = append(list, v)
		}
	}
	want, got := difficulty.Summarize(list), difficulty.SummarizeCounts(values, counts)
	assert.Equal(t, want.N, got.N)
	assert.Equal(t, want.Invalid, got.Invalid)
	assert.Equal(t, want.Histogram, got.Histogram)
	for _, f := range [][2]float64{{want.Mean, got.Mean}, {want.SD, got.SD}, {want.AtZero, got.AtZero}, {want.AtOne, got.AtOne},
		{want.Skewness, got.Skewness}, {want.Kurtosis, got.Kurtosis}, {want.Bimodality, got.Bimodality}} {
		assert.InDelta(t, f[0], f[1], 1e-12)
	}
	assert.Equal(t, 26, got.N) // 7 + 3 + 11 + 5; the two NaNs are Invalid
	assert.Panics(t, func() { difficulty.SummarizeCounts(values, counts[:2]) })
}
