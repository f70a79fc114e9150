package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/recovery"
)

func TestAStudyWithParallelModelsPrintsObservedAndLatentRowsAndThePairedDifference(t *testing.T) {
	out := filepath.Join(t.TempDir(), "study")
	var stdout, stderr bytes.Buffer
	args := []string{"-strong", "sim:strong,sim:weak", "-limit", "8", "-samples", "3", "-continuations", "2", "-out", out, "-parallel", "2"}
	require.NoError(t, run(context.Background(), args, &stdout, &stderr), stderr.String())
	o := stdout.String()
	assert.Contains(t, o, "| sim:strong | weak | 8 |")
	assert.Contains(t, o, "| sim:weak | weak | medium (true 0.2–0.8) |")
	assert.Contains(t, o, "| sim:strong − sim:weak | weak | ")
	assert.Contains(t, stderr.String(), "  sim:weak: continue ", "one line per model and finished stage")
	for _, f := range []string{recovery.StudyMD, recovery.StudyJSON, recovery.TidyContinuationsParquet} {
		_, err := os.Stat(filepath.Join(out, f))
		assert.NoError(t, err, f)
	}

	err := run(context.Background(), append(args[:len(args)-1:len(args)-1], "0"), &stdout, &stderr)
	require.ErrorContains(t, err, "-parallel 0: want at least 1")
}
