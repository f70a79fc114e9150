package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBatchGivesTheLiveTable(t *testing.T) {
	var live, batch, stderr bytes.Buffer
	args := []string{"-limit", "10", "-continuations", "2"}
	require.NoError(t, run(context.Background(), append(args, "-out", t.TempDir()), &live, &stderr), stderr.String())
	require.NoError(t, run(context.Background(), append(args, "-out", t.TempDir(), "-batch", "-batch-max-wait", "50ms"), &batch, &stderr), stderr.String())
	table := func(b *bytes.Buffer) string { s := b.String(); return s[:bytes.LastIndex(b.Bytes(), []byte("$"))] }
	assert.Equal(t, table(&live), table(&batch))
}
