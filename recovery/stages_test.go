package recovery

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/dataset"
	"github.com/rebound-lab/rebound/perturb"
	"github.com/rebound-lab/rebound/providers"
	"github.com/rebound-lab/rebound/verify"
)

// exact is a verifier that compares the last line's boxed answer exactly.
var exact = verify.VerifierFunc(func(ctx context.Context, ref, resp string) (verify.Verdict, error) {
	i := strings.LastIndex(resp, "\\boxed{")
	if i < 0 {
		return verify.Verdict{Reason: "no answer"}, nil
	}
	ans := strings.TrimSuffix(strings.TrimSuffix(resp[i+len("\\boxed{"):], "."), "}")
	return verify.Verdict{Correct: ans == ref, Answer: ans}, nil
})

func probs(n int) []dataset.Problem {
	ps := make([]dataset.Problem, n)
	for i := range ps {
		ps[i] = dataset.Problem{ID: fmt.Sprintf("p%d", i), Question: fmt.Sprintf("What is %d + 1?", i), Answer: fmt.Sprint(i + 1)}
	}
	return ps
}

func TestStraightShotSendsDistinctSamplesAndCountsVerdicts(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]bool{}
	c := providers.CompleterFunc(func(ctx context.Context, req providers.Request) (providers.Completion, error) {
		mu.Lock()
		seen[fmt.Sprint(req.Messages[0].Content, "#", req.Sample)] = true
		mu.Unlock()
		assert.Equal(t, "m", req.Model, "the model part of the spec is sent")
		assert.Equal(t, perturb.Prompt(dataset.Problem{Question: strings.Split(req.Messages[0].Content, "\n\n")[0]}), req.Messages)
		// Correct on samples 0 and 1 only.
		var n int
		fmt.Sscanf(req.Messages[0].Content, "What is %d", &n)
		ans := n + 1
		if req.Sample >= 2 {
			ans = -1
		}
		return providers.Completion{Text: fmt.Sprintf("The answer is \\boxed{%d}.", ans), Usage: providers.Usage{InputTokens: 3}}, nil
	})
	ss := &StraightShot{Stage: StageWeak, Model: "x:m", Completer: c, Verifier: exact, Samples: 5}
	cals, err := ss.Run(context.Background(), probs(7))
	require.NoError(t, err)
	assert.Len(t, seen, 35, "7 problems × 5 distinct samples")
	for _, cal := range cals {
		assert.Equal(t, 2, cal.K)
		assert.Equal(t, 5, cal.N)
		assert.Len(t, cal.Samples, 5)
		assert.Equal(t, StageWeak, cal.Samples[0].Stage)
	}
}

func TestAdaptiveStraightShotStopsSettledProblemsEarly(t *testing.T) {
	var calls atomic.Int64
	// p0 always right, p1 alternates.
	c := providers.CompleterFunc(func(ctx context.Context, req providers.Request) (providers.Completion, error) {
		calls.Add(1)
		ans := "1"
		if strings.Contains(req.Messages[0].Content, "What is 1 ") && req.Sample%2 == 1 {
			ans = "0"
		} else if strings.Contains(req.Messages[0].Content, "What is 1 ") {
			ans = "2"
		}
		return providers.Completion{Text: "\\boxed{" + ans + "}"}, nil
	})
	var events []Event
	ss := &StraightShot{Stage: StageStrong, Model: "x:m", Completer: c, Verifier: exact, Samples: 10, MinSamples: 3,
		Stop: func(k, n int) bool { return n >= 3 && (k == 0 || k == n) }}
	ss.Concurrency = 1
	ss.Progress = func(e Event) { events = append(events, e) }
	cals, err := ss.Run(context.Background(), probs(2))
	require.NoError(t, err)
	assert.Equal(t, 3, cals[0].N, "the always-right problem stops after MinSamples")
	assert.Equal(t, 3, cals[0].K)
	assert.Equal(t, 10, cals[1].N, "the mixed problem runs to Samples")
	assert.Equal(t, 5, cals[1].K)
	assert.Equal(t, int64(13), calls.Load())
	last := events[len(events)-1]
	assert.Equal(t, last.Total, last.Done, "progress reaches its total even when sampling stops early")
	assert.Equal(t, 20, last.Total)
}

func TestPerturbStageCountsSetAsideReasonsThroughWrappedErrors(t *testing.T) {
	reasons := []error{nil, perturb.ErrTooEasy, perturb.ErrNoTrace, perturb.ErrOutOfBand, perturb.ErrTooShort,
		errors.New("parse failure")}
	p := perturb.PerturberFunc(func(ctx context.Context, pr dataset.Problem) (perturb.Prefix, error) {
		var i int
		fmt.Sscanf(pr.ID, "p%d", &i)
		if err := reasons[i%len(reasons)]; err != nil {
			return perturb.Prefix{}, fmt.Errorf("strategy x on %s: %w", pr.ID, err)
		}
		return perturb.Prefix{Text: "Step 1", Source: "Step 1\nStep 2", StepsKept: 1, StepsTotal: 2}, nil
	})
	st, err := OpenStore(t.TempDir())
	require.NoError(t, err)
	defer st.Close()
	ps := &PerturbStage{Exec: Exec{Store: st}, Strategy: "x", Perturber: p}
	res, err := ps.Run(context.Background(), probs(6))
	require.NoError(t, err)
	want := []string{"", "too_easy", "no_trace", "out_of_band", "too_short", ""}
	for i, r := range res {
		assert.Equal(t, want[i], r.SetAside, r.Problem.ID)
	}
	assert.True(t, res[0].OK())
	assert.Equal(t, "x", res[0].Prefix.Strategy, "the stage names unnamed prefixes")
	assert.Contains(t, res[5].Error, "parse failure", "other failures are the item's error")
	assert.False(t, res[5].OK())

	rows, err := st.Prefixes(context.Background(), "")
	require.NoError(t, err)
	require.Len(t, rows, 6)
	assert.InDelta(t, 0.5, rows[0].Depth, 1e-12)

	// A rerun reuses finished rows and retries only the failed one.
	var calls atomic.Int64
	counted := perturb.PerturberFunc(func(ctx context.Context, pr dataset.Problem) (perturb.Prefix, error) {
		calls.Add(1)
		return p(ctx, pr)
	})
	_, err = (&PerturbStage{Exec: Exec{Store: st}, Strategy: "x", Perturber: counted}).Run(context.Background(), probs(6))
	require.NoError(t, err)
	assert.Equal(t, int64(1), calls.Load())
}

func TestPerturbStageStopsOnAFatalError(t *testing.T) {
	p := perturb.PerturberFunc(func(ctx context.Context, pr dataset.Problem) (perturb.Prefix, error) {
		return perturb.Prefix{}, fmt.Errorf("weak model: %w", providers.NewAPIError("acme", 403, "", "forbidden", 0))
	})
	_, err := (&PerturbStage{Strategy: "x", Perturber: p}).Run(context.Background(), probs(3))
	var apiErr *providers.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, 403, apiErr.StatusCode)
}

func TestContinueSendsThePrefixAsPrefillFlagsRestartsAndVerifiesTheFullTrace(t *testing.T) {
	var mu sync.Mutex
	var reqs []providers.Request
	c := providers.CompleterFunc(func(ctx context.Context, req providers.Request) (providers.Completion, error) {
		mu.Lock()
		reqs = append(reqs, req)
		mu.Unlock()
		switch req.Sample {
		case 0: // continues and finishes: the answer is only in prefix + continuation together
			return providers.Completion{Text: "1}.", PrefillMethod: providers.PrefillNative}, nil
		default: // starts over
			return providers.Completion{Text: "Let's solve this step by step.\nStep 1: 5 + 1 = 6.\nThe answer is \\boxed{6}."}, nil
		}
	})
	items := []PrefixResult{
		{Problem: dataset.Problem{ID: "a", Question: "What is 5 + 1?", Answer: "6"}, Strategy: "weak",
			Prefix: perturb.Prefix{Text: "Step 1: 5 + 1 = 7.\nThe answer is \\boxed{", StepsKept: 1, StepsTotal: 2}},
		{Problem: dataset.Problem{ID: "b"}, Strategy: "weak", SetAside: "too_easy"},
	}
	st, err := OpenStore(t.TempDir())
	require.NoError(t, err)
	defer st.Close()
	out, err := (&Continue{Exec: Exec{Store: st}, Model: "x:m", Completer: c, Verifier: exact, K: 2,
		PrefillMethod: providers.PrefillAssistantMessage}).Run(context.Background(), items)
	require.NoError(t, err)
	require.Len(t, out, 1, "set-aside items are not continued")
	require.Len(t, reqs, 2)
	for _, r := range reqs {
		assert.Equal(t, items[0].Prefix.Text, r.Prefill)
		assert.Equal(t, providers.PrefillAssistantMessage, r.PrefillMethod)
	}
	s0, s1 := out[0].Samples[0], out[0].Samples[1]
	assert.False(t, s0.Restarted)
	assert.False(t, s0.Correct, "prefix + \"1}\" reads \\boxed{1}: wrong")
	assert.Equal(t, "1", s0.Answer, "verified on the full trace, not the continuation alone")
	assert.Equal(t, "native", s0.PrefillMethod)
	assert.True(t, s1.Restarted, "a fresh 'Let's solve' opening after a complete step is a restart")
	assert.NotEmpty(t, s1.RestartReason)
	assert.True(t, s1.Correct)

	rows, err := st.Continuations(context.Background(), "a")
	require.NoError(t, err)
	require.Len(t, rows, 2)
	assert.Equal(t, "weak", rows[0].Prefix)
	assert.Contains(t, rows[0].Request, `"prefill"`)
}

func TestStoreKeepsThePaidRowWhenACachedAnswerArrivesLater(t *testing.T) {
	ctx := context.Background()
	st, err := OpenStore(t.TempDir())
	require.NoError(t, err)
	defer st.Close()
	paid := Sample{Stage: StagePerturb, ProblemID: "p", Prefix: "weak", Sample: 0, CostUSD: 0.25, Response: "x"}
	require.NoError(t, st.PutSample(ctx, paid))
	require.NoError(t, st.PutSample(ctx, Sample{Stage: StagePerturb, ProblemID: "p", Prefix: "weak", Sample: 0, Cached: true, Response: "x"}))
	rows, err := st.PerturbCalls(ctx, "p")
	require.NoError(t, err)
	require.Len(t, rows, 1)
	assert.False(t, rows[0].Cached)
	assert.Equal(t, 0.25, rows[0].CostUSD)

	// A failed row is replaced by a later success, cached or not.
	require.NoError(t, st.PutSample(ctx, Sample{Stage: StageStrong, ProblemID: "p", Error: "HTTP 503"}))
	require.NoError(t, st.PutSample(ctx, Sample{Stage: StageStrong, ProblemID: "p", Cached: true, Response: "ok"}))
	rows, err = st.Samples(ctx, "p")
	require.NoError(t, err)
	require.Len(t, rows, 1)
	assert.Empty(t, rows[0].Error)
}

func TestIsFatal(t *testing.T) {
	for _, tc := range []struct {
		err   error
		fatal bool
	}{
		{nil, false},
		{context.Canceled, true},
		{fmt.Errorf("x: %w", providers.ErrBudgetExceeded), true},
		{providers.ErrPrefillUnsupported, true},
		{providers.NewAPIError("a", 401, "", "", 0), true},
		{providers.NewAPIError("a", 404, "", "", 0), true},
		{providers.NewAPIError("a", 503, "", "", 0), false},
		{providers.NewAPIError("a", 429, "", "", 0), false},
		{errors.New("verifier hiccup"), false},
	} {
		assert.Equal(t, tc.fatal, IsFatal(tc.err), "%v", tc.err)
	}
}
