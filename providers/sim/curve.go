package sim

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Curve kinds for RecoveryCurve.Kind.
const (
	CurveConstant = "constant" // recovery Base whatever the pass rate
	CurveLinear   = "linear"   // recovery Base + Slope·passRate
	CurveStep     = "step"     // recovery In for Lo ≤ passRate ≤ Hi, else Out
)

// RecoveryCurve makes a problem's true recovery rate a function of its TRUE
// pass rate, so tests can measure bias and coverage of estimators that only
// see observed pass rates (k of n samples). Set Config.Recovery to use it in
// place of RecoverBase and RecoverSlope.
//
// With AllOrNothing, problems are heterogeneous at a given pass rate: each
// problem's recovery rate is 1 with probability Rate(passRate) and 0
// otherwise (drawn deterministically from Seed and the problem ID), so the
// mean recovery at every pass rate is still Rate(passRate) but all of a
// problem's continuations agree — the largest possible intra-class
// correlation, which an interval that ignores clustering cannot survive.
type RecoveryCurve struct {
	Kind         string  // CurveConstant, CurveLinear or CurveStep
	Base, Slope  float64 // constant and linear
	In, Out      float64 // step: recovery inside and outside [Lo, Hi]
	Lo, Hi       float64 // step: the band of pass rates with recovery In
	AllOrNothing bool
}

// ConstantRecovery is recovery r at every pass rate.
func ConstantRecovery(r float64) *RecoveryCurve {
	return &RecoveryCurve{Kind: CurveConstant, Base: r}
}

// LinearRecovery is recovery slope·passRate (clamped to [0, 1]); slope 0.8
// makes normalized recovery (recovery ÷ pass rate) exactly 0.8 everywhere.
func LinearRecovery(slope float64) *RecoveryCurve {
	return &RecoveryCurve{Kind: CurveLinear, Slope: slope}
}

// StepRecovery is recovery in for pass rates in [lo, hi] and out elsewhere,
// e.g. StepRecovery(0.7, 0.2, 0.2, 0.8): truly medium problems recover at
// 0.7, the rest at 0.2.
func StepRecovery(in, out, lo, hi float64) *RecoveryCurve {
	return &RecoveryCurve{Kind: CurveStep, In: in, Out: out, Lo: lo, Hi: hi}
}

// Rate is the mean recovery rate of problems with true pass rate p.
func (c *RecoveryCurve) Rate(p float64) float64 {
	switch c.Kind {
	case CurveConstant:
		return clamp01(c.Base)
	case CurveLinear:
		return clamp01(c.Base + c.Slope*p)
	case CurveStep:
		if p >= c.Lo && p <= c.Hi {
			return clamp01(c.In)
		}
		return clamp01(c.Out)
	}
	return math.NaN()
}

// Validate reports an unusable curve.
func (c *RecoveryCurve) Validate() error {
	for _, v := range []float64{c.Base, c.Slope, c.In, c.Out, c.Lo, c.Hi} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("sim: RecoveryCurve %+v: parameters must be finite numbers", *c)
		}
	}
	switch c.Kind {
	case CurveConstant, CurveLinear:
	case CurveStep:
		if !(0 <= c.Lo && c.Lo <= c.Hi && c.Hi <= 1) {
			return fmt.Errorf("sim: RecoveryCurve step band [%v, %v]: need 0 ≤ Lo ≤ Hi ≤ 1", c.Lo, c.Hi)
		}
	default:
		return fmt.Errorf("sim: RecoveryCurve kind %q (known: constant, linear, step)", c.Kind)
	}
	return nil
}

// String is the curve in the syntax ParseRecoveryCurve reads.
func (c *RecoveryCurve) String() string {
	f := func(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
	var s string
	switch c.Kind {
	case CurveConstant:
		s = "constant:" + f(c.Base)
	case CurveLinear:
		s = "linear:" + f(c.Slope)
		if c.Base != 0 {
			s += ":" + f(c.Base)
		}
	case CurveStep:
		s = strings.Join([]string{"step", f(c.In), f(c.Out), f(c.Lo), f(c.Hi)}, ":")
	default:
		s = c.Kind
	}
	if c.AllOrNothing {
		s += ":aon"
	}
	return s
}

// ParseRecoveryCurve reads "constant:R", "linear:SLOPE[:BASE]" or
// "step:IN:OUT:LO:HI", optionally followed by ":aon" for all-or-nothing
// heterogeneity, e.g. "linear:0.8:aon" or "step:0.7:0.2:0.2:0.8".
func ParseRecoveryCurve(s string) (*RecoveryCurve, error) {
	parts := strings.Split(s, ":")
	c := &RecoveryCurve{}
	if n := len(parts); n > 1 && parts[n-1] == "aon" {
		c.AllOrNothing = true
		parts = parts[:n-1]
	}
	nums := make([]float64, 0, len(parts)-1)
	for _, p := range parts[1:] {
		x, err := strconv.ParseFloat(p, 64)
		if err != nil {
			return nil, fmt.Errorf("sim: recovery curve %q: %q is not a number", s, p)
		}
		nums = append(nums, x)
	}
	want := func(lo, hi int) error {
		if len(nums) < lo || len(nums) > hi {
			return fmt.Errorf("sim: recovery curve %q: want constant:R, linear:SLOPE[:BASE] or step:IN:OUT:LO:HI, optionally :aon", s)
		}
		return nil
	}
	c.Kind = parts[0]
	var err error
	switch c.Kind {
	case CurveConstant:
		if err = want(1, 1); err == nil {
			c.Base = nums[0]
		}
	case CurveLinear:
		if err = want(1, 2); err == nil {
			c.Slope = nums[0]
			if len(nums) == 2 {
				c.Base = nums[1]
			}
		}
	case CurveStep:
		if err = want(4, 4); err == nil {
			c.In, c.Out, c.Lo, c.Hi = nums[0], nums[1], nums[2], nums[3]
		}
	default:
		err = want(-1, -1)
	}
	if err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// ProblemRecovery is a problem's true recovery rate under the curve at
// pass rate p, given a uniform draw u in [0, 1) private to the problem (used
// only with AllOrNothing).
func (c *RecoveryCurve) ProblemRecovery(p, u float64) float64 {
	r := c.Rate(p)
	if !c.AllOrNothing {
		return r
	}
	if u < r {
		return 1
	}
	return 0
}

// Quantile is the mixture's u-quantile (0 ≤ u ≤ 1), by bisection on CDF to
// within 1e-9. Tests draw true pass rates with it without a Solver.
func (m Mixture) Quantile(u float64) float64 {
	lo, hi := 0.0, 1.0
	for hi-lo > 1e-9 {
		mid := (lo + hi) / 2
		if m.CDF(mid) < u {
			lo = mid
		} else {
			hi = mid
		}
	}
	return (lo + hi) / 2
}

// Density is the mixture's probability density at x in (0, 1).
func (m Mixture) Density(x float64) float64 {
	var w, s float64
	for _, c := range m {
		w += c.Weight
		lb := lbeta(c.Alpha, c.Beta)
		s += c.Weight * math.Exp((c.Alpha-1)*math.Log(x)+(c.Beta-1)*math.Log1p(-x)-lb)
	}
	if w == 0 {
		return 0
	}
	return s / w
}

func lbeta(a, b float64) float64 {
	la, _ := math.Lgamma(a)
	lb, _ := math.Lgamma(b)
	lab, _ := math.Lgamma(a + b)
	return la + lb - lab
}

// recoveryDraw is the problem's private uniform for AllOrNothing.
func (s *Solver) recoveryDraw(id string) float64 {
	h := newHasher()
	h.int(s.cfg.Seed)
	h.str("recovery")
	h.str(id)
	return (float64(h.sum()>>11) + 0.5) / (1 << 53)
}
