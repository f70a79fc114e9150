package recovery

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/dataset"
)

func TestStoreRoundTripsRowsAndUpsertsIdempotently(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := OpenStore(dir)
	require.NoError(t, err)

	probs := []dataset.Problem{
		{ID: "b", Question: "1+1?", Answer: "2", Source: "test"},
		{ID: "a", Question: "2+2?", Answer: "4", Level: 3},
	}
	require.NoError(t, st.PutProblems(ctx, probs))
	require.NoError(t, st.PutProblems(ctx, probs), "re-inserting problems is harmless")
	require.NoError(t, st.PutCalibration(ctx, "b", StageStrong, 2, 3))
	require.NoError(t, st.PutCalibration(ctx, "b", StageWeak, 1, 3))
	require.Error(t, st.PutCalibration(ctx, "b", "bogus", 1, 3))
	require.NoError(t, st.PutBucket(ctx, "b", "medium", map[string]float64{"easy": 0.4, "medium": 0.6}))

	s := Sample{Stage: StageStrong, ProblemID: "b", Sample: 1, Model: "sim:strong", Response: "x", Correct: true,
		Answer: "2", InputTokens: 10, OutputTokens: 5, CostUSD: 0.5}
	require.NoError(t, st.PutSample(ctx, s))
	s.Response = "y"
	require.NoError(t, st.PutSample(ctx, s), "upsert of the same key")
	require.NoError(t, st.PutSample(ctx, Sample{Stage: StageContinue, ProblemID: "b", Prefix: "weak", Sample: 0,
		Restarted: true, RestartReason: "restated"}))
	require.NoError(t, st.PutPrefix(ctx, Prefix{ProblemID: "b", Strategy: "weak", Text: "step 1", StepsKept: 1,
		StepsTotal: 4, Depth: 0.25, Meta: map[string]string{"tries": "2"}}))
	require.NoError(t, st.PutPrefix(ctx, Prefix{ProblemID: "a", Strategy: "weak", SetAside: "too_easy"}))
	require.NoError(t, st.SetConfig(ctx, "config", `{"seed":1}`))
	require.NoError(t, st.Close())

	st, err = OpenStore(dir)
	require.NoError(t, err)
	defer st.Close()

	got, err := st.Problems(ctx)
	require.NoError(t, err)
	require.Len(t, got, 2)
	assert.Equal(t, "b", got[0].ID, "problems keep insertion order")
	assert.Equal(t, 2, got[0].StrongK)
	assert.Equal(t, 3, got[0].WeakN)
	assert.InDelta(t, 2.0/3, got[0].StrongRate(), 1e-12)
	assert.Equal(t, "medium", got[0].Bucket)
	assert.Equal(t, 0.6, got[0].Membership["medium"])
	assert.Equal(t, 3, got[1].Level)

	p, ok, err := st.Problem(ctx, "a")
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, "4", p.Dataset().Answer)
	_, ok, err = st.Problem(ctx, "nope")
	require.NoError(t, err)
	assert.False(t, ok)

	samples, err := st.Samples(ctx, "b")
	require.NoError(t, err)
	require.Len(t, samples, 1, "the upsert left one row and continuations are not samples")
	assert.Equal(t, "y", samples[0].Response)
	assert.Equal(t, 0.5, samples[0].CostUSD)
	assert.False(t, samples[0].At.IsZero())

	conts, err := st.Continuations(ctx, "")
	require.NoError(t, err)
	require.Len(t, conts, 1)
	assert.True(t, conts[0].Restarted)
	assert.Equal(t, "weak", conts[0].Prefix)

	prefs, err := st.Prefixes(ctx, "")
	require.NoError(t, err)
	require.Len(t, prefs, 2)
	assert.Equal(t, "too_easy", prefs[0].SetAside)
	assert.Equal(t, "2", prefs[1].Meta["tries"])

	v, ok, err := st.Config(ctx, "config")
	require.NoError(t, err)
	assert.True(t, ok)
	assert.JSONEq(t, `{"seed":1}`, v)

	var buf bytes.Buffer
	require.NoError(t, st.ExportSamples(ctx, &buf))
	sc := bufio.NewScanner(&buf)
	n := 0
	for sc.Scan() {
		var r map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &r))
		assert.Contains(t, r, "stage")
		assert.Contains(t, r, "cost_usd")
		n++
	}
	assert.Equal(t, 2, n)
}
