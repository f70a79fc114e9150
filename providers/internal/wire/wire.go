// Package wire holds the HTTP plumbing Rebound's provider adapters share:
// reading bodies safely, parsing Retry-After in all its forms, keeping the
// rate-limit headers, and turning an HTTP error response (JSON in any of the
// common shapes, or an HTML error page) into a *providers.APIError.
package wire

import (
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/rebound-lab/rebound/providers"
)

// MaxBody caps how much of a response body is read (32 MiB).
const MaxBody = 32 << 20

// ReadBody reads at most MaxBody bytes of r. A body cut short by the network
// yields an error wrapping io.ErrUnexpectedEOF, which providers.IsRetryable
// treats as retryable.
func ReadBody(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxBody+1))
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return b, fmt.Errorf("reading response body: %w", err)
		}
		return b, fmt.Errorf("reading response body: %w (%w)", err, io.ErrUnexpectedEOF)
	}
	if len(b) > MaxBody {
		return nil, fmt.Errorf("response body larger than %d bytes", MaxBody)
	}
	return b, nil
}

// MaxRetryAfter caps the wait RetryAfter returns: a server asking for more
// (or for an absurd number that would overflow a Duration) gets this.
const MaxRetryAfter = 24 * time.Hour

// RetryAfter returns the wait a response asks for: retry-after-ms (OpenAI),
// else Retry-After as (possibly fractional) seconds or an HTTP-date relative
// to now, at most MaxRetryAfter. It returns 0 when there is none, it is in
// the past or it is not a number (NaN).
func RetryAfter(h http.Header, now time.Time) time.Duration {
	if v := strings.TrimSpace(h.Get("Retry-After-Ms")); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms > 0 {
			return capWait(ms, time.Millisecond)
		}
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		if !(s > 0) {
			return 0
		}
		return capWait(s, time.Second)
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return min(d.Round(time.Second), MaxRetryAfter)
		}
	}
	return 0
}

// capWait converts n units (positive, possibly +Inf) to a Duration of at
// most MaxRetryAfter, without overflowing.
func capWait(n float64, unit time.Duration) time.Duration {
	if n >= float64(MaxRetryAfter/unit) {
		return MaxRetryAfter
	}
	return time.Duration(n * float64(unit))
}

// KeepHeaders returns the headers worth keeping on an error or a completion:
// retry hints, rate-limit counters and request ids. It returns nil if there
// are none.
func KeepHeaders(h http.Header) http.Header {
	var out http.Header
	for k, vs := range h {
		lk := strings.ToLower(k)
		if lk == "retry-after" || lk == "retry-after-ms" || lk == "request-id" || lk == "x-request-id" || lk == "x-should-retry" ||
			strings.HasPrefix(lk, "x-ratelimit-") || strings.HasPrefix(lk, "anthropic-ratelimit-") ||
			strings.HasPrefix(lk, "ratelimit") {
			if out == nil {
				out = http.Header{}
			}
			out[k] = append([]string(nil), vs...)
		}
	}
	return out
}

// errorBody covers the error shapes seen in the wild:
//
//	OpenAI, Groq, Together, DeepSeek: {"error": {"message", "type", "code", "param"}}
//	OpenRouter:                      {"error": {"code": 429, "message", "metadata"}}
//	Anthropic:                       {"type": "error", "error": {"type", "message"}}
//	Ollama:                          {"error": "message"}
//	vLLM, SGLang, Mistral:           {"object": "error", "message", "type", "code"}
type errorBody struct {
	Error   json.RawMessage `json:"error"`
	Message json.RawMessage `json:"message"`
	Type    json.RawMessage `json:"type"`
	Code    json.RawMessage `json:"code"`
	Detail  json.RawMessage `json:"detail"`
}

type errorObject struct {
	Message json.RawMessage `json:"message"`
	Type    json.RawMessage `json:"type"`
	Code    json.RawMessage `json:"code"`
	// Metadata is OpenRouter's error.metadata, any shape (read apart, so
	// an unexpected one never spoils the rest).
	Metadata json.RawMessage `json:"metadata"`
}

// Parsed is what ParseError found in an error body.
type Parsed struct {
	Type, Code, Message string
	// CodeStatus is Code read as an HTTP status (OpenRouter puts one there);
	// 0 if Code is not a status.
	CodeStatus int
	// Raw is OpenRouter's error.metadata.raw: the upstream host's own error
	// text, relayed (e.g. a prefill refusal); "" if absent.
	Raw string
	// Found reports that the body held a recognisable error.
	Found bool
}

// ParseError reads an error out of body in any known shape: an "error"
// member (object or string), or a top-level type/message/detail.
func ParseError(body []byte) Parsed {
	var eb errorBody
	if json.Unmarshal(body, &eb) != nil {
		return Parsed{}
	}
	var p Parsed
	if len(eb.Error) > 0 && string(eb.Error) != "null" {
		var obj errorObject
		if json.Unmarshal(eb.Error, &obj) == nil {
			p = Parsed{Type: scalar(obj.Type), Code: scalar(obj.Code), Message: scalar(obj.Message), Found: true}
			var md struct {
				Raw json.RawMessage `json:"raw"`
			}
			if len(obj.Metadata) > 0 && json.Unmarshal(obj.Metadata, &md) == nil {
				p.Raw = scalar(md.Raw)
			}
		} else if s := scalar(eb.Error); s != "" {
			p = Parsed{Message: s, Found: true}
		}
		if p.Type == "" && scalar(eb.Type) != "error" {
			p.Type = scalar(eb.Type)
		}
	} else if scalar(eb.Type) != "" || scalar(eb.Message) != "" || len(eb.Detail) > 0 {
		p = Parsed{Type: scalar(eb.Type), Code: scalar(eb.Code), Message: scalar(eb.Message), Found: true}
		if p.Message == "" {
			p.Message = scalar(eb.Detail)
		}
	}
	if n, err := strconv.Atoi(p.Code); err == nil && n >= 400 && n <= 599 {
		p.CodeStatus = n
	}
	return p
}

// scalar renders a JSON string, number or bool as text; objects and arrays
// are kept as compact JSON.
func scalar(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return clip(string(raw), 300)
}

var titleRE = regexp.MustCompile(`(?is)<title[^>]*>(.*?)</title>|<h1[^>]*>(.*?)</h1>`)
var tagRE = regexp.MustCompile(`(?s)<[^>]*>`)

// ErrorFromResponse builds the *providers.APIError for a non-2xx response:
// status and headers decide retryability and wait; the body supplies type,
// code and message (an HTML page is summarised by its title).
func ErrorFromResponse(provider, model string, status int, h http.Header, body []byte, now time.Time) *providers.APIError {
	ra := RetryAfter(h, now)
	p := ParseError(body)
	msg := p.Message
	typ := p.Type
	if !p.Found {
		msg = summarise(h, body)
		if typ == "" {
			typ = http.StatusText(status)
		}
	}
	if p.Raw != "" && !strings.Contains(msg, p.Raw) {
		msg += " (upstream: " + p.Raw + ")"
	}
	e := providers.NewAPIError(provider, status, typ, msg, ra)
	e.Model = model
	e.Code = p.Code
	e.Header = KeepHeaders(h)
	if retry, ok := providers.ShouldRetryHeader(h); ok {
		e.Retryable = retry
	}
	return e
}

// summarise describes a body that is not a JSON error: the title of an HTML
// page, or the start of the text.
func summarise(h http.Header, body []byte) string {
	ct := strings.ToLower(h.Get("Content-Type"))
	s := string(body)
	if strings.Contains(ct, "html") || strings.Contains(strings.ToLower(firstBytes(s, 512)), "<html") || strings.HasPrefix(strings.TrimSpace(s), "<") {
		if m := titleRE.FindStringSubmatch(s); m != nil {
			t := m[1]
			if t == "" {
				t = m[2]
			}
			t = strings.TrimSpace(html.UnescapeString(tagRE.ReplaceAllString(t, "")))
			if t != "" {
				return "HTML error page: " + clip(t, 200)
			}
		}
		return "HTML error page"
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return "empty body"
	}
	return clip(s, 300)
}

func firstBytes(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// clip shortens s to at most n bytes on a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// InvalidJSON is the error for a 2xx body that does not parse: a response cut
// short in transit, retryable.
func InvalidJSON(provider, model string, status int, h http.Header, body []byte) *providers.APIError {
	e := &providers.APIError{
		Provider:   provider,
		Model:      model,
		StatusCode: status,
		Type:       "invalid_response",
		Message:    fmt.Sprintf("response is not valid JSON (%d bytes, truncated?): %s", len(body), strconv.Quote(clip(string(body), 120))),
		Retryable:  true,
		Err:        io.ErrUnexpectedEOF,
		Header:     KeepHeaders(h),
	}
	return e
}

// ErrorInOK builds the error for a 200 response whose body carries an error
// object (OpenRouter reports failures after the model started that way). It
// is retryable unless the embedded code is a non-retryable HTTP status.
func ErrorInOK(provider, model string, h http.Header, p Parsed, now time.Time) *providers.APIError {
	ra := RetryAfter(h, now)
	retryable := true
	if p.CodeStatus != 0 {
		retryable = providers.RetryableStatus(p.CodeStatus, ra > 0)
	}
	if retry, ok := providers.ShouldRetryHeader(h); ok {
		retryable = retry
	}
	if p.Raw != "" && !strings.Contains(p.Message, p.Raw) {
		p.Message += " (upstream: " + p.Raw + ")"
	}
	e := &providers.APIError{
		Provider:   provider,
		Model:      model,
		StatusCode: http.StatusOK,
		Type:       p.Type,
		Code:       p.Code,
		Message:    p.Message,
		RetryAfter: ra,
		Retryable:  retryable,
		Header:     KeepHeaders(h),
	}
	if p.CodeStatus == http.StatusTooManyRequests {
		e.Err = providers.ErrRateLimited
	}
	return e
}

// PrefillRejected reports whether an API error is a model refusing assistant
// prefill (Anthropic's 400 "does not support assistant message prefill",
// also relayed by routers). This is the one place an error is classified by
// its text: the status (400) alone cannot tell it from other bad requests.
func PrefillRejected(e *providers.APIError) bool {
	// A router relays the refusal as a 400, or inside a 200 body whose
	// error code is 400 (OpenRouter).
	if e == nil || (e.StatusCode != http.StatusBadRequest && !(e.StatusCode == http.StatusOK && e.Code == "400")) {
		return false
	}
	m := strings.ToLower(e.Message)
	return strings.Contains(m, "does not support assistant message prefill") ||
		strings.Contains(m, "prefill is not supported") ||
		strings.Contains(m, "must end with a user message")
}

// MarkPrefillUnsupported turns e into a permanent error wrapping
// providers.ErrPrefillUnsupported.
func MarkPrefillUnsupported(e *providers.APIError) {
	e.Retryable = false
	e.Err = providers.ErrPrefillUnsupported
}

// BadShape is the error for a 2xx body that is valid JSON of the wrong shape
// (e.g. a field of the wrong type): retryable, as a faulty upstream reply.
func BadShape(provider, model string, status int, h http.Header, cause error) *providers.APIError {
	return &providers.APIError{
		Provider:   provider,
		Model:      model,
		StatusCode: status,
		Type:       "invalid_response",
		Message:    "unexpected response shape: " + cause.Error(),
		Retryable:  true,
		Err:        cause,
		Header:     KeepHeaders(h),
	}
}
