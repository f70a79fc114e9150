package recovery

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/providers"
)

// gatedLimiter stands in for providers.RateLimit: each call waits for a
// tick before it is let through.
func gatedLimiter(tick <-chan struct{}) providers.Middleware {
	return func(next providers.Completer) providers.Completer {
		return providers.CompleterFunc(func(ctx context.Context, req providers.Request) (providers.Completion, error) {
			select {
			case <-tick:
			case <-ctx.Done():
				return providers.Completion{}, ctx.Err()
			}
			return next.Complete(ctx, req)
		})
	}
}

func (q *rateQueue) waiting() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := 0
	for _, w := range q.queue {
		n += len(w)
	}
	return n
}

// The calls waiting for the rate limiter are let in by the pipeline's
// call priority, first come first served within one: a weak try that
// takes a slot after many continuations is sent before them, not a
// limiter's queue later.
func TestTheRateQueueLetsCallsIntoTheLimiterByPriority(t *testing.T) {
	q := &rateQueue{size: 1}
	tick := make(chan struct{})
	var mu sync.Mutex
	var order []string
	c := q.limit(gatedLimiter(tick))(providers.CompleterFunc(func(ctx context.Context, req providers.Request) (providers.Completion, error) {
		mu.Lock()
		order = append(order, req.Model)
		mu.Unlock()
		return providers.Completion{}, nil
	}))
	var wg sync.WaitGroup
	send := func(name string, prio int) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.Complete(withCallPriority(context.Background(), prio), providers.Request{Model: name})
			assert.NoError(t, err)
		}()
	}
	send("first", prioContinue) // inside the limiter, waiting for its tick
	require.Eventually(t, func() bool {
		q.mu.Lock()
		defer q.mu.Unlock()
		return q.n == 1
	}, 5*time.Second, time.Millisecond, "the first call holds the limiter's one place before the others come")
	for i, s := range []struct {
		name string
		prio int
	}{{"cont1", prioContinue}, {"strong", prioStrong}, {"cont2", prioContinue}, {"try", prioPerturb}, {"weak", prioWeak}} {
		send(s.name, s.prio)
		require.Eventually(t, func() bool { return q.waiting() == i+1 }, 5*time.Second, time.Millisecond)
	}
	for i := range 6 {
		tick <- struct{}{}
		// The next call is let into the limiter once this one has passed
		// it: wait for this one's answer, so the recorded order is the
		// limiter's and not the goroutines' race to the append.
		require.Eventually(t, func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(order) == i+1
		}, 5*time.Second, time.Millisecond)
	}
	wg.Wait()
	assert.Equal(t, []string{"first", "try", "weak", "strong", "cont1", "cont2"}, order)
	assert.Zero(t, q.n, "every place given back")
}

// A call gives its place back once the limiter lets it through, so the
// queue orders the calls without bounding the calls in flight: five calls
// of a queue of one are answered together.
func TestTheRateQueueDoesNotBoundTheCallsInFlight(t *testing.T) {
	q := &rateQueue{size: 1}
	pass := func(next providers.Completer) providers.Completer { return next }
	var arrived sync.WaitGroup
	arrived.Add(5)
	all := make(chan struct{})
	go func() { arrived.Wait(); close(all) }()
	c := q.limit(pass)(providers.CompleterFunc(func(ctx context.Context, req providers.Request) (providers.Completion, error) {
		arrived.Done()
		select {
		case <-all:
			return providers.Completion{}, nil
		case <-time.After(5 * time.Second):
			return providers.Completion{}, context.DeadlineExceeded
		}
	}))
	var wg sync.WaitGroup
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.Complete(context.Background(), providers.Request{})
			assert.NoError(t, err, "the calls were held to the queue's size")
		}()
	}
	wg.Wait()
	assert.Zero(t, q.n)

	// A caller that gives up while queued leaves no place taken.
	blocked := q.limit(gatedLimiter(make(chan struct{})))(providers.CompleterFunc(func(ctx context.Context, req providers.Request) (providers.Completion, error) {
		return providers.Completion{}, nil
	}))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	var errs sync.WaitGroup
	for range 3 {
		errs.Add(1)
		go func() {
			defer errs.Done()
			_, err := blocked.Complete(ctx, providers.Request{})
			assert.ErrorIs(t, err, context.DeadlineExceeded)
		}()
	}
	errs.Wait()
	assert.Zero(t, q.n)
	assert.Zero(t, q.waiting())
}

func TestTheRateQueueHoldsAQuarterSecondOfTheRate(t *testing.T) {
	assert.Equal(t, rateQueueMin, newRateQueue(60).size)
	assert.Equal(t, 25, newRateQueue(6000).size, "100/s × 0.25 s")
	assert.Equal(t, 84, newRateQueue(20000).size)
}

// The pipeline marks each call with its priority, and the mark reaches
// the model through the middleware (the rate queue reads it there): the
// weak model's tries as the first, its straight shots next, then the
// strong model's, the continuations last.
func TestThePipelineMarksEachCallWithItsPriority(t *testing.T) {
	cfg := simConfig(t, t.TempDir(), 12, 1)
	cfg.Strategies = []string{StrategyWeak, StrategyOnPolicy}
	cfg.Concurrency, cfg.RPM = 0, 600000
	var mu sync.Mutex
	seen := map[string]map[int]int{} // what → priority → calls
	mark := func(next providers.Completer, model string) providers.Completer {
		return providers.CompleterFunc(func(ctx context.Context, req providers.Request) (providers.Completion, error) {
			what := model + " straight shot"
			switch {
			case req.Prefill != "":
				what = "continuation"
			case model == "weak" && req.Sample >= cfg.WeakSamples:
				what = "weak try"
			}
			mu.Lock()
			if seen[what] == nil {
				seen[what] = map[int]int{}
			}
			seen[what][callPriority(ctx)]++
			mu.Unlock()
			return next.Complete(ctx, req)
		})
	}
	require.NoError(t, cfg.defaults())
	cfg.Strong, cfg.Weak = mark(cfg.Strong, "strong"), mark(cfg.Weak, "weak")
	_, err := Run(context.Background(), cfg)
	require.NoError(t, err)
	want := map[string]int{"weak try": prioPerturb, "weak straight shot": prioWeak, "strong straight shot": prioStrong,
		"continuation": prioContinue}
	for what, prio := range want {
		require.NotEmpty(t, seen[what], what)
		assert.Len(t, seen[what], 1, "%s: one priority, %d, got %v", what, prio, seen[what])
		assert.Positive(t, seen[what][prio], "%s: priority %d, got %v", what, prio, seen[what])
	}
}
