package main

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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

	err := run(context.Background(), []string{"-adaptive", "-samples", "5", "-limit", "3", "-out", filepath.Join(t.TempDir(), "a"), "-quiet"}, &stdout, &stderr)
	assert.ErrorContains(t, err, "-samples 10 or more")
	err = run(context.Background(), []string{"-prior", "flat"}, &stdout, &stderr)
	assert.ErrorContains(t, err, "want fitted or jeffreys")
	err = run(context.Background(), []string{"-temperature", "hot"}, &stdout, &stderr)
	assert.Error(t, err)
}
