package recovery

import (
	"context"
	"math"
	"sync"

	"github.com/rebound-lab/rebound/providers"
)

// A rate limiter serves its waiters first come, first served: a call that
// has a slot waits behind every call that took one before it. With
// AutoConcurrency's headroom (twice the calls the rate and the latency
// need) that queue holds about one latency's worth of calls, so each of
// the weak model's sequential tries — the longest chain of calls a problem
// has, which the pipeline serves first — would wait a latency for the
// limiter before its own latency, and the run would end with a tail of
// those chains after the rest of the work is done.
//
// rateQueue keeps that queue short: only a quarter of a second of the rate
// (at least rateQueueMin calls) waits inside the rate limiter at a time;
// the others wait before it and are let in by the pipeline's call priority
// (callPriority), first come, first served within one. A call leaves the
// queue as soon as the limiter lets it through, so the queue never bounds
// the calls in flight, only the order in which they are sent.
type rateQueue struct {
	size int

	mu    sync.Mutex
	n     int // calls waiting inside the rate limiter
	queue [nPrios][]chan struct{}
}

// rateQueueAhead is how far ahead of the limiter the calls inside it
// reach, in seconds of the rate: enough that the limiter never waits for
// a goroutine to be woken, short enough that a priority call is sent
// within it.
const rateQueueAhead = 0.25

// rateQueueMin is the least calls let into the rate limiter at once.
const rateQueueMin = 4

func newRateQueue(rpm int) *rateQueue {
	return &rateQueue{size: max(rateQueueMin, int(math.Ceil(float64(rpm)/60*rateQueueAhead)))}
}

type callPrioKey struct{}

// withCallPriority marks the calls made under ctx with a pipeline call
// priority (prioContinue … prioPerturb); unmarked calls have the lowest.
func withCallPriority(ctx context.Context, prio int) context.Context {
	return context.WithValue(ctx, callPrioKey{}, prio)
}

func callPriority(ctx context.Context) int {
	if p, ok := ctx.Value(callPrioKey{}).(int); ok && p >= 0 && p < nPrios {
		return p
	}
	return prioContinue
}

// limit wraps the rate limiter middleware rl so that its waiters are let
// in by priority (see rateQueue).
func (q *rateQueue) limit(rl providers.Middleware) providers.Middleware {
	return func(next providers.Completer) providers.Completer {
		return &queued{q: q, next: rl(&passed{next: next})}
	}
}

func (q *rateQueue) acquire(ctx context.Context, prio int) error {
	q.mu.Lock()
	if q.n < q.size {
		waiting := false
		for p := prio; p < nPrios; p++ {
			waiting = waiting || len(q.queue[p]) > 0
		}
		if !waiting {
			q.n++
			q.mu.Unlock()
			return nil
		}
	}
	ch := make(chan struct{})
	q.queue[prio] = append(q.queue[prio], ch)
	q.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	for i, c := range q.queue[prio] {
		if c == ch {
			q.queue[prio] = append(q.queue[prio][:i:i], q.queue[prio][i+1:]...)
			return ctx.Err()
		}
	}
	// Let in while giving up: hand the place on.
	q.n--
	q.dispatch()
	return ctx.Err()
}

func (q *rateQueue) release() {
	q.mu.Lock()
	q.n--
	q.dispatch()
	q.mu.Unlock()
}

// dispatch lets waiters in, highest priority first.
func (q *rateQueue) dispatch() {
	for p := nPrios - 1; p >= 0; p-- {
		for len(q.queue[p]) > 0 && q.n < q.size {
			ch := q.queue[p][0]
			q.queue[p] = q.queue[p][1:]
			q.n++
			close(ch)
		}
	}
}

type passKey struct{}

// queued takes a place in the queue, then calls the rate limiter; the
// place is given back when the limiter lets the call through (passed) or
// the call ends before that.
type queued struct {
	q    *rateQueue
	next providers.Completer
}

var _ providers.Describer = (*queued)(nil)

func (w *queued) Complete(ctx context.Context, req providers.Request) (providers.Completion, error) {
	if err := w.q.acquire(ctx, callPriority(ctx)); err != nil {
		return providers.Completion{}, err
	}
	release := sync.OnceFunc(w.q.release)
	defer release()
	return w.next.Complete(context.WithValue(ctx, passKey{}, release), req)
}

func (w *queued) Endpoint() providers.Endpoint { return providers.EndpointOf(w.next) }

// passed gives the call's place in the queue back: it is inside the rate
// limiter, so the limiter has let the call through.
type passed struct{ next providers.Completer }

var _ providers.Describer = (*passed)(nil)

func (p *passed) Complete(ctx context.Context, req providers.Request) (providers.Completion, error) {
	if release, ok := ctx.Value(passKey{}).(func()); ok {
		release()
	}
	return p.next.Complete(ctx, req)
}

func (p *passed) Endpoint() providers.Endpoint { return providers.EndpointOf(p.next) }
