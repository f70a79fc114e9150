package anthropic

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/providers"
)

type recorded struct {
	Path   string
	Header http.Header
	Body   map[string]any
}

type fakeServer struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []recorded
}

func newFake(t *testing.T, reply func(w http.ResponseWriter, body map[string]any)) *fakeServer {
	t.Helper()
	f := &fakeServer{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		var body map[string]any
		_ = json.Unmarshal(raw, &body)
		f.mu.Lock()
		f.reqs = append(f.reqs, recorded{r.URL.Path, r.Header.Clone(), body})
		f.mu.Unlock()
		reply(w, body)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeServer) last(t *testing.T) recorded {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	require.NotEmpty(t, f.reqs)
	return f.reqs[len(f.reqs)-1]
}

func writeJSON(w http.ResponseWriter, status int, h http.Header, body string) {
	for k, vs := range h {
		w.Header()[k] = vs
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("request-id", "req_011CSHoEeqs5C35K2UUqR7Fy")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// messageShape is the Messages API's real reply.
func messageShape(model, text string) string {
	t, _ := json.Marshal(text)
	return fmt.Sprintf(`{"id":"msg_013Zva2CMHLNnXjNJJKqJ2EF","type":"message","role":"assistant","model":%q,
"content":[{"type":"text","text":%s}],"stop_reason":"end_turn","stop_sequence":null,
"usage":{"input_tokens":30,"cache_creation_input_tokens":5,"cache_read_input_tokens":12,"output_tokens":9,"service_tier":"standard"}}`, model, t)
}

// errShape is the Messages API's real error body.
func errShape(typ, msg string) string {
	return fmt.Sprintf(`{"type":"error","error":{"type":%q,"message":%q},"request_id":"req_011CSHoEeqs5C35K2UUqR7Fy"}`, typ, msg)
}

var testMsgs = []providers.Message{
	{Role: providers.RoleSystem, Content: "You are a careful mathematician."},
	{Role: providers.RoleUser, Content: "What is (2+2)*3?"},
}

func TestNativePrefillSendsTrimmedAssistantMessageAndSplicesWhitespace(t *testing.T) {
	const model = "claude-sonnet-4-5"
	fake := newFake(t, func(w http.ResponseWriter, body map[string]any) {
		writeJSON(w, 200, nil, messageShape(model, " 12\nThe answer is 12."))
	})
	c, err := New(model, Options{BaseURL: fake.URL, APIKey: "sk-ant-test"})
	require.NoError(t, err)
	got, err := c.Complete(context.Background(), providers.Request{
		Messages: testMsgs, Prefill: "Step 1: 2+2 = 4\nStep 2: 4*3 = ", Temperature: providers.Float(0), MaxTokens: 64,
		Stop: []string{"\n\n"}, Extra: map[string]any{"metadata": map[string]any{"user_id": "u1"}},
	})
	require.NoError(t, err)
	req := fake.last(t)
	assert.Equal(t, "/v1/messages", req.Path)
	assert.Equal(t, "sk-ant-test", req.Header.Get("x-api-key"))
	assert.Equal(t, "2023-06-01", req.Header.Get("anthropic-version"))
	assert.Equal(t, "application/json", req.Header.Get("Content-Type"))
	assert.Empty(t, req.Header.Get("Authorization"))
	assert.Equal(t, model, req.Body["model"])
	assert.Equal(t, 64.0, req.Body["max_tokens"])
	assert.Equal(t, 0.0, req.Body["temperature"], "temperature 0 is sent")
	assert.NotContains(t, req.Body, "top_p")
	assert.Equal(t, "You are a careful mathematician.", req.Body["system"])
	assert.Equal(t, []any{"\n\n"}, req.Body["stop_sequences"])
	assert.Equal(t, map[string]any{"user_id": "u1"}, req.Body["metadata"])
	msgs := req.Body["messages"].([]any)
	require.Len(t, msgs, 2, "system goes top-level")
	assert.Equal(t, map[string]any{"role": "user", "content": "What is (2+2)*3?"}, msgs[0])
	assert.Equal(t, map[string]any{"role": "assistant", "content": "Step 1: 2+2 = 4\nStep 2: 4*3 ="}, msgs[1], "trailing whitespace trimmed")

	assert.Equal(t, "12\nThe answer is 12.", got.Text, "the re-emitted space is spliced out")
	assert.False(t, got.PrefillEchoed)
	assert.Equal(t, providers.PrefillAssistantMessage, got.PrefillMethod)
	assert.Equal(t, "anthropic", got.Provider)
	assert.Equal(t, model, got.Model)
	assert.Equal(t, "end_turn", got.FinishReason)
	assert.Equal(t, providers.Usage{InputTokens: 47, OutputTokens: 9, CachedInputTokens: 12}, got.Usage)
	assert.Positive(t, got.Latency)
	assert.False(t, got.CostKnown)
	assert.Equal(t, providers.Endpoint{Provider: "anthropic", BaseURL: fake.URL}, c.Endpoint())
}

func TestNoPrefillAndDefaultMaxTokens(t *testing.T) {
	fake := newFake(t, func(w http.ResponseWriter, body map[string]any) { writeJSON(w, 200, nil, messageShape("m", "Hi")) })
	c, err := New("m", Options{BaseURL: fake.URL, APIKey: "k"})
	require.NoError(t, err)
	got, err := c.Complete(context.Background(), providers.Request{Messages: testMsgs[1:]})
	require.NoError(t, err)
	assert.Equal(t, "Hi", got.Text)
	assert.Equal(t, providers.PrefillNone, got.PrefillMethod)
	assert.Equal(t, float64(DefaultMaxTokens), fake.last(t).Body["max_tokens"])
	assert.NotContains(t, fake.last(t).Body, "system")
	assert.NotContains(t, fake.last(t).Body, "temperature")
}

func TestInstructedPrefillIsAUserTurn(t *testing.T) {
	fake := newFake(t, func(w http.ResponseWriter, body map[string]any) {
		writeJSON(w, 200, nil, messageShape("m", "Step 2: 4*3 = 12"))
	})
	c, err := New("m", Options{BaseURL: fake.URL, APIKey: "k"})
	require.NoError(t, err)
	got, err := c.Complete(context.Background(), providers.Request{Messages: testMsgs, Prefill: "Step 2: 4*3 = ", PrefillMethod: providers.PrefillInstructed})
	require.NoError(t, err)
	msgs := fake.last(t).Body["messages"].([]any)
	last := msgs[len(msgs)-1].(map[string]any)
	assert.Equal(t, "user", last["role"])
	assert.Contains(t, last["content"], "Step 2: 4*3 = ")
	assert.Equal(t, providers.PrefillInstructed, got.PrefillMethod)
	assert.Equal(t, "12", got.Text, "an echoed prefix is stripped")
	assert.True(t, got.PrefillEchoed)
}

func TestUnsupportedRequestsFailBeforeSending(t *testing.T) {
	fake := newFake(t, func(w http.ResponseWriter, body map[string]any) { writeJSON(w, 200, nil, messageShape("m", "x")) })
	c, err := New("m", Options{BaseURL: fake.URL, APIKey: "k"})
	require.NoError(t, err)
	cases := []struct {
		name string
		req  providers.Request
		want error
	}{
		{"a prefix-flag prefill", providers.Request{Messages: testMsgs, Prefill: "x", PrefillMethod: providers.PrefillPrefixFlag}, providers.ErrPrefillUnsupported},
		{"a raw-completion prefill", providers.Request{Messages: testMsgs, Prefill: "x", PrefillMethod: providers.PrefillRawCompletion}, providers.ErrPrefillUnsupported},
		{"a seed", providers.Request{Messages: testMsgs, Seed: providers.Int64(1)}, providers.ErrUnsupported},
		{"an Extra overriding messages", providers.Request{Messages: testMsgs, Extra: map[string]any{"messages": 1}}, providers.ErrUnsupported},
		{"an Extra that is not JSON", providers.Request{Messages: testMsgs, Extra: map[string]any{"x": make(chan int)}}, providers.ErrUnsupported},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Complete(context.Background(), tc.req)
			require.ErrorIs(t, err, tc.want)
			assert.False(t, providers.IsRetryable(err))
		})
	}
	assert.Empty(t, fake.reqs)
	_, err = c.Complete(context.Background(), providers.Request{Messages: []providers.Message{{Role: "tool", Content: "x"}}})
	assert.ErrorContains(t, err, `message 0: unknown role "tool"`)
}

func TestPrefillRejectedByNewModelsIsPermanentErrPrefillUnsupported(t *testing.T) {
	var hits atomic.Int32
	fake := newFake(t, func(w http.ResponseWriter, body map[string]any) {
		hits.Add(1)
		writeJSON(w, 400, nil, errShape("invalid_request_error", "This model does not support assistant message prefill. The conversation must end with a user message."))
	})
	c, err := New("claude-opus-4-6", Options{BaseURL: fake.URL, APIKey: "k"})
	require.NoError(t, err)
	_, err = providers.Retry(providers.RetryPolicy{InitialInterval: time.Millisecond})(c).Complete(context.Background(),
		providers.Request{Messages: testMsgs, Prefill: "Step 1:"})
	require.ErrorIs(t, err, providers.ErrPrefillUnsupported)
	var apiErr *providers.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, 400, apiErr.StatusCode)
	assert.Equal(t, "invalid_request_error", apiErr.Type)
	assert.False(t, apiErr.Retryable)
	assert.EqualValues(t, 1, hits.Load())
}

func TestRegisteredFromEnvironment(t *testing.T) {
	assert.Contains(t, providers.Registered(), "anthropic")
	fake := newFake(t, func(w http.ResponseWriter, body map[string]any) {
		writeJSON(w, 200, nil, messageShape("claude-x", "ok"))
	})
	t.Setenv("ANTHROPIC_API_KEY", "sk-ant-env")
	t.Setenv("ANTHROPIC_BASE_URL", fake.URL)
	c, err := providers.Open("anthropic:claude-x")
	require.NoError(t, err)
	_, err = c.Complete(context.Background(), providers.Request{Messages: testMsgs})
	require.NoError(t, err)
	assert.Equal(t, "sk-ant-env", fake.last(t).Header.Get("x-api-key"))
	assert.NotContains(t, fmt.Sprint(c), "sk-ant-env")
	t.Setenv("ANTHROPIC_API_KEY", "")
	_, err = providers.Open("anthropic:claude-x")
	assert.ErrorContains(t, err, "ANTHROPIC_API_KEY is not set")
}

func TestSpliceWhitespace(t *testing.T) {
	assert.Equal(t, "12", spliceWhitespace(" ", " 12"))
	assert.Equal(t, "12", spliceWhitespace(" ", "12"))
	assert.Equal(t, "Step 3", spliceWhitespace("\n", "\nStep 3"))
	assert.Equal(t, " x", spliceWhitespace("\n", " x"))
	assert.Equal(t, "x", spliceWhitespace("", "x"))
}
