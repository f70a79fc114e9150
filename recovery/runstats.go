package recovery

import (
	"fmt"
	"math"

	"github.com/rebound-lab/rebound/difficulty"
	"github.com/rebound-lab/rebound/estimate"
)

// canStopEarly reports an adaptive plan that can never stop before Max
// under b: then -adaptive silently does nothing (with the default buckets,
// Jeffreys' prior and the default plan's confidence 0.8 no outcome settles a
// bucket before 4 samples, so Max 3 is a fixed N = 3; at confidence 0.9 none
// does before 6).
func canStopEarly(p difficulty.Plan, b *difficulty.Binner) error {
	for n := max(p.Min, 1); n < p.Max; n++ {
		for k := 0; k <= n; k++ {
			if p.Done(b, k, n) {
				return nil
			}
		}
	}
	return fmt.Errorf("no outcome settles a bucket at confidence %.2f before the maximum of %d samples, so adaptive "+
		"sampling would draw exactly %d for every problem; raise the maximum (-samples; the default plan's is 12) or drop -adaptive",
		p.Confidence, p.Max, p.Max)
}

// membershipBinner is the binner that assigns observed buckets: cfg.Binner
// with a prior fitted to the calibrations' counts, unless FixedPrior.
func (cfg *Config) membershipBinner(cals []Calibration) *difficulty.Binner {
	if cfg.FixedPrior {
		return cfg.Binner
	}
	counts := make([]difficulty.Count, 0, len(cals))
	for _, c := range cals {
		counts = append(counts, difficulty.Count{K: c.K, N: c.N})
	}
	fit, err := estimate.FitPrior(counts)
	if err != nil {
		return cfg.Binner
	}
	return cfg.Binner.WithMixture(fit.Mixture)
}

// describeStatistics records which prior assigned the buckets and, when the
// on-policy strategy ran, its band in observed counts and the problems each
// strategy continued.
func (cfg *Config) describeStatistics(s *Summary) {
	if s.Prior != nil {
		s.Prior.Memberships = "fitted"
		if cfg.FixedPrior {
			s.Prior.Memberships = "jeffreys"
			if p := cfg.Binner.Prior(); p != difficulty.Jeffreys {
				s.Prior.Memberships = fmt.Sprintf("fixed Beta(%g, %g)", p.Alpha, p.Beta)
			}
		}
	}
	for _, name := range cfg.Strategies {
		if name != StrategyOnPolicy {
			continue
		}
		o := &OnPolicySummary{Band: cfg.OnPolicyBand, Counts: bandCounts(cfg.OnPolicyBand, cfg.Samples),
			Prefixes: map[string]int{}}
		for _, ss := range s.ByStrategy {
			o.Prefixes[ss.Strategy] = ss.Overall.ContinuedProblems
		}
		s.OnPolicy = o
	}
}

// bandCounts says which k of n a band of observed rates k/n admits.
func bandCounts(band [2]float64, n int) string {
	if n <= 0 {
		return "no samples"
	}
	lo := int(math.Ceil(band[0]*float64(n) - 1e-9))
	hi := int(math.Floor(band[1]*float64(n) + 1e-9))
	if lo > hi {
		return fmt.Sprintf("no k of %d", n)
	}
	s := fmt.Sprintf("k = %d–%d of %d correct straight-shot samples", lo, hi, n)
	if lo == 1 && hi == n-1 {
		s += " (every problem solved sometimes but not always — with the default buckets at this n, the observed medium bucket)"
	}
	return s
}
