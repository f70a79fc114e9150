package mock_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/providers"
	"github.com/rebound-lab/rebound/providers/mock"
)

func userReq(text string) providers.Request {
	return providers.Request{Model: "m", Messages: []providers.Message{{Role: providers.RoleUser, Content: text}}}
}

func TestEchoAnswersTheLastMessageAndFillsMetadata(t *testing.T) {
	c := mock.Echo()
	req := userReq("hello")
	req.Prefill = "Step 1:"
	got, err := c.Complete(context.Background(), req)
	require.NoError(t, err)
	assert.Equal(t, "hello", got.Text)
	assert.Equal(t, "mock", got.Provider)
	assert.Equal(t, "m", got.Model)
	assert.Equal(t, providers.PrefillNative, got.PrefillMethod)
	assert.Positive(t, got.Latency)
	assert.Equal(t, providers.Endpoint{Provider: "mock"}, providers.EndpointOf(c))
}

func TestNoPrefillLeavesPrefillMethodEmpty(t *testing.T) {
	got, err := mock.Echo().Complete(context.Background(), userReq("x"))
	require.NoError(t, err)
	assert.Equal(t, providers.PrefillNone, got.PrefillMethod)
}

func TestQueueAnswersInOrderThenReportsExhaustion(t *testing.T) {
	c := mock.Queue(providers.Completion{Text: "a"}, providers.Completion{Text: "b"})
	for _, want := range []string{"a", "b"} {
		got, err := c.Complete(context.Background(), userReq("q"))
		require.NoError(t, err)
		assert.Equal(t, want, got.Text)
	}
	_, err := c.Complete(context.Background(), userReq("q"))
	require.ErrorIs(t, err, mock.ErrExhausted)
	assert.Contains(t, err.Error(), "call 3")
	assert.Equal(t, 3, c.Calls())
}

func TestScriptReturnsScriptedErrors(t *testing.T) {
	boom := errors.New("boom")
	c := mock.Script([]mock.Step{mock.Fail(boom), mock.Reply("ok")})
	_, err := c.Complete(context.Background(), userReq("q"))
	require.ErrorIs(t, err, boom)
	got, err := c.Complete(context.Background(), userReq("q"))
	require.NoError(t, err)
	assert.Equal(t, "ok", got.Text)
}

func TestAlwaysFailReturnsAnAPIErrorWithTheStatus(t *testing.T) {
	for _, tc := range []struct {
		status    int
		retryable bool
	}{{429, true}, {500, true}, {400, false}, {401, false}} {
		_, err := mock.AlwaysFail(tc.status).Complete(context.Background(), userReq("q"))
		var apiErr *providers.APIError
		require.ErrorAs(t, err, &apiErr)
		assert.Equal(t, tc.status, apiErr.StatusCode)
		assert.Equal(t, tc.retryable, providers.IsRetryable(err), "status %d", tc.status)
	}
	_, err := mock.AlwaysFail(429).Complete(context.Background(), userReq("q"))
	assert.ErrorIs(t, err, providers.ErrRateLimited)
}

func TestFailThenSucceedFailsExactlyNTimes(t *testing.T) {
	c := mock.FailThenSucceed(2, 503, providers.Completion{Text: "finally"})
	for i := 0; i < 2; i++ {
		_, err := c.Complete(context.Background(), userReq("q"))
		require.Error(t, err, "call %d", i+1)
	}
	got, err := c.Complete(context.Background(), userReq("q"))
	require.NoError(t, err)
	assert.Equal(t, "finally", got.Text)
}

func TestLatencyWaitIsCutShortByCancellation(t *testing.T) {
	c := mock.Echo(mock.WithLatency(time.Hour))
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := c.Complete(ctx, userReq("q"))
		errc <- err
	}()
	for c.Calls() == 0 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	assert.ErrorIs(t, <-errc, context.Canceled)
}

func TestCancelledContextFailsBeforeTheScriptRuns(t *testing.T) {
	ran := false
	c := mock.New(func(ctx context.Context, req providers.Request) (providers.Completion, error) {
		ran = true
		return providers.Completion{}, nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.Complete(ctx, userReq("q"))
	assert.ErrorIs(t, err, context.Canceled)
	assert.False(t, ran)
	assert.Equal(t, 1, c.Calls(), "a cancelled request is still recorded")
}

func TestPriceAndTokenCountsBillLikeAPaidProvider(t *testing.T) {
	c := mock.Script([]mock.Step{mock.Reply("12345678")}, mock.WithTokenCounts(), mock.WithPrice(providers.Price{InputPerM: 1e6, OutputPerM: 2e6}))
	got, err := c.Complete(context.Background(), userReq("abcd")) // 1 input token, 2 output tokens
	require.NoError(t, err)
	assert.Equal(t, providers.Usage{InputTokens: 1, OutputTokens: 2}, got.Usage)
	assert.True(t, got.CostKnown)
	assert.InDelta(t, 1+4, got.CostUSD, 1e-9)
}

func TestRequestsAreRecordedAsCopies(t *testing.T) {
	c := mock.Echo()
	req := userReq("original")
	req.Extra = map[string]any{"k": 1}
	_, err := c.Complete(context.Background(), req)
	require.NoError(t, err)
	req.Messages[0].Content = "mutated"
	req.Extra["k"] = 2
	rec, ok := c.LastRequest()
	require.True(t, ok)
	assert.Equal(t, "original", rec.Messages[0].Content)
	assert.Equal(t, 1, rec.Extra["k"])
}

func TestConcurrentCallsAreAllRecorded(t *testing.T) {
	c := mock.Echo()
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = c.Complete(context.Background(), userReq("q"))
		}()
	}
	wg.Wait()
	assert.Equal(t, 50, c.Calls())
	assert.Len(t, c.Requests(), 50)
}

func TestWithEndpointChangesTheReportedProvider(t *testing.T) {
	ep := providers.Endpoint{Provider: "openai", BaseURL: "http://localhost:1"}
	c := mock.Echo(mock.WithEndpoint(ep))
	assert.Equal(t, ep, providers.EndpointOf(c))
	got, err := c.Complete(context.Background(), userReq("q"))
	require.NoError(t, err)
	assert.Equal(t, "openai", got.Provider)
}
