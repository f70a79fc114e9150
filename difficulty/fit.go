package difficulty

import (
	"errors"
	"math"
)

// Count is k correct of n samples for one problem.
type Count struct {
	K int `json:"k"`
	N int `json:"n"`
}

// Bounds on fitted prior parameters: below 0.05 a Beta prior is nearly two
// point masses at 0 and 1 and the fit is ill-conditioned; above 1000 it is a
// point mass that no data could move.
const (
	minFitParam = 0.05
	maxFitParam = 1000
)

// ErrNoData: FitPrior got no counts with n > 0.
var ErrNoData = errors.New("difficulty: no counts with n > 0 to fit")

// FitPrior fits a Beta prior to observed counts by maximum marginal
// (beta-binomial) likelihood — empirical Bayes: the prior becomes the
// population's distribution of pass rates, so each problem's posterior
// borrows strength from the others. The counts may have different n, and
// counts from an adaptive plan are fine: a stopping rule that depends only on
// the data seen does not change the likelihood. Parameters are kept within
// [0.05, 1000]. Counts with n = 0 carry no information and are ignored.
// It panics on invalid counts (k < 0, n < 0 or k > n).
//
// Fitting on a few dozen problems is noisy; with fewer than ~50 prefer
// DefaultPrior.
func FitPrior(counts []Count) (Prior, error) {
	// Problems with equal (k, n) contribute equal terms: weigh distinct
	// counts by multiplicity (with n ≤ 10 there are at most 66 of them).
	weight := map[Count]float64{}
	for _, c := range counts {
		checkCounts(c.K, c.N)
		if c.N > 0 {
			weight[c]++
		}
	}
	if len(weight) == 0 {
		return Prior{}, ErrNoData
	}
	toParam := func(x float64) float64 {
		return math.Min(maxFitParam, math.Max(minFitParam, math.Exp(x)))
	}
	negLL := func(x []float64) float64 {
		a, b := toParam(x[0]), toParam(x[1])
		lbAB := lbeta(a, b)
		ll := 0.0
		for c, w := range weight {
			ll += w * (lbeta(a+float64(c.K), b+float64(c.N-c.K)) - lbAB)
		}
		return -ll
	}
	// A coarse grid over log α, log β, then a compass search that halves
	// its step until it is below 1e-6 (the likelihood is smooth in the logs).
	x := []float64{math.Log(0.5), math.Log(0.5)}
	fx := negLL(x)
	for la := -3.0; la <= 7; la += 0.5 {
		for lb := -3.0; lb <= 7; lb += 0.5 {
			if v := negLL([]float64{la, lb}); v < fx {
				x, fx = []float64{la, lb}, v
			}
		}
	}
	for step := 0.25; step > 1e-6; {
		moved := false
		for _, d := range [][2]float64{{1, 0}, {-1, 0}, {0, 1}, {0, -1}, {1, 1}, {-1, -1}, {1, -1}, {-1, 1}} {
			y := []float64{x[0] + step*d[0], x[1] + step*d[1]}
			if v := negLL(y); v < fx {
				x, fx, moved = y, v, true
				break
			}
		}
		if !moved {
			step /= 2
		}
	}
	return Prior{Alpha: toParam(x[0]), Beta: toParam(x[1])}, nil
}

// lbeta is log B(a, b).
func lbeta(a, b float64) float64 {
	la, _ := math.Lgamma(a)
	lb, _ := math.Lgamma(b)
	lab, _ := math.Lgamma(a + b)
	return la + lb - lab
}
