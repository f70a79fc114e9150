package viewer

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"github.com/rebound-lab/rebound/dataset"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The browser tests drive Debian's chromium headless through chromedp. One
// browser serves the whole package (each test opens its own tab). Without
// chromium they skip, unless CI=true, where they fail.

var updateScreenshot = flag.Bool("update-screenshot", false, "write the problem page's screenshot to docs/viewer.png")

var shared struct {
	once    sync.Once
	ctx     context.Context
	cancel  context.CancelFunc
	dataDir string
	err     error
	skip    string
}

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if shared.cancel != nil {
		shared.cancel()
	}
	if shared.dataDir != "" {
		// Chromium's children may still write for a moment after it stops.
		for range 50 {
			if os.RemoveAll(shared.dataDir) == nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	os.Exit(code)
}

// chromiumPath finds the browser: $CHROMIUM, then the usual names.
func chromiumPath() string {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// browserTab returns a fresh tab of the shared browser, closed when t ends.
func browserTab(t *testing.T) context.Context {
	t.Helper()
	shared.once.Do(func() {
		path := chromiumPath()
		if path == "" {
			shared.skip = "viewer browser tests: chromium not found (install it with `apt-get install -y chromium` " +
				"or set CHROMIUM=/path/to/browser)"
			return
		}
		dir, err := os.MkdirTemp("", "rebound-viewer-chromium-")
		if err != nil {
			shared.err = err
			return
		}
		shared.dataDir = dir
		alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
			chromedp.ExecPath(path),
			chromedp.Headless,
			chromedp.NoSandbox,
			chromedp.DisableGPU,
			chromedp.NoFirstRun,
			chromedp.NoDefaultBrowserCheck,
			chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-sync", true),
			chromedp.Flag("disable-dev-shm-usage", true),
			chromedp.Flag("disable-extensions", true),
			chromedp.Flag("hide-scrollbars", true),
			chromedp.Flag("font-render-hinting", "none"),
			chromedp.WindowSize(1280, 900),
			chromedp.UserDataDir(dir),
		)
		ctx, cancelCtx := chromedp.NewContext(alloc)
		shared.ctx = ctx
		shared.cancel = func() { cancelCtx(); cancelAlloc() }
		// Start the browser now, without a timeout (a timeout here would
		// stop the browser when it expires).
		shared.err = chromedp.Do(ctx)
	})
	if shared.skip != "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true: the browser tests must run, but %s", shared.skip)
		}
		t.Skip(shared.skip)
	}
	require.NoError(t, shared.err, "start chromium")
	ctx, cancel := context.WithTimeout(shared.ctx, 30*time.Second)
	tab, cancelTab := chromedp.NewContext(ctx)
	t.Cleanup(func() { cancelTab(); cancel() })
	require.NoError(t, chromedp.Do(tab, chromedp.EmulateViewport(1280, 900)))
	return tab
}

// console collects the tab's console messages, exceptions and browser log
// entries (CSP violations are logged there).
type console struct {
	mu   sync.Mutex
	msgs []chromedp.ConsoleMessage
}

func watchConsole(t *testing.T, tab context.Context) *console {
	c := &console{}
	ctx, cancel := context.WithCancel(tab)
	msgs := chromedp.Console(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range msgs {
			if err != nil {
				return
			}
			c.mu.Lock()
			c.msgs = append(c.msgs, m)
			c.mu.Unlock()
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return c
}

// problems returns the messages that signal a fault: exceptions, errors and
// CSP reports.
func (c *console) problems() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, m := range c.msgs {
		if m.IsException() || m.Type == chromedp.ConsoleError || strings.Contains(m.Text, "Content Security Policy") {
			out = append(out, m.String())
		}
	}
	return out
}

func (c *console) mentions(s string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range c.msgs {
		if strings.Contains(m.Text, s) {
			return true
		}
	}
	return false
}

func eval[T any](t *testing.T, tab context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(tab, chromedp.Evaluate[T](js))
	require.NoError(t, err, js)
	return v
}

// waitMath waits until viewer.js has rendered the page's math.
func waitMath(t *testing.T, tab context.Context) {
	t.Helper()
	require.NoError(t, chromedp.Do(tab, chromedp.WaitReady(chromedp.CSS(`body[data-math="done"]`))))
}

func newServer(t *testing.T, h http.Handler) *httptest.Server {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func TestBrowserOverviewShowsTheTableAndPlots(t *testing.T) {
	tab := browserTab(t)
	con := watchConsole(t, tab)
	srv := newServer(t, quietHandler(testRun(t, 30)))
	require.NoError(t, chromedp.Do(tab,
		chromedp.Navigate(srv.URL+"/"),
		chromedp.WaitVisible(chromedp.ID("summary")),
	))
	waitMath(t, tab)
	assert.Equal(t, 3, eval[int](t, tab, `document.querySelectorAll("#summary tbody tr").length`))
	assert.Equal(t, "44.0%", eval[string](t, tab, `document.querySelectorAll("#summary tbody tr")[1].querySelector("td.strong").textContent`))
	assert.Greater(t, eval[int](t, tab, `(() => { const i = document.querySelector(".plots img"); return i.complete ? i.naturalWidth : 0 })()`), 100,
		"the SVG plot loads inline")
	assert.Contains(t, eval[string](t, tab, `document.querySelector("#cost").innerText`), "1,855")
	assert.Empty(t, con.problems())
}

// At 1400 px the bucket table fits the page: no horizontal scrolling.
func TestBrowserOverviewTableFitsAt1400px(t *testing.T) {
	tab := browserTab(t)
	require.NoError(t, chromedp.Do(tab, chromedp.EmulateViewport(1400, 900)))
	srv := newServer(t, quietHandler(testRun(t, 30)))
	require.NoError(t, chromedp.Do(tab,
		chromedp.Navigate(srv.URL+"/"),
		chromedp.WaitVisible(chromedp.ID("summary")),
	))
	over := eval[int](t, tab, `(() => { const w = document.querySelector("#summary").closest(".scroll"); return w.scrollWidth - w.clientWidth })()`)
	assert.LessOrEqual(t, over, 0, "the table is %d px wider than its box", over)
}

// A MATH question with an align* environment written in plain text (no
// $…$ around it) is rendered by KaTeX, not shown as raw TeX.
func TestBrowserRendersAlignStarInsideText(t *testing.T) {
	tab := browserTab(t)
	dir := t.TempDir()
	st := writeRun(t, dir)
	ctx := context.Background()
	require.NoError(t, st.PutProblems(ctx, []dataset.Problem{{ID: "p4", Source: "math500", Answer: "3",
		Question: "Solve the system \\begin{align*} x + y &= 5 \\\\ x - y &= 1 \\end{align*} and give $x$."}}))
	require.NoError(t, st.Flush(ctx))
	writeFile(t, filepath.Join(dir, "summary.json"), goodSummary)
	run, err := OpenRun(dir)
	require.NoError(t, err)
	defer run.Close()
	srv := newServer(t, quietHandler(run))
	require.NoError(t, chromedp.Do(tab,
		chromedp.Navigate(srv.URL+"/problem?id=p4"),
		chromedp.WaitVisible(chromedp.ID("question")),
	))
	waitMath(t, tab)
	assert.GreaterOrEqual(t, eval[int](t, tab, `document.querySelectorAll("#question .katex-display, #question .katex").length`), 2,
		"the align* block and $x$ are typeset")
	assert.NotContains(t, eval[string](t, tab, `document.querySelector("#question").innerText`), `\\begin{align*}`,
		"no raw environment left in the text")
}

func TestBrowserListFiltersPagesAndClicksIntoAProblem(t *testing.T) {
	tab := browserTab(t)
	con := watchConsole(t, tab)
	srv := newServer(t, quietHandler(testRun(t, 30), WithPageSize(10)))
	require.NoError(t, chromedp.Do(tab,
		chromedp.Navigate(srv.URL+"/problems"),
		chromedp.WaitVisible(chromedp.ID("problems")),
	))
	waitMath(t, tab)
	assert.Equal(t, 10, eval[int](t, tab, `document.querySelectorAll("#problems tbody tr").length`))
	assert.Greater(t, eval[int](t, tab, `document.querySelectorAll("#problems .q .katex").length`), 3,
		"question snippets render their math")

	// Next page, then filter through the form.
	_, err := chromedp.RunResponse(tab, chromedp.Click(chromedp.CSS(`#pager a[rel="next"]`)))
	require.NoError(t, err)
	assert.Contains(t, eval[string](t, tab, `document.querySelector("#count").textContent`), "Showing 11–20 of 34")
	_, err = chromedp.RunResponse(tab,
		chromedp.SetValue(chromedp.CSS(`select[name="outcome"]`), "partial"),
		chromedp.Click(chromedp.CSS(`#filters button[type="submit"]`)),
	)
	require.NoError(t, err)
	loc, err := chromedp.Run(tab, chromedp.Location())
	require.NoError(t, err)
	assert.Contains(t, loc, "outcome=partial")
	assert.Equal(t, 1, eval[int](t, tab, `document.querySelectorAll("#problems tbody tr").length`))

	// Click into the problem.
	_, err = chromedp.RunResponse(tab, chromedp.Click(chromedp.CSS(`#problems a.pid`)))
	require.NoError(t, err)
	require.NoError(t, chromedp.Do(tab, chromedp.WaitVisible(chromedp.ID("question"))))
	waitMath(t, tab)
	assert.Equal(t, "math500/test/algebra/17", eval[string](t, tab, `document.querySelector("h1.pid").textContent`))
	assert.Empty(t, con.problems())
}

func TestBrowserProblemPageShowsCutVerdictsAndMath(t *testing.T) {
	tab := browserTab(t)
	con := watchConsole(t, tab)
	srv := newServer(t, quietHandler(testRun(t, 0)))
	require.NoError(t, chromedp.Do(tab,
		chromedp.Navigate(srv.URL+"/problem?id=math500%2Ftest%2Falgebra%2F17"),
		chromedp.WaitVisible(chromedp.CSS(".cut")),
	))
	waitMath(t, tab)

	// The cut marker is visible and sits between kept and discarded text.
	require.NoError(t, chromedp.Do(tab, chromedp.WaitVisible(chromedp.CSS(".trace .cut"))))
	assert.Equal(t, "✂ cut · step 3/5", eval[string](t, tab, `document.querySelector(".trace .cut").textContent`))
	assert.True(t, eval[bool](t, tab, `(() => {
		const cut = document.querySelector(".trace .cut");
		return cut.previousElementSibling.classList.contains("kept") && cut.nextElementSibling.classList.contains("rest");
	})()`))
	// Verdicts are visible without expanding anything.
	require.NoError(t, chromedp.Do(tab,
		chromedp.WaitVisible(chromedp.CSS("#samples .verdict.ok")),
		chromedp.WaitVisible(chromedp.CSS("#samples .verdict.bad")),
		chromedp.WaitVisible(chromedp.CSS("#prefixes .verdict.ok")),
		chromedp.WaitVisible(chromedp.CSS("#prefixes .restart")),
	))
	assert.Equal(t, 2, eval[int](t, tab, `document.querySelectorAll("#prefixes details.cont[open]").length`),
		"continuations are open")
	// Math is rendered by KaTeX: in the question, the gold answer's TeX
	// answers, the trace on both sides of the cut, with styles applied
	// (the CSP allows KaTeX's CSSOM styles).
	assert.GreaterOrEqual(t, eval[int](t, tab, `document.querySelectorAll("#question .katex").length`), 3)
	assert.Contains(t, eval[string](t, tab, `document.querySelector("#question .katex annotation").textContent`), `x^2 + \frac{1}{x^2} = 7`)
	assert.GreaterOrEqual(t, eval[int](t, tab, `document.querySelectorAll(".trace .kept .katex").length`), 4)
	assert.GreaterOrEqual(t, eval[int](t, tab, `document.querySelectorAll(".trace .rest .katex").length`), 2)
	assert.GreaterOrEqual(t, eval[int](t, tab, `document.querySelectorAll(".ans .katex").length`), 1, `\sqrt{5} answers render`)
	assert.True(t, eval[bool](t, tab, `(() => { const k = document.querySelector("#question .katex"); return k.getBoundingClientRect().width > 10 })()`))
	assert.True(t, eval[bool](t, tab, `!!document.querySelector("#question .katex .katex-strut") && document.querySelector("#question .katex .katex-strut").style.height !== ""`),
		"KaTeX's inline sizes survive the CSP")
	assert.True(t, eval[bool](t, tab, `document.fonts.check("16px KaTeX_Main")`), "the embedded KaTeX fonts load")
	assert.Empty(t, con.problems())

	shot, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	img, err := png.Decode(bytes.NewReader(shot))
	require.NoError(t, err)
	assert.Equal(t, 1280, img.Bounds().Dx())
	assert.Greater(t, img.Bounds().Dy(), 900)
	out := filepath.Join(t.TempDir(), "viewer.png")
	if *updateScreenshot {
		out = filepath.Join("..", "..", "docs", "viewer.png")
		require.NoError(t, os.MkdirAll(filepath.Dir(out), 0o755))
	}
	require.NoError(t, os.WriteFile(out, shot, 0o644))
	t.Logf("screenshot: %s (%d bytes, %dx%d)", out, len(shot), img.Bounds().Dx(), img.Bounds().Dy())

	// Keyboard navigation: j goes to the next problem.
	_, err = chromedp.RunResponse(tab, chromedp.KeyEvent("j"))
	require.NoError(t, err)
	assert.Equal(t, "gsm8k/test.jsonl:1", eval[string](t, tab, `document.querySelector("h1.pid").textContent`))
	waitMath(t, tab)
	assert.Zero(t, eval[int](t, tab, `document.querySelectorAll("#question .katex").length`),
		"GSM8K dollars stay currency, not math")
	assert.Contains(t, eval[string](t, tab, `document.querySelector("#question").textContent`), "$2 each")
	assert.Equal(t, `\boxed{15}`, eval[string](t, tab, `Array.from(document.querySelectorAll("#samples .text .katex annotation")).map(a => a.textContent).join("|")`),
		"a bare \\boxed{15} outside dollars still renders")
}

func TestBrowserModelOutputCannotRunScript(t *testing.T) {
	tab := browserTab(t)
	con := watchConsole(t, tab)
	srv := newServer(t, quietHandler(testRun(t, 0)))
	// Reach the hostile problem the way a user does: search, then click.
	require.NoError(t, chromedp.Do(tab,
		chromedp.Navigate(srv.URL+"/problems?q=xss"),
		chromedp.WaitVisible(chromedp.ID("problems")),
	))
	waitMath(t, tab)
	_, err := chromedp.RunResponse(tab, chromedp.Click(chromedp.CSS(`#problems a.pid`)))
	require.NoError(t, err)
	require.NoError(t, chromedp.Do(tab, chromedp.WaitVisible(chromedp.ID("question"))))
	waitMath(t, tab)
	// Give an onerror handler every chance to fire had an <img> been made.
	time.Sleep(300 * time.Millisecond)

	assert.Equal(t, xssProblem, eval[string](t, tab, `document.querySelector("h1.pid").textContent`),
		"the id round-trips through the URL")
	assert.Equal(t, "undefined", eval[string](t, tab, `typeof window.__pwned`), "no payload executed")
	assert.Equal(t, "Problem "+xssProblem+" · run-2026-11-27 · Rebound", eval[string](t, tab, `document.title`),
		"the title shows the hostile id as text and nothing changed it")
	assert.Zero(t, eval[int](t, tab, `document.querySelectorAll("main script, main img, main svg, main iframe, [onerror], [onload]").length`),
		"no element was made from model output")
	assert.Zero(t, eval[int](t, tab, `document.querySelectorAll('a[href^="javascript"], [href*="__pwned"]').length`),
		"KaTeX with trust: false makes no link from \\href")
	// The payloads are shown as text.
	body := eval[string](t, tab, `document.querySelector("main").innerText`)
	for _, payload := range []string{xssScript, xssImg, `<svg onload="window.__pwned = 4">`, xssProblem} {
		assert.Contains(t, body, payload)
	}
	assert.Equal(t, "2 "+xssScript, eval[string](t, tab, `document.querySelector("#gold").textContent`))
	// Nothing needed blocking: the CSP never fired, because escaping held.
	assert.Empty(t, con.problems())
}

func TestBrowserCSPBlocksInlineScriptAsDefenceInDepth(t *testing.T) {
	// A page that (unlike the viewer's) contains raw inline script, served
	// with the viewer's headers: the policy must stop it, and the console
	// watcher must notice, which shows the clean-console checks above can
	// fail.
	tab := browserTab(t)
	con := watchConsole(t, tab)
	viewer := quietHandler(testRun(t, 0))
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/raw" {
			viewer.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Security-Policy", ContentSecurityPolicy)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><title>raw</title><body><p id="p">x</p>`+xssScript+xssImg+`</body>`)
	}))
	require.NoError(t, chromedp.Do(tab, chromedp.Navigate(srv.URL+"/raw"), chromedp.WaitReady(chromedp.ID("p"))))
	time.Sleep(300 * time.Millisecond)
	assert.Equal(t, "undefined", eval[string](t, tab, `typeof window.__pwned`))
	assert.Equal(t, "raw", eval[string](t, tab, `document.title`))
	require.Eventually(t, func() bool { return con.mentions("Content Security Policy") }, 5*time.Second, 50*time.Millisecond,
		"the browser reports the blocked inline script")
	assert.NotEmpty(t, con.problems())
}
