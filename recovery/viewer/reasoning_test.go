package viewer

import (
	"context"
	"net/http"
	"net/url"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/providers"
	"github.com/rebound-lab/rebound/recovery"
)

// The problem page shows a call's reasoning apart from its text, the
// upstream host and the seed sent.
func TestProblemPageShowsReasoningUpstreamAndSeed(t *testing.T) {
	dir := t.TempDir()
	st := writeRun(t, dir)
	ctx := context.Background()
	require.NoError(t, st.PutSample(ctx, recovery.Sample{Stage: recovery.StageContinue, ProblemID: "p2", Prefix: "weak", Sample: 2,
		Model: "openrouter:deepseek/deepseek-r1", Response: " so 3/4.", Answer: "\\frac{3}{4}", Correct: true,
		Reasoning: "Half plus a quarter <is> three quarters.", Upstream: "DeepInfra", Seed: providers.Int64(123456)}))
	require.NoError(t, st.PutSample(ctx, recovery.Sample{Stage: recovery.StageStrong, ProblemID: "p2", Sample: 2,
		Model: "sim:strong", Response: "3/4", Reasoning: "straight-shot thinking"}))
	require.NoError(t, st.Flush(ctx))
	writeFile(t, filepath.Join(dir, "summary.json"), goodSummary)
	run, err := OpenRun(dir)
	require.NoError(t, err)
	defer run.Close()
	res, body := get(t, quietHandler(run), "/problem?id="+url.QueryEscape("p2"))
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	assert.Contains(t, body, "Half plus a quarter &lt;is&gt; three quarters.", "escaped")
	assert.Contains(t, body, "reasoning (not verified, not part of the continuation)")
	assert.Contains(t, body, "straight-shot thinking")
	assert.Contains(t, body, " · via DeepInfra")
	assert.Contains(t, body, " · seed 123456")
}
