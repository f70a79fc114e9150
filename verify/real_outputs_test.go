package verify

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// realOutput is one labelled model response of testdata/real_outputs.jsonl
// (sources, licenses and labelling method in testdata/README.md).
type realOutput struct {
	ID            string `json:"id"`
	Source        string `json:"source"`
	License       string `json:"license"`
	Model         string `json:"model"`
	Format        string `json:"format"`
	Reference     string `json:"reference"`
	Response      string `json:"response"`
	Label         *bool  `json:"label"` // nil: undecided (ambiguous), not counted
	LabelBasis    string `json:"label_basis"`
	UpstreamLabel *bool  `json:"upstream_label"`
	Note          string `json:"note"`
	Stratum       string `json:"stratum"` // random, disagreements, held-out-disagreements
}

// TestRealOutputsAgreeWithCheckedLabels measures agreement with the checked
// labels on real responses of 56 models in three formats (JSON answer
// fields, "Step k:" + "####" traces, "the answer is" chains), and how often
// each extraction rule fired.
func TestRealOutputsAgreeWithCheckedLabels(t *testing.T) {
	rows := readJSONL[realOutput](t, "testdata/real_outputs.jsonl")
	require.GreaterOrEqual(t, len(rows), 500)
	m := NewMath()
	decided, agree, falseAccepts, falseRejects, upstreamAgree, upstreamN := 0, 0, 0, 0, 0, 0
	rules := map[string]int{}
	type tally struct{ n, agree int }
	strata := map[string]*tally{}
	models := map[string]bool{}
	for _, r := range rows {
		require.NotEmpty(t, r.Source, r.ID)
		require.NotEmpty(t, r.License, r.ID)
		models[r.Model] = true
		v, err := m.Verify(context.Background(), r.Reference, r.Response)
		require.NoError(t, err)
		rules[v.Rule]++
		if r.UpstreamLabel != nil {
			upstreamN++
			if *r.UpstreamLabel == v.Correct {
				upstreamAgree++
			}
		}
		if r.Label == nil {
			continue
		}
		decided++
		st := strata[r.Stratum]
		if st == nil {
			st = &tally{}
			strata[r.Stratum] = st
		}
		st.n++
		if v.Correct == *r.Label {
			st.agree++
		}
		switch {
		case v.Correct == *r.Label:
			agree++
		case v.Correct:
			falseAccepts++
			t.Errorf("false accept %s: %s", r.ID, v.Reason)
		default:
			falseRejects++
			t.Errorf("false reject %s: %s", r.ID, v.Reason)
		}
	}
	rate := float64(agree) / float64(decided)
	t.Logf("real outputs: %d records from %d models, %d decided: agreement %d/%d = %.2f%%, %d false accepts, %d false rejects",
		len(rows), len(models), decided, agree, decided, 100*rate, falseAccepts, falseRejects)
	t.Logf("agreement with the sources' own labels (before review): %d/%d = %.2f%%", upstreamAgree, upstreamN, 100*float64(upstreamAgree)/float64(upstreamN))
	t.Logf("extraction rules: %v", rules)
	for _, name := range []string{"random", "disagreements", "held-out-disagreements"} {
		if st := strata[name]; st != nil {
			t.Logf("stratum %s: %d/%d", name, st.agree, st.n)
		}
	}
	assert.GreaterOrEqual(t, rate, 0.99)
	assert.LessOrEqual(t, falseAccepts, 2)
	assert.Greater(t, rules[SourceJSON], 300, "the JSON answer field rule must carry the JSON-format responses")
}
