package openai

import (
	"context"
	"net/http"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/providers"
)

// The gpt-oss template renders exactly what openai/harmony renders for the
// same conversation: testdata/harmony holds the library's own expected
// outputs (openai/harmony test-data/test_simple_convo_medium_effort.txt and
// ..._no_instruction.txt, Apache-2.0, see testdata/harmony/NOTICE); the
// assistant turn then opens on the final or the analysis channel
// (openai/harmony docs/format.md).
func TestGPTOSSTemplateMatchesHarmonyByteForByte(t *testing.T) {
	q := "What is the capital of the largest country in the world?"
	cases := []struct {
		file string
		msgs []providers.Message
	}{
		{"testdata/harmony/test_simple_convo_medium_effort.txt", []providers.Message{
			{Role: providers.RoleSystem, Content: "Answer the user's questions like a robot."}, {Role: providers.RoleUser, Content: q}}},
		{"testdata/harmony/test_simple_convo_medium_effort_no_instruction.txt", []providers.Message{{Role: providers.RoleUser, Content: q}}},
	}
	for _, c := range cases {
		want, err := os.ReadFile(c.file)
		require.NoError(t, err)
		got, stop, err := RenderChatTarget(TemplateGPTOSS, c.msgs, "Russia", providers.PrefillTargetAnswer)
		require.NoError(t, err)
		assert.Equal(t, string(want)+"<|channel|>final<|message|>Russia", got, c.file)
		assert.Equal(t, []string{"<|return|>", "<|call|>"}, stop)
		got, _, err = RenderChatTarget(TemplateGPTOSS, c.msgs, "The user asks", providers.PrefillTargetReasoning)
		require.NoError(t, err)
		assert.Equal(t, string(want)+"<|channel|>analysis<|message|>The user asks", got)
	}
}

// Qwen3: ChatML turns; the answer target opens the assistant turn with the
// empty think block of non-thinking mode, the reasoning target inside an
// open <think> (QwenLM/Qwen3 docs/source/inference/transformers.md,
// "Thinking & Non-Thinking Mode": an assistant turn of "<think>\n\n</think>\n\n"
// disables thinking; the Qwen3 chat_template renders a final assistant
// message as "<think>\n" + reasoning + "\n</think>\n\n" + content).
func TestQwen3Template(t *testing.T) {
	head := "<|im_start|>system\nYou are a careful mathematician.<|im_end|>\n<|im_start|>user\nWhat is (2+2)*3?<|im_end|>\n"
	got, stop, err := RenderChatTarget(TemplateQwen3, testMsgs, "Step 1:", providers.PrefillTargetAnswer)
	require.NoError(t, err)
	assert.Equal(t, head+"<|im_start|>assistant\n<think>\n\n</think>\n\nStep 1:", got)
	assert.Equal(t, []string{"<|im_end|>", "<|endoftext|>"}, stop)
	got, _, err = RenderChatTarget(TemplateQwen3, testMsgs, "\nStep 1:", "")
	require.NoError(t, err)
	assert.Equal(t, head+"<|im_start|>assistant\n<think>\n\n</think>\n\nStep 1:", got, "content.lstrip('\\n'), as the template does")
	got, _, err = RenderChatTarget(TemplateQwen3, testMsgs, "Let me compute 2+2 first.", providers.PrefillTargetReasoning)
	require.NoError(t, err)
	assert.Equal(t, head+"<|im_start|>assistant\n<think>\nLet me compute 2+2 first.", got)
}

// DeepSeek-R1: the system text first, unmarked, then <｜User｜>/<｜Assistant｜>
// turns (the chat_template of deepseek-ai's R1 tokenizer_config.json, read
// in the mirror Evilcarbon/DeepSeek-R1-Distill-Qwen-32B tokenizer_config.json);
// the reasoning target opens with "<think>\n" as deepseek-ai/DeepSeek-R1
// README.md "Usage Recommendations" asks.
func TestDeepSeekR1Template(t *testing.T) {
	got, stop, err := RenderChatTarget(TemplateDeepSeekR1, testMsgs, "Step 1:", providers.PrefillTargetAnswer)
	require.NoError(t, err)
	assert.Equal(t, "You are a careful mathematician.<｜User｜>What is (2+2)*3?<｜Assistant｜>Step 1:", got)
	assert.Equal(t, []string{"<｜end▁of▁sentence｜>"}, stop)
	got, _, err = RenderChatTarget(TemplateDeepSeekR1, []providers.Message{{Role: "user", Content: "Q"},
		{Role: "assistant", Content: "<think>\nhm\n</think>\n\nA"}, {Role: "user", Content: "Q2"}}, "Okay,", providers.PrefillTargetReasoning)
	require.NoError(t, err)
	assert.Equal(t, "<｜User｜>Q<｜Assistant｜>\n\nA<｜end▁of▁sentence｜><｜User｜>Q2<｜Assistant｜><think>\nOkay,", got,
		"earlier reasoning dropped: content.split('</think>')[-1]")
	_, _, err = RenderChatTarget(TemplateChatML, testMsgs, "x", providers.PrefillTargetReasoning)
	assert.ErrorContains(t, err, "no reasoning section")
}

// A reasoning-target continuation through vLLM's /completions: the prompt
// ends inside the reasoning, the reply's rest of the reasoning goes to
// Completion.Reasoning and only what follows its end to Text.
func TestReasoningTargetEndToEnd(t *testing.T) {
	cases := []struct {
		template, reply, reasoning, text string
		skipSpecial                      bool
	}{
		{TemplateQwen3, " so 4*3 = 12.\n</think>\n\nThe answer is \\boxed{12}.", " so 4*3 = 12.\n", "The answer is \\boxed{12}.", false},
		{TemplateDeepSeekR1, " 12.</think>\n\n\\boxed{12}", " 12.", "\\boxed{12}", false},
		{TemplateGPTOSS, " 12.<|end|><|start|>assistant<|channel|>final<|message|>12", " 12.", "12", true},
		{TemplateQwen3, " still thinking when the tokens ran out", " still thinking when the tokens ran out", "", false},
	}
	for _, c := range cases {
		t.Run(c.template, func(t *testing.T) {
			f := newFake(t, func(w http.ResponseWriter, r *http.Request, _ map[string]any) {
				writeJSON(w, 200, completionShape("m", c.reply))
			})
			cl := newClient(t, "vllm", f, Options{ChatTemplate: c.template})
			got, err := cl.Complete(context.Background(), providers.Request{Messages: testMsgs, Prefill: "2+2 = 4",
				PrefillMethod: raw, PrefillTarget: providers.PrefillTargetReasoning})
			require.NoError(t, err)
			assert.Equal(t, c.reasoning, got.Reasoning)
			assert.Equal(t, c.text, got.Text)
			body := f.last(t).Body
			assert.Contains(t, body["prompt"], "2+2 = 4")
			if c.skipSpecial {
				assert.Equal(t, false, body["skip_special_tokens"], "harmony markers must survive to split the reply")
			} else {
				assert.NotContains(t, body, "skip_special_tokens")
			}
		})
	}
}
