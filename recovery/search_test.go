package recovery

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/dataset"
)

// SearchProblems finds exactly what a case-insensitive substring scan of
// id, question and answer finds, and follows later changes to problems.
func TestSearchProblemsMatchesTheScan(t *testing.T) {
	ctx := context.Background()
	st, err := OpenStore(t.TempDir())
	require.NoError(t, err)
	defer st.Close()
	problems := syntheticProblems(400)
	problems[7].Answer = "Wünschenswert 42"
	require.NoError(t, st.PutProblems(ctx, problems))
	scan := func(text string) map[string]struct{} {
		out := map[string]struct{}{}
		low := strings.ToLower(text)
		for _, p := range problems {
			if strings.Contains(strings.ToLower(p.ID), low) || strings.Contains(strings.ToLower(p.Question), low) ||
				strings.Contains(strings.ToLower(p.Answer), low) {
				out[p.ID] = struct{}{}
			}
		}
		return out
	}
	for _, text := range []string{"janet", "JANET", "(variant 12)", "syn-39", "wünsch", `eggs "per`, "no such text anywhere"} {
		got, ok, err := st.SearchProblems(ctx, text)
		require.NoError(t, err)
		require.True(t, ok)
		assert.Equal(t, scan(text), got, text)
	}
	_, ok, err := st.SearchProblems(ctx, "ab")
	require.NoError(t, err)
	assert.False(t, ok, "two characters: the caller scans")

	// A changed question is found under its new text only.
	problems[3].Question = "A brand new question about zebras"
	require.NoError(t, st.PutProblems(ctx, problems))
	got, _, err := st.SearchProblems(ctx, "zebras")
	require.NoError(t, err)
	assert.Equal(t, map[string]struct{}{problems[3].ID: {}}, got)
	require.NoError(t, st.PutProblems(ctx, append(problems, dataset.Problem{ID: "late", Question: "zebras again", Answer: "1"})))
	got, _, err = st.SearchProblems(ctx, "ZEBRAS")
	require.NoError(t, err)
	assert.Len(t, got, 2)
}

// BenchmarkSearchProblems measures one search over a run of 100,000
// synthetic GSM8K problems (each question "(Variant i) " + a GSM8K
// question), indexed (the index is built before the timer) and, for
// comparison, as the viewer's scan of every problem's id, question and
// answer: a rare word, a common word, and an id.
func BenchmarkSearchProblems(b *testing.B) {
	ctx := context.Background()
	st, err := OpenStore(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	problems := syntheticProblems(100000)
	if err := st.PutProblems(ctx, problems); err != nil {
		b.Fatal(err)
	}
	if _, _, err := st.SearchProblems(ctx, "warmup"); err != nil {
		b.Fatal(err)
	}
	for _, q := range []struct{ name, text string }{
		{"rare-word", "zebra"}, {"common-word", "dollars"}, {"id", "syn-74321"}} {
		b.Run("index/"+q.name, func(b *testing.B) {
			var hits int
			for b.Loop() {
				ids, _, err := st.SearchProblems(ctx, q.text)
				if err != nil {
					b.Fatal(err)
				}
				hits = len(ids)
			}
			b.ReportMetric(float64(hits), "hits")
		})
		b.Run("scan/"+q.name, func(b *testing.B) {
			var hits int
			low := strings.ToLower(q.text)
			for b.Loop() {
				hits = 0
				for _, p := range problems {
					if strings.Contains(strings.ToLower(p.ID), low) || strings.Contains(strings.ToLower(p.Question), low) ||
						strings.Contains(strings.ToLower(p.Answer), low) {
						hits++
					}
				}
			}
			b.ReportMetric(float64(hits), "hits")
		})
	}
}
