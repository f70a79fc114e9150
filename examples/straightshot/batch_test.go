package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBatchCalibratesExactlyLikeLiveCalls(t *testing.T) {
	var live, batch, stderr bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"-limit", "12", "-out", t.TempDir()}, &live, &stderr), stderr.String())
	require.NoError(t, run(context.Background(), []string{"-limit", "12", "-out", t.TempDir(), "-batch", "-batch-max-wait", "50ms"}, &batch, &stderr), stderr.String())
	strip := func(s string) string { return s[:strings.LastIndex(s, "outputs in")] }
	assert.Equal(t, strip(live.String()), strip(batch.String()))

	err := run(context.Background(), []string{"-limit", "2", "-out", t.TempDir(), "-batch", "-model", "mock:x"}, &batch, &stderr)
	assert.Error(t, err)
}
