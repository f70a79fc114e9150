package recovery

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/behaviour"
	"github.com/rebound-lab/rebound/providers"
	"github.com/rebound-lab/rebound/verify"
)

// readCSV reads a tidy CSV into maps keyed by column name.
func readCSV(t *testing.T, path string) []map[string]string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	require.NotEmpty(t, recs)
	var out []map[string]string
	for _, rec := range recs[1:] {
		m := map[string]string{}
		for i, c := range recs[0] {
			m[c] = rec[i]
		}
		out = append(out, m)
	}
	return out
}

func TestASimulatedRunStoresAndExportsTheExtractionRuleOfEveryAnswer(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfg := simConfig(t, dir, 4, 1)
	cfg.Samples, cfg.Continuations = 2, 1
	sum, err := Run(ctx, cfg)
	require.NoError(t, err)

	st, err := OpenStore(dir)
	require.NoError(t, err)
	defer st.Close()
	rows, err := st.Samples(ctx, "")
	require.NoError(t, err)
	conts, err := st.Continuations(ctx, "")
	require.NoError(t, err)
	rows = append(rows, conts...)
	require.NotEmpty(t, conts)
	known := []string{verify.SourceJSON, verify.SourceSection, verify.SourceBoxed, verify.SourceHashes, verify.SourceBold,
		verify.SourceWhole, verify.SourceMath, verify.SourceNumber, verify.SourceChoice, verify.SourceNone}
	answered := 0
	for _, r := range rows {
		if r.Error != "" || r.Answer == "" {
			continue
		}
		answered++
		assert.Contains(t, known, r.Rule, "%s %s #%d", r.Stage, r.ProblemID, r.Sample)
	}
	require.Positive(t, answered)
	var healthAnswered int
	for _, s := range sum.Health.Stages {
		healthAnswered += s.Answered
	}
	assert.Equal(t, answered, healthAnswered, "health counts the answered straight shots and continuations")

	for _, name := range []string{TidyStraightShotsCSV, TidyContinuationsCSV} {
		recs := readCSV(t, filepath.Join(dir, name))
		require.NotEmpty(t, recs, name)
		for _, rec := range recs {
			if rec["answer"] != "" && rec["error"] == "" {
				assert.Contains(t, known, rec["extraction_rule"], name)
			}
		}
	}
}

func TestAnswersFoundOnlyByTheLastNumberFallbackWarnAboveTheThreshold(t *testing.T) {
	ctx := context.Background()
	put := func(t *testing.T, st *Store, stage string, n, fallback int) {
		for i := range n {
			r := Sample{Stage: stage, ProblemID: "p1", Sample: i, Model: "m:" + stage, Response: "so 4", Answer: "4",
				Correct: true, Rule: verify.SourceBoxed}
			if i < fallback {
				r.Rule = verify.SourceNumber
			}
			require.NoError(t, st.PutSample(ctx, r))
		}
		// A failed row and an answerless one count in neither share.
		require.NoError(t, st.PutSample(ctx, Sample{Stage: stage, ProblemID: "p2", Model: "m:" + stage, Error: "boom"}))
		require.NoError(t, st.PutSample(ctx, Sample{Stage: stage, ProblemID: "p3", Model: "m:" + stage, Response: "no idea"}))
	}
	st, err := OpenStore(t.TempDir())
	require.NoError(t, err)
	defer st.Close()
	put(t, st, StageStrong, 10, 3) // 30 %: warns
	put(t, st, StageWeak, 10, 1)   // 10 %: below 20 %

	back, err := st.StageSamples(ctx, StageStrong)
	require.NoError(t, err)
	var rules []string
	for _, r := range back {
		rules = append(rules, r.Rule)
	}
	assert.Equal(t, 3, len(slices.DeleteFunc(rules, func(s string) bool { return s != verify.SourceNumber })), "the rule is read back")

	h, err := computeHealth(ctx, st)
	require.NoError(t, err)
	var warned []HealthWarning
	for _, w := range h.Warnings {
		if w.Condition == CondFallback {
			warned = append(warned, w)
		}
	}
	require.Len(t, warned, 1, "%+v", h.Warnings)
	w := warned[0]
	assert.Equal(t, StageStrong, w.Stage)
	assert.Equal(t, "m:strong", w.Model)
	assert.Equal(t, 3, w.Count)
	assert.Equal(t, 10, w.Of)
	assert.Contains(t, w.Message, "30 % (3/10)")
	assert.Contains(t, w.Message, "the model ignores the answer-format instruction: check the prompt or the model's output format")
	for _, s := range h.Stages {
		assert.Equal(t, 10, s.Answered, s.Stage)
	}
	assert.Contains(t, h.markdown(), "last-number fallback 20 %")

	// The viewer's filter selects the same rows.
	var n int
	require.NoError(t, st.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM samples WHERE `+HealthCondition(CondFallback)).Scan(&n))
	assert.Equal(t, 4, n)
}

func TestABatchRunMarksItsRowsAndTheExportSaysBatchWhereALiveRunSaysLive(t *testing.T) {
	ctx := context.Background()
	liveDir, batchDir := t.TempDir(), t.TempDir()
	live := simConfig(t, liveDir, 4, 3)
	live.Samples, live.Continuations = 2, 1
	_, err := Run(ctx, live)
	require.NoError(t, err)
	cfg, _, _ := batchConfig(t, batchDir, 4)
	cfg.Samples, cfg.Continuations = 2, 1
	_, err = Run(ctx, cfg)
	require.NoError(t, err)

	for dir, want := range map[string]string{liveDir: "live", batchDir: "batch"} {
		st, err := OpenStore(dir)
		require.NoError(t, err)
		rows, err := st.Samples(ctx, "")
		require.NoError(t, err)
		conts, err := st.Continuations(ctx, "")
		require.NoError(t, err)
		require.NoError(t, st.Close())
		rows = append(rows, conts...)
		require.NotEmpty(t, conts)
		for _, r := range rows {
			assert.Equal(t, want == "batch", r.Batch, "%s %s %s #%d", dir, r.Stage, r.ProblemID, r.Sample)
		}
		for _, name := range []string{TidyStraightShotsCSV, TidyContinuationsCSV} {
			recs := readCSV(t, filepath.Join(dir, name))
			require.NotEmpty(t, recs)
			for _, rec := range recs {
				assert.Equal(t, want, rec["batch"], name)
			}
		}
	}
}

func TestTheTidyExportCarriesUpstreamBehaviourAndPrefillTarget(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := OpenStore(dir)
	require.NoError(t, err)
	defer st.Close()
	require.NoError(t, st.SetConfig(ctx, "config", `{"seed":1,"prefill_target":"answer"}`))
	req := func(target string) string {
		b, err := json.Marshal(providers.Request{Model: "m", Prefill: "Step 1:", PrefillTarget: target})
		require.NoError(t, err)
		return string(b)
	}
	cont := func(sample int, request, upstream string) Sample {
		return Sample{Stage: StageContinue, ProblemID: "p1", Prefix: StrategyWeak, Sample: sample, Model: "m",
			Request: request, Response: " so 4", Answer: "4", Correct: true, Rule: verify.SourceBoxed, Upstream: upstream}
	}
	require.NoError(t, st.PutSample(ctx, cont(0, req(providers.PrefillTargetReasoning), "DeepInfra")))
	require.NoError(t, st.PutSample(ctx, cont(1, req(""), "")))
	require.NoError(t, st.PutSample(ctx, cont(2, "", "Together")))
	require.NoError(t, st.PutBehaviour(ctx, BehaviourKey{"p1", StrategyWeak, 0}, behaviour.Result{Label: behaviour.SilentRecovery}))
	require.NoError(t, st.PutSample(ctx, Sample{Stage: StageStrong, ProblemID: "p1", Model: "m", Response: "4", Answer: "4",
		Upstream: "Fireworks"}))

	require.NoError(t, WriteTidy(ctx, dir, []TidySource{{Store: st}}))
	conts := readCSV(t, filepath.Join(dir, TidyContinuationsCSV))
	require.Len(t, conts, 3)
	bySample := map[string]map[string]string{}
	for _, c := range conts {
		bySample[c["sample"]] = c
	}
	assert.Equal(t, "reasoning", bySample["0"]["prefill_target"], "the request's target")
	assert.Equal(t, "answer", bySample["1"]["prefill_target"], "a request without one: the run's")
	assert.Equal(t, "answer", bySample["2"]["prefill_target"], "no request recorded: the run's")
	assert.Equal(t, "DeepInfra", bySample["0"]["upstream"])
	assert.Equal(t, "", bySample["1"]["upstream"])
	assert.Equal(t, "Together", bySample["2"]["upstream"])
	assert.Equal(t, string(behaviour.SilentRecovery), bySample["0"]["behaviour"])
	assert.Equal(t, "", bySample["1"]["behaviour"], "unlabelled")
	shots := readCSV(t, filepath.Join(dir, TidyStraightShotsCSV))
	require.Len(t, shots, 1)
	assert.Equal(t, "Fireworks", shots[0]["upstream"])
	assert.Equal(t, "live", shots[0]["batch"])

	// The Parquet twin carries the same values.
	f, err := os.Open(filepath.Join(dir, TidyContinuationsParquet))
	require.NoError(t, err)
	defer f.Close()
	fi, err := f.Stat()
	require.NoError(t, err)
	rows, err := ReadTidyContinuations(f, fi.Size())
	require.NoError(t, err)
	require.Len(t, rows, 3)
	for _, r := range rows {
		assert.Equal(t, bySample[strconv.FormatInt(r.Sample, 10)]["behaviour"], r.Behaviour)
		assert.Equal(t, bySample[strconv.FormatInt(r.Sample, 10)]["prefill_target"], r.PrefillTarget)
	}
}
