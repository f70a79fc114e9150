package providers_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/providers"
	"github.com/rebound-lab/rebound/providers/mock"
)

// The probe gives a reasoning model room to reason and sends OpenAI's
// reasoning families no temperature (they refuse anything but 1:
// go-openai reasoning_validator.go).
func TestProbeBudgetFitsReasoningModels(t *testing.T) {
	cases := []struct {
		model   string
		tokens  int
		hasTemp bool
	}{
		{"gpt-4o-mini", 12, true},
		{"openai/o3", providers.ReasoningMaxTokens, false},
		{"deepseek-ai/DeepSeek-R1", providers.ReasoningMaxTokens, true},
		{"gpt-oss-120b", providers.ReasoningMaxTokens, true},
		{"Qwen/Qwen3-235B-A22B-Instruct-2507", 12, true},
	}
	for _, c := range cases {
		t.Run(c.model, func(t *testing.T) {
			m := mock.Echo()
			_, err := providers.ProbePrefill(context.Background(), m, c.model)
			require.NoError(t, err)
			reqs := m.Requests()
			require.NotEmpty(t, reqs)
			for _, r := range reqs {
				assert.Equal(t, c.tokens, r.MaxTokens)
				assert.Equal(t, c.hasTemp, r.Temperature != nil)
			}
		})
	}
	_, err := providers.ProbePrefill(context.Background(), mock.Echo(), "o3", providers.ProbeMaxTokens(99))
	require.NoError(t, err, "an explicit budget still wins")
}
