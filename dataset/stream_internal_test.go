package dataset

import (
	"context"
	"fmt"
	"hash/maphash"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// With every ID hashing alike, the stream must still tell distinct IDs
// apart (confirming a shared hash by reading the first record again) and
// still find the real duplicate, with the first place it was seen.
func TestAStreamConfirmsAnIDHashCollision(t *testing.T) {
	old := idHash
	idHash = func(maphash.Seed, string) uint64 { return 7 }
	defer func() { idHash = old }()

	dir := t.TempDir()
	var lines []string
	for i := range 5 {
		lines = append(lines, fmt.Sprintf(`{"id": "p%d", "prompt": "Q", "final_answer": "1"}`, i))
	}
	file := filepath.Join(dir, "a.jsonl")
	require.NoError(t, os.WriteFile(file, []byte(strings.Join(lines, "\n")+"\n"), 0o644))
	s, err := OpenStream(file)
	require.NoError(t, err)
	n, err := Count(context.Background(), s)
	require.NoError(t, err, "five distinct IDs with one hash are not duplicates")
	assert.Equal(t, 5, n)

	lines = append(lines, `{"id": "p3", "prompt": "Q", "final_answer": "1"}`)
	require.NoError(t, os.WriteFile(file, []byte(strings.Join(lines, "\n")+"\n"), 0o644))
	_, err = Count(context.Background(), s)
	assert.ErrorContains(t, err, "changed since it was first read", "a stream refuses a file that changed after its first pass")
	s, err = OpenStream(file)
	require.NoError(t, err)
	_, err = Count(context.Background(), s)
	assert.ErrorIs(t, err, ErrDuplicateID)
	assert.Contains(t, err.Error(), `a.jsonl:6: duplicate id "p3" (first at line 4)`)

	lines[5] = `{"id": "p0", "prompt": "Q", "final_answer": "1"}`
	require.NoError(t, os.WriteFile(file, []byte(strings.Join(lines, "\n")+"\n"), 0o644))
	_, err = Count(context.Background(), s) // the failed pass did not finish: IDs are checked again
	assert.Contains(t, err.Error(), `a.jsonl:6: duplicate id "p0" (first at line 1)`)
}

// A Stream limited to N counts a pass to its limit as a whole pass: the
// next one checks the files' stamps, not the IDs.
func TestALimitedStreamChecksIDsOnce(t *testing.T) {
	var hashed int
	old := idHash
	idHash = func(seed maphash.Seed, id string) uint64 { hashed++; return old(seed, id) }
	defer func() { idHash = old }()
	var lines []string
	for i := range 600 {
		lines = append(lines, fmt.Sprintf(`{"id": "p%d", "prompt": "Q", "final_answer": "1"}`, i))
	}
	file := filepath.Join(t.TempDir(), "a.jsonl")
	require.NoError(t, os.WriteFile(file, []byte(strings.Join(lines, "\n")+"\n"), 0o644))
	s, err := OpenStream(file)
	require.NoError(t, err)
	lim := Limit(s, 300)
	_, ok := lim.(*Stream)
	require.True(t, ok)
	for pass := range 2 {
		var sizes []int
		require.NoError(t, lim.Each(context.Background(), func(c []Problem) error {
			sizes = append(sizes, len(c))
			return nil
		}))
		assert.Equal(t, []int{256, 44}, sizes)
		assert.Equal(t, 300, hashed, "pass %d", pass)
	}
	n, err := Count(context.Background(), Limit(lim, 1000))
	require.NoError(t, err)
	assert.Equal(t, 300, n, "the smaller limit wins")
	st1, _ := lim.(*Stream).Stamp()
	st2, _ := s.Stamp()
	assert.NotEqual(t, st1, st2, "the limit is part of the stamp")
}
