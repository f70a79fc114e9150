package recovery_test

import (
	"context"
	"fmt"
	"os"

	"github.com/rebound-lab/rebound/dataset"
	"github.com/rebound-lab/rebound/providers/sim"
	"github.com/rebound-lab/rebound/recovery"
)

// Compare two strong models on the same weak-model prefixes.
func ExampleRunStudy() {
	dir, _ := os.MkdirTemp("", "rebound-study")
	defer os.RemoveAll(dir)
	problems := dataset.GSM8KTest()[:20]
	good, poor := sim.Strong(), sim.Strong()
	good.Name, poor.Name, poor.RecoverBase, poor.RecoverSlope = "good", "poor", 0, 0.2
	res, err := recovery.RunStudy(context.Background(), recovery.Study{
		Dir: dir,
		Base: recovery.Config{Problems: problems, Weak: sim.New(sim.Weak(), problems...), WeakModel: "sim:weak",
			Samples: 4, Continuations: 4},
		Models: []recovery.StudyModel{
			{Spec: "sim:good", Completer: sim.New(good, problems...)},
			{Spec: "sim:poor", Completer: sim.New(poor, problems...)},
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, d := range res.Comparison.Paired {
		fmt.Printf("%s − %s on %s prefixes: better %v, interval excludes 0 %v\n",
			d.A, d.B, d.Strategy, d.Diff > 0, d.DiffCI[0] > 0)
	}
	// Output:
	// sim:good − sim:poor on weak prefixes: better true, interval excludes 0 true
}
