package providers_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/rebound-lab/rebound/providers"
)

// ProbePrefill runs a few cheap canary calls and says whether an endpoint
// really continues a prefix. Here a stand-in endpoint drops the prefill and
// answers from scratch, as some routed providers silently do.
func ExampleProbePrefill() {
	dropsPrefill := providers.CompleterFunc(func(ctx context.Context, r providers.Request) (providers.Completion, error) {
		text := "It is sunny today."
		if strings.Contains(r.Messages[0].Content, "Count") {
			text = "1, 2, 3, 4, 5"
		} else if strings.Contains(r.Messages[0].Content, "even") {
			text = "2, 4, 6, 8"
		}
		return providers.Completion{Text: text, PrefillMethod: providers.PrefillAssistantMessage}, nil
	})
	res, err := providers.ProbePrefill(context.Background(), dropsPrefill, "some-model")
	if err != nil {
		panic(err)
	}
	fmt.Println(res)
	for _, c := range res.Calls {
		fmt.Printf("%s: %s: %s\n", c.Canary, c.Outcome, c.Reason)
	}
	// Output:
	// ignored (3/3 canaries restarted instead of continuing)
	// count: ignored: started over with "1, 2, 3, 4, 5"
	// mid-word: ignored: started over with "It is sunny today."
	// evens: ignored: started over with "2, 4, 6, 8"
}
