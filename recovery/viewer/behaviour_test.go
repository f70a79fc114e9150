package viewer

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/behaviour"
	"github.com/rebound-lab/rebound/recovery"
)

// TestBehaviourLabelAndEvidenceAreShownAndFilterable labels the test run's
// continuations as the harness does and checks that the problem page shows
// each label with its evidence span marked, and that the list filters by
// behaviour.
func TestBehaviourLabelAndEvidenceAreShownAndFilterable(t *testing.T) {
	dir := t.TempDir()
	st := writeRun(t, dir)
	n, err := recovery.LabelBehaviours(context.Background(), st, false)
	require.NoError(t, err)
	require.Equal(t, 2, n, "the two continuations of recorded prefixes (the orphan has none)")
	got, err := st.Behaviours(context.Background(), "p2")
	require.NoError(t, err)
	first := got[recovery.BehaviourKey{ProblemID: "p2", Prefix: "weak", Sample: 0}]
	require.Equal(t, behaviour.ExplicitCorrection, first.Label, first.Rule)
	run, err := OpenRun(dir)
	require.NoError(t, err)
	defer run.Close()
	h := quietHandler(run)

	res, body := get(t, h, "/problem?id=p2")
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	assert.Contains(t, body, `<span class="behaviour b-explicit_correction" title="correction cue (right value unknown)">explicit_correction</span>`)
	assert.Contains(t, body, `<mark class="evidence" title="evidence: correction cue (right value unknown)"> wait, 1/2 = 2/4 so 3/4.</mark>`)
	assert.Contains(t, body, `<span class="behaviour b-restart"`)
	assert.Contains(t, body, "behaviour: restart detected")

	res, body = get(t, h, "/problems?behaviour=restart")
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	assert.Contains(t, body, `class="pid" href="problem?behaviour=restart&amp;id=p2"`)
	assert.NotContains(t, body, `id=p1"`)
	assert.Contains(t, body, `<option selected>restart</option>`)
	res, body = get(t, h, "/problems?behaviour=propagated")
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	assert.NotContains(t, body, `id=p2"`)
	res, body = get(t, h, "/problems?behaviour=fixed")
	assert.Equal(t, http.StatusBadRequest, res.StatusCode)
	assert.Contains(t, body, "behaviour=")
}

func TestTextPartsSplitAroundTheEvidence(t *testing.T) {
	c := Continuation{Call: Call{Text: "abcdef"}, Evidence: [2]int{2, 4}}
	assert.Equal(t, []TextPart{{Text: "ab"}, {Text: "cd", Evidence: true}, {Text: "ef"}}, c.TextParts())
	c.Evidence = [2]int{0, 6}
	assert.Equal(t, []TextPart{{Text: "abcdef", Evidence: true}}, c.TextParts())
	c.Evidence = [2]int{3, 99}
	assert.Equal(t, []TextPart{{Text: "abcdef"}}, c.TextParts(), "a span beyond the text marks nothing")
}
