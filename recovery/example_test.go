package recovery_test

import (
	"context"
	"fmt"
	"os"

	"github.com/rebound-lab/rebound/dataset"
	"github.com/rebound-lab/rebound/providers"
	"github.com/rebound-lab/rebound/providers/sim"
	"github.com/rebound-lab/rebound/recovery"
	"github.com/rebound-lab/rebound/verify"
)

// Run the whole experiment offline on the simulator.
func ExampleRun() {
	dir, _ := os.MkdirTemp("", "rebound-example")
	defer os.RemoveAll(dir)
	problems := dataset.GSM8KTest()[:20]
	sum, err := recovery.Run(context.Background(), recovery.Config{
		Dir:         dir,
		Problems:    problems,
		Strong:      sim.New(sim.Strong(), problems...),
		StrongModel: "sim:strong",
		Weak:        sim.New(sim.Weak(), problems...),
		WeakModel:   "sim:weak",
		Samples:     4,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, b := range sum.Buckets {
		fmt.Printf("%s: %d problems\n", b.Name, b.Problems)
	}
	fmt.Println("continuations:", sum.Overall.Continuations > 0)
	_, err = os.Stat(dir + "/" + recovery.SummaryJSON)
	fmt.Println("summary.json written:", err == nil)
	// Output:
	// hard: 7 problems
	// medium: 5 problems
	// easy: 8 problems
	// continuations: true
	// summary.json written: true
}

// Use one stage alone: straight-shot calibration against a fake model that
// is right on even samples.
func ExampleStraightShot() {
	fake := providers.CompleterFunc(func(ctx context.Context, req providers.Request) (providers.Completion, error) {
		answer := "41"
		if req.Sample%2 == 0 {
			answer = "42"
		}
		return providers.Completion{Text: "The answer is \\boxed{" + answer + "}."}, nil
	})
	ss := &recovery.StraightShot{Stage: recovery.StageStrong, Model: "fake:model", Completer: fake,
		Verifier: verify.NewMath(), Samples: 4}
	cals, err := ss.Run(context.Background(), []dataset.Problem{{ID: "q1", Question: "6 × 7?", Answer: "42"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s: %d of %d correct\n", cals[0].Problem.ID, cals[0].K, cals[0].N)
	// Output:
	// q1: 2 of 4 correct
}

// A clustered interval: ten problems whose continuations are all-or-nothing
// carry about as much information as ten observations, not forty.
func ExampleClusterCI() {
	y := []int{4, 0, 4, 0, 4, 0, 4, 0, 4, 0}
	m := []int{4, 4, 4, 4, 4, 4, 4, 4, 4, 4}
	lo, hi := recovery.ClusterCI(y, m, 0.95)
	fmt.Printf("0.50 [%.2f, %.2f]\n", lo, hi)
	// Output:
	// 0.50 [0.20, 0.80]
}

// Aggregate store rows into the report's numbers.
func ExampleAggregate() {
	problems := []recovery.Problem{{ID: "p1", Bucket: "hard", StrongK: 1, StrongN: 4}}
	prefixes := []recovery.Prefix{{ProblemID: "p1", Strategy: "weak", Text: "...", Depth: 0.5}}
	samples := []recovery.Sample{
		{Stage: recovery.StageContinue, ProblemID: "p1", Prefix: "weak", Sample: 0, Correct: true},
		{Stage: recovery.StageContinue, ProblemID: "p1", Prefix: "weak", Sample: 1},
	}
	s := recovery.Aggregate(problems, prefixes, samples, []string{"hard", "easy"})
	for _, b := range append(s.Buckets, s.Overall) {
		fmt.Printf("%s: recovery %s [%s, %s], strong pass %s (raw k/n %s)\n", b.Label(), b.RecoveryRate,
			b.RecoveryCI[0], b.RecoveryCI[1], b.StrongPassRate, b.StrongPassObserved)
	}
	// Output:
	// hard (1/4): recovery 0.500 [0.055, 0.945], strong pass 0.250 (raw k/n 0.250)
	// easy: recovery – [–, –], strong pass – (raw k/n –)
	// overall: recovery 0.500 [0.055, 0.945], strong pass 0.250 (raw k/n 0.250)
}
