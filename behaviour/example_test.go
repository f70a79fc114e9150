package behaviour_test

import (
	"fmt"

	"github.com/rebound-lab/rebound/behaviour"
	"github.com/rebound-lab/rebound/dataset"
)

// A prefix with an injected error ("16 - 3 - 4 = 8", truly 9) continued
// three ways.
func ExampleClassify() {
	flaw := behaviour.Flaw{Locus: behaviour.Injected, Step: 1, Wrong: "8", Right: "9", Expr: "16 - 3 - 4"}
	for _, c := range []struct {
		text    string
		correct bool
	}{
		{"\nWait, 16 - 3 - 4 is 9, not 8. She makes 9 * 2 = $18.\nThe answer is 18.", true},
		{"\nShe makes 8 * 2 = $18.\nThe answer is 18.", true},
		{"\nShe makes 8 * 2 = $16.\nThe answer is 16.", false},
	} {
		r := behaviour.Classify(behaviour.Input{Continuation: c.text, Flaw: flaw, Correct: c.correct})
		fmt.Printf("%s (%s): %q\n", r.Label, r.Rule, c.text[r.Evidence.Start:r.Evidence.End])
	}
	// Output:
	// explicit_correction (correction cue then the right value): "Wait, 16 - 3 - 4 is 9"
	// silent_recovery (right answer, wrong value used): "8"
	// propagated (wrong value carried forward): "8"
}

func ExampleLocate() {
	// no gold needed for an arithmetic slip
	f := behaviour.Locate("She has 16 - 3 = 12 eggs left.", dataset.Problem{})
	fmt.Println(f.Locus, f.Step, f.Wrong, f.Right, f.Rule)
	// Output:
	// gold_divergence 1 12 13 arithmetic slip
}
