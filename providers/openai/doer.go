package openai

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	"github.com/rebound-lab/rebound/providers"
	"github.com/rebound-lab/rebound/providers/internal/wire"
)

// stateKey carries a *callState from Complete to the doer through the
// request's context.
type stateKey struct{}

// callState is one call's link between Complete and the doer: the body
// patch going out, the extras coming back.
type callState struct {
	provider, model string
	now             func() time.Time
	patch           func(map[string]any) error

	cost      float64
	costKnown bool
	cacheHit  int

	// From the reply, beyond what go-openai decodes.
	reasoning       string // reasoning_content, reasoning, thinking chunks
	upstream        string // OpenRouter's "provider"
	reasoningTokens int    // SGLang's top-level usage.reasoning_tokens
	chunked         bool   // message.content was an array of chunks
	text            string // its text chunks, joined
}

func (s *callState) empty() error {
	return &providers.APIError{Provider: s.provider, Model: s.model, StatusCode: http.StatusOK,
		Type: "empty_response", Message: "response has no choices", Retryable: true}
}

// reservedExtra are body fields the adapter sets itself; Request.Extra may
// not override them.
var reservedExtra = []string{"model", "messages", "prompt", "stream", "n",
	"temperature", "top_p", "seed", "random_seed", "max_tokens", "max_completion_tokens", "stop",
	"continue_final_message", "add_generation_prompt", "reasoning_effort"}

// patch returns the body rewrite for req: knobs go-openai cannot express
// (temperature 0), the dialect's flags, and Request.Extra.
func (c *Client) patch(req providers.Request, method providers.PrefillMethod) (func(map[string]any) error, error) {
	for k, v := range req.Extra {
		if slices.Contains(reservedExtra, k) {
			return nil, fmt.Errorf("openai: %s: Request.Extra[%q] is set by the adapter (use the Request field): %w", c.preset.Name, k, providers.ErrUnsupported)
		}
		if k == "provider" && c.routing != nil {
			return nil, fmt.Errorf("openai: %s: Request.Extra[%q] conflicts with Options.Routing (set one): %w", c.preset.Name, k, providers.ErrUnsupported)
		}
		if k == "reasoning" && c.preset.ReasoningObject && req.ReasoningEffort != "" {
			return nil, fmt.Errorf("openai: %s: Request.Extra[%q] conflicts with Request.ReasoningEffort (set one): %w", c.preset.Name, k, providers.ErrUnsupported)
		}
		if _, err := json.Marshal(v); err != nil {
			return nil, fmt.Errorf("openai: %s: Request.Extra[%q] cannot be encoded as JSON: %v: %w", c.preset.Name, k, err, providers.ErrUnsupported)
		}
	}
	return func(body map[string]any) error {
		for _, k := range []string{"temperature", "top_p", "seed", "max_tokens", "max_completion_tokens", "reasoning_effort"} {
			delete(body, k)
		}
		// go-openai drops an empty content ("content,omitempty"); every
		// message must carry one (openai-openapi: content is required).
		if msgs, ok := body["messages"].([]any); ok {
			for _, m := range msgs {
				if mm, ok := m.(map[string]any); ok {
					if _, has := mm["content"]; !has {
						mm["content"] = ""
					}
				}
			}
		}
		if req.Temperature != nil {
			body["temperature"] = *req.Temperature
		}
		if req.TopP != nil {
			body["top_p"] = *req.TopP
		}
		if req.Seed != nil {
			body[c.preset.seedField()] = *req.Seed
		}
		maxTokens := req.MaxTokens
		if maxTokens <= 0 && method == raw {
			maxTokens = DefaultCompletionMaxTokens // the endpoint's default is 16
		}
		if maxTokens > 0 {
			if c.preset.MaxCompletionTokens && method != raw {
				body["max_completion_tokens"] = maxTokens
			} else {
				body["max_tokens"] = maxTokens
			}
		}
		if req.ReasoningEffort != "" {
			if c.preset.ReasoningObject {
				body["reasoning"] = map[string]any{"effort": req.ReasoningEffort}
			} else {
				body["reasoning_effort"] = req.ReasoningEffort
			}
		}
		if c.routing != nil {
			body["provider"] = c.routing.body()
		}
		if rt, ok := reasoningTemplates[c.template]; ok && method == raw && (c.preset.Name == "vllm" || c.preset.Name == "sglang") {
			// Fields both servers' CompletionRequest define
			// (skip_special_tokens), so the reply can be split.
			for k, v := range rt.fields {
				body[k] = v
			}
		}
		switch method {
		case prefix:
			msgs, _ := body["messages"].([]any)
			if len(msgs) == 0 {
				return fmt.Errorf("no messages to flag")
			}
			last, ok := msgs[len(msgs)-1].(map[string]any)
			if !ok {
				return fmt.Errorf("last message is not an object")
			}
			last["prefix"] = true
		case cont:
			body["continue_final_message"] = true
			if !c.preset.NoAddGenerationPrompt {
				body["add_generation_prompt"] = false
			}
		}
		for k, v := range req.Extra {
			body[k] = v
		}
		return nil
	}, nil
}

// doer is the go-openai HTTPDoer: it rewrites outgoing bodies and turns
// every failure into a *providers.APIError that keeps status and headers.
type doer struct {
	inner  Doer
	header http.Header
}

func (d *doer) Do(r *http.Request) (*http.Response, error) {
	st, _ := r.Context().Value(stateKey{}).(*callState)
	if st == nil {
		return d.inner.Do(r)
	}
	for k, vs := range d.header {
		r.Header[k] = slices.Clone(vs)
	}
	if r.Body != nil && st.patch != nil {
		in, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("openai: %s: reading request body: %w", st.provider, err)
		}
		var body map[string]any
		dec := json.NewDecoder(bytes.NewReader(in))
		dec.UseNumber()
		if err := dec.Decode(&body); err != nil {
			return nil, fmt.Errorf("openai: %s: request body is not a JSON object: %w", st.provider, err)
		}
		if err := st.patch(body); err != nil {
			return nil, fmt.Errorf("openai: %s: rewriting request: %w", st.provider, err)
		}
		out, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("openai: %s: encoding request: %w: %w", st.provider, err, providers.ErrUnsupported)
		}
		r.Body = io.NopCloser(bytes.NewReader(out))
		r.ContentLength = int64(len(out))
		r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(out)), nil }
	}
	resp, err := d.inner.Do(r)
	if err != nil {
		return nil, err
	}
	body, err := wire.ReadBody(resp.Body)
	resp.Body.Close()
	if err != nil {
		if ctxErr := r.Context().Err(); ctxErr != nil {
			return nil, fmt.Errorf("openai: %s %s: %w", st.provider, st.model, ctxErr)
		}
		return nil, fmt.Errorf("openai: %s %s: HTTP %d: %w", st.provider, st.model, resp.StatusCode, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, wire.ErrorFromResponse(st.provider, st.model, resp.StatusCode, resp.Header, body, st.now())
	}
	if !json.Valid(body) {
		return nil, wire.InvalidJSON(st.provider, st.model, resp.StatusCode, resp.Header, body)
	}
	var extra replyExtras
	_ = json.Unmarshal(body, &extra) // a shape mismatch surfaces in go-openai's decode
	if len(extra.Error) > 0 && string(extra.Error) != "null" {
		return nil, wire.ErrorInOK(st.provider, st.model, resp.Header, wire.ParseError(body), st.now())
	}
	if extra.Usage != nil {
		if extra.Usage.Cost != nil {
			st.cost, st.costKnown = *extra.Usage.Cost, true
		}
		st.cacheHit = extra.Usage.PromptCacheHitTokens
		st.reasoningTokens = extra.Usage.ReasoningTokens
	}
	st.upstream = extra.Provider
	if len(extra.Choices) > 0 {
		if body, err = st.readMessage(extra.Choices[0].Message, body); err != nil {
			return nil, wire.BadShape(st.provider, st.model, resp.StatusCode, resp.Header, err)
		}
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	return resp, nil
}
