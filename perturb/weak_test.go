package perturb_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/dataset"
	"github.com/rebound-lab/rebound/perturb"
	"github.com/rebound-lab/rebound/perturb/perturbtest"
	"github.com/rebound-lab/rebound/providers"
	"github.com/rebound-lab/rebound/providers/mock"
)

var ducks = dataset.Problem{
	ID: "gsm8k/test.jsonl:1", Question: "Janet’s ducks lay 16 eggs per day. She eats three for breakfast every morning and bakes muffins for her friends every day with four. She sells the remainder at the farmers' market daily for $2 per fresh duck egg. How much in dollars does she make every day at the farmers' market?",
	Answer: "18", Source: "gsm8k",
}

const (
	rightTrace = "Janet has 16 - 3 = 13 eggs left after breakfast.\nShe uses 4 for muffins, so 13 - 4 = 9 eggs remain.\nShe sells them for 9 * 2 = 18 dollars.\nThe answer is \\boxed{18}."
	wrongTrace = "Janet has 16 - 3 = 13 eggs left after breakfast.\nShe uses 4 for muffins, so 13 - 4 = 8 eggs remain.\nShe sells them for 8 * 2 = 16 dollars.\nThe answer is \\boxed{16}."
)

// weakScript answers right for the samples in right, wrong otherwise.
func weakScript(right func(sample int) bool, opts ...mock.Option) *mock.Completer {
	return mock.New(func(ctx context.Context, req providers.Request) (providers.Completion, error) {
		if right(req.Sample) {
			return providers.Completion{Text: rightTrace}, nil
		}
		return providers.Completion{Text: wrongTrace}, nil
	}, opts...)
}

func TestWeakModelStopsAtTheFirstWrongTrace(t *testing.T) {
	price := providers.Price{InputPerM: 1, OutputPerM: 2}
	c := weakScript(func(s int) bool { return s < 3 }, mock.WithTokenCounts(), mock.WithPrice(price))
	w := &perturb.WeakModel{Completer: c, Model: "weak-1", Verifier: mathVerifier, Cut: perturb.CutAt(2), Temperature: providers.Float(0.7), MaxTokens: 512}
	p, err := w.Perturb(context.Background(), ducks)
	require.NoError(t, err)

	reqs := c.Requests()
	require.Len(t, reqs, 4, "three right tries, then the wrong one")
	var usage providers.Usage
	for i, r := range reqs {
		assert.Equal(t, i, r.Sample, "try %d has its own sample index", i+1)
		assert.Equal(t, perturb.Prompt(ducks), r.Messages)
		assert.Equal(t, "weak-1", r.Model)
		assert.Equal(t, 0.7, *r.Temperature)
		assert.Equal(t, 512, r.MaxTokens)
		usage = usage.Add(mock.EstimateUsage(r, map[bool]string{true: rightTrace, false: wrongTrace}[i < 3]))
	}
	assert.Equal(t, "Janet has 16 - 3 = 13 eggs left after breakfast.\nShe uses 4 for muffins, so 13 - 4 = 8 eggs remain.", p.Text)
	assert.Equal(t, wrongTrace, p.Source)
	assert.Equal(t, 2, p.StepsKept)
	assert.Equal(t, 4, p.StepsTotal)
	assert.Equal(t, "weak", p.Strategy)
	assert.Equal(t, "mock:weak-1", p.Origin)
	assert.Equal(t, 0, p.ErrorStep, "a weak model's error position is unknown")
	assert.Equal(t, usage, p.Usage, "usage sums all four tries")
	assert.InDelta(t, price.Cost(usage), p.CostUSD, 1e-12)
	assert.Equal(t, "4", p.Meta["tries"])
	assert.Equal(t, "3", p.Meta["sample"])
	assert.Equal(t, "3", p.Meta["correct"])
	assert.Equal(t, "16", p.Meta["answer"])
}

func TestWeakModelTooEasyAfterTenTries(t *testing.T) {
	c := weakScript(func(int) bool { return true }, mock.WithTokenCounts())
	w := &perturb.WeakModel{Completer: c, Model: "weak-1", Verifier: mathVerifier}
	_, err := w.Perturb(context.Background(), ducks)
	require.ErrorIs(t, err, perturb.ErrTooEasy)
	assert.Equal(t, 10, c.Calls(), "the default cap is 10 tries")
	samples := map[int]bool{}
	for _, r := range c.Requests() {
		samples[r.Sample] = true
	}
	assert.Len(t, samples, 10, "ten distinct sample indices, so a cache cannot collapse them")
	usage, _ := perturb.Spent(err)
	assert.Greater(t, usage.OutputTokens, 0, "the cost of a set-aside problem is reported")
	var spent *perturb.SpentError
	require.ErrorAs(t, err, &spent)
	assert.Equal(t, 10, spent.Tries)
}

func TestWeakModelHonoursMaxTries(t *testing.T) {
	c := weakScript(func(s int) bool { return s < 5 })
	w := &perturb.WeakModel{Completer: c, Model: "weak-1", Verifier: mathVerifier, MaxTries: 3}
	_, err := w.Perturb(context.Background(), ducks)
	require.ErrorIs(t, err, perturb.ErrTooEasy)
	assert.Equal(t, 3, c.Calls())

	w.MaxTries = 6
	c2 := weakScript(func(s int) bool { return s < 5 })
	w.Completer = c2
	p, err := w.Perturb(context.Background(), ducks)
	require.NoError(t, err)
	assert.Equal(t, "6", p.Meta["tries"], "the wrong answer on the sixth and last try counts")
}

func TestWeakModelSkipsWrongTracesThatCannotBeCut(t *testing.T) {
	c := mock.New(func(ctx context.Context, req providers.Request) (providers.Completion, error) {
		if req.Sample == 0 {
			return providers.Completion{Text: "The answer is \\boxed{7}."}, nil // wrong, but nothing before the answer
		}
		return providers.Completion{Text: wrongTrace}, nil
	})
	w := &perturb.WeakModel{Completer: c, Model: "weak-1", Verifier: mathVerifier}
	p, err := w.Perturb(context.Background(), ducks)
	require.NoError(t, err)
	assert.Equal(t, "1", p.Meta["sample"])

	only := mock.New(func(ctx context.Context, req providers.Request) (providers.Completion, error) {
		return providers.Completion{Text: "The answer is \\boxed{7}."}, nil
	})
	w.Completer, w.MaxTries = only, 4
	_, err = w.Perturb(context.Background(), ducks)
	require.ErrorIs(t, err, perturb.ErrTooShort)
	assert.False(t, errors.Is(err, perturb.ErrTooEasy), "wrong answers were found; it is not too easy")
}

func TestWeakModelPassesOnCompleterErrors(t *testing.T) {
	c := mock.AlwaysFail(500)
	w := &perturb.WeakModel{Completer: c, Model: "weak-1", Verifier: mathVerifier}
	_, err := w.Perturb(context.Background(), ducks)
	var apiErr *providers.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, 500, apiErr.StatusCode)
	assert.ErrorContains(t, err, ducks.ID)
	assert.Nil(t, sentinelOf(err), "an infrastructure failure is not a set-aside outcome")
	assert.Equal(t, 1, c.Calls())
}

func TestWeakModelNeedsItsParts(t *testing.T) {
	_, err := (&perturb.WeakModel{Model: "m", Verifier: mathVerifier}).Perturb(context.Background(), ducks)
	require.ErrorContains(t, err, "needs a Completer")
}

func TestWeakModelHonoursCancellation(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var once sync.Once
	c := mock.New(func(ctx context.Context, req providers.Request) (providers.Completion, error) {
		once.Do(cancel) // cancelled during the first call
		return providers.Completion{Text: rightTrace}, nil
	})
	w := &perturb.WeakModel{Completer: c, Model: "weak-1", Verifier: mathVerifier}
	_, err := w.Perturb(ctx, ducks)
	require.ErrorIs(t, err, context.Canceled)
	assert.LessOrEqual(t, c.Calls(), 2)
}

func TestWeakModelConformsOnGSM8K(t *testing.T) {
	problems := gsm8kProblems(t)[:40]
	// The weak model is wrong on samples 0-1 of odd-numbered problems and
	// on sample 4 of every third; it answers with the reference solution
	// otherwise.
	byQ := map[string]dataset.Problem{}
	for _, p := range problems {
		byQ[p.Question] = p
	}
	c := mock.New(func(ctx context.Context, req providers.Request) (providers.Completion, error) {
		var p dataset.Problem
		for q, pp := range byQ {
			if req.Messages[0].Content == perturb.Prompt(pp)[0].Content {
				p = byQ[q]
			}
		}
		var n int
		fmt.Sscanf(p.ID, "gsm8k/test.jsonl:%d", &n)
		sol := p.Solution
		if (n%2 == 1 && req.Sample < 2) || (n%3 == 0 && req.Sample == 4) {
			sol = sol[:len(sol)-len(p.Answer)] + p.Answer + "1" // wrong final answer
		}
		return providers.Completion{Text: sol}, nil
	}, mock.WithTokenCounts())
	w := &perturb.WeakModel{Completer: c, Model: "weak-1", Verifier: mathVerifier, Seed: 7}
	require.NoError(t, perturbtest.TestPerturber(w, problems))
	outcomes := map[string]int{}
	for _, p := range problems {
		pre, err := w.Perturb(context.Background(), p)
		switch {
		case err == nil:
			outcomes["sample "+pre.Meta["sample"]]++
		case errors.Is(err, perturb.ErrTooEasy):
			outcomes["too easy"]++
		default:
			outcomes[err.Error()]++
		}
	}
	// Of problems 1..40: odd ones fail on sample 0; even multiples of 3 on
	// sample 4 (6, 12, …, 36); the other 14 are never wrong.
	assert.Equal(t, map[string]int{"sample 0": 20, "sample 4": 6, "too easy": 14}, outcomes)
}

// sentinelOf returns the set-aside sentinel err wraps, or nil.
func sentinelOf(err error) error {
	for _, s := range perturbtest.SetAside {
		if errors.Is(err, s) {
			return s
		}
	}
	return nil
}
