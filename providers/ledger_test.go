package providers_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/providers"
	"github.com/rebound-lab/rebound/providers/mock"
)

func TestLedgerTotalsPerProviderAndModel(t *testing.T) {
	l := providers.NewLedger()
	oa := providers.Endpoint{Provider: "openai"}
	u := providers.Usage{InputTokens: 10, OutputTokens: 5}
	l.Record(oa, providers.Request{Model: "gpt-4o"}, providers.Completion{Usage: u, CostUSD: 0.5, CostKnown: true}, nil)
	l.Record(oa, providers.Request{Model: "gpt-4o"}, providers.Completion{Usage: u, Cached: true, CostKnown: true}, nil)
	l.Record(oa, providers.Request{Model: "gpt-4o"}, providers.Completion{}, mock.APIError(500, 0))
	l.Record(oa, providers.Request{Model: "gpt-4o-mini"}, providers.Completion{Usage: u}, nil)
	l.Record(providers.Endpoint{Provider: "anthropic"}, providers.Request{Model: "claude"}, providers.Completion{Provider: "anthropic", Usage: u, CostUSD: 2, CostKnown: true}, nil)

	snap := l.Snapshot()
	require.Len(t, snap, 3)
	assert.Equal(t, []string{"anthropic/claude", "openai/gpt-4o", "openai/gpt-4o-mini"},
		[]string{snap[0].Provider + "/" + snap[0].Model, snap[1].Provider + "/" + snap[1].Model, snap[2].Provider + "/" + snap[2].Model})
	g := snap[1]
	assert.Equal(t, 2, g.Calls)
	assert.Equal(t, 1, g.CachedCalls)
	assert.Equal(t, 1, g.Errors)
	assert.Equal(t, u, g.Usage, "cached tokens are not paid tokens")
	assert.Equal(t, u, g.CachedUsage)
	assert.InDelta(t, 0.5, g.CostUSD, 1e-12)
	assert.Equal(t, 1, snap[2].UnpricedCalls)

	tot := l.Total()
	assert.Equal(t, 4, tot.Calls)
	assert.Equal(t, 1, tot.Errors)
	assert.InDelta(t, 2.5, tot.CostUSD, 1e-12)
	assert.Equal(t, 45, tot.Usage.Total(), "three paid calls of 15 tokens")
}

func TestLedgerMiddlewareRecordsConcurrentCalls(t *testing.T) {
	var l providers.Ledger // the zero value is ready
	c := providers.Chain(mock.Echo(mock.WithTokenCounts(), mock.WithPrice(providers.Price{InputPerM: 1e6, OutputPerM: 1e6})), l.Middleware())
	var wg sync.WaitGroup
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = c.Complete(context.Background(), ask("abcd")) // 1 in + 1 out token at $1 each
		}()
	}
	wg.Wait()
	tot := l.Total()
	assert.Equal(t, 100, tot.Calls)
	assert.Equal(t, providers.Usage{InputTokens: 100, OutputTokens: 100}, tot.Usage)
	assert.InDelta(t, 200, tot.CostUSD, 1e-9)
	assert.Equal(t, "mock", l.Snapshot()[0].Provider)
}

func TestLedgerOutsideCacheCountsHits(t *testing.T) {
	var l providers.Ledger
	c := providers.Chain(mock.Echo(), l.Middleware(), providers.Cache(providers.NewMemoryCache()))
	for i := 0; i < 3; i++ {
		_, err := c.Complete(context.Background(), ask("q"))
		require.NoError(t, err)
	}
	tot := l.Total()
	assert.Equal(t, 3, tot.Calls)
	assert.Equal(t, 2, tot.CachedCalls)
}

func TestPricingFillsUnknownCosts(t *testing.T) {
	prices := providers.NewPriceTable()
	prices.Set("acme", "m", providers.Price{InputPerM: 1, CachedInputPerM: 0.5, OutputPerM: 2})
	u := providers.Usage{InputTokens: 1_000_000, CachedInputTokens: 500_000, OutputTokens: 1_000_000}
	for _, tc := range []struct {
		name      string
		in        providers.Completion
		req       providers.Request
		wantCost  float64
		wantKnown bool
	}{
		{"priced from the table", providers.Completion{Usage: u}, providers.Request{Model: "m"}, 0.5 + 0.25 + 2, true},
		{"dated model answered", providers.Completion{Model: "m-2025-01-01", Usage: u}, providers.Request{Model: "alias"}, 2.75, true},
		{"adapter cost kept", providers.Completion{Usage: u, CostUSD: 9, CostKnown: true}, providers.Request{Model: "m"}, 9, true},
		{"cache hit is free", providers.Completion{Usage: u, Cached: true}, providers.Request{Model: "m"}, 0, true},
		{"unknown model stays unknown", providers.Completion{Usage: u}, providers.Request{Model: "other"}, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			m := mock.New(func(context.Context, providers.Request) (providers.Completion, error) { return in, nil },
				mock.WithEndpoint(providers.Endpoint{Provider: "acme"}))
			got, err := providers.Pricing(prices)(m).Complete(context.Background(), tc.req)
			require.NoError(t, err)
			assert.Equal(t, tc.wantKnown, got.CostKnown)
			assert.InDelta(t, tc.wantCost, got.CostUSD, 1e-9)
		})
	}
}
