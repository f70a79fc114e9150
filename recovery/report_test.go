package recovery

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// handCase is a four-problem run small enough to aggregate by hand.
func handCase() ([]Problem, []Prefix, []Sample) {
	problems := []Problem{
		{ID: "p1", Bucket: "hard", StrongK: 1, StrongN: 5, WeakK: 0, WeakN: 5},
		{ID: "p2", Bucket: "hard", StrongK: 0, StrongN: 5, WeakK: 0, WeakN: 5},
		{ID: "p3", Bucket: "easy", StrongK: 5, StrongN: 5, WeakK: 3, WeakN: 5},
		{ID: "p4", Bucket: "easy", StrongK: 4, StrongN: 5, WeakK: 5, WeakN: 5},
	}
	prefixes := []Prefix{
		{ProblemID: "p1", Strategy: "weak", Text: "a", Depth: 0.5},
		{ProblemID: "p2", Strategy: "weak", Text: "b", Depth: 0.2},
		{ProblemID: "p3", Strategy: "weak", Text: "c", Depth: 0.8},
		{ProblemID: "p4", Strategy: "weak", SetAside: "too_easy"},
	}
	cont := func(id string, i int, correct, restarted bool) Sample {
		return Sample{Stage: StageContinue, ProblemID: id, Prefix: "weak", Sample: i, Correct: correct,
			Restarted: restarted, InputTokens: 5, OutputTokens: 5, CostUSD: 0.001}
	}
	samples := []Sample{
		{Stage: StageStrong, ProblemID: "p1", InputTokens: 10, OutputTokens: 20, CostUSD: 0.01},
		{Stage: StageWeak, ProblemID: "p1", InputTokens: 10, OutputTokens: 20, Cached: true},
		{Stage: StagePerturb, ProblemID: "p1", Prefix: "weak", Sample: 0, InputTokens: 4, OutputTokens: 4, CostUSD: 0.001},
		{Stage: StagePerturb, ProblemID: "p1", Prefix: "weak", Sample: 1, InputTokens: 4, OutputTokens: 4, CostUSD: 0.001},
		cont("p1", 0, true, false), cont("p1", 1, false, true),
		cont("p2", 0, false, false), cont("p2", 1, false, false),
		cont("p3", 0, true, false), cont("p3", 1, true, false),
		{Stage: StageContinue, ProblemID: "p3", Prefix: "weak", Sample: 2, Error: "HTTP 503", Correct: true},
	}
	return problems, prefixes, samples
}

func TestAggregateMatchesAHandComputedRun(t *testing.T) {
	pr, px, sm := handCase()
	s := Aggregate(pr, px, sm, nil)
	require.Len(t, s.Buckets, 2)
	hard, easy, all := s.Buckets[0], s.Buckets[1], s.Overall
	assert.Equal(t, "hard", hard.Name, "buckets keep first-appearance order")

	assert.Equal(t, 2, hard.Problems)
	// Strong pass rates are posterior means under the prior fitted to the
	// four counts; the raw k/n means are kept as StrongPassObserved.
	require.NotNil(t, s.Prior)
	pm := func(k int) float64 { return s.Prior.Mixture.Posterior(k, 5).Mean() }
	assert.InDelta(t, 0.1, float64(hard.StrongPassObserved), 1e-12)
	assert.InDelta(t, (pm(1)+pm(0))/2, float64(hard.StrongPassRate), 1e-12)
	assert.Greater(t, float64(hard.StrongPassRate), 0.1, "shrunk toward the population mean")
	assert.InDelta(t, 0.0, float64(hard.WeakPassRate), 1e-12)
	assert.Empty(t, hard.SetAside)
	assert.Equal(t, 4, hard.Continuations)
	assert.Equal(t, 1, hard.Recovered)
	assert.InDelta(t, 0.25, float64(hard.RecoveryRate), 1e-12)
	assert.InDelta(t, 0.25/((pm(1)+pm(0))/2), float64(hard.NormalizedRecoveryPlain), 1e-12)
	assert.InDelta(t, 0.25, float64(hard.RestartRate), 1e-12)

	assert.InDelta(t, 0.9, float64(easy.StrongPassObserved), 1e-12)
	assert.InDelta(t, (pm(5)+pm(4))/2, float64(easy.StrongPassRate), 1e-12)
	assert.InDelta(t, 0.8, float64(easy.WeakPassRate), 1e-12)
	assert.Equal(t, map[string]int{"too_easy": 1}, easy.SetAside)
	assert.Equal(t, 2, easy.Continuations, "the failed continuation is not counted")
	assert.Equal(t, 2, easy.Recovered)
	assert.InDelta(t, 1/pm(5), float64(easy.NormalizedRecoveryPlain), 1e-12, "only p3 was continued: its pass rate is the denominator")
	assert.InDelta(t, 0.0, float64(easy.RestartRate), 1e-12)

	assert.Equal(t, 4, all.Problems)
	assert.InDelta(t, 0.5, float64(all.StrongPassObserved), 1e-12)
	assert.InDelta(t, 0.4, float64(all.WeakPassRate), 1e-12)
	assert.Equal(t, 6, all.Continuations)
	assert.Equal(t, 3, all.Recovered)
	assert.InDelta(t, 0.5/((pm(0)+pm(1)+pm(5))/3), float64(all.NormalizedRecoveryPlain), 1e-12, "overall: the continued problems' pass rate")
	assert.InDelta(t, 0.5-(pm(0)+pm(1)+pm(5))/3, float64(all.RecoveryMinusPass), 1e-12)
	assert.Equal(t, "0–1/5", hard.Observed)
	assert.Equal(t, "4–5/5", easy.Observed)
	assert.InDelta(t, 1.0/6, float64(all.RestartRate), 1e-12)
	for _, b := range append(s.Buckets, all) {
		assert.LessOrEqual(t, float64(b.RecoveryCI[0]), float64(b.RecoveryRate), b.Name)
		assert.GreaterOrEqual(t, float64(b.RecoveryCI[1]), float64(b.RecoveryRate), b.Name)
		// The printed normalized recovery is the log-normal correction of the
		// plain ratio: defined with it, and inside its own interval.
		require.True(t, b.NormalizedRecovery.Defined(), b.Name)
		assert.NotEqual(t, b.NormalizedRecoveryPlain, b.NormalizedRecovery, "%s: corrected", b.Name)
		if b.NormalizedRecoveryCI[0].Defined() {
			assert.LessOrEqual(t, float64(b.NormalizedRecoveryCI[0]), float64(b.NormalizedRecovery), b.Name)
			assert.GreaterOrEqual(t, float64(b.NormalizedRecoveryCI[1]), float64(b.NormalizedRecovery), b.Name)
		}
	}

	require.Len(t, s.ByDepth, 3)
	assert.Equal(t, DepthSummary{Depth: 0.125, Continuations: 2, RecoveryRate: 0, Problems: 1, RecoveryCI: s.ByDepth[0].RecoveryCI}, s.ByDepth[0])
	assert.Equal(t, DepthSummary{Depth: 0.625, Continuations: 2, RecoveryRate: 0.5, Problems: 1, RecoveryCI: s.ByDepth[1].RecoveryCI}, s.ByDepth[1])
	assert.Equal(t, DepthSummary{Depth: 0.875, Continuations: 2, RecoveryRate: 1, Problems: 1, RecoveryCI: s.ByDepth[2].RecoveryCI}, s.ByDepth[2])

	assert.Equal(t, 10, s.Cost.Calls, "1 strong + 1 weak + 6 continuations + 2 perturb calls; the failed call is free")
	assert.Equal(t, 1, s.Cost.CachedCalls)
	assert.Equal(t, 58, s.Cost.InputTokens)
	assert.Equal(t, 78, s.Cost.OutputTokens)
	assert.InDelta(t, 0.018, s.Cost.USD, 1e-12)
	assert.Equal(t, Cost{Calls: 9, InputTokens: 48, OutputTokens: 58, USD: 0.018}.Calls, s.Paid.Calls)
	assert.Equal(t, 48, s.Paid.InputTokens, "the cached weak sample's tokens are not paid for")
	assert.Equal(t, 2, s.StageCost[StagePerturb].Calls)
	assert.Equal(t, Cost{Calls: 2, InputTokens: 8, OutputTokens: 8, USD: 0.002}.Calls, s.BucketStageCost["hard"][StagePerturb].Calls)
	assert.InDelta(t, 0.004, s.BucketStageCost["hard"][StageContinue].USD, 1e-12, "four hard continuations")
	assert.InDelta(t, 0.002, s.BucketStageCost["easy"][StageContinue].USD, 1e-12, "two easy continuations billed; the failed one free")
	assert.InDelta(t, 0.006, s.StageCost[StageContinue].USD, 1e-12)
	assert.Equal(t, []RateCount{{0, 1}, {0.2, 1}, {0.8, 1}, {1, 1}}, s.PassRateCounts)
}

func TestAggregateOfAnEmptyRunHasUndefinedRatesNotNaNJSON(t *testing.T) {
	s := Aggregate(nil, nil, nil, []string{"hard", "easy"})
	require.Len(t, s.Buckets, 2)
	assert.False(t, s.Buckets[0].RecoveryRate.Defined())
	var buf bytes.Buffer
	require.NoError(t, s.WriteJSON(&buf))
	assert.Contains(t, buf.String(), `"recovery_rate": null`)
}

func TestSummaryJSONHasTheStableSchema(t *testing.T) {
	pr, px, sm := handCase()
	s := Aggregate(pr, px, sm, nil)
	var buf bytes.Buffer
	require.NoError(t, s.WriteJSON(&buf))
	var m map[string]any
	require.NoError(t, json.Unmarshal(buf.Bytes(), &m))
	keys := func(v any) []string {
		var ks []string
		for k := range v.(map[string]any) {
			ks = append(ks, k)
		}
		return ks
	}
	assert.ElementsMatch(t, []string{"buckets", "overall", "cost", "by_depth", "by_strategy", "prior"}, keys(m))
	assert.ElementsMatch(t, []string{"strategy", "buckets", "overall"}, keys(m["by_strategy"].([]any)[0]))
	rateKeys := []string{"name", "problems", "strong_pass_rate", "weak_pass_rate", "set_aside", "continuations",
		"recovered", "recovery_rate", "recovery_ci", "normalized_recovery", "restart_rate",
		// Added by issue 13.
		"observed", "confidence", "strong_pass_rate_observed", "strong_pass_ci", "normalized_recovery_ci",
		"recovery_minus_pass", "recovery_minus_pass_ci", "icc", "min_detectable_diff", "continued_problems",
		"weak_pass_ci", "restart_ci", "normalized_recovery_plain"}
	assert.ElementsMatch(t, rateKeys, keys(m["buckets"].([]any)[0]))
	assert.ElementsMatch(t, rateKeys, keys(m["overall"]))
	assert.ElementsMatch(t, []string{"calls", "cached_calls", "input_tokens", "output_tokens", "usd"}, keys(m["cost"]))
	assert.ElementsMatch(t, []string{"depth", "continuations", "recovery_rate", "problems", "recovery_ci"}, keys(m["by_depth"].([]any)[0]))
	assert.Len(t, m["overall"].(map[string]any)["normalized_recovery_ci"], 2)
	assert.Len(t, m["overall"].(map[string]any)["recovery_ci"], 2)

	var back Summary
	require.NoError(t, json.Unmarshal(buf.Bytes(), &back))
	assert.Equal(t, s.Overall.Recovered, back.Overall.Recovered)
	assert.InDelta(t, float64(s.Overall.RecoveryCI[1]), float64(back.Overall.RecoveryCI[1]), 1e-12)
}

func TestSummaryCSVHasOneRowPerBucketAndOverall(t *testing.T) {
	pr, px, sm := handCase()
	s := Aggregate(pr, px, sm, nil)
	var buf bytes.Buffer
	require.NoError(t, s.WriteCSV(&buf))
	rows, err := csv.NewReader(&buf).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, 4)
	assert.Contains(t, rows[0], "set_aside_too_easy")
	assert.Equal(t, []string{"easy", "2", strconv.FormatFloat(float64(s.Buckets[1].StrongPassRate), 'g', 6, 64), "0.8", "1", "2", "2", "1"}, rows[2][:8])
	col := slices.Index(rows[0], "strong_pass_rate_observed")
	require.Positive(t, col)
	assert.Equal(t, "0.9", rows[2][col], "the raw k/n mean is kept under its own column")
	assert.Equal(t, "overall", rows[3][0])
}

func TestClusterCIEqualsWilsonWhenClustersAgree(t *testing.T) {
	// Five problems, each 2 of 4: no between-problem variance, so deff = 1
	// and the interval is Wilson's at n = 20 with t(0.975, 4) = 2.7764451.
	lo, hi := ClusterCI([]int{2, 2, 2, 2, 2}, []int{4, 4, 4, 4, 4}, 0.95)
	z, n, p := 2.7764451, 20.0, 0.5
	den := 1 + z*z/n
	half := z / den * math.Sqrt(p*(1-p)/n+z*z/(4*n*n))
	assert.InDelta(t, 0.5-half, lo, 1e-6)
	assert.InDelta(t, 0.5+half, hi, 1e-6)
}

func TestClusterCIWidensWithClustering(t *testing.T) {
	// Same pooled rate 0.5 over 40 trials; in the second set each problem is
	// all-or-nothing, so it carries far less information.
	ys := []int{2, 2, 2, 2, 2, 2, 2, 2, 2, 2}
	loA, hiA := ClusterCI(ys, []int{4, 4, 4, 4, 4, 4, 4, 4, 4, 4}, 0.95)
	loB, hiB := ClusterCI([]int{4, 0, 4, 0, 4, 0, 4, 0, 4, 0}, []int{4, 4, 4, 4, 4, 4, 4, 4, 4, 4}, 0.95)
	assert.Greater(t, hiB-loB, 1.5*(hiA-loA))
	// All-or-nothing clusters reduce to one observation per problem, less
	// the G/(G-1) small-sample factor: Wilson at n = 10·9/10 = 9 with
	// t(0.975, 9) = 2.2621572.
	z, n, p := 2.2621572, 9.0, 0.5
	den := 1 + z*z/n
	half := z / den * math.Sqrt(p*(1-p)/n+z*z/(4*n*n))
	assert.InDelta(t, 0.5-half, loB, 1e-6)
	assert.InDelta(t, 0.5+half, hiB, 1e-6)
}

func TestClusterCIEdgeCases(t *testing.T) {
	lo, hi := ClusterCI(nil, nil, 0.95)
	assert.True(t, math.IsNaN(lo) && math.IsNaN(hi), "no trials, no interval")

	lo, hi = ClusterCI([]int{0, 0, 0}, []int{5, 5, 5}, 0.95)
	assert.InDelta(t, 0.0, lo, 1e-12)
	assert.Greater(t, hi, 0.3, "p̂ = 0 over 3 problems uses n_eff = 3, not 15")
	assert.Less(t, hi, 1.0)

	lo, hi = ClusterCI([]int{3}, []int{3}, 0.95)
	assert.Less(t, lo, 0.5, "one problem is one effective observation")
	assert.Equal(t, 1.0, hi)
}

func TestWriteReportWritesEveryFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := OpenStore(dir)
	require.NoError(t, err)
	defer st.Close()
	problems, prefixes, samples := handCase()
	for _, s := range samples {
		require.NoError(t, st.PutSample(ctx, s))
	}
	s := Aggregate(problems, prefixes, samples, nil)
	require.NoError(t, WriteReport(ctx, dir, s, st, "Hand case"))
	for _, name := range []string{SummaryJSON, SummaryCSV, ReportMD, SamplesJSONL} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err, name)
		assert.NotEmpty(t, b, name)
	}
	md, _ := os.ReadFile(filepath.Join(dir, ReportMD))
	assert.Contains(t, string(md), "| hard (0–1/5) | 2 | ")
	assert.Contains(t, string(md), "Fitted prior (")

	assert.Contains(t, string(md), "recovery_by_bucket.svg")
	jl, _ := os.ReadFile(filepath.Join(dir, SamplesJSONL))
	assert.Equal(t, len(samples), strings.Count(string(jl), "\n"))
}

func TestReadSummaryRoundTripsAndNamesErrors(t *testing.T) {
	pr, px, sm := handCase()
	s := Aggregate(pr, px, sm, nil)
	var buf bytes.Buffer
	require.NoError(t, s.WriteJSON(&buf))
	back, err := ReadSummary(&buf)
	require.NoError(t, err)
	assert.Equal(t, s.Buckets[0].SetAside, back.Buckets[0].SetAside)
	assert.Equal(t, s.Cost, back.Cost)
	assert.False(t, back.Buckets[1].WeakPassRate.Defined() != s.Buckets[1].WeakPassRate.Defined())

	_, err = ReadSummary(strings.NewReader(`{"buckets": [{"problems": "x"}]}`))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "problems")
	_, err = ReadSummary(strings.NewReader(`{"overall": {"recovery_rate": tru}}`))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "byte")
}

func FuzzReadSummary(f *testing.F) {
	pr, px, sm := handCase()
	var buf bytes.Buffer
	_ = Aggregate(pr, px, sm, nil).WriteJSON(&buf)
	f.Add(buf.String())
	f.Add(`{"overall":{"recovery_rate":null,"recovery_ci":[null,1e308]}}`)
	f.Add(`{"buckets":[{"set_aside":{"too_easy":-1}}],"by_depth":[{"depth":"x"}]}`)
	f.Add(`{"overall":{"recovery_rate":1e999}}`)
	f.Fuzz(func(t *testing.T, in string) {
		s, err := ReadSummary(strings.NewReader(in))
		if err != nil {
			return
		}
		// Whatever was read writes back out and reads again the same.
		var out bytes.Buffer
		if err := s.WriteJSON(&out); err != nil {
			t.Fatalf("re-encoding %q: %v", in, err)
		}
		again, err := ReadSummary(&out)
		if err != nil {
			t.Fatalf("re-reading %q: %v", out.String(), err)
		}
		if again.Overall.Continuations != s.Overall.Continuations || len(again.Buckets) != len(s.Buckets) {
			t.Fatalf("round trip changed the summary: %+v vs %+v", s, again)
		}
	})
}

func TestAggregateReportsEachStrategyApartAsWellAsPooled(t *testing.T) {
	pr, px, sm := handCase()
	// Add an on-policy prefix for p1 (two continuations, both recovered) and
	// an on-policy set-aside for p3.
	px = append(px, Prefix{ProblemID: "p1", Strategy: "onpolicy", Text: "x", Depth: 0.5},
		Prefix{ProblemID: "p3", Strategy: "onpolicy", SetAside: "out_of_band"})
	for i := range 2 {
		sm = append(sm, Sample{Stage: StageContinue, ProblemID: "p1", Prefix: "onpolicy", Sample: i, Correct: true})
	}
	s := Aggregate(pr, px, sm, nil)

	// Pooled: hard now has p1 4 continuations (3 recovered) and p2 2 (0).
	assert.Equal(t, 6, s.Buckets[0].Continuations)
	assert.Equal(t, 3, s.Buckets[0].Recovered)

	require.Len(t, s.ByStrategy, 2)
	on, weak := s.ByStrategy[0], s.ByStrategy[1]
	assert.Equal(t, "onpolicy", on.Strategy, "strategies in name order")
	assert.Equal(t, "weak", weak.Strategy)

	// weak alone is exactly the hand case: hard 1 of 4, easy 2 of 2.
	assert.Equal(t, 4, weak.Buckets[0].Continuations)
	assert.Equal(t, 1, weak.Buckets[0].Recovered)
	assert.Equal(t, 2, weak.Buckets[1].Recovered)
	assert.Equal(t, map[string]int{"too_easy": 1}, weak.Overall.SetAside)
	assert.InDelta(t, 1.0/6, float64(weak.Overall.RestartRate), 1e-12, "one restart in six verified continuations")

	// onpolicy: hard 2 of 2 (p1 only), easy none, one set-aside in easy.
	hard, easy := on.Buckets[0], on.Buckets[1]
	assert.Equal(t, 2, hard.Continuations)
	assert.Equal(t, 2, hard.Recovered)
	assert.InDelta(t, 1.0, float64(hard.RecoveryRate), 1e-12)
	// The denominator is the posterior-mean pass rate of the problems this
	// strategy continued (p1 only), not the whole bucket's.
	require.NotNil(t, s.Prior)
	p1 := s.Prior.Mixture.Posterior(0, 10).Mean()
	for _, p := range pr {
		if p.ID == "p1" {
			p1 = s.Prior.Mixture.Posterior(p.StrongK, p.StrongN).Mean()
		}
	}
	assert.InDelta(t, 1.0/p1, float64(hard.NormalizedRecoveryPlain), 1e-9, "1.0 ÷ p1's posterior-mean pass rate")
	assert.NotEqual(t, float64(hard.NormalizedRecoveryPlain), float64(hard.RecoveryRate/hard.StrongPassRate))
	assert.Equal(t, 2, hard.Problems, "problem counts are the bucket's")
	assert.Zero(t, easy.Continuations)
	assert.False(t, easy.RecoveryRate.Defined())
	assert.Equal(t, map[string]int{"out_of_band": 1}, easy.SetAside)
	assert.Equal(t, 2, on.Overall.Continuations)

	md := s.Markdown("t")
	assert.Contains(t, md, "## Recovery by strategy")
	assert.Contains(t, md, "### onpolicy")
	assert.Contains(t, md, "### weak")
}
