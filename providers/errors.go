package providers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"
)

// Sentinel errors. Match them with errors.Is.
var (
	// ErrRateLimited: the provider answered 429 (an *APIError wraps it).
	ErrRateLimited = errors.New("rate limited")
	// ErrUnsupported: the adapter cannot send something the request asks for
	// (an Extra field, a knob).
	ErrUnsupported = errors.New("unsupported by this provider")
	// ErrPrefillUnsupported: the provider or model cannot continue a prefill
	// with the requested method. It wraps ErrUnsupported.
	ErrPrefillUnsupported = fmt.Errorf("prefill %w", ErrUnsupported)
	// ErrBudgetExceeded: a call would push spending over the budget.
	ErrBudgetExceeded = errors.New("budget exceeded")
)

// APIError is an error reported by a provider's API (or the HTTP layer in
// front of it). Retryability is decided by status code, never by message
// text; see RetryableStatus.
type APIError struct {
	Provider   string        // registry name, e.g. "openai"
	Model      string        // model of the failed request, if known
	StatusCode int           // HTTP status; 200 for an error carried in a 200 body
	Type       string        // provider's error type, e.g. "overloaded_error"
	Code       string        // provider's error code, if any
	Message    string        // provider's message
	RetryAfter time.Duration // server-requested minimum wait; 0 if none
	Retryable  bool          // whether retrying may succeed
	Err        error         // wrapped sentinel or cause, may be nil
	// Header holds the response headers worth keeping (Retry-After,
	// retry-after-ms, x-ratelimit-*, anthropic-ratelimit-*, request ids);
	// nil if the adapter captured none.
	Header http.Header
}

// Error describes the failure naming provider, model and status.
func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString(e.Provider)
	if e.Model != "" {
		b.WriteString(" ")
		b.WriteString(e.Model)
	}
	fmt.Fprintf(&b, ": HTTP %d", e.StatusCode)
	if e.Type != "" {
		b.WriteString(" ")
		b.WriteString(e.Type)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter)
	}
	if e.Err != nil && !strings.Contains(b.String(), e.Err.Error()) {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the wrapped sentinel or cause.
func (e *APIError) Unwrap() error { return e.Err }

// RetryableStatus reports whether an HTTP status is worth retrying, as the
// official SDKs decide (anthropic-sdk-go and openai-go
// internal/requestconfig shouldRetry): 408, 409, 429 and every status ≥ 500
// (529 overloaded, Cloudflare's 520–524 in front of routers) are; 402 only
// when the server sent a Retry-After; 400, 401, 403, 404 and every other
// status are not. A response's x-should-retry header overrides this (see
// ShouldRetryHeader).
func RetryableStatus(status int, hasRetryAfter bool) bool {
	switch {
	case status == http.StatusRequestTimeout, status == http.StatusConflict, status == http.StatusTooManyRequests:
		return true
	case status >= http.StatusInternalServerError && status <= 599:
		return true
	case status == http.StatusPaymentRequired:
		return hasRetryAfter
	}
	return false
}

// ShouldRetryHeader reads a response's x-should-retry header, which the
// official SDKs obey over the status code: it returns (true, true) for
// "true", (false, true) for "false" and (false, false) when the header is
// absent or holds anything else.
func ShouldRetryHeader(h http.Header) (retry, present bool) {
	switch strings.TrimSpace(h.Get("X-Should-Retry")) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

// NewAPIError builds an *APIError whose Retryable field follows
// RetryableStatus and which wraps ErrRateLimited for a 429.
func NewAPIError(provider string, status int, typ, msg string, retryAfter time.Duration) *APIError {
	e := &APIError{
		Provider:   provider,
		StatusCode: status,
		Type:       typ,
		Message:    msg,
		RetryAfter: retryAfter,
		Retryable:  RetryableStatus(status, retryAfter > 0),
	}
	if status == http.StatusTooManyRequests {
		e.Err = ErrRateLimited
	}
	return e
}

// IsRetryable reports whether err is worth retrying: an *APIError says so
// itself; transport failures (timeouts of a single attempt, connection
// resets, unexpected EOF) are retryable; context cancellation, budget and
// unsupported-feature errors are not.
func IsRetryable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, ErrBudgetExceeded) || errors.Is(err, ErrUnsupported) {
		return false
	}
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		return apiErr.Retryable
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() && !errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	return false
}

// RetryAfterOf returns the server-requested minimum wait carried by err, or 0.
func RetryAfterOf(err error) time.Duration {
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		return apiErr.RetryAfter
	}
	return 0
}
