package providers

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeTime records waits instead of sleeping and advances a fake clock by
// each wait.
type fakeTime struct {
	mu    sync.Mutex
	now   time.Time
	waits []time.Duration
}

func (f *fakeTime) install(p RetryPolicy) RetryPolicy {
	f.now = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p.now = func() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.now }
	p.sleep = func(ctx context.Context, d time.Duration) error {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.waits = append(f.waits, d)
		f.now = f.now.Add(d)
		return ctx.Err()
	}
	return p
}

// failing fails the first n calls with err, then answers "ok".
func failing(n int, err error) (Completer, *int) {
	calls := 0
	return CompleterFunc(func(ctx context.Context, req Request) (Completion, error) {
		calls++
		if calls <= n {
			return Completion{}, err
		}
		return Completion{Text: "ok"}, nil
	}), &calls
}

func TestRetryAfterIsAMinimumWait(t *testing.T) {
	var ft fakeTime
	p := ft.install(RetryPolicy{InitialInterval: 10 * time.Millisecond, RandomizationFactor: -1})
	inner, calls := failing(2, NewAPIError("x", 429, "rate_limit", "slow down", 7*time.Second))
	got, err := Retry(p)(inner).Complete(context.Background(), Request{})
	require.NoError(t, err)
	assert.Equal(t, "ok", got.Text)
	assert.Equal(t, 3, *calls)
	assert.Equal(t, []time.Duration{7 * time.Second, 7 * time.Second}, ft.waits)
}

func TestBackoffLongerThanRetryAfterIsKept(t *testing.T) {
	var ft fakeTime
	p := ft.install(RetryPolicy{InitialInterval: 50 * time.Millisecond, RandomizationFactor: -1})
	inner, _ := failing(2, NewAPIError("x", 503, "", "", time.Millisecond))
	_, err := Retry(p)(inner).Complete(context.Background(), Request{})
	require.NoError(t, err)
	assert.Equal(t, []time.Duration{50 * time.Millisecond, 100 * time.Millisecond}, ft.waits)
}

func TestBackoffGrowsWithinJitterBoundsAndCaps(t *testing.T) {
	var ft fakeTime
	p := ft.install(RetryPolicy{MaxAttempts: 8, InitialInterval: 100 * time.Millisecond, MaxInterval: time.Second, Multiplier: 2, RandomizationFactor: 0.5, MaxElapsed: -1})
	inner, calls := failing(100, NewAPIError("x", 500, "", "", 0))
	_, err := Retry(p)(inner).Complete(context.Background(), Request{})
	require.Error(t, err)
	assert.Equal(t, 8, *calls)
	require.Len(t, ft.waits, 7)
	interval := 100 * time.Millisecond
	for i, w := range ft.waits {
		lo, hi := time.Duration(float64(interval)*0.5), time.Duration(float64(interval)*1.5)
		assert.True(t, w >= lo && w <= hi, "wait %d = %s, want in [%s, %s]", i, w, lo, hi)
		interval = min(interval*2, time.Second)
	}
}

func TestRetryStopsWhenTheNextWaitWouldExceedMaxElapsed(t *testing.T) {
	var ft fakeTime
	p := ft.install(RetryPolicy{MaxAttempts: 10, InitialInterval: 400 * time.Millisecond, RandomizationFactor: -1, MaxElapsed: time.Second})
	inner, calls := failing(100, NewAPIError("x", 502, "", "", 0))
	_, err := Retry(p)(inner).Complete(context.Background(), Request{})
	require.Error(t, err)
	assert.Equal(t, []time.Duration{400 * time.Millisecond}, ft.waits, "a second wait of 800ms would end at 1.2s")
	assert.Equal(t, 2, *calls)
	assert.Contains(t, err.Error(), "giving up after 2 attempts")
	var apiErr *APIError
	assert.ErrorAs(t, err, &apiErr)
}

func TestRetryDefaultsFillZeroFields(t *testing.T) {
	p := RetryPolicy{}.withDefaults()
	assert.Equal(t, DefaultRetryMaxAttempts, p.MaxAttempts)
	assert.Equal(t, DefaultRetryInitialInterval, p.InitialInterval)
	assert.Equal(t, DefaultRetryMaxInterval, p.MaxInterval)
	assert.Equal(t, DefaultRetryMaxElapsed, p.MaxElapsed)
	assert.Equal(t, DefaultRetryMultiplier, p.Multiplier)
	assert.Equal(t, DefaultRetryRandomizationFactor, p.RandomizationFactor)
	assert.Equal(t, 0.0, RetryPolicy{RandomizationFactor: -1}.withDefaults().RandomizationFactor)
	assert.Equal(t, time.Duration(-1), RetryPolicy{MaxElapsed: -1}.withDefaults().MaxElapsed)
}

func TestRetryWaitsAreCancelledWithTheContext(t *testing.T) {
	var ft fakeTime
	p := ft.install(RetryPolicy{InitialInterval: time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	inner := CompleterFunc(func(context.Context, Request) (Completion, error) {
		cancel() // the caller gives up while the call is failing
		return Completion{}, NewAPIError("x", 503, "", "", 0)
	})
	_, err := Retry(p)(inner).Complete(ctx, Request{})
	assert.True(t, errors.Is(err, context.Canceled), "got %v", err)
	assert.Empty(t, ft.waits)
}
