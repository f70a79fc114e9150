package viewer

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeSearcher answers searches from a fixed index.
type fakeSearcher struct {
	Source
	ids map[string]struct{}
	ok  bool
}

func (f fakeSearcher) SearchIDs(context.Context, string) (map[string]struct{}, bool, error) {
	return f.ids, f.ok, nil
}

// A Searcher's candidates narrow the search: only they are checked (and a
// candidate must still contain the text); without an index answer the
// scan decides.
func TestSearchUsesTheSourcesIndex(t *testing.T) {
	rows := []ProblemSummary{{ID: "a", Question: "zebras run"}, {ID: "b", Question: "zebras walk"}, {ID: "c", Question: "cats"}}
	q := Query{Search: "zebras"}
	assert.Equal(t, []int{0, 1}, q.Select(rows), "the scan")

	indexed, err := q.WithSearch(context.Background(), fakeSearcher{ids: map[string]struct{}{"b": {}, "c": {}}, ok: true})
	require.NoError(t, err)
	assert.Equal(t, []int{1}, indexed.Select(rows), "b from the index; c is a candidate without the text")

	short, err := q.WithSearch(context.Background(), fakeSearcher{ok: false})
	require.NoError(t, err)
	assert.Equal(t, []int{0, 1}, short.Select(rows), "no index answer: the scan")
}
