package providers_test

import (
	"context"
	"fmt"
	"time"

	"github.com/rebound-lab/rebound/providers"
	"github.com/rebound-lab/rebound/providers/mock"
)

// A flaky, paid provider behind a cache, a $0.01 budget, pricing and retry.
// The first call survives two 503s; the second is a free cache hit.
func Example() {
	prices := providers.DefaultPrices()
	prices.Set("acme", "m", providers.Price{InputPerM: 1, OutputPerM: 4})
	budget := providers.NewBudget(providers.BudgetConfig{LimitUSD: 0.01, Prices: prices})
	flaky := mock.FailThenSucceed(2, 503, providers.Completion{Text: "4", Usage: providers.Usage{InputTokens: 12, OutputTokens: 1}},
		mock.WithEndpoint(providers.Endpoint{Provider: "acme"}))
	c := providers.Chain(flaky, providers.Cache(providers.NewMemoryCache()), budget.Middleware(),
		providers.Pricing(prices), providers.Retry(providers.RetryPolicy{InitialInterval: time.Millisecond}))
	req := providers.Request{Model: "m", MaxTokens: 100, Messages: []providers.Message{{Role: "user", Content: "2+2?"}}}
	for i := 0; i < 2; i++ {
		got, err := c.Complete(context.Background(), req)
		fmt.Printf("%q cached=%v cost=$%.6f err=%v\n", got.Text, got.Cached, got.CostUSD, err)
	}
	fmt.Printf("provider calls: %d, spent: $%.6f\n", flaky.Calls(), budget.Spent())
	// Output:
	// "4" cached=false cost=$0.000016 err=<nil>
	// "4" cached=true cost=$0.000000 err=<nil>
	// provider calls: 3, spent: $0.000016
}

// Prices are per million tokens; cached input is billed once, at its own rate.
func ExamplePriceTable_Lookup() {
	p, ok := providers.DefaultPrices().Lookup("openai", "gpt-4o-mini-2024-07-18")
	fmt.Println(ok, p.InputPerM, p.OutputPerM)
	fmt.Printf("$%.4f\n", p.Cost(providers.Usage{InputTokens: 10_000, CachedInputTokens: 8_000, OutputTokens: 1_000}))
	_, ok = providers.DefaultPrices().Lookup("vllm", "Qwen/Qwen2.5-7B-Instruct")
	fmt.Println("local is free:", ok)
	// Output:
	// true 0.15 0.6
	// $0.0015
	// local is free: true
}

// A Ledger outside the cache counts what was paid and what was served free.
func ExampleLedger() {
	var ledger providers.Ledger
	c := providers.Chain(mock.Echo(mock.WithTokenCounts()), ledger.Middleware(), providers.Cache(providers.NewMemoryCache()))
	for i := 0; i < 3; i++ {
		c.Complete(context.Background(), providers.Request{Model: "m", Messages: []providers.Message{{Role: "user", Content: "same prompt"}}})
	}
	for _, e := range ledger.Snapshot() {
		fmt.Printf("%s/%s calls=%d cached=%d paid tokens=%d\n", e.Provider, e.Model, e.Calls, e.CachedCalls, e.Usage.Total())
	}
	// Output: mock/m calls=3 cached=2 paid tokens=6
}
