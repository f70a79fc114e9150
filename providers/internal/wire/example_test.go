package wire_test

import (
	"fmt"
	"net/http"
	"time"

	"github.com/rebound-lab/rebound/providers/internal/wire"
)

// An HTML 502 from a proxy becomes a retryable APIError that keeps the
// server's Retry-After.
func ExampleErrorFromResponse() {
	h := http.Header{"Content-Type": {"text/html"}, "Retry-After": {"2"}}
	body := []byte("<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>")
	e := wire.ErrorFromResponse("together", "meta-llama/Llama-3.3-70B-Instruct-Turbo", 502, h, body, time.Now())
	fmt.Println(e)
	fmt.Println("retryable:", e.Retryable)
	// Output:
	// together meta-llama/Llama-3.3-70B-Instruct-Turbo: HTTP 502 Bad Gateway: HTML error page: 502 Bad Gateway (retry after 2s)
	// retryable: true
}
