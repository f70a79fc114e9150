// Package mock provides a scripted providers.Completer for unit tests: answers
// come from a function or a queue, every request is recorded, ctx is
// honoured, and an optional latency, price and token count make it behave
// like a real (paid, slow) provider without the network.
//
// Use the behaviour-named helpers for common cases — Echo, AlwaysFail,
// FailThenSucceed, Queue — or New with your own function. The package uses
// only the standard library, so it can be imported from any test.
package mock

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/rebound-lab/rebound/providers"
)

// Provider is the Endpoint provider name a Completer reports by default.
const Provider = "mock"

// ErrExhausted is returned when a queued Completer is called more times than
// it has scripted steps.
var ErrExhausted = errors.New("mock: script exhausted")

// Func answers one request. It is called with the caller's ctx after the
// optional latency has elapsed.
type Func func(ctx context.Context, req providers.Request) (providers.Completion, error)

// Completer is a scripted providers.Completer. It records every request
// (including those that fail or are cancelled), fills in Provider, Model,
// PrefillMethod and Latency when the scripted completion leaves them empty,
// and is safe for concurrent use. Build one with New or a helper; the zero
// value is not usable.
type Completer struct {
	fn         Func
	latency    time.Duration
	endpoint   providers.Endpoint
	price      *providers.Price
	countTokns bool

	mu   sync.Mutex
	reqs []providers.Request
}

var (
	_ providers.Completer = (*Completer)(nil)
	_ providers.Describer = (*Completer)(nil)
)

// Option configures a Completer.
type Option func(*Completer)

// WithLatency makes every call wait d before answering. A cancelled ctx cuts
// the wait short and the call returns ctx.Err().
func WithLatency(d time.Duration) Option { return func(c *Completer) { c.latency = d } }

// WithEndpoint sets the Endpoint the Completer reports (default provider
// "mock", no base URL). Completions report ep.Provider.
func WithEndpoint(ep providers.Endpoint) Option { return func(c *Completer) { c.endpoint = ep } }

// WithPrice makes the Completer bill like a paid provider: every successful
// completion that does not already say CostKnown gets CostUSD = p.Cost(Usage)
// and CostKnown = true.
func WithPrice(p providers.Price) Option { return func(c *Completer) { c.price = &p } }

// WithTokenCounts fills a completion's Usage when the script left it zero:
// input tokens are estimated from the messages and prefill, output tokens
// from the text, at one token per four bytes (rounded up).
func WithTokenCounts() Option { return func(c *Completer) { c.countTokns = true } }

// New returns a Completer that answers with fn.
func New(fn Func, opts ...Option) *Completer {
	if fn == nil {
		panic("mock: New called with nil func")
	}
	c := &Completer{fn: fn, endpoint: providers.Endpoint{Provider: Provider}}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Step is one scripted answer of a queue: a completion, or an error if Err is
// non-nil.
type Step struct {
	Completion providers.Completion
	Err        error
}

// Reply is a Step answering text.
func Reply(text string) Step {
	return Step{Completion: providers.Completion{Text: text, FinishReason: "stop"}}
}

// Fail is a Step failing with err.
func Fail(err error) Step { return Step{Err: err} }

// Script returns a Completer that answers the n-th call with steps[n] and
// fails with an error wrapping ErrExhausted after the last step.
func Script(steps []Step, opts ...Option) *Completer {
	var (
		mu   sync.Mutex
		next int
	)
	return New(func(ctx context.Context, req providers.Request) (providers.Completion, error) {
		mu.Lock()
		i := next
		next++
		mu.Unlock()
		if i >= len(steps) {
			return providers.Completion{}, fmt.Errorf("%w: call %d, %d step(s) scripted", ErrExhausted, i+1, len(steps))
		}
		return steps[i].Completion, steps[i].Err
	}, opts...)
}

// Queue returns a Completer that answers the n-th call with responses[n] and
// fails with an error wrapping ErrExhausted after the last one. Use Script to
// queue errors too.
func Queue(responses ...providers.Completion) *Completer {
	steps := make([]Step, len(responses))
	for i, r := range responses {
		steps[i] = Step{Completion: r}
	}
	return Script(steps)
}

// Echo returns a Completer whose answer is the content of the request's last
// message.
func Echo(opts ...Option) *Completer {
	return New(func(ctx context.Context, req providers.Request) (providers.Completion, error) {
		var text string
		if n := len(req.Messages); n > 0 {
			text = req.Messages[n-1].Content
		}
		return providers.Completion{Text: text, FinishReason: "stop"}, nil
	}, opts...)
}

// APIError returns the *providers.APIError a real provider "mock" would
// return for an HTTP status, with retryability decided by status as for real
// adapters and retryAfter as the server's requested wait.
func APIError(status int, retryAfter time.Duration) *providers.APIError {
	return providers.NewAPIError(Provider, status, "mock_error", http.StatusText(status), retryAfter)
}

// AlwaysFail returns a Completer that fails every call with APIError(status, 0).
func AlwaysFail(status int, opts ...Option) *Completer {
	return New(func(ctx context.Context, req providers.Request) (providers.Completion, error) {
		return providers.Completion{}, APIError(status, 0)
	}, opts...)
}

// FailThenSucceed returns a Completer that fails its first n calls with
// APIError(status, 0) and answers c from then on.
func FailThenSucceed(n, status int, c providers.Completion, opts ...Option) *Completer {
	var (
		mu    sync.Mutex
		calls int
	)
	return New(func(ctx context.Context, req providers.Request) (providers.Completion, error) {
		mu.Lock()
		calls++
		i := calls
		mu.Unlock()
		if i <= n {
			return providers.Completion{}, APIError(status, 0)
		}
		return c, nil
	}, opts...)
}

// Complete records req, waits for the configured latency, and answers from
// the script.
func (c *Completer) Complete(ctx context.Context, req providers.Request) (providers.Completion, error) {
	start := time.Now()
	c.mu.Lock()
	c.reqs = append(c.reqs, cloneRequest(req))
	c.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return providers.Completion{}, err
	}
	if c.latency > 0 {
		t := time.NewTimer(c.latency)
		select {
		case <-ctx.Done():
			t.Stop()
			return providers.Completion{}, ctx.Err()
		case <-t.C:
		}
	}
	out, err := c.fn(ctx, req)
	if err != nil {
		return providers.Completion{}, err
	}
	if out.Provider == "" {
		out.Provider = c.endpoint.Provider
	}
	if out.Model == "" {
		out.Model = req.Model
	}
	if out.PrefillMethod == providers.PrefillNone && req.Prefill != "" {
		out.PrefillMethod = providers.PrefillNative
	}
	if c.countTokns && out.Usage == (providers.Usage{}) {
		out.Usage = EstimateUsage(req, out.Text)
	}
	if c.price != nil && !out.CostKnown {
		out.CostUSD = c.price.Cost(out.Usage)
		out.CostKnown = true
	}
	if out.Latency == 0 {
		out.Latency = time.Since(start)
	}
	return out, nil
}

// EstimateUsage is the token count WithTokenCounts uses: one token per four
// bytes (rounded up) of the messages and prefill for input, of text for
// output.
func EstimateUsage(req providers.Request, text string) providers.Usage {
	in := len(req.Prefill)
	for _, m := range req.Messages {
		in += len(m.Content)
	}
	return providers.Usage{InputTokens: (in + 3) / 4, OutputTokens: (len(text) + 3) / 4}
}

// Endpoint reports the configured endpoint (provider "mock" by default).
func (c *Completer) Endpoint() providers.Endpoint { return c.endpoint }

// Requests returns a copy of every request received so far, in arrival order.
func (c *Completer) Requests() []providers.Request {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]providers.Request, len(c.reqs))
	copy(out, c.reqs)
	return out
}

// LastRequest returns the most recent request, and false if there was none.
func (c *Completer) LastRequest() (providers.Request, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.reqs) == 0 {
		return providers.Request{}, false
	}
	return c.reqs[len(c.reqs)-1], true
}

// Calls returns how many times Complete has been called.
func (c *Completer) Calls() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.reqs)
}

// cloneRequest copies the slices of req so later mutation by the caller does
// not change the recording.
func cloneRequest(req providers.Request) providers.Request {
	req.Messages = slices.Clone(req.Messages)
	req.Stop = slices.Clone(req.Stop)
	req.Extra = maps.Clone(req.Extra)
	return req
}
