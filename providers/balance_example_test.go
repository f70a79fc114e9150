package providers_test

import (
	"context"
	"fmt"

	"github.com/rebound-lab/rebound/providers"
)

// Two replicas of one model; the first is down, so the call fails over.
func ExampleBalancer() {
	down := providers.CompleterFunc(func(context.Context, providers.Request) (providers.Completion, error) {
		return providers.Completion{}, providers.NewAPIError("vllm", 503, "", "restarting", 0)
	})
	up := providers.CompleterFunc(func(context.Context, providers.Request) (providers.Completion, error) {
		return providers.Completion{Text: "42"}, nil
	})
	bal, err := providers.NewBalancer(down, up)
	if err != nil {
		panic(err)
	}
	c, err := bal.Complete(context.Background(), providers.Request{Model: "m"})
	fmt.Println(c.Text, err)
	for i, s := range bal.Stats() {
		fmt.Printf("replica %d: healthy=%v served=%d failed=%d\n", i, s.Healthy, s.Served, s.Failed)
	}
	// Output:
	// 42 <nil>
	// replica 0: healthy=false served=0 failed=1
	// replica 1: healthy=true served=1 failed=0
}
