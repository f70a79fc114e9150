package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/difficulty"
	"github.com/rebound-lab/rebound/recovery"
)

func TestPlanFromAPilotRunAndFlagChecks(t *testing.T) {
	out := filepath.Join(t.TempDir(), "pilot")
	var stdout, stderr bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"-limit", "20", "-out", out, "-perturb", "inject",
		"-temperature", "0.7", "-quiet"}, &stdout, &stderr), stderr.String())
	stdout.Reset()
	require.NoError(t, run(context.Background(), []string{"-plan", out, "-plan-halfwidth", "0.1"}, &stdout, &stderr))
	assert.Contains(t, stdout.String(), "problems needed")
	assert.Contains(t, stdout.String(), "Only more problems narrow recovery intervals")

	// The default plan (confidence 0.8) settles nothing before 4 samples.
	err := run(context.Background(), []string{"-adaptive", "-samples", "3", "-limit", "3", "-out", filepath.Join(t.TempDir(), "a"), "-quiet"}, &stdout, &stderr)
	assert.ErrorContains(t, err, "raise the maximum")
	err = run(context.Background(), []string{"-prior", "flat"}, &stdout, &stderr)
	assert.ErrorContains(t, err, "want fitted or jeffreys")
	err = run(context.Background(), []string{"-temperature", "hot"}, &stdout, &stderr)
	assert.Error(t, err)
}

func TestAdaptiveWithoutSamplesUsesTheDefaultPlansMaximum(t *testing.T) {
	out := filepath.Join(t.TempDir(), "a")
	var stdout, stderr bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"-adaptive", "-limit", "6", "-perturb", "inject", "-out", out, "-quiet"},
		&stdout, &stderr), stderr.String())
	st, err := recovery.OpenStore(out)
	require.NoError(t, err)
	defer st.Close()
	v, ok, err := st.Config(context.Background(), "config")
	require.NoError(t, err)
	require.True(t, ok)
	var cfg struct {
		Samples  int              `json:"samples"`
		Adaptive *difficulty.Plan `json:"adaptive"`
	}
	require.NoError(t, json.Unmarshal([]byte(v), &cfg))
	require.NotNil(t, cfg.Adaptive)
	assert.Equal(t, difficulty.DefaultPlan(), *cfg.Adaptive, "-adaptive alone is the measured default plan, not Max = -samples' default 5")
	assert.Equal(t, 12, cfg.Samples)
}
