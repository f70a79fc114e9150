package perturbtest_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/rebound-lab/rebound/dataset"
	"github.com/rebound-lab/rebound/perturb"
	"github.com/rebound-lab/rebound/perturb/perturbtest"
)

// A user's own strategy — keep the reference solution up to its middle
// step — checked against the rules every Perturber must keep.
func ExampleTestPerturber() {
	half := perturb.PerturberFunc(func(ctx context.Context, p dataset.Problem) (perturb.Prefix, error) {
		if err := ctx.Err(); err != nil {
			return perturb.Prefix{}, err
		}
		pre, err := perturb.Truncate(p.Solution, perturb.CutFraction(0.5), perturb.CutInput{})
		if err != nil {
			return perturb.Prefix{}, err
		}
		pre.Strategy, pre.Origin = "half", p.Source
		return pre, nil
	})
	problems := []dataset.Problem{{
		ID: "natalia", Answer: "72", Source: "gsm8k",
		Solution: "Natalia sold 48/2 = <<48/2=24>>24 clips in May.\nNatalia sold 48+24 = <<48+24=72>>72 clips altogether.\n#### 72",
	}}
	fmt.Println("half:", perturbtest.TestPerturber(half, problems))

	// A careless strategy that keeps the whole solution leaks the answer.
	whole := perturb.PerturberFunc(func(ctx context.Context, p dataset.Problem) (perturb.Prefix, error) {
		if err := ctx.Err(); err != nil {
			return perturb.Prefix{}, err
		}
		return perturb.Prefix{Text: p.Solution, Source: p.Solution, StepsKept: 3, StepsTotal: 3, Strategy: "whole"}, nil
	})
	err := perturbtest.TestPerturber(whole, problems)
	fmt.Println(strings.Split(err.Error(), "\n")[1])
	// Output:
	// half: <nil>
	// problem "natalia": prefix contains a final answer at byte 102: "#### 72"
}
