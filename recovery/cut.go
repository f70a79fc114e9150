package recovery

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/rebound-lab/rebound/perturb"
)

// ParseCut parses a truncation policy as the harness's -cut flag spells it:
//
//	""  or "default"   the strategy's own default (nil Cut)
//	"random"           perturb.DefaultCut (a random depth in [0.25, 0.75])
//	"random:LO-HI"     perturb.CutRandom(LO, HI), e.g. "random:0.1-0.5"
//	"fraction:F"       perturb.CutFraction(F), e.g. "fraction:0.5"
//	"at:K"             perturb.CutAt(K), cut right after step K
//	"error"            perturb.CutAfterError (needs a known error step)
//
// A malformed spec is an error naming it and what was expected.
func ParseCut(spec string) (perturb.Cut, error) {
	s := strings.TrimSpace(strings.ToLower(spec))
	kind, arg, hasArg := strings.Cut(s, ":")
	bad := func(why string) error {
		return fmt.Errorf("recovery: cut %q: %s (want default, random, random:LO-HI, fraction:F, at:K or error)", spec, why)
	}
	frac := func(v string) (float64, error) {
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || math.IsNaN(f) || f < 0 || f > 1 {
			return 0, bad(fmt.Sprintf("%q is not a fraction in [0, 1]", v))
		}
		return f, nil
	}
	switch kind {
	case "", "default":
		if hasArg {
			return nil, bad("takes no argument")
		}
		return nil, nil
	case "random":
		if !hasArg {
			return perturb.DefaultCut(), nil
		}
		lo, hi, ok := strings.Cut(arg, "-")
		if !ok {
			return nil, bad("want random:LO-HI")
		}
		l, err := frac(lo)
		if err != nil {
			return nil, err
		}
		h, err := frac(hi)
		if err != nil {
			return nil, err
		}
		if l > h {
			return nil, bad("LO exceeds HI")
		}
		return perturb.CutRandom(l, h), nil
	case "fraction":
		if !hasArg {
			return nil, bad("want fraction:F")
		}
		f, err := frac(arg)
		if err != nil {
			return nil, err
		}
		if f == 0 {
			return nil, bad("fraction must be above 0")
		}
		return perturb.CutFraction(f), nil
	case "at":
		k, err := strconv.Atoi(strings.TrimSpace(arg))
		if !hasArg || err != nil || k < 1 {
			return nil, bad("want at:K with K ≥ 1")
		}
		return perturb.CutAt(k), nil
	case "error":
		if hasArg {
			return nil, bad("takes no argument")
		}
		return perturb.CutAfterError(), nil
	}
	return nil, bad("unknown policy " + strconv.Quote(kind))
}
