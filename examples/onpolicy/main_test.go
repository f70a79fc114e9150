package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestOnPolicyContinuesTheModelsOwnMistakesOnShakyProblems(t *testing.T) {
	var stdout, stderr bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"-limit", "30", "-out", t.TempDir(), "-continuations", "2"},
		&stdout, &stderr), stderr.String())
	s := stdout.String()
	assert.Contains(t, s, "| overall | 30 |")
	assert.Contains(t, s, "out_of_band", "problems outside the band are set aside and counted")
}

func TestBadBandIsRejected(t *testing.T) {
	for _, band := range []string{"0.8-0.2", "x", "0.2-1.5"} {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), []string{"-band", band, "-out", t.TempDir()}, &stdout, &stderr)
		require.Error(t, err, band)
		assert.Contains(t, err.Error(), band)
	}
}
