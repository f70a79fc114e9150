package recovery_test

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/rebound-lab/rebound/dataset"
	"github.com/rebound-lab/rebound/difficulty"
	"github.com/rebound-lab/rebound/perturb"
	"github.com/rebound-lab/rebound/providers/sim"
	"github.com/rebound-lab/rebound/recovery"
	"github.com/rebound-lab/rebound/verify"
)

// Compose the stages yourself, as Run does: calibrate, bin, perturb with the
// strong model's own wrong samples, continue, summarize and report. (The
// simulator at its default seed writes the same text for many samples of a
// prompt, which the health check reports.)
func Example_composeTheStages() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "rebound-compose")
	defer os.RemoveAll(dir)
	st, err := recovery.OpenStore(dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer st.Close()
	problems := dataset.GSM8KTest()[:12]
	if err := st.PutProblems(ctx, problems); err != nil {
		fmt.Println(err)
		return
	}
	strong := sim.New(sim.Strong(), problems...)
	exec := recovery.Exec{Store: st, Concurrency: 4}
	v := verify.NewMath()

	cals, err := (&recovery.StraightShot{Exec: exec, Stage: recovery.StageStrong, Model: "sim:strong",
		Completer: strong, Verifier: v, Samples: 4}).Run(ctx, problems)
	if err != nil {
		fmt.Println(err)
		return
	}
	binner := difficulty.DefaultBinner()
	if _, err := recovery.Bin(ctx, st, binner, cals); err != nil {
		fmt.Println(err)
		return
	}
	traces, err := recovery.StrongTraces(ctx, st, "sim:strong")
	if err != nil {
		fmt.Println(err)
		return
	}
	prefixes, err := (&recovery.PerturbStage{Exec: exec, Strategy: recovery.StrategyOnPolicy,
		Perturber: &perturb.OnPolicy{Traces: traces, Origin: "sim:strong", Seed: 1}}).Run(ctx, problems)
	if err != nil {
		fmt.Println(err)
		return
	}
	if _, err := (&recovery.Continue{Exec: exec, Model: "sim:strong", Completer: strong, Verifier: v, K: 2}).Run(ctx, prefixes); err != nil {
		fmt.Println(err)
		return
	}
	sum, err := recovery.Summarize(ctx, st, binner.Buckets())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("problems:", sum.Overall.Problems)
	fmt.Println("continuations measured:", sum.Overall.Continuations > 0)
	for _, w := range sum.Health.Warnings {
		fmt.Println("WARN", w.Condition, w.Stage)
	}
	err = recovery.WriteReport(ctx, dir, sum, st, "composed")
	fmt.Println("report written:", err == nil)

	// An empty store has nothing to summarize: an error, not zeros.
	empty, _ := recovery.OpenStore(dir + "/empty")
	defer empty.Close()
	_, err = recovery.Summarize(ctx, empty, nil)
	fmt.Println("empty store:", err != nil && !errors.Is(err, context.Canceled))
	// Output:
	// problems: 12
	// continuations measured: true
	// WARN identical continue
	// WARN identical strong
	// report written: true
	// empty store: true
}
