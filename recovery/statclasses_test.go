package recovery

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/difficulty"
)

// classRun is a run of n problems with two strategies, some problems
// continued by one, both or neither, and one repeated ID.
func classRun(n int) ([]Problem, []Prefix, []Sample) {
	r := rand.New(rand.NewPCG(5, 6))
	b := difficulty.DefaultBinner()
	var problems []Problem
	var prefixes []Prefix
	var samples []Sample
	for i := range n {
		id := fmt.Sprintf("p%04d", i)
		if i == n-1 {
			id = "p0003" // a repeated ID
		}
		p := r.Float64()
		k := 0
		for range 5 {
			if r.Float64() < p {
				k++
			}
		}
		bucket, _ := b.Assign(k, 5)
		problems = append(problems, Problem{ID: id, StrongK: k, StrongN: 5, Bucket: bucket})
		for s, st := range []string{StrategyInject, StrategyWeak} {
			if r.IntN(3) == s {
				continue
			}
			prefixes = append(prefixes, Prefix{ProblemID: id, Strategy: st, Text: "x", Depth: r.Float64()})
			for j := range 3 {
				samples = append(samples, Sample{Stage: StageContinue, ProblemID: id, Prefix: st, Sample: j,
					Correct: r.Float64() < 0.8*p})
			}
		}
	}
	return problems, prefixes, samples
}

// The statistics group problems with equal data into classes; that must
// change no number of the summary (beyond rounding).
func TestStatisticsClassesChangeNoNumber(t *testing.T) {
	problems, prefixes, samples := classRun(800)
	buckets := difficulty.DefaultBinner().Buckets()
	grouped := aggregate(problems, prefixes, samples, buckets, defaultEdges(buckets))
	f := newSummaryFold(buckets, true)
	f.t.eachClass = true
	each := f.aggregate(problems, prefixes, samples, defaultEdges(buckets))
	require.NotNil(t, grouped.Latent)
	require.True(t, grouped.Overall.NormalizedRecovery.Defined())

	// The classes are few.
	f = newSummaryFold(buckets, true)
	f.aggregate(problems, prefixes, samples, defaultEdges(buckets))
	var rows []statRow
	for _, a := range append([]*acc{f.all}, f.accs...) {
		rows = append(rows, statRow{a: a})
	}
	cl := f.t.classes(rows, false)
	assert.Len(t, cl.Of, 799, "one per calibrated ID")
	assert.Less(t, len(cl.Counts), 200, "at most 6 counts × 5 outcomes of inject (none, 0–3 of 3) × 5 of weak")

	var g, e any
	gj, err := json.Marshal(grouped)
	require.NoError(t, err)
	ej, err := json.Marshal(each)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(gj, &g))
	require.NoError(t, json.Unmarshal(ej, &e))
	sameNumbers(t, "summary", e, g)
}

// sameNumbers asserts that two decoded JSON values are equal, numbers to
// 1e-9 relative.
func sameNumbers(t *testing.T, path string, want, got any) {
	t.Helper()
	switch w := want.(type) {
	case map[string]any:
		gm, ok := got.(map[string]any)
		if !assert.True(t, ok, path) {
			return
		}
		assert.Len(t, gm, len(w), path)
		for k, v := range w {
			sameNumbers(t, path+"."+k, v, gm[k])
		}
	case []any:
		gs, ok := got.([]any)
		if !assert.True(t, ok, path) || !assert.Len(t, gs, len(w), path) {
			return
		}
		for i := range w {
			sameNumbers(t, fmt.Sprintf("%s[%d]", path, i), w[i], gs[i])
		}
	case float64:
		gf, ok := got.(float64)
		if assert.True(t, ok, path) {
			assert.InEpsilon(t, w+1, gf+1, 1e-9, path)
		}
	default:
		assert.Equal(t, want, got, path)
	}
}

// The summary keeps one record per distinct problem datum, not per
// problem: four times the problems add few records (README: 150 at 100k
// problems with one strategy).
func TestSummaryRecordsDoNotGrowWithTheProblems(t *testing.T) {
	buckets := difficulty.DefaultBinner().Buckets()
	records := func(n int) int {
		problems, prefixes, samples := classRun(n)
		f := newSummaryFold(buckets, true)
		f.aggregate(problems, prefixes, samples, defaultEdges(buckets))
		assert.Equal(t, n, f.t.len())
		return len(f.t.recs)
	}
	small, large := records(800), records(3200)
	t.Logf("records: %d at 800 problems, %d at 3,200", small, large)
	assert.Less(t, large, 800/2, "far fewer records than problems")
	assert.Less(t, float64(large), 1.5*float64(small), "four times the problems, not four times the records")
}
