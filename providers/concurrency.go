package providers

import "context"

// Concurrency returns middleware that lets at most n calls through the
// wrapped Completer at once; the others wait their turn in Complete, and a
// cancelled ctx ends the wait with ctx.Err(). n < 1 means no limit. Place it
// inside Retry so a call sleeping between attempts does not hold a slot.
//
// The n slots belong to the returned Middleware value: every Completer
// wrapped with the same value shares them (one cap for a whole account);
// call Concurrency again for a separate cap.
func Concurrency(n int) Middleware {
	if n < 1 {
		return func(next Completer) Completer { return next }
	}
	slots := make(chan struct{}, n)
	return func(next Completer) Completer { return &limiter{next: next, slots: slots} }
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
