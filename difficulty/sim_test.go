package difficulty_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/difficulty"
)

// gammaInt draws Gamma(shape, 1) for an integer shape as a sum of
// exponentials (all the mixes below need).
func gammaInt(rng *rand.Rand, shape int) float64 {
	s := 0.0
	for i := 0; i < shape; i++ {
		s += rng.ExpFloat64()
	}
	return s
}

func betaInt(rng *rand.Rand, a, b int) float64 {
	x, y := gammaInt(rng, a), gammaInt(rng, b)
	return x / (x + y)
}

// bimodalRates draws the population of true pass rates: 40 % near
// 0.9 (Beta(18, 2)), 35 % near 0.1 (Beta(2, 18)), 25 % uniform on [0, 1].
func bimodalRates(n int, seed uint64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 1))
	out := make([]float64, n)
	for i := range out {
		switch u := rng.Float64(); {
		case u < 0.40:
			out[i] = betaInt(rng, 18, 2)
		case u < 0.75:
			out[i] = betaInt(rng, 2, 18)
		default:
			out[i] = rng.Float64()
		}
	}
	return out
}

func TestSimulateFixedPlanUsesExactlyNCalls(t *testing.T) {
	rates := bimodalRates(500, 1)
	s := difficulty.Simulate(difficulty.Fixed(10), nil, rates, 1)
	assert.Equal(t, 5000, s.Calls)
	assert.Equal(t, 500, s.Problems)
	assert.InDelta(t, 10, s.CallsPerProblem, 1e-12)
	// Certain problems are always bucketed right.
	sure := difficulty.Simulate(difficulty.Fixed(10), nil, []float64{0, 0, 1, 1}, 1)
	assert.Equal(t, 4, sure.Correct)
	assert.Equal(t, 1.0, sure.Accuracy)
}

func TestSimulateIsReproducible(t *testing.T) {
	rates := bimodalRates(300, 2)
	a := difficulty.Simulate(difficulty.DefaultPlan(), nil, rates, 9)
	b := difficulty.Simulate(difficulty.DefaultPlan(), nil, rates, 9)
	assert.Equal(t, a, b)
}

// TestAdaptivePlanSavesCallsWithoutLosingAccuracy pins the simulation
// figures the report quotes (seeded, so deterministic): on the bimodal mix
// the default plan (Min 2, Max 12, Confidence 0.8, Jeffreys) meets the
// issue's target of ≥ 40 % fewer calls than N = 10 at equal or better
// accuracy; the session-2 default (Min 3, Max 10, Confidence 0.9) saved ~24 %.
func TestAdaptivePlanSavesCallsWithoutLosingAccuracy(t *testing.T) {
	rates := bimodalRates(5000, 7)
	b := difficulty.DefaultBinner()
	fixed := difficulty.Simulate(difficulty.Fixed(10), b, rates, 1)
	def := difficulty.Simulate(difficulty.DefaultPlan(), b, rates, 1)
	p80 := difficulty.Plan{Min: 3, Max: 10, Confidence: 0.8}
	loose := difficulty.Simulate(p80, b, rates, 1)
	t.Logf("fixed N=10: %v", fixed)
	t.Logf("default plan: %v", def)
	t.Logf("confidence 0.8: %v", loose)

	assert.LessOrEqual(t, def.CallsPerProblem, 0.6*fixed.CallsPerProblem, "default plan: ≥ 40 % fewer calls")
	assert.GreaterOrEqual(t, def.Accuracy, fixed.Accuracy, "default plan: equal or better accuracy")
	old := difficulty.Simulate(difficulty.Plan{Min: 3, Max: 10, Confidence: 0.9}, b, rates, 1)
	t.Logf("session-2 default (3, 10, 0.9): %v", old)
	assert.LessOrEqual(t, loose.CallsPerProblem, 0.6*fixed.CallsPerProblem, "≥ 40 % fewer calls")
	assert.GreaterOrEqual(t, loose.Accuracy, fixed.Accuracy-0.02, "accuracy within 2 points")
}

func TestFitPriorRecoversAKnownPrior(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	var counts []difficulty.Count
	for i := 0; i < 3000; i++ {
		r := betaInt(rng, 2, 5)
		k := 0
		n := 3 + i%8 // mixed sample sizes, as an adaptive plan leaves them
		for j := 0; j < n; j++ {
			if rng.Float64() < r {
				k++
			}
		}
		counts = append(counts, difficulty.Count{K: k, N: n})
	}
	counts = append(counts, difficulty.Count{K: 0, N: 0}) // ignored
	p, err := difficulty.FitPrior(counts)
	require.NoError(t, err)
	assert.InDelta(t, 2, p.Alpha, 0.4)
	assert.InDelta(t, 5, p.Beta, 1.0)
	assert.InDelta(t, 2.0/7, p.Alpha/(p.Alpha+p.Beta), 0.02, "the prior mean matches the population mean")
}

func TestFitPriorOnABimodalPopulationIsUShaped(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 6))
	var counts []difficulty.Count
	for _, r := range bimodalRates(2000, 3) {
		k := 0
		for j := 0; j < 10; j++ {
			if rng.Float64() < r {
				k++
			}
		}
		counts = append(counts, difficulty.Count{K: k, N: 10})
	}
	p, err := difficulty.FitPrior(counts)
	require.NoError(t, err)
	assert.Less(t, p.Alpha, 1.0)
	assert.Less(t, p.Beta, 1.0)
}

func TestFitPriorNeedsData(t *testing.T) {
	_, err := difficulty.FitPrior([]difficulty.Count{{0, 0}})
	assert.ErrorIs(t, err, difficulty.ErrNoData)
	// All-or-nothing data pushes the fit to the lower bound, not to zero.
	p, err := difficulty.FitPrior([]difficulty.Count{{0, 10}, {10, 10}, {0, 10}, {10, 10}})
	require.NoError(t, err)
	assert.GreaterOrEqual(t, p.Alpha, 0.05)
	assert.False(t, math.IsNaN(p.Beta))
}

// BenchmarkPlans compares the adaptive plan with fixed N = 10 on the
// issue's bimodal population (5,000 problems), reporting calls per problem,
// bucket-assignment accuracy and the share of calls saved. Run with
// go test -run '^$' -bench Plans -benchtime 1x ./difficulty/
func BenchmarkPlans(b *testing.B) {
	rates := bimodalRates(5000, 7)
	type arm struct {
		name  string
		plan  difficulty.Plan
		prior difficulty.Prior
	}
	arms := []arm{
		{"fixed10/jeffreys", difficulty.Fixed(10), difficulty.Jeffreys},
		{"default/jeffreys", difficulty.DefaultPlan(), difficulty.Jeffreys},
		{"conf0.85/jeffreys", difficulty.Plan{Min: 3, Max: 10, Confidence: 0.85}, difficulty.Jeffreys},
		{"conf0.8/jeffreys", difficulty.Plan{Min: 3, Max: 10, Confidence: 0.8}, difficulty.Jeffreys},
		{"fixed10/beta0.2", difficulty.Fixed(10), difficulty.Prior{Alpha: 0.2, Beta: 0.2}},
		{"default/beta0.2", difficulty.DefaultPlan(), difficulty.Prior{Alpha: 0.2, Beta: 0.2}},
		{"fixed10/uniform", difficulty.Fixed(10), difficulty.Uniform},
		{"default/uniform", difficulty.DefaultPlan(), difficulty.Uniform},
	}
	fixedCalls := 10.0
	for _, a := range arms {
		binner := difficulty.DefaultBinner().WithPrior(a.prior)
		b.Run(a.name, func(b *testing.B) {
			var s difficulty.Simulation
			for b.Loop() {
				s = difficulty.Simulate(a.plan, binner, rates, 1)
			}
			b.ReportMetric(s.CallsPerProblem, "calls/problem")
			b.ReportMetric(100*s.Accuracy, "accuracy%")
			b.ReportMetric(100*(1-s.CallsPerProblem/fixedCalls), "saved%")
		})
	}
}

func BenchmarkMembership(b *testing.B) {
	binner := difficulty.DefaultBinner()
	for b.Loop() {
		for k := 0; k <= 10; k++ {
			binner.Membership(k, 10)
		}
	}
}
