package anthropic

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/providers"
)

// errorCase is one row of the end-to-end error matrix: what the server
// answers and what the caller must see through the Retry middleware.
type errorCase struct {
	name      string
	status    int
	header    http.Header
	body      string
	delay     time.Duration // server sleeps this long first
	retryable bool
	sentinel  error         // errors.Is target, if any
	wantType  string        // APIError.Type
	wantWait  time.Duration // the wait Retry chooses is at least this
	waitSlack time.Duration // and at most wantWait+waitSlack
}

func anthropicErrorMatrix() []errorCase {
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
	return []errorCase{
		{name: "400 invalid request is permanent", status: 400, body: errShape("invalid_request_error", "max_tokens: Field required"), wantType: "invalid_request_error"},
		{name: "401 authentication error is permanent", status: 401, body: errShape("authentication_error", "invalid x-api-key"), wantType: "authentication_error"},
		{name: "402 billing error is permanent", status: 402, body: errShape("billing_error", "Your credit balance is too low"), wantType: "billing_error"},
		{name: "429 with Retry-After in seconds waits that long", status: 429, header: rl(http.Header{"Retry-After": {"7"}}),
			body: errShape("rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit"), retryable: true, sentinel: providers.ErrRateLimited, wantType: "rate_limit_error", wantWait: 7 * time.Second, waitSlack: time.Millisecond},
		{name: "429 with Retry-After as an HTTP-date waits until then", status: 429, header: rl(http.Header{"Retry-After": {httpDate}}),
			body: errShape("rate_limit_error", "rate limited"), retryable: true, sentinel: providers.ErrRateLimited, wantWait: 18 * time.Second, waitSlack: 3 * time.Second},
		{name: "500 api error is retryable", status: 500, body: errShape("api_error", "Internal server error"), retryable: true, wantType: "api_error"},
		{name: "502 HTML page is retryable", status: 502, header: http.Header{"Content-Type": {"text/html"}},
			body: "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>", retryable: true},
		{name: "503 is retryable", status: 503, body: errShape("api_error", "Service unavailable"), retryable: true},
		{name: "529 overloaded is retryable", status: 529, body: errShape("overloaded_error", "Overloaded"), retryable: true, wantType: "overloaded_error"},
		{name: "200 carrying an error is a retryable error", status: 200, body: errShape("overloaded_error", "Overloaded"), retryable: true, wantType: "overloaded_error"},
		{name: "truncated JSON is retryable, not a panic", status: 200, body: `{"id":"msg_01","type":"message","role":"assistant","content":[{"type":"text","text":"12 and`, retryable: true, sentinel: io.ErrUnexpectedEOF, wantType: "invalid_response"},
		{name: "a response slower than the ctx deadline returns DeadlineExceeded", status: 200, delay: 300 * time.Millisecond, body: messageShape("m", "late"), sentinel: context.DeadlineExceeded},
	}
}

// runErrorMatrix drives every case through providers.Retry end to end.
func runErrorMatrix(t *testing.T, cases []errorCase, open func(t *testing.T, baseURL string) providers.Completer, req providers.Request) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var hits atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				hits.Add(1)
				if tc.delay > 0 {
					select {
					case <-time.After(tc.delay):
					case <-r.Context().Done():
						return
					}
				}
				for k, vs := range tc.header {
					w.Header()[k] = vs
				}
				if w.Header().Get("Content-Type") == "" {
					w.Header().Set("Content-Type", "application/json")
				}
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.body)
			}))
			defer srv.Close()
			c := open(t, srv.URL)

			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			if tc.delay > 0 {
				cancel()
				ctx, cancel = context.WithTimeout(context.Background(), 100*time.Millisecond)
			}
			defer cancel()
			var waits []time.Duration
			var retried error
			const attempts = 3
			policy := providers.RetryPolicy{MaxAttempts: attempts, InitialInterval: time.Millisecond, MaxInterval: 2 * time.Millisecond,
				RandomizationFactor: -1, MaxElapsed: -1,
				OnRetry: func(_ int, err error, wait time.Duration) {
					waits = append(waits, wait)
					retried = err
					if wait > time.Second {
						cancel() // observe the chosen wait without sleeping through it
					}
				}}
			_, err := providers.Retry(policy)(c).Complete(ctx, req)
			require.Error(t, err)
			if tc.wantWait > time.Second {
				// Retry stopped in its wait because the test cancelled;
				// the adapter's error is the one it was retrying.
				require.ErrorIs(t, err, context.Canceled)
				err = retried
			}
			if tc.sentinel != nil {
				assert.ErrorIs(t, err, tc.sentinel)
			}
			if tc.delay > 0 {
				assert.EqualValues(t, 1, hits.Load(), "a deadline is not retried")
				return
			}
			var apiErr *providers.APIError
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, tc.status, apiErr.StatusCode)
			assert.Equal(t, tc.retryable, apiErr.Retryable)
			assert.NotEmpty(t, apiErr.Provider)
			assert.NotEmpty(t, apiErr.Model, "the error names the model")
			assert.NotEmpty(t, apiErr.Message, "the error carries a message")
			if tc.wantType != "" {
				assert.Equal(t, tc.wantType, apiErr.Type)
			}
			switch {
			case !tc.retryable:
				assert.EqualValues(t, 1, hits.Load(), "a permanent error is not retried")
				assert.Empty(t, waits)
			case tc.wantWait > time.Second:
				require.Len(t, waits, 1)
				assert.GreaterOrEqual(t, waits[0], tc.wantWait)
				assert.LessOrEqual(t, waits[0], tc.wantWait+tc.waitSlack)
				assert.EqualValues(t, 1, hits.Load())
				assert.GreaterOrEqual(t, apiErr.RetryAfter, tc.wantWait)
			default:
				assert.EqualValues(t, attempts, hits.Load(), "a retryable error is retried until attempts run out")
				if tc.wantWait > 0 {
					require.NotEmpty(t, waits)
					assert.GreaterOrEqual(t, waits[0], tc.wantWait)
					assert.LessOrEqual(t, waits[0], tc.wantWait+tc.waitSlack)
				}
			}
			for k := range tc.header {
				if k != "Content-Type" {
					assert.NotEmpty(t, apiErr.Header.Get(k), "header %s is kept on the error", k)
				}
			}
		})
	}
}

func TestErrorMatrixThroughRetry(t *testing.T) {
	runErrorMatrix(t, anthropicErrorMatrix(), func(t *testing.T, baseURL string) providers.Completer {
		c, err := New("claude-sonnet-4-5", Options{BaseURL: baseURL, APIKey: "k"})
		require.NoError(t, err)
		return c
	}, providers.Request{Messages: testMsgs, Prefill: "Step 1:"})
}
