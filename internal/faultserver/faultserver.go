// Package faultserver is a fault-injecting OpenAI-compatible chat-completions
// server for tests: it answers POST /v1/chat/completions from a pluggable
// AnswerFunc (for example a providers/sim Solver, through FromCompleter) and,
// on a configurable fraction or schedule of requests, misbehaves the way real
// APIs and the proxies in front of them do — latency, an RPM ceiling answered
// with 429 and Retry-After, 500, 503, 529, an HTML 502, truncated JSON, an
// error inside a 200, a connection reset, a hang until the client gives up.
//
// It counts everything server-side (Stats): requests, repeats by content
// hash, the most requests in flight at once, tokens of delivered answers (so
// tests can measure dollars as tokens × prices), status codes and faults.
//
// A Server is safe for concurrent use.
package faultserver

import (
	"context"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rebound-lab/rebound/providers"
)

// Fault is one way a request can go wrong. The zero Fault (None) answers
// normally.
type Fault string

// The faults a Server can inject.
const (
	// None answers normally.
	None Fault = ""
	// RateLimit answers 429 (rate_limit_exceeded) with Retry-After.
	RateLimit Fault = "429"
	// ServerError answers 500 (server_error).
	ServerError Fault = "500"
	// Unavailable answers 503 with Retry-After.
	Unavailable Fault = "503"
	// Overloaded answers 529 (overloaded_error), as Anthropic-style gateways do.
	Overloaded Fault = "529"
	// BadGatewayHTML answers 502 with an HTML page, as a CDN does.
	BadGatewayHTML Fault = "502-html"
	// TruncatedJSON answers 200 with the first half of a valid completion
	// body (Content-Length matches the half, so the body ends cleanly and
	// only decoding fails).
	TruncatedJSON Fault = "truncated-json"
	// ErrorIn200 answers 200 whose body is an error object, not a completion.
	ErrorIn200 Fault = "200-error"
	// Reset reads the request, then closes the TCP connection with a reset
	// (SO_LINGER 0) instead of answering.
	Reset Fault = "reset"
	// Hang never answers: it waits until the client gives up (its deadline
	// closes the connection) or the server closes.
	Hang Fault = "hang"
	// BadRequest answers 400 (invalid_request_error): a permanent error.
	BadRequest Fault = "400"
	// Unauthorized answers 401 (invalid_api_key): a permanent error.
	Unauthorized Fault = "401"
	// Slow answers normally after Config.SlowLatency instead of
	// Config.Latency: a latency spike.
	Slow Fault = "slow"
)

// Faults lists every injectable Fault (not None), for table-driven tests.
var Faults = []Fault{RateLimit, ServerError, Unavailable, Overloaded, BadGatewayHTML,
	TruncatedJSON, ErrorIn200, Reset, Hang, BadRequest, Unauthorized, Slow}

// Rate injects Fault on a fraction P of requests.
type Rate struct {
	Fault Fault
	P     float64
}

// Attempt describes an arriving request to Config.Decide.
type Attempt struct {
	// N is the request's arrival number on the completions endpoint,
	// 0-based.
	N int64
	// Try is how many times a request with this content hash has arrived,
	// this one included (1 for the first).
	Try int
	// Request is the decoded request.
	Request Request
}

// Reply is an AnswerFunc's answer.
type Reply struct {
	// Text is the assistant's content (for a prefill request, the
	// continuation only).
	Text string
	// InputTokens and OutputTokens are reported in usage; 0 means estimate
	// as characters / 4 (prompt) and characters / 4 (text).
	InputTokens, OutputTokens int
	// FinishReason defaults to "stop".
	FinishReason string
}

// AnswerFunc produces the model's answer to a request. An error is answered
// with 500 (server_error) and counted as a failed answer.
type AnswerFunc func(ctx context.Context, req Request) (Reply, error)

// FromCompleter answers from c: the messages go to c as they are, except
// that a trailing assistant message becomes Request.Prefill (whatever
// dialect flag marked it). Temperature, TopP, Seed, MaxTokens and Stop are
// passed on; Sample is 0, because the wire has no sample index — vary Seed
// to vary samples. Usage comes from c's Completion.
func FromCompleter(c providers.Completer) AnswerFunc {
	return func(ctx context.Context, req Request) (Reply, error) {
		pr := providers.Request{
			Model:       req.Model,
			Messages:    req.Messages,
			Temperature: req.Temperature,
			TopP:        req.TopP,
			Seed:        req.Seed,
			MaxTokens:   req.MaxTokens,
			Stop:        req.Stop,
		}
		if n := len(pr.Messages); n > 0 && pr.Messages[n-1].Role == providers.RoleAssistant {
			pr.Prefill = pr.Messages[n-1].Content
			pr.Messages = pr.Messages[:n-1]
		}
		out, err := c.Complete(ctx, pr)
		if err != nil {
			return Reply{}, err
		}
		return Reply{Text: out.Text, InputTokens: out.Usage.InputTokens, OutputTokens: out.Usage.OutputTokens, FinishReason: out.FinishReason}, nil
	}
}

// Config configures a Server. The zero Config answers every request
// immediately with "The answer is \boxed{42}." and injects nothing.
type Config struct {
	// Answer produces completions; nil answers "The answer is \boxed{42}.".
	Answer AnswerFunc
	// Latency is waited before every answer and every injected fault except
	// Hang, Reset and the RPM ceiling's 429 (which are immediate).
	Latency time.Duration
	// RPM is a requests-per-minute ceiling enforced as a token bucket
	// refilled at RPM/60 per second; a request over it is answered 429 with
	// Retry-After (whole seconds, rounded up) and retry-after-ms. 0 means no
	// ceiling. Rejected requests do not consume the budget.
	RPM int
	// Burst is the bucket's capacity; 0 means one second's worth
	// (max(1, RPM/60)).
	Burst int
	// TPM is a tokens-per-minute ceiling, a token bucket holding one
	// second's worth (at least one request's), refilled at TPM/60 per
	// second. A request is charged its estimated prompt tokens
	// (characters / 4) plus its max_tokens, as OpenAI estimates; over the
	// ceiling it is answered 429 (type "tokens") with Retry-After. 0 means
	// no ceiling.
	TPM int
	// SlowLatency is waited by the Slow fault; 0 means 5s.
	SlowLatency time.Duration
	// Faults injects faults on fractions of requests, drawn deterministically
	// from Seed and the arrival number. Fractions add up in order; their sum
	// should be at most 1.
	Faults []Rate
	// Schedule injects Schedule[n] on the n-th arriving request (0-based);
	// requests past its end fall back to Faults. It overrides Faults.
	Schedule []Fault
	// Decide, if set, chooses every request's fault and overrides Schedule
	// and Faults.
	Decide func(Attempt) Fault
	// Seed selects the draw for Faults.
	Seed int64
	// RetryAfter is sent with injected 429, 503 and 529 answers; 0 means 1s.
	RetryAfter time.Duration
	// APIKey, if set, is required as "Authorization: Bearer <APIKey>";
	// anything else is answered 401. The key never appears in a response.
	APIKey string
	// Model is reported when the request names none; default "faultserver".
	Model string
}

// Server is a running fault-injecting server. Point an OpenAI-compatible
// client at BaseURL. Close it when done.
type Server struct {
	// URL is the server's root, e.g. "http://127.0.0.1:41234".
	URL string
	// BaseURL is URL + "/v1", what OpenAI clients take as their base URL.
	BaseURL string

	ts *httptest.Server
	h  *Handler
}

// New starts a Server for cfg on a local port.
func New(cfg Config) *Server {
	h := NewHandler(cfg)
	ts := httptest.NewServer(h)
	return &Server{URL: ts.URL, BaseURL: ts.URL + "/v1", ts: ts, h: h}
}

// Close releases hanging requests, then shuts the server down and waits for
// every handler to return.
func (s *Server) Close() {
	s.h.Close()
	s.ts.CloseClientConnections()
	s.ts.Close()
}

// Stats returns a snapshot of the server-side counters.
func (s *Server) Stats() Stats { return s.h.Stats() }

// Handler returns the server's http.Handler (for its Stats, or to mount it
// elsewhere too).
func (s *Server) Handler() *Handler { return s.h }

// Handler is the fault-injecting http.Handler behind a Server; mount it
// yourself when you need your own listener. Safe for concurrent use.
type Handler struct {
	cfg     Config
	answer  AnswerFunc
	closing chan struct{}
	once    sync.Once

	arrivals atomic.Int64
	inFlight atomic.Int64

	mu    sync.Mutex
	stats Stats
	rpm   *bucket // nil without a ceiling
	tpm   *bucket
}

var _ http.Handler = (*Handler)(nil)

// NewHandler returns a Handler for cfg.
func NewHandler(cfg Config) *Handler {
	h := &Handler{cfg: cfg, answer: cfg.Answer, closing: make(chan struct{})}
	if h.answer == nil {
		h.answer = func(context.Context, Request) (Reply, error) {
			return Reply{Text: `The answer is \boxed{42}.`}, nil
		}
	}
	if h.cfg.RetryAfter <= 0 {
		h.cfg.RetryAfter = time.Second
	}
	if h.cfg.Model == "" {
		h.cfg.Model = "faultserver"
	}
	if h.cfg.SlowLatency <= 0 {
		h.cfg.SlowLatency = 5 * time.Second
	}
	h.stats = newStats()
	if cfg.RPM > 0 {
		burst := cfg.Burst
		if burst <= 0 {
			burst = max(1, cfg.RPM/60)
		}
		h.rpm = newBucket(cfg.RPM, burst)
	}
	if cfg.TPM > 0 {
		h.tpm = newBucket(cfg.TPM, max(1, cfg.TPM/60))
	}
	return h
}

// Close releases every hanging request; later Hang faults return at once.
func (h *Handler) Close() { h.once.Do(func() { close(h.closing) }) }

// ServeHTTP serves POST /v1/chat/completions (also /chat/completions) and
// GET /v1/models.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimSuffix(r.URL.Path, "/")
	switch {
	case strings.HasSuffix(path, "/models") && r.Method == http.MethodGet:
		h.serveModels(w, r)
		return
	case path == "/v1/chat/completions" || path == "/chat/completions":
	default:
		h.writeError(w, http.StatusNotFound, "invalid_request_error", "unknown_url", fmt.Sprintf("Unknown request URL: %s %s.", r.Method, r.URL.Path), 0)
		return
	}
	n := h.arrivals.Add(1) - 1
	cur := h.inFlight.Add(1)
	defer h.inFlight.Add(-1)
	h.mu.Lock()
	h.stats.Requests++
	h.stats.MaxInFlight = max(h.stats.MaxInFlight, cur)
	h.mu.Unlock()

	if r.Method != http.MethodPost {
		h.writeError(w, http.StatusMethodNotAllowed, "invalid_request_error", "", "Use POST for chat completions.", 0)
		return
	}
	if h.cfg.APIKey != "" && r.Header.Get("Authorization") != "Bearer "+h.cfg.APIKey {
		h.writeError(w, http.StatusUnauthorized, "invalid_request_error", "invalid_api_key", "Incorrect API key provided.", 0)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
	if err != nil {
		h.count(func(s *Stats) { s.BodyErrors++ })
		return // the client went away mid-body
	}
	req, err := decodeRequest(body)
	if err != nil {
		h.writeError(w, http.StatusBadRequest, "invalid_request_error", "", err.Error(), 0)
		return
	}
	h.mu.Lock()
	h.stats.ByHash[req.Hash]++
	try := int(h.stats.ByHash[req.Hash])
	h.mu.Unlock()

	if h.limited(w, req) {
		return
	}

	fault := h.decide(Attempt{N: n, Try: try, Request: req})
	h.count(func(s *Stats) { s.ByFault[fault]++ })
	switch fault {
	case Hang:
		select {
		case <-r.Context().Done():
		case <-h.closing:
			abort(w)
		}
		return
	case Reset:
		h.reset(w)
		return
	}
	latency := h.cfg.Latency
	if fault == Slow {
		latency = h.cfg.SlowLatency
	}
	if !h.sleep(r.Context(), latency) {
		abort(w) // never an empty 200
		return
	}
	ra := h.cfg.RetryAfter
	switch fault {
	case RateLimit:
		h.writeError(w, http.StatusTooManyRequests, "requests", "rate_limit_exceeded", "Rate limit reached for requests (injected).", ra)
		return
	case ServerError:
		h.writeError(w, http.StatusInternalServerError, "server_error", "", "The server had an error while processing your request. Sorry about that!", 0)
		return
	case Unavailable:
		h.writeError(w, http.StatusServiceUnavailable, "server_error", "", "The engine is currently overloaded, please try again later.", ra)
		return
	case Overloaded:
		h.writeError(w, 529, "overloaded_error", "", "Overloaded", ra)
		return
	case BadGatewayHTML:
		h.write(w, http.StatusBadGateway, "text/html", []byte(htmlBadGateway))
		return
	case ErrorIn200:
		h.write(w, http.StatusOK, "application/json", errorJSON("server_error", "", "The server had an error while processing your request. Sorry about that!"))
		return
	case BadRequest:
		h.writeError(w, http.StatusBadRequest, "invalid_request_error", "", "Invalid request (injected).", 0)
		return
	case Unauthorized:
		h.writeError(w, http.StatusUnauthorized, "invalid_request_error", "invalid_api_key", "Incorrect API key provided.", 0)
		return
	}

	rep, err := h.answer(r.Context(), req)
	if err != nil {
		if r.Context().Err() != nil {
			return
		}
		h.count(func(s *Stats) { s.AnswerErrors++ })
		h.writeError(w, http.StatusInternalServerError, "server_error", "", "answer failed: "+err.Error(), 0)
		return
	}
	in, out := rep.InputTokens, rep.OutputTokens
	if in == 0 {
		chars := 0
		for _, m := range req.Messages {
			chars += len(m.Content)
		}
		in = (chars + 3) / 4
	}
	if out == 0 {
		out = max(1, (len(rep.Text)+3)/4)
	}
	finish := rep.FinishReason
	if finish == "" {
		finish = "stop"
	}
	model := req.Model
	if model == "" {
		model = h.cfg.Model
	}
	h.mu.Lock()
	if h.rpm != nil {
		w.Header().Set("x-ratelimit-limit-requests", strconv.Itoa(h.cfg.RPM))
		w.Header().Set("x-ratelimit-remaining-requests", strconv.Itoa(int(h.rpm.level)))
	}
	if h.tpm != nil {
		w.Header().Set("x-ratelimit-limit-tokens", strconv.Itoa(h.cfg.TPM))
		w.Header().Set("x-ratelimit-remaining-tokens", strconv.Itoa(int(h.tpm.level)))
	}
	h.mu.Unlock()
	id := "chatcmpl-fs" + strconv.FormatInt(n, 10)
	usage := &wireUsage{PromptTokens: in, CompletionTokens: out, TotalTokens: in + out}
	if req.Stream {
		if fault == TruncatedJSON {
			h.stream(w, id, model, rep.Text, finish, usage, req.IncludeUsage, true)
			return
		}
		if h.stream(w, id, model, rep.Text, finish, usage, req.IncludeUsage, false) {
			h.delivered(req.Hash, in, out)
		}
		return
	}
	resp := wireResponse{
		ID: id, Object: "chat.completion", Created: time.Now().Unix(), Model: model,
		Choices: []wireChoice{{Message: &wireOutMsg{Role: providers.RoleAssistant, Content: rep.Text}, FinishReason: &finish}},
		Usage:   usage,
	}
	b, _ := jsonMarshal(resp)
	if fault == TruncatedJSON {
		h.write(w, http.StatusOK, "application/json", b[:len(b)/2])
		return
	}
	if h.write(w, http.StatusOK, "application/json", b) {
		h.delivered(req.Hash, in, out)
	}
}

// delivered records a completed answer.
func (h *Handler) delivered(hash string, in, out int) {
	h.count(func(s *Stats) {
		s.Answered++
		s.InputTokens += int64(in)
		s.OutputTokens += int64(out)
		s.AnsweredByHash[hash]++
	})
}

// decide picks the fault for an attempt: Decide, else Schedule, else Faults.
func (h *Handler) decide(a Attempt) Fault {
	if h.cfg.Decide != nil {
		return h.cfg.Decide(a)
	}
	if a.N < int64(len(h.cfg.Schedule)) {
		return h.cfg.Schedule[a.N]
	}
	if len(h.cfg.Faults) == 0 {
		return None
	}
	u := unit(uint64(h.cfg.Seed), uint64(a.N))
	acc := 0.0
	for _, f := range h.cfg.Faults {
		acc += f.P
		if u < acc {
			return f.Fault
		}
	}
	return None
}

// unit is a uniform draw in [0, 1) from (seed, n) by splitmix64.
func unit(seed, n uint64) float64 {
	z := seed*0x9e3779b97f4a7c15 + (n+1)*0xbf58476d1ce4e5b9
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	z ^= z >> 31
	return float64(z>>11) / (1 << 53)
}

// bucket is a token bucket: capacity cap, refilled at perMin/60 per second.
// Guarded by Handler.mu.
type bucket struct {
	perMin int
	rate   float64 // per second
	cap    float64
	level  float64
	last   time.Time
}

func newBucket(perMin, capacity int) *bucket {
	return &bucket{perMin: perMin, rate: float64(perMin) / 60, cap: float64(capacity), level: float64(capacity)}
}

// refill brings the level up to now.
func (b *bucket) refill(now time.Time) {
	if !b.last.IsZero() {
		b.level = math.Min(b.cap, b.level+now.Sub(b.last).Seconds()*b.rate)
	}
	b.last = now
}

// wait is how long until n can be taken (0 if now); n above the capacity is
// charged as the capacity, so a large request is slow, not impossible.
func (b *bucket) wait(n float64) time.Duration {
	n = math.Min(n, b.cap)
	if b.level >= n {
		return 0
	}
	return max(time.Millisecond, time.Duration((n-b.level)/b.rate*float64(time.Second)))
}

func (b *bucket) take(n float64) { b.level -= math.Min(n, b.cap) }

// limited enforces the RPM and TPM ceilings: it takes the request's share
// from both buckets, or answers 429 and reports true. A refused request
// takes nothing.
func (h *Handler) limited(w http.ResponseWriter, req Request) bool {
	if h.rpm == nil && h.tpm == nil {
		return false
	}
	chars := 0
	for _, m := range req.Messages {
		chars += len(m.Content)
	}
	tokens := float64((chars+3)/4 + req.MaxTokens)
	now := time.Now()
	h.mu.Lock()
	var kind string
	var wait time.Duration
	var limit int
	if b := h.rpm; b != nil {
		b.refill(now)
		if d := b.wait(1); d > 0 {
			kind, wait, limit = "requests", d, b.perMin
		}
	}
	if b := h.tpm; b != nil && kind == "" {
		b.refill(now)
		if d := b.wait(tokens); d > 0 {
			kind, wait, limit = "tokens", d, b.perMin
		}
	}
	if kind == "" {
		if h.rpm != nil {
			h.rpm.take(1)
		}
		if h.tpm != nil {
			h.tpm.take(tokens)
		}
	}
	h.mu.Unlock()
	if kind == "" {
		return false
	}
	h.count(func(s *Stats) { s.RateLimited++ })
	ms := int64(math.Ceil(float64(wait) / float64(time.Millisecond)))
	w.Header().Set("Retry-After", strconv.FormatInt(int64(math.Ceil(wait.Seconds())), 10))
	w.Header().Set("retry-after-ms", strconv.FormatInt(ms, 10))
	w.Header().Set("x-ratelimit-limit-"+kind, strconv.Itoa(limit))
	w.Header().Set("x-ratelimit-remaining-"+kind, "0")
	w.Header().Set("x-ratelimit-reset-"+kind, strconv.FormatInt(ms, 10)+"ms")
	unit := "RPM"
	if kind == "tokens" {
		unit = "TPM"
	}
	h.writeError(w, http.StatusTooManyRequests, kind, "rate_limit_exceeded",
		fmt.Sprintf("Rate limit reached for %s per minute (%s): Limit %d. Please try again in %dms.", kind, unit, limit, ms), 0)
	return true
}

// sleep waits d, reporting false if the client went away or the server
// closed first.
func (h *Handler) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-h.closing:
		return false
	}
}

// reset closes the connection with a TCP reset.
func (h *Handler) reset(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler) // HTTP/2: abort the stream instead
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	h.count(func(s *Stats) { s.Resets++ })
	_ = conn.Close()
}

// abort drops the connection without a response.
func abort(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

func (h *Handler) writeError(w http.ResponseWriter, status int, typ, code, msg string, retryAfter time.Duration) {
	if retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.FormatInt(int64(math.Ceil(retryAfter.Seconds())), 10))
		w.Header().Set("retry-after-ms", strconv.FormatInt(retryAfter.Milliseconds(), 10))
	}
	h.write(w, status, "application/json", errorJSON(typ, code, msg))
}

// write sends a whole response and counts its status. It reports whether
// the body was written without error.
func (h *Handler) write(w http.ResponseWriter, status int, contentType string, body []byte) bool {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, err := w.Write(body)
	h.count(func(s *Stats) { s.ByStatus[status]++ })
	return err == nil
}

// stream sends the answer as server-sent events. With truncate it stops
// half-way, without a finish chunk or [DONE]. It reports whether every
// event was written.
func (h *Handler) stream(w http.ResponseWriter, id, model, text, finish string, usage *wireUsage, includeUsage, truncate bool) bool {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	h.count(func(s *Stats) { s.ByStatus[http.StatusOK]++ })
	fl, _ := w.(http.Flusher)
	created := time.Now().Unix()
	send := func(v wireResponse) bool {
		b, _ := jsonMarshal(v)
		_, err := fmt.Fprintf(w, "data: %s\n\n", b)
		if fl != nil {
			fl.Flush()
		}
		return err == nil
	}
	chunk := func(delta *wireOutMsg, fr *string) wireResponse {
		return wireResponse{ID: id, Object: "chat.completion.chunk", Created: created, Model: model,
			Choices: []wireChoice{{Delta: delta, FinishReason: fr}}}
	}
	if !send(chunk(&wireOutMsg{Role: providers.RoleAssistant}, nil)) {
		return false
	}
	const piece = 24
	for i := 0; i < len(text); i += piece {
		if truncate && i >= len(text)/2 {
			return false
		}
		j := min(len(text), i+piece)
		if !send(chunk(&wireOutMsg{Content: text[i:j]}, nil)) {
			return false
		}
	}
	if truncate {
		return false
	}
	if !send(chunk(&wireOutMsg{}, &finish)) {
		return false
	}
	if includeUsage {
		u := wireResponse{ID: id, Object: "chat.completion.chunk", Created: created, Model: model, Choices: []wireChoice{}, Usage: usage}
		if !send(u) {
			return false
		}
	}
	_, err := io.WriteString(w, "data: [DONE]\n\n")
	return err == nil
}

func (h *Handler) serveModels(w http.ResponseWriter, _ *http.Request) {
	body := fmt.Sprintf(`{"object":"list","data":[{"id":%q,"object":"model","created":0,"owned_by":"faultserver"}]}`, h.cfg.Model)
	h.write(w, http.StatusOK, "application/json", []byte(body))
}

func (h *Handler) count(f func(*Stats)) {
	h.mu.Lock()
	f(&h.stats)
	h.mu.Unlock()
}

// Stats returns a snapshot of the counters.
func (h *Handler) Stats() Stats {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.stats.clone()
}
