package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBatchOnTheSimulatorMatchesALiveRunAndShowsBatches(t *testing.T) {
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	live := filepath.Join(dir, "live")
	require.NoError(t, run(context.Background(), []string{"-limit", "6", "-out", live, "-quiet"}, &stdout, &stderr), stderr.String())
	batch := filepath.Join(dir, "batch")
	stdout.Reset()
	require.NoError(t, run(context.Background(), []string{"-limit", "6", "-out", batch, "-batch", "-batch-max-wait", "50ms"}, &stdout, &stderr), stderr.String())
	assert.Regexp(t, `batches: [1-9]\d* submitted, 0 re-attached, [1-9]\d* done`, stdout.String())
	assert.Contains(t, stderr.String(), "in progress", "progress shows batches in flight")
	a, err := os.ReadFile(filepath.Join(live, "summary.json"))
	require.NoError(t, err)
	b, err := os.ReadFile(filepath.Join(batch, "summary.json"))
	require.NoError(t, err)
	assert.JSONEq(t, string(a), string(b))
}

func TestDryRunBatchEstimatesLiveAndBatchDollars(t *testing.T) {
	var stdout, stderr bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"-limit", "6", "-out", filepath.Join(t.TempDir(), "r"), "-quiet", "-dry-run", "-batch",
		"-batch-max-wait", "50ms", "-strong", "openai:gpt-4o", "-weak", "anthropic:claude-haiku-4-5"}, &stdout, &stderr), stderr.String())
	m := regexp.MustCompile(`dollars: \$([0-9.]+) live vs \$([0-9.]+) by batch`).FindStringSubmatch(stdout.String())
	require.NotNil(t, m, stdout.String())
	live, _ := strconv.ParseFloat(m[1], 64)
	batch, _ := strconv.ParseFloat(m[2], 64)
	assert.Greater(t, batch, 0.0)
	assert.InDelta(t, live/2, batch, 1e-4, "both providers bill batches at half price")
}

func TestBatchWithAProviderWithoutABatchAPIFailsBeforeAnyCall(t *testing.T) {
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"-limit", "3", "-out", filepath.Join(t.TempDir(), "r"), "-quiet", "-dry-run", "-batch",
		"-strong", "deepseek:deepseek-chat"}, &stdout, &stderr)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "deepseek")
	assert.Contains(t, err.Error(), "no batch API")

	t.Setenv("FIREWORKS_API_KEY", "k")
	err = run(context.Background(), []string{"-limit", "3", "-out", filepath.Join(t.TempDir(), "r"), "-quiet", "-batch",
		"-strong", "fireworks:accounts/fireworks/models/x"}, &stdout, &stderr)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "fireworks has no OpenAI-format batch API")

	err = run(context.Background(), []string{"-batch-max-wait", "-1s"}, &stdout, &stderr)
	assert.ErrorContains(t, err, "-batch-max-wait")
}
