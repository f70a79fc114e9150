package providers_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/providers"
)

// hangFirst hangs its first n calls until their ctx ends, then answers.
func hangFirst(n int32) (providers.Completer, *atomic.Int32) {
	var calls atomic.Int32
	return providers.CompleterFunc(func(ctx context.Context, req providers.Request) (providers.Completion, error) {
		if calls.Add(1) <= n {
			<-ctx.Done()
			return providers.Completion{}, ctx.Err()
		}
		return providers.Completion{Text: "ok"}, nil
	}), &calls
}

func TestAttemptTimeout(t *testing.T) {
	fast := providers.RetryPolicy{AttemptTimeout: 20 * time.Millisecond, InitialInterval: time.Millisecond,
		RandomizationFactor: -1, MaxAttempts: 3}

	t.Run("a hanging attempt is abandoned and retried", func(t *testing.T) {
		c, calls := hangFirst(2)
		out, err := providers.Retry(fast)(c).Complete(context.Background(), providers.Request{Model: "m"})
		require.NoError(t, err)
		assert.Equal(t, "ok", out.Text)
		assert.Equal(t, int32(3), calls.Load())
	})

	t.Run("attempts that all time out fail with ErrAttemptTimeout, not the caller's deadline", func(t *testing.T) {
		c, calls := hangFirst(100)
		_, err := providers.Retry(fast)(c).Complete(context.Background(), providers.Request{Model: "m"})
		require.ErrorIs(t, err, providers.ErrAttemptTimeout)
		assert.NotErrorIs(t, err, context.DeadlineExceeded)
		assert.Contains(t, err.Error(), "after 3 attempts")
		assert.Equal(t, int32(3), calls.Load())
	})

	t.Run("the caller's cancellation is returned as is", func(t *testing.T) {
		c, _ := hangFirst(100)
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(5*time.Millisecond, cancel)
		p := fast
		p.AttemptTimeout = time.Hour
		_, err := providers.Retry(p)(c).Complete(ctx, providers.Request{Model: "m"})
		require.ErrorIs(t, err, context.Canceled)
		assert.False(t, errors.Is(err, providers.ErrAttemptTimeout))
	})

	t.Run("zero means no per-attempt bound", func(t *testing.T) {
		c, calls := hangFirst(1)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
		defer cancel()
		_, err := providers.Retry(providers.RetryPolicy{})(c).Complete(ctx, providers.Request{Model: "m"})
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, int32(1), calls.Load())
	})
}
