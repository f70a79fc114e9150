package wire

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/providers"
)

var now = time.Date(2026, 11, 27, 15, 0, 0, 0, time.UTC)

func TestRetryAfter(t *testing.T) {
	cases := []struct {
		name string
		h    http.Header
		want time.Duration
	}{
		{"none", http.Header{}, 0},
		{"integer seconds", http.Header{"Retry-After": {"7"}}, 7 * time.Second},
		{"fractional seconds", http.Header{"Retry-After": {"0.5"}}, 500 * time.Millisecond},
		{"an HTTP-date in the future", http.Header{"Retry-After": {"Fri, 27 Nov 2026 15:00:30 GMT"}}, 30 * time.Second},
		{"an HTTP-date in the past", http.Header{"Retry-After": {"Fri, 27 Nov 2026 14:00:00 GMT"}}, 0},
		{"retry-after-ms wins", http.Header{"Retry-After-Ms": {"1500"}, "Retry-After": {"2"}}, 1500 * time.Millisecond},
		{"garbage", http.Header{"Retry-After": {"soon"}}, 0},
		{"negative", http.Header{"Retry-After": {"-3"}}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { assert.Equal(t, tc.want, RetryAfter(tc.h, now)) })
	}
}

func TestParseErrorShapes(t *testing.T) {
	cases := []struct {
		name, body     string
		typ, code, msg string
		codeStatus     int
		found          bool
	}{
		{"OpenAI", `{"error":{"message":"bad","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`, "invalid_request_error", "invalid_api_key", "bad", 0, true},
		{"OpenRouter numeric code", `{"error":{"code":429,"message":"slow","metadata":{}}}`, "", "429", "slow", 429, true},
		{"Anthropic", `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`, "overloaded_error", "", "Overloaded", 0, true},
		{"Ollama string", `{"error":"model 'x' not found"}`, "", "", "model 'x' not found", 0, true},
		{"vLLM object error", `{"object":"error","message":"too long","type":"BadRequestError","code":400}`, "BadRequestError", "400", "too long", 400, true},
		{"FastAPI detail", `{"detail":"Not Found"}`, "", "", "Not Found", 0, true},
		{"not JSON", `<html>`, "", "", "", 0, false},
		{"a success body", `{"id":"x","choices":[]}`, "", "", "", 0, false},
		{"null error", `{"error":null,"choices":[]}`, "", "", "", 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := ParseError([]byte(tc.body))
			assert.Equal(t, Parsed{Type: tc.typ, Code: tc.code, Message: tc.msg, CodeStatus: tc.codeStatus, Found: tc.found}, p)
		})
	}
}

func TestErrorFromResponse(t *testing.T) {
	h := http.Header{"Content-Type": {"text/html"}, "Retry-After": {"3"}, "X-Ratelimit-Remaining-Tokens": {"0"}, "Server": {"nginx"}}
	e := ErrorFromResponse("groq", "llama", 502, h, []byte("<html><head><title>502 Bad Gateway</title></head></html>"), now)
	assert.Equal(t, "HTML error page: 502 Bad Gateway", e.Message)
	assert.Equal(t, "Bad Gateway", e.Type)
	assert.Equal(t, 3*time.Second, e.RetryAfter)
	assert.True(t, e.Retryable)
	assert.Equal(t, "llama", e.Model)
	assert.Equal(t, "0", e.Header.Get("X-Ratelimit-Remaining-Tokens"))
	assert.Empty(t, e.Header.Get("Server"), "only retry and rate-limit headers are kept")

	e = ErrorFromResponse("x", "m", 429, http.Header{}, []byte(`{"error":{"message":"slow","type":"requests"}}`), now)
	assert.ErrorIs(t, e, providers.ErrRateLimited)
	e = ErrorFromResponse("x", "m", 503, http.Header{}, nil, now)
	assert.Equal(t, "empty body", e.Message)
}

func TestPrefillRejected(t *testing.T) {
	e := providers.NewAPIError("anthropic", 400, "invalid_request_error", "This model does not support assistant message prefill. The conversation must end with a user message.", 0)
	assert.True(t, PrefillRejected(e))
	MarkPrefillUnsupported(e)
	assert.ErrorIs(t, e, providers.ErrPrefillUnsupported)
	assert.False(t, providers.IsRetryable(e))
	assert.False(t, PrefillRejected(providers.NewAPIError("a", 400, "invalid_request_error", "max_tokens required", 0)))
	assert.False(t, PrefillRejected(providers.NewAPIError("a", 500, "", "prefill", 0)))
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("connection reset by peer") }

func TestReadBodyFailuresAreRetryable(t *testing.T) {
	_, err := ReadBody(io.MultiReader(strings.NewReader("{\"id\":"), failingReader{}))
	require.Error(t, err)
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
	assert.True(t, providers.IsRetryable(err))
	e := InvalidJSON("p", "m", 200, nil, []byte(`{"id":`))
	assert.True(t, e.Retryable)
	assert.Contains(t, e.Message, "not valid JSON")
}

func FuzzParseError(f *testing.F) {
	for _, s := range []string{`{"error":{"code":429,"message":"x"}}`, `{"error":"x"}`, `{"type":"error","error":{"type":"a"}}`, `{"object":"error","code":"500"}`, `<html><title>x</title>`, `{"detail":[1]}`, `{"error":{"message":{"nested":true}}}`} {
		f.Add(s, "7")
	}
	f.Add("", "Fri, 27 Nov 2026 15:00:30 GMT")
	f.Fuzz(func(t *testing.T, body, retryAfter string) {
		p := ParseError([]byte(body))
		if p.CodeStatus != 0 && (p.CodeStatus < 400 || p.CodeStatus > 599) {
			t.Fatalf("CodeStatus %d out of range", p.CodeStatus)
		}
		h := http.Header{"Retry-After": {retryAfter}, "Content-Type": {"text/html"}}
		if d := RetryAfter(h, now); d < 0 {
			t.Fatalf("negative wait %v", d)
		}
		for _, status := range []int{400, 429, 502, 529} {
			e := ErrorFromResponse("p", "m", status, h, []byte(body), now)
			if e.StatusCode != status || e.RetryAfter < 0 || len(e.Message) > 1000 {
				t.Fatalf("bad error %+v", e)
			}
		}
	})
}
