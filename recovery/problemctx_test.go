package recovery

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/dataset"
	"github.com/rebound-lab/rebound/providers"
	"github.com/rebound-lab/rebound/providers/sim"
)

// namingChecker is a simulator that counts the calls whose context does
// not name a problem whose question the prompt holds.
type namingChecker struct {
	*sim.Solver
	calls, unnamed, wrong atomic.Int64
}

func (c *namingChecker) Complete(ctx context.Context, req providers.Request) (providers.Completion, error) {
	c.calls.Add(1)
	p, ok := dataset.ProblemOf(ctx)
	switch {
	case !ok:
		c.unnamed.Add(1)
	case !strings.Contains(req.Messages[len(req.Messages)-1].Content, strings.TrimSpace(p.Question)):
		c.wrong.Add(1)
	}
	return c.Solver.Complete(ctx, req)
}

// Every call the harness makes names its problem (dataset.WithProblem):
// straight shots, the weak model's perturbation tries and continuations.
func TestEveryCallNamesItsProblem(t *testing.T) {
	cfg := simConfig(t, t.TempDir(), 20, 3)
	cfg.Strategies = []string{StrategyWeak, StrategyOnPolicy, StrategyInject}
	strong := &namingChecker{Solver: cfg.Strong.(*sim.Solver)}
	weak := &namingChecker{Solver: cfg.Weak.(*sim.Solver)}
	cfg.Strong, cfg.Weak = strong, weak
	sum, err := Run(context.Background(), cfg)
	require.NoError(t, err)
	require.Positive(t, sum.Overall.Continuations)
	for name, c := range map[string]*namingChecker{"strong": strong, "weak": weak} {
		assert.Positive(t, c.calls.Load(), name)
		assert.Zero(t, c.unnamed.Load(), "%s: calls without a named problem", name)
		assert.Zero(t, c.wrong.Load(), "%s: calls naming another problem", name)
	}
}
