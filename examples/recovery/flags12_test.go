package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/recovery"
)

func TestMaxTokensAndReasoningFlags(t *testing.T) {
	var stderr bytes.Buffer
	o, err := parse([]string{}, &stderr)
	require.NoError(t, err)
	assert.Equal(t, recovery.DefaultMaxTokens, o.maxTokens, "a real output limit by default")
	o, err = parse([]string{"-max-tokens", "16000", "-reasoning-effort", "high", "-prefill-target", "reasoning"}, &stderr)
	require.NoError(t, err)
	assert.Equal(t, 16000, o.maxTokens)
	assert.Equal(t, "high", o.reasoningEffort)
	assert.Equal(t, "reasoning", o.prefillTarget)
	for _, args := range [][]string{{"-max-tokens", "0"}, {"-prefill-target", "middle"}} {
		_, err := parse(args, &stderr)
		assert.ErrorContains(t, err, args[0])
	}
	// The flag reaches the run (sim: any limit works) and a run is recorded with it.
	out := t.TempDir()
	require.NoError(t, run(context.Background(), []string{"-out", out, "-limit", "2", "-quiet", "-max-tokens", "777"}, &bytes.Buffer{}, &stderr))
	st, err := recovery.OpenStore(out)
	require.NoError(t, err)
	defer st.Close()
	rows, err := st.StageSamples(context.Background(), recovery.StageStrong)
	require.NoError(t, err)
	require.NotEmpty(t, rows)
	assert.Contains(t, rows[0].Request, `"max_tokens":777`)
}
