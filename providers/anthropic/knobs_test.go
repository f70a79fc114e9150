package anthropic

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/providers"
)

// Knobs the Messages API rejects are refused before any request is sent,
// naming the model, the knob and the accepted range. The range is
// anthropics/anthropic-sdk-go message.go MessageNewParams.Temperature
// ("Ranges from 0.0 to 1.0"); Anthropic documents altering "temperature or
// top_p, but not both".
func TestBadKnobsAreRefusedBeforeSending(t *testing.T) {
	cases := []struct {
		name    string
		req     providers.Request
		wantErr []string
		target  error
	}{
		{"temperature 1.5", providers.Request{Temperature: providers.Float(1.5)}, []string{"claude-sonnet-4-5", "temperature 1.5", "0 to 1"}, providers.ErrUnsupported},
		{"negative temperature", providers.Request{Temperature: providers.Float(-0.1)}, []string{"temperature -0.1"}, providers.ErrUnsupported},
		{"top_p 2", providers.Request{TopP: providers.Float(2)}, []string{"top_p 2", "0 to 1"}, providers.ErrUnsupported},
		{"both", providers.Request{Temperature: providers.Float(0.5), TopP: providers.Float(0.9)}, []string{"temperature and top_p", "AllowTemperatureWithTopP"}, providers.ErrUnsupported},
		{"seed", providers.Request{Seed: providers.Int64(1)}, []string{"no seed"}, providers.ErrUnsupported},
		{"reasoning effort", providers.Request{ReasoningEffort: "high"}, []string{"reasoning_effort", "thinking"}, providers.ErrUnsupported},
		{"prefill in the thinking", providers.Request{Prefill: "x", PrefillTarget: providers.PrefillTargetReasoning}, []string{"thinking"}, providers.ErrPrefillUnsupported},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fake := newFake(t, func(w http.ResponseWriter, body map[string]any) { writeJSON(w, 200, nil, messageShape("m", "x")) })
			cl, err := New("claude-sonnet-4-5", Options{BaseURL: fake.URL, APIKey: "k"})
			require.NoError(t, err)
			c.req.Messages = testMsgs
			_, err = cl.Complete(context.Background(), c.req)
			require.ErrorIs(t, err, c.target)
			for _, s := range c.wantErr {
				assert.ErrorContains(t, err, s)
			}
			assert.Empty(t, fake.reqs, "no request may be sent")
		})
	}

	fake := newFake(t, func(w http.ResponseWriter, body map[string]any) { writeJSON(w, 200, nil, messageShape("m", "x")) })
	cl, err := New("claude-3-5-haiku", Options{BaseURL: fake.URL, APIKey: "k", AllowTemperatureWithTopP: true})
	require.NoError(t, err)
	_, err = cl.Complete(context.Background(), providers.Request{Messages: testMsgs, Temperature: providers.Float(1), TopP: providers.Float(0.9)})
	require.NoError(t, err, "both are sent when asked")
	assert.Equal(t, 1.0, fake.last(t).Body["temperature"])
	assert.Equal(t, 0.9, fake.last(t).Body["top_p"])
	assert.False(t, providers.AcceptsSampleSeeds(cl), "no per-sample seeds for Anthropic")
}

// An extended-thinking reply: thinking and redacted_thinking blocks before
// the text (anthropics/anthropic-sdk-go message.go ThinkingBlock {thinking,
// signature}, RedactedThinkingBlock {data}), and the thinking tokens in
// usage.output_tokens_details.thinking_tokens (OutputTokensDetails).
func TestThinkingBlocksGoToReasoningAndAreCounted(t *testing.T) {
	reply := `{"id":"msg_01","type":"message","role":"assistant","model":"claude-sonnet-4-5",
"content":[{"type":"thinking","thinking":"4 times 3 is 12.","signature":"EqQBCgIYAhIM"},
{"type":"redacted_thinking","data":"EmwKAhgBEgy3va3pzix"},
{"type":"text","text":"The answer is 12."}],"stop_reason":"end_turn","stop_sequence":null,
"usage":{"input_tokens":30,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":40,
"output_tokens_details":{"thinking_tokens":31},"service_tier":"standard"}}`
	fake := newFake(t, func(w http.ResponseWriter, body map[string]any) { writeJSON(w, 200, nil, reply) })
	cl, err := New("claude-sonnet-4-5", Options{BaseURL: fake.URL, APIKey: "k"})
	require.NoError(t, err)
	got, err := cl.Complete(context.Background(), providers.Request{Messages: testMsgs,
		Extra: map[string]any{"thinking": map[string]any{"type": "enabled", "budget_tokens": 1024}}})
	require.NoError(t, err)
	assert.Equal(t, "The answer is 12.", got.Text, "thinking never mixed into the text")
	assert.Equal(t, "4 times 3 is 12.", got.Reasoning)
	assert.Equal(t, 31, got.Usage.ReasoningTokens)
	assert.Equal(t, 40, got.Usage.OutputTokens)
}
