package estimate

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/rebound-lab/rebound/difficulty"
)

func drawP(r *rand.Rand) float64 {
	u := r.Float64()
	var a, b float64
	switch {
	case u < 0.55:
		a, b = 8, 1.5
	case u < 0.80:
		a, b = 1.5, 8
	default:
		a, b = 1, 1
	}
	return distuv.Beta{Alpha: a, Beta: b, Src: r}.Rand()
}

func binom(r *rand.Rand, n int, p float64) int {
	k := 0
	for range n {
		if r.Float64() < p {
			k++
		}
	}
	return k
}

func TestScratchLatent(t *testing.T) {
	edges := []float64{0.2, 0.8}
	start := time.Now()
	cover := 0
	reps := 40
	var sum float64
	for rep := range reps {
		r := rand.New(rand.NewPCG(uint64(rep), 1))
		units := make([]Unit, 30)
		for i := range units {
			p := drawP(r)
			rr := 0.2
			if p >= 0.2 && p <= 0.8 {
				rr = 0.7
			}
			units[i] = Unit{K: binom(r, 5, p), N: 5, M: 5}
			units[i].Y = binom(r, 5, rr)
		}
		counts := make([]difficulty.Count, len(units))
		for i, u := range units {
			counts[i] = difficulty.Count{K: u.K, N: u.N}
		}
		fit, _ := FitPrior(counts)
		lb := Latent(units, fit.Mixture, edges)
		draws := Bootstrap(counts, fit, 200, uint64(rep), func(idx []int, f PriorFit) []float64 {
			us := make([]Unit, len(idx))
			for i, j := range idx {
				us[i] = units[j]
			}
			l := Latent(us, f.Mixture, edges)
			return []float64{l[1].Recovery}
		})
		ci := BootstrapCI(lb[1].Recovery, Column(draws, 0), 0.95, max(2, int(math.Round(lb[1].Problems))), 0, 1)
		if ci.Contains(0.7) {
			cover++
		}
		sum += lb[1].Recovery
		if rep < 5 {
			t.Logf("%s %s rec %v ci %v", fit.Kind, fit.Mixture, lb[1].Recovery, ci)
		}
	}
	t.Logf("cover %d/%d mean %.3f in %v", cover, reps, sum/float64(reps), time.Since(start))
	_ = math.NaN
}
