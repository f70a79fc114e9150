package perturb_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/dataset"
	"github.com/rebound-lab/rebound/perturb"
	"github.com/rebound-lab/rebound/perturb/perturbtest"
)

func wrongVariant(i int) string {
	return "Janet has 16 - 3 = 13 eggs.\nThen 13 - 4 = " + string(rune('0'+i)) + " eggs remain.\nShe makes " + string(rune('0'+i)) + " * 2 dollars.\nThe answer is \\boxed{" + string(rune('0'+i)) + "}."
}

func TestOnPolicy(t *testing.T) {
	traces := map[string][]perturb.Trace{
		"mid":     {{Text: rightTrace, Correct: true}, {Text: wrongVariant(1), Sample: 1}, {Text: rightTrace, Correct: true, Sample: 2}, {Text: wrongVariant(2), Sample: 3}},
		"always":  {{Text: rightTrace, Correct: true}, {Text: rightTrace, Correct: true}, {Text: rightTrace, Correct: true}},
		"never":   {{Text: wrongVariant(1)}, {Text: wrongVariant(2)}, {Text: wrongVariant(3)}},
		"short":   {{Text: rightTrace, Correct: true}, {Text: "The answer is 3."}},
		"unknown": nil,
	}
	o := &perturb.OnPolicy{Traces: func(id string) []perturb.Trace { return traces[id] }, Origin: "strong-1", Cut: perturb.CutAt(2), Seed: 3}
	ctx := context.Background()

	t.Run("a mid-band problem yields one of its wrong traces, truncated", func(t *testing.T) {
		p, err := o.Perturb(ctx, dataset.Problem{ID: "mid"})
		require.NoError(t, err)
		assert.Contains(t, []string{wrongVariant(1), wrongVariant(2)}, p.Source)
		assert.Equal(t, 2, p.StepsKept)
		assert.Equal(t, "onpolicy", p.Strategy)
		assert.Equal(t, "strong-1", p.Origin)
		assert.Equal(t, "2/4", p.Meta["pass_rate"])
		assert.Zero(t, p.Usage.Total(), "on-policy prefixes reuse traces and cost nothing")
	})
	t.Run("the choice of trace follows the seed", func(t *testing.T) {
		seen := map[string]bool{}
		for seed := range int64(20) {
			oo := *o
			oo.Seed = seed
			p, err := oo.Perturb(ctx, dataset.Problem{ID: "mid"})
			require.NoError(t, err)
			seen[p.Source] = true
		}
		assert.Len(t, seen, 2, "both wrong traces get picked across seeds")
	})
	t.Run("a problem always solved is out of band", func(t *testing.T) {
		_, err := o.Perturb(ctx, dataset.Problem{ID: "always"})
		require.ErrorIs(t, err, perturb.ErrOutOfBand)
		assert.ErrorContains(t, err, "3/3")
	})
	t.Run("a problem never solved is out of band", func(t *testing.T) {
		_, err := o.Perturb(ctx, dataset.Problem{ID: "never"})
		require.ErrorIs(t, err, perturb.ErrOutOfBand)
	})
	t.Run("a wider band takes the never-solved problem", func(t *testing.T) {
		oo := *o
		oo.Band = [2]float64{0, 1}
		_, err := oo.Perturb(ctx, dataset.Problem{ID: "never"})
		require.NoError(t, err)
		_, err = oo.Perturb(ctx, dataset.Problem{ID: "always"})
		require.ErrorIs(t, err, perturb.ErrNoTrace, "in band, but no wrong trace")
	})
	t.Run("a problem without traces has no trace", func(t *testing.T) {
		_, err := o.Perturb(ctx, dataset.Problem{ID: "unknown"})
		require.ErrorIs(t, err, perturb.ErrNoTrace)
	})
	t.Run("a wrong trace with nothing before its answer is too short", func(t *testing.T) {
		_, err := o.Perturb(ctx, dataset.Problem{ID: "short"})
		require.ErrorIs(t, err, perturb.ErrTooShort)
	})
	t.Run("a band outside [0, 1] is an error, not a set-aside", func(t *testing.T) {
		oo := *o
		oo.Band = [2]float64{0.9, 0.1}
		_, err := oo.Perturb(ctx, dataset.Problem{ID: "mid"})
		require.Error(t, err)
		assert.Nil(t, sentinelOf(err))
	})
	t.Run("it conforms", func(t *testing.T) {
		var ps []dataset.Problem
		for id := range traces {
			ps = append(ps, dataset.Problem{ID: id})
		}
		oo := *o
		oo.Cut = nil // the default, random, cut
		require.NoError(t, perturbtest.TestPerturber(&oo, ps))
	})
}
