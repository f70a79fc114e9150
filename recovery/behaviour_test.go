package recovery

import (
	"bytes"
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/behaviour"
	"github.com/rebound-lab/rebound/dataset"
	"github.com/rebound-lab/rebound/perturb"
	"github.com/rebound-lab/rebound/providers/sim"
	"github.com/rebound-lab/rebound/verify"
)

// TestRunLabelsBehaviours runs the harness on the simulator with known
// behaviours and an injected-error strategy: every continuation is
// labelled in run.db, summary.json carries the behaviour split (whose
// counts add up to the continuations) and report.md its section.
func TestRunLabelsBehaviours(t *testing.T) {
	problems := dataset.GSM8KTest()[:30]
	scfg := sim.Strong()
	scfg.Behaviours = sim.DefaultBehaviours()
	dir := t.TempDir()
	cfg := Config{Dir: dir, Problems: problems, Strong: sim.New(scfg, problems...), Weak: sim.New(sim.Weak(), problems...),
		StrongModel: "sim:strong", WeakModel: "sim:weak", Strategies: []string{StrategyInject}, Samples: 3, Continuations: 3,
		Inject: InjectOptions{Magnitude: "large", KeepAfter: 1}}
	sum, err := Run(context.Background(), cfg)
	require.NoError(t, err)
	require.NotNil(t, sum.Behaviour)
	bs := sum.Behaviour
	assert.Equal(t, sum.Overall.Continuations, bs.Labelled)
	assert.Zero(t, bs.Unlabelled)
	total := 0
	for _, l := range behaviour.Labels {
		total += bs.Overall.Counts[string(l)]
		ci := bs.Overall.CI[string(l)]
		r := bs.Overall.Rates[string(l)]
		assert.True(t, ci[0] <= r && r <= ci[1], "%s %v in %v", l, r, ci)
	}
	assert.Equal(t, bs.Labelled, total)
	require.Len(t, bs.ByMagnitude, 1)
	assert.Equal(t, "large", bs.ByMagnitude[0].Name)
	require.NotEmpty(t, bs.ByStepsAfter)
	assert.Equal(t, "injected", bs.ByLocus[0].Name)
	require.Len(t, bs.ByStrategy, 1)
	assert.Equal(t, bs.Labelled, bs.ByStrategy[0].Overall.Continuations)

	st, err := OpenStore(dir)
	require.NoError(t, err)
	defer st.Close()
	labels, err := st.Behaviours(context.Background(), "")
	require.NoError(t, err)
	assert.Len(t, labels, bs.Labelled)
	conts, err := st.Continuations(context.Background(), "")
	require.NoError(t, err)
	for _, c := range conts {
		r := labels[BehaviourKey{c.ProblemID, c.Prefix, c.Sample}]
		require.True(t, r.Label.Valid())
		require.True(t, r.Evidence.Start >= 0 && r.Evidence.End <= len(c.Response), "%+v", r.Evidence)
	}
	n, err := LabelBehaviours(context.Background(), st, false)
	require.NoError(t, err)
	assert.Zero(t, n, "labelled rows are not labelled again")
	n, err = LabelBehaviours(context.Background(), st, true)
	require.NoError(t, err)
	assert.Equal(t, bs.Labelled, n)
	// The labels Continue wrote as it stored each continuation are the
	// ones the pass gives the stored rows.
	relabelled, err := st.Behaviours(context.Background(), "")
	require.NoError(t, err)
	assert.Equal(t, labels, relabelled)

	var buf bytes.Buffer
	require.NoError(t, sum.WriteJSON(&buf))
	assert.Contains(t, buf.String(), `"behaviour": {`)
	back, err := ReadSummary(&buf)
	require.NoError(t, err)
	assert.Equal(t, bs.Overall.Counts, back.Behaviour.Overall.Counts)
	md := sum.Markdown("t")
	assert.Contains(t, md, "## How continuations recovered (behaviour)")
	assert.Contains(t, md, "### Injected errors by magnitude")
	assert.True(t, strings.Index(md, "behaviour)") < strings.Index(md, "## Cost by stage"))
}

// TestContinueLabelsWhatItStores runs the Continue stage alone with a
// store: every verified continuation is labelled as it is written (no
// LabelBehaviours pass), a failed one is not, and a continuation written
// again without a label loses the old one (a label follows its text).
func TestContinueLabelsWhatItStores(t *testing.T) {
	ctx := context.Background()
	problems := dataset.GSM8KTest()[:4]
	st, err := OpenStore(t.TempDir())
	require.NoError(t, err)
	defer st.Close()
	require.NoError(t, st.PutProblems(ctx, problems))
	var items []PrefixResult
	for _, p := range problems {
		lines := strings.SplitAfter(p.Solution, "\n")
		items = append(items, PrefixResult{Problem: p, Strategy: StrategyInject,
			Prefix: perturb.Prefix{Text: lines[0], StepsKept: 1, StepsTotal: len(lines), Strategy: StrategyInject}})
		require.NoError(t, st.PutPrefix(ctx, Prefix{ProblemID: p.ID, Strategy: StrategyInject, Text: lines[0],
			StepsKept: 1, StepsTotal: len(lines)}))
	}
	scfg := sim.Strong()
	scfg.Behaviours = sim.DefaultBehaviours()
	stage := &Continue{Exec: Exec{Store: st}, Model: "sim:strong", Completer: sim.New(scfg, problems...),
		Verifier: verify.NewMath(), K: 2}
	out, err := stage.Run(ctx, items)
	require.NoError(t, err)
	require.Len(t, out, len(problems))
	labels, err := st.Behaviours(ctx, "")
	require.NoError(t, err)
	assert.Len(t, labels, 2*len(problems))
	for k, r := range labels {
		assert.True(t, r.Label.Valid(), "%v: %+v", k, r)
	}
	n, err := LabelBehaviours(ctx, st, false)
	require.NoError(t, err)
	assert.Zero(t, n, "nothing left for the pass")

	row := out[0].Samples[0]
	row.Response, row.Request = "A new text.", "{}"
	require.NoError(t, st.PutSample(ctx, row))
	labels, err = st.Behaviours(ctx, problems[0].ID)
	require.NoError(t, err)
	_, ok := labels[BehaviourKey{problems[0].ID, StrategyInject, 0}]
	assert.False(t, ok, "a row written again without a label keeps no stale one")
	n, err = LabelBehaviours(ctx, st, false)
	require.NoError(t, err)
	assert.Equal(t, 1, n, "the pass labels it")
}

// TestBehaviourMigrationIsAdditive opens a database made before the
// behaviour columns existed: OpenStore adds them and keeps the rows.
func TestBehaviourMigrationIsAdditive(t *testing.T) {
	dir := t.TempDir()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, StoreFile))
	require.NoError(t, err)
	_, err = db.Exec(schema)
	require.NoError(t, err)
	_, err = db.Exec(`INSERT INTO samples(stage, problem_id, prefix, sample, response) VALUES('continue', 'p', 'inject', 0, 'x')`)
	require.NoError(t, err)
	require.NoError(t, db.Close())
	for range 2 { // twice: idempotent
		st, err := OpenStore(dir)
		require.NoError(t, err)
		require.NoError(t, st.PutBehaviour(context.Background(), BehaviourKey{"p", "inject", 0},
			behaviour.Result{Label: behaviour.Propagated, Rule: "r", Locus: behaviour.Injected, Evidence: behaviour.Span{Start: 0, End: 1}}))
		got, err := st.Behaviours(context.Background(), "p")
		require.NoError(t, err)
		assert.Equal(t, behaviour.Propagated, got[BehaviourKey{"p", "inject", 0}].Label)
		require.NoError(t, st.Close())
	}
}
