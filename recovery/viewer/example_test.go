package viewer_test

import (
	"context"
	"fmt"
	"log"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"

	"github.com/rebound-lab/rebound/dataset"
	"github.com/rebound-lab/rebound/recovery"
	"github.com/rebound-lab/rebound/recovery/viewer"
	"github.com/rebound-lab/rebound/verify"
)

// A run held in memory, served and queried with httptest.
func Example() {
	src, err := viewer.NewStatic(viewer.Overview{Title: "demo"}, []viewer.Problem{{
		ProblemSummary: viewer.ProblemSummary{ID: "p1", Question: "What is $1+1$?", Answer: "2", Bucket: "easy"},
		Samples: []viewer.Sample{{Role: "strong", Call: viewer.Call{
			Model: "sim:strong", Text: "1 + 1 = \\boxed{2}",
			Verdict: verify.Verdict{Correct: true, Answer: "2"}, Verified: true,
		}}},
		Prefixes: []viewer.Prefix{{
			Strategy: "weak", Text: "Step 1: 1 + 1 = 3.\n", Source: "Step 1: 1 + 1 = 3.\nStep 2: \\boxed{3}",
			StepsKept: 1, StepsTotal: 2,
			Continuations: []viewer.Continuation{{Call: viewer.Call{
				Text: "Wait: 1 + 1 = 2. \\boxed{2}", Verdict: verify.Verdict{Correct: true, Answer: "2"}, Verified: true,
			}}},
		}},
	}}, nil)
	if err != nil {
		log.Fatal(err)
	}
	h := viewer.New(src)

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/problems?outcome=recovered", nil))
	fmt.Println(rec.Code, rec.Header().Get("Content-Type"))
	fmt.Println(strings.Contains(rec.Body.String(), `href="problem?outcome=recovered&amp;id=p1"`))

	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/problem?id=p1", nil))
	fmt.Println(strings.Contains(rec.Body.String(), "✂ cut · step 1/2"))
	// Output:
	// 200 text/html; charset=utf-8
	// true
	// true
}

// Filtering, sorting and paging the problem list outside the handler.
func ExampleQuery() {
	rows := []viewer.ProblemSummary{
		{ID: "a", Bucket: "hard", StrongCorrect: 0, StrongSamples: 4},
		{ID: "b", Bucket: "medium", StrongCorrect: 2, StrongSamples: 4},
		{ID: "c", Bucket: "medium", StrongCorrect: 3, StrongSamples: 4},
	}
	q, err := viewer.ParseQuery(url.Values{"pmin": {"25"}, "sort": {"pass"}, "desc": {"1"}})
	if err != nil {
		log.Fatal(err)
	}
	page := q.Apply(rows)
	for _, r := range page.Rows {
		fmt.Println(r.ID, r.StrongPassRate())
	}
	fmt.Println(page.Matched, "of", page.Total)
	// Output:
	// c 0.75
	// b 0.5
	// 2 of 3
}

// Viewing a run directory written by package recovery.
func ExampleOpenRun() {
	dir, err := os.MkdirTemp("", "run")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	st, err := recovery.OpenStore(dir) // normally written by the harness
	if err != nil {
		log.Fatal(err)
	}
	if err := st.PutProblems(ctx, []dataset.Problem{{ID: "gsm8k/1", Question: "2 + 3?", Answer: "5"}}); err != nil {
		log.Fatal(err)
	}
	st.Close()

	run, err := viewer.OpenRun(dir)
	if err != nil {
		log.Fatal(err)
	}
	defer run.Close()
	list, err := run.ProblemList(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(list), list[0].ID, list[0].Outcome())
	// To serve it: viewer.ListenAndServe(ctx, "127.0.0.1:8080", viewer.New(run), nil)
	// Output:
	// 1 gsm8k/1 pending
}
