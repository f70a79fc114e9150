package recovery

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every point query the store, the cache, resume and the viewer make per
// problem or per call is answered by an index (EXPLAIN QUERY PLAN shows no
// full SCAN); whole-stage reads search the primary key by stage.
func TestPointQueriesUseAnIndex(t *testing.T) {
	ctx := context.Background()
	st, err := OpenStore(t.TempDir())
	require.NoError(t, err)
	defer st.Close()
	_, err = st.completionCache()
	require.NoError(t, err)
	require.NoError(t, st.ensureSearch(ctx))
	for _, q := range []struct {
		name, sql string
		args      []any
	}{
		{"Samples(id)", `SELECT ` + sampleCols + ` FROM samples WHERE stage IN ('strong', 'weak') AND problem_id = ? ORDER BY problem_id, stage, prefix, sample`, []any{"p"}},
		{"Continuations(id)", `SELECT ` + sampleCols + ` FROM samples WHERE stage = 'continue' AND problem_id = ? ORDER BY problem_id, stage, prefix, sample`, []any{"p"}},
		{"PerturbCalls(id)", `SELECT ` + sampleCols + ` FROM samples WHERE stage = 'perturb' AND problem_id = ? ORDER BY problem_id, stage, prefix, sample`, []any{"p"}},
		{"StageSamples", `SELECT ` + leanSampleCols + ` FROM samples WHERE stage = ? ORDER BY stage, problem_id, prefix, sample`, []any{"strong"}},
		{"StoredProblems.ByQuestions", `SELECT qkey, ` + storedProblemCols + ` FROM problems WHERE qkey IN (?, ?, ?)`, []any{1, 2, 3}},
		{"Problem(id)", `SELECT ` + problemCols + ` FROM problems WHERE id = ?`, []any{"p"}},
		{"Prefixes(id)", `SELECT * FROM prefixes WHERE problem_id = ? ORDER BY problem_id, strategy`, []any{"p"}},
		{"PutSample claim", `EXPLAIN QUERY PLAN ` + st.claimSQL, make([]any, 37)},
		{"cache get", getSharedSQL, []any{"k"}},
		{"cache share", `EXPLAIN QUERY PLAN ` + shareSQL, nil},
		{"prompt insert", `SELECT messages FROM prompts WHERE hash = ?`, []any{[]byte("h")}},
		{"trigger: cache rows of a sample row", `SELECT key FROM completion_cache WHERE text_stage = ? AND text_problem = ? AND text_prefix = ? AND text_sample = ?`, []any{"s", "p", "", 0}},
		{"viewer continuations per problem", `SELECT problem_id, COUNT(*) FROM samples WHERE stage = ? AND error = '' GROUP BY problem_id`, []any{"continue"}},
		{"behaviour label", `SELECT 1 FROM samples WHERE stage = 'continue' AND problem_id = ? AND prefix = ? AND sample = ?`, []any{"p", "weak", 0}},
		{"search", `SELECT id FROM problems_search WHERE problems_search MATCH ?`, []any{`"abc"`}},
	} {
		sqlText := q.sql
		if !strings.HasPrefix(sqlText, "EXPLAIN") {
			sqlText = "EXPLAIN QUERY PLAN " + sqlText
		}
		args := q.args
		if args == nil {
			args = []any{"k", "{}", "s", "p", "", 0, "t", "r", "c"}
		}
		rows, err := st.DB().QueryContext(ctx, sqlText, args...)
		require.NoError(t, err, q.name)
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			require.NoError(t, rows.Scan(&id, &parent, &unused, &detail))
			plan = append(plan, detail)
		}
		require.NoError(t, rows.Close())
		for _, d := range plan {
			// The claim's one-row CTE (paid) is scanned, no table.
			table := d != "SCAN CONSTANT ROW" && d != "SCAN paid" && !strings.Contains(d, "VIRTUAL TABLE")
			require.False(t, strings.HasPrefix(d, "SCAN ") && table,
				"%s: %s (plan %q)", q.name, d, plan)
		}
		t.Logf("%s: %s", q.name, strings.Join(plan, "; "))
	}
}

// The lost-paid-row claim is answered by an index in both store formats:
// samples(request_messages, request_key) in a new database,
// samples(request_key) in one whose prompts keep hash references.
func TestTheClaimUsesAnIndexInEitherFormat(t *testing.T) {
	ctx := context.Background()
	fresh, err := OpenStore(t.TempDir())
	require.NoError(t, err)
	defer fresh.Close()
	dir := t.TempDir()
	db, err := sqlOpen("file:" + filepath.Join(dir, StoreFile))
	require.NoError(t, err)
	_, err = db.Exec(`CREATE TABLE prompts (hash BLOB PRIMARY KEY, messages TEXT NOT NULL) WITHOUT ROWID`)
	require.NoError(t, err)
	require.NoError(t, db.Close())
	old, err := OpenStore(dir)
	require.NoError(t, err)
	defer old.Close()
	for _, c := range []struct {
		st    *Store
		index string
	}{{fresh, "samples_prompt_request"}, {old, "samples_request"}} {
		rows, err := c.st.DB().QueryContext(ctx, `EXPLAIN QUERY PLAN `+c.st.claimSQL, make([]any, 37)...)
		require.NoError(t, err)
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			require.NoError(t, rows.Scan(&id, &parent, &unused, &detail))
			plan = append(plan, detail)
		}
		require.NoError(t, rows.Close())
		found := false
		for _, d := range plan {
			found = found || strings.HasPrefix(d, "SEARCH o USING INDEX "+c.index+" (")
		}
		assert.True(t, found, "the claim searches %s: plan %q", c.index, plan)
	}
}
