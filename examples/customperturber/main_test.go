package main

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/dataset"
	"github.com/rebound-lab/rebound/perturb"
	"github.com/rebound-lab/rebound/perturb/perturbtest"
	"github.com/rebound-lab/rebound/verify"
)

func TestSkipStepRemovesOneStepAndCutsAfterTheGap(t *testing.T) {
	c := model()
	s := &SkipStep{Completer: c, Model: "m", Verifier: verify.NewMath(), Seed: 1}
	pre, err := s.Perturb(context.Background(), problems[0])
	require.NoError(t, err)
	assert.NotContains(t, pre.Text, pre.Meta["skipped"])
	assert.Contains(t, solutions["natalia"], pre.Meta["skipped"])
	assert.Equal(t, pre.ErrorStep, pre.StepsKept, "cut right after the step following the gap")
	assert.Equal(t, 1, c.Calls(), "one call per problem")
	req, _ := c.LastRequest()
	assert.Equal(t, 0, req.Sample)
}

func TestSkipStepChoiceFollowsTheSeed(t *testing.T) {
	seen := map[string]bool{}
	for seed := range int64(16) {
		s := &SkipStep{Completer: model(), Model: "m", Verifier: verify.NewMath(), Seed: seed}
		pre, err := s.Perturb(context.Background(), problems[0])
		require.NoError(t, err)
		seen[pre.Meta["skipped"]] = true
	}
	assert.Len(t, seen, 2, "either of natalia's first two steps can be skipped")
}

// The kit catches a slip a user could easily make: keeping the whole
// damaged solution, answer included.
func TestPerturbtestCatchesALeakingVariant(t *testing.T) {
	s := &SkipStep{Completer: model(), Model: "m", Verifier: verify.NewMath(), Seed: 1}
	leaky := perturb.PerturberFunc(func(ctx context.Context, p dataset.Problem) (perturb.Prefix, error) {
		pre, err := s.Perturb(ctx, p)
		pre.Text = pre.Source
		return pre, err
	})
	err := perturbtest.TestPerturber(leaky, problems)
	require.Error(t, err)
	assert.Equal(t, 2, strings.Count(err.Error(), "contains a final answer"), "both perturbed problems leak")
}
