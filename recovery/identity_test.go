package recovery

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/dataset"
	"github.com/rebound-lab/rebound/perturb"
)

func TestResumingWithAnotherExperimentIsRefusedSayingWhatDiffers(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	base := func() Config {
		cfg := simConfig(t, dir, 6, 1)
		cfg.Samples, cfg.Continuations = 3, 2
		return cfg
	}
	_, err := Run(ctx, base())
	require.NoError(t, err)

	cases := []struct {
		name, want string
		edit       func(*Config)
	}{
		{"another dataset", "dataset: 6 of the 6 stored problems are not in this one", func(c *Config) {
			c.Problems = dataset.MATH500()[:6]
		}},
		{"the same problems under other IDs (a path spelled otherwise)", "are not in this one", func(c *Config) {
			for i := range c.Problems {
				c.Problems[i].ID = "/abs/" + c.Problems[i].ID
			}
		}},
		{"another answer", "have another question or answer", func(c *Config) { c.Problems[2].Answer = "999" }},
		{"fewer problems", "fewer problems (-limit)", func(c *Config) { c.Problems = c.Problems[:4] }},
		{"fewer samples", "samples: stored 3, now 2", func(c *Config) { c.Samples = 2 }},
		{"fewer continuations", "continuations: stored 2, now 1", func(c *Config) { c.Continuations = 1 }},
		{"a dropped strategy", "strategies may be added, not dropped", func(c *Config) { c.Strategies = []string{StrategyInject} }},
		{"another cut", "cut policy", func(c *Config) { c.Cut = perturb.CutFraction(0.9) }},
		{"another max tokens", "max tokens: stored", func(c *Config) { c.MaxTokens = 99 }},
		{"another temperature", "temperature: stored", func(c *Config) { c.Temperature = new(float64) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base()
			tc.edit(&cfg)
			_, err := Run(ctx, cfg)
			require.ErrorIs(t, err, ErrConfig)
			assert.Contains(t, err.Error(), tc.want)
			assert.Contains(t, err.Error(), "use a new run directory")
		})
	}

	// The documented extensions resume: more samples, continuations,
	// strategies and problems.
	cfg := base()
	cfg.Samples, cfg.Continuations = 4, 3
	cfg.Strategies = []string{StrategyWeak, StrategyInject}
	cfg.Problems = dataset.GSM8KTest()[:8]
	sum, err := Run(ctx, cfg)
	require.NoError(t, err)
	assert.Equal(t, 8, sum.Overall.Problems)
}

func TestResumingWithAnotherReasoningEffortOrPrefillTargetIsRefusedButBatchIsNot(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	base := func() Config {
		cfg := simConfig(t, dir, 3, 1)
		cfg.Samples, cfg.Continuations = 2, 1
		return cfg
	}
	_, err := Run(ctx, base())
	require.NoError(t, err)
	st, err := OpenStore(dir)
	require.NoError(t, err)
	stored, ok, err := st.Config(ctx, "identity")
	require.NoError(t, st.Close())
	require.NoError(t, err)
	require.True(t, ok)
	assert.NotContains(t, stored, "reasoning_effort", "unset knobs are left out, so older identities compare equal")
	assert.NotContains(t, stored, "prefill_target")
	assert.NotContains(t, stored, "batch")

	cfg := base()
	cfg.ReasoningEffort = "high"
	_, err = Run(ctx, cfg)
	require.ErrorIs(t, err, ErrConfig)
	assert.Contains(t, err.Error(), `reasoning effort: stored "", now "high"`)

	cfg = base()
	cfg.PrefillTarget = "reasoning"
	_, err = Run(ctx, cfg)
	require.ErrorIs(t, err, ErrConfig)
	assert.Contains(t, err.Error(), `prefill target: stored "", now "reasoning"`)

	// The answer target is the default: the same requests, the same run.
	cfg = base()
	cfg.PrefillTarget = "answer"
	_, err = Run(ctx, cfg)
	require.NoError(t, err)

	// Batch asks the same questions: the live run resumes by batch.
	bcfg, _, _ := batchConfig(t, dir, 3)
	bcfg.Seed, bcfg.Samples, bcfg.Continuations = 1, 2, 1
	_, err = Run(ctx, bcfg)
	require.NoError(t, err)
}
