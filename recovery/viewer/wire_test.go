package viewer

import (
	"context"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/recovery"
	"github.com/rebound-lab/rebound/verify"
)

// The problem page names the verifier's extraction rule next to the answer.
func TestProblemPageShowsTheExtractionRuleNextToTheAnswer(t *testing.T) {
	dir := t.TempDir()
	st := writeRun(t, dir)
	ctx := context.Background()
	require.NoError(t, st.PutSample(ctx, recovery.Sample{Stage: recovery.StageStrong, ProblemID: "p2", Sample: 7,
		Model: "sim:strong", Response: "it is 3/4 or 12", Answer: "12", Rule: verify.SourceNumber}))
	require.NoError(t, st.Flush(ctx))
	writeFile(t, filepath.Join(dir, "summary.json"), goodSummary)
	run, err := OpenRun(dir)
	require.NoError(t, err)
	defer run.Close()
	res, body := get(t, quietHandler(run), "/problem?id="+url.QueryEscape("p2"))
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	assert.Contains(t, body, `<span class="tex">12</span> <small class="rule" title="the verifier's extraction rule">(last-number)</small>`)
}

// The call meta line says "batch" for a completion bought by a batch API.
func TestProblemPageMarksBatchCalls(t *testing.T) {
	dir := t.TempDir()
	st := writeRun(t, dir)
	ctx := context.Background()
	require.NoError(t, st.PutSample(ctx, recovery.Sample{Stage: recovery.StageStrong, ProblemID: "p2", Sample: 8,
		Model: "sim:batched", Response: "3/4", Batch: true}))
	require.NoError(t, st.Flush(ctx))
	writeFile(t, filepath.Join(dir, "summary.json"), goodSummary)
	run, err := OpenRun(dir)
	require.NoError(t, err)
	defer run.Close()
	res, body := get(t, quietHandler(run), "/problem?id="+url.QueryEscape("p2"))
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	assert.Contains(t, body, "sim:batched #8 · 0 out tokens · $0 · batch</span>")
	assert.Equal(t, 1, strings.Count(body, " · batch<"), "only the batch call is marked")
}
