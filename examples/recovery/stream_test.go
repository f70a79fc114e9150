package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/dataset"
	"github.com/rebound-lab/rebound/internal/e2e"
	"github.com/rebound-lab/rebound/recovery"
)

// A -dataset file is streamed into the run (its simulators find problems
// in the run's store): -limit keeps the first N, the result is the one
// the same problems give from memory, a dry run works, and a rerun
// resumes with nothing to do.
func TestADatasetFileIsStreamedAndGivesTheResultOfTheSameProblemsInMemory(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "problems.jsonl")
	f, err := os.Create(data)
	require.NoError(t, err)
	require.NoError(t, e2e.WriteJSONL(f, e2e.Synthetic(30)))
	require.NoError(t, f.Close())

	var stdout, stderr bytes.Buffer
	out := filepath.Join(dir, "run")
	args := []string{"-dataset", data, "-limit", "12", "-out", out, "-samples", "3", "-continuations", "2"}
	require.NoError(t, run(context.Background(), args, &stdout, &stderr), stderr.String())
	assert.Contains(t, stdout.String(), "| overall | 12 |")
	assert.Contains(t, stderr.String(), "strong", "the progress bar counted the stream")

	// The same twelve problems from memory, through the library.
	ps, err := dataset.Open(data)
	require.NoError(t, err)
	mem := filepath.Join(dir, "mem")
	memArgs := append([]string(nil), args...)
	memArgs[5] = mem
	o, err := parse(memArgs, &stderr)
	require.NoError(t, err)
	know := simKnows{problems: ps[:12]}
	cfg := recovery.Config{Dir: mem, Problems: ps[:12], StrongModel: o.strong, WeakModel: o.weak, Samples: 3, Continuations: 2,
		Seed: o.seed, MaxTokens: o.maxTokens, Cut: nil}
	cfg.Strong, cfg.Weak, err = openModels(o.strong, o.weak, o.seed, know)
	require.NoError(t, err)
	cfg.Title = "Recovery: sim:strong continuing flawed prefixes on " + data
	_, err = recovery.Run(context.Background(), cfg)
	require.NoError(t, err)
	streamed, err := os.ReadFile(filepath.Join(out, recovery.SummaryJSON))
	require.NoError(t, err)
	inMemory, err := os.ReadFile(filepath.Join(mem, recovery.SummaryJSON))
	require.NoError(t, err)
	assert.JSONEq(t, string(inMemory), string(streamed))

	stdout.Reset()
	require.NoError(t, run(context.Background(), append(args, "-quiet"), &stdout, &stderr), stderr.String())
	assert.Contains(t, stdout.String(), "this invocation: 0 new calls")

	stdout.Reset()
	require.NoError(t, run(context.Background(), []string{"-dataset", data, "-limit", "5", "-out", filepath.Join(dir, "dry"),
		"-dry-run", "-quiet", "-strong", "openai:gpt-4o", "-weak", "openai:gpt-4o-mini"}, &stdout, &stderr), stderr.String())
	assert.Contains(t, stdout.String(), "| overall | 5 |")

	bad := filepath.Join(dir, "bad.jsonl")
	lines := strings.SplitAfter(string(must(os.ReadFile(data))), "\n")
	lines[3] = "{not json\n"
	require.NoError(t, os.WriteFile(bad, []byte(strings.Join(lines, "")), 0o644))
	err = run(context.Background(), []string{"-dataset", bad, "-limit", "0", "-out", filepath.Join(dir, "bad"), "-quiet"}, &stdout, &stderr)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "bad.jsonl:4")
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}
