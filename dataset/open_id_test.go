package dataset_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/dataset"
)

// A resumed run must see the same problem IDs however the dataset's path is
// spelled: relative, absolute, with ./ or a detour through its parent.
func TestOpenGivesTheSameIDsHoweverThePathIsSpelled(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "data")
	require.NoError(t, os.MkdirAll(sub, 0o755))
	path := filepath.Join(sub, "probs.jsonl")
	require.NoError(t, os.WriteFile(path, []byte(
		`{"question":"1+1?","answer":"two\n#### 2"}`+"\n"+`{"question":"2+2?","answer":"four\n#### 4"}`+"\n"), 0o644))
	t.Chdir(dir)
	var ids [][]string
	for _, spelling := range []string{path, "data/probs.jsonl", "./data/probs.jsonl", "data/../data/probs.jsonl"} {
		ps, err := dataset.Open(spelling)
		require.NoError(t, err, spelling)
		var got []string
		for _, p := range ps {
			got = append(got, p.ID)
		}
		ids = append(ids, got)
	}
	assert.Equal(t, []string{"probs.jsonl:1", "probs.jsonl:2"}, ids[0])
	for i := 1; i < len(ids); i++ {
		assert.Equal(t, ids[0], ids[i])
	}
	// Errors still name the path as given.
	require.NoError(t, os.WriteFile(path, []byte(`{"question":"q"}`+"\n"), 0o644))
	_, err := dataset.Open("./data/probs.jsonl")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "./data/probs.jsonl:1")
}
