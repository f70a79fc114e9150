package providers

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// replicaStub answers as its name, blocking until release is closed (when
// set), or fails with err.
type replicaStub struct {
	name    string
	release chan struct{}
	mu      sync.Mutex
	err     error
	calls   int
}

func (s *replicaStub) Complete(ctx context.Context, _ Request) (Completion, error) {
	s.mu.Lock()
	s.calls++
	err := s.err
	s.mu.Unlock()
	if s.release != nil {
		<-s.release
	}
	if err != nil {
		return Completion{}, err
	}
	return Completion{Text: s.name}, nil
}

func (s *replicaStub) Endpoint() Endpoint {
	return Endpoint{Provider: "vllm", BaseURL: "http://" + s.name}
}

func (s *replicaStub) set(err error) { s.mu.Lock(); s.err = err; s.mu.Unlock() }

func TestBalancerSendsEachCallToTheReplicaWithTheFewestOutstanding(t *testing.T) {
	release := make(chan struct{})
	a, b, c := &replicaStub{name: "a", release: release}, &replicaStub{name: "b", release: release}, &replicaStub{name: "c", release: release}
	bal, err := NewBalancer(a, b, c)
	require.NoError(t, err)
	var wg sync.WaitGroup
	for range 9 {
		wg.Add(1)
		go func() { defer wg.Done(); _, _ = bal.Complete(context.Background(), Request{}) }()
	}
	require.Eventually(t, func() bool {
		n := 0
		for _, s := range bal.Stats() {
			n += s.Outstanding
		}
		return n == 9
	}, 5*time.Second, time.Millisecond)
	for _, s := range bal.Stats() {
		assert.Equal(t, 3, s.Outstanding, "%s: nine calls spread three a replica", s.Endpoint.BaseURL)
	}
	close(release)
	wg.Wait()
	assert.Equal(t, Endpoint{Provider: "vllm", BaseURL: "http://a"}, bal.Endpoint(), "the first replica names the model for cache keys")
}

func TestBalancerFailsOverAndAvoidsAFailingReplicaUntilItsCooldownEnds(t *testing.T) {
	now := time.Unix(1000, 0)
	a, b := &replicaStub{name: "a"}, &replicaStub{name: "b"}
	bal, err := NewBalancer(a, b)
	require.NoError(t, err)
	bal.now = func() time.Time { return now }
	a.set(NewAPIError("vllm", http.StatusServiceUnavailable, "", "overloaded", 0))

	got, err := bal.Complete(context.Background(), Request{})
	require.NoError(t, err)
	assert.Equal(t, "b", got.Text, "a's 503 failed over to b")
	st := bal.Stats()
	assert.False(t, st[0].Healthy)
	assert.Equal(t, int64(1), st[0].Failed)

	a.set(nil)
	for range 3 {
		got, err = bal.Complete(context.Background(), Request{})
		require.NoError(t, err)
		assert.Equal(t, "b", got.Text, "a is cooling down")
	}
	assert.Equal(t, 1, a.calls)
	now = now.Add(DefaultReplicaCooldown)
	got, err = bal.Complete(context.Background(), Request{})
	require.NoError(t, err)
	assert.Equal(t, "a", got.Text, "after its cooldown a is tried again (it ties with b and is listed first)")
	assert.True(t, bal.Stats()[0].Healthy)
}

func TestBalancerCooldownDoublesAndHonoursRetryAfter(t *testing.T) {
	now := time.Unix(1000, 0)
	a, b := &replicaStub{name: "a"}, &replicaStub{name: "b"}
	bal, err := NewBalancer(a, b)
	require.NoError(t, err)
	bal.now = func() time.Time { return now }
	fail := NewAPIError("vllm", http.StatusBadGateway, "", "down", 0)
	a.set(fail)
	b.set(fail)
	_, err = bal.Complete(context.Background(), Request{})
	require.ErrorIs(t, err, fail, "every replica failed: the last error")
	assert.Equal(t, 1, a.calls)
	assert.Equal(t, 1, b.calls)
	// Both cooling down: the call still goes out, to the replica whose
	// cooldown ends first, and each failure doubles the cooldown.
	_, err = bal.Complete(context.Background(), Request{})
	require.Error(t, err)
	now = now.Add(1500 * time.Millisecond)
	assert.False(t, bal.Stats()[0].Healthy, "a failed twice in a row: 2 s, not 1 s")
	now = now.Add(time.Second)
	assert.True(t, bal.Stats()[0].Healthy)

	// A 429 with Retry-After keeps the replica away longer than the cap.
	a.set(&APIError{Provider: "vllm", StatusCode: 429, Retryable: true, RetryAfter: time.Hour})
	b.set(nil)
	got, err := bal.Complete(context.Background(), Request{})
	require.NoError(t, err)
	assert.Equal(t, "b", got.Text)
	now = now.Add(2 * DefaultReplicaMaxCooldown)
	assert.False(t, bal.Stats()[0].Healthy, "Retry-After: an hour")
}

func TestBalancerReturnsANonRetryableErrorWithoutFailingOver(t *testing.T) {
	a, b := &replicaStub{name: "a"}, &replicaStub{name: "b"}
	bal, err := NewBalancer(a, b)
	require.NoError(t, err)
	bad := NewAPIError("vllm", http.StatusBadRequest, "invalid_request_error", "bad", 0)
	a.set(bad)
	_, err = bal.Complete(context.Background(), Request{})
	assert.ErrorIs(t, err, bad)
	assert.Zero(t, b.calls, "every replica would answer a bad request alike")
	assert.True(t, bal.Stats()[0].Healthy, "a bad request is not the replica's fault")

	_, err = NewBalancer()
	assert.True(t, errors.Is(err, ErrNoReplicas))
	_, err = NewBalancer(a, nil)
	assert.Error(t, err)
}
