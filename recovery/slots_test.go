package recovery

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Many callers acquire and release slots, some giving up while they wait
// (a few exactly as their slot is granted): never more than the limit are
// held, every grant is released or handed on, and no later wait is granted
// by a stale grant.
func TestSlotsHoldTheLimitUnderCancellation(t *testing.T) {
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	const limit = 3
	s := newSlots(ctx, func() int { return limit })
	var held, peak, granted, gaveUp atomic.Int64
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 7))
			for range 400 {
				cctx, cancel := context.WithCancel(ctx)
				if rng.IntN(4) == 0 {
					time.AfterFunc(time.Duration(rng.IntN(50))*time.Microsecond, cancel)
				}
				if err := s.acquire(cctx, rng.IntN(nPrios)); err != nil {
					gaveUp.Add(1)
					cancel()
					continue
				}
				cancel()
				granted.Add(1)
				n := held.Add(1)
				for {
					p := peak.Load()
					if n <= p || peak.CompareAndSwap(p, n) {
						break
					}
				}
				time.Sleep(time.Duration(rng.IntN(20)) * time.Microsecond)
				held.Add(-1)
				s.release()
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("callers stuck waiting for slots (a stale or lost grant)")
	}
	assert.LessOrEqual(t, peak.Load(), int64(limit), "never more slots held than the limit")
	assert.Equal(t, int64(16*400), granted.Load()+gaveUp.Load())
	assert.Positive(t, gaveUp.Load(), "some callers gave up while waiting")
	s.mu.Lock()
	assert.Zero(t, s.n, "every grant was released or handed on")
	for p := range s.queue {
		assert.Empty(t, s.queue[p])
	}
	s.mu.Unlock()
	// With every slot taken, a fresh wait waits.
	for range limit {
		require.NoError(t, s.acquire(ctx, 0))
	}
	wctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	assert.ErrorIs(t, s.acquire(wctx, 0), context.DeadlineExceeded, "a full set of slots makes a caller wait")
}
