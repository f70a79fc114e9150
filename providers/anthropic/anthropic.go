// Package anthropic adapts Anthropic's native Messages API to
// providers.Completer, with native prefill: the prefix is sent as a trailing
// assistant message, which Claude continues as its own text.
//
// Importing the package registers the "anthropic" provider, so
// providers.Open("anthropic:claude-sonnet-4-5") works with ANTHROPIC_API_KEY
// set (ANTHROPIC_BASE_URL overrides the API root). New builds a Client with
// explicit Options for tests and custom setups.
//
// It speaks the API over net/http rather than anthropic-sdk-go: the adapter
// needs one endpoint, full control of the body (Request.Extra) and every
// response header, and the module adds no dependency.
//
// Prefill details the API imposes: trailing whitespace of the prefill is
// rejected, so it is trimmed before sending and spliced back out of the
// reply; Claude 4.6 and later reject prefill altogether with a 400, which
// the adapter reports as providers.ErrPrefillUnsupported (permanent).
package anthropic

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/rebound-lab/rebound/providers"
	"github.com/rebound-lab/rebound/providers/internal/wire"
)

// Defaults.
const (
	// DefaultBaseURL is the API root; requests go to DefaultBaseURL+"/v1/messages".
	DefaultBaseURL = "https://api.anthropic.com"
	// APIVersion is sent as the anthropic-version header.
	APIVersion = "2023-06-01"
	// DefaultMaxTokens is sent when Request.MaxTokens is 0 (the API
	// requires max_tokens).
	DefaultMaxTokens = 4096
	// Name is the registry name.
	Name = "anthropic"
)

// Doer sends HTTP requests; *http.Client implements it.
type Doer interface {
	Do(*http.Request) (*http.Response, error)
}

// Options configure a Client; zero fields take the defaults.
type Options struct {
	// BaseURL overrides DefaultBaseURL (e.g. an Anthropic-compatible proxy).
	BaseURL string
	// APIKey is sent as x-api-key.
	APIKey string
	// HTTPClient sends the requests; default a new http.Client.
	HTTPClient Doer
	// Version overrides APIVersion.
	Version string
	// MaxTokens replaces DefaultMaxTokens.
	MaxTokens int
	// Header adds HTTP headers to every request (e.g. anthropic-beta).
	Header http.Header
	// AllowTemperatureWithTopP sends Request.Temperature and Request.TopP
	// together. By default a request setting both is refused before
	// sending: the API documents "alter temperature or top_p, but not
	// both", and newer Claude models reject the pair with a 400.
	AllowTemperatureWithTopP bool
}

// Client is a providers.Completer for the Anthropic Messages API and one
// default model. It is safe for concurrent use.
type Client struct {
	model     string
	baseURL   string
	key       string
	version   string
	maxTokens int
	header    http.Header
	bothTempP bool
	hc        Doer
	now       func() time.Time
}

var (
	_ providers.Completer = (*Client)(nil)
	_ providers.Describer = (*Client)(nil)
)

func init() {
	providers.Register(Name, func(model string) (providers.Completer, error) { return FromEnv(model) })
	providers.DeclareSampleSeeds(Name, false) // the Messages API has no seed
}

// FromEnv opens model with ANTHROPIC_API_KEY (required) and
// ANTHROPIC_BASE_URL (optional override).
func FromEnv(model string) (*Client, error) {
	key := os.Getenv("ANTHROPIC_API_KEY")
	if key == "" {
		return nil, errors.New("anthropic: ANTHROPIC_API_KEY is not set")
	}
	return New(model, Options{APIKey: key, BaseURL: os.Getenv("ANTHROPIC_BASE_URL")})
}

// New returns a Client for model with opts.
func New(model string, opts Options) (*Client, error) {
	c := &Client{model: model, baseURL: DefaultBaseURL, key: opts.APIKey, version: APIVersion,
		maxTokens: DefaultMaxTokens, header: opts.Header.Clone(), hc: opts.HTTPClient, now: time.Now,
		bothTempP: opts.AllowTemperatureWithTopP}
	if opts.BaseURL != "" {
		c.baseURL = opts.BaseURL
	}
	c.baseURL = strings.TrimRight(c.baseURL, "/")
	if opts.Version != "" {
		c.version = opts.Version
	}
	if opts.MaxTokens > 0 {
		c.maxTokens = opts.MaxTokens
	}
	if c.hc == nil {
		c.hc = &http.Client{}
	}
	return c, nil
}

// Endpoint names the provider and base URL (part of every cache key).
func (c *Client) Endpoint() providers.Endpoint {
	return providers.Endpoint{Provider: Name, BaseURL: c.baseURL}
}

// Dialects lists the prefill methods the client can use: the native
// trailing assistant message, then the instructed emulation.
func (c *Client) Dialects() []providers.PrefillMethod {
	return []providers.PrefillMethod{providers.PrefillAssistantMessage, providers.PrefillInstructed}
}

// String describes the client with its key redacted.
func (c *Client) String() string {
	key := "none"
	if c.key != "" {
		key = "[redacted]"
	}
	return fmt.Sprintf("anthropic.Client{model: %s, base: %s, key: %s}", c.model, c.baseURL, key)
}

type message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// reservedExtra are body fields the adapter sets itself.
var reservedExtra = []string{"model", "messages", "system", "max_tokens", "temperature", "top_p", "stop_sequences", "stream"}

// response is the Messages API reply.
type response struct {
	ID      string `json:"id"`
	Type    string `json:"type"`
	Model   string `json:"model"`
	Content []struct {
		Type     string `json:"type"`
		Text     string `json:"text"`
		Thinking string `json:"thinking"`
	} `json:"content"`
	StopReason string `json:"stop_reason"`
	Usage      struct {
		InputTokens              int `json:"input_tokens"`
		OutputTokens             int `json:"output_tokens"`
		CacheCreationInputTokens int `json:"cache_creation_input_tokens"`
		CacheReadInputTokens     int `json:"cache_read_input_tokens"`
		// OutputTokensDetails.ThinkingTokens counts the reasoning inside
		// output_tokens (anthropic-sdk-go message.go OutputTokensDetails).
		OutputTokensDetails struct {
			ThinkingTokens int `json:"thinking_tokens"`
		} `json:"output_tokens_details"`
	} `json:"usage"`
	Error json.RawMessage `json:"error"`
}

// Complete sends req to /v1/messages and returns the continuation.
// Usage.InputTokens counts all input tokens (uncached, cache writes and
// cache reads); CachedInputTokens the cache reads.
func (c *Client) Complete(ctx context.Context, req providers.Request) (providers.Completion, error) {
	model := req.Model
	if model == "" {
		model = c.model
	}
	if model == "" {
		return providers.Completion{}, errors.New("anthropic: no model (Request.Model and the client's model are empty)")
	}
	method := providers.PrefillNone
	if req.Prefill != "" {
		switch req.PrefillMethod {
		case "", providers.PrefillAssistantMessage:
			method = providers.PrefillAssistantMessage
		case providers.PrefillInstructed:
			method = providers.PrefillInstructed
		default:
			return providers.Completion{}, fmt.Errorf("anthropic: cannot use prefill method %q (allowed: assistant_message, instructed): %w", req.PrefillMethod, providers.ErrPrefillUnsupported)
		}
	}
	if err := c.checkKnobs(model, req); err != nil {
		return providers.Completion{}, err
	}
	body := map[string]any{"model": model}
	maxTokens := req.MaxTokens
	if maxTokens <= 0 {
		maxTokens = c.maxTokens
	}
	body["max_tokens"] = maxTokens
	var system []string
	var msgs []message
	in := req.Messages
	if method == providers.PrefillInstructed {
		in = providers.InstructedMessages(in, req.Prefill)
	}
	for i, m := range in {
		switch m.Role {
		case providers.RoleSystem:
			system = append(system, m.Content)
		case providers.RoleUser, providers.RoleAssistant:
			msgs = append(msgs, message{m.Role, m.Content})
		default:
			return providers.Completion{}, fmt.Errorf("anthropic: message %d: unknown role %q", i, m.Role)
		}
	}
	// The API rejects a final assistant message ending in whitespace: send
	// the trimmed prefill and splice the whitespace back out of the reply.
	var sentPrefill, trailingWS string
	if method == providers.PrefillAssistantMessage {
		sentPrefill = strings.TrimRightFunc(req.Prefill, unicode.IsSpace)
		trailingWS = req.Prefill[len(sentPrefill):]
		if sentPrefill != "" {
			msgs = append(msgs, message{providers.RoleAssistant, sentPrefill})
		}
	}
	body["messages"] = msgs
	if len(system) > 0 {
		body["system"] = strings.Join(system, "\n\n")
	}
	if req.Temperature != nil {
		body["temperature"] = *req.Temperature
	}
	if req.TopP != nil {
		body["top_p"] = *req.TopP
	}
	if len(req.Stop) > 0 {
		body["stop_sequences"] = req.Stop
	}
	for k, v := range req.Extra {
		if slices.Contains(reservedExtra, k) {
			return providers.Completion{}, fmt.Errorf("anthropic: Request.Extra[%q] is set by the adapter (use the Request field): %w", k, providers.ErrUnsupported)
		}
		body[k] = v
	}
	raw, err := json.Marshal(body)
	if err != nil {
		return providers.Completion{}, fmt.Errorf("anthropic: encoding request (Request.Extra?): %v: %w", err, providers.ErrUnsupported)
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, c.baseURL+"/v1/messages", bytes.NewReader(raw))
	if err != nil {
		return providers.Completion{}, fmt.Errorf("anthropic: %w", err)
	}
	for k, vs := range c.header {
		hreq.Header[k] = slices.Clone(vs)
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Accept", "application/json")
	hreq.Header.Set("anthropic-version", c.version)
	if c.key != "" {
		hreq.Header.Set("x-api-key", c.key)
	}

	start := time.Now()
	resp, err := c.hc.Do(hreq)
	if err != nil {
		return providers.Completion{}, fmt.Errorf("anthropic: %s: %w", model, err)
	}
	data, err := wire.ReadBody(resp.Body)
	resp.Body.Close()
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return providers.Completion{}, fmt.Errorf("anthropic: %s: %w", model, ctxErr)
		}
		return providers.Completion{}, fmt.Errorf("anthropic: %s: HTTP %d: %w", model, resp.StatusCode, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := wire.ErrorFromResponse(Name, model, resp.StatusCode, resp.Header, data, c.now())
		if req.Prefill != "" && method == providers.PrefillAssistantMessage && wire.PrefillRejected(e) {
			wire.MarkPrefillUnsupported(e)
		}
		return providers.Completion{}, e
	}
	var r response
	if !json.Valid(data) {
		return providers.Completion{}, wire.InvalidJSON(Name, model, resp.StatusCode, resp.Header, data)
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return providers.Completion{}, wire.BadShape(Name, model, resp.StatusCode, resp.Header, err)
	}
	if r.Type == "error" || (len(r.Error) > 0 && string(r.Error) != "null") {
		return providers.Completion{}, wire.ErrorInOK(Name, model, resp.Header, wire.ParseError(data), c.now())
	}
	var text strings.Builder
	var thinking []string
	for _, b := range r.Content {
		switch b.Type {
		case "text":
			text.WriteString(b.Text)
		case "thinking":
			if b.Thinking != "" {
				thinking = append(thinking, b.Thinking)
			}
		}
	}
	out := providers.Completion{
		Text:          text.String(),
		FinishReason:  r.StopReason,
		Model:         r.Model,
		Provider:      Name,
		PrefillMethod: method,
		Latency:       time.Since(start),
		Usage: providers.Usage{
			InputTokens:       r.Usage.InputTokens + r.Usage.CacheCreationInputTokens + r.Usage.CacheReadInputTokens,
			OutputTokens:      r.Usage.OutputTokens,
			CachedInputTokens: r.Usage.CacheReadInputTokens,
			ReasoningTokens:   r.Usage.OutputTokensDetails.ThinkingTokens,
		},
		Reasoning: strings.Join(thinking, "\n"),
	}
	if out.Model == "" {
		out.Model = model
	}
	switch method {
	case providers.PrefillAssistantMessage:
		var t string
		t, out.PrefillEchoed = providers.StripEcho(sentPrefill, out.Text)
		out.Text = spliceWhitespace(trailingWS, t)
	case providers.PrefillInstructed:
		out.Text, out.PrefillEchoed = providers.StripEcho(req.Prefill, out.Text)
	}
	return out, nil
}

// checkKnobs refuses, before anything is sent, what the Messages API would
// reject: a seed (it has none), temperature or top_p outside [0, 1]
// (anthropic-sdk-go message.go MessageNewParams.Temperature "Ranges from
// 0.0 to 1.0"), both together unless Options.AllowTemperatureWithTopP, a
// reasoning effort (use Request.Extra["thinking"]) and a prefill inside
// the reasoning.
func (c *Client) checkKnobs(model string, req providers.Request) error {
	if req.Seed != nil {
		return fmt.Errorf("anthropic: %s: the Messages API has no seed (Request.Seed is set): %w", model, providers.ErrUnsupported)
	}
	if t := req.Temperature; t != nil && !(*t >= 0 && *t <= 1) {
		return fmt.Errorf("anthropic: %s: temperature %g is out of range (accepted: 0 to 1): %w", model, *t, providers.ErrUnsupported)
	}
	if p := req.TopP; p != nil && !(*p >= 0 && *p <= 1) {
		return fmt.Errorf("anthropic: %s: top_p %g is out of range (accepted: 0 to 1): %w", model, *p, providers.ErrUnsupported)
	}
	if req.Temperature != nil && req.TopP != nil && !c.bothTempP {
		return fmt.Errorf("anthropic: %s: temperature and top_p are both set; newer Claude models reject the pair (set one, or Options.AllowTemperatureWithTopP to send both): %w", model, providers.ErrUnsupported)
	}
	if req.ReasoningEffort != "" {
		return fmt.Errorf("anthropic: %s: the Messages API has no reasoning_effort (got %q; enable extended thinking with Request.Extra[\"thinking\"]): %w", model, req.ReasoningEffort, providers.ErrUnsupported)
	}
	switch req.PrefillTarget {
	case "", providers.PrefillTargetAnswer:
	case providers.PrefillTargetReasoning:
		return fmt.Errorf("anthropic: %s: a prefill cannot be placed inside Claude's thinking (PrefillTarget %q): %w", model, req.PrefillTarget, providers.ErrPrefillUnsupported)
	default:
		return fmt.Errorf("anthropic: %s: unknown PrefillTarget %q: %w", model, req.PrefillTarget, providers.ErrUnsupported)
	}
	return nil
}

// spliceWhitespace removes from the start of text the part of ws (the
// prefill's trimmed trailing whitespace) that the model re-emitted, so that
// prefill + result reads as the model wrote it.
func spliceWhitespace(ws, text string) string {
	n := 0
	for n < len(ws) && n < len(text) && ws[n] == text[n] {
		n++
	}
	return text[n:]
}
