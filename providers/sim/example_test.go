package sim_test

import (
	"context"
	"fmt"

	"github.com/rebound-lab/rebound/dataset"
	"github.com/rebound-lab/rebound/providers"
	"github.com/rebound-lab/rebound/providers/sim"
)

func Example() {
	p := dataset.Problem{
		ID:       "robe",
		Question: "A robe takes 2 bolts of blue fiber and half that much white fiber. How many bolts in total does it take?",
		Solution: "It takes 2/2=<<2/2=1>>1 bolt of white fiber\nSo the total amount of fabric is 2+1=<<2+1=3>>3 bolts of fabric",
		Answer:   "3",
	}
	cfg := sim.Strong()
	cfg.RestartProb = 0
	s := sim.New(cfg, p)

	// A flawed prefix: the first step computed wrongly.
	prefix := "It takes 2/2=4 bolt of white fiber\n"
	flawed, done, _ := s.Flawed(p.ID, prefix)
	fmt.Println("flawed:", flawed, "steps done:", done)

	// Continue it until one sample recovers.
	for i := 0; ; i++ {
		c, err := s.Complete(context.Background(), providers.Request{
			// The experiment sends perturb.Prompt(p); the bare question works too.
			Messages: []providers.Message{{Role: providers.RoleUser, Content: p.Question}},
			Prefill:  prefix,
			Sample:   i,
		})
		if err != nil {
			fmt.Println(err)
			return
		}
		if answer, _ := dataset.LastBoxed(c.Text); answer == p.Answer {
			fmt.Print(c.Text)
			fmt.Println()
			fmt.Println("prefill method:", c.PrefillMethod)
			break
		}
	}
	// Output:
	// flawed: true steps done: 1
	// Wait, that does not look right. Let me recheck the calculation.
	// It takes 2/2=1 bolt of white fiber
	// So the total amount of fabric is 2+1=3 bolts of fabric
	// The answer is \boxed{3}.
	// prefill method: native
}

// Truth exposes what the simulator knows, so estimates can be checked.
func ExampleSolver_Truth() {
	s := sim.New(sim.Strong(), dataset.Problem{ID: "q1", Question: "What is 1+1?", Answer: "2"})
	t, _ := s.Truth("q1")
	fmt.Printf("pass rate %.3f, recovery rate %.3f (= 0.15 + 0.7·%.3f)\n", t.PassRate, t.RecoverRate, t.PassRate)
	fmt.Printf("clean prefix continues with the pass rate: %v\n", s.ContinueProb("q1", "") == t.PassRate)
	// Output:
	// pass rate 0.932, recovery rate 0.803 (= 0.15 + 0.7·0.932)
	// clean prefix continues with the pass rate: true
}
