// Command customperturber shows how to write your own perturbation strategy
// and unit-test it offline before spending money: the strategy runs against
// a scripted providers/mock completer, and perturbtest.TestPerturber checks
// the promises every strategy must keep (the prefix is a prefix of its
// source, states no final answer, is deterministic under a seed, honours
// cancellation, reports set-aside outcomes with the perturb sentinels).
//
// The strategy, SkipStep, asks a model for a solution, checks that it is
// correct, deletes one intermediate step (chosen by seed) and cuts right
// after the step that follows the gap: the strong model must notice that a
// step is missing. Run it with
//
//	go run ./examples/customperturber
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/rebound-lab/rebound/dataset"
	"github.com/rebound-lab/rebound/perturb"
	"github.com/rebound-lab/rebound/perturb/perturbtest"
	"github.com/rebound-lab/rebound/providers"
	"github.com/rebound-lab/rebound/providers/mock"
	"github.com/rebound-lab/rebound/verify"
)

// SkipStep perturbs a problem by removing one step from a model's correct
// solution and cutting right after the step that follows the gap.
type SkipStep struct {
	Completer providers.Completer
	Model     string
	Verifier  verify.Verifier
	Seed      int64
}

var _ perturb.Perturber = (*SkipStep)(nil)

// Perturb implements perturb.Perturber.
func (s *SkipStep) Perturb(ctx context.Context, p dataset.Problem) (perturb.Prefix, error) {
	if err := ctx.Err(); err != nil {
		return perturb.Prefix{}, err
	}
	c, err := s.Completer.Complete(ctx, providers.Request{Model: s.Model, Messages: perturb.Prompt(p), Sample: 0})
	if err != nil {
		return perturb.Prefix{}, fmt.Errorf("skipstep: problem %s: %w", p.ID, err)
	}
	v, err := s.Verifier.Verify(ctx, p.Answer, c.Text)
	if err != nil {
		return perturb.Prefix{}, fmt.Errorf("skipstep: problem %s: %w", p.ID, err)
	}
	if !v.Correct {
		// We need a correct solution to damage; report it as a set-aside.
		return perturb.Prefix{}, fmt.Errorf("%w: the model's solution to %s is wrong", perturb.ErrNoTrace, p.ID)
	}
	steps := perturb.Split(c.Text)
	// Candidates: a step k with a next step, neither stating the answer.
	var cands []int
	for k := 0; k+1 < len(steps); k++ {
		if !perturb.HasFinalAnswer(steps[k].Text) && !perturb.HasFinalAnswer(steps[k+1].Text) {
			cands = append(cands, k)
		}
	}
	if len(cands) == 0 {
		return perturb.Prefix{}, fmt.Errorf("%w: problem %s has %d steps", perturb.ErrTooShort, p.ID, len(steps))
	}
	r := perturb.Rand(s.Seed, p.ID) // per-problem randomness: deterministic in any order
	k := cands[r.IntN(len(cands))]
	// Remove step k (and the line break after it) from the text.
	source := c.Text[:steps[k].Start] + c.Text[steps[k+1].Start:]
	pre, err := perturb.Truncate(source, perturb.CutAfterError(), perturb.CutInput{ErrorStep: k + 1})
	if err != nil {
		return perturb.Prefix{}, err
	}
	pre.Strategy = "skipstep"
	pre.Origin = s.Model
	pre.Usage, pre.CostUSD = c.Usage, c.CostUSD
	pre.Meta = map[string]string{"skipped": steps[k].Text, "seed": strconv.FormatInt(s.Seed, 10)}
	return pre, nil
}

var problems = []dataset.Problem{
	{ID: "natalia", Question: "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. How many clips did Natalia sell altogether in April and May?", Answer: "72"},
	{ID: "weng", Question: "Weng earns $12 an hour for babysitting. Yesterday, she just did 50 minutes of babysitting. How much did she earn?", Answer: "10"},
	{ID: "betty", Question: "Betty is saving money for a new wallet which costs $100. Betty has only half of the money she needs. Her parents decided to give her $15 for that purpose, and her grandparents twice as much as her parents. How much more money does Betty need to buy the wallet?", Answer: "5"},
}

// solutions is what the scripted model answers, by problem.
var solutions = map[string]string{
	"natalia": "In April she sold 48 clips.\nIn May she sold 48 / 2 = 24 clips.\nAltogether she sold 48 + 24 = 72 clips.\nThe answer is \\boxed{72}.",
	"weng":    "Weng earns 12 / 60 = 0.2 dollars per minute.\nFor 50 minutes she earns 0.2 * 50 = 10 dollars.\nThe answer is \\boxed{10}.",
	"betty":   "Betty has 100 / 2 = 50 dollars.\nHer grandparents give 15 * 2 = 30 dollars.\nShe needs 100 - 50 - 15 - 30 = 5 more.\nThe answer is \\boxed{6}.", // a wrong solution
}

// model is a scripted completer: it finds the problem by its prompt.
func model() *mock.Completer {
	return mock.New(func(ctx context.Context, req providers.Request) (providers.Completion, error) {
		for _, p := range problems {
			if req.Messages[0].Content == perturb.Prompt(p)[0].Content {
				return providers.Completion{Text: solutions[p.ID]}, nil
			}
		}
		return providers.Completion{}, errors.New("unknown problem")
	}, mock.WithTokenCounts())
}

func run(w io.Writer) error {
	s := &SkipStep{Completer: model(), Model: "mock-strong", Verifier: verify.NewMath(), Seed: 1}
	if err := perturbtest.TestPerturber(s, problems); err != nil {
		return err
	}
	fmt.Fprintln(w, "SkipStep passes perturbtest")
	for _, p := range problems {
		pre, err := s.Perturb(context.Background(), p)
		if err != nil {
			fmt.Fprintf(w, "%s: set aside: %v\n", p.ID, err)
			continue
		}
		fmt.Fprintf(w, "%s: skipped %q; prefix (%d of %d steps):\n%s\n", p.ID, pre.Meta["skipped"], pre.StepsKept, pre.StepsTotal, pre.Text)
	}
	return nil
}

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, strings.TrimSpace(err.Error()))
		os.Exit(1)
	}
}
