// Package providers is Rebound's vocabulary for talking to language models:
// the Completer interface, its Request and Completion, typed errors,
// middleware (retry, rate limits, concurrency, ledger and budget, cache),
// prices, a registry of adapters opened by "provider:model" specs, and the
// prefill probe.
//
// Real adapters live in subpackages (providers/openai, providers/anthropic);
// providers/mock is a scripted test double and providers/sim a simulated math
// solver for offline runs.
package providers

import (
	"context"
	"time"
)

// Roles of a chat message.
const (
	RoleSystem    = "system"
	RoleUser      = "user"
	RoleAssistant = "assistant"
)

// Message is one chat turn.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// PrefillMethod names how an adapter made the model continue Request.Prefill.
// It is recorded on every Completion because the method changes the science:
// a prefix presented as the model's own text is a different experiment from
// one presented as the user's.
type PrefillMethod string

// The prefill dialects Rebound knows.
const (
	// PrefillNone: the request had no prefill.
	PrefillNone PrefillMethod = ""
	// PrefillAssistantMessage: a trailing assistant message the model continues
	// (Anthropic, OpenRouter, Groq, Ollama).
	PrefillAssistantMessage PrefillMethod = "assistant_message"
	// PrefillContinueFinal: continue_final_message=true with
	// add_generation_prompt=false (vLLM, SGLang).
	PrefillContinueFinal PrefillMethod = "continue_final_message"
	// PrefillPrefixFlag: "prefix": true on the last assistant message
	// (DeepSeek beta, Mistral).
	PrefillPrefixFlag PrefillMethod = "prefix_flag"
	// PrefillRawCompletion: the chat rendered through a named chat template and
	// sent to a raw text-completion endpoint.
	PrefillRawCompletion PrefillMethod = "raw_completion"
	// PrefillInstructed: emulation — a user turn asks the model to continue the
	// partial solution verbatim. The prefix is presented as the user's text,
	// not the model's; only used when the caller asks for it.
	PrefillInstructed PrefillMethod = "instructed"
	// PrefillNative: the completer continues text directly (simulators, mocks).
	PrefillNative PrefillMethod = "native"
)

// Request is one completion request. The zero value of every optional knob
// means "not sent"; knobs where zero is a real value are pointers, so a
// temperature of 0 can be sent.
type Request struct {
	// Model is the provider's model name, e.g. "gpt-4o-mini".
	Model string `json:"model"`
	// Messages is the conversation, without the prefill.
	Messages []Message `json:"messages"`
	// Prefill is assistant text the model must continue as its own. Empty
	// means a fresh answer.
	Prefill string `json:"prefill,omitempty"`
	// PrefillMethod asks for a specific dialect. Empty means the adapter's
	// native dialect; PrefillInstructed opts in to emulation. An adapter that
	// cannot honour the requested method returns an error wrapping
	// ErrPrefillUnsupported.
	PrefillMethod PrefillMethod `json:"prefill_method,omitempty"`
	// Temperature and TopP are sent when non-nil.
	Temperature *float64 `json:"temperature,omitempty"`
	TopP        *float64 `json:"top_p,omitempty"`
	// MaxTokens caps the output tokens; 0 means the provider's default.
	MaxTokens int `json:"max_tokens,omitempty"`
	// Stop sequences.
	Stop []string `json:"stop,omitempty"`
	// Seed is sent when non-nil.
	Seed *int64 `json:"seed,omitempty"`
	// Sample says which sample of an otherwise identical request this is. It
	// is never sent to the provider but is part of the cache key, so N samples
	// of one prompt are distinct yet reproducible.
	Sample int `json:"sample"`
	// Extra holds provider-specific body fields. An adapter that cannot send
	// one returns an error wrapping ErrUnsupported; none is dropped silently.
	Extra map[string]any `json:"extra,omitempty"`
	// ReasoningEffort is sent as reasoning_effort ("none", "minimal", "low",
	// "medium", "high", "xhigh", "max") where the API defines it; "" sends
	// nothing. An adapter without it returns an error wrapping
	// ErrUnsupported.
	ReasoningEffort string `json:"reasoning_effort,omitempty"`
	// PrefillTarget says where Prefill goes for a model that reasons before
	// answering: PrefillTargetAnswer ("" means the same) puts it in the
	// visible answer, after a closed reasoning section; PrefillTargetReasoning
	// puts it inside the open reasoning section. Only the raw_completion
	// templates of reasoning families can honour "reasoning"; elsewhere it is
	// refused with ErrPrefillUnsupported.
	PrefillTarget string `json:"prefill_target,omitempty"`
}

// Where Request.Prefill goes for a reasoning model.
const (
	// PrefillTargetAnswer: the prefix is the start of the visible answer.
	PrefillTargetAnswer = "answer"
	// PrefillTargetReasoning: the prefix is the start of the reasoning.
	PrefillTargetReasoning = "reasoning"
)

// Float returns a pointer to v, for Request.Temperature and Request.TopP.
func Float(v float64) *float64 { return &v }

// Int64 returns a pointer to v, for Request.Seed.
func Int64(v int64) *int64 { return &v }

// Usage counts tokens of one or more calls.
type Usage struct {
	InputTokens       int `json:"input_tokens"`
	OutputTokens      int `json:"output_tokens"`
	CachedInputTokens int `json:"cached_input_tokens"`
	ReasoningTokens   int `json:"reasoning_tokens"`
}

// Add returns the element-wise sum of u and v.
func (u Usage) Add(v Usage) Usage {
	return Usage{
		InputTokens:       u.InputTokens + v.InputTokens,
		OutputTokens:      u.OutputTokens + v.OutputTokens,
		CachedInputTokens: u.CachedInputTokens + v.CachedInputTokens,
		ReasoningTokens:   u.ReasoningTokens + v.ReasoningTokens,
	}
}

// Total is input plus output tokens.
func (u Usage) Total() int { return u.InputTokens + u.OutputTokens }

// Completion is a model's answer to a Request.
type Completion struct {
	// Text is the continuation only — never the prefill, whatever the server
	// echoed.
	Text string `json:"text"`
	// FinishReason as the provider reported it ("stop", "length", ...).
	FinishReason string `json:"finish_reason,omitempty"`
	Usage        Usage  `json:"usage"`
	// CostUSD is the dollar cost of the call; meaningful only if CostKnown.
	CostUSD   float64 `json:"cost_usd"`
	CostKnown bool    `json:"cost_known"`
	// Model is the model that answered, as the provider named it.
	Model string `json:"model,omitempty"`
	// Provider is the registry name of the adapter ("openai", "sim", ...).
	Provider string `json:"provider,omitempty"`
	// PrefillMethod records how Request.Prefill was continued (PrefillNone
	// when there was none).
	PrefillMethod PrefillMethod `json:"prefill_method,omitempty"`
	// PrefillEchoed reports that the server's reply repeated the prefill
	// (Mistral does, some routers do) and the adapter stripped it from Text.
	PrefillEchoed bool `json:"prefill_echoed,omitempty"`
	// Latency is the wall time of the call (0 for a cache hit).
	Latency time.Duration `json:"latency_ns"`
	// Cached reports that the completion came from a cache and cost nothing.
	Cached bool `json:"cached,omitempty"`
	// SavedUSD, on a cache hit, is what the original paid call cost: the
	// dollars the cache saved (0 if that cost was unknown).
	SavedUSD float64 `json:"saved_usd,omitempty"`
	// Reasoning is the model's reasoning or thinking text, when the API
	// returns it apart from the answer (DeepSeek and vLLM reasoning_content,
	// OpenRouter reasoning, Anthropic thinking blocks, Mistral thinking
	// chunks). It is never part of Text; restart detection and verifiers
	// look at Text only.
	Reasoning string `json:"reasoning,omitempty"`
	// Upstream is the host a router says served the call (OpenRouter's
	// "provider", e.g. "DeepInfra"); "" when the API is not a router.
	Upstream string `json:"upstream,omitempty"`
	// Batch reports that the completion came through a provider's batch
	// API (billed at the batch price) rather than a live call.
	Batch bool `json:"batch,omitempty"`
}

// Completer produces completions. Implementations must be safe for
// concurrent use and honour ctx.
type Completer interface {
	Complete(ctx context.Context, req Request) (Completion, error)
}

// CompleterFunc adapts a function to a Completer.
type CompleterFunc func(ctx context.Context, req Request) (Completion, error)

// Complete calls f(ctx, req).
func (f CompleterFunc) Complete(ctx context.Context, req Request) (Completion, error) {
	return f(ctx, req)
}

// Endpoint identifies where a Completer sends its calls. It is part of every
// cache key, so two providers (or two base URLs) serving the same model name
// never share cached answers.
type Endpoint struct {
	Provider string `json:"provider"`
	BaseURL  string `json:"base_url,omitempty"`
}

// Describer is implemented by Completers that know their Endpoint. Adapters
// implement it; middleware forwards it from the Completer it wraps.
type Describer interface {
	Endpoint() Endpoint
}

// EndpointOf returns c's Endpoint if c is a Describer, else the zero Endpoint.
func EndpointOf(c Completer) Endpoint {
	if d, ok := c.(Describer); ok {
		return d.Endpoint()
	}
	return Endpoint{}
}

// Middleware wraps a Completer with extra behaviour.
type Middleware func(Completer) Completer

// Chain wraps c so that the first middleware is the outermost: Chain(c, a, b)
// calls a, then b, then c.
func Chain(c Completer, mws ...Middleware) Completer {
	for i := len(mws) - 1; i >= 0; i-- {
		c = mws[i](c)
	}
	return c
}
