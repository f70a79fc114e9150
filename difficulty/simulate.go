package difficulty

import (
	"fmt"
	"math/rand/v2"
)

// Simulation is the outcome of running a sampling plan on problems whose
// true pass rates are known.
type Simulation struct {
	Problems        int     // problems simulated
	Calls           int     // samples drawn in total
	Correct         int     // problems assigned to their true rate's bucket
	CallsPerProblem float64 // Calls / Problems
	Accuracy        float64 // Correct / Problems
}

// String formats the simulation, e.g. "1000 problems, 5.21 calls each, 91.3% assigned to the true bucket".
func (s Simulation) String() string {
	return fmt.Sprintf("%d problems, %.2f calls each, %.1f%% assigned to the true bucket",
		s.Problems, s.CallsPerProblem, 100*s.Accuracy)
}

// Simulate runs plan under binner b (nil means DefaultBinner) on problems
// with the given true pass rates, each sample a coin that lands correct with
// the problem's rate, and compares the final Assign with Bucket(rate). Use it
// to choose a plan before paying for calls: Simulate(Fixed(10), …) is the
// fixed-N baseline. The draws come from a PCG generator seeded with seed, so
// a run is reproducible. Rates outside [0, 1] are clamped.
func Simulate(plan Plan, b *Binner, rates []float64, seed uint64) Simulation {
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	s := Simulation{Problems: len(rates)}
	for _, r := range rates {
		k, n := 0, 0
		for !plan.Done(b, k, n) {
			if rng.Float64() < r {
				k++
			}
			n++
		}
		s.Calls += n
		if got, _ := b.Assign(k, n); got == b.Bucket(r) {
			s.Correct++
		}
	}
	if s.Problems > 0 {
		s.CallsPerProblem = float64(s.Calls) / float64(s.Problems)
		s.Accuracy = float64(s.Correct) / float64(s.Problems)
	}
	return s
}
