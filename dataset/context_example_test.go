package dataset_test

import (
	"context"
	"fmt"

	"github.com/rebound-lab/rebound/dataset"
	"github.com/rebound-lab/rebound/providers"
)

// A mock completer that answers every problem correctly, reading which
// problem a call is about from its context, as the recovery harness names
// it, instead of parsing the prompt.
func ExampleProblemOf() {
	oracle := providers.CompleterFunc(func(ctx context.Context, r providers.Request) (providers.Completion, error) {
		p, ok := dataset.ProblemOf(ctx)
		if !ok {
			return providers.Completion{}, fmt.Errorf("no problem named for %q", r.Messages[0].Content)
		}
		return providers.Completion{Text: "The answer is " + p.Answer + "."}, nil
	})
	p := dataset.Problem{ID: "p1", Question: "What is 2+3?", Answer: "5"}
	req := providers.Request{Messages: []providers.Message{{Role: providers.RoleUser, Content: p.Question}}}
	c, err := oracle.Complete(dataset.WithProblem(context.Background(), p), req)
	fmt.Println(c.Text, err)
	_, err = oracle.Complete(context.Background(), req)
	fmt.Println(err)
	// Output:
	// The answer is 5. <nil>
	// no problem named for "What is 2+3?"
}
