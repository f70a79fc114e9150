package viewer

import (
	"context"
	"net/url"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The study pages in a real browser: the overview shows the comparison, the
// latent rows, the paired differences and the study plots (loaded); a
// problem page shows the shared prefix once, with each model's
// continuations in its own column beside the other's.
func TestBrowserStudyOverviewAndSideBySideContinuations(t *testing.T) {
	dir := t.TempDir()
	writeStudy(t, dir) // before the tab: its 30 s deadline starts with it
	st, err := OpenStudy(dir)
	require.NoError(t, err)
	defer st.Close()
	srv := newServer(t, quietHandler(st))
	tab := browserTab(t)
	con := watchConsole(t, tab)

	require.NoError(t, chromedp.Do(tab,
		chromedp.Navigate(srv.URL+"/"),
		chromedp.WaitVisible(chromedp.ID("comparison")),
	))
	waitMath(t, tab)
	// Two models × one strategy × (buckets present + overall).
	assert.GreaterOrEqual(t, eval[int](t, tab, `document.querySelectorAll("#comparison tbody tr").length`), 4)
	assert.Equal(t, 6, eval[int](t, tab, `document.querySelectorAll("#latent tbody tr").length`), "3 latent buckets per model")
	assert.Equal(t, "sim:A − sim:B", eval[string](t, tab, `document.querySelector("#paired tbody tr th").textContent`))
	plots := eval[[]int](t, tab, `Array.from(document.querySelectorAll(".plots img")).map(i => i.complete ? i.naturalWidth : 0)`)
	require.Len(t, plots, 4, "the four study plots")
	for i, w := range plots {
		assert.Greater(t, w, 100, "study plot %d loads", i)
	}

	list, err := st.ProblemList(context.Background())
	require.NoError(t, err)
	require.NotEmpty(t, list)
	id := list[0].ID
	require.NoError(t, chromedp.Do(tab,
		chromedp.Navigate(srv.URL+"/problem?id="+url.QueryEscape(id)),
		chromedp.WaitVisible(chromedp.ID("prefixes")),
	))
	waitMath(t, tab)
	assert.Equal(t, 1, eval[int](t, tab, `document.querySelectorAll("article.prefix").length`),
		"the shared weak prefix is shown once, not once per model")
	type col struct {
		Model               string
		Left, Right, Top    float64
		Items, OthersModels int
	}
	cols := eval[[]col](t, tab, `Array.from(document.querySelectorAll("article.prefix .side-by-side > .model-col")).map(c => {
		const r = c.getBoundingClientRect();
		const model = c.querySelector("h5.model-name").firstChild.textContent.trim();
		const metas = Array.from(c.querySelectorAll("details.cont > summary .meta"));
		return {Model: model, Left: r.left, Right: r.right, Top: r.top, Items: metas.length,
			OthersModels: metas.filter(m => !m.textContent.trim().startsWith(model + " ")).length};
	})`)
	require.Len(t, cols, 2, "one column per model")
	assert.Equal(t, "sim:A", cols[0].Model)
	assert.Equal(t, "sim:B", cols[1].Model)
	for _, c := range cols {
		assert.Equal(t, 2, c.Items, "%s: its K=2 continuations", c.Model)
		assert.Zero(t, c.OthersModels, "%s's column holds only its own continuations", c.Model)
	}
	assert.InDelta(t, cols[0].Top, cols[1].Top, 1, "the columns start at the same height")
	assert.GreaterOrEqual(t, cols[1].Left, cols[0].Right, "the second model's column is beside the first, not below it")
	assert.Empty(t, con.problems())
}
