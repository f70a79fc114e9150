package perturb_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/perturb"
	"github.com/rebound-lab/rebound/perturb/perturbtest"
	"github.com/rebound-lab/rebound/providers/sim"
)

// TestWeakModelOnTheSimulator runs the weak-model strategy end to end on
// the offline simulator: its wrong samples carry one corrupted arithmetic
// result, the verifier catches them, and problems the simulated weak model
// always solves are set aside as too easy.
func TestWeakModelOnTheSimulator(t *testing.T) {
	problems := gsm8kProblems(t)[:60]
	weak := sim.New(sim.Weak(), problems...)
	w := &perturb.WeakModel{Completer: weak, Model: "weak", Verifier: mathVerifier, Seed: 1}
	made, easy := 0, 0
	for _, p := range problems {
		pre, err := w.Perturb(context.Background(), p)
		switch {
		case err == nil:
			made++
			assert.Empty(t, perturbtest.CheckPrefix(pre), p.ID)
		case errors.Is(err, perturb.ErrTooEasy):
			easy++
		default:
			require.NoError(t, err, p.ID)
		}
	}
	t.Logf("simulated weak model: %d prefixes, %d too easy, of %d GSM8K problems", made, easy, len(problems))
	assert.Greater(t, made, 0)
	assert.Greater(t, easy, 0)
	require.NoError(t, perturbtest.TestPerturber(w, problems[:20]))
}
