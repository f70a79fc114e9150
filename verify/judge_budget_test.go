package verify

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/providers"
)

// A reasoning judge gets room to reason before its YES/NO, and no
// temperature where OpenAI's reasoning families refuse anything but 1
// (go-openai reasoning_validator.go); a chat judge keeps 8 tokens at
// temperature 0.
func TestJudgeBudgetFitsReasoningModels(t *testing.T) {
	cases := []struct {
		model   string
		tokens  int
		hasTemp bool
	}{
		{"gpt-4o-mini", 8, true},
		{"o3-mini", providers.ReasoningMaxTokens, false},
		{"openai/gpt-5", providers.ReasoningMaxTokens, false},
		{"deepseek-reasoner", providers.ReasoningMaxTokens, true},
		{"Qwen/Qwen3-8B", providers.ReasoningMaxTokens, true},
	}
	for _, c := range cases {
		t.Run(c.model, func(t *testing.T) {
			var calls atomic.Int32
			var req providers.Request
			j := &Judge{Completer: scriptedJudge("YES", nil, &calls, &req), Model: c.model}
			_, err := j.Verify(context.Background(), "18", "I would say eighteen dollars.")
			require.NoError(t, err)
			require.EqualValues(t, 1, calls.Load())
			assert.Equal(t, c.tokens, req.MaxTokens)
			assert.Equal(t, c.hasTemp, req.Temperature != nil)
		})
	}
}
