package wire

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestRetryAfterIsCappedAndNeverNegative(t *testing.T) {
	now := time.Date(2026, 11, 27, 15, 0, 0, 0, time.UTC)
	cases := []struct {
		name string
		h    http.Header
		want time.Duration
	}{
		{"seconds that overflow a Duration (found by FuzzParseError)", http.Header{"Retry-After": {"10000000000"}}, MaxRetryAfter},
		{"infinite seconds", http.Header{"Retry-After": {"+Inf"}}, MaxRetryAfter},
		{"NaN seconds", http.Header{"Retry-After": {"NaN"}}, 0},
		{"milliseconds that overflow", http.Header{"Retry-After-Ms": {"1e300"}}, MaxRetryAfter},
		{"a date years ahead", http.Header{"Retry-After": {"Fri, 27 Nov 2099 15:00:00 GMT"}}, MaxRetryAfter},
		{"an ordinary wait is kept", http.Header{"Retry-After": {"7"}}, 7 * time.Second},
		{"an ordinary wait in ms is kept", http.Header{"Retry-After-Ms": {"250"}}, 250 * time.Millisecond},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, c.want, RetryAfter(c.h, now))
		})
	}
}
