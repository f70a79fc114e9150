package recovery

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"strings"
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

// Both request shapes: messages too short to be stored apart (the claim
// looks for request_messages IS NULL) and a prompt stored once in prompts
// (the claim looks under its rowid).
func TestACachedAnswerWhosePaidRowWasLostIsRecordedAsPaidOnce(t *testing.T) {
	for name, question := range map[string]string{"short prompt": "q", "prompt stored apart": strings.Repeat("A long question. ", 8)} {
		t.Run(name, func(t *testing.T) { testLostPaidRowClaimedOnce(t, question) })
	}
}

func testLostPaidRowClaimedOnce(t *testing.T, question string) {
	ctx := context.Background()
	st, err := OpenStore(t.TempDir())
	require.NoError(t, err)
	defer st.Close()
	_, err = SQLiteCache(st) // the cache lives in run.db: its entries were paid by this run
	require.NoError(t, err)

	// A crash lost the row of a paid call; the rerun gets its answer from the
	// cache. No other row made that request, so this row is the paid call.
	req := `{"model":"m","messages":[{"role":"user","content":"` + question + `"}],"sample":3}`
	hit := Sample{Stage: StageWeak, ProblemID: "p", Sample: 3, Model: "x:m", Request: req, Response: "r",
		Cached: true, SavedUSD: 0.25}
	require.NoError(t, st.PutSample(ctx, hit))
	// A later stage making the same request really is served by the cache.
	again := hit
	again.Stage, again.Prefix = StagePerturb, "weak"
	require.NoError(t, st.PutSample(ctx, again))
	// A different request's hit with a paid row elsewhere stays cached too.
	other := Sample{Stage: StageStrong, ProblemID: "p", Sample: 0, Model: "x:m", Request: req + " ", Response: "r",
		CostUSD: 0.5}
	require.NoError(t, st.PutSample(ctx, other))
	otherHit := other
	otherHit.Stage, otherHit.Prefix, otherHit.Cached, otherHit.CostUSD, otherHit.SavedUSD = StagePerturb, "onpolicy", true, 0, 0.5
	require.NoError(t, st.PutSample(ctx, otherHit))

	// The same request in another problem (a duplicate question) found
	// the paid row of the first: a cache hit, not another payment.
	dup := hit
	dup.ProblemID = "p2"
	require.NoError(t, st.PutSample(ctx, dup))
	dups, err := st.Samples(ctx, "p2")
	require.NoError(t, err)
	require.Len(t, dups, 1)
	assert.True(t, dups[0].Cached, "the other problem's row is served by the cache")
	assert.Equal(t, req, dups[0].Request)
	_, err = st.DB().ExecContext(ctx, `DELETE FROM samples WHERE problem_id = 'p2'`)
	require.NoError(t, err)
	var refs []string
	rr, err := st.DB().QueryContext(ctx, `SELECT DISTINCT typeof(request_messages) FROM samples`)
	require.NoError(t, err)
	for rr.Next() {
		var ty string
		require.NoError(t, rr.Scan(&ty))
		refs = append(refs, ty)
	}
	require.NoError(t, rr.Err())
	if len(question) > 64 {
		assert.Equal(t, []string{"integer"}, refs, "the prompt is referenced by its rowid")
	} else {
		assert.Equal(t, []string{"null"}, refs)
	}

	require.NoError(t, st.Flush(ctx)) // writes are queued; read them back from the database itself
	got := map[string]Sample{}
	q, err := st.DB().QueryContext(ctx, `SELECT stage, prefix, cached, cost_usd FROM samples`)
	require.NoError(t, err)
	for q.Next() {
		var r Sample
		require.NoError(t, q.Scan(&r.Stage, &r.Prefix, &r.Cached, &r.CostUSD))
		got[r.Stage+"/"+r.Prefix] = r
	}
	require.NoError(t, q.Err())
	require.Len(t, got, 4)
	assert.False(t, got[StageWeak+"/"].Cached, "the first row to use the entry is the paid call")
	assert.Equal(t, 0.25, got[StageWeak+"/"].CostUSD)
	assert.True(t, got[StagePerturb+"/weak"].Cached)
	assert.Zero(t, got[StagePerturb+"/weak"].CostUSD)
	assert.True(t, got[StagePerturb+"/onpolicy"].Cached)
	spent, err := st.spentUSD(ctx)
	require.NoError(t, err)
	assert.InDelta(t, 0.75, spent, 1e-12, "the budget counts the claimed payment once")
}

func TestWithoutItsOwnCacheTheStoreNeverClaimsAHitAsPaid(t *testing.T) {
	ctx := context.Background()
	st, err := OpenStore(t.TempDir())
	require.NoError(t, err)
	defer st.Close()
	// A shared cache (Config.Cache) may answer from another run: a hit is a
	// real saving, not a lost paid row.
	hit := Sample{Stage: StageWeak, ProblemID: "p", Sample: 3, Model: "x:m", Request: `{"sample":3}`,
		Cached: true, SavedUSD: 0.25}
	require.NoError(t, st.PutSample(ctx, hit))
	rows, err := st.Samples(ctx, "p")
	require.NoError(t, err)
	require.Len(t, rows, 1)
	assert.True(t, rows[0].Cached)
	assert.Zero(t, rows[0].CostUSD)
}
