package providers_test

import (
	"context"
	"testing"

	"github.com/rebound-lab/rebound/providers"
	"github.com/rebound-lab/rebound/providers/mock"
)

// BenchmarkMiddleware measures the per-call overhead of the usual
// middleware stack over the mock: compare "stack" with "bare" (target: the
// difference ≤ 20 µs per call).
func BenchmarkMiddleware(b *testing.B) {
	req := ask("What is 6 times 7? Think step by step.")
	req.MaxTokens = 512
	stack := func(m providers.Completer) providers.Completer {
		var l providers.Ledger
		return providers.Chain(m,
			l.Middleware(),
			providers.Retry(providers.RetryPolicy{}),
			providers.RateLimit(1e9, 1e12),
			providers.Concurrency(64),
		)
	}
	full := func(m providers.Completer) providers.Completer {
		var l providers.Ledger
		prices := providers.DefaultPrices()
		prices.Set("mock", "m", providers.Price{InputPerM: 1, OutputPerM: 1}) // make the budget work
		budget := providers.NewBudget(providers.BudgetConfig{LimitUSD: 1e12, Prices: prices})
		return providers.Chain(m,
			l.Middleware(),
			budget.Middleware(),
			providers.Pricing(prices),
			providers.Retry(providers.RetryPolicy{}),
			providers.RateLimit(1e9, 1e12),
			providers.Concurrency(64),
		)
	}
	for _, bc := range []struct {
		name string
		wrap func(providers.Completer) providers.Completer
	}{
		{"bare", func(m providers.Completer) providers.Completer { return m }},
		{"stack=ledger+retry+ratelimit+concurrency", stack},
		{"stack+budget+pricing", full},
	} {
		b.Run(bc.name, func(b *testing.B) {
			c := bc.wrap(mock.Echo(mock.WithTokenCounts()))
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Complete(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(bc.name+"/parallel", func(b *testing.B) {
			c := bc.wrap(mock.Echo(mock.WithTokenCounts()))
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := c.Complete(context.Background(), req); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkCacheKey measures hashing a typical request.
func BenchmarkCacheKey(b *testing.B) {
	ep := providers.Endpoint{Provider: "openai", BaseURL: "https://api.openai.com/v1"}
	req := baseRequest()
	b.ReportAllocs()
	for b.Loop() {
		providers.CacheKey(ep, req)
	}
}
