package providers_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/providers"
	"github.com/rebound-lab/rebound/providers/mock"
)

var quick = providers.RetryPolicy{InitialInterval: time.Millisecond, MaxInterval: 2 * time.Millisecond}

func ask(text string) providers.Request {
	return providers.Request{Model: "m", Messages: []providers.Message{{Role: providers.RoleUser, Content: text}}}
}

func TestPermanentErrorsAreNotRetried(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"400 bad request", mock.APIError(400, 0)},
		{"401 unauthorized", mock.APIError(401, 0)},
		{"403 forbidden", mock.APIError(403, 0)},
		{"404 not found", mock.APIError(404, 0)},
		{"402 without retry-after", mock.APIError(http.StatusPaymentRequired, 0)},
		{"unsupported", fmt.Errorf("extra field: %w", providers.ErrUnsupported)},
		{"prefill unsupported", providers.ErrPrefillUnsupported},
		{"budget", providers.ErrBudgetExceeded},
		{"plain error", errors.New("bug")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			retried := 0
			p := quick
			p.OnRetry = func(int, error, time.Duration) { retried++ }
			m := mock.Script([]mock.Step{mock.Fail(tc.err), mock.Reply("never")})
			_, err := providers.Retry(p)(m).Complete(context.Background(), ask("q"))
			assert.Equal(t, tc.err, err, "a permanent error is returned unchanged")
			assert.Equal(t, 1, m.Calls())
			assert.Zero(t, retried)
		})
	}
}

func TestRetryableErrorsAreRetriedUntilSuccess(t *testing.T) {
	for _, status := range []int{408, 409, 429, 500, 502, 503, 504, 529} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			m := mock.FailThenSucceed(2, status, providers.Completion{Text: "ok"})
			got, err := providers.Retry(quick)(m).Complete(context.Background(), ask("q"))
			require.NoError(t, err)
			assert.Equal(t, "ok", got.Text)
			assert.Equal(t, 3, m.Calls())
		})
	}
}

func TestRetryGivesUpAfterMaxAttemptsKeepingTheError(t *testing.T) {
	p := quick
	p.MaxAttempts = 3
	var attempts []int
	p.OnRetry = func(a int, err error, wait time.Duration) { attempts = append(attempts, a) }
	m := mock.AlwaysFail(429)
	_, err := providers.Retry(p)(m).Complete(context.Background(), ask("q"))
	require.Error(t, err)
	assert.Equal(t, 3, m.Calls())
	assert.Equal(t, []int{1, 2}, attempts)
	assert.ErrorIs(t, err, providers.ErrRateLimited)
	var apiErr *providers.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, 429, apiErr.StatusCode)
}

func TestRetryWaitIsCutShortByCancellation(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	p := providers.RetryPolicy{InitialInterval: time.Hour, MaxElapsed: -1, OnRetry: func(int, error, time.Duration) { cancel() }}
	start := time.Now()
	_, err := providers.Retry(p)(mock.AlwaysFail(503)).Complete(ctx, ask("q"))
	assert.ErrorIs(t, err, context.Canceled)
	assert.Less(t, time.Since(start), time.Minute, "the hour-long wait was not honoured after cancel")
}

func TestRetryDoesNotStartAWaitThatOutlivesTheDeadline(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	m := mock.New(func(context.Context, providers.Request) (providers.Completion, error) {
		return providers.Completion{}, mock.APIError(429, time.Hour)
	})
	_, err := providers.Retry(quick)(m).Complete(ctx, ask("q"))
	assert.ErrorIs(t, err, providers.ErrRateLimited)
	assert.Equal(t, 1, m.Calls())
	assert.NoError(t, ctx.Err())
}

func TestEveryMiddlewareForwardsTheEndpoint(t *testing.T) {
	ep := providers.Endpoint{Provider: "openai", BaseURL: "http://127.0.0.1:9"}
	inner := mock.Echo(mock.WithEndpoint(ep))
	for name, mw := range map[string]providers.Middleware{
		"retry":       providers.Retry(providers.RetryPolicy{}),
		"ratelimit":   providers.RateLimit(60, 1000),
		"concurrency": providers.Concurrency(2),
		"ledger":      providers.NewLedger().Middleware(),
		"pricing":     providers.Pricing(providers.DefaultPrices()),
		"budget":      providers.NewBudget(providers.BudgetConfig{LimitUSD: 1}).Middleware(),
		"cache":       providers.Cache(providers.NewMemoryCache()),
	} {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, ep, providers.EndpointOf(mw(inner)))
		})
	}
}
