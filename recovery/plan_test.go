package recovery

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/estimate"
	"github.com/rebound-lab/rebound/providers"
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

func TestPlanStudyPricesFromThePriceTableAtThePilotsTokensPerCall(t *testing.T) {
	ctx := context.Background()
	st, err := OpenStore(t.TempDir())
	require.NoError(t, err)
	defer st.Close()
	// A pilot of 2 problems: 2 strong calls each (1000 in, 500 out), 1
	// continuation each (2000 in, 100 out), one failed call without tokens.
	for _, s := range []Sample{
		{Stage: StageStrong, ProblemID: "p0", Sample: 0, Model: "openai:gpt-4o", InputTokens: 1000, OutputTokens: 500},
		{Stage: StageStrong, ProblemID: "p0", Sample: 1, Model: "openai:gpt-4o", InputTokens: 1000, OutputTokens: 500},
		{Stage: StageStrong, ProblemID: "p1", Sample: 0, Model: "openai:gpt-4o", InputTokens: 1000, OutputTokens: 500},
		{Stage: StageStrong, ProblemID: "p1", Sample: 1, Model: "openai:gpt-4o", Error: "HTTP 500"},
		{Stage: StageContinue, ProblemID: "p0", Prefix: StrategyInject, Model: "openai:gpt-4o", InputTokens: 2000, OutputTokens: 100},
		{Stage: StageContinue, ProblemID: "p1", Prefix: StrategyInject, Model: "openai:gpt-4o", InputTokens: 2000, OutputTokens: 100},
		{Stage: StageWeak, ProblemID: "p0", Model: "acme:unknown-7b", InputTokens: 10, OutputTokens: 10},
	} {
		require.NoError(t, st.PutSample(ctx, s))
	}
	table := providers.NewPriceTable()
	table.Set("openai", "gpt-4o", providers.Price{InputPerM: 2.5, OutputPerM: 10})
	stages, err := PilotStages(ctx, st, table)
	require.NoError(t, err)
	require.Len(t, stages, 3)
	byStage := map[string]PlanStage{}
	for _, s := range stages {
		byStage[s.Stage] = s
	}
	assert.Equal(t, 3, byStage[StageStrong].Calls, "the failed call without tokens is not a priced call")
	assert.InDelta(t, 1000, byStage[StageStrong].InputPerCall, 1e-9)
	assert.True(t, byStage[StageContinue].Priced)
	assert.False(t, byStage[StageWeak].Priced)

	a := PlanAssumptions{Buckets: []PlanBucket{{Name: "all", Share: 1, Rate: 0.5, ICC: 0.2}}, K: 5, Samples: 5,
		WeakSamples: 1, Strategies: 1, HalfWidth: 0.1, USDPerCall: 99, Stages: stages}
	p, err := PlanStudy(a)
	require.NoError(t, err)
	assert.Equal(t, "price table", p.Pricing)
	// Per problem: 5 strong calls × (1000·2.5 + 500·10)/1e6 + 5 continuations × (2000·2.5 + 100·10)/1e6.
	want := float64(p.Problems) * (5*(1000*2.5+500*10)/1e6 + 5*(2000*2.5+100*10)/1e6)
	assert.InDelta(t, want, p.USD, 1e-9, "not the pilot's $99 per call")
	assert.Contains(t, p.String(), "priced from the provider price table")
	assert.Contains(t, p.String(), "No price in the table for weak acme:unknown-7b")

	a.Stages = nil
	p, err = PlanStudy(a)
	require.NoError(t, err)
	assert.Equal(t, "pilot cost per call", p.Pricing)
	assert.InDelta(t, float64(p.Calls)*99, p.USD, 1e-6)
}
