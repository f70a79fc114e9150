package viewer

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/rebound-lab/rebound/dataset"
	"github.com/rebound-lab/rebound/recovery"
)

// bigRun is a 10,000-problem run for the list benchmarks.
func bigRun(b *testing.B) http.Handler {
	b.Helper()
	problems := make([]Problem, 10_000)
	for i := range problems {
		k := i % 4
		p := Problem{ProblemSummary: ProblemSummary{
			ID: fmt.Sprintf("gsm8k/test.jsonl:%d", i), Source: "gsm8k", Bucket: []string{"hard", "medium", "easy"}[i%3],
			BucketProb: 0.8, Question: fmt.Sprintf("Problem %d: Natalia sold clips to %d of her friends in April, and then she sold half as many clips in May. How many clips did Natalia sell altogether in April and May?", i, i%97),
			Answer: fmt.Sprint(i),
		}}
		for s := range 4 {
			p.Samples = append(p.Samples, Sample{Role: "strong", Call: Call{Verified: true, Verdict: verdict(s < k, "1")}})
		}
		p.Prefixes = []Prefix{{Strategy: "weak", Continuations: []Continuation{
			{Call: Call{Verified: true, Verdict: verdict(i%2 == 0, "1")}, Restart: i%7 == 0},
			{Call: Call{Verified: true, Verdict: verdict(i%3 == 0, "1")}},
		}}}
		problems[i] = p
	}
	s, err := NewStatic(Overview{Title: "big"}, problems, nil)
	if err != nil {
		b.Fatal(err)
	}
	return New(s)
}

func benchmarkList(b *testing.B, target string) {
	h := bigRun(b)
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
		if rec.Code != http.StatusOK {
			b.Fatalf("%s: %d", target, rec.Code)
		}
	}
}

// BenchmarkList10k: first page of a 10,000-problem run.
func BenchmarkList10k(b *testing.B) { benchmarkList(b, "/problems") }

// BenchmarkList10kFilteredSorted: filters, a text search and a sort.
func BenchmarkList10kFilteredSorted(b *testing.B) {
	benchmarkList(b, "/problems?bucket=hard&restart=no&q=natalia&sort=recovery&desc=1&page=3")
}

// BenchmarkList10kLastPage: deep pagination.
func BenchmarkList10kLastPage(b *testing.B) { benchmarkList(b, "/problems?page=200") }

// BenchmarkProblem10k: a problem page, which also finds its place in the
// list for prev/next.
func BenchmarkProblem10k(b *testing.B) {
	benchmarkList(b, "/problem?id=gsm8k/test.jsonl:5000&sort=pass")
}

// BenchmarkRunProblemList10k: reading the list of a 10,000-problem run
// directory from its SQLite store (what the first request after opening,
// or after a write, costs; later requests reuse it).
func BenchmarkRunProblemList10k(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	st, err := recovery.OpenStore(dir)
	if err != nil {
		b.Fatal(err)
	}
	problems := make([]dataset.Problem, 10_000)
	for i := range problems {
		problems[i] = dataset.Problem{ID: fmt.Sprintf("gsm8k/test.jsonl:%d", i), Question: fmt.Sprintf("Problem %d: how many clips?", i), Answer: "1"}
	}
	if err := st.PutProblems(ctx, problems); err != nil {
		b.Fatal(err)
	}
	for i := 0; i < len(problems); i += 5 { // 2,000 prefixes with 2 continuations each
		id := problems[i].ID
		if err := st.PutPrefix(ctx, recovery.Prefix{ProblemID: id, Strategy: "weak", Text: "a", Source: "ab", StepsKept: 1, StepsTotal: 2}); err != nil {
			b.Fatal(err)
		}
		for k := range 2 {
			if err := st.PutSample(ctx, recovery.Sample{Stage: recovery.StageContinue, ProblemID: id, Prefix: "weak", Sample: k, Correct: k == 0}); err != nil {
				b.Fatal(err)
			}
		}
	}
	st.Close()
	run, err := OpenRun(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer run.Close()
	b.ReportAllocs()
	for b.Loop() {
		list, err := run.loadList(ctx)
		if err != nil || len(list) != 10_000 {
			b.Fatal(len(list), err)
		}
	}
}
