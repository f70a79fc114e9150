package providers

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// DefaultOutputEstimate is the number of output tokens RateLimit expects
// from a request whose MaxTokens is 0, before the actual usage is known.
const DefaultOutputEstimate = 1024

// EstimateInputTokens is a typical-case guess of a request's prompt tokens:
// one token per four bytes of messages and prefill (rounded up) plus four
// tokens of chat-template overhead per message. RateLimit uses it before a
// call and corrects with the actual usage after; Budget uses a stricter
// worst-case bound.
func EstimateInputTokens(req Request) int {
	n := len(req.Prefill)
	for _, m := range req.Messages {
		n += len(m.Content) + len(m.Role)
	}
	return (n+3)/4 + 4*len(req.Messages)
}

// RateLimit returns middleware that keeps calls under rpm requests per
// minute and tpm tokens per minute (0 or less disables either), using
// golang.org/x/time/rate token buckets. Requests are spread evenly (a burst
// of at most ceil(rpm/60) calls); the token bucket holds a minute's worth.
//
// Before a call it waits for EstimateInputTokens plus MaxTokens (or
// DefaultOutputEstimate) tokens, the way providers count a request against
// their own limit; after the call it corrects with the actual usage: tokens
// used beyond the estimate are charged to later calls, tokens estimated but
// not used are credited to them. Cache hits (Cached) use no tokens. A
// cancelled ctx ends a wait with ctx.Err(); a wait that would outlive ctx's
// deadline fails at once with an error wrapping context.DeadlineExceeded.
//
// One RateLimit middleware value holds one pair of buckets: wrap every
// Completer that shares a provider account with the same value.
func RateLimit(rpm, tpm int) Middleware {
	rl := &rateLimits{}
	if rpm > 0 {
		rl.requests = rate.NewLimiter(rate.Limit(float64(rpm)/60), int(math.Ceil(float64(rpm)/60)))
	}
	if tpm > 0 {
		rl.tokens = rate.NewLimiter(rate.Limit(float64(tpm)/60), tpm)
		rl.maxTokens = tpm
	}
	return func(next Completer) Completer {
		if rl.requests == nil && rl.tokens == nil {
			return next
		}
		return &rateLimited{next: next, rl: rl}
	}
}

// rateLimits is the shared state of one RateLimit middleware.
type rateLimits struct {
	requests  *rate.Limiter
	tokens    *rate.Limiter
	maxTokens int

	mu     sync.Mutex
	credit int // tokens estimated but not used, owed back to later calls
}

type rateLimited struct {
	next Completer
	rl   *rateLimits
}

var (
	_ Completer = (*rateLimited)(nil)
	_ Describer = (*rateLimited)(nil)
)

// Endpoint forwards the wrapped Completer's endpoint.
func (r *rateLimited) Endpoint() Endpoint { return EndpointOf(r.next) }

// Complete waits for request and token capacity, calls the wrapped
// Completer, then corrects the token bucket with the actual usage.
func (r *rateLimited) Complete(ctx context.Context, req Request) (Completion, error) {
	rl := r.rl
	if rl.requests != nil {
		if err := rl.requests.Wait(ctx); err != nil {
			return Completion{}, waitErr(ctx, err)
		}
	}
	if rl.tokens == nil {
		return r.next.Complete(ctx, req)
	}
	out := req.MaxTokens
	if out <= 0 {
		out = DefaultOutputEstimate
	}
	estimate := EstimateInputTokens(req) + out
	rl.mu.Lock()
	fromCredit := min(rl.credit, estimate)
	rl.credit -= fromCredit
	rl.mu.Unlock()
	charged := min(estimate-fromCredit, rl.maxTokens)
	if charged > 0 {
		if err := rl.tokens.WaitN(ctx, charged); err != nil {
			rl.refund(fromCredit)
			return Completion{}, waitErr(ctx, err)
		}
	}
	c, err := r.next.Complete(ctx, req)
	actual := 0
	if err == nil && !c.Cached {
		actual = c.Usage.Total()
	}
	paid := fromCredit + charged
	switch {
	case actual > paid:
		// Charge the overrun now; later callers wait for it.
		rl.tokens.ReserveN(time.Now(), min(actual-paid, rl.maxTokens))
	case actual < paid:
		rl.refund(paid - actual)
	}
	return c, err
}

func (rl *rateLimits) refund(n int) {
	if n <= 0 {
		return
	}
	rl.mu.Lock()
	rl.credit = min(rl.credit+n, rl.maxTokens)
	rl.mu.Unlock()
}

// waitErr turns a rate.Limiter wait failure into ctx.Err() when ctx is done,
// else into an error wrapping context.DeadlineExceeded.
func waitErr(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	return fmt.Errorf("providers: rate limit: %v: %w", err, context.DeadlineExceeded)
}
