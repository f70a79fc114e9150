package recovery

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The report's passes read the store without sorting it: the summary pass
// walks the samples' primary key (no temporary B-tree holding every row),
// and the chunked passes (LabelBehaviours, the tidy export) search one
// range of problems by index.
func TestTheReportPassesReadByIndexWithoutSortingTheRun(t *testing.T) {
	ctx := context.Background()
	st, err := OpenStore(t.TempDir())
	require.NoError(t, err)
	defer st.Close()
	rg := idRange{lo: "a", hasLo: true, hi: "b", hasHi: true}
	inRange, args := rg.where(`problem_id`)
	idRangeSQL, idArgs := rg.where(`id`)
	plan := func(q string, args ...any) string {
		rows, err := st.DB().QueryContext(ctx, "EXPLAIN QUERY PLAN "+q, args...)
		require.NoError(t, err)
		defer rows.Close()
		var out []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			require.NoError(t, rows.Scan(&id, &parent, &unused, &detail))
			out = append(out, detail)
		}
		require.NoError(t, rows.Err())
		return strings.Join(out, "; ")
	}
	summary := plan(summaryRowSQL)
	assert.NotContains(t, summary, "TEMP B-TREE", summary)
	assert.Contains(t, summary, "SEARCH p USING COVERING INDEX", "each row's problem by index: %s", summary)
	for name, q := range map[string]struct {
		sql  string
		args []any
	}{
		"continuations of a range": {`SELECT ` + sampleCols + ` FROM samples WHERE stage = 'continue' AND error = '' AND ` + inRange +
			` ORDER BY problem_id, stage, prefix, sample`, args},
		"unlabelled continuations of a range": {`SELECT ` + sampleCols + ` FROM samples WHERE stage = 'continue' AND error = '' AND ` +
			inRange + ` AND behaviour = '' ORDER BY problem_id, stage, prefix, sample`, args},
		"prefixes of a range": {`SELECT * FROM prefixes WHERE set_aside = '' AND error = '' AND ` + inRange + ` ORDER BY problem_id, strategy`, args},
		"problems of a range": {`SELECT ` + problemCols + ` FROM problems WHERE ` + idRangeSQL, idArgs},
	} {
		p := plan(q.sql, q.args...)
		assert.True(t, strings.HasPrefix(p, "SEARCH "), "%s: %s", name, p)
		assert.NotContains(t, p, "TEMP B-TREE", "%s: %s", name, p)
	}
	// Straight shots interleave two stages per problem, so a range's rows
	// are sorted, but only the range's.
	p := plan(`SELECT `+sampleCols+` FROM samples WHERE stage IN ('strong', 'weak') AND `+inRange+
		` ORDER BY problem_id, stage, prefix, sample`, args...)
	assert.True(t, strings.HasPrefix(p, "SEARCH "), p)
}
