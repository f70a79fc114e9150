// Package errmatrix runs the end-to-end error matrix that every HTTP
// provider adapter's tests share: a fake server answers each [Case] with a
// status, headers and a body (or answers too late), the adapter is called
// through [providers.Retry], and [Run] checks what the caller sees — the
// error's retryability, how many attempts were made, the waits Retry chose
// (observed through OnRetry), and which response headers the error kept.
//
// The cases themselves (status codes, error bodies, error types) are
// provider-specific and stay in each adapter's tests; this package holds
// only the provider-independent driver. It uses the standard library only,
// and is meant to be imported from _test.go files.
package errmatrix

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rebound-lab/rebound/providers"
)

// Attempts is the MaxAttempts of the retry policy [Run] uses: a retryable
// error whose wait is short must reach the server exactly this many times.
const Attempts = 3

// Case is one row of the error matrix: what the server answers and what
// the caller must see through the Retry middleware.
type Case struct {
	// Name names the subtest; it should read as a sentence.
	Name string
	// Status is the HTTP status the server answers with; the returned
	// APIError must carry it as StatusCode.
	Status int
	// Header is sent with the reply; every key but Content-Type must be
	// kept on the APIError. Content-Type defaults to application/json.
	Header http.Header
	// Body is the reply body, in the provider's own shape.
	Body string
	// Delay, if positive, makes the server sleep this long before
	// answering while the call has a 100ms deadline: the caller must see
	// context.DeadlineExceeded (set Sentinel) after exactly one attempt.
	Delay time.Duration
	// Retryable is the APIError's expected Retryable.
	Retryable bool
	// Sentinel, if set, is an errors.Is target the error must match.
	Sentinel error
	// WantType, if set, is the APIError's expected Type.
	WantType string
	// WantWait, if positive, is the least wait Retry must choose before
	// its first retry. A wait above one second is observed and then cut
	// short, so the server is hit once and the APIError's RetryAfter
	// must be at least WantWait.
	WantWait time.Duration
	// WaitSlack bounds that wait from above: at most WantWait+WaitSlack.
	WaitSlack time.Duration
}

// Run drives every case through providers.Retry end to end, each in its own
// subtest against a fresh httptest server. open builds the adapter under
// test pointed at baseURL; req is the request sent on every case.
func Run(t *testing.T, cases []Case, open func(t *testing.T, baseURL string) providers.Completer, req providers.Request) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) { runCase(t, tc, open, req) })
	}
}

// serve answers every request with tc's reply and counts the requests.
func serve(tc Case, hits *atomic.Int32) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if tc.Delay > 0 {
			select {
			case <-time.After(tc.Delay):
			case <-r.Context().Done():
				return
			}
		}
		for k, vs := range tc.Header {
			w.Header()[k] = vs
		}
		if w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(tc.Status)
		_, _ = io.WriteString(w, tc.Body)
	})
}

func runCase(t *testing.T, tc Case, open func(t *testing.T, baseURL string) providers.Completer, req providers.Request) {
	var hits atomic.Int32
	srv := httptest.NewServer(serve(tc, &hits))
	defer srv.Close()
	c := open(t, srv.URL)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	if tc.Delay > 0 {
		cancel()
		ctx, cancel = context.WithTimeout(context.Background(), 100*time.Millisecond)
	}
	defer cancel()
	var waits []time.Duration
	var retried error
	policy := providers.RetryPolicy{MaxAttempts: Attempts, InitialInterval: time.Millisecond, MaxInterval: 2 * time.Millisecond,
		RandomizationFactor: -1, MaxElapsed: -1,
		OnRetry: func(_ int, err error, wait time.Duration) {
			waits = append(waits, wait)
			retried = err
			if wait > time.Second {
				cancel() // observe the chosen wait without sleeping through it
			}
		}}
	_, err := providers.Retry(policy)(c).Complete(ctx, req)
	if err == nil {
		t.Fatal("Complete returned no error; want one")
	}
	if tc.WantWait > time.Second {
		// Retry stopped in its wait because the test cancelled;
		// the adapter's error is the one it was retrying.
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v; want context.Canceled (the test cuts Retry's long wait short)", err)
		}
		err = retried
	}
	if tc.Sentinel != nil && !errors.Is(err, tc.Sentinel) {
		t.Errorf("err = %v; want errors.Is(err, %v)", err, tc.Sentinel)
	}
	if tc.Delay > 0 {
		if n := hits.Load(); n != 1 {
			t.Errorf("server hit %d times; want 1: a deadline is not retried", n)
		}
		return
	}
	var apiErr *providers.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("err = %v (%T); want a *providers.APIError", err, err)
	}
	if apiErr.StatusCode != tc.Status {
		t.Errorf("StatusCode = %d; want %d", apiErr.StatusCode, tc.Status)
	}
	if apiErr.Retryable != tc.Retryable {
		t.Errorf("Retryable = %t; want %t", apiErr.Retryable, tc.Retryable)
	}
	if apiErr.Provider == "" {
		t.Error("Provider is empty; the error names the provider")
	}
	if apiErr.Model == "" {
		t.Error("Model is empty; the error names the model")
	}
	if apiErr.Message == "" {
		t.Error("Message is empty; the error carries a message")
	}
	if tc.WantType != "" && apiErr.Type != tc.WantType {
		t.Errorf("Type = %q; want %q", apiErr.Type, tc.WantType)
	}
	switch {
	case !tc.Retryable:
		if n := hits.Load(); n != 1 {
			t.Errorf("server hit %d times; want 1: a permanent error is not retried", n)
		}
		if len(waits) != 0 {
			t.Errorf("Retry waited %v; want no waits for a permanent error", waits)
		}
	case tc.WantWait > time.Second:
		if len(waits) != 1 {
			t.Fatalf("Retry waited %v; want exactly one wait", waits)
		}
		checkWait(t, waits[0], tc)
		if n := hits.Load(); n != 1 {
			t.Errorf("server hit %d times; want 1 (the long wait was cut short)", n)
		}
		if apiErr.RetryAfter < tc.WantWait {
			t.Errorf("RetryAfter = %v; want at least %v", apiErr.RetryAfter, tc.WantWait)
		}
	default:
		if n := hits.Load(); n != Attempts {
			t.Errorf("server hit %d times; want %d: a retryable error is retried until attempts run out", n, Attempts)
		}
		if tc.WantWait > 0 {
			if len(waits) == 0 {
				t.Fatal("Retry never waited; want a first wait")
			}
			checkWait(t, waits[0], tc)
		}
	}
	for k := range tc.Header {
		if k != "Content-Type" && apiErr.Header.Get(k) == "" {
			t.Errorf("header %s is not kept on the error", k)
		}
	}
}

// checkWait reports a wait outside [tc.WantWait, tc.WantWait+tc.WaitSlack].
func checkWait(t *testing.T, wait time.Duration, tc Case) {
	t.Helper()
	if wait < tc.WantWait {
		t.Errorf("first wait = %v; want at least %v", wait, tc.WantWait)
	}
	if wait > tc.WantWait+tc.WaitSlack {
		t.Errorf("first wait = %v; want at most %v", wait, tc.WantWait+tc.WaitSlack)
	}
}
