package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStraightShotPrintsTheDistributionAndBuckets(t *testing.T) {
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"-limit", "40", "-out", out}, &stdout, &stderr), stderr.String())
	s := stdout.String()
	assert.Contains(t, s, "sim:strong on 40 gsm8k problems, 200 samples")
	assert.Contains(t, s, "bimodality coefficient")
	assert.Contains(t, s, "| hard |")
	assert.Contains(t, s, "| easy |")
	for _, f := range []string{"run.db", "samples.jsonl", "pass_rates.png", "pass_rates.svg"} {
		_, err := os.Stat(filepath.Join(out, f))
		assert.NoError(t, err, f)
	}

	stdout.Reset()
	require.NoError(t, run(context.Background(), []string{"-limit", "40", "-out", t.TempDir(), "-adaptive", "-samples", "10"},
		&stdout, &stderr))
	assert.Contains(t, stdout.String(), "sim:strong on 40 gsm8k problems")
	assert.NotContains(t, stdout.String(), "400 samples", "adaptive sampling stops early on settled problems")
}
