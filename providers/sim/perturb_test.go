package sim_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/dataset"
	"github.com/rebound-lab/rebound/perturb"
	"github.com/rebound-lab/rebound/providers/sim"
)

// TestReadsInjectedErrorsAsFlawed checks the simulator against the project's
// own injected-error perturber: a prefix with a corrupted step must be read
// as flawed, so its continuations recover at the recovery rate. The few
// misses are errors the simulator cannot see (inside [asy] figures, which it
// drops) or a sign change on a number that appears elsewhere in the gold
// solution.
func TestReadsInjectedErrorsAsFlawed(t *testing.T) {
	all := append(dataset.GSM8KTest(), dataset.MATH500()...)
	s := sim.New(sim.Strong(), all...)
	inj := &perturb.InjectError{Seed: 1}
	n, flawed := 0, 0
	for _, p := range all {
		pre, err := inj.Perturb(context.Background(), p)
		if err != nil {
			continue // set aside by the perturber
		}
		n++
		fl, _, ok := s.Flawed(p.ID, pre.Text)
		require.True(t, ok)
		if fl {
			flawed++
		}
	}
	t.Logf("%d of %d injected-error prefixes read as flawed", flawed, n)
	require.Greater(t, n, 1000)
	assert.GreaterOrEqual(t, flawed*100, n*99, "%d of %d read as flawed", flawed, n)
}
