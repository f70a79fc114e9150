package openai

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

// FuzzResponseDecoding feeds arbitrary bodies and statuses to the adapter's
// response path (doer checks, go-openai decoding, echo stripping): it must
// never panic, every failure must be an *APIError or a wrapped transport
// error, and a success never contains the prefill.
func FuzzResponseDecoding(f *testing.F) {
	f.Add(200, chatShape("openrouter", "m", "12"), false)
	f.Add(200, chatShape("deepseek", "m", testPrefill+"12"), false)
	f.Add(200, completionShape("m", "12"), true)
	f.Add(200, `{"error":{"code":502,"message":"x"}}`, false)
	f.Add(200, `{"choices":[]}`, false)
	f.Add(200, `{"choices":[{"message":{"content":5}}]}`, false)
	f.Add(200, `{"usage":{"cost":"free"},"choices":[{"message":{"content":"a"}}]}`, false)
	f.Add(200, `{"id":"x","choices":[{"message":{"content":"tru`, false)
	f.Add(429, `{"error":{"message":"slow down","type":"requests"}}`, false)
	f.Add(502, `<html><title>502 Bad Gateway</title></html>`, false)
	f.Add(500, `{"object":"error","message":"boom","type":"InternalServerError","code":500}`, true)
	f.Add(400, `{"error":"model not found"}`, false)
	f.Add(200, `null`, false)
	f.Add(200, `{"choices":[{"message":{"content":[{"type":"thinking","thinking":[{"type":"text","text":"t"}]},{"type":"text","text":"a"}]}}]}`, false)
	f.Add(200, `{"choices":[{"message":{"content":[{"type":"thinking","thinking":"s"},{"type":"text"}]}}]}`, false)
	f.Add(200, `{"provider":"X","choices":[{"message":{"content":"a","reasoning":"r","reasoning_details":[{"type":"reasoning.text","text":"r"}]}}],"usage":{"reasoning_tokens":3}}`, false)
	f.Add(200, `{"choices":[{"message":{"content":[5]}}]}`, false)
	f.Add(200, `[]`, true)
	f.Fuzz(func(t *testing.T, status int, body string, rawDialect bool) {
		if status < 100 || status > 999 {
			status = 200
		}
		hc := doerFunc(func(r *http.Request) (*http.Response, error) {
			return &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}, "Retry-After": {body[:min(len(body), 8)]}},
				Body: io.NopCloser(bytes.NewReader([]byte(body))), Request: r}, nil
		})
		opts := Options{Preset: "openrouter", BaseURL: "http://fuzz.invalid", APIKey: "k", HTTPClient: hc}
		req := providers.Request{Messages: testMsgs, Prefill: testPrefill}
		if rawDialect {
			opts = Options{Preset: "vllm", BaseURL: "http://fuzz.invalid", HTTPClient: hc, ChatTemplate: TemplateLlama3}
			req.PrefillMethod = providers.PrefillRawCompletion
		}
		c, err := New("m", opts)
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.Complete(context.Background(), req)
		if err != nil {
			var apiErr *providers.APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("error is not an *APIError: %T %v", err, err)
			}
			if apiErr.RetryAfter < 0 {
				t.Fatalf("negative RetryAfter %v", apiErr.RetryAfter)
			}
			return
		}
		if strings.HasPrefix(got.Text, testPrefill) {
			t.Fatalf("text starts with the prefill: %q", got.Text)
		}
		if got.CostKnown && got.CostUSD != got.CostUSD {
			t.Fatalf("NaN cost")
		}
	})
}
