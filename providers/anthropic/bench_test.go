package anthropic

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/rebound-lab/rebound/providers"
)

// BenchmarkComplete measures the adapter's own per-call overhead with the
// network replaced by a canned reply.
func BenchmarkComplete(b *testing.B) {
	body := []byte(messageShape("m", " 12\nThe answer is 12."))
	hc := doerFunc(func(r *http.Request) (*http.Response, error) {
		_, _ = io.Copy(io.Discard, r.Body)
		return &http.Response{StatusCode: 200, Header: http.Header{}, Body: io.NopCloser(bytes.NewReader(body)), Request: r}, nil
	})
	c, err := New("m", Options{BaseURL: "http://bench.invalid", APIKey: "k", HTTPClient: hc})
	if err != nil {
		b.Fatal(err)
	}
	req := providers.Request{Messages: testMsgs, Prefill: "Step 1: 2+2 = 4\nStep 2: 4*3 = ", MaxTokens: 256}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Complete(context.Background(), req); err != nil {
			b.Fatal(err)
		}
	}
}
