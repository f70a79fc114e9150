package providers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
)

// CacheStore stores completions by cache key. Implementations must be safe
// for concurrent use. Get reports ok=false for a missing key (not an error).
// Put receives the request for stores that keep it for audit; it never holds
// credentials.
type CacheStore interface {
	Get(ctx context.Context, key string) (c Completion, ok bool, err error)
	Put(ctx context.Context, key string, req Request, c Completion) error
}

// cacheKeyVersion changes whenever the canonical encoding does, so old
// entries miss rather than collide.
const cacheKeyVersion = "v1"

// canonicalRequest is the encoding hashed by CacheKey. Field order is fixed
// by the struct, Extra's keys are sorted by encoding/json, unset knobs are
// omitted and set ones (even zero) are present.
type canonicalRequest struct {
	Provider      string         `json:"provider"`
	BaseURL       string         `json:"base_url"`
	Model         string         `json:"model"`
	Messages      []Message      `json:"messages"`
	Prefill       string         `json:"prefill"`
	PrefillMethod PrefillMethod  `json:"prefill_method"`
	Temperature   *float64       `json:"temperature,omitempty"`
	TopP          *float64       `json:"top_p,omitempty"`
	MaxTokens     int            `json:"max_tokens"`
	Stop          []string       `json:"stop,omitempty"`
	Seed          *int64         `json:"seed,omitempty"`
	Sample        int            `json:"sample"`
	Extra         map[string]any `json:"extra,omitempty"`
}

// CacheKey returns the content address of req sent to ep: "v1:" and the hex
// SHA-256 of a canonical encoding of the endpoint's provider and base URL,
// the model, messages, prefill, prefill method, every sampling knob (an unset
// knob differs from a zero one), Sample and Extra. Two samples of one prompt
// never share a key, and neither do two endpoints serving the same model.
func CacheKey(ep Endpoint, req Request) string {
	msgs := req.Messages
	if msgs == nil {
		msgs = []Message{}
	}
	cr := canonicalRequest{
		Provider: ep.Provider, BaseURL: ep.BaseURL, Model: req.Model,
		Messages: msgs, Prefill: req.Prefill, PrefillMethod: req.PrefillMethod,
		Temperature: req.Temperature, TopP: req.TopP, MaxTokens: req.MaxTokens,
		Stop: req.Stop, Seed: req.Seed, Sample: req.Sample, Extra: req.Extra,
	}
	h := sha256.New()
	if err := json.NewEncoder(h).Encode(cr); err != nil {
		// Something JSON cannot encode (a NaN knob, a channel in Extra):
		// such a request cannot be sent either, but its key must still be
		// stable and distinct, so hash a deterministic text dump instead.
		fmt.Fprintf(h, "!%q|%q|%q|%#v|%q|%q|%s|%s|%d|%#v|%s|%d|", cr.Provider, cr.BaseURL, cr.Model, cr.Messages,
			cr.Prefill, cr.PrefillMethod, ptrString(cr.Temperature), ptrString(cr.TopP), cr.MaxTokens, cr.Stop,
			ptrString(cr.Seed), cr.Sample)
		for _, k := range slices.Sorted(maps.Keys(req.Extra)) {
			fmt.Fprintf(h, "%q=%#v;", k, req.Extra[k])
		}
	}
	return cacheKeyVersion + ":" + hex.EncodeToString(h.Sum(nil))
}

func ptrString[T any](p *T) string {
	if p == nil {
		return "nil"
	}
	return fmt.Sprintf("%v", *p)
}

// Cache returns middleware that answers repeated requests from store. The
// key is CacheKey of the wrapped Completer's Endpoint (read once, when
// wrapping) and the request. A hit is returned with Cached set, CostUSD 0
// (CostKnown) and Latency 0, without calling the wrapped Completer; a miss
// calls it and stores the completion before returning it (with ctx's
// cancellation detached, so a paid answer arriving just as the caller gives
// up is still kept). Errors are never cached. A store failure is returned as an error; if the store fails to
// save a completion that was paid for, the completion is returned together
// with the error so it is not lost.
//
// Identical requests in flight at the same time are sent once: the first
// caller's call answers the others, which receive it as a cache hit (a
// pipeline that reaches the same prefix through two strategies at once
// would otherwise pay twice before either answer is stored). If that call
// fails, each waiting caller makes its own.
//
// Place Cache outside Budget, Retry and rate limits, so hits skip them all.
func Cache(store CacheStore) Middleware {
	return func(next Completer) Completer { return &cached{next: next, store: store, ep: EndpointOf(next)} }
}

type cached struct {
	next  Completer
	store CacheStore
	ep    Endpoint

	mu     sync.Mutex
	flight map[string]*flight // calls in flight by cache key
}

// flight is one call in flight; done is closed when out and err are set.
// The call runs on its first caller's goroutine (singleflight.DoChan
// would start one per call, and its stack growth alone was 1–2 % of a
// simulated run's CPU); waiters select on done and their own ctx.
type flight struct {
	done chan struct{}
	out  Completion
	err  error
}

// errCallPanicked answers the waiters of a call whose caller panicked
// (the panic itself goes on up the caller's stack).
var errCallPanicked = errors.New("providers: cached call panicked")

var (
	_ Completer = (*cached)(nil)
	_ Describer = (*cached)(nil)
)

// Endpoint forwards the wrapped Completer's endpoint.
func (c *cached) Endpoint() Endpoint { return c.ep }

// Complete answers from the store or calls the wrapped Completer and stores
// its answer.
func (c *cached) Complete(ctx context.Context, req Request) (Completion, error) {
	key := CacheKey(c.ep, req)
	hit, ok, err := c.store.Get(ctx, key)
	if err != nil {
		return Completion{}, fmt.Errorf("providers: cache get: %w", err)
	}
	if ok {
		return asHit(hit), nil
	}
	c.mu.Lock()
	if f, ok := c.flight[key]; ok {
		c.mu.Unlock()
		select {
		case <-f.done:
		case <-ctx.Done():
			return Completion{}, ctx.Err() // a waiter gives up; the call goes on
		}
		if f.err != nil {
			// The first caller's failure may be its own (its context, say):
			// try again. Every round one caller (that round's) returns, so
			// this ends.
			return c.Complete(ctx, req)
		}
		return asHit(f.out), nil
	}
	if c.flight == nil {
		c.flight = map[string]*flight{}
	}
	f := &flight{done: make(chan struct{}), err: errCallPanicked}
	c.flight[key] = f
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.flight, key)
		c.mu.Unlock()
		close(f.done)
	}()
	f.out, f.err = c.call(ctx, key, req)
	return f.out, f.err
}

// asHit marks a stored completion as answered from the cache.
func asHit(hit Completion) Completion {
	hit.Cached = true
	if hit.CostKnown {
		hit.SavedUSD = hit.CostUSD
	}
	hit.CostUSD, hit.CostKnown = 0, true
	hit.Latency = 0
	return hit
}

// call makes the request and stores its answer.
func (c *cached) call(ctx context.Context, key string, req Request) (Completion, error) {
	out, err := c.next.Complete(ctx, req)
	if err != nil {
		return out, err
	}
	stored := out
	stored.Cached = false
	// The call is paid for: store it even if ctx is cancelled as it returns.
	if err := c.store.Put(context.WithoutCancel(ctx), key, req, stored); err != nil {
		return out, fmt.Errorf("providers: cache put: %w", err)
	}
	return out, nil
}

// MemoryCache is an in-memory CacheStore, for tests and short runs. The zero
// value is empty and ready to use; it is safe for concurrent use.
type MemoryCache struct {
	mu sync.RWMutex
	m  map[string]Completion
}

var _ CacheStore = (*MemoryCache)(nil)

// NewMemoryCache returns an empty MemoryCache.
func NewMemoryCache() *MemoryCache { return &MemoryCache{} }

// Get returns the completion stored under key.
func (m *MemoryCache) Get(ctx context.Context, key string) (Completion, bool, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	c, ok := m.m[key]
	return c, ok, nil
}

// Put stores c under key, replacing any previous completion.
func (m *MemoryCache) Put(ctx context.Context, key string, req Request, c Completion) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.m == nil {
		m.m = map[string]Completion{}
	}
	m.m[key] = c
	return nil
}

// Len returns the number of stored completions.
func (m *MemoryCache) Len() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.m)
}
