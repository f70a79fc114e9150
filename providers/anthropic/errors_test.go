package anthropic

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/providers"
	"github.com/rebound-lab/rebound/providers/internal/errmatrix"
)

// anthropicErrorMatrix is the Messages API's rows of the error matrix,
// in Anthropic's error shape with its anthropic-ratelimit-* headers.
func anthropicErrorMatrix() []errmatrix.Case {
	httpDate := time.Now().Add(20 * time.Second).UTC().Format(http.TimeFormat)
	rl := func(extra http.Header) http.Header {
		h := http.Header{
			"Anthropic-Ratelimit-Requests-Limit":     {"50"},
			"Anthropic-Ratelimit-Requests-Remaining": {"0"},
			"Anthropic-Ratelimit-Requests-Reset":     {"2026-11-27T15:00:07Z"},
		}
		for k, v := range extra {
			h[k] = v
		}
		return h
	}
	return []errmatrix.Case{
		{Name: "400 invalid request is permanent", Status: 400, Body: errShape("invalid_request_error", "max_tokens: Field required"), WantType: "invalid_request_error"},
		{Name: "401 authentication error is permanent", Status: 401, Body: errShape("authentication_error", "invalid x-api-key"), WantType: "authentication_error"},
		{Name: "402 billing error is permanent", Status: 402, Body: errShape("billing_error", "Your credit balance is too low"), WantType: "billing_error"},
		{Name: "429 with Retry-After in seconds waits that long", Status: 429, Header: rl(http.Header{"Retry-After": {"7"}}),
			Body: errShape("rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit"), Retryable: true, Sentinel: providers.ErrRateLimited, WantType: "rate_limit_error", WantWait: 7 * time.Second, WaitSlack: time.Millisecond},
		{Name: "429 with Retry-After as an HTTP-date waits until then", Status: 429, Header: rl(http.Header{"Retry-After": {httpDate}}),
			Body: errShape("rate_limit_error", "rate limited"), Retryable: true, Sentinel: providers.ErrRateLimited, WantWait: 18 * time.Second, WaitSlack: 3 * time.Second},
		{Name: "500 api error is retryable", Status: 500, Body: errShape("api_error", "Internal server error"), Retryable: true, WantType: "api_error"},
		{Name: "502 HTML page is retryable", Status: 502, Header: http.Header{"Content-Type": {"text/html"}},
			Body: "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>", Retryable: true},
		{Name: "503 is retryable", Status: 503, Body: errShape("api_error", "Service unavailable"), Retryable: true},
		{Name: "529 overloaded is retryable", Status: 529, Body: errShape("overloaded_error", "Overloaded"), Retryable: true, WantType: "overloaded_error"},
		{Name: "200 carrying an error is a retryable error", Status: 200, Body: errShape("overloaded_error", "Overloaded"), Retryable: true, WantType: "overloaded_error"},
		{Name: "truncated JSON is retryable, not a panic", Status: 200, Body: `{"id":"msg_01","type":"message","role":"assistant","content":[{"type":"text","text":"12 and`, Retryable: true, Sentinel: io.ErrUnexpectedEOF, WantType: "invalid_response"},
		{Name: "a response slower than the ctx deadline returns DeadlineExceeded", Status: 200, Delay: 300 * time.Millisecond, Body: messageShape("m", "late"), Sentinel: context.DeadlineExceeded},
	}
}

func TestErrorMatrixThroughRetry(t *testing.T) {
	errmatrix.Run(t, anthropicErrorMatrix(), func(t *testing.T, baseURL string) providers.Completer {
		c, err := New("claude-sonnet-4-5", Options{BaseURL: baseURL, APIKey: "k"})
		require.NoError(t, err)
		return c
	}, providers.Request{Messages: testMsgs, Prefill: "Step 1:"})
}
