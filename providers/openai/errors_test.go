package openai

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/providers"
	"github.com/rebound-lab/rebound/providers/internal/errmatrix"
)

// oaErr is OpenAI's error body.
func oaErr(msg, typ, code string) string {
	b, _ := json.Marshal(map[string]any{"error": map[string]any{"message": msg, "type": typ, "param": nil, "code": code}})
	return string(b)
}

// openAIErrorMatrix is the chat-completions rows of the error matrix, in
// OpenAI's error shape and the bare shapes routers such as OpenRouter send.
func openAIErrorMatrix() []errmatrix.Case {
	httpDate := time.Now().Add(20 * time.Second).UTC().Format(http.TimeFormat)
	return []errmatrix.Case{
		{Name: "400 bad request is permanent", Status: 400, Body: oaErr("Invalid value for 'temperature'", "invalid_request_error", "invalid_value"), WantType: "invalid_request_error"},
		{Name: "401 bad key is permanent", Status: 401, Body: oaErr("Incorrect API key provided: sk-xx***.", "invalid_request_error", "invalid_api_key"), WantType: "invalid_request_error"},
		{Name: "402 out of credits is permanent", Status: 402, Body: `{"error":{"code":402,"message":"Insufficient credits. Add more using https://openrouter.ai/credits"}}`},
		{Name: "402 with Retry-After is retryable", Status: 402, Header: http.Header{"Retry-After": {"3"}}, Body: `{"error":{"code":402,"message":"in-flight budget exceeded"}}`, Retryable: true, WantWait: 3 * time.Second, WaitSlack: time.Millisecond},
		{Name: "429 with Retry-After in seconds waits that long", Status: 429, Header: http.Header{"Retry-After": {"7"}, "X-Ratelimit-Remaining-Requests": {"0"}, "X-Ratelimit-Reset-Requests": {"7s"}},
			Body: oaErr("Rate limit reached for gpt-4o-mini", "requests", "rate_limit_exceeded"), Retryable: true, Sentinel: providers.ErrRateLimited, WantType: "requests", WantWait: 7 * time.Second, WaitSlack: time.Millisecond},
		{Name: "429 with Retry-After as an HTTP-date waits until then", Status: 429, Header: http.Header{"Retry-After": {httpDate}},
			Body: oaErr("Rate limit reached", "tokens", "rate_limit_exceeded"), Retryable: true, Sentinel: providers.ErrRateLimited, WantWait: 18 * time.Second, WaitSlack: 3 * time.Second},
		{Name: "429 with retry-after-ms waits that long", Status: 429, Header: http.Header{"Retry-After-Ms": {"1500"}, "Retry-After": {"2"}},
			Body: oaErr("Rate limit reached", "requests", "rate_limit_exceeded"), Retryable: true, Sentinel: providers.ErrRateLimited, WantWait: 1500 * time.Millisecond, WaitSlack: time.Millisecond},
		{Name: "500 is retryable", Status: 500, Body: oaErr("The server had an error while processing your request.", "server_error", ""), Retryable: true, WantType: "server_error"},
		{Name: "502 HTML page is retryable", Status: 502, Header: http.Header{"Content-Type": {"text/html"}},
			Body: "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>cloudflare</center>\r\n</body>\r\n</html>\r\n", Retryable: true, WantType: "Bad Gateway"},
		{Name: "503 is retryable", Status: 503, Body: `{"error":{"code":503,"message":"No available model provider that meets your routing requirements"}}`, Retryable: true},
		{Name: "529 overloaded is retryable", Status: 529, Body: oaErr("Overloaded", "overloaded_error", ""), Retryable: true, WantType: "overloaded_error"},
		{Name: "200 carrying an error object is a retryable error", Status: 200, Body: `{"error":{"code":502,"message":"Provider returned error","metadata":{"provider_name":"Together","raw":"upstream connect error"}},"user_id":"user_2x"}`, Retryable: true},
		{Name: "200 carrying a 400 error object is permanent", Status: 200, Body: `{"error":{"code":400,"message":"context length exceeded"}}`},
		{Name: "truncated JSON is retryable, not a panic", Status: 200, Body: `{"id":"chatcmpl-1","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"12 and th`, Retryable: true, Sentinel: io.ErrUnexpectedEOF, WantType: "invalid_response"},
		{Name: "a response slower than the ctx deadline returns DeadlineExceeded", Status: 200, Delay: 300 * time.Millisecond, Body: chatShape("openai", "m", "late"), Sentinel: context.DeadlineExceeded},
	}
}

func TestErrorMatrixThroughRetry(t *testing.T) {
	for _, preset := range []string{"openai", "openrouter"} {
		t.Run(preset, func(t *testing.T) {
			errmatrix.Run(t, openAIErrorMatrix(), func(t *testing.T, baseURL string) providers.Completer {
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
