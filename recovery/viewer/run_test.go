package viewer

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/dataset"
	"github.com/rebound-lab/rebound/providers"
	"github.com/rebound-lab/rebound/recovery"
)

// writeRun records a small run through the recovery store's own API, the
// way the harness does, and returns the open store (for later writes).
func writeRun(t *testing.T, dir string) *recovery.Store {
	t.Helper()
	ctx := context.Background()
	st, err := recovery.OpenStore(dir)
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	require.NoError(t, st.PutProblems(ctx, []dataset.Problem{
		{ID: "p2", Question: "What is $\\frac{1}{2} + \\frac{1}{4}$?", Answer: "\\frac{3}{4}", Source: "math500", Subject: "Prealgebra", Level: 2},
		{ID: "p1", Question: "Tom has $3 and earns $4. How many dollars?", Answer: "7", Source: "gsm8k"},
		{ID: "p3", Question: "Untouched problem", Answer: "0"},
	}))
	require.NoError(t, st.PutCalibration(ctx, "p2", recovery.StageStrong, 1, 2))
	require.NoError(t, st.PutCalibration(ctx, "p2", recovery.StageWeak, 0, 1))
	require.NoError(t, st.PutCalibration(ctx, "p1", recovery.StageStrong, 2, 2))
	require.NoError(t, st.PutBucket(ctx, "p2", "medium", map[string]float64{"hard": 0.2, "medium": 0.7, "easy": 0.1}))
	require.NoError(t, st.PutBucket(ctx, "p1", "easy", map[string]float64{"easy": 1}))
	for _, s := range []recovery.Sample{
		{Stage: recovery.StageWeak, ProblemID: "p2", Sample: 0, Model: "sim:weak", Response: "1/2 + 1/4 = 2/6", Answer: "\\frac{1}{3}", Reason: "differs"},
		{Stage: recovery.StageStrong, ProblemID: "p2", Sample: 1, Model: "sim:strong", Response: "= 3/4 \\boxed{\\frac{3}{4}}", Correct: true, Answer: "\\frac{3}{4}", InputTokens: 50, OutputTokens: 30, CostUSD: 0.002, LatencyMS: 1234},
		{Stage: recovery.StageStrong, ProblemID: "p2", Sample: 0, Model: "sim:strong", Response: "= 2/6", Answer: "\\frac{1}{3}"},
		{Stage: recovery.StageStrong, ProblemID: "p1", Sample: 0, Model: "sim:strong", Response: "#### 7", Correct: true, Answer: "7", Cached: true},
		{Stage: recovery.StageStrong, ProblemID: "p1", Sample: 1, Model: "sim:strong", Error: "HTTP 500 upstream"},
		{Stage: recovery.StageContinue, ProblemID: "p2", Prefix: "weak", Sample: 0, Model: "sim:strong", Response: " wait, 1/2 = 2/4 so 3/4.", Correct: true,
			Answer: "\\frac{3}{4}", PrefillMethod: string(providers.PrefillAssistantMessage), InputTokens: 80, OutputTokens: 20},
		{Stage: recovery.StageContinue, ProblemID: "p2", Prefix: "weak", Sample: 1, Model: "sim:strong", Response: "Let's solve it again.", Answer: "\\frac{1}{3}",
			Restarted: true, RestartReason: "fresh opener", PrefillMethod: string(providers.PrefillAssistantMessage)},
		{Stage: recovery.StageContinue, ProblemID: "p2", Prefix: "ghost", Sample: 0, Model: "sim:strong", Response: "orphan", Correct: true},
	} {
		require.NoError(t, st.PutSample(ctx, s))
	}
	require.NoError(t, st.PutPrefix(ctx, recovery.Prefix{ProblemID: "p2", Strategy: "weak", Text: "Step 1: 1/2 + 1/4\n",
		Source: "Step 1: 1/2 + 1/4\nStep 2: = 2/6\n\\boxed{1/3}", StepsKept: 1, StepsTotal: 3, Depth: 1.0 / 3, Origin: "sim:weak",
		ErrorStep: 2, Meta: map[string]string{"tries": "1"}, Calls: 1, CostUSD: 0.001}))
	require.NoError(t, st.PutPrefix(ctx, recovery.Prefix{ProblemID: "p1", Strategy: "weak", SetAside: "too_easy"}))
	require.NoError(t, st.PutPrefix(ctx, recovery.Prefix{ProblemID: "p1", Strategy: "onpolicy", Error: "verifier crashed"}))
	require.NoError(t, st.SetConfig(ctx, "config", `{"strong":"sim:strong","weak":"sim:weak","seed":7,"empty":"","api_key":"sk-123"}`))
	require.NoError(t, st.Flush(ctx)) // writes are batched: commit them for the viewer's own connection
	return st
}

func readFile(t *testing.T, src Source, name string) string {
	t.Helper()
	f, err := src.File(context.Background(), name)
	require.NoError(t, err)
	defer f.Close()
	b, err := io.ReadAll(f)
	require.NoError(t, err)
	return string(b)
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
}

func TestOpenRunNeedsARunDirectory(t *testing.T) {
	dir := t.TempDir()
	_, err := OpenRun(dir)
	require.Error(t, err)
	assert.Contains(t, err.Error(), dir)
	assert.Contains(t, err.Error(), "no run.db here")
	_, err = os.Stat(filepath.Join(dir, recovery.StoreFile))
	assert.True(t, os.IsNotExist(err), "opening for viewing creates nothing")
}

func TestRunReadsTheStoreSummaryAndPlots(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	writeRun(t, dir)
	writeFile(t, filepath.Join(dir, "summary.json"), goodSummary)
	writeFile(t, filepath.Join(dir, "recovery_by_bucket.svg"), testSVG)
	writeFile(t, filepath.Join(dir, "recovery_by_bucket.png"), "png bytes")
	writeFile(t, filepath.Join(dir, "pass_rates.svg"), testSVG)
	writeFile(t, filepath.Join(dir, "report.md"), "# report")
	writeFile(t, filepath.Join(dir, "notes.txt"), "not offered")

	run, err := OpenRun(dir)
	require.NoError(t, err)
	defer run.Close()

	ov, err := run.Overview(ctx)
	require.NoError(t, err)
	assert.Equal(t, filepath.Base(dir), ov.Title)
	assert.True(t, ov.HasSummary)
	assert.Len(t, ov.Buckets, 2)
	assert.Equal(t, 700, ov.Cost.Calls)
	assert.Equal(t, []FileRef{
		{Name: "recovery_by_bucket.svg", Title: "Recovery per bucket over intrinsic strong and weak pass rates"},
		{Name: "pass_rates.svg", Title: "Straight-shot pass rates"},
	}, ov.Plots, "SVG preferred, in the report's order")
	assert.Equal(t, []FileRef{
		{Name: "report.md", Title: "the report (Markdown)"},
		{Name: "summary.json", Title: "per-bucket summary (stable keys, for tools)"},
		{Name: "recovery_by_bucket.png", Title: "Recovery per bucket over intrinsic strong and weak pass rates (PNG)"},
	}, ov.Files)
	assert.Equal(t, []Param{{"api_key", "(redacted)"}, {"seed", "7"}, {"strong", "sim:strong"}, {"weak", "sim:weak"}}, ov.Params)

	list, err := run.ProblemList(ctx)
	require.NoError(t, err)
	require.Len(t, list, 3)
	assert.Equal(t, []string{"p2", "p1", "p3"}, []string{list[0].ID, list[1].ID, list[2].ID}, "the run's order")
	p2 := list[0]
	assert.Equal(t, ProblemSummary{
		ID: "p2", Question: "What is $\\frac{1}{2} + \\frac{1}{4}$?", Answer: "\\frac{3}{4}", Source: "math500",
		Bucket: "medium", BucketProb: 0.7, StrongCorrect: 1, StrongSamples: 2, WeakCorrect: 0, WeakSamples: 1,
		Strategies: []string{"weak"}, Prefixes: 1, Continuations: 3, Recovered: 2, Restarts: 1,
		// The fixture's rows have no extracted answer, and one restarted.
		Health: []string{"unparsable", "restart"},
	}, p2)
	q, err := ParseQuery(url.Values{"health": {"restart"}})
	require.NoError(t, err)
	assert.True(t, q.Match(&p2), "the health filter keeps a problem with a restarted continuation")
	q.Health = "empty"
	assert.False(t, q.Match(&p2))

	// p1: weak set aside (too_easy), onpolicy failed; p2: weak built.
	built := Query{Strategy: "weak", Prefix: "built"}
	aside := Query{Strategy: "weak", Prefix: "set_aside"}
	assert.True(t, built.Match(&p2))
	assert.False(t, built.Match(&list[1]), "a strategy that set the problem aside did not build a prefix")
	assert.True(t, aside.Match(&list[1]))
	assert.False(t, aside.Match(&p2))
	q, err = ParseQuery(built.Values())
	require.NoError(t, err)
	assert.Equal(t, "built", q.Prefix)
	p1 := list[1]
	assert.Equal(t, []string{"onpolicy", "weak"}, p1.Strategies)
	assert.Equal(t, []string{"onpolicy: error", "weak: too_easy"}, p1.SetAside)
	assert.Equal(t, OutcomeSetAside, p1.Outcome())
	assert.Equal(t, OutcomePending, list[2].Outcome())
	assert.Equal(t, "unbinned", list[2].Bucket, "as the report names problems without a bucket")

	p, err := run.Problem(ctx, "p2")
	require.NoError(t, err)
	assert.Equal(t, "Prealgebra", p.Subject)
	assert.Equal(t, []Membership{{"hard", 0.2}, {"easy", 0.1}, {"medium", 0.7}}, p.Membership, "in summary.json's bucket order (hard, easy), unknown (medium) last")
	require.Len(t, p.Samples, 3)
	assert.Equal(t, []string{"strong", "strong", "weak"}, []string{p.Samples[0].Role, p.Samples[1].Role, p.Samples[2].Role})
	assert.Equal(t, 0, p.Samples[0].Index, "strong samples by index")
	s1 := p.Samples[1]
	assert.True(t, s1.Verified && s1.Verdict.Correct)
	assert.Equal(t, "\\frac{3}{4}", s1.Verdict.Answer)
	assert.Equal(t, providers.Usage{InputTokens: 50, OutputTokens: 30}, s1.Usage)
	assert.Equal(t, "1.234s", s1.Latency.String())
	require.Len(t, p.Prefixes, 2)
	pre := p.Prefixes[0]
	assert.Equal(t, "weak", pre.Strategy)
	assert.Equal(t, 2, pre.ErrorStep)
	assert.Equal(t, map[string]string{"tries": "1"}, pre.Meta)
	require.Len(t, pre.Continuations, 2)
	assert.Equal(t, providers.PrefillAssistantMessage, pre.Continuations[0].PrefillMethod)
	assert.True(t, pre.Continuations[1].Restart)
	assert.Equal(t, "fresh opener", pre.Continuations[1].RestartReason)
	assert.Equal(t, "ghost", p.Prefixes[1].Strategy, "continuations without a prefix row are still shown")
	assert.Equal(t, 3, p.Continuations)

	p, err = run.Problem(ctx, "p1")
	require.NoError(t, err)
	assert.Equal(t, []string{"onpolicy: failed: verifier crashed", "weak: too easy"}, p.SetAsideDetail)
	assert.Equal(t, 2, p.StrongSamples, "calibration counts come from the problems table")
	failed := p.Samples[1]
	assert.False(t, failed.Verified)
	assert.Equal(t, "HTTP 500 upstream", failed.Error)
	assert.True(t, p.Samples[0].Cached)

	_, err = run.Problem(ctx, "nope")
	assert.ErrorIs(t, err, ErrNotFound)

	assert.Equal(t, "# report", readFile(t, run, "report.md"))
	for _, bad := range []string{"../x", "..", "", "sub/file", "missing.svg"} {
		_, err := run.File(ctx, bad)
		assert.ErrorIs(t, err, ErrNotFound, bad)
	}
}

func TestRunListFollowsARunInProgress(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st := writeRun(t, dir)
	run, err := OpenRun(dir)
	require.NoError(t, err)
	defer run.Close()
	run.refreshEvery = 0
	list, err := run.ProblemList(ctx)
	require.NoError(t, err)
	assert.Equal(t, 0, list[2].Continuations)
	again, err := run.ProblemList(ctx)
	require.NoError(t, err)
	assert.Same(t, &list[0], &again[0], "unchanged database: cached list")

	require.NoError(t, st.PutPrefix(ctx, recovery.Prefix{ProblemID: "p3", Strategy: "inject", Text: "a", Source: "ab", StepsKept: 1, StepsTotal: 2}))
	require.NoError(t, st.PutSample(ctx, recovery.Sample{Stage: recovery.StageContinue, ProblemID: "p3", Prefix: "inject", Correct: true}))
	require.NoError(t, st.Flush(ctx))
	list, err = run.ProblemList(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, list[2].Continuations, "a write shows up")
	assert.Equal(t, OutcomeRecovered, list[2].Outcome())

	run.refreshEvery = time.Hour
	require.NoError(t, st.PutCalibration(ctx, "p3", recovery.StageStrong, 1, 1))
	require.NoError(t, st.Flush(ctx))
	soon, err := run.ProblemList(ctx)
	require.NoError(t, err)
	assert.Equal(t, 0, soon[2].StrongSamples, "within the refresh interval the list is reused")
}

func TestRunWithoutSummaryTotalsCostFromTheStore(t *testing.T) {
	dir := t.TempDir()
	writeRun(t, dir)
	run, err := OpenRun(dir)
	require.NoError(t, err)
	defer run.Close()
	ov, err := run.Overview(context.Background())
	require.NoError(t, err)
	assert.False(t, ov.HasSummary)
	// The definitions of summary.json (recovery.Cost): 8 rows less one
	// failed call that returned nothing; the prefix table's own call count
	// is not added again (Run records those calls as perturb rows).
	assert.Equal(t, 7, ov.Cost.Calls)
	assert.Equal(t, 1, ov.Cost.CachedCalls)
	assert.InDelta(t, 0.002, ov.Cost.USD, 1e-12)
	assert.Equal(t, 130, ov.Cost.InputTokens)
}

func TestRunWithABrokenSummaryReportsWhere(t *testing.T) {
	dir := t.TempDir()
	writeRun(t, dir)
	writeFile(t, filepath.Join(dir, "summary.json"), "{\n  \"buckets\": 3\n}")
	run, err := OpenRun(dir)
	require.NoError(t, err)
	defer run.Close()
	_, err = run.Overview(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), filepath.Join(dir, "summary.json")+":2:")
	assert.Contains(t, err.Error(), "buckets")

	res, body := get(t, quietHandler(run), "/")
	assert.Equal(t, http.StatusInternalServerError, res.StatusCode)
	assert.Contains(t, body, "summary.json:2:")
}

func TestRunServedEndToEnd(t *testing.T) {
	dir := t.TempDir()
	writeRun(t, dir)
	writeFile(t, filepath.Join(dir, "summary.json"), goodSummary)
	writeFile(t, filepath.Join(dir, "recovery_by_bucket.svg"), testSVG)
	run, err := OpenRun(dir)
	require.NoError(t, err)
	defer run.Close()
	h := quietHandler(run)
	res, body := get(t, h, "/")
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	assert.Contains(t, body, `<img src="files/recovery_by_bucket.svg"`)
	res, body = get(t, h, "/problems?outcome=partial")
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	assert.Equal(t, []string{"p2"}, rowIDs(t, body))
	res, body = get(t, h, "/problem?id="+url.QueryEscape("p2"))
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	assert.Contains(t, body, `✂ cut · step 1/3`)
	assert.Contains(t, body, "prefill assistant_message")
	assert.Contains(t, body, "1.23s")
	res, _ = get(t, h, "/files/recovery_by_bucket.svg")
	assert.Equal(t, http.StatusOK, res.StatusCode)
	res, _ = get(t, h, "/files/run.db")
	assert.Equal(t, http.StatusNotFound, res.StatusCode, "the database is not a listed file")
}

func TestRunReadsWhatTheRecoveryReportWrites(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st := writeRun(t, dir)
	s, err := recovery.Summarize(ctx, st, []string{"hard", "medium", "easy"})
	require.NoError(t, err)
	require.NoError(t, recovery.WriteReport(ctx, dir, s, st, "compat"))

	run, err := OpenRun(dir)
	require.NoError(t, err)
	defer run.Close()
	ov, err := run.Overview(ctx)
	require.NoError(t, err, "the viewer parses the summary.json the report writes")
	require.True(t, ov.HasSummary)
	var names []string
	for _, b := range ov.Buckets {
		names = append(names, b.Name)
	}
	assert.Equal(t, []string{"hard", "medium", "easy", "unbinned"}, names)
	assert.Equal(t, 3, ov.Overall.Continuations, "the three continuations without an error")
	assert.Equal(t, 2, ov.Overall.Recovered)
	require.Len(t, ov.Plots, 3, "one image per plot")
	for _, p := range ov.Plots {
		assert.Equal(t, ".svg", filepath.Ext(p.Name), p.Name)
		assert.Contains(t, readFile(t, run, p.Name), "<svg")
	}
	fileNames := map[string]bool{}
	for _, f := range ov.Files {
		fileNames[f.Name] = true
	}
	for _, want := range []string{"report.md", "summary.json", "summary.csv", "samples.jsonl", "pass_rates.png"} {
		assert.True(t, fileNames[want], want)
	}
}

func TestRedactHidesSecretsButNotTokenCounts(t *testing.T) {
	for name, hidden := range map[string]bool{
		"api_key": true, "OPENAI_API_KEY": true, "x-api-key": true, "apikey": true, "access_token": true,
		"client_secret": true, "password": true, "Authorization": true, "bearer": true,
		"max_tokens": false, "input_tokens": false, "seed": false, "strong_model": false, "keyboard": false,
		"monkey": false,
	} {
		got := redact(name, "v")
		if hidden {
			assert.Equal(t, "(redacted)", got, name)
		} else {
			assert.Equal(t, "v", got, name)
		}
	}
}

func TestAppendParamListsARepeatedParameterOnce(t *testing.T) {
	ps := appendParam(nil, Param{"seed", "1"})
	ps = appendParam(ps, Param{"seed", "1"})
	ps = appendParam(ps, Param{"seed", "2"})
	assert.Equal(t, []Param{{"seed", "1"}, {"seed", "2"}}, ps, "a differing value is still shown")
}
