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

func baseRequest() providers.Request {
	return providers.Request{
		Model:       "gpt-4o-mini",
		Messages:    []providers.Message{{Role: "system", Content: "Solve."}, {Role: "user", Content: "2+2?"}},
		Prefill:     "Step 1:",
		Temperature: providers.Float(0.7),
		TopP:        providers.Float(0.9),
		MaxTokens:   256,
		Stop:        []string{"\n\n"},
		Seed:        providers.Int64(1),
		Sample:      0,
		Extra:       map[string]any{"reasoning_effort": "low"},
	}
}

func TestCacheKeyDiffersByEveryField(t *testing.T) {
	ep := providers.Endpoint{Provider: "openai", BaseURL: "https://api.openai.com/v1"}
	base := providers.CacheKey(ep, baseRequest())
	for _, tc := range []struct {
		name   string
		ep     providers.Endpoint
		change func(r *providers.Request)
	}{
		{"provider", providers.Endpoint{Provider: "together", BaseURL: ep.BaseURL}, nil},
		{"base URL", providers.Endpoint{Provider: "openai", BaseURL: "http://localhost:8000/v1"}, nil},
		{"model", ep, func(r *providers.Request) { r.Model = "gpt-4o" }},
		{"message content", ep, func(r *providers.Request) { r.Messages[1].Content = "2+3?" }},
		{"message role", ep, func(r *providers.Request) { r.Messages[0].Role = "user" }},
		{"an extra message", ep, func(r *providers.Request) {
			r.Messages = append(r.Messages, providers.Message{Role: "user", Content: ""})
		}},
		{"message boundaries", ep, func(r *providers.Request) {
			r.Messages = []providers.Message{{Role: "system", Content: "Solve.2+2?"}, {Role: "user", Content: ""}}
		}},
		{"prefill", ep, func(r *providers.Request) { r.Prefill = "Step 1: " }},
		{"no prefill", ep, func(r *providers.Request) { r.Prefill = "" }},
		{"prefill method", ep, func(r *providers.Request) { r.PrefillMethod = providers.PrefillInstructed }},
		{"temperature", ep, func(r *providers.Request) { r.Temperature = providers.Float(0.8) }},
		{"temperature zero", ep, func(r *providers.Request) { r.Temperature = providers.Float(0) }},
		{"temperature unset", ep, func(r *providers.Request) { r.Temperature = nil }},
		{"top_p", ep, func(r *providers.Request) { r.TopP = providers.Float(1) }},
		{"top_p unset", ep, func(r *providers.Request) { r.TopP = nil }},
		{"max tokens", ep, func(r *providers.Request) { r.MaxTokens = 257 }},
		{"stop", ep, func(r *providers.Request) { r.Stop = []string{"\n"} }},
		{"no stop", ep, func(r *providers.Request) { r.Stop = nil }},
		{"seed", ep, func(r *providers.Request) { r.Seed = providers.Int64(2) }},
		{"seed unset", ep, func(r *providers.Request) { r.Seed = nil }},
		{"sample", ep, func(r *providers.Request) { r.Sample = 1 }},
		{"extra value", ep, func(r *providers.Request) { r.Extra = map[string]any{"reasoning_effort": "high"} }},
		{"extra key", ep, func(r *providers.Request) { r.Extra = map[string]any{"reasoning": "low"} }},
		{"no extra", ep, func(r *providers.Request) { r.Extra = nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := baseRequest()
			if tc.change != nil {
				tc.change(&req)
			}
			assert.NotEqual(t, base, providers.CacheKey(tc.ep, req))
		})
	}
}

func TestCacheKeyIsStableAndCanonical(t *testing.T) {
	ep := providers.Endpoint{Provider: "openai"}
	a := baseRequest()
	a.Extra = map[string]any{"a": 1, "b": map[string]any{"x": 1, "y": 2}, "c": []int{1, 2}}
	b := baseRequest()
	b.Extra = map[string]any{"c": []int{1, 2}, "b": map[string]any{"y": 2, "x": 1}, "a": 1}
	assert.Equal(t, providers.CacheKey(ep, a), providers.CacheKey(ep, b), "map order does not matter")
	assert.Equal(t, providers.CacheKey(ep, a), providers.CacheKey(ep, a))
	assert.Regexp(t, `^v1:[0-9a-f]{64}$`, providers.CacheKey(ep, a))

	empty := baseRequest()
	empty.Stop, empty.Extra = []string{}, map[string]any{}
	none := baseRequest()
	none.Stop, none.Extra = nil, nil
	assert.Equal(t, providers.CacheKey(ep, none), providers.CacheKey(ep, empty), "empty and nil send the same request")
}

func TestCacheKeyOfUnencodableRequestsIsStillStableAndDistinct(t *testing.T) {
	ep := providers.Endpoint{Provider: "openai"}
	a := baseRequest()
	a.Temperature = providers.Float(math.NaN())
	b := baseRequest()
	b.Temperature = providers.Float(math.NaN())
	b.Sample = 1
	assert.Equal(t, providers.CacheKey(ep, a), providers.CacheKey(ep, a))
	assert.NotEqual(t, providers.CacheKey(ep, a), providers.CacheKey(ep, b))
	c := baseRequest()
	c.Extra = map[string]any{"f": func() {}}
	assert.NotEqual(t, providers.CacheKey(ep, c), providers.CacheKey(ep, baseRequest()))
}

func TestCacheHitIsFreeInstantAndMarked(t *testing.T) {
	m := mock.Echo(mock.WithTokenCounts(), mock.WithPrice(providers.Price{InputPerM: 1, OutputPerM: 1}))
	store := providers.NewMemoryCache()
	c := providers.Cache(store)(m)
	first, err := c.Complete(context.Background(), ask("hello"))
	require.NoError(t, err)
	assert.False(t, first.Cached)
	assert.Positive(t, first.CostUSD)

	again, err := c.Complete(context.Background(), ask("hello"))
	require.NoError(t, err)
	assert.Equal(t, 1, m.Calls(), "the hit did not reach the provider")
	assert.True(t, again.Cached)
	assert.True(t, again.CostKnown)
	assert.Zero(t, again.CostUSD)
	assert.Equal(t, first.CostUSD, again.SavedUSD, "the hit says what the cache saved")
	assert.Zero(t, first.SavedUSD)
	assert.Zero(t, again.Latency)
	assert.Equal(t, first.Text, again.Text)
	assert.Equal(t, first.Usage, again.Usage)
}

func TestCacheDistinguishesSamplesOfOnePrompt(t *testing.T) {
	m := mock.Echo()
	c := providers.Cache(providers.NewMemoryCache())(m)
	for s := 0; s < 3; s++ {
		req := ask("same")
		req.Sample = s
		got, err := c.Complete(context.Background(), req)
		require.NoError(t, err)
		assert.False(t, got.Cached, "sample %d", s)
	}
	assert.Equal(t, 3, m.Calls())
}

func TestCacheDoesNotStoreErrors(t *testing.T) {
	m := mock.FailThenSucceed(1, 500, providers.Completion{Text: "ok"})
	store := providers.NewMemoryCache()
	c := providers.Cache(store)(m)
	_, err := c.Complete(context.Background(), ask("q"))
	require.Error(t, err)
	assert.Zero(t, store.Len())
	got, err := c.Complete(context.Background(), ask("q"))
	require.NoError(t, err)
	assert.Equal(t, "ok", got.Text)
	assert.Equal(t, 1, store.Len())
}

func TestCacheSeparatesEndpoints(t *testing.T) {
	store := providers.NewMemoryCache()
	a := providers.Cache(store)(mock.Echo(mock.WithEndpoint(providers.Endpoint{Provider: "a"})))
	b := providers.Cache(store)(mock.Echo(mock.WithEndpoint(providers.Endpoint{Provider: "b"})))
	_, err := a.Complete(context.Background(), ask("q"))
	require.NoError(t, err)
	got, err := b.Complete(context.Background(), ask("q"))
	require.NoError(t, err)
	assert.False(t, got.Cached)
}

func TestCacheOutsideOtherMiddlewareStillSeesTheEndpoint(t *testing.T) {
	ep := providers.Endpoint{Provider: "openai", BaseURL: "http://x"}
	store := providers.NewMemoryCache()
	inner := mock.Echo(mock.WithEndpoint(ep))
	c := providers.Chain(inner, providers.Cache(store), providers.Retry(quick), providers.Concurrency(1))
	_, err := c.Complete(context.Background(), ask("q"))
	require.NoError(t, err)
	_, ok, err := store.Get(context.Background(), providers.CacheKey(ep, ask("q")))
	require.NoError(t, err)
	assert.True(t, ok)
}

type ctxCheckingStore struct {
	*providers.MemoryCache
	putErr error
}

func (s *ctxCheckingStore) Put(ctx context.Context, key string, req providers.Request, c providers.Completion) error {
	s.putErr = ctx.Err()
	return s.MemoryCache.Put(ctx, key, req, c)
}

func TestCacheKeepsAPaidAnswerWhenTheCallerCancelsAsItArrives(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	m := mock.New(func(context.Context, providers.Request) (providers.Completion, error) {
		cancel() // the caller gives up while the answer is on its way back
		return providers.Completion{Text: "paid"}, nil
	})
	store := &ctxCheckingStore{MemoryCache: providers.NewMemoryCache()}
	_, err := providers.Cache(store)(m).Complete(ctx, ask("q"))
	require.NoError(t, err)
	assert.NoError(t, store.putErr, "Put saw a cancelled context")
	assert.Equal(t, 1, store.Len())
}

type brokenStore struct{ getErr, putErr error }

func (b brokenStore) Get(context.Context, string) (providers.Completion, bool, error) {
	return providers.Completion{}, false, b.getErr
}
func (b brokenStore) Put(context.Context, string, providers.Request, providers.Completion) error {
	return b.putErr
}

func TestCacheStoreFailuresAreReported(t *testing.T) {
	boom := errors.New("disk full")
	m := mock.Echo()
	_, err := providers.Cache(brokenStore{getErr: boom})(m).Complete(context.Background(), ask("q"))
	assert.ErrorIs(t, err, boom)
	assert.Zero(t, m.Calls())

	got, err := providers.Cache(brokenStore{putErr: boom})(m).Complete(context.Background(), ask("paid"))
	assert.ErrorIs(t, err, boom)
	assert.Equal(t, "paid", got.Text, "the paid completion is returned with the error")
}

func FuzzCacheKey(f *testing.F) {
	f.Add("openai", "", "gpt-4o", "user", "2+2?", "Step 1:", 0.7, 256, "\n", int64(1), 0, "k", "v")
	f.Add("", "http://x", "", "", "", "", 0.0, 0, "", int64(0), -1, "", "")
	f.Fuzz(func(t *testing.T, provider, baseURL, model, role, content, prefill string, temp float64, maxTokens int, stop string, seed int64, sample int, ek, ev string) {
		ep := providers.Endpoint{Provider: provider, BaseURL: baseURL}
		req := providers.Request{
			Model: model, Messages: []providers.Message{{Role: role, Content: content}}, Prefill: prefill,
			Temperature: providers.Float(temp), MaxTokens: maxTokens, Stop: []string{stop}, Seed: providers.Int64(seed),
			Sample: sample, Extra: map[string]any{ek: ev},
		}
		k := providers.CacheKey(ep, req)
		if len(k) != len("v1:")+64 || k[:3] != "v1:" {
			t.Fatalf("malformed key %q", k)
		}
		if k2 := providers.CacheKey(ep, req); k2 != k {
			t.Fatalf("unstable key: %s vs %s", k, k2)
		}
		other := req
		other.Sample = sample + 1
		if providers.CacheKey(ep, other) == k {
			t.Fatal("samples collide")
		}
		other = req
		other.Temperature = nil
		if providers.CacheKey(ep, other) == k {
			t.Fatal("unset temperature collides with a set one")
		}
	})
}

func TestCacheSendsIdenticalRequestsInFlightOnce(t *testing.T) {
	release := make(chan struct{})
	m := mock.New(func(ctx context.Context, req providers.Request) (providers.Completion, error) {
		<-release
		return providers.Completion{Text: "once", CostUSD: 0.5, CostKnown: true}, nil
	})
	c := providers.Cache(providers.NewMemoryCache())(m)
	const callers = 6
	var wg sync.WaitGroup
	out := make([]providers.Completion, callers)
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			out[i], err = c.Complete(context.Background(), ask("same"))
			assert.NoError(t, err)
		}()
	}
	time.Sleep(50 * time.Millisecond) // let them all miss the empty cache first
	close(release)
	wg.Wait()
	assert.Equal(t, 1, m.Calls(), "one call for identical requests in flight together")
	paid := 0
	for _, o := range out {
		assert.Equal(t, "once", o.Text)
		if !o.Cached {
			paid++
			assert.Equal(t, 0.5, o.CostUSD)
		} else {
			assert.Zero(t, o.CostUSD)
			assert.Equal(t, 0.5, o.SavedUSD, "a waiter is a hit: it says what it saved")
		}
	}
	assert.Equal(t, 1, paid, "exactly one caller paid")
}

func TestCacheWaiterGivesUpWithoutStoppingTheSharedCall(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	m := mock.New(func(ctx context.Context, req providers.Request) (providers.Completion, error) {
		close(entered)
		<-release
		return providers.Completion{Text: "paid"}, nil
	})
	store := providers.NewMemoryCache()
	c := providers.Cache(store)(m)
	first := make(chan providers.Completion, 1)
	go func() {
		got, err := c.Complete(context.Background(), ask("q"))
		assert.NoError(t, err)
		first <- got
	}()
	<-entered
	ctx, cancel := context.WithCancel(context.Background())
	gaveUp := make(chan error, 1)
	go func() {
		_, err := c.Complete(ctx, ask("q"))
		gaveUp <- err
	}()
	time.Sleep(20 * time.Millisecond) // the waiter joins the call in flight
	cancel()
	require.ErrorIs(t, <-gaveUp, context.Canceled, "a waiter whose context ends returns at once")
	close(release)
	assert.Equal(t, "paid", (<-first).Text, "the call itself goes on and answers its caller")
	hit, err := c.Complete(context.Background(), ask("q"))
	require.NoError(t, err)
	assert.True(t, hit.Cached, "and its answer was stored")
	assert.Equal(t, 1, m.Calls())
}

// TestCacheWaitersCallThemselvesWhenTheSharedCallEnds: the first caller's
// call fails (its own failure, perhaps its context) or panics; a caller
// waiting on it is released and makes its own call instead of inheriting
// the failure.
func TestCacheWaitersCallThemselvesWhenTheSharedCallEnds(t *testing.T) {
	for _, tc := range []struct {
		name  string
		first func() (providers.Completion, error) // how the shared call ends
		// check reads what the first caller got (its error, or what it
		// recovered) from ended.
		check func(t *testing.T, ended any)
	}{
		{"fails", func() (providers.Completion, error) {
			return providers.Completion{}, errors.New("the first caller's own failure")
		}, func(t *testing.T, ended any) {
			err, _ := ended.(error)
			require.Error(t, err, "the caller whose call failed gets its error")
		}},
		{"panics", func() (providers.Completion, error) {
			panic("a completer's bug")
		}, func(t *testing.T, ended any) {
			assert.Equal(t, "a completer's bug", ended, "the panic goes up its own caller's stack")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			entered, release := make(chan struct{}), make(chan struct{})
			var calls atomic.Int32
			m := mock.New(func(ctx context.Context, req providers.Request) (providers.Completion, error) {
				if calls.Add(1) == 1 {
					close(entered)
					<-release
					return tc.first()
				}
				return providers.Completion{Text: "second try"}, nil
			})
			c := providers.Cache(providers.NewMemoryCache())(m)
			ended := make(chan any, 1)
			go func() {
				var err error
				defer func() {
					if r := recover(); r != nil {
						ended <- r
						return
					}
					ended <- err
				}()
				_, err = c.Complete(context.Background(), ask("q"))
			}()
			<-entered
			waiter := make(chan providers.Completion, 1)
			go func() {
				got, err := c.Complete(context.Background(), ask("q"))
				assert.NoError(t, err)
				waiter <- got
			}()
			time.Sleep(20 * time.Millisecond) // the waiter joins the call that will end badly
			close(release)
			tc.check(t, <-ended)
			select {
			case got := <-waiter:
				assert.Equal(t, "second try", got.Text, "the waiter made its own call instead of inheriting the failure")
			case <-time.After(5 * time.Second):
				t.Fatal("the waiter of a failed call was never released")
			}
			assert.Equal(t, int32(2), calls.Load())
		})
	}
}
