package providers

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Default cooldowns of a Balancer's unhealthy replicas.
const (
	// DefaultReplicaCooldown is how long a replica is avoided after its
	// first retryable failure; it doubles with every further failure in a
	// row, up to DefaultReplicaMaxCooldown.
	DefaultReplicaCooldown    = time.Second
	DefaultReplicaMaxCooldown = time.Minute
)

// ErrNoReplicas is returned by NewBalancer when given no replicas.
var ErrNoReplicas = errors.New("providers: a balancer needs at least one replica")

// Balancer spreads the calls of one model over several replicas serving it
// (several vLLM or SGLang servers, say, each its own Completer with its own
// base URL):
//
//   - least outstanding requests: each call goes to the healthy replica with
//     the fewest calls in flight (ties to the one listed first);
//   - health: a replica whose call fails with a retryable error (5xx, 429,
//     a reset connection, an attempt timeout; see IsRetryable) is avoided
//     for a cooldown (DefaultReplicaCooldown, doubling with each failure in
//     a row up to DefaultReplicaMaxCooldown, or the server's Retry-After if
//     longer); its next success makes it healthy again;
//   - failover: the failed call is tried once on each other replica, healthy
//     ones first, before the last error is returned. A non-retryable error
//     (a bad request, a bad key) is returned at once: every replica would
//     answer it alike.
//
// When every replica is cooling down, the one whose cooldown ends first is
// tried anyway, so a Balancer never refuses a call by itself; wrap it with
// Retry to wait between rounds. Its Endpoint is the first replica's, so
// cache keys do not depend on which replica answered, nor change when
// replicas are added after the first. A Balancer is safe for concurrent
// use.
//
// A router in front of the replicas does the same job outside this process
// and across several harnesses: the SGLang router, the vLLM production
// stack's router, or a LiteLLM proxy; point one model spec's base URL at it
// instead.
type Balancer struct {
	// Cooldown and MaxCooldown override the defaults when set before the
	// first call.
	Cooldown, MaxCooldown time.Duration

	now func() time.Time // for tests

	mu   sync.Mutex
	reps []*replica
}

type replica struct {
	c           Completer
	outstanding int
	until       time.Time // avoided until then
	failsInRow  int
	served      int64
	failed      int64
}

// ReplicaStats is one replica's state, for progress output and tests.
type ReplicaStats struct {
	Endpoint    Endpoint
	Outstanding int   // calls in flight now
	Healthy     bool  // not cooling down after a failure
	Served      int64 // calls answered
	Failed      int64 // calls that failed (and were failed over, if retryable)
}

var (
	_ Completer = (*Balancer)(nil)
	_ Describer = (*Balancer)(nil)
)

// NewBalancer returns a Balancer over replicas, which must serve the same
// model.
func NewBalancer(replicas ...Completer) (*Balancer, error) {
	if len(replicas) == 0 {
		return nil, ErrNoReplicas
	}
	b := &Balancer{now: time.Now}
	for _, c := range replicas {
		if c == nil {
			return nil, errors.New("providers: a balancer replica is nil")
		}
		b.reps = append(b.reps, &replica{c: c})
	}
	return b, nil
}

// Endpoint is the first replica's.
func (b *Balancer) Endpoint() Endpoint { return EndpointOf(b.reps[0].c) }

// Stats returns every replica's state, in the order given.
func (b *Balancer) Stats() []ReplicaStats {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	out := make([]ReplicaStats, len(b.reps))
	for i, r := range b.reps {
		out[i] = ReplicaStats{Endpoint: EndpointOf(r.c), Outstanding: r.outstanding, Healthy: !now.Before(r.until),
			Served: r.served, Failed: r.failed}
	}
	return out
}

// pick chooses the replica for the next try among those not tried yet and
// counts the call as outstanding on it; -1 if every replica was tried.
func (b *Balancer) pick(tried []bool) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	best, bestDown := -1, -1
	for i, r := range b.reps {
		if tried[i] {
			continue
		}
		if !now.Before(r.until) {
			if best < 0 || r.outstanding < b.reps[best].outstanding {
				best = i
			}
		} else if bestDown < 0 || r.until.Before(b.reps[bestDown].until) {
			bestDown = i
		}
	}
	if best < 0 {
		best = bestDown
	}
	if best >= 0 {
		b.reps[best].outstanding++
	}
	return best
}

func (b *Balancer) finish(i int, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	r := b.reps[i]
	r.outstanding--
	switch {
	case err == nil:
		r.served++
		r.failsInRow = 0
		r.until = time.Time{}
	case IsRetryable(err):
		r.failed++
		r.failsInRow++
		cool, maxCool := b.Cooldown, b.MaxCooldown
		if cool <= 0 {
			cool = DefaultReplicaCooldown
		}
		if maxCool <= 0 {
			maxCool = DefaultReplicaMaxCooldown
		}
		d := cool
		for k := 1; k < r.failsInRow && d < maxCool; k++ {
			d *= 2
		}
		d = max(min(d, maxCool), RetryAfterOf(err))
		r.until = b.now().Add(d)
	default:
		r.failed++ // the request's fault, not the replica's
	}
}

// Complete sends req to a replica, failing over on retryable errors; see
// Balancer.
func (b *Balancer) Complete(ctx context.Context, req Request) (Completion, error) {
	tried := make([]bool, len(b.reps))
	var last error
	for {
		i := b.pick(tried)
		if i < 0 {
			return Completion{}, last
		}
		tried[i] = true
		c, err := b.reps[i].c.Complete(ctx, req)
		b.finish(i, err)
		if err == nil || !IsRetryable(err) || ctx.Err() != nil {
			return c, err
		}
		last = err
	}
}

var _ Preflighter = (*Balancer)(nil)

// Preflight checks req against every replica (see Preflighter) and returns
// the first error: the replicas serve one model, so a request one of them
// cannot serve is refused before any is called.
func (b *Balancer) Preflight(req Request) error {
	for _, r := range b.reps {
		if err := Preflight(r.c, req); err != nil {
			return err
		}
	}
	return nil
}
