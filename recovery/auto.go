package recovery

import (
	"context"
	"math"
	"runtime/debug"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/rebound-lab/rebound/providers"
)

// autoBytesPerCall is the memory budgeted for one item in flight (its
// goroutine, request and response, connection buffers, the result waiting
// for the store): AutoConcurrency never allows more items in flight than a
// quarter of the process's memory limit holds at this size.
const autoBytesPerCall = 64 << 10

// autoMaxUnknown bounds the items in flight when the process has no memory
// limit to size from (runtime/debug.SetMemoryLimit unset): 16,384 items,
// about 1 GiB at autoBytesPerCall, enough for 20,000 requests a minute at
// 24 s each.
const autoMaxUnknown = 16384

// AutoConcurrency sizes a stage's items in flight so that a
// requests-per-minute limit is used in full. By Little's law, keeping RPM/60
// requests a second flowing when each takes L seconds needs RPM/60 × L of
// them in flight: with 6,000 a minute at 200 ms that is 20, at 30 s it is
// 3,000. AutoConcurrency watches the latency of the calls that pass
// through its Middleware (an exponentially weighted average of successful
// calls, rate-limit waits excluded when it is placed inside RateLimit) and
// its Limit follows: twice that product (headroom for verifying and storing
// results and for latency jitter), at least DefaultConcurrency.
//
// Before the first latency is observed the limit does not wait at a small
// default: a call still unanswered t seconds after the first one was sent
// takes at least t, so the latency is taken to be the time since the first
// call (at least autoStartLatency, 1 s: the rate limiter's burst is one
// second of the rate). Twice RPM/60 × that never holds back the calls the
// rate limiter lets through while the first answers are awaited — the
// limiter sets the pace from the first second — and it grows with the wait
// rather than starting at a guess, so a fast endpoint does not get a deep
// queue of calls waiting for the limiter. There is no
// fixed cap: the only upper bound is memory, a quarter of the process's
// soft memory limit (runtime/debug.SetMemoryLimit; the harness sizes it
// from the machine) at 64 KiB an item, or 16,384 items when no limit is
// set. The rate limiter, not this limit, then sets the pace.
//
// Run uses one when Config.Concurrency is 0 and Config.RPM is set. Build it
// with NewAutoConcurrency; it is safe for concurrent use.
type AutoConcurrency struct {
	rps      float64
	min, max int
	now      func() time.Time

	mu      sync.Mutex
	latency float64   // seconds, exponentially weighted; 0 before any call
	first   time.Time // when the first call was sent; zero before
}

// autoStartLatency is the least latency assumed before one is observed:
// one second, the rate limiter's burst (providers.RateLimit allows RPM/60
// at once), so the first second's calls are never held back.
const autoStartLatency = time.Second

// NewAutoConcurrency returns an AutoConcurrency for rpm requests per minute
// that allows at least DefaultConcurrency items in flight and at most what
// memory allows (see AutoConcurrency).
func NewAutoConcurrency(rpm int) *AutoConcurrency {
	return &AutoConcurrency{rps: float64(max(rpm, 1)) / 60, min: DefaultConcurrency, max: autoMax(debug.SetMemoryLimit(-1)),
		now: time.Now}
}

// rateLimiters is how many rate limits of cfg.RPM the run's calls share
// (see wrap): one when the models are on one endpoint (the same provider
// and base URL), else one per model, so the run may send RPM per model and
// automatic concurrency must be sized for their sum.
func (cfg *Config) rateLimiters() int {
	if cfg.NoWeak || cfg.Weak == nil {
		return 1
	}
	s, w := providers.EndpointOf(cfg.Strong), providers.EndpointOf(cfg.Weak)
	if s.Provider != "" && s == w {
		return 1
	}
	return 2
}

// autoMax is the most items in flight a soft memory limit of limit bytes
// allows.
func autoMax(limit int64) int {
	if limit <= 0 || limit == math.MaxInt64 {
		return autoMaxUnknown
	}
	return int(max(int64(DefaultConcurrency), limit/4/autoBytesPerCall))
}

// Max returns the most items in flight the limit will ever allow.
func (a *AutoConcurrency) Max() int { return a.max }

// Observe records the latency of one call.
func (a *AutoConcurrency) Observe(d time.Duration) {
	s := d.Seconds()
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.latency == 0 {
		a.latency = s
		return
	}
	a.latency += 0.2 * (s - a.latency)
}

// Latency returns the current latency estimate (0 before any call).
func (a *AutoConcurrency) Latency() time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	return time.Duration(a.latency * float64(time.Second))
}

// started records that a call is being sent (the first one starts the
// clock of the latency assumed before one is observed).
func (a *AutoConcurrency) started() {
	a.mu.Lock()
	if a.first.IsZero() {
		a.first = a.now()
	}
	a.mu.Unlock()
}

// Limit returns the items allowed in flight now: ceil(2 × RPM/60 ×
// latency), at least DefaultConcurrency and at most Max. Until a call has
// been observed the latency is the time since the first call was sent, at
// least one second (see AutoConcurrency).
func (a *AutoConcurrency) Limit() int {
	a.mu.Lock()
	lat := a.latency
	if lat == 0 {
		lat = autoStartLatency.Seconds()
		if !a.first.IsZero() {
			lat = max(lat, a.now().Sub(a.first).Seconds())
		}
	}
	a.mu.Unlock()
	want := math.Ceil(2 * a.rps * lat)
	if want > float64(a.max) {
		return a.max
	}
	return max(a.min, int(want))
}

// Middleware returns middleware that observes the latency of every
// successful call. Place it innermost (inside RateLimit and Retry) so it
// times the provider alone.
func (a *AutoConcurrency) Middleware() providers.Middleware {
	return func(next providers.Completer) providers.Completer { return &observed{a: a, next: next} }
}

type observed struct {
	a    *AutoConcurrency
	next providers.Completer
}

var _ providers.Completer = (*observed)(nil)
var _ providers.Describer = (*observed)(nil)

func (o *observed) Complete(ctx context.Context, req providers.Request) (providers.Completion, error) {
	o.a.started()
	start := time.Now()
	c, err := o.next.Complete(ctx, req)
	if err == nil && !c.Cached {
		o.a.Observe(time.Since(start))
	}
	return c, err
}

func (o *observed) Endpoint() providers.Endpoint { return providers.EndpointOf(o.next) }

// fanOut runs fn(ctx, i) for i in [0, n): with e.Auto set, at most
// e.Auto.Limit() at once (read again before each item starts), else at
// most e.Concurrency. See the package-level fanOut for errors.
func (e *Exec) fanOut(ctx context.Context, n int, fn func(ctx context.Context, i int) error) error {
	if e.Auto == nil {
		return fanOut(ctx, n, e.Concurrency, fn)
	}
	g, gctx := errgroup.WithContext(ctx)
	var mu sync.Mutex
	freed := sync.NewCond(&mu)
	running := 0
	for i := 0; i < n; i++ {
		mu.Lock()
		for running >= e.Auto.Limit() && gctx.Err() == nil {
			freed.Wait()
		}
		if gctx.Err() != nil {
			mu.Unlock()
			break
		}
		running++
		mu.Unlock()
		g.Go(func() error {
			defer func() {
				mu.Lock()
				running--
				freed.Broadcast()
				mu.Unlock()
			}()
			return fn(gctx, i)
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	return ctx.Err()
}
