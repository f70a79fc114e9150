package openai

import (
	"context"
	"encoding/json"
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
	waitSlack time.Duration // and at most wantWait+waitSlack (0: unchecked)
}

// oaErr is OpenAI's error body.
func oaErr(msg, typ, code string) string {
	b, _ := json.Marshal(map[string]any{"error": map[string]any{"message": msg, "type": typ, "param": nil, "code": code}})
	return string(b)
}

func openAIErrorMatrix() []errorCase {
	httpDate := time.Now().Add(20 * time.Second).UTC().Format(http.TimeFormat)
	return []errorCase{
		{name: "400 bad request is permanent", status: 400, body: oaErr("Invalid value for 'temperature'", "invalid_request_error", "invalid_value"), wantType: "invalid_request_error"},
		{name: "401 bad key is permanent", status: 401, body: oaErr("Incorrect API key provided: sk-xx***.", "invalid_request_error", "invalid_api_key"), wantType: "invalid_request_error"},
		{name: "402 out of credits is permanent", status: 402, body: `{"error":{"code":402,"message":"Insufficient credits. Add more using https://openrouter.ai/credits"}}`},
		{name: "402 with Retry-After is retryable", status: 402, header: http.Header{"Retry-After": {"3"}}, body: `{"error":{"code":402,"message":"in-flight budget exceeded"}}`, retryable: true, wantWait: 3 * time.Second, waitSlack: time.Millisecond},
		{name: "429 with Retry-After in seconds waits that long", status: 429, header: http.Header{"Retry-After": {"7"}, "X-Ratelimit-Remaining-Requests": {"0"}, "X-Ratelimit-Reset-Requests": {"7s"}},
			body: oaErr("Rate limit reached for gpt-4o-mini", "requests", "rate_limit_exceeded"), retryable: true, sentinel: providers.ErrRateLimited, wantType: "requests", wantWait: 7 * time.Second, waitSlack: time.Millisecond},
		{name: "429 with Retry-After as an HTTP-date waits until then", status: 429, header: http.Header{"Retry-After": {httpDate}},
			body: oaErr("Rate limit reached", "tokens", "rate_limit_exceeded"), retryable: true, sentinel: providers.ErrRateLimited, wantWait: 18 * time.Second, waitSlack: 3 * time.Second},
		{name: "429 with retry-after-ms waits that long", status: 429, header: http.Header{"Retry-After-Ms": {"1500"}, "Retry-After": {"2"}},
			body: oaErr("Rate limit reached", "requests", "rate_limit_exceeded"), retryable: true, sentinel: providers.ErrRateLimited, wantWait: 1500 * time.Millisecond, waitSlack: time.Millisecond},
		{name: "500 is retryable", status: 500, body: oaErr("The server had an error while processing your request.", "server_error", ""), retryable: true, wantType: "server_error"},
		{name: "502 HTML page is retryable", status: 502, header: http.Header{"Content-Type": {"text/html"}},
			body: "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>cloudflare</center>\r\n</body>\r\n</html>\r\n", retryable: true, wantType: "Bad Gateway"},
		{name: "503 is retryable", status: 503, body: `{"error":{"code":503,"message":"No available model provider that meets your routing requirements"}}`, retryable: true},
		{name: "529 overloaded is retryable", status: 529, body: oaErr("Overloaded", "overloaded_error", ""), retryable: true, wantType: "overloaded_error"},
		{name: "200 carrying an error object is a retryable error", status: 200, body: `{"error":{"code":502,"message":"Provider returned error","metadata":{"provider_name":"Together","raw":"upstream connect error"}},"user_id":"user_2x"}`, retryable: true},
		{name: "200 carrying a 400 error object is permanent", status: 200, body: `{"error":{"code":400,"message":"context length exceeded"}}`},
		{name: "truncated JSON is retryable, not a panic", status: 200, body: `{"id":"chatcmpl-1","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"12 and th`, retryable: true, sentinel: io.ErrUnexpectedEOF, wantType: "invalid_response"},
		{name: "a response slower than the ctx deadline returns DeadlineExceeded", status: 200, delay: 300 * time.Millisecond, body: chatShape("openai", "m", "late"), sentinel: context.DeadlineExceeded},
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
	for _, preset := range []string{"openai", "openrouter"} {
		t.Run(preset, func(t *testing.T) {
			runErrorMatrix(t, openAIErrorMatrix(), func(t *testing.T, baseURL string) providers.Completer {
				c, err := New("m", Options{Preset: preset, BaseURL: baseURL, APIKey: "k"})
				require.NoError(t, err)
				return c
			}, providers.Request{Messages: testMsgs})
		})
	}
}

func TestRetryRecoversAfterA503(t *testing.T) {
	var hits atomic.Int32
	fake := newFake(t, func(w http.ResponseWriter, r *http.Request, body map[string]any) {
		if hits.Add(1) == 1 {
			writeJSON(w, 503, `{"error":{"message":"The engine is currently overloaded","type":"server_error"}}`)
			return
		}
		writeJSON(w, 200, chatShape("groq", "m", "ok"))
	})
	c, err := New("m", Options{Preset: "groq", BaseURL: fake.URL, APIKey: "k"})
	require.NoError(t, err)
	got, err := providers.Retry(providers.RetryPolicy{InitialInterval: time.Millisecond})(c).Complete(context.Background(), providers.Request{Messages: testMsgs})
	require.NoError(t, err)
	assert.Equal(t, "ok", got.Text)
	assert.EqualValues(t, 2, hits.Load())
}

func TestPrefillRejectionRelayedByARouterIsPermanent(t *testing.T) {
	fake := newFake(t, func(w http.ResponseWriter, r *http.Request, body map[string]any) {
		writeJSON(w, 400, `{"error":{"message":"This model does not support assistant message prefill. The conversation must end with a user message.","code":400,"metadata":{"provider_name":"Anthropic"}}}`)
	})
	c, err := New("anthropic/claude-sonnet-4.6", Options{Preset: "openrouter", BaseURL: fake.URL, APIKey: "k"})
	require.NoError(t, err)
	_, err = c.Complete(context.Background(), providers.Request{Messages: testMsgs, Prefill: "Step 1:"})
	require.ErrorIs(t, err, providers.ErrPrefillUnsupported)
	assert.False(t, providers.IsRetryable(err))
	var apiErr *providers.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, 400, apiErr.StatusCode)
}
