package providers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// The rule is the official SDKs': anthropics/anthropic-sdk-go and
// openai/openai-go internal/requestconfig/requestconfig.go shouldRetry
// (408, 409, 429, >= 500).
func TestRetryableStatusFollowsTheStatusCodeOnly(t *testing.T) {
	cases := []struct {
		status        int
		hasRetryAfter bool
		want          bool
	}{
		{408, false, true}, {409, false, true}, {429, false, true}, {500, false, true},
		{502, false, true}, {503, false, true}, {504, false, true}, {529, false, true},
		{400, false, false}, {401, false, false}, {403, false, false}, {404, false, false},
		{400, true, false}, {401, true, false},
		{402, false, false}, {402, true, true},
		{200, false, false}, {418, false, false}, {501, false, true},
		{520, false, true}, {521, false, true}, {522, false, true}, {523, false, true}, {524, false, true},
		{599, false, true}, {600, false, false}, {422, false, false},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%d retry-after=%v", c.status, c.hasRetryAfter), func(t *testing.T) {
			assert.Equal(t, c.want, RetryableStatus(c.status, c.hasRetryAfter))
		})
	}
}

func TestNewAPIErrorWrapsRateLimitedFor429(t *testing.T) {
	err := error(NewAPIError("openai", 429, "rate_limit_exceeded", "slow down", 2*time.Second))
	assert.ErrorIs(t, err, ErrRateLimited)
	assert.True(t, IsRetryable(err))
	assert.Equal(t, 2*time.Second, RetryAfterOf(fmt.Errorf("call: %w", err)))
	assert.Contains(t, err.Error(), "openai")
	assert.Contains(t, err.Error(), "HTTP 429")

	err = NewAPIError("anthropic", 401, "authentication_error", "bad key", 0)
	assert.NotErrorIs(t, err, ErrRateLimited)
	assert.False(t, IsRetryable(err))
}

func TestAPIErrorMessageNamesProviderModelAndStatus(t *testing.T) {
	e := NewAPIError("deepseek", 400, "invalid_request_error", "bad prefix", 0)
	e.Model = "deepseek-chat"
	assert.Equal(t, "deepseek deepseek-chat: HTTP 400 invalid_request_error: bad prefix", e.Error())
}

func TestPrefillUnsupportedIsAnUnsupportedError(t *testing.T) {
	err := fmt.Errorf("anthropic: %w", ErrPrefillUnsupported)
	assert.ErrorIs(t, err, ErrUnsupported)
	assert.False(t, IsRetryable(err))
}

func TestIsRetryableClassifiesTransportFailures(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"unexpected EOF (truncated body)", fmt.Errorf("decode: %w", io.ErrUnexpectedEOF), true},
		{"connection reset", &net.OpError{Op: "read", Err: syscall.ECONNRESET}, true},
		{"caller cancelled", context.Canceled, false},
		{"caller deadline", context.DeadlineExceeded, false},
		{"budget", fmt.Errorf("x: %w", ErrBudgetExceeded), false},
		{"unsupported", ErrUnsupported, false},
		{"plain error", errors.New("boom"), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, c.want, IsRetryable(c.err))
		})
	}
}
