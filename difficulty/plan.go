package difficulty

import "fmt"

// Plan is an adaptive sampling plan for straight-shot calibration: keep
// sampling a problem until its most probable bucket's membership reaches
// Confidence, but never stop before Min samples and always stop at Max.
//
// Under adaptive stopping a streak ends sampling early, so the raw k/n and
// the Wilson interval lean toward 0 and 1; report the posterior (Mean, CI95,
// Membership), which stays valid because the stopping rule depends only on
// the data seen. Under the Jeffreys prior and the default buckets, 0/4 and
// 4/4 are the first outcomes to settle a bucket at 0.8 (0.83), and 2/4 the
// first to settle medium (0.85).
//
// Start from DefaultPlan. The zero Plan stops at once (Max 0); a Plan with
// Min = Max is a fixed-N plan. Plans are plain values, safe to copy and share.
type Plan struct {
	Min        int     // samples always drawn
	Max        int     // samples never exceeded
	Confidence float64 // stop when the top bucket's membership ≥ this
}

// DefaultPlan returns Min 2, Max 12, Confidence 0.8: measured on the
// difficulty benchmark's bimodal mix (5,000 problems, estimate's adaptive
// test), it draws 41 % fewer strong calls than a fixed N = 10 at 1.2 points
// better bucket accuracy. It was chosen by a sweep (Confidence 0.75–0.9,
// Max 10–30) on seed 7 and checked on held-out seed 8 (−41.8 %, +1.2 points).
// Until session 3 it was Min 3, Max 10, Confidence 0.9 (−24 %).
func DefaultPlan() Plan { return Plan{Min: 2, Max: 12, Confidence: 0.8} }

// Fixed returns the plan that always draws n samples.
func Fixed(n int) Plan { return Plan{Min: n, Max: n, Confidence: 1} }

// Validate reports a Plan whose fields contradict each other.
func (p Plan) Validate() error {
	switch {
	case p.Min < 0 || p.Max < 0:
		return fmt.Errorf("difficulty: plan Min %d and Max %d must not be negative", p.Min, p.Max)
	case p.Min > p.Max:
		return fmt.Errorf("difficulty: plan Min %d exceeds Max %d", p.Min, p.Max)
	case !(p.Confidence >= 0 && p.Confidence <= 1):
		return fmt.Errorf("difficulty: plan Confidence %v is not in [0, 1]", p.Confidence)
	}
	return nil
}

// Done reports whether sampling should stop after k correct of n under
// binner b (nil means DefaultBinner): n ≥ Max, or n ≥ Min and the most
// probable bucket's membership ≥ Confidence. It panics if k < 0, n < 0 or
// k > n.
func (p Plan) Done(b *Binner, k, n int) bool {
	checkCounts(k, n)
	if n >= p.Max {
		return true
	}
	if n < p.Min {
		return false
	}
	_, prob := b.Assign(k, n)
	return prob >= p.Confidence
}
