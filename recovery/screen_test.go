package recovery

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/dataset"
)

func TestScreenWritesACalibratedSubsetPerBucketThatReadsBackAsADataset(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfg := simConfig(t, dir, 60, 1)
	cfg.Samples = 8
	var calls int
	cfg.Progress = func(e Event) { calls = e.Cost.Calls }
	res, err := Screen(ctx, cfg, 5, "")
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(dir, ScreenFile), res.Out)

	total := 0
	for _, n := range res.Observed {
		total += n
	}
	assert.Equal(t, 60, total, "every problem screened")
	assert.Less(t, calls, 60*8, "adaptive: settled problems stop early")
	for b, n := range res.Selected {
		assert.Equal(t, min(5, res.Observed[b]), n, "bucket %s: up to 5 kept", b)
	}

	got, err := dataset.Open(res.Out)
	require.NoError(t, err)
	require.Len(t, got, len(res.Problems))
	byID := map[string]dataset.Problem{}
	for _, p := range cfg.Problems {
		byID[p.ID] = p
	}
	for i, p := range got {
		want := res.Problems[i]
		assert.Equal(t, want.Problem.ID, p.ID, "IDs survive")
		assert.Equal(t, byID[p.ID].Question, p.Question)
		assert.Equal(t, byID[p.ID].Answer, p.Answer)
		if i > 0 && res.Problems[i-1].Bucket == want.Bucket {
			assert.GreaterOrEqual(t, res.Problems[i-1].Confidence, want.Confidence, "most surely placed first")
		}
	}

	// Screening again resumes: no call is made twice.
	cfg.Progress = func(e Event) { calls = e.Cost.Calls }
	again, err := Screen(ctx, cfg, 5, "")
	require.NoError(t, err)
	assert.Equal(t, res.Selected, again.Selected)
	assert.Zero(t, again.Cost.Calls)

	_, err = Screen(ctx, cfg, -1, "")
	assert.ErrorIs(t, err, ErrConfig)
}
