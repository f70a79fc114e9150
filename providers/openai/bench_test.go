package openai

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/rebound-lab/rebound/providers"
)

// BenchmarkComplete measures the adapter's own overhead per call (go-openai
// encoding, the body rewrite, response checks and decoding) with the network
// replaced by a canned reply.
func BenchmarkComplete(b *testing.B) {
	for _, preset := range []string{"deepseek", "vllm"} {
		b.Run(preset, func(b *testing.B) {
			body := []byte(chatShape(preset, "m", continuation))
			hc := doerFunc(func(r *http.Request) (*http.Response, error) {
				_, _ = io.Copy(io.Discard, r.Body)
				return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
					Body: io.NopCloser(bytes.NewReader(body)), Request: r}, nil
			})
			c, err := New("m", Options{Preset: preset, BaseURL: "http://bench.invalid", APIKey: "k", HTTPClient: hc})
			if err != nil {
				b.Fatal(err)
			}
			req := providers.Request{Messages: testMsgs, Prefill: testPrefill, Temperature: providers.Float(0.7), MaxTokens: 256}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Complete(context.Background(), req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
