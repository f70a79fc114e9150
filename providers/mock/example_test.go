package mock_test

import (
	"context"
	"fmt"

	"github.com/rebound-lab/rebound/providers"
	"github.com/rebound-lab/rebound/providers/mock"
)

// A scripted completer that fails twice with 503 and then answers, as a
// flaky provider would.
func ExampleFailThenSucceed() {
	c := mock.FailThenSucceed(2, 503, providers.Completion{Text: "42"})
	req := providers.Request{Model: "m", Messages: []providers.Message{{Role: "user", Content: "6*7?"}}}
	for i := 0; i < 3; i++ {
		got, err := c.Complete(context.Background(), req)
		fmt.Printf("call %d: %q err=%v\n", i+1, got.Text, err)
	}
	fmt.Println("calls:", c.Calls())
	// Output:
	// call 1: "" err=mock: HTTP 503 mock_error: Service Unavailable
	// call 2: "" err=mock: HTTP 503 mock_error: Service Unavailable
	// call 3: "42" err=<nil>
	// calls: 3
}

// Echo answers with the last message and records every request.
func ExampleEcho() {
	c := mock.Echo()
	got, _ := c.Complete(context.Background(), providers.Request{
		Model:    "m",
		Messages: []providers.Message{{Role: "user", Content: "hello"}},
		Prefill:  "Let me think.",
	})
	req, _ := c.LastRequest()
	fmt.Println(got.Text, got.Provider, got.PrefillMethod, req.Prefill)
	// Output: hello mock native Let me think.
}
