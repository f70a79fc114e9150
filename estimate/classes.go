package estimate

import "github.com/rebound-lab/rebound/difficulty"

// Classes groups problems whose data are equal, so that statistics of a
// million problems run on a few hundred classes: Of[i] is problem i's
// class and Counts[c] class c's straight-shot count (every problem of a
// class has it; what else "equal data" means is up to the Stat that reads
// the multiplicities). Bootstrap and Jackknife still draw and group the
// problems one by one, so grouping changes no draw, only how the draw is
// handed over.
type Classes struct {
	Of     []int32
	Counts []difficulty.Count
}

// Each is Classes with every problem its own class: counts[i] is problem
// i's straight-shot count.
func Each(counts []difficulty.Count) Classes {
	of := make([]int32, len(counts))
	for i := range of {
		of[i] = int32(i)
	}
	return Classes{Of: of, Counts: counts}
}

// Sizes is the number of problems in each class.
func (cl Classes) Sizes() []float64 {
	size := make([]float64, len(cl.Counts))
	for _, c := range cl.Of {
		size[c]++
	}
	return size
}

// FitPrior is FitPrior on every problem's count (the same fit, from the
// classes' counts and sizes).
func (cl Classes) FitPrior() (PriorFit, error) {
	return fitPriorWeighted(cl.Counts, cl.Sizes(), nil)
}
