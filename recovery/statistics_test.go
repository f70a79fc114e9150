package recovery

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/rebound-lab/rebound/estimate"
)

func TestStatisticsNoteFlagsNormalizedRecoveryOverASmallPassRate(t *testing.T) {
	s := Summary{Buckets: []BucketSummary{
		{Name: "hard", Observed: "0/5", StrongPassRate: 0.1, NormalizedRecovery: 0.9, ContinuedProblems: 6},
		{Name: "medium", Observed: "1–4/5", StrongPassRate: 0.5, NormalizedRecovery: 0.8, ContinuedProblems: 9},
	}, Overall: BucketSummary{Name: "overall", StrongPassRate: 0.6, NormalizedRecovery: 0.8}}
	note := s.statisticsNote()
	assert.Contains(t, note, "Normalized recovery in hard (0/5) divides by a model-based pass rate below 0.2")
	assert.NotContains(t, note, "in medium", "a pass rate of 0.5 is not flagged")

	s.Buckets[0].ContinuedProblems = 500
	assert.NotContains(t, s.statisticsNote(), "divides by a model-based pass rate", "500 problems are enough")
}

func TestWeakPassAndRestartRatesHaveClusteredIntervals(t *testing.T) {
	var problems []Problem
	var samples []Sample
	weak := []float64{0, 0.2, 0.6, 1}
	for i, w := range weak {
		id := fmt.Sprintf("p%d", i)
		problems = append(problems, Problem{ID: id, StrongK: 2, StrongN: 5, WeakK: int(w * 5), WeakN: 5, Bucket: "medium"})
		for j := range 4 {
			// p0 restarts every continuation, the others never: all or nothing.
			samples = append(samples, Sample{Stage: StageContinue, ProblemID: id, Prefix: StrategyInject, Sample: j,
				Restarted: i == 0})
		}
	}
	s := Aggregate(problems, nil, samples, []string{"medium"})
	bs := s.Buckets[0]
	w := estimate.MeanCI(weak, 0.95).CI
	assert.InDelta(t, math.Max(0, w.Lo), float64(bs.WeakPassCI[0]), 1e-12)
	assert.InDelta(t, math.Min(1, w.Hi), float64(bs.WeakPassCI[1]), 1e-12)
	r := estimate.ClusterRate([]int{4, 0, 0, 0}, []int{4, 4, 4, 4}, 0.95).CI
	assert.InDelta(t, 0.25, float64(bs.RestartRate), 1e-12)
	assert.InDelta(t, r.Lo, float64(bs.RestartCI[0]), 1e-12)
	assert.InDelta(t, r.Hi, float64(bs.RestartCI[1]), 1e-12)
	naive := estimate.Naive([]int{4, 0, 0, 0}, []int{4, 4, 4, 4}, 0.95)
	assert.Greater(t, float64(bs.RestartCI[1]-bs.RestartCI[0]), naive.Hi-naive.Lo, "clustered: wider than 16 independent trials")
	assert.Contains(t, s.Table(), "| 0.250 ["+bs.RestartCI[0].String())
}

func TestAWeakPassRateEveryProblemAgreesOnStillHasAnInterval(t *testing.T) {
	var problems []Problem
	for i := range 16 {
		problems = append(problems, Problem{ID: fmt.Sprintf("p%d", i), StrongK: 0, StrongN: 5, WeakK: 0, WeakN: 5, Bucket: "hard"})
	}
	bs := Aggregate(problems, nil, nil, []string{"hard"}).Buckets[0]
	assert.Zero(t, float64(bs.WeakPassRate))
	assert.Zero(t, float64(bs.WeakPassCI[0]))
	assert.Greater(t, float64(bs.WeakPassCI[1]), 0.1, "16 problems all at 0/5 do not prove the rate is exactly 0")
	w := estimate.WilsonT(0, 16, 0.95)
	assert.InDelta(t, w.Hi, float64(bs.WeakPassCI[1]), 1e-12)
}
