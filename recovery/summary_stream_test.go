package recovery

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/behaviour"
	"github.com/rebound-lab/rebound/dataset"
	"github.com/rebound-lab/rebound/difficulty"
	"github.com/rebound-lab/rebound/verify"
)

// summaryScenario runs a small seeded simulated experiment with three
// strategies, then adds rows that reach every path of the aggregate:
// failed calls with and without tokens, paid and cached rows, restarts,
// set-asides, a problem with no bucket and one never calibrated, and a
// stage the report does not know. It returns the open store.
func summaryScenario(t *testing.T) (*Store, *difficulty.Binner) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	cfg := simConfig(t, dir, 24, 5)
	cfg.Strategies = []string{StrategyWeak, StrategyOnPolicy, StrategyInject}
	cfg.Samples, cfg.Continuations = 4, 3
	_, err := Run(ctx, cfg)
	require.NoError(t, err)
	st, err := OpenStore(dir)
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	extra := []dataset.Problem{
		{ID: "zz-unbinned", Question: "What is 2+2?", Answer: "4"},
		{ID: "aa-uncalibrated", Question: "What is 3+3?", Answer: "6"},
	}
	require.NoError(t, st.PutProblems(ctx, extra))
	require.NoError(t, st.PutCalibration(ctx, "zz-unbinned", StageStrong, 2, 4))
	require.NoError(t, st.PutCalibration(ctx, "zz-unbinned", StageWeak, 1, 4))
	ps, err := st.Problems(ctx)
	require.NoError(t, err)
	first := ps[0].ID
	rows := []Sample{
		// A failed call with nothing billed, and one that was billed.
		{Stage: StageStrong, ProblemID: first, Sample: 90, Model: "sim:strong", Error: "server: 503"},
		{Stage: StageWeak, ProblemID: first, Sample: 91, Model: "sim:weak", Error: "verify: no answer", Response: "x",
			InputTokens: 10, OutputTokens: 3, CostUSD: 0.0001},
		// Paid and cached continuations, with restarts, on the unbinned
		// problem (its own strategy) and on a calibrated one.
		{Stage: StageContinue, ProblemID: "zz-unbinned", Prefix: StrategyInject, Sample: 0, Model: "sim:strong",
			Response: "so 4", Correct: true, Answer: "4", CostUSD: 0.00123, InputTokens: 50, OutputTokens: 7, Upstream: "host-b"},
		{Stage: StageContinue, ProblemID: "zz-unbinned", Prefix: StrategyInject, Sample: 1, Model: "sim:strong",
			Response: "start over: 5", Answer: "5", Restarted: true, RestartReason: "test", Cached: true, CostUSD: 0.00123},
		{Stage: StageContinue, ProblemID: "zz-unbinned", Prefix: "custom", Sample: 0, Model: "sim:strong",
			Response: "4", Correct: true, Answer: "4", Restarted: true, CostUSD: 0.0007, Upstream: "host-a"},
		{Stage: StageContinue, ProblemID: first, Prefix: StrategyWeak, Sample: 77, Model: "sim:strong",
			Error: "timeout", CostUSD: 0.0002, InputTokens: 40},
		{Stage: StageContinue, ProblemID: first, Prefix: StrategyOnPolicy, Sample: 78, Model: "sim:strong",
			Response: "7", Answer: "7", Restarted: true, Cached: true, CostUSD: 0.0003, Upstream: "host-a"},
		// A continuation of a problem the store does not hold.
		{Stage: StageContinue, ProblemID: "ghost", Prefix: StrategyWeak, Sample: 0, Model: "sim:strong",
			Response: "1", Answer: "1", CostUSD: 0.01},
		// Health conditions: a refusal, a cut-off answer, one found only
		// by the last-number fallback, and two identical samples.
		{Stage: StageStrong, ProblemID: "zz-unbinned", Sample: 0, Model: "sim:strong", Response: "I'm sorry, but I can't help with that."},
		{Stage: StageStrong, ProblemID: "zz-unbinned", Sample: 1, Model: "sim:strong", Response: "4", Answer: "4", Correct: true,
			FinishReason: "length", Rule: verify.SourceNumber},
		{Stage: StageWeak, ProblemID: "zz-unbinned", Sample: 0, Model: "sim:weak", Response: "same", Answer: "5"},
		{Stage: StageWeak, ProblemID: "zz-unbinned", Sample: 1, Model: "sim:weak", Response: "same", Answer: "5"},
		{Stage: StageWeak, ProblemID: "zz-unbinned", Sample: 2, Model: "sim:weak", Error: "429 rate limit"},
		// A stage the report does not know.
		{Stage: "judge", ProblemID: first, Sample: 0, Model: "judge", Response: "ok", CostUSD: 0.002, InputTokens: 5},
	}
	for _, r := range rows {
		require.NoError(t, st.PutSample(ctx, r))
	}
	for _, r := range []Prefix{
		{ProblemID: "zz-unbinned", Strategy: StrategyInject, Text: "2+2 is 5", StepsKept: 1, StepsTotal: 2, Depth: 0.5,
			Meta: map[string]string{"error_type": "arithmetic", "magnitude": "small", "position": "early", "steps_after_error": "0"}},
		{ProblemID: "zz-unbinned", Strategy: "custom", Text: "2+2", StepsKept: 1, StepsTotal: 3, Depth: 0.99},
		{ProblemID: "zz-unbinned", Strategy: StrategyWeak, SetAside: "no_trace"},
		{ProblemID: "aa-uncalibrated", Strategy: StrategyOnPolicy, SetAside: "out_of_band"},
		{ProblemID: "ghost", Strategy: StrategyOnPolicy, SetAside: "too_easy"},
		{ProblemID: first, Strategy: "failed", Error: "perturb: boom"},
	} {
		require.NoError(t, st.PutPrefix(ctx, r))
	}
	_, err = LabelBehaviours(ctx, st, false)
	require.NoError(t, err)
	conts, err := st.Continuations(ctx, first)
	require.NoError(t, err)
	require.NoError(t, st.putFlag(ctx, conts[0], "echoed"))
	return st, cfg.Binner
}

// storeRows reads every problem, prefix and sample row of st, in the
// store's order.
func storeRows(t *testing.T, st *Store) ([]Problem, []Prefix, []Sample) {
	t.Helper()
	ctx := context.Background()
	problems, err := st.Problems(ctx)
	require.NoError(t, err)
	prefixes, err := st.Prefixes(ctx, "")
	require.NoError(t, err)
	var samples []Sample
	require.NoError(t, st.eachSample(ctx, false, `1 = 1`, func(r Sample) error {
		samples = append(samples, r)
		return nil
	}))
	return problems, prefixes, samples
}

// TestSummarizeOnAStoreEqualsAggregateOverItsRows streams the store
// (SummarizeBinned) and aggregates the same rows held in memory
// (AggregateBinned): summary.json, summary.csv and every field left out of
// them must be identical.
func TestSummarizeOnAStoreEqualsAggregateOverItsRows(t *testing.T) {
	st, binner := summaryScenario(t)
	got, err := SummarizeBinned(context.Background(), st, binner)
	require.NoError(t, err)
	if dump := os.Getenv("REBOUND_SUMMARY_DUMP"); dump != "" {
		// For comparing two versions of the code by hand.
		var b strings.Builder
		require.NoError(t, got.WriteJSON(&b))
		require.NoError(t, os.WriteFile(filepath.Join(dump, "summary.json"), []byte(b.String()), 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(dump, "report.md"), []byte(got.Markdown("t")), 0o644))
	}
	require.NotNil(t, got.Behaviour)
	require.NotNil(t, got.Health)
	problems, prefixes, samples := storeRows(t, st)
	want := AggregateBinned(problems, prefixes, samples, binner)

	// The scenario reaches what it is meant to.
	assert.Greater(t, len(got.ByStrategy), 3, "custom and the three strategies")
	assert.Contains(t, got.BucketNames(), "unbinned")
	assert.Positive(t, got.Overall.SetAside["no_trace"])
	assert.Positive(t, got.Cost.CachedCalls)
	assert.Positive(t, got.Cost.USD)
	assert.Contains(t, got.StageCost, "judge")
	assert.Positive(t, got.Overall.RestartRate)
	assert.NotEmpty(t, got.ByDepth)

	// The upstream section counted in the same pass is the one the store's
	// query gives.
	up, err := upstreamSection(context.Background(), st)
	require.NoError(t, err)
	require.NotNil(t, got.upstream)
	assert.Contains(t, up, "host-a")
	assert.Equal(t, up, *got.upstream)
	assert.Equal(t, UpstreamMarkdown(UpstreamBreakdown(samples)), *got.upstream)
	got.upstream = nil

	gotHealth, gotBehaviour := got.Health, got.Behaviour
	got.Health, got.Behaviour = nil, nil
	assert.Equal(t, summaryJSON(t, want), summaryJSON(t, got))
	var wc, gc strings.Builder
	require.NoError(t, want.WriteCSV(&wc))
	require.NoError(t, got.WriteCSV(&gc))
	assert.Equal(t, wc.String(), gc.String())
	assert.Equal(t, want.Markdown("t"), got.Markdown("t"))
	assert.Equal(t, want.StageCost, got.StageCost)
	assert.Equal(t, want.BucketStageCost, got.BucketStageCost)
	assert.Equal(t, want.Paid, got.Paid)
	assert.Equal(t, want.PassRateCounts, got.PassRateCounts)
	assert.Equal(t, want.WeakPassRateCounts, got.WeakPassRateCounts)
	assert.Equal(t, want.passCounts, got.passCounts)
	assert.Positive(t, gotBehaviour.Labelled)
	// The health counted in the pass is what computeHealth's queries give.
	wantHealth, err := computeHealth(context.Background(), st)
	require.NoError(t, err)
	assert.Equal(t, wantHealth, *gotHealth)
	var echoed, refusals, identical, fallback, length int
	for _, s := range gotHealth.Stages {
		echoed, refusals, identical, fallback, length = echoed+s.Echoed, refusals+s.Refusals, identical+s.Identical,
			fallback+s.Fallback, length+s.Length
	}
	for i, n := range []int{echoed, refusals, identical, fallback, length} {
		assert.Positive(t, n, "echoed, refusals, identical, fallback, length: %d", i)
	}

	// The order of the rows given to Aggregate does not change its
	// integer counts (float sums may differ in the last bit).
	rev := slices.Clone(samples)
	slices.Reverse(rev)
	shuffled := AggregateBinned(problems, prefixes, rev, binner)
	for i := range want.Buckets {
		assert.Equal(t, want.Buckets[i].Continuations, shuffled.Buckets[i].Continuations)
		assert.Equal(t, want.Buckets[i].Recovered, shuffled.Buckets[i].Recovered)
		assert.Equal(t, want.Buckets[i].RecoveryCI, shuffled.Buckets[i].RecoveryCI)
	}
	assert.Equal(t, want.ByDepth, shuffled.ByDepth)
}

// TestTheChunkedPassesDoNotDependOnTheChunkSize labels and exports the
// scenario's store in one chunk and in chunks of three problems (Parquet
// row groups of five rows): the labels, the CSV bytes and the Parquet rows
// are the same.
func TestTheChunkedPassesDoNotDependOnTheChunkSize(t *testing.T) {
	ctx := context.Background()
	st, _ := summaryScenario(t)
	chunk, group := reportChunk, tidyRowGroup
	t.Cleanup(func() { reportChunk, tidyRowGroup = chunk, group })
	type out struct {
		labels map[BehaviourKey]behaviour.Result
		files  map[string][]byte
		conts  []ContinuationRow
		shots  []StraightShotRow
		groups int
	}
	pass := func(c, g int) out {
		reportChunk, tidyRowGroup = c, g
		n, err := LabelBehaviours(ctx, st, true)
		require.NoError(t, err)
		require.Positive(t, n)
		var o out
		o.labels, err = st.Behaviours(ctx, "")
		require.NoError(t, err)
		dir := t.TempDir()
		require.NoError(t, WriteTidy(ctx, dir, []TidySource{{Store: st, Model: "sim:strong"}}))
		o.files = map[string][]byte{}
		for _, name := range []string{TidyContinuationsCSV, TidyStraightShotsCSV} {
			o.files[name], err = os.ReadFile(filepath.Join(dir, name))
			require.NoError(t, err)
		}
		f, err := os.Open(filepath.Join(dir, TidyContinuationsParquet))
		require.NoError(t, err)
		defer f.Close()
		fi, err := f.Stat()
		require.NoError(t, err)
		o.conts, err = ReadTidyContinuations(f, fi.Size())
		require.NoError(t, err)
		pf, err := parquet.OpenFile(f, fi.Size())
		require.NoError(t, err)
		o.groups = len(pf.RowGroups())
		g2, err := os.Open(filepath.Join(dir, TidyStraightShotsParquet))
		require.NoError(t, err)
		defer g2.Close()
		gi, err := g2.Stat()
		require.NoError(t, err)
		o.shots, err = ReadTidyStraightShots(g2, gi.Size())
		require.NoError(t, err)
		return o
	}
	one := pass(1<<30, 1<<30)
	small := pass(3, 5)
	assert.Equal(t, one.labels, small.labels)
	assert.Equal(t, one.files, small.files)
	assert.Equal(t, one.conts, small.conts)
	assert.Equal(t, one.shots, small.shots)
	assert.Equal(t, 1, one.groups)
	assert.Greater(t, small.groups, 10, "a row group every five rows")
	assert.Contains(t, string(one.files[TidyContinuationsCSV]), "ghost", "rows of a problem the store does not hold")
}

// A table finds problems by rowid whether the rowids are dense (a slice)
// or sparse (a map), and NULL or unknown rowids find none.
func TestTheReportTableFindsProblemsByRowid(t *testing.T) {
	f := newSummaryFold(nil, false)
	f.t.setRowid(1, f.problem(Problem{ID: "a"}))
	f.t.setRowid(3, f.problem(Problem{ID: "b"}))
	require.NotNil(t, f.t.rowIx)
	assert.Equal(t, int32(1), f.t.rowidIx(sql.NullInt64{Int64: 3, Valid: true}))
	assert.Equal(t, int32(-1), f.t.rowidIx(sql.NullInt64{Int64: 2, Valid: true}))
	f.t.setRowid(1<<40, f.problem(Problem{ID: "c"}))
	require.Nil(t, f.t.rowIx, "sparse rowids move to a map")
	for rowid, want := range map[int64]int32{1: 0, 3: 1, 1 << 40: 2, 2: -1, 99: -1} {
		assert.Equal(t, want, f.t.rowidIx(sql.NullInt64{Int64: rowid, Valid: true}), "rowid %d", rowid)
	}
	assert.Equal(t, int32(-1), f.t.rowidIx(sql.NullInt64{}))
	assert.Equal(t, int32(-1), f.t.problemIx("a"), "no ID index when rows name problems by rowid")
}
