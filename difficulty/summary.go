package difficulty

import (
	"fmt"
	"math"
	"strings"
)

// HistogramBins is the number of equal-width bins Summarize uses.
const HistogramBins = 10

// Bin is one histogram bin [Lo, Hi) of pass rates (the last bin includes 1).
type Bin struct {
	Lo    float64 `json:"lo"`
	Hi    float64 `json:"hi"`
	Count int     `json:"count"`
}

// Summary describes a distribution of per-problem pass rates for reports.
type Summary struct {
	N       int     `json:"n"`       // rates summarised
	Invalid int     `json:"invalid"` // rates skipped: NaN or outside [0, 1]
	Mean    float64 `json:"mean"`
	SD      float64 `json:"sd"`      // sample standard deviation
	AtZero  float64 `json:"at_zero"` // share of rates exactly 0 (never solved)
	AtOne   float64 `json:"at_one"`  // share of rates exactly 1 (always solved)
	// Skewness and Kurtosis are the bias-adjusted sample skewness G1 and
	// excess kurtosis G2 (0 when N < 4 or all rates are equal).
	Skewness float64 `json:"skewness"`
	Kurtosis float64 `json:"kurtosis"`
	// Bimodality is Sarle's bimodality coefficient
	// BC = (G1² + 1) / (G2 + 3(N−1)² / ((N−2)(N−3))), in (0, 1]. A uniform
	// distribution scores 5/9 ≈ 0.555; higher values suggest two modes (two
	// point masses score near 1), lower ones a single peak (a normal scores
	// 1/3). It is 0 when N < 4 or all rates are equal. See Pfister et al.,
	// "Good things peak in pairs", Frontiers in Psychology 2013.
	Bimodality float64 `json:"bimodality"`
	Histogram  []Bin   `json:"histogram"` // HistogramBins equal-width bins over [0, 1]
}

// BimodalThreshold is the bimodality coefficient of a uniform distribution,
// 5/9; Bimodal reports values above it.
const BimodalThreshold = 5.0 / 9.0

// Bimodal reports whether Bimodality exceeds BimodalThreshold.
func (s Summary) Bimodal() bool { return s.Bimodality > BimodalThreshold }

// Summarize describes per-problem pass rates (k/n, or posterior means).
// Rates that are NaN or outside [0, 1] are skipped and counted in Invalid.
func Summarize(rates []float64) Summary { return SummarizeCounts(rates, nil) }

// SummarizeCounts is Summarize for rates[i] seen counts[i] times (nil
// counts: once each), so a million problems' pass rates — a few distinct
// values k/n — are summarised from a tally, in memory that does not grow
// with them. It panics if counts is not nil and not as long as rates.
func SummarizeCounts(rates []float64, counts []int) Summary {
	if counts != nil && len(counts) != len(rates) {
		panic("difficulty: SummarizeCounts needs one count per rate")
	}
	count := func(i int) int {
		if counts == nil {
			return 1
		}
		return counts[i]
	}
	s := Summary{Histogram: make([]Bin, HistogramBins)}
	for i := range s.Histogram {
		s.Histogram[i] = Bin{Lo: float64(i) / HistogramBins, Hi: float64(i+1) / HistogramBins}
	}
	var sum float64
	for i, r := range rates {
		c := count(i)
		if c <= 0 {
			continue
		}
		if !(r >= 0 && r <= 1) {
			s.Invalid += c
			continue
		}
		s.N += c
		sum += float64(c) * r
		b := min(int(r*HistogramBins+1e-9), HistogramBins-1) // 1e-9: 0.3 lands in [0.3, 0.4)
		s.Histogram[b].Count += c
		if r == 0 {
			s.AtZero += float64(c)
		}
		if r == 1 {
			s.AtOne += float64(c)
		}
	}
	if s.N == 0 {
		return s
	}
	n := float64(s.N)
	s.AtZero /= n
	s.AtOne /= n
	s.Mean = sum / n
	var m2, m3, m4 float64
	for i, r := range rates {
		c := count(i)
		if c <= 0 || !(r >= 0 && r <= 1) {
			continue
		}
		d := r - s.Mean
		w := float64(c)
		m2 += w * d * d
		m3 += w * d * d * d
		m4 += w * d * d * d * d
	}
	if s.N > 1 {
		s.SD = math.Sqrt(m2 / (n - 1))
	}
	m2, m3, m4 = m2/n, m3/n, m4/n
	if s.N < 4 || m2 <= 1e-300 {
		return s
	}
	g1 := m3 / math.Pow(m2, 1.5)
	g2 := m4/(m2*m2) - 3
	s.Skewness = math.Sqrt(n*(n-1)) / (n - 2) * g1
	s.Kurtosis = (n - 1) / ((n - 2) * (n - 3)) * ((n+1)*g2 + 6)
	s.Bimodality = (s.Skewness*s.Skewness + 1) / (s.Kurtosis + 3*(n-1)*(n-1)/((n-2)*(n-3)))
	return s
}

// String renders the summary as plain text: a headline, the shares at 0
// and 1, the bimodality coefficient, and a bar per histogram bin.
func (s Summary) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "pass rates: %d problems, mean %.2f, sd %.2f", s.N, s.Mean, s.SD)
	if s.Invalid > 0 {
		fmt.Fprintf(&b, " (%d invalid skipped)", s.Invalid)
	}
	fmt.Fprintf(&b, "\nnever solved (0): %.1f%%  always solved (1): %.1f%%\n", 100*s.AtZero, 100*s.AtOne)
	verdict := "not bimodal"
	if s.Bimodal() {
		verdict = "bimodal"
	}
	fmt.Fprintf(&b, "bimodality coefficient %.3f (%s; uniform = 0.556)\n", s.Bimodality, verdict)
	maxCount := 0
	for _, h := range s.Histogram {
		maxCount = max(maxCount, h.Count)
	}
	const width = 40
	for i, h := range s.Histogram {
		closer := ")"
		if i == len(s.Histogram)-1 {
			closer = "]"
		}
		bar := 0
		if maxCount > 0 {
			bar = int(math.Round(float64(h.Count) * width / float64(maxCount)))
		}
		fmt.Fprintf(&b, "[%.1f, %.1f%s %-*s %d\n", h.Lo, h.Hi, closer, width, strings.Repeat("#", bar), h.Count)
	}
	return b.String()
}
