package estimate_test

import (
	"fmt"

	"github.com/rebound-lab/rebound/difficulty"
	"github.com/rebound-lab/rebound/estimate"
)

// Ten problems whose five continuations each are all or nothing carry
// about as much information as ten observations, not fifty.
func ExampleClusterRate() {
	y := []int{5, 5, 5, 5, 5, 0, 0, 0, 0, 0}
	m := []int{5, 5, 5, 5, 5, 5, 5, 5, 5, 5}
	r := estimate.ClusterRate(y, m, 0.95)
	fmt.Printf("%.2f %v df %.0f design effect %.1f\n", r.Rate, r.CI, r.DF, r.DesignEffect)
	fmt.Printf("ignoring clustering: %v\n", estimate.Naive(y, m, 0.95))
	// Output:
	// 0.50 [0.20, 0.80] df 9 design effect 5.6
	// ignoring clustering: [0.37, 0.63]
}

// How many problems does a 95 % half-width of 0.05 need, and does a
// larger K help?
func ExampleProblemsFor() {
	for _, k := range []int{5, 20} {
		d := estimate.Design{K: k, Rate: 0.5, ICC: 0.3}
		fmt.Printf("K = %d: %d problems\n", k, estimate.ProblemsFor(d, 0.05, 0.95))
	}
	// Output:
	// K = 5: 170 problems
	// K = 20: 130 problems
}

// A fitted prior's posterior means shrink 0/5 and 5/5 toward the
// population instead of reading 0 and 1.
func ExampleFitPrior() {
	var counts []difficulty.Count
	for k, n := range map[int]int{0: 25, 1: 5, 2: 4, 3: 5, 4: 6, 5: 55} {
		for range n {
			counts = append(counts, difficulty.Count{K: k, N: 5})
		}
	}
	fit, err := estimate.FitPrior(counts)
	if err != nil {
		panic(err)
	}
	fmt.Println(fit.Kind)
	fmt.Printf("0/5 → %.2f, 5/5 → %.2f\n", fit.Mixture.Posterior(0, 5).Mean(), fit.Mixture.Posterior(5, 5).Mean())
	// Output:
	// beta
	// 0/5 → 0.03, 5/5 → 0.98
}

// A hard bucket's recovery 0.08 over its posterior pass rate 0.1 is a
// ratio with a noisy denominator: bootstrap draws of the pass rate give
// its log-scale variance, and the ratio is corrected for the overshoot
// that noise causes on average.
func ExampleLognormalRatio() {
	passDraws := []float64{0.06, 0.08, 0.1, 0.1, 0.12, 0.15} // bootstrap draws of the pass rate
	recDraws := []float64{0.08, 0.07, 0.09, 0.08, 0.06, 0.1} // recovery in the same draws
	s2 := estimate.LogVariance(passDraws)
	fmt.Printf("plain %.3f, corrected %.3f\n", 0.08/0.1,
		estimate.LognormalRatio(0.08, 0.1, s2, estimate.PairedCov(recDraws, passDraws)))
	// Output: plain 0.800, corrected 0.776
}
