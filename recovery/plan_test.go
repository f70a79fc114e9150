package recovery

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/estimate"
)

func TestPlanStudyMeetsItsTargetAndMoreSamplesDoNotHelp(t *testing.T) {
	a := PlanAssumptions{Buckets: []PlanBucket{{Name: "hard", Share: 0.25, Rate: 0.1, ICC: 0.3},
		{Name: "medium", Share: 0.2, Rate: 0.5, ICC: 0.3}, {Name: "easy", Share: 0.55, Rate: 0.8, ICC: 0.3}},
		K: 5, Samples: 5, WeakSamples: 5, Strategies: 1, HalfWidth: 0.1, USDPerCall: 0.01}
	p, err := PlanStudy(a)
	require.NoError(t, err)
	for _, r := range p.Rows {
		assert.LessOrEqual(t, r.HalfWidth, 0.1+1e-9, r.Bucket)
	}
	assert.Equal(t, p.Problems*(5+5+5), p.Calls)
	assert.InDelta(t, float64(p.Calls)*0.01, p.USD, 1e-9)
	// Ten times the straight-shot samples: same problems, more cost.
	a2 := a
	a2.Samples, a2.WeakSamples = 50, 50
	p2, err := PlanStudy(a2)
	require.NoError(t, err)
	assert.Equal(t, p.Problems, p2.Problems)
	assert.Greater(t, p2.USD, p.USD)
	// Four times the continuations narrow far less than four times the problems.
	d := estimate.Design{Problems: 100, K: 5, Rate: 0.5, ICC: 0.3}
	dk, dg := d, d
	dk.K, dg.Problems = 20, 400
	assert.Greater(t, dk.HalfWidth(0.95), 0.75*d.HalfWidth(0.95), "K ×4 narrows by < 25 %")
	assert.Less(t, dg.HalfWidth(0.95), 0.55*d.HalfWidth(0.95), "problems ×4 halves it")
	_, err = PlanStudy(PlanAssumptions{Buckets: a.Buckets})
	assert.ErrorContains(t, err, "half-width")
}
