package recovery

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/rebound-lab/rebound/estimate"
	"github.com/rebound-lab/rebound/providers"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestUpstreamBreakdownInTheReport(t *testing.T) {
	dir := t.TempDir()
	st, err := OpenStore(dir)
	require.NoError(t, err)
	defer st.Close()
	ctx := context.Background()
	rows := []Sample{
		{Stage: StageStrong, ProblemID: "p0", Sample: 0, Upstream: "DeepInfra", Correct: true},
		{Stage: StageContinue, ProblemID: "p0", Prefix: "weak", Sample: 0, Upstream: "DeepInfra", Correct: true},
		{Stage: StageContinue, ProblemID: "p0", Prefix: "weak", Sample: 1, Upstream: "DeepInfra"},
		{Stage: StageContinue, ProblemID: "p1", Prefix: "weak", Sample: 0, Upstream: "Chutes", Correct: true},
		{Stage: StageContinue, ProblemID: "p1", Prefix: "weak", Sample: 1, Upstream: "Chutes", Error: "HTTP 502"},
		{Stage: StageWeak, ProblemID: "p1", Sample: 0},
	}
	for _, r := range rows {
		require.NoError(t, st.PutSample(ctx, r))
	}
	want := []UpstreamStat{
		{Upstream: "DeepInfra", Calls: 3, Continuations: 2, Recovered: 1, RecoveryRate: 0.5},
		{Upstream: "Chutes", Calls: 2, Continuations: 1, Recovered: 1, RecoveryRate: 1},
		{Upstream: "", Calls: 1, Continuations: 0, Recovered: 0},
	}
	got := UpstreamBreakdown(rows)
	require.Len(t, got, 3)
	for i := range want {
		assert.Equal(t, want[i].Upstream, got[i].Upstream)
		assert.Equal(t, want[i].Calls, got[i].Calls)
		assert.Equal(t, want[i].Continuations, got[i].Continuations)
		assert.Equal(t, want[i].Recovered, got[i].Recovered)
	}
	assert.False(t, got[2].RecoveryRate.Defined())
	assert.False(t, got[2].RecoveryCI[0].Defined(), "no continuations, no interval")
	// The interval is clustered by problem: DeepInfra's two continuations
	// are one problem's, so it is one cluster's interval.
	want0 := estimate.ClusterRate([]int{1}, []int{2}, 0.95).CI
	assert.Equal(t, 1, got[0].Problems)
	assert.InDelta(t, want0.Lo, float64(got[0].RecoveryCI[0]), 1e-12)
	assert.InDelta(t, want0.Hi, float64(got[0].RecoveryCI[1]), 1e-12)

	md, err := upstreamSection(ctx, st)
	require.NoError(t, err)
	assert.Equal(t, UpstreamMarkdown(got), md, "the query and the in-memory count agree")
	assert.Contains(t, md, "| DeepInfra | 3 | 1 | 2 | 1 | 0.500 ["+got[0].RecoveryCI[0].String())
	assert.Contains(t, md, "| (not named) | 1 | 0 | 0 | 0 |")

	assert.Empty(t, UpstreamBreakdown([]Sample{{Stage: StageStrong}}), "no router, no section")
}

// withUpstream marks every completion as served by a named host, as
// OpenRouter's replies do.
type withUpstream struct{ providers.Completer }

func (w withUpstream) Complete(ctx context.Context, req providers.Request) (providers.Completion, error) {
	c, err := w.Completer.Complete(ctx, req)
	c.Upstream = "HostA"
	return c, err
}

func TestRunReportsCallsByUpstream(t *testing.T) {
	dir := t.TempDir()
	cfg := simConfig(t, dir, 10, 1)
	cfg.Strong = withUpstream{cfg.Strong}
	_, err := Run(context.Background(), cfg)
	require.NoError(t, err)
	b, err := os.ReadFile(filepath.Join(dir, ReportMD))
	require.NoError(t, err)
	assert.Contains(t, string(b), "## Calls by upstream host")
	assert.Contains(t, string(b), "| HostA |")
	assert.Contains(t, string(b), "| (not named) |", "the weak model's calls named no host")
}
