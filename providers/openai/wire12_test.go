package openai

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/providers"
)

func newClient(t *testing.T, preset string, f *fakeServer, opts Options) *Client {
	t.Helper()
	opts.Preset, opts.BaseURL, opts.APIKey = preset, f.URL+"/v1", "sk-test"
	c, err := New("test-model", opts)
	require.NoError(t, err)
	return c
}

func chatReply(body string) func(w http.ResponseWriter, r *http.Request, _ map[string]any) {
	return func(w http.ResponseWriter, r *http.Request, _ map[string]any) { writeJSON(w, 200, body) }
}

// /completions defaults max_tokens to 16: openai/openai-openapi
// CreateCompletionRequest.max_tokens "default: 16"; sgl-project/sglang
// python/sglang/srt/entrypoints/openai/protocol.py CompletionRequest
// "max_tokens: int = 16"; vllm-project/vllm vllm/entrypoints/openai/protocol.py
// CompletionRequest "max_tokens: Optional[int] = 16". A raw continuation with
// MaxTokens 0 must still send a real limit.
func TestRawCompletionAlwaysSendsMaxTokens(t *testing.T) {
	for _, preset := range []string{"vllm", "sglang", "together", "fireworks"} {
		t.Run(preset, func(t *testing.T) {
			f := newFake(t, chatReply(completionShape("test-model", continuation)))
			c := newClient(t, preset, f, Options{ChatTemplate: TemplateChatML})
			_, err := c.Complete(context.Background(), providers.Request{Messages: testMsgs, Prefill: testPrefill, PrefillMethod: raw})
			require.NoError(t, err)
			assert.Equal(t, "/v1/completions", f.last(t).Path)
			assert.Equal(t, float64(DefaultCompletionMaxTokens), f.last(t).Body["max_tokens"])
		})
	}
}

// Mistral replies with content as an array of chunks for Magistral:
// mistralai/platform-docs-public openapi.yaml AssistantMessage.content
// (string | array of ContentChunk), TextChunk {type: text, text},
// ThinkChunk {type: thinking, thinking: [TextChunk...]}.
func TestMistralChunkedContentIsReadAndThinkingKeptApart(t *testing.T) {
	reply := `{"id":"cmpl-1","object":"chat.completion","model":"magistral-medium-2509","created":1732000000,
"usage":{"prompt_tokens":42,"total_tokens":49,"completion_tokens":7},
"choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant","tool_calls":null,"content":[
{"type":"thinking","thinking":[{"type":"text","text":"The user wants 4*3."}]},
{"type":"text","text":"Step 1: 2+2 = 4\nStep 2: 4*3 = "},{"type":"text","text":"12\nThe answer is \\boxed{12}."}]}}]}`
	f := newFake(t, chatReply(reply))
	c := newClient(t, "mistral", f, Options{})
	got, err := c.Complete(context.Background(), providers.Request{Messages: testMsgs, Prefill: testPrefill, Seed: providers.Int64(11)})
	require.NoError(t, err)
	assert.Equal(t, continuation, got.Text, "text chunks joined, echoed prefix stripped, no thinking")
	assert.True(t, got.PrefillEchoed)
	assert.Equal(t, "The user wants 4*3.", got.Reasoning)
	body := f.last(t).Body
	assert.Equal(t, 11.0, body["random_seed"])
	assert.NotContains(t, body, "seed", "Mistral's schema has additionalProperties: false")
}

// Reasoning text arrives apart from the answer in each server's own field:
// DeepSeek and SGLang reasoning_content (sglang protocol.py ChatMessage),
// OpenRouter message.reasoning and reasoning_details plus the upstream in
// the top-level "provider" (openrouter.ai/docs/use-cases/reasoning-tokens),
// SGLang's count in top-level usage.reasoning_tokens (protocol.py UsageInfo).
func TestReasoningIsReadAndNeverMixedIntoText(t *testing.T) {
	cases := []struct {
		name, preset, reply string
		reasoning, upstream string
		reasoningTokens     int
		wantText            string
	}{
		{"deepseek reasoning_content", "deepseek", `{"id":"x","object":"chat.completion","created":1,"model":"deepseek-reasoner",
"choices":[{"index":0,"message":{"role":"assistant","content":"12","reasoning_content":"4 times 3 is 12."},"finish_reason":"stop"}],
"usage":{"prompt_tokens":42,"completion_tokens":7,"total_tokens":49,"completion_tokens_details":{"reasoning_tokens":5}}}`,
			"4 times 3 is 12.", "", 5, "12"},
		{"sglang reasoning_content and top-level reasoning_tokens", "sglang", `{"id":"x","object":"chat.completion","created":1,"model":"Qwen/Qwen3-8B",
"choices":[{"index":0,"message":{"role":"assistant","content":"12","reasoning_content":"Multiply.","tool_calls":null},"finish_reason":"stop","matched_stop":151645}],
"usage":{"prompt_tokens":42,"total_tokens":49,"completion_tokens":7,"prompt_tokens_details":null,"reasoning_tokens":3}}`,
			"Multiply.", "", 3, "12"},
		{"openrouter reasoning and provider", "openrouter", `{"id":"gen-1","provider":"Chutes","model":"deepseek/deepseek-r1","object":"chat.completion","created":1,
"choices":[{"finish_reason":"stop","native_finish_reason":"stop","index":0,"message":{"role":"assistant","content":"12","refusal":null,"reasoning":"Four threes.",
"reasoning_details":[{"type":"reasoning.text","text":"Four threes.","format":"unknown","index":0}]}}],
"usage":{"prompt_tokens":42,"completion_tokens":7,"total_tokens":49,"cost":0.0001,"completion_tokens_details":{"reasoning_tokens":4}}}`,
			"Four threes.", "Chutes", 4, "12"},
		{"openrouter reasoning_details only", "openrouter", `{"id":"gen-2","provider":"Anthropic","model":"anthropic/claude-sonnet-4.5","object":"chat.completion","created":1,
"choices":[{"finish_reason":"stop","index":0,"message":{"role":"assistant","content":"12","reasoning":null,
"reasoning_details":[{"type":"reasoning.summary","summary":"Multiplied."},{"type":"reasoning.encrypted","data":"abc"}]}}],
"usage":{"prompt_tokens":42,"completion_tokens":7,"total_tokens":49}}`,
			"Multiplied.", "Anthropic", 0, "12"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFake(t, chatReply(c.reply))
			cl := newClient(t, c.preset, f, Options{})
			got, err := cl.Complete(context.Background(), providers.Request{Messages: testMsgs})
			require.NoError(t, err)
			assert.Equal(t, c.wantText, got.Text)
			assert.Equal(t, c.reasoning, got.Reasoning)
			assert.Equal(t, c.upstream, got.Upstream)
			assert.Equal(t, c.reasoningTokens, got.Usage.ReasoningTokens)
		})
	}
}

// OpenAI's reasoning families reject sampling knobs: go-openai
// reasoning_validator.go ("temperature, top_p and n are fixed at 1") for
// o1/o3/o4/gpt-5; openai/openai-openapi StopConfiguration "Not supported
// with latest reasoning models o3 and o4-mini". The adapter must refuse
// before sending, naming model, knob and accepted values.
func TestOpenAIReasoningModelsRefuseBadKnobsBeforeSending(t *testing.T) {
	cases := []struct {
		name, preset, model string
		req                 providers.Request
		wantErr             []string
	}{
		{"o3 temperature 0", "openai", "o3", providers.Request{Temperature: providers.Float(0)}, []string{"o3", "temperature 0", "leave it unset, or 1"}},
		{"o4-mini top_p", "openai", "o4-mini", providers.Request{TopP: providers.Float(0.9)}, []string{"o4-mini", "top_p 0.9"}},
		{"gpt-5 temperature 0.7", "openai", "gpt-5-mini", providers.Request{Temperature: providers.Float(0.7)}, []string{"gpt-5-mini", "temperature 0.7"}},
		{"o3 stop", "openai", "o3-mini", providers.Request{Stop: []string{"\n"}}, []string{"o3-mini", "stop sequences"}},
		{"routed o3 temperature", "openrouter", "openai/o3", providers.Request{Temperature: providers.Float(0)}, []string{"openai/o3", "temperature 0"}},
		{"bad effort", "openai", "o3", providers.Request{ReasoningEffort: "extreme"}, []string{"extreme", "none, minimal, low, medium, high, xhigh, max"}},
		{"effort on a chat model", "openai", "gpt-4o", providers.Request{ReasoningEffort: "low"}, []string{"gpt-4o", "not a reasoning model"}},
		{"more than 4 stops", "openai", "gpt-4o", providers.Request{Stop: []string{"a", "b", "c", "d", "e"}}, []string{"5 stop sequences", "at most 4"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFake(t, chatReply(chatShape("openai", c.model, "x")))
			cl := newClient(t, c.preset, f, Options{})
			c.req.Model, c.req.Messages = c.model, testMsgs
			_, err := cl.Complete(context.Background(), c.req)
			require.ErrorIs(t, err, providers.ErrUnsupported)
			for _, s := range c.wantErr {
				assert.ErrorContains(t, err, s)
			}
			assert.Empty(t, f.reqs, "no request may be sent")
		})
	}

	ok := []struct {
		name, model string
		req         providers.Request
	}{
		{"o3 with temperature 1 and an effort", "o3", providers.Request{Temperature: providers.Float(1), ReasoningEffort: "high"}},
		{"gpt-5.1 with reasoning off takes sampling knobs", "gpt-5.1", providers.Request{Temperature: providers.Float(0.2), ReasoningEffort: "none"}},
		{"gpt-4o takes temperature 0 and 4 stops", "gpt-4o", providers.Request{Temperature: providers.Float(0), Stop: []string{"a", "b", "c", "d"}}},
		{"gpt-5-chat is a chat model", "gpt-5-chat-latest", providers.Request{Temperature: providers.Float(0)}},
	}
	for _, c := range ok {
		t.Run(c.name, func(t *testing.T) {
			f := newFake(t, chatReply(chatShape("openai", c.model, "x")))
			cl := newClient(t, "openai", f, Options{})
			c.req.Model, c.req.Messages = c.model, testMsgs
			_, err := cl.Complete(context.Background(), c.req)
			require.NoError(t, err)
			body := f.last(t).Body
			if c.req.ReasoningEffort != "" {
				assert.Equal(t, c.req.ReasoningEffort, body["reasoning_effort"])
			} else {
				assert.NotContains(t, body, "reasoning_effort")
			}
		})
	}
}

// OpenRouter takes the effort as reasoning.effort
// (openrouter.ai/docs/use-cases/reasoning-tokens) and the routing pin as the
// "provider" object (openrouter.ai/docs/features/provider-routing: order,
// allow_fallbacks, require_parameters, quantizations).
func TestOpenRouterRoutingPinAndReasoningObject(t *testing.T) {
	f := newFake(t, chatReply(chatShape("openrouter", "deepseek/deepseek-r1", "12")))
	no := false
	yes := true
	cl := newClient(t, "openrouter", f, Options{Routing: &Routing{Order: []string{"deepinfra", "together"},
		AllowFallbacks: &no, RequireParameters: &yes, Quantizations: []string{"fp8"}}})
	got, err := cl.Complete(context.Background(), providers.Request{Messages: testMsgs, ReasoningEffort: "low"})
	require.NoError(t, err)
	assert.Equal(t, "DeepInfra", got.Upstream)
	body := f.last(t).Body
	assert.Equal(t, map[string]any{"order": []any{"deepinfra", "together"}, "allow_fallbacks": false,
		"require_parameters": true, "quantizations": []any{"fp8"}}, body["provider"])
	assert.Equal(t, map[string]any{"effort": "low"}, body["reasoning"])
	assert.NotContains(t, body, "reasoning_effort")

	_, err = cl.Complete(context.Background(), providers.Request{Messages: testMsgs, Extra: map[string]any{"provider": map[string]any{}}})
	assert.ErrorIs(t, err, providers.ErrUnsupported, "Extra.provider and Options.Routing conflict")

	t.Setenv("OPENROUTER_API_KEY", "k")
	t.Setenv("OPENROUTER_BASE_URL", f.URL+"/v1")
	t.Setenv("OPENROUTER_PROVIDER_ORDER", "fireworks, groq")
	t.Setenv("OPENROUTER_ALLOW_FALLBACKS", "false")
	t.Setenv("OPENROUTER_QUANTIZATIONS", "bf16")
	env, err := FromEnv("openrouter", "meta-llama/llama-3.3-70b-instruct")
	require.NoError(t, err)
	_, err = env.Complete(context.Background(), providers.Request{Messages: testMsgs})
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"order": []any{"fireworks", "groq"}, "allow_fallbacks": false, "quantizations": []any{"bf16"}}, f.last(t).Body["provider"])

	t.Setenv("OPENROUTER_REQUIRE_PARAMETERS", "yes please")
	_, err = FromEnv("openrouter", "m")
	assert.ErrorContains(t, err, "OPENROUTER_REQUIRE_PARAMETERS")
}

// Every message carries "content", even an empty one: go-openai drops it
// (omitempty), but openai/openai-openapi ChatCompletionRequestUserMessage
// requires content.
func TestEmptyContentIsStillSent(t *testing.T) {
	f := newFake(t, chatReply(chatShape("vllm", "test-model", "x")))
	cl := newClient(t, "vllm", f, Options{})
	_, err := cl.Complete(context.Background(), providers.Request{Messages: []providers.Message{
		{Role: providers.RoleSystem, Content: ""}, {Role: providers.RoleUser, Content: "hi"}}})
	require.NoError(t, err)
	msgs := f.last(t).Body["messages"].([]any)
	assert.Equal(t, map[string]any{"role": "system", "content": ""}, msgs[0])
}

// Raw completion merges the caller's stops with the template's, without
// duplicates; where the API caps them, more than the cap is refused before
// sending rather than truncated (a lost template stop runs past the turn).
func TestRawStopsAreMergedWithoutDuplicates(t *testing.T) {
	f := newFake(t, chatReply(completionShape("test-model", "x")))
	cl := newClient(t, "vllm", f, Options{ChatTemplate: TemplateChatML})
	_, err := cl.Complete(context.Background(), providers.Request{Messages: testMsgs, Prefill: "p", PrefillMethod: raw,
		Stop: []string{"\n\n\n", "<|im_end|>"}, MaxTokens: 10})
	require.NoError(t, err)
	assert.Equal(t, []any{"\n\n\n", "<|im_end|>", "<|endoftext|>"}, f.last(t).Body["stop"])

	capped := &Client{preset: Preset{Name: "x", MaxStop: 4}}
	_, err = capped.mergeStops("m", []string{"a", "b", "c"}, []string{"<|eot_id|>", "<|end_of_text|>"})
	assert.ErrorIs(t, err, providers.ErrUnsupported)
	got, err := capped.mergeStops("m", []string{"a", "b"}, []string{"<|eot_id|>", "<|end_of_text|>"})
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "b", "<|eot_id|>", "<|end_of_text|>"}, got)
}

func TestSampleSeedsAreDeclaredPerPreset(t *testing.T) {
	for _, p := range Presets() {
		c, err := New("m", Options{Preset: p.Name, BaseURL: "http://x"})
		require.NoError(t, err)
		assert.Equal(t, p.Name != "openai", providers.AcceptsSampleSeeds(c), p.Name)
	}
}

func TestPrefillTargetReasoningNeedsAReasoningTemplate(t *testing.T) {
	f := newFake(t, chatReply(chatShape("vllm", "test-model", "x")))
	cl := newClient(t, "vllm", f, Options{ChatTemplate: TemplateChatML})
	_, err := cl.Complete(context.Background(), providers.Request{Messages: testMsgs, Prefill: "p", PrefillTarget: providers.PrefillTargetReasoning})
	assert.ErrorIs(t, err, providers.ErrPrefillUnsupported)
	_, err = cl.Complete(context.Background(), providers.Request{Messages: testMsgs, Prefill: "p", PrefillTarget: "middle"})
	assert.ErrorIs(t, err, providers.ErrUnsupported)
	assert.Empty(t, f.reqs)
}

// OpenRouter relays an upstream's refusal with a generic error.message and
// the upstream's own text in error.metadata.raw
// (openrouter.ai/docs/api/reference/errors-and-debugging), as an HTTP 400 or
// inside a 200 body once the request was routed; both are the permanent
// ErrPrefillUnsupported, never retried.
func TestPrefillRefusalInMetadataRawIsPermanent(t *testing.T) {
	raw := `{"error":{"code":400,"message":"Provider returned error","metadata":{"provider_name":"Anthropic","raw":"{\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\",\"message\":\"This model does not support assistant message prefill. The conversation must end with a user message.\"}}"}}}`
	for _, status := range []int{400, 200} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			calls := 0
			f := newFake(t, func(w http.ResponseWriter, r *http.Request, _ map[string]any) { calls++; writeJSON(w, status, raw) })
			c := newClient(t, "openrouter", f, Options{})
			r := providers.Chain(c, providers.Retry(providers.RetryPolicy{MaxAttempts: 3}))
			_, err := r.Complete(context.Background(), providers.Request{Model: "anthropic/claude-opus-4.6", Messages: testMsgs, Prefill: "Step 1:"})
			require.ErrorIs(t, err, providers.ErrPrefillUnsupported)
			assert.Equal(t, 1, calls, "not retried")
			assert.ErrorContains(t, err, "does not support assistant message prefill")
		})
	}
}

// Every preset sends Request.ReasoningEffort: as reasoning_effort (the
// OpenAI spec's name, also SGLang's, vLLM's and Mistral's), or as
// reasoning.effort on OpenRouter.
func TestEveryPresetSendsTheReasoningEffort(t *testing.T) {
	for _, p := range Presets() {
		t.Run(p.Name, func(t *testing.T) {
			f := newFake(t, chatReply(chatShape(p.Name, "o3", "x")))
			cl := newClient(t, p.Name, f, Options{})
			_, err := cl.Complete(context.Background(), providers.Request{Model: "o3", Messages: testMsgs, ReasoningEffort: "low"})
			require.NoError(t, err)
			body := f.last(t).Body
			if p.Name == "openrouter" {
				assert.Equal(t, map[string]any{"effort": "low"}, body["reasoning"])
				assert.NotContains(t, body, "reasoning_effort")
			} else {
				assert.Equal(t, "low", body["reasoning_effort"])
			}
		})
	}
}
