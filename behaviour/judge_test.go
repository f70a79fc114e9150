package behaviour

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/providers"
	"github.com/rebound-lab/rebound/providers/mock"
)

func TestParseLabel(t *testing.T) {
	for reply, want := range map[string]Label{
		"explicit_correction": ExplicitCorrection, "Silent recovery.": SilentRecovery, "**Restart**": Restart,
		"propagated": Propagated, "Other-failure": OtherFailure, "Label: silent_recovery (it never revisits)": SilentRecovery,
	} {
		got, ok := ParseLabel(reply)
		assert.True(t, ok, reply)
		assert.Equal(t, want, got, reply)
	}
	_, ok := ParseLabel("I cannot tell.")
	assert.False(t, ok)
}

func TestJudgeSendsThePromptAndReadsTheLabel(t *testing.T) {
	var got providers.Request
	m := mock.New(func(_ context.Context, req providers.Request) (providers.Completion, error) {
		got = req
		return providers.Completion{Text: "propagated"}, nil
	})
	j := &Judge{Completer: m, Model: "judge-1"}
	r, err := j.Classify(context.Background(), JudgeInput{Question: "How many eggs?", Prefix: "16 - 3 - 4 = 8",
		Input: Input{Continuation: "\nShe sells 8.", Flaw: injected}})
	require.NoError(t, err)
	assert.Equal(t, Result{Label: Propagated, Rule: "judge", Locus: Injected}, r)
	p := got.Messages[0].Content
	for _, want := range []string{"How many eggs?", "16 - 3 - 4 = 8", "an error was injected at step 1 where 8 was written instead of 9",
		"\nShe sells 8.", "IS: WRONG", "Reply with the label only."} {
		assert.Contains(t, p, want)
	}
	assert.NotContains(t, p, "%!", "every verb filled")
	assert.Equal(t, "judge-1", got.Model)
	require.NotNil(t, got.Temperature)
	assert.Zero(t, *got.Temperature)

	j.Completer = mock.New(func(context.Context, providers.Request) (providers.Completion, error) {
		return providers.Completion{Text: "no idea"}, nil
	})
	_, err = j.Classify(context.Background(), JudgeInput{})
	assert.ErrorIs(t, err, ErrJudgeReply)
	j.Completer = mock.AlwaysFail(429)
	_, err = j.Classify(context.Background(), JudgeInput{})
	assert.ErrorIs(t, err, providers.ErrRateLimited)
	_, err = (&Judge{}).Classify(context.Background(), JudgeInput{})
	assert.Error(t, err)
}

func TestDecided(t *testing.T) {
	assert.True(t, Decided(Result{Label: Propagated, Locus: Injected, Rule: "wrong value carried forward"}))
	assert.False(t, Decided(Result{Label: Propagated, Locus: Labelled, Rule: "wrong answer, flaw never addressed (value unknown)"}))
	assert.False(t, Decided(Result{Label: SilentRecovery, Locus: Unlocated}))
	assert.True(t, Decided(Result{Label: Restart, Locus: Unlocated}))
}

func TestCompare(t *testing.T) {
	a, err := Compare([]Label{Restart, Propagated, Propagated, SilentRecovery, ""},
		[]Label{Restart, Propagated, OtherFailure, SilentRecovery, Restart})
	require.NoError(t, err)
	assert.Equal(t, 4, a.N, "an undecided pair is left out")
	assert.Equal(t, 3, a.Agree)
	assert.Equal(t, 1, a.Confusion[[2]Label{Propagated, OtherFailure}])
	// po = 0.75; pe = (1·1 + 2·1 + 1·1)/16 = 0.25; kappa = 0.5/0.75
	assert.InDelta(t, 2.0/3, a.Kappa, 1e-12)
	_, err = Compare([]Label{Restart}, nil)
	assert.Error(t, err)
	a, _ = Compare(nil, nil)
	assert.True(t, math.IsNaN(a.Kappa) && math.IsNaN(a.Rate()))
}

func TestJudgePromptHasFiveVerbs(t *testing.T) {
	assert.Equal(t, 5, strings.Count(JudgePrompt, "%s"))
	assert.Equal(t, 5, strings.Count(JudgePrompt, "%"), "no stray verbs")
	assert.False(t, errors.Is(nil, ErrJudgeReply))
}
