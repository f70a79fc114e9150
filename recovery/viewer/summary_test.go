package viewer

import (
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const goodSummary = `{
  "buckets": [
    {"name": "hard", "problems": 40, "strong_pass_rate": 0.05, "weak_pass_rate": 0.01,
     "set_aside": {"no_trace": 3}, "continuations": 120, "recovered": 18, "recovery_rate": 0.15,
     "recovery_ci": [0.09, 0.22], "normalized_recovery": 3, "restart_rate": 0.02},
    {"name": "easy", "problems": 10, "strong_pass_rate": 1, "weak_pass_rate": null,
     "set_aside": {}, "continuations": 0, "recovered": 0, "recovery_rate": null,
     "recovery_ci": [null, null], "normalized_recovery": null, "restart_rate": null}
  ],
  "overall": {"name": "overall", "problems": 50, "strong_pass_rate": 0.24, "weak_pass_rate": 0.01,
     "set_aside": {"no_trace": 3}, "continuations": 120, "recovered": 18, "recovery_rate": 0.15,
     "recovery_ci": [0.09, 0.22], "normalized_recovery": 0.625, "restart_rate": 0.02},
  "cost": {"calls": 700, "cached_calls": 10, "input_tokens": 1000, "output_tokens": 2000, "usd": 1.5},
  "by_depth": [{"depth": 0.5, "continuations": 120, "recovery_rate": 0.15}, {"depth": 1, "continuations": 0, "recovery_rate": null}],
  "by_strategy": [{"strategy": "weak", "buckets": [
    {"name": "hard", "problems": 40, "strong_pass_rate": 0.05, "weak_pass_rate": 0.01,
     "set_aside": {}, "continuations": 60, "recovered": 6, "recovery_rate": 0.1,
     "recovery_ci": [0.04, 0.2], "normalized_recovery": 2, "restart_rate": 0}],
    "overall": {"name": "overall", "problems": 50, "strong_pass_rate": 0.24, "weak_pass_rate": 0.01,
     "set_aside": {}, "continuations": 60, "recovered": 6, "recovery_rate": 0.1,
     "recovery_ci": [0.04, 0.2], "normalized_recovery": 0.4, "restart_rate": 0}}]
}`

func TestParseSummaryReadsTheStableKeys(t *testing.T) {
	s, err := parseSummary("summary.json", []byte(goodSummary))
	require.NoError(t, err)
	require.Len(t, s.Buckets, 2)
	h := s.Buckets[0]
	assert.Equal(t, "hard", h.Name)
	assert.Equal(t, 40, h.Problems)
	assert.Equal(t, 0.15, h.RecoveryRate)
	assert.Equal(t, [2]float64{0.09, 0.22}, h.RecoveryCI)
	assert.Equal(t, 3.0, h.NormalizedRecovery, "normalized recovery may exceed 1")
	assert.Equal(t, map[string]int{"no_trace": 3}, h.SetAside)
	e := s.Buckets[1]
	assert.True(t, math.IsNaN(e.WeakPassRate), "null is undefined")
	assert.True(t, math.IsNaN(e.RecoveryCI[0]) && math.IsNaN(e.RecoveryCI[1]))
	assert.Equal(t, "", s.Overall.Name, "the overall row has no bucket name to link")
	assert.Equal(t, 50, s.Overall.Problems)
	assert.Equal(t, Cost{Calls: 700, CachedCalls: 10, InputTokens: 1000, OutputTokens: 2000, USD: 1.5}, s.Cost)
	require.Len(t, s.ByDepth, 2)
	assert.True(t, math.IsNaN(s.ByDepth[1].RecoveryRate))
	require.Len(t, s.ByStrategy, 1)
	assert.Equal(t, "weak", s.ByStrategy[0].Strategy)
	require.Len(t, s.ByStrategy[0].Buckets, 1)
	assert.Equal(t, 6, s.ByStrategy[0].Buckets[0].Recovered)
	assert.Equal(t, 0.4, s.ByStrategy[0].Overall.NormalizedRecovery)
}

func TestParseSummaryErrorsSayWhereAndWhat(t *testing.T) {
	cases := []struct {
		name, input, want string
	}{
		{"syntax error with line and column", "{\n  \"buckets\": [\n    {\"name\": \"hard\",,}\n  ]\n}", "summary.json:3:21: invalid character ','"},
		{"type error names the field", "{\n\"buckets\": [{\"name\": \"hard\", \"problems\": \"forty\"}]}", "summary.json:2:49: field buckets.problems: string where int is expected"},
		{"rate out of range", `{"buckets": [{"name": "a"}, {"name": "b", "recovery_rate": 1.5}]}`, "summary.json: buckets[1].recovery_rate: 1.5 is not in [0, 1]"},
		{"negative count", `{"buckets": [{"name": "a", "continuations": -2}]}`, "summary.json: buckets[0].continuations: -2 is negative"},
		{"interval of the wrong length", `{"overall": {"recovery_ci": [0.1]}}`, "summary.json: overall.recovery_ci: want [lo, hi], got 1 numbers"},
		{"empty bucket name", `{"buckets": [{"problems": 1}]}`, "summary.json: buckets[0].name: empty"},
		{"depth out of range", `{"by_depth": [{"depth": 2}]}`, "summary.json: by_depth[0].depth: 2 is not in [0, 1]"},
		{"trailing garbage", "{}\n{}", "summary.json:2:1: unexpected data after the summary object"},
		{"negative set-aside", `{"buckets": [{"name": "a", "set_aside": {"too_easy": -1}}]}`, "buckets[0].set_aside.too_easy: -1 is negative"},
		{"empty file", "", "summary.json: EOF"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := parseSummary("summary.json", []byte(c.input))
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
}

func FuzzParseSummary(f *testing.F) {
	f.Add([]byte(goodSummary))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"buckets": [{"name": "a", "recovery_ci": [0.1, null]}], "overall": null}`))
	f.Add([]byte(`{"by_depth": [{"depth": 0.25, "recovery_rate": 0}]}`))
	f.Add([]byte("{\n\"cost\": {\"usd\": -1}}"))
	f.Add([]byte(`[1, 2]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := parseSummary("summary.json", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "summary.json") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		for _, b := range append(s.Buckets, s.Overall) {
			for _, r := range []float64{b.StrongPassRate, b.WeakPassRate, b.RecoveryRate, b.RestartRate, b.RecoveryCI[0], b.RecoveryCI[1]} {
				if !math.IsNaN(r) && (r < 0 || r > 1) {
					t.Fatalf("rate %v out of [0, 1] in %+v", r, b)
				}
			}
			if b.Problems < 0 || b.Continuations < 0 || b.Recovered < 0 {
				t.Fatalf("negative count in %+v", b)
			}
		}
		for _, d := range s.ByDepth {
			if d.Depth < 0 || d.Depth > 1 {
				t.Fatalf("depth %v", d.Depth)
			}
		}
	})
}
