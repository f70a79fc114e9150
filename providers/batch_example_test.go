package providers_test

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/rebound-lab/rebound/dataset"
	"github.com/rebound-lab/rebound/perturb"
	"github.com/rebound-lab/rebound/providers"
	"github.com/rebound-lab/rebound/providers/sim"
)

// Three concurrent calls through a Batcher become one batch on the
// simulator's in-process batch API; each caller gets its own answer.
func ExampleBatcher() {
	problems := dataset.GSM8KTest()[:3]
	solver := sim.NewBatched(sim.New(sim.Strong(), problems...), 10*time.Millisecond)
	b := providers.NewBatcher(solver, solver.Endpoint(), providers.BatchConfig{MaxWait: 200 * time.Millisecond, PollInitial: 5 * time.Millisecond})
	c := providers.Chain(solver, b.Middleware())
	var wg sync.WaitGroup
	for _, p := range problems {
		wg.Go(func() {
			out, err := c.Complete(context.Background(), providers.Request{Messages: perturb.Prompt(p)})
			if err != nil || !out.Batch || out.Text == "" {
				fmt.Println("unexpected:", err)
			}
		})
	}
	wg.Wait()
	st := b.Stats()
	fmt.Printf("%d batch, %d lines answered, %d submitted to the simulator\n", st.Submitted, st.Succeeded, solver.SubmittedLines())
	// Output: 1 batch, 3 lines answered, 3 submitted to the simulator
}
