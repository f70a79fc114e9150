package viewer

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/dataset"
	"github.com/rebound-lab/rebound/providers/sim"
	"github.com/rebound-lab/rebound/recovery"
)

// writeStudy runs a small two-model study on the simulator into dir.
func writeStudy(t *testing.T, dir string) {
	t.Helper()
	problems := dataset.GSM8KTest()[:8]
	wc, a, b := sim.Weak(), sim.Strong(), sim.Strong()
	a.Name, b.Name, b.RecoverBase = "A", "B", 0.05
	s := recovery.Study{Dir: dir, Base: recovery.Config{Problems: problems, Weak: sim.New(wc, problems...), WeakModel: "sim:weak",
		Samples: 3, Continuations: 2, Concurrency: 2},
		Models: []recovery.StudyModel{{Spec: "sim:A", Completer: sim.New(a, problems...)}, {Spec: "sim:B", Completer: sim.New(b, problems...)}}}
	_, err := recovery.RunStudy(context.Background(), s)
	require.NoError(t, err)
}

func getOK(t *testing.T, h http.Handler, target string) string {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	require.Equal(t, http.StatusOK, rec.Code, target)
	b, err := io.ReadAll(rec.Body)
	require.NoError(t, err)
	return string(b)
}

func TestAStudyOverviewShowsTheComparisonAndAProblemShowsEveryModelsContinuationsOfTheSamePrefix(t *testing.T) {
	dir := t.TempDir()
	writeStudy(t, dir)
	require.True(t, IsStudy(dir))
	src, err := Open(dir)
	require.NoError(t, err)
	defer src.Close()
	st, ok := src.(*Study)
	require.True(t, ok, "a study directory opens as a Study")
	h := New(st)

	ov := getOK(t, h, "/")
	for _, want := range []string{`id="comparison"`, `id="latent"`, "medium (true 0.2–0.8)", `id="paired"`, "sim:A − sim:B", recovery.PlotStudyPaired + ".svg",
		recovery.TidyContinuationsParquet, recovery.StudyMD} {
		assert.Contains(t, ov, want)
	}
	// The study plot and the export are served.
	assert.Contains(t, getOK(t, h, "/files/"+recovery.PlotStudyRecoveryVsPass+".svg"), "<svg")
	_ = getOK(t, h, "/files/"+recovery.TidyContinuationsCSV)

	list, err := st.ProblemList(context.Background())
	require.NoError(t, err)
	require.NotEmpty(t, list)
	var shown int
	for _, p := range list {
		prob, err := st.Problem(context.Background(), p.ID)
		require.NoError(t, err)
		for _, pre := range prob.Prefixes {
			if pre.Strategy != recovery.StrategyWeak {
				continue
			}
			groups := byModel(pre.Continuations)
			require.Len(t, groups, 2, "problem %s: both models continued the shared prefix", p.ID)
			assert.Equal(t, "sim:A", groups[0].Model)
			assert.Equal(t, "sim:B", groups[1].Model)
			page := getOK(t, h, "/problem?id="+url.QueryEscape(p.ID))
			assert.Equal(t, 1, strings.Count(page, `class="side-by-side"`), "one shared prefix, shown once, side by side")
			assert.Contains(t, page, `<h5 class="model-name">sim:B`)
			shown++
		}
	}
	assert.Positive(t, shown)
}

func TestAStudyFileOutsideTheStudyRootIsNotServed(t *testing.T) {
	dir := t.TempDir()
	writeStudy(t, dir)
	st, err := OpenStudy(dir)
	require.NoError(t, err)
	defer st.Close()
	for _, name := range []string{"../x", "models/sim_A/run.db", ".hidden"} {
		_, err := st.File(context.Background(), name)
		assert.ErrorIs(t, err, ErrNotFound, name)
	}
}
