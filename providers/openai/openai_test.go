package openai

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/providers"
)

// recorded is one request a fake server saw.
type recorded struct {
	Method, Path string
	Header       http.Header
	Body         map[string]any
}

// fakeServer answers every request with reply and records what it got.
type fakeServer struct {
	*httptest.Server
	mu    sync.Mutex
	reqs  []recorded
	reply func(w http.ResponseWriter, r *http.Request, body map[string]any)
}

func newFake(t *testing.T, reply func(w http.ResponseWriter, r *http.Request, body map[string]any)) *fakeServer {
	t.Helper()
	f := &fakeServer{reply: reply}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		var body map[string]any
		_ = json.Unmarshal(raw, &body)
		f.mu.Lock()
		f.reqs = append(f.reqs, recorded{r.Method, r.URL.Path, r.Header.Clone(), body})
		f.mu.Unlock()
		f.reply(w, r, body)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeServer) last(t *testing.T) recorded {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	require.NotEmpty(t, f.reqs, "server saw no request")
	return f.reqs[len(f.reqs)-1]
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// Real response shapes, from each provider's public API reference.
func chatShape(preset, model, content string) string {
	c, _ := json.Marshal(content)
	switch preset {
	case "openrouter":
		return fmt.Sprintf(`{"id":"gen-1732-abc","provider":"DeepInfra","model":%q,"object":"chat.completion","created":1732000000,
"choices":[{"logprobs":null,"finish_reason":"stop","native_finish_reason":"stop","index":0,"message":{"role":"assistant","content":%s,"refusal":null,"reasoning":null}}],
"usage":{"prompt_tokens":42,"completion_tokens":7,"total_tokens":49,"cost":0.000123,"is_byok":false,"prompt_tokens_details":{"cached_tokens":10,"cache_write_tokens":0,"audio_tokens":0},"cost_details":{"upstream_inference_cost":null},"completion_tokens_details":{"reasoning_tokens":0,"image_tokens":0}}}`, model, c)
	case "deepseek":
		return fmt.Sprintf(`{"id":"930c60df-bf64-41c9-a88e-3ec75f81e00e","object":"chat.completion","created":1732000000,"model":%q,
"choices":[{"index":0,"message":{"role":"assistant","content":%s},"logprobs":null,"finish_reason":"stop"}],
"usage":{"prompt_tokens":42,"completion_tokens":7,"total_tokens":49,"prompt_tokens_details":{"cached_tokens":32},"prompt_cache_hit_tokens":32,"prompt_cache_miss_tokens":10},"system_fingerprint":"fp_8802369eaa_prod0425fp8"}`, model, c)
	case "mistral":
		return fmt.Sprintf(`{"id":"cmpl-e5cc70bb28c444948073e77776eb30ef","object":"chat.completion","model":%q,"usage":{"prompt_tokens":42,"total_tokens":49,"completion_tokens":7},"created":1732000000,
"choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant","tool_calls":null,"content":%s}}]}`, model, c)
	case "groq":
		return fmt.Sprintf(`{"id":"chatcmpl-f51b2cd2","object":"chat.completion","created":1732000000,"model":%q,
"choices":[{"index":0,"message":{"role":"assistant","content":%s},"logprobs":null,"finish_reason":"stop"}],
"usage":{"queue_time":0.037,"prompt_tokens":42,"prompt_time":0.0007,"completion_tokens":7,"completion_time":0.0058,"total_tokens":49,"total_time":0.0065},"system_fingerprint":"fp_179b0f92c9","x_groq":{"id":"req_01jbd6g2qdfw2adyrt2az8hz4w"}}`, model, c)
	case "together":
		return fmt.Sprintf(`{"id":"8448080b880bd2a7","object":"chat.completion","created":1732000000,"model":%q,"prompt":[],
"choices":[{"finish_reason":"eos","seed":7,"logprobs":null,"index":0,"message":{"role":"assistant","content":%s,"tool_calls":[]}}],
"usage":{"prompt_tokens":42,"completion_tokens":7,"total_tokens":49}}`, model, c)
	case "vllm", "sglang", "openai-compatible":
		return fmt.Sprintf(`{"id":"chatcmpl-b4a8e5f1","object":"chat.completion","created":1732000000,"model":%q,
"choices":[{"index":0,"message":{"role":"assistant","reasoning_content":null,"content":%s,"tool_calls":[]},"logprobs":null,"finish_reason":"stop","stop_reason":null}],
"usage":{"prompt_tokens":42,"total_tokens":49,"completion_tokens":7,"prompt_tokens_details":null},"prompt_logprobs":null}`, model, c)
	case "ollama":
		return fmt.Sprintf(`{"id":"chatcmpl-405","object":"chat.completion","created":1732000000,"model":%q,"system_fingerprint":"fp_ollama",
"choices":[{"index":0,"message":{"role":"assistant","content":%s},"finish_reason":"stop"}],"usage":{"prompt_tokens":42,"completion_tokens":7,"total_tokens":49}}`, model, c)
	}
	// OpenAI, Fireworks, Cohere compatibility.
	return fmt.Sprintf(`{"id":"chatcmpl-AbC123","object":"chat.completion","created":1732000000,"model":%q,
"choices":[{"index":0,"message":{"role":"assistant","content":%s,"refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"}],
"usage":{"prompt_tokens":42,"completion_tokens":7,"total_tokens":49,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},"service_tier":"default","system_fingerprint":"fp_0aa8d3e20b"}`, model, c)
}

func completionShape(model, text string) string {
	c, _ := json.Marshal(text)
	return fmt.Sprintf(`{"id":"cmpl-9f3c","object":"text_completion","created":1732000000,"model":%q,
"choices":[{"index":0,"text":%s,"logprobs":null,"finish_reason":"stop","stop_reason":null,"prompt_logprobs":null}],
"usage":{"prompt_tokens":42,"total_tokens":49,"completion_tokens":7}}`, model, c)
}

var (
	testMsgs = []providers.Message{
		{Role: providers.RoleSystem, Content: "You are a careful mathematician."},
		{Role: providers.RoleUser, Content: "What is (2+2)*3?"},
	}
	testPrefill = "Step 1: 2+2 = 4\nStep 2: 4*3 = "
)

const continuation = "12\nThe answer is \\boxed{12}."

// TestEveryPresetAndDialectSendsTheExactRequest is the acceptance matrix:
// for every preset and every dialect it allows, the server checks the path,
// auth, model, knobs and how the prefill is placed, and replies in the
// provider's real shape.
func TestEveryPresetAndDialectSendsTheExactRequest(t *testing.T) {
	for _, p := range Presets() {
		dialects := append([]providers.PrefillMethod{""}, p.Dialects...)
		dialects = append(dialects, providers.PrefillInstructed)
		for _, d := range dialects {
			name := fmt.Sprintf("%s sends %s", p.Name, d)
			if d == "" {
				name = fmt.Sprintf("%s sends its native dialect %q", p.Name, p.Native)
			}
			t.Run(name, func(t *testing.T) {
				want := d
				if want == "" {
					want = p.Native
				}
				model := "test-model-" + p.Name
				fake := newFake(t, func(w http.ResponseWriter, r *http.Request, body map[string]any) {
					reply := continuation
					if p.Name == "mistral" {
						reply = testPrefill + continuation // Mistral echoes the prefix
					}
					if strings.HasSuffix(r.URL.Path, "/completions") && !strings.HasSuffix(r.URL.Path, "/chat/completions") {
						writeJSON(w, 200, completionShape(model, reply))
						return
					}
					writeJSON(w, 200, chatShape(p.Name, model, reply))
				})
				c, err := New(model, Options{Preset: p.Name, BaseURL: fake.URL + "/v1", APIKey: "sk-test-123", ChatTemplate: TemplateChatML})
				require.NoError(t, err)
				got, err := c.Complete(context.Background(), providers.Request{
					Messages: testMsgs, Prefill: testPrefill, PrefillMethod: d,
					Temperature: providers.Float(0), TopP: providers.Float(1), MaxTokens: 64, Seed: providers.Int64(7), Sample: 3,
				})
				if want == providers.PrefillNone {
					require.ErrorIs(t, err, providers.ErrPrefillUnsupported)
					assert.Empty(t, fake.reqs, "no request may be sent for an unsupported prefill")
					return
				}
				require.NoError(t, err)
				req := fake.last(t)
				assert.Equal(t, http.MethodPost, req.Method)
				assert.Equal(t, "Bearer sk-test-123", req.Header.Get("Authorization"))
				assert.Equal(t, "application/json", req.Header.Get("Content-Type"))
				assert.Equal(t, model, req.Body["model"])
				assert.Equal(t, 0.0, req.Body["temperature"], "temperature 0 must be sent")
				assert.Equal(t, 1.0, req.Body["top_p"])
				// Mistral's seed is random_seed: mistralai/platform-docs-public
				// openapi.yaml ChatCompletionRequest (additionalProperties: false).
				seedKey := "seed"
				if p.Name == "mistral" {
					seedKey = "random_seed"
					assert.NotContains(t, req.Body, "seed")
				}
				assert.Equal(t, 7.0, req.Body[seedKey])
				assert.NotContains(t, req.Body, "sample", "the sample index is never sent")
				wantKeys := []string{"model", "temperature", "top_p", seedKey, "stream"}
				switch {
				case p.MaxCompletionTokens && want != raw:
					wantKeys = append(wantKeys, "max_completion_tokens")
				default:
					wantKeys = append(wantKeys, "max_tokens")
				}
				if want == raw {
					wantKeys = append(wantKeys, "prompt", "stop")
				} else {
					wantKeys = append(wantKeys, "messages")
				}
				// SGLang defines continue_final_message but no
				// add_generation_prompt (sgl-project/sglang
				// python/sglang/srt/entrypoints/openai/protocol.py
				// ChatCompletionRequest); vLLM defines both
				// (vllm-project/vllm vllm/entrypoints/openai/protocol.py).
				if want == cont {
					wantKeys = append(wantKeys, "continue_final_message")
					if p.Name != "sglang" {
						wantKeys = append(wantKeys, "add_generation_prompt")
					}
				}
				assert.ElementsMatch(t, wantKeys, keys(req.Body), "exactly these body fields")
				assert.Equal(t, false, req.Body["stream"])
				if p.MaxCompletionTokens && want != raw {
					assert.Equal(t, 64.0, req.Body["max_completion_tokens"])
					assert.NotContains(t, req.Body, "max_tokens")
				} else {
					assert.Equal(t, 64.0, req.Body["max_tokens"])
				}
				if want == raw {
					assert.Equal(t, "/v1/completions", req.Path)
					prompt, _ := req.Body["prompt"].(string)
					assert.True(t, strings.HasSuffix(prompt, "<|im_start|>assistant\n"+testPrefill), "prompt ends with the open assistant turn: %q", prompt)
					assert.Contains(t, prompt, "<|im_start|>user\nWhat is (2+2)*3?<|im_end|>")
					assert.Contains(t, req.Body["stop"], "<|im_end|>")
					assert.NotContains(t, req.Body, "messages")
				} else {
					assert.Equal(t, "/v1/chat/completions", req.Path)
					msgs, _ := req.Body["messages"].([]any)
					require.NotEmpty(t, msgs)
					last, _ := msgs[len(msgs)-1].(map[string]any)
					switch want {
					case providers.PrefillInstructed:
						require.Len(t, msgs, 3)
						assert.Equal(t, "user", last["role"])
						assert.Contains(t, last["content"], testPrefill)
						assert.Contains(t, last["content"], "Continue it from exactly where it stops")
					default:
						require.Len(t, msgs, 3)
						wantLast := map[string]any{"role": "assistant", "content": testPrefill}
						if want == prefix {
							wantLast["prefix"] = true
						}
						assert.Equal(t, wantLast, last, "the exact last message")
					}
					assert.Equal(t, map[string]any{"role": "system", "content": "You are a careful mathematician."}, msgs[0])
					assert.Equal(t, map[string]any{"role": "user", "content": "What is (2+2)*3?"}, msgs[1])
					if want == prefix {
						assert.Equal(t, true, last["prefix"])
					} else {
						assert.NotContains(t, last, "prefix")
					}
					if want == cont {
						assert.Equal(t, true, req.Body["continue_final_message"])
						if p.Name == "sglang" {
							assert.NotContains(t, req.Body, "add_generation_prompt")
						} else {
							assert.Equal(t, false, req.Body["add_generation_prompt"])
						}
					} else {
						assert.NotContains(t, req.Body, "continue_final_message")
						assert.NotContains(t, req.Body, "add_generation_prompt")
					}
				}
				assert.Equal(t, continuation, got.Text, "the text is the continuation only")
				assert.Equal(t, p.Name == "mistral", got.PrefillEchoed, "only Mistral's reply echoed the prefix")
				assert.Equal(t, want, got.PrefillMethod)
				assert.Equal(t, p.Name, got.Provider)
				assert.Equal(t, model, got.Model)
				wantFinish := "stop"
				if p.Name == "together" && want != raw {
					wantFinish = "eos" // reported as the provider says it
				}
				assert.Equal(t, wantFinish, got.FinishReason)
				assert.Equal(t, 42, got.Usage.InputTokens)
				assert.Equal(t, 7, got.Usage.OutputTokens)
				assert.Positive(t, got.Latency)
				assert.False(t, got.Cached)
				switch p.Name {
				case "openrouter":
					assert.True(t, got.CostKnown)
					assert.InDelta(t, 0.000123, got.CostUSD, 1e-12)
					assert.Equal(t, 10, got.Usage.CachedInputTokens)
				case "deepseek":
					assert.False(t, got.CostKnown)
					assert.Equal(t, 32, got.Usage.CachedInputTokens)
				default:
					assert.False(t, got.CostKnown, "cost is left to the pricing middleware")
				}
			})
		}
	}
}

func TestNoPrefillSendsAPlainChat(t *testing.T) {
	fake := newFake(t, func(w http.ResponseWriter, r *http.Request, body map[string]any) {
		writeJSON(w, 200, chatShape("openai", "gpt-4o-mini", "Hello"))
	})
	c, err := New("gpt-4o-mini", Options{Preset: "openai", BaseURL: fake.URL, APIKey: "k"})
	require.NoError(t, err)
	got, err := c.Complete(context.Background(), providers.Request{Messages: testMsgs})
	require.NoError(t, err)
	assert.Equal(t, "Hello", got.Text)
	assert.Equal(t, providers.PrefillNone, got.PrefillMethod)
	req := fake.last(t)
	assert.Len(t, req.Body["messages"], 2)
	assert.NotContains(t, req.Body, "temperature", "an unset temperature is not sent")
	assert.NotContains(t, req.Body, "seed")
}

func TestExplicitDialectThePresetCannotDoIsRefused(t *testing.T) {
	c, err := New("m", Options{Preset: "deepseek", BaseURL: "http://127.0.0.1:1", APIKey: "k"})
	require.NoError(t, err)
	_, err = c.Complete(context.Background(), providers.Request{Messages: testMsgs, Prefill: "x", PrefillMethod: providers.PrefillContinueFinal})
	require.ErrorIs(t, err, providers.ErrPrefillUnsupported)
	assert.False(t, providers.IsRetryable(err))
	assert.Contains(t, err.Error(), "continue_final_message")

	_, err = New("m", Options{Preset: "openai", BaseURL: "http://x", Dialect: providers.PrefillAssistantMessage})
	require.ErrorIs(t, err, providers.ErrPrefillUnsupported)
}

func TestRawCompletionWithoutTemplateIsAnError(t *testing.T) {
	c, err := New("m", Options{Preset: "vllm", BaseURL: "http://127.0.0.1:1"})
	require.NoError(t, err)
	_, err = c.Complete(context.Background(), providers.Request{Messages: testMsgs, Prefill: "x", PrefillMethod: providers.PrefillRawCompletion})
	require.ErrorIs(t, err, providers.ErrPrefillUnsupported)
	assert.Contains(t, err.Error(), "chat template")
	_, err = New("m", Options{Preset: "vllm", BaseURL: "http://x", ChatTemplate: "alpaca"})
	assert.ErrorContains(t, err, `unknown chat template "alpaca"`)
}

func TestExtraFieldsAreInjectedAndReservedOnesRefused(t *testing.T) {
	fake := newFake(t, func(w http.ResponseWriter, r *http.Request, body map[string]any) {
		writeJSON(w, 200, chatShape("vllm", "m", "ok"))
	})
	c, err := New("m", Options{Preset: "vllm", BaseURL: fake.URL})
	require.NoError(t, err)
	_, err = c.Complete(context.Background(), providers.Request{Messages: testMsgs, Extra: map[string]any{
		"top_k": 20, "chat_template_kwargs": map[string]any{"enable_thinking": false},
	}})
	require.NoError(t, err)
	req := fake.last(t)
	assert.Equal(t, 20.0, req.Body["top_k"])
	assert.Equal(t, map[string]any{"enable_thinking": false}, req.Body["chat_template_kwargs"])
	assert.Empty(t, req.Header.Get("Authorization"), "no key, no auth header")

	for _, k := range []string{"messages", "temperature", "stream", "continue_final_message"} {
		_, err = c.Complete(context.Background(), providers.Request{Messages: testMsgs, Extra: map[string]any{k: 1}})
		require.ErrorIs(t, err, providers.ErrUnsupported, k)
		assert.Contains(t, err.Error(), k)
	}
	_, err = c.Complete(context.Background(), providers.Request{Messages: testMsgs, Extra: map[string]any{"f": func() {}}})
	require.ErrorIs(t, err, providers.ErrUnsupported)
}

func TestEchoedPrefixIsStrippedWhateverTheServer(t *testing.T) {
	fake := newFake(t, func(w http.ResponseWriter, r *http.Request, body map[string]any) {
		writeJSON(w, 200, chatShape("openrouter", "m", testPrefill+continuation))
	})
	c, err := New("m", Options{Preset: "openrouter", BaseURL: fake.URL, APIKey: "k"})
	require.NoError(t, err)
	got, err := c.Complete(context.Background(), providers.Request{Messages: testMsgs, Prefill: testPrefill})
	require.NoError(t, err)
	assert.Equal(t, continuation, got.Text)
	assert.True(t, got.PrefillEchoed)
}

func TestCustomHeadersAndHTTPClientAreUsed(t *testing.T) {
	fake := newFake(t, func(w http.ResponseWriter, r *http.Request, body map[string]any) {
		writeJSON(w, 200, chatShape("openrouter", "m", "ok"))
	})
	var used bool
	hc := doerFunc(func(r *http.Request) (*http.Response, error) { used = true; return http.DefaultClient.Do(r) })
	c, err := New("m", Options{Preset: "openrouter", BaseURL: fake.URL, APIKey: "k", HTTPClient: hc,
		Header: http.Header{"Http-Referer": {"https://example.org"}, "X-Title": {"rebound"}}})
	require.NoError(t, err)
	_, err = c.Complete(context.Background(), providers.Request{Messages: testMsgs})
	require.NoError(t, err)
	assert.True(t, used)
	assert.Equal(t, "rebound", fake.last(t).Header.Get("X-Title"))
	assert.Equal(t, "https://example.org", fake.last(t).Header.Get("Http-Referer"))
}

type doerFunc func(*http.Request) (*http.Response, error)

func (f doerFunc) Do(r *http.Request) (*http.Response, error) { return f(r) }

func TestPresetsRegisterAndReadTheEnvironment(t *testing.T) {
	names := providers.Registered()
	for _, want := range []string{"openai", "together", "openrouter", "deepseek", "mistral", "groq", "fireworks", "cohere", "vllm", "sglang", "ollama", "openai-compatible"} {
		assert.Contains(t, names, want)
	}
	fake := newFake(t, func(w http.ResponseWriter, r *http.Request, body map[string]any) {
		writeJSON(w, 200, chatShape("deepseek", "deepseek-chat", "ok"))
	})
	t.Setenv("DEEPSEEK_API_KEY", "sk-env")
	t.Setenv("DEEPSEEK_BASE_URL", fake.URL+"/beta")
	c, err := providers.Open("deepseek:deepseek-chat")
	require.NoError(t, err)
	assert.Equal(t, providers.Endpoint{Provider: "deepseek", BaseURL: fake.URL + "/beta"}, providers.EndpointOf(c))
	_, err = c.Complete(context.Background(), providers.Request{Messages: testMsgs, Prefill: "a"})
	require.NoError(t, err)
	assert.Equal(t, "/beta/chat/completions", fake.last(t).Path)
	assert.Equal(t, "Bearer sk-env", fake.last(t).Header.Get("Authorization"))
	assert.Equal(t, "deepseek-chat", fake.last(t).Body["model"])
	assert.NotContains(t, fmt.Sprint(c), "sk-env", "String must redact the key")

	t.Setenv("DEEPSEEK_API_KEY", "")
	_, err = providers.Open("deepseek:deepseek-chat")
	assert.ErrorContains(t, err, "DEEPSEEK_API_KEY is not set")

	t.Setenv("OPENAI_COMPATIBLE_BASE_URL", "")
	_, err = providers.Open("openai-compatible:m")
	assert.ErrorContains(t, err, "OPENAI_COMPATIBLE_BASE_URL")
	t.Setenv("OPENAI_COMPATIBLE_BASE_URL", fake.URL)
	t.Setenv("OPENAI_COMPATIBLE_PREFILL", "continue_final_message")
	c, err = providers.Open("openai-compatible:m")
	require.NoError(t, err)
	got, err := c.Complete(context.Background(), providers.Request{Messages: testMsgs, Prefill: "a"})
	require.NoError(t, err)
	assert.Equal(t, providers.PrefillContinueFinal, got.PrefillMethod)
	assert.Equal(t, true, fake.last(t).Body["continue_final_message"])

	t.Setenv("OLLAMA_BASE_URL", "")
	c, err = providers.Open("ollama:llama3.1:8b")
	require.NoError(t, err, "local servers need no key")
	assert.Equal(t, "http://localhost:11434/v1", providers.EndpointOf(c).BaseURL)
}

func TestDialectsListsDefaultFirstAndInstructedLast(t *testing.T) {
	c, err := New("m", Options{Preset: "vllm", BaseURL: "http://x"})
	require.NoError(t, err)
	assert.Equal(t, []providers.PrefillMethod{cont, assistant, providers.PrefillInstructed}, c.Dialects(), "raw needs a template")
	c, err = New("m", Options{Preset: "vllm", BaseURL: "http://x", ChatTemplate: TemplateLlama3})
	require.NoError(t, err)
	assert.Equal(t, []providers.PrefillMethod{cont, raw, assistant, providers.PrefillInstructed}, c.Dialects())
	c, err = New("m", Options{Preset: "openai", BaseURL: "http://x"})
	require.NoError(t, err)
	assert.Equal(t, []providers.PrefillMethod{providers.PrefillInstructed}, c.Dialects())
}

func TestRenderChatLlama3(t *testing.T) {
	prompt, stop, err := RenderChat(TemplateLlama3, testMsgs, "Step 1:")
	require.NoError(t, err)
	// No literal <|begin_of_text|>: the server's tokenizer adds the BOS to a
	// /completions prompt (vllm protocol.py CompletionRequest
	// add_special_tokens default True), so a literal one would be a second.
	assert.Equal(t, "<|start_header_id|>system<|end_header_id|>\n\nYou are a careful mathematician.<|eot_id|>"+
		"<|start_header_id|>user<|end_header_id|>\n\nWhat is (2+2)*3?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nStep 1:", prompt)
	assert.Contains(t, stop, "<|eot_id|>")
	_, _, err = RenderChat(TemplateChatML, []providers.Message{{Role: "tool", Content: "x"}}, "")
	assert.ErrorContains(t, err, `message 0: unknown role "tool"`)
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
