package dataset_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/dataset"
)

func writeShard(t *testing.T, path string, lines ...string) {
	t.Helper()
	var b []byte
	for _, l := range lines {
		b = append(b, l...)
		b = append(b, '\n')
	}
	require.NoError(t, os.WriteFile(path, b, 0o644))
}

func TestShardsOfADirectoryOrAGlobAreReadInOrderOneAtATime(t *testing.T) {
	dir := t.TempDir()
	writeShard(t, filepath.Join(dir, "train-00001-of-00002.jsonl"),
		`{"question": "Q3", "answer": "s\n#### 3"}`)
	writeShard(t, filepath.Join(dir, "train-00000-of-00002.jsonl"),
		`{"question": "Q1", "answer": "s\n#### 1"}`, `{"question": "Q2", "answer": "s\n#### 2"}`)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "README.md"), []byte("# not a shard"), 0o644))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "sub.jsonl"), 0o755))

	assert.True(t, dataset.IsShards(dir))
	assert.True(t, dataset.IsShards(filepath.Join(dir, "train-*.jsonl")))
	assert.False(t, dataset.IsShards(filepath.Join(dir, "train-00000-of-00002.jsonl")))

	for _, path := range []string{dir, filepath.Join(dir, "train-*.jsonl")} {
		ps, err := dataset.OpenShards(path)
		require.NoError(t, err, path)
		var answers []string
		for _, p := range ps {
			answers = append(answers, p.Answer)
		}
		assert.Equal(t, []string{"1", "2", "3"}, answers, "shard order, then line order: %s", path)
	}

	var sizes []int
	require.NoError(t, dataset.EachShard(dir, func(file string, ps []dataset.Problem) error {
		sizes = append(sizes, len(ps))
		return nil
	}))
	assert.Equal(t, []int{2, 1}, sizes, "one shard per call")
}

func TestShardsNameWhatIsWrong(t *testing.T) {
	dir := t.TempDir()
	_, err := dataset.OpenShards(filepath.Join(dir, "*.parquet"))
	assert.ErrorIs(t, err, dataset.ErrNoShards)
	assert.Contains(t, err.Error(), "*.parquet")

	writeShard(t, filepath.Join(dir, "a.jsonl"), `{"id": "x", "prompt": "Q", "final_answer": "1"}`)
	writeShard(t, filepath.Join(dir, "b.jsonl"), `{"id": "x", "prompt": "Q", "final_answer": "1"}`)
	_, err = dataset.OpenShards(dir)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "a.jsonl")
	assert.Contains(t, err.Error(), "b.jsonl")

	writeShard(t, filepath.Join(dir, "b.jsonl"), `not json`)
	_, err = dataset.OpenShards(dir)
	var de *dataset.Error
	require.True(t, errors.As(err, &de), "%v", err)
	assert.Contains(t, de.File, "b.jsonl")
	_, err = dataset.OpenShards(filepath.Join(dir, "[")) // a malformed glob
	assert.Error(t, err)
}
