package providers_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/providers"
	"github.com/rebound-lab/rebound/providers/mock"
)

// Rate-limit tests use short context deadlines: x/time/rate refuses at once a
// wait that would outlive the deadline, so "must wait" and "may go now" are
// observed without timing anything.

func shortCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	t.Cleanup(cancel)
	return ctx
}

func usageMock(total int) *mock.Completer {
	return mock.New(func(context.Context, providers.Request) (providers.Completion, error) {
		return providers.Completion{Usage: providers.Usage{InputTokens: 1, OutputTokens: total - 1}}, nil
	})
}

func TestRateLimitSpacesRequests(t *testing.T) {
	c := providers.RateLimit(60, 0)(mock.Echo()) // one a second
	_, err := c.Complete(shortCtx(t), ask("q"))
	require.NoError(t, err)
	_, err = c.Complete(shortCtx(t), ask("q"))
	assert.ErrorIs(t, err, context.DeadlineExceeded, "the second request must wait about a second")
}

func TestRateLimitAllowsABurstOfASecondsWorth(t *testing.T) {
	c := providers.RateLimit(600, 0)(mock.Echo()) // ten a second
	for i := 0; i < 10; i++ {
		_, err := c.Complete(shortCtx(t), ask("q"))
		require.NoError(t, err, "call %d", i+1)
	}
}

func TestRateLimitCreditsUnusedEstimatedTokens(t *testing.T) {
	req := ask("q")
	req.MaxTokens = 1000 // estimate ≈ 1000 of a 1200-token minute
	c := providers.RateLimit(0, 1200)(usageMock(5))
	for i := 0; i < 5; i++ {
		_, err := c.Complete(shortCtx(t), req)
		require.NoError(t, err, "call %d: the estimate was refunded, so the bucket is nearly full", i+1)
	}
}

func TestRateLimitWaitsWhenTokensWereUsed(t *testing.T) {
	req := ask("q")
	req.MaxTokens = 1000
	c := providers.RateLimit(0, 1200)(usageMock(1000))
	_, err := c.Complete(shortCtx(t), req)
	require.NoError(t, err)
	_, err = c.Complete(shortCtx(t), req)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestRateLimitChargesUsageBeyondTheEstimate(t *testing.T) {
	req := ask("q")
	req.MaxTokens = 10 // estimated ≈ 11 tokens, but the call uses 1195 of 1200
	c := providers.RateLimit(0, 1200)(usageMock(1195))
	_, err := c.Complete(shortCtx(t), req)
	require.NoError(t, err)
	_, err = c.Complete(shortCtx(t), req)
	assert.ErrorIs(t, err, context.DeadlineExceeded, "the overrun was charged to the next call")
}

func TestRateLimitCacheHitsUseNoTokens(t *testing.T) {
	req := ask("q")
	req.MaxTokens = 1000
	hit := mock.New(func(context.Context, providers.Request) (providers.Completion, error) {
		return providers.Completion{Cached: true, Usage: providers.Usage{InputTokens: 1, OutputTokens: 999}}, nil
	})
	c := providers.RateLimit(0, 1200)(hit)
	for i := 0; i < 3; i++ {
		_, err := c.Complete(shortCtx(t), req)
		require.NoError(t, err)
	}
}

func TestRateLimitReturnsCtxErrWhenCancelled(t *testing.T) {
	c := providers.RateLimit(1, 0)(mock.Echo())
	_, err := c.Complete(context.Background(), ask("q"))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = c.Complete(ctx, ask("q"))
	assert.ErrorIs(t, err, context.Canceled)
}

func TestRateLimitZeroMeansUnlimited(t *testing.T) {
	m := mock.Echo()
	assert.Same(t, m, providers.RateLimit(0, 0)(m))
}

func TestEstimateInputTokensIsAboutFourBytesPerToken(t *testing.T) {
	req := providers.Request{Messages: []providers.Message{{Role: "user", Content: "0123456789012345678901234567890123456789"}}}
	assert.Equal(t, (40+4+3)/4+4, providers.EstimateInputTokens(req))
	assert.Greater(t, providers.WorstCaseInputTokens(req), 40)
}

func TestConcurrencyCapsCallsInFlight(t *testing.T) {
	var inFlight, peak atomic.Int32
	m := mock.New(func(ctx context.Context, req providers.Request) (providers.Completion, error) {
		n := inFlight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(2 * time.Millisecond)
		inFlight.Add(-1)
		return providers.Completion{}, nil
	})
	c := providers.Concurrency(3)(m)
	var wg sync.WaitGroup
	for i := 0; i < 24; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.Complete(context.Background(), ask("q"))
			assert.NoError(t, err)
		}()
	}
	wg.Wait()
	assert.LessOrEqual(t, peak.Load(), int32(3))
	assert.Positive(t, peak.Load())
	assert.Equal(t, 24, m.Calls())
}

func TestConcurrencyWaitHonoursTheContext(t *testing.T) {
	release := make(chan struct{})
	m := mock.New(func(ctx context.Context, req providers.Request) (providers.Completion, error) {
		<-release
		return providers.Completion{}, nil
	})
	c := providers.Concurrency(1)(m)
	done := make(chan struct{})
	go func() { _, _ = c.Complete(context.Background(), ask("q")); close(done) }()
	for m.Calls() == 0 {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.Complete(ctx, ask("q"))
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, 1, m.Calls(), "the waiting call never reached the provider")
	close(release)
	<-done
}

func TestConcurrencySlotsAreSharedByEveryWrappedCompleter(t *testing.T) {
	release := make(chan struct{})
	block := func(ctx context.Context, req providers.Request) (providers.Completion, error) {
		<-release
		return providers.Completion{}, nil
	}
	a, b := mock.New(block), mock.New(block)
	limit := providers.Concurrency(1)
	ca, cb := limit(a), limit(b)
	done := make(chan struct{})
	go func() { _, _ = ca.Complete(context.Background(), ask("q")); close(done) }()
	for a.Calls() == 0 {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := cb.Complete(ctx, ask("q"))
	assert.ErrorIs(t, err, context.DeadlineExceeded, "b waits for a's slot")
	assert.Zero(t, b.Calls())
	close(release)
	<-done
}
