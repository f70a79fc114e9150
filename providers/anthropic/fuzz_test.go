package anthropic

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/rebound-lab/rebound/providers"
)

type doerFunc func(*http.Request) (*http.Response, error)

func (f doerFunc) Do(r *http.Request) (*http.Response, error) { return f(r) }

// FuzzResponseDecoding feeds arbitrary bodies and statuses to the adapter:
// no panic, every failure an *APIError, and a success never holds the
// prefill.
func FuzzResponseDecoding(f *testing.F) {
	const prefill = "Step 1: 2+2 = 4\nStep 2: "
	f.Add(200, messageShape("m", " 12"))
	f.Add(200, messageShape("m", prefill+"12"))
	f.Add(200, `{"type":"message","content":[{"type":"thinking","thinking":"hmm"},{"type":"text","text":"12"}]}`)
	f.Add(200, `{"type":"message","content":"oops"}`)
	f.Add(200, `{"type":"message","content":[{"type":"text","text":"1`)
	f.Add(200, `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`)
	f.Add(529, errShape("overloaded_error", "Overloaded"))
	f.Add(400, errShape("invalid_request_error", "This model does not support assistant message prefill."))
	f.Add(502, `<html><title>502</title>`)
	f.Add(200, `null`)
	f.Fuzz(func(t *testing.T, status int, body string) {
		if status < 100 || status > 999 {
			status = 200
		}
		hc := doerFunc(func(r *http.Request) (*http.Response, error) {
			return &http.Response{StatusCode: status, Header: http.Header{"Retry-After": {body[:min(len(body), 6)]}},
				Body: io.NopCloser(bytes.NewReader([]byte(body))), Request: r}, nil
		})
		c, err := New("m", Options{BaseURL: "http://fuzz.invalid", APIKey: "k", HTTPClient: hc})
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.Complete(context.Background(), providers.Request{Messages: testMsgs, Prefill: prefill})
		if err != nil {
			var apiErr *providers.APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("error is not an *APIError: %T %v", err, err)
			}
			if apiErr.RetryAfter < 0 {
				t.Fatalf("negative RetryAfter")
			}
			return
		}
		if strings.HasPrefix(got.Text, strings.TrimSpace(prefill)) {
			t.Fatalf("text starts with the prefill: %q", got.Text)
		}
	})
}
