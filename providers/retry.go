package providers

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cenkalti/backoff/v4"
)

// Retry defaults, used for zero fields of RetryPolicy.
const (
	DefaultRetryMaxAttempts         = 5
	DefaultRetryInitialInterval     = time.Second
	DefaultRetryMaxInterval         = time.Minute
	DefaultRetryMaxElapsed          = 10 * time.Minute
	DefaultRetryMultiplier          = 2.0
	DefaultRetryRandomizationFactor = 0.5
)

// RetryPolicy says how Retry retries a failed call: exponential backoff with
// jitter, capped by attempts and by elapsed time. The zero value is the
// documented defaults (5 attempts, 1 s doubling to at most 1 min, ±50 %
// jitter, 10 min in all).
//
// Whether an error is worth retrying is decided by IsRetryable (by status
// code, never by message text). A server's Retry-After (RetryAfterOf) is a
// minimum wait: the backoff interval is raised to it, never lowered.
type RetryPolicy struct {
	// MaxAttempts counts every call including the first; 0 means
	// DefaultRetryMaxAttempts, 1 means no retries.
	MaxAttempts int
	// InitialInterval is the first wait before jitter; 0 means
	// DefaultRetryInitialInterval.
	InitialInterval time.Duration
	// MaxInterval caps the backoff interval (a longer Retry-After is still
	// honoured); 0 means DefaultRetryMaxInterval.
	MaxInterval time.Duration
	// MaxElapsed stops retrying when the next wait would end later than
	// MaxElapsed after the first attempt started; 0 means
	// DefaultRetryMaxElapsed, negative means no limit.
	MaxElapsed time.Duration
	// Multiplier grows the interval after each wait; 0 means
	// DefaultRetryMultiplier.
	Multiplier float64
	// RandomizationFactor spreads each wait uniformly over
	// interval × [1-f, 1+f]; 0 means DefaultRetryRandomizationFactor,
	// negative means no jitter.
	RandomizationFactor float64
	// AttemptTimeout, if positive, bounds each attempt (including any wait
	// in middleware it wraps, such as RateLimit): an attempt still running
	// after it is abandoned and counts as a retryable failure wrapping
	// ErrAttemptTimeout, so a server that hangs costs one timeout per try,
	// not the whole run. 0 means no per-attempt limit (ctx's deadline
	// alone applies).
	AttemptTimeout time.Duration
	// OnRetry, if set, is called before each wait with the number of the
	// attempt that failed (1-based), its error and the wait chosen. Use it to
	// log or to observe the policy in tests.
	OnRetry func(attempt int, err error, wait time.Duration)

	// sleep and now are test hooks; nil means real time.
	sleep func(ctx context.Context, d time.Duration) error
	now   func() time.Time
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = DefaultRetryMaxAttempts
	}
	if p.InitialInterval <= 0 {
		p.InitialInterval = DefaultRetryInitialInterval
	}
	if p.MaxInterval <= 0 {
		p.MaxInterval = DefaultRetryMaxInterval
	}
	if p.MaxElapsed == 0 {
		p.MaxElapsed = DefaultRetryMaxElapsed
	}
	if p.Multiplier <= 0 {
		p.Multiplier = DefaultRetryMultiplier
	}
	switch {
	case p.RandomizationFactor == 0:
		p.RandomizationFactor = DefaultRetryRandomizationFactor
	case p.RandomizationFactor < 0:
		p.RandomizationFactor = 0
	}
	if p.sleep == nil {
		p.sleep = sleepCtx
	}
	if p.now == nil {
		p.now = time.Now
	}
	return p
}

// newBackOff builds a fresh backoff for one call. Elapsed time is enforced
// by the caller, so the backoff itself never stops.
func (p RetryPolicy) newBackOff() *backoff.ExponentialBackOff {
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = p.InitialInterval
	b.MaxInterval = p.MaxInterval
	b.Multiplier = p.Multiplier
	b.RandomizationFactor = p.RandomizationFactor
	b.MaxElapsedTime = 0
	b.Reset()
	return b
}

// sleepCtx waits d or until ctx is done, returning ctx.Err() in that case.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// ErrAttemptTimeout is wrapped by the error of an attempt that outlived
// RetryPolicy.AttemptTimeout. It is retryable and, unlike
// context.DeadlineExceeded, says nothing about the caller's own context.
var ErrAttemptTimeout = errors.New("providers: attempt timed out")

// Retry returns middleware that retries calls failing with a retryable
// error (IsRetryable) according to p. Each call gets its own backoff state,
// so concurrent calls do not share intervals. A permanent error returns at
// once and unchanged. When retries run out, the last error is returned
// wrapped with the attempt count (errors.Is and errors.As still see it). A
// cancelled ctx stops a wait and returns ctx.Err(); a wait that would outlive
// ctx's deadline is not started and the last error is returned.
func Retry(p RetryPolicy) Middleware {
	p = p.withDefaults()
	return func(next Completer) Completer { return &retrier{next: next, p: p} }
}

type retrier struct {
	next Completer
	p    RetryPolicy
}

var (
	_ Completer = (*retrier)(nil)
	_ Describer = (*retrier)(nil)
)

// Endpoint forwards the wrapped Completer's endpoint.
func (r *retrier) Endpoint() Endpoint { return EndpointOf(r.next) }

// Complete calls the wrapped Completer, retrying retryable failures.
func (r *retrier) Complete(ctx context.Context, req Request) (Completion, error) {
	var b *backoff.ExponentialBackOff
	start := r.p.now()
	for attempt := 1; ; attempt++ {
		c, err := r.attempt(ctx, req)
		if err == nil {
			return c, nil
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return Completion{}, ctxErr
		}
		if !errors.Is(err, ErrAttemptTimeout) && !IsRetryable(err) {
			return Completion{}, giveUp(attempt, err)
		}
		if attempt >= r.p.MaxAttempts {
			return Completion{}, giveUp(attempt, err)
		}
		if b == nil {
			b = r.p.newBackOff()
		}
		wait := b.NextBackOff()
		if ra := RetryAfterOf(err); ra > wait {
			wait = ra
		}
		now := r.p.now()
		if r.p.MaxElapsed > 0 && now.Add(wait).Sub(start) > r.p.MaxElapsed {
			return Completion{}, giveUp(attempt, err)
		}
		if dl, ok := ctx.Deadline(); ok && now.Add(wait).After(dl) {
			return Completion{}, giveUp(attempt, err)
		}
		if r.p.OnRetry != nil {
			r.p.OnRetry(attempt, err, wait)
		}
		if err := r.p.sleep(ctx, wait); err != nil {
			return Completion{}, err
		}
	}
}

// attempt makes one call, bounded by AttemptTimeout when set. A call cut
// short by that bound (not by ctx) returns an error wrapping
// ErrAttemptTimeout instead of context.DeadlineExceeded.
func (r *retrier) attempt(ctx context.Context, req Request) (Completion, error) {
	if r.p.AttemptTimeout <= 0 {
		return r.next.Complete(ctx, req)
	}
	actx, cancel := context.WithTimeout(ctx, r.p.AttemptTimeout)
	defer cancel()
	c, err := r.next.Complete(actx, req)
	if err != nil && ctx.Err() == nil && actx.Err() != nil {
		return Completion{}, fmt.Errorf("%w after %s (%v)", ErrAttemptTimeout, r.p.AttemptTimeout, err)
	}
	return c, err
}

// giveUp returns err as is after a single attempt, else wrapped with the
// attempt count.
func giveUp(attempts int, err error) error {
	if attempts == 1 {
		return err
	}
	return fmt.Errorf("providers: giving up after %d attempts: %w", attempts, err)
}
