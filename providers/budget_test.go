package providers_test

import (
	"context"
	"errors"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/providers"
	"github.com/rebound-lab/rebound/providers/mock"
)

// pricedMock bills like a paid provider "acme" at $1/M input, $10/M output,
// answering with usage tokens of output.
func pricedMock(output int, opts ...mock.Option) *mock.Completer {
	return mock.New(func(ctx context.Context, req providers.Request) (providers.Completion, error) {
		return providers.Completion{Text: "x", Usage: providers.Usage{InputTokens: providers.EstimateInputTokens(req), OutputTokens: output}}, nil
	}, append([]mock.Option{mock.WithEndpoint(providers.Endpoint{Provider: "acme"})}, opts...)...)
}

func acmePrices() *providers.PriceTable {
	t := providers.NewPriceTable()
	t.Set("acme", "m", providers.Price{InputPerM: 1, OutputPerM: 10})
	return t
}

func TestBudgetNeverExceedsTheCapUnder64Goroutines(t *testing.T) {
	for _, tc := range []struct {
		name   string
		output int // actual output tokens per call; MaxTokens is 1000
	}{
		{"calls cost about their whole reservation", 1000},
		{"calls cost a fraction of their reservation", 137},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const limit = 5.0
			b := providers.NewBudget(providers.BudgetConfig{LimitUSD: limit, Prices: acmePrices()})
			prices := acmePrices()
			price, _ := prices.Lookup("acme", "m")
			m := pricedMock(tc.output, mock.WithPrice(price), mock.WithLatency(100*time.Microsecond))
			c := b.Middleware()(m)
			req := ask("What is 6 times 7?")
			req.MaxTokens = 1000
			reservation, ok := b.Reservation("acme", req)
			require.True(t, ok)

			var (
				wg       sync.WaitGroup
				maxSeen  atomic.Uint64 // float64 bits of the highest spent+reserved observed
				paidSum  atomic.Int64  // micro-dollars actually billed by the mock
				refusals atomic.Int64
			)
			for g := 0; g < 64; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						got, err := c.Complete(context.Background(), req)
						st := b.State()
						committed := st.SpentUSD + st.ReservedUSD
						for {
							old := maxSeen.Load()
							if committed <= math.Float64frombits(old) || maxSeen.CompareAndSwap(old, math.Float64bits(committed)) {
								break
							}
						}
						if errors.Is(err, providers.ErrBudgetExceeded) {
							refusals.Add(1)
							return
						}
						if !assert.NoError(t, err) {
							return
						}
						paidSum.Add(int64(math.Round(got.CostUSD * 1e6)))
					}
				}()
			}
			wg.Wait()
			st := b.State()
			assert.LessOrEqual(t, st.SpentUSD, limit+1e-9, "spent must never exceed the cap")
			assert.LessOrEqual(t, math.Float64frombits(maxSeen.Load()), limit+1e-9, "spent+reserved must never exceed the cap")
			assert.Greater(t, st.SpentUSD, limit-reservation, "spending stops within one reservation of the cap")
			assert.Zero(t, st.ReservedUSD)
			assert.EqualValues(t, 64, refusals.Load(), "every goroutine ends with a refusal")
			assert.InDelta(t, float64(paidSum.Load())/1e6, st.SpentUSD, 1e-4, "spent equals what the mock billed")
			assert.Equal(t, m.Calls(), st.Calls, "refused calls never reach the provider")
		})
	}
}

func TestBudgetReservesTheWorstCaseBeforeTheCall(t *testing.T) {
	b := providers.NewBudget(providers.BudgetConfig{LimitUSD: 1, Prices: acmePrices()})
	req := ask("hello")
	req.MaxTokens = 500
	var during providers.BudgetState
	m := mock.New(func(ctx context.Context, r providers.Request) (providers.Completion, error) {
		during = b.State()
		return providers.Completion{Usage: providers.Usage{InputTokens: 3, OutputTokens: 10}}, nil
	}, mock.WithEndpoint(providers.Endpoint{Provider: "acme"}))
	_, err := b.Middleware()(m).Complete(context.Background(), req)
	require.NoError(t, err)
	want := (float64(providers.WorstCaseInputTokens(req))*1 + 500*10) / 1e6
	assert.InDelta(t, want, during.ReservedUSD, 1e-12)
	after := b.State()
	assert.Zero(t, after.ReservedUSD)
	assert.InDelta(t, (3*1+10*10)/1e6, after.SpentUSD, 1e-12, "settled at the price applied to usage")
	assert.InDelta(t, 1-after.SpentUSD, b.Remaining(), 1e-12)
}

func TestBudgetRefusesACallThatCannotFit(t *testing.T) {
	b := providers.NewBudget(providers.BudgetConfig{LimitUSD: 0.001, Prices: acmePrices()})
	m := pricedMock(10)
	req := ask("q") // MaxTokens 0 → DefaultBudgetMaxTokens × $10/M = $0.16 > $0.001
	_, err := b.Middleware()(m).Complete(context.Background(), req)
	require.ErrorIs(t, err, providers.ErrBudgetExceeded)
	assert.Contains(t, err.Error(), "acme m")
	assert.Zero(t, m.Calls())
	assert.Equal(t, 1, b.State().Refused)
}

func TestBudgetRefusesUnpricedModelsUnlessAllowed(t *testing.T) {
	req := ask("q")
	req.Model = "unknown-model"
	m := pricedMock(10)
	_, err := providers.NewBudget(providers.BudgetConfig{LimitUSD: 100, Prices: acmePrices()}).Middleware()(m).Complete(context.Background(), req)
	require.ErrorIs(t, err, providers.ErrBudgetExceeded)
	assert.Contains(t, err.Error(), "no price")
	assert.Contains(t, err.Error(), "AllowUnpriced")
	assert.Zero(t, m.Calls())

	b := providers.NewBudget(providers.BudgetConfig{LimitUSD: 100, Prices: acmePrices(), AllowUnpriced: true})
	_, err = b.Middleware()(m).Complete(context.Background(), req)
	require.NoError(t, err)
	assert.Equal(t, 1, m.Calls())
	assert.Zero(t, b.Spent(), "an unpriced call without a reported cost spends nothing known")
}

func TestBudgetLetsFreeLocalProvidersThrough(t *testing.T) {
	b := providers.NewBudget(providers.BudgetConfig{LimitUSD: 0})
	_, err := b.Middleware()(mock.Echo()).Complete(context.Background(), ask("q"))
	require.NoError(t, err, "mock is free by declaration in DefaultPrices")
}

func TestBudgetWaitsForPendingReservationsThenProceeds(t *testing.T) {
	// Room for one reservation at a time: the second call must wait for the
	// first to settle (cheaply), then fit.
	b := providers.NewBudget(providers.BudgetConfig{LimitUSD: 0.015, Prices: acmePrices()})
	release := make(chan struct{})
	m := mock.New(func(ctx context.Context, r providers.Request) (providers.Completion, error) {
		if r.Sample == 0 {
			<-release
		}
		return providers.Completion{Usage: providers.Usage{OutputTokens: 1}}, nil
	}, mock.WithEndpoint(providers.Endpoint{Provider: "acme"}))
	c := b.Middleware()(m)
	req := ask("q")
	req.MaxTokens = 1000 // ≈ $0.01 reserved each
	first := make(chan error, 1)
	go func() { _, err := c.Complete(context.Background(), req); first <- err }()
	for b.Reserved() == 0 {
		time.Sleep(time.Millisecond)
	}
	second := make(chan error, 1)
	req2 := req
	req2.Sample = 1
	go func() { _, err := c.Complete(context.Background(), req2); second <- err }()
	select {
	case err := <-second:
		t.Fatalf("second call did not wait for the first reservation: %v", err)
	case <-time.After(20 * time.Millisecond):
	}
	close(release)
	require.NoError(t, <-first)
	require.NoError(t, <-second)
	assert.Equal(t, 2, m.Calls())
}

func TestBudgetWaitHonoursTheContext(t *testing.T) {
	b := providers.NewBudget(providers.BudgetConfig{LimitUSD: 0.015, Prices: acmePrices()})
	release := make(chan struct{})
	defer close(release)
	m := mock.New(func(ctx context.Context, r providers.Request) (providers.Completion, error) {
		<-release
		return providers.Completion{}, nil
	}, mock.WithEndpoint(providers.Endpoint{Provider: "acme"}))
	c := b.Middleware()(m)
	req := ask("q")
	req.MaxTokens = 1000
	go func() { _, _ = c.Complete(context.Background(), req) }()
	for b.Reserved() == 0 {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	_, err := c.Complete(ctx, req)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestBudgetSettlesFailedCallsAtZero(t *testing.T) {
	b := providers.NewBudget(providers.BudgetConfig{LimitUSD: 1, Prices: acmePrices()})
	m := mock.AlwaysFail(500, mock.WithEndpoint(providers.Endpoint{Provider: "acme"}))
	req := ask("q")
	req.Model = "m"
	_, err := b.Middleware()(m).Complete(context.Background(), req)
	require.Error(t, err)
	st := b.State()
	assert.Zero(t, st.SpentUSD)
	assert.Zero(t, st.ReservedUSD)
}
