// Package openai adapts every OpenAI-compatible chat API — OpenAI, Together,
// OpenRouter, DeepSeek, Mistral, Groq, Fireworks, Cohere's compatibility API,
// vLLM, SGLang, Ollama, or any server given its base URL — to
// providers.Completer, with each provider's prefill dialect.
//
// Importing the package registers one provider per preset, so
// providers.Open("deepseek:deepseek-chat") works with DEEPSEEK_API_KEY set.
// New builds a Client with explicit Options (base URL, key, HTTP client,
// dialect, chat template) for tests and custom setups.
//
// The package is named openai to match its directory; it wraps
// github.com/sashabaranov/go-openai, imported here as goopenai. go-openai
// builds and decodes the requests; a custom HTTPDoer rewrites the JSON body
// to add what go-openai cannot express (temperature 0, prefix flags,
// continue_final_message, Request.Extra) and reads what it drops (response
// headers on errors, OpenRouter's usage.cost, DeepSeek's cache-hit tokens).
package openai

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/rebound-lab/rebound/providers"
	"github.com/rebound-lab/rebound/providers/internal/wire"
)

// Doer sends HTTP requests; *http.Client implements it.
type Doer interface {
	Do(*http.Request) (*http.Response, error)
}

// Options configure a Client. The zero value of each field means "the
// preset's default".
type Options struct {
	// Preset names the provider ("openai", "deepseek", ...); default
	// "openai-compatible".
	Preset string
	// BaseURL overrides the preset's API root.
	BaseURL string
	// APIKey is sent as a bearer token; empty sends no Authorization header.
	APIKey string
	// HTTPClient sends the requests; default a new http.Client.
	HTTPClient Doer
	// Dialect replaces the preset's native prefill dialect (used when
	// Request.PrefillMethod is empty). It must be one the preset allows.
	Dialect providers.PrefillMethod
	// ChatTemplate names the template (TemplateChatML, TemplateLlama3) for
	// the raw_completion dialect.
	ChatTemplate string
	// Header adds HTTP headers to every request (e.g. OpenRouter's
	// HTTP-Referer and X-Title).
	Header http.Header
	// Routing pins OpenRouter's choice of upstream host; nil lets it route
	// freely. It is sent as the body's "provider" object.
	Routing *Routing

	keyFromEnv bool
}

// Client is a providers.Completer for one OpenAI-compatible endpoint and
// default model. Build it with New or FromEnv. It is safe for concurrent
// use.
type Client struct {
	preset   Preset
	model    string
	baseURL  string
	key      string
	dialect  providers.PrefillMethod
	template string
	header   http.Header
	routing  *Routing
	api      *goopenai.Client
	now      func() time.Time
	hc       Doer // the HTTP client under api, for the batch API (batch.go)
}

var (
	_ providers.Completer = (*Client)(nil)
	_ providers.Describer = (*Client)(nil)
)

func unknownPreset(name string) error {
	names := make([]string, len(presets))
	for i, p := range presets {
		names[i] = p.Name
	}
	return fmt.Errorf("openai: unknown preset %q (known: %s)", name, strings.Join(names, ", "))
}

// New returns a Client for model with opts. It fails when the preset is
// unknown, a required key or base URL is missing, or the dialect or chat
// template is one the preset cannot use.
func New(model string, opts Options) (*Client, error) {
	name := opts.Preset
	if name == "" {
		name = GenericName
	}
	p, ok := LookupPreset(name)
	if !ok {
		return nil, unknownPreset(name)
	}
	env := p.EnvPrefix()
	c := &Client{preset: p, model: model, baseURL: p.BaseURL, key: opts.APIKey, dialect: p.Native,
		template: opts.ChatTemplate, header: opts.Header.Clone(), now: time.Now}
	if !opts.Routing.empty() {
		r := *opts.Routing
		c.routing = &r
	}
	if opts.BaseURL != "" {
		c.baseURL = opts.BaseURL
	}
	c.baseURL = strings.TrimRight(c.baseURL, "/")
	if c.baseURL == "" {
		return nil, fmt.Errorf("openai: preset %s needs a base URL (set %s_BASE_URL or Options.BaseURL)", name, env)
	}
	if p.KeyRequired && c.key == "" && opts.keyFromEnv {
		return nil, fmt.Errorf("openai: preset %s needs an API key: %s_API_KEY is not set", name, env)
	}
	if opts.Dialect != "" {
		if !p.Allows(opts.Dialect) {
			return nil, fmt.Errorf("openai: preset %s cannot use prefill dialect %q (allowed: %s): %w", name, opts.Dialect, dialectList(p), providers.ErrPrefillUnsupported)
		}
		c.dialect = opts.Dialect
	}
	if c.template != "" {
		if _, _, err := RenderChat(c.template, nil, ""); err != nil {
			return nil, fmt.Errorf("openai: preset %s: %w", name, err)
		}
	}
	cfg := goopenai.DefaultConfig(c.key)
	cfg.BaseURL = c.baseURL
	inner := opts.HTTPClient
	if inner == nil {
		inner = &http.Client{}
	}
	cfg.HTTPClient = &doer{inner: inner, header: c.header}
	c.hc = inner
	c.api = goopenai.NewClientWithConfig(cfg)
	return c, nil
}

func dialectList(p Preset) string {
	var s []string
	for _, d := range p.Dialects {
		s = append(s, string(d))
	}
	s = append(s, string(providers.PrefillInstructed))
	return strings.Join(s, ", ")
}

// Endpoint names the preset and base URL (part of every cache key).
func (c *Client) Endpoint() providers.Endpoint {
	return providers.Endpoint{Provider: c.preset.Name, BaseURL: c.baseURL}
}

// Preset returns the client's preset.
func (c *Client) Preset() Preset { return c.preset }

// Dialects lists the prefill methods this client can use, its default first
// (none if it has no native prefill) and PrefillInstructed last.
func (c *Client) Dialects() []providers.PrefillMethod {
	var out []providers.PrefillMethod
	if c.dialect != providers.PrefillNone {
		out = append(out, c.dialect)
	}
	for _, d := range c.preset.Dialects {
		if d != c.dialect && (d != raw || c.template != "") {
			out = append(out, d)
		}
	}
	return append(out, providers.PrefillInstructed)
}

// String describes the client with its key redacted.
func (c *Client) String() string {
	key := "none"
	if c.key != "" {
		key = "[redacted]"
	}
	return fmt.Sprintf("openai.Client{preset: %s, model: %s, base: %s, key: %s, dialect: %q}", c.preset.Name, c.model, c.baseURL, key, c.dialect)
}

// method decides how req's prefill is sent.
func (c *Client) method(req providers.Request) (providers.PrefillMethod, error) {
	if req.Prefill == "" {
		return providers.PrefillNone, nil
	}
	m := req.PrefillMethod
	if m == "" {
		m = c.dialect
		if m == providers.PrefillNone {
			return "", fmt.Errorf("openai: %s has no native prefill (set Request.PrefillMethod to %q to emulate it): %w", c.preset.Name, providers.PrefillInstructed, providers.ErrPrefillUnsupported)
		}
		return m, nil
	}
	if !c.preset.Allows(m) {
		return "", fmt.Errorf("openai: %s cannot use prefill method %q (allowed: %s): %w", c.preset.Name, m, dialectList(c.preset), providers.ErrPrefillUnsupported)
	}
	return m, nil
}

// Complete sends req and returns the continuation. Errors from the API are
// *providers.APIError (status, type, retryability, Retry-After, headers);
// an unsupported prefill method or Extra field wraps
// providers.ErrUnsupported; cancellation returns ctx's error.
func (c *Client) Complete(ctx context.Context, req providers.Request) (providers.Completion, error) {
	model := req.Model
	if model == "" {
		model = c.model
	}
	if model == "" {
		return providers.Completion{}, errors.New("openai: no model (Request.Model and the client's model are empty)")
	}
	method, err := c.method(req)
	if err != nil {
		return providers.Completion{}, err
	}
	if err := c.checkKnobs(model, req); err != nil {
		return providers.Completion{}, err
	}
	if err := c.checkTarget(req, method); err != nil {
		return providers.Completion{}, err
	}
	st := &callState{provider: c.preset.Name, model: model, now: c.now}
	if st.patch, err = c.patch(req, method); err != nil {
		return providers.Completion{}, err
	}
	ctx = context.WithValue(ctx, stateKey{}, st)
	start := time.Now()
	out := providers.Completion{Provider: c.preset.Name, PrefillMethod: method}
	var text, finish, respModel string
	var usage goopenai.Usage
	if method == raw {
		prompt, stop, err := RenderChatTarget(c.template, req.Messages, req.Prefill, req.PrefillTarget)
		if err != nil {
			return providers.Completion{}, fmt.Errorf("openai: %s: %w: %w", c.preset.Name, err, providers.ErrPrefillUnsupported)
		}
		stops, err := c.mergeStops(model, req.Stop, stop)
		if err != nil {
			return providers.Completion{}, err
		}
		resp, err := c.api.CreateCompletion(ctx, goopenai.CompletionRequest{
			Model: model, Prompt: prompt, Stop: stops,
		})
		if err != nil {
			return providers.Completion{}, c.wrapErr(ctx, req, model, err)
		}
		if len(resp.Choices) == 0 {
			return providers.Completion{}, st.empty()
		}
		text, finish, respModel = resp.Choices[0].Text, resp.Choices[0].FinishReason, resp.Model
		if resp.Usage != nil {
			usage = *resp.Usage
		}
		if rt, ok := reasoningTemplates[c.template]; ok && req.PrefillTarget == providers.PrefillTargetReasoning {
			// The continuation runs on inside the reasoning: what
			// follows its end is the answer.
			st.reasoning, text = rt.splitReasoning(text)
		}
	} else {
		if _, err := c.mergeStops(model, req.Stop, nil); err != nil {
			return providers.Completion{}, err
		}
		resp, err := c.api.CreateChatCompletion(ctx, goopenai.ChatCompletionRequest{
			Model: model, Messages: chatMessages(req, method), Stop: req.Stop,
		})
		if err != nil {
			return providers.Completion{}, c.wrapErr(ctx, req, model, err)
		}
		if len(resp.Choices) == 0 {
			return providers.Completion{}, st.empty()
		}
		ch := resp.Choices[0]
		text, finish, respModel, usage = ch.Message.Content, string(ch.FinishReason), resp.Model, resp.Usage
		if st.chunked {
			text = st.text // content was an array of chunks (Mistral, Magistral)
		}
	}
	out.Latency = time.Since(start)
	if method != providers.PrefillNone {
		text, out.PrefillEchoed = providers.StripEcho(req.Prefill, text)
	}
	out.Text = text
	out.FinishReason = finish
	out.Model = respModel
	if out.Model == "" {
		out.Model = model
	}
	out.Usage = providers.Usage{InputTokens: usage.PromptTokens, OutputTokens: usage.CompletionTokens}
	if usage.PromptTokensDetails != nil {
		out.Usage.CachedInputTokens = usage.PromptTokensDetails.CachedTokens
	}
	if st.cacheHit > out.Usage.CachedInputTokens {
		out.Usage.CachedInputTokens = st.cacheHit
	}
	if usage.CompletionTokensDetails != nil {
		out.Usage.ReasoningTokens = usage.CompletionTokensDetails.ReasoningTokens
	}
	if out.Usage.ReasoningTokens == 0 {
		out.Usage.ReasoningTokens = st.reasoningTokens // SGLang: top-level usage.reasoning_tokens
	}
	out.Reasoning = st.reasoning
	out.Upstream = st.upstream
	if c.preset.ReportsCost && st.costKnown {
		out.CostUSD, out.CostKnown = st.cost, true
	}
	return out, nil
}

// chatMessages converts req to go-openai messages with the prefill placed
// as method requires. Flags (prefix, continue_final_message) are added by
// the body patch.
// checkTarget refuses a PrefillTarget the request cannot honour: only the
// raw-completion templates of reasoning families can put a prefix inside the
// reasoning.
func (c *Client) checkTarget(req providers.Request, method providers.PrefillMethod) error {
	switch req.PrefillTarget {
	case "", providers.PrefillTargetAnswer:
		return nil
	case providers.PrefillTargetReasoning:
		if method == raw && TemplateReasons(c.template) {
			return nil
		}
		return fmt.Errorf("openai: %s: PrefillTarget %q needs raw_completion with a reasoning chat template (%s; have method %q, template %q): %w",
			c.preset.Name, req.PrefillTarget, strings.Join(ReasoningTemplates(), ", "), method, c.template, providers.ErrPrefillUnsupported)
	}
	return fmt.Errorf("openai: %s: unknown PrefillTarget %q (want %q or %q): %w", c.preset.Name, req.PrefillTarget,
		providers.PrefillTargetAnswer, providers.PrefillTargetReasoning, providers.ErrUnsupported)
}

func chatMessages(req providers.Request, method providers.PrefillMethod) []goopenai.ChatCompletionMessage {
	msgs := req.Messages
	switch method {
	case providers.PrefillInstructed:
		msgs = providers.InstructedMessages(msgs, req.Prefill)
	case assistant, cont, prefix:
		msgs = append(append([]providers.Message(nil), msgs...), providers.Message{Role: providers.RoleAssistant, Content: req.Prefill})
	}
	out := make([]goopenai.ChatCompletionMessage, len(msgs))
	for i, m := range msgs {
		out[i] = goopenai.ChatCompletionMessage{Role: m.Role, Content: m.Content}
	}
	return out
}

// wrapErr turns whatever go-openai returned into the package's errors.
func (c *Client) wrapErr(ctx context.Context, req providers.Request, model string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
		return fmt.Errorf("openai: %s %s: %w (%v)", c.preset.Name, model, ctxErr, err)
	}
	var apiErr *providers.APIError
	if errors.As(err, &apiErr) {
		if req.Prefill != "" && wire.PrefillRejected(apiErr) {
			wire.MarkPrefillUnsupported(apiErr)
		}
		return apiErr
	}
	// go-openai's own decoding errors (the doer checked the JSON is valid,
	// so this is a shape mismatch): retryable as a bad response.
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	if errors.As(err, &syn) || errors.As(err, &typ) {
		return wire.BadShape(c.preset.Name, model, http.StatusOK, nil, err)
	}
	return fmt.Errorf("openai: %s %s: %w", c.preset.Name, model, err)
}
