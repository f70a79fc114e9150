package recovery

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
	"github.com/rebound-lab/rebound/providers/openai"
)

func TestAutoConcurrencyLimitFollowsRateTimesLatency(t *testing.T) {
	a := NewAutoConcurrency(6000)
	assert.Equal(t, 200, a.Limit(), "2 × 100/s × 1 s until a call is seen")
	a.Observe(200 * time.Millisecond)
	assert.Equal(t, 40, a.Limit(), "2 × 100/s × 0.2 s")
	for range 100 {
		a.Observe(30 * time.Second)
	}
	assert.Equal(t, min(a.Max(), 6000), a.Limit(), "2 × 100/s × 30 s, no fixed cap below what memory allows")
	a20k := NewAutoConcurrency(20000)
	a20k.Observe(3 * time.Second)
	assert.Equal(t, min(a20k.Max(), 2000), a20k.Limit(), "20,000 a minute at 3 s needs 1,000 in flight, twice that allowed")
	assert.Equal(t, autoMaxUnknown, autoMax(math.MaxInt64), "no memory limit")
	assert.Equal(t, 4096, autoMax(1<<30), "a quarter of 1 GiB at 64 KiB an item")
	assert.Equal(t, DefaultConcurrency, autoMax(1<<20), "never below the default")
	b := NewAutoConcurrency(60)
	b.Observe(time.Second)
	assert.Equal(t, DefaultConcurrency, b.Limit(), "never below the default")
}

// Before any latency is observed the limit is the rate times the time
// since the first call was sent (at least 1 s), twice: a call unanswered
// for t seconds takes at least t, so the rate limiter, not this limit,
// sets the pace from the start; the first observation replaces it.
func TestAutoConcurrencyStartsFromTheRateAndTheTimeWaited(t *testing.T) {
	for _, c := range []struct{ rpm, at0, at5s, after int }{
		{1200, 40, 200, 120},     // 20/s: 2 × 20 × 1 s, 2 × 20 × 5 s, then 2 × 20 × 3 s
		{6000, 200, 1000, 600},   // 100/s
		{20000, 667, 3334, 2000}, // 333.3/s: Little's law needs 1,000 at 3 s
		{60, 8, 10, 8},           // 1/s: never below DefaultConcurrency
	} {
		clock := time.Unix(1000, 0)
		a := NewAutoConcurrency(c.rpm)
		a.now = func() time.Time { return clock }
		assert.Equal(t, c.at0, a.Limit(), "rpm %d before any call", c.rpm)
		f := providers.Chain(providers.CompleterFunc(func(ctx context.Context, req providers.Request) (providers.Completion, error) {
			return providers.Completion{}, errors.New("fails") // not observed: failures have no latency
		}), a.Middleware())
		_, _ = f.Complete(context.Background(), providers.Request{})
		assert.Equal(t, c.at0, a.Limit(), "rpm %d as the first call is sent", c.rpm)
		clock = clock.Add(500 * time.Millisecond)
		assert.Equal(t, c.at0, a.Limit(), "rpm %d at 0.5 s: at least 1 s assumed", c.rpm)
		clock = clock.Add(4500 * time.Millisecond)
		assert.Equal(t, min(a.Max(), c.at5s), a.Limit(), "rpm %d 5 s after the first call, none answered", c.rpm)
		a.Observe(3 * time.Second)
		assert.Equal(t, min(a.Max(), c.after), a.Limit(), "rpm %d after a 3 s answer", c.rpm)
		clock = clock.Add(time.Hour)
		assert.Equal(t, min(a.Max(), c.after), a.Limit(), "rpm %d: the observed latency, not the time since the start", c.rpm)
	}
	a := NewAutoConcurrency(20000)
	clock := time.Unix(1000, 0)
	a.now = func() time.Time { return clock }
	a.started()
	clock = clock.Add(24 * time.Hour)
	assert.Equal(t, a.Max(), a.Limit(), "memory bounds the start too")
}

// inFlight counts concurrent calls and answers after a delay.
type inFlight struct {
	delay    time.Duration
	now, max atomic.Int64
}

func (f *inFlight) Complete(ctx context.Context, req providers.Request) (providers.Completion, error) {
	n := f.now.Add(1)
	defer f.now.Add(-1)
	for {
		m := f.max.Load()
		if n <= m || f.max.CompareAndSwap(m, n) {
			break
		}
	}
	select {
	case <-time.After(f.delay):
	case <-ctx.Done():
		return providers.Completion{}, ctx.Err()
	}
	return providers.Completion{Text: "ok"}, nil
}

func TestExecWithAutoNeverRunsMoreItemsThanTheLimitAndGrowsWithLatency(t *testing.T) {
	a := NewAutoConcurrency(60000) // 1000 a second
	f := &inFlight{delay: 20 * time.Millisecond}
	c := providers.Chain(f, a.Middleware())
	e := Exec{Auto: a}
	var mu sync.Mutex
	var over []int
	var items atomic.Int64
	peak := a.Limit()
	err := e.fanOut(context.Background(), 400, func(ctx context.Context, i int) error {
		n := int(items.Add(1))
		defer items.Add(-1)
		// The limit follows the observed latency, which a loaded machine
		// stretches now and then (a sleep that overshoots), so it may
		// shrink again while items admitted under a larger limit are still
		// running: compare with the largest limit seen so far.
		mu.Lock()
		peak = max(peak, a.Limit())
		if n > peak {
			over = append(over, n)
		}
		mu.Unlock()
		_, err := c.Complete(ctx, providers.Request{})
		return err
	})
	require.NoError(t, err)
	assert.Empty(t, over, "items in flight stayed within the limit")
	assert.Greater(t, f.max.Load(), int64(DefaultConcurrency), "the limit grew past the default: 2 × 1000/s × 20 ms = 40")
	assert.LessOrEqual(t, f.max.Load(), int64(a.Max()))
}

func TestExecWithAutoStopsOnAFatalItemAndOnCancellation(t *testing.T) {
	e := Exec{Auto: NewAutoConcurrency(6000)}
	var started atomic.Int64
	err := e.fanOut(context.Background(), 1000, func(ctx context.Context, i int) error {
		started.Add(1)
		if i == 3 {
			return context.Canceled
		}
		<-ctx.Done()
		return nil
	})
	require.ErrorIs(t, err, context.Canceled)
	// The first Limit() items (200: 100/s × 1 s, twice) start at once,
	// before item 3 fails; none after.
	assert.LessOrEqual(t, started.Load(), int64(e.Auto.Limit()+1), "no item starts after the failure")

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(10*time.Millisecond, cancel)
	err = e.fanOut(ctx, 1000, func(ctx context.Context, i int) error {
		<-ctx.Done()
		return nil
	})
	require.ErrorIs(t, err, context.Canceled)
}

func TestRunWithRPMAndNoConcurrencySizesItselfAutomatically(t *testing.T) {
	cfg := simConfig(t, t.TempDir(), 20, 1)
	f := &inFlight{delay: 30 * time.Millisecond}
	strong := cfg.Strong
	cfg.Strong = providers.CompleterFunc(func(ctx context.Context, req providers.Request) (providers.Completion, error) {
		if _, err := f.Complete(ctx, req); err != nil {
			return providers.Completion{}, err
		}
		return strong.Complete(ctx, req)
	})
	cfg.Concurrency, cfg.RPM = 0, 60000
	_, err := Run(context.Background(), cfg)
	require.NoError(t, err)
	assert.Greater(t, f.max.Load(), int64(DefaultConcurrency), "more than the fixed default in flight")
}

// Models on two endpoints each get cfg.RPM (wrap gives each its own
// limiter), so automatic concurrency is sized for both rates.
func TestAutoConcurrencyIsSizedForEveryRateLimitTheRunHas(t *testing.T) {
	open := func(url string) providers.Completer {
		c, err := openai.New("m", openai.Options{Preset: "openai-compatible", APIKey: "k", BaseURL: url})
		require.NoError(t, err)
		return c
	}
	cfg := simConfig(t, t.TempDir(), 2, 1)
	assert.Equal(t, 2, cfg.rateLimiters(), "the two simulators are two endpoints (sim://strong…, sim://weak…)")
	cfg.Strong, cfg.Weak = open("http://a.invalid/v1"), open("http://a.invalid/v1")
	assert.Equal(t, 1, cfg.rateLimiters(), "one base URL")
	cfg.Weak = open("http://b.invalid/v1")
	assert.Equal(t, 2, cfg.rateLimiters(), "two base URLs, a limit each")
	cfg.Weak = providers.CompleterFunc(func(ctx context.Context, req providers.Request) (providers.Completion, error) {
		return providers.Completion{}, nil
	})
	assert.Equal(t, 2, cfg.rateLimiters(), "an unknown endpoint has its own limiter")
	cfg.NoWeak = true
	assert.Equal(t, 1, cfg.rateLimiters(), "no weak model")
}
