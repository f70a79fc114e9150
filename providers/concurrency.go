package providers

import "context"

// Concurrency returns middleware that lets at most n calls through the
// wrapped Completer at once; the others wait their turn in Complete, and a
// cancelled ctx ends the wait with ctx.Err(). n < 1 means no limit. Place it
// inside Retry so a call sleeping between attempts does not hold a slot.
func Concurrency(n int) Middleware {
	return func(next Completer) Completer {
		if n < 1 {
			return next
		}
		return &limiter{next: next, slots: make(chan struct{}, n)}
	}
}

type limiter struct {
	next  Completer
	slots chan struct{}
}

var (
	_ Completer = (*limiter)(nil)
	_ Describer = (*limiter)(nil)
)

// Endpoint forwards the wrapped Completer's endpoint.
func (l *limiter) Endpoint() Endpoint { return EndpointOf(l.next) }

// Complete waits for a free slot, then calls the wrapped Completer.
func (l *limiter) Complete(ctx context.Context, req Request) (Completion, error) {
	select {
	case l.slots <- struct{}{}:
	case <-ctx.Done():
		return Completion{}, ctx.Err()
	}
	defer func() { <-l.slots }()
	return l.next.Complete(ctx, req)
}
