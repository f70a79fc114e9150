package wire_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/rebound-lab/rebound/providers"
	"github.com/rebound-lab/rebound/providers/internal/wire"
)

// x-should-retry overrides the status code, as in the official SDKs:
// anthropics/anthropic-sdk-go internal/requestconfig/requestconfig.go
// shouldRetry ("If the header explicitly wants a retry behavior, respect that
// over the http status code"); the header is kept on the APIError.
func TestXShouldRetryOverridesTheStatus(t *testing.T) {
	now := time.Unix(0, 0)
	cases := []struct {
		name   string
		status int
		header string
		want   bool
	}{
		{"400 with true is retried", 400, "true", true},
		{"503 with false is not", 503, "false", false},
		{"503 without the header is", 503, "", true},
		{"400 without the header is not", 400, "", false},
		{"garbage is ignored", 503, "maybe", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := http.Header{}
			if c.header != "" {
				h.Set("X-Should-Retry", c.header)
			}
			e := wire.ErrorFromResponse("anthropic", "m", c.status, h, []byte(`{"type":"error","error":{"type":"x","message":"y"}}`), now)
			assert.Equal(t, c.want, e.Retryable)
			assert.Equal(t, c.want, providers.IsRetryable(e))
			if c.header != "" {
				assert.Equal(t, c.header, e.Header.Get("X-Should-Retry"))
			}
			ok := wire.ErrorInOK("openrouter", "m", h, wire.Parsed{Code: "503", CodeStatus: 503, Found: true}, now)
			if c.header == "false" {
				assert.False(t, ok.Retryable)
			}
		})
	}
}

// OpenRouter relays an upstream's refusal in error.metadata.raw with a
// generic error.message (openrouter.ai/docs/api/reference/errors-and-debugging, ProviderErrorMetadata:
// {"provider_name", "raw"}); the refusal must still be recognised.
func TestPrefillRefusalInMetadataRaw(t *testing.T) {
	body := []byte(`{"error":{"code":400,"message":"Provider returned error","metadata":{"provider_name":"Anthropic","raw":"{\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\",\"message\":\"This model does not support assistant message prefill.\"}}"}}}`)
	e := wire.ErrorFromResponse("openrouter", "anthropic/claude-opus-4.6", 400, http.Header{}, body, time.Now())
	assert.True(t, wire.PrefillRejected(e), e.Message)
	assert.Contains(t, e.Message, "Provider returned error")

	p := wire.ParseError(body)
	ok := wire.ErrorInOK("openrouter", "m", http.Header{}, p, time.Now())
	assert.True(t, wire.PrefillRejected(ok), "a 200 body with error code 400 relays the refusal too")

	plain := wire.ErrorFromResponse("openrouter", "m", 400, http.Header{}, []byte(`{"error":{"code":400,"message":"Provider returned error","metadata":{"raw":"context too long"}}}`), time.Now())
	assert.False(t, wire.PrefillRejected(plain))
}

func TestOddMetadataShapesDoNotSpoilTheError(t *testing.T) {
	for _, md := range []string{`"x"`, `[1,2]`, `{"raw":{"nested":true}}`, `null`, `{"reasons":["violence"],"flagged_input":"..."}`} {
		p := wire.ParseError([]byte(`{"error":{"code":403,"message":"flagged","metadata":` + md + `}}`))
		assert.Equal(t, "flagged", p.Message, md)
		assert.Equal(t, 403, p.CodeStatus, md)
	}
}
