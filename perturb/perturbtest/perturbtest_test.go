package perturbtest_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/dataset"
	"github.com/rebound-lab/rebound/perturb"
	"github.com/rebound-lab/rebound/perturb/perturbtest"
)

var problems = []dataset.Problem{
	{ID: "p1", Question: "1+1?", Answer: "2"},
	{ID: "p2", Question: "2+2?", Answer: "4"},
	{ID: "skip", Question: "3+3?", Answer: "6"},
}

const source = "First, a = 1.\nThen b = 2.\nThe answer is 3."

// good is a correct Perturber: it cuts a fixed trace after step 2 and sets
// aside the problem "skip".
func good(ctx context.Context, p dataset.Problem) (perturb.Prefix, error) {
	if err := ctx.Err(); err != nil {
		return perturb.Prefix{}, err
	}
	if p.ID == "skip" {
		return perturb.Prefix{}, perturb.ErrNoTrace
	}
	pre, err := perturb.Truncate(source, perturb.CutAt(2), perturb.CutInput{})
	pre.Strategy = "fixed"
	return pre, err
}

func TestTestPerturberAcceptsACorrectPerturber(t *testing.T) {
	require.NoError(t, perturbtest.TestPerturber(perturb.PerturberFunc(good), problems))
}

func TestTestPerturberReportsEveryViolation(t *testing.T) {
	modify := func(f func(perturb.Prefix) perturb.Prefix) perturb.PerturberFunc {
		return func(ctx context.Context, p dataset.Problem) (perturb.Prefix, error) {
			pre, err := good(ctx, p)
			if err != nil {
				return pre, err
			}
			return f(pre), nil
		}
	}
	var calls atomic.Int64
	cases := []struct {
		name string
		p    perturb.Perturber
		want []string
	}{
		{"a prefix that states the answer", modify(func(p perturb.Prefix) perturb.Prefix { p.Text = source; return p }), []string{"contains a final answer"}},
		{"a prefix that is not a prefix of its source", modify(func(p perturb.Prefix) perturb.Prefix { p.Text = "First, a = 7."; return p }), []string{"not a prefix of its source"}},
		{"an empty prefix", modify(func(p perturb.Prefix) perturb.Prefix { p.Text = ""; return p }), []string{"prefix text is empty"}},
		{"a prefix ending in a newline", modify(func(p perturb.Prefix) perturb.Prefix { p.Text += "\n"; return p }), []string{"ends in whitespace"}},
		{"step counts out of range", modify(func(p perturb.Prefix) perturb.Prefix { p.StepsKept = 5; p.ErrorStep = -1; return p }), []string{"StepsKept 5 of StepsTotal 3", "ErrorStep -1"}},
		{"no strategy name", modify(func(p perturb.Prefix) perturb.Prefix { p.Strategy = ""; return p }), []string{"Strategy is empty"}},
		{"a nondeterministic perturber", modify(func(p perturb.Prefix) perturb.Prefix {
			if calls.Add(1)%2 == 0 {
				p.Text = "First, a = 1."
				p.StepsKept = 1
			}
			return p
		}), []string{"not deterministic"}},
		{"a perturber that ignores cancellation", perturb.PerturberFunc(func(ctx context.Context, p dataset.Problem) (perturb.Prefix, error) {
			return good(context.Background(), p)
		}), []string{"cancelled context"}},
		{"an error that is not a set-aside sentinel", perturb.PerturberFunc(func(ctx context.Context, p dataset.Problem) (perturb.Prefix, error) {
			if p.ID == "skip" {
				return perturb.Prefix{}, errors.New("no trace, honest")
			}
			return good(ctx, p)
		}), []string{`problem "skip": error is not a set-aside sentinel`}},
		{"a perturber that sets everything aside", perturb.PerturberFunc(func(ctx context.Context, p dataset.Problem) (perturb.Prefix, error) {
			if err := ctx.Err(); err != nil {
				return perturb.Prefix{}, err
			}
			return perturb.Prefix{}, perturb.ErrTooEasy
		}), []string{"no problem yielded a prefix"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := perturbtest.TestPerturber(c.p, problems)
			require.Error(t, err)
			for _, w := range c.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestTestPerturberListsViolationsOnePerLine(t *testing.T) {
	leaky := perturb.PerturberFunc(func(ctx context.Context, p dataset.Problem) (perturb.Prefix, error) {
		return perturb.Prefix{Text: source + "\n", Source: "other", Strategy: "leaky", StepsKept: 1, StepsTotal: 1}, nil
	})
	err := perturbtest.TestPerturber(leaky, problems)
	require.Error(t, err)
	lines := strings.Split(err.Error(), "\n")
	// Per problem: not a prefix, final answer, trailing whitespace; plus a
	// cancellation violation for each of the three problems.
	assert.Len(t, lines, 1+3*3+3)
	assert.Contains(t, lines[0], "12 violation(s)")
}

func TestTestPerturberNeedsProblems(t *testing.T) {
	require.ErrorContains(t, perturbtest.TestPerturber(perturb.PerturberFunc(good), nil), "no problems")
}

func TestCheckPrefix(t *testing.T) {
	pre, err := good(context.Background(), problems[0])
	require.NoError(t, err)
	assert.Empty(t, perturbtest.CheckPrefix(pre))
	pre.Text = source
	assert.Len(t, perturbtest.CheckPrefix(pre), 1)
}
