package viewer

import (
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func get(t *testing.T, h http.Handler, target string) (*http.Response, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	res := rec.Result()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res, string(b)
}

func quietHandler(src Source, opts ...Option) http.Handler {
	return New(src, append([]Option{WithErrorLog(log.New(io.Discard, "", 0))}, opts...)...)
}

// rowIDs extracts the problem ids linked from a list page, in order.
var pidLink = regexp.MustCompile(`class="pid" href="[^"]*id=([^"&]+)"`)

func rowIDs(t *testing.T, body string) []string {
	t.Helper()
	var ids []string
	for _, m := range pidLink.FindAllStringSubmatch(body, -1) {
		id, err := url.QueryUnescape(strings.ReplaceAll(m[1], "&amp;", "&"))
		require.NoError(t, err)
		ids = append(ids, id)
	}
	return ids
}

func TestEveryResponseCarriesTheSecurityHeaders(t *testing.T) {
	h := quietHandler(testRun(t, 0))
	for _, target := range []string{"/", "/problems", "/problem?id=gsm8k/test.jsonl:1", "/files/recovery_by_bucket.svg",
		"/static/viewer.js", "/problem?id=nope", "/problems?page=x"} {
		res, _ := get(t, h, target)
		assert.Equal(t, ContentSecurityPolicy, res.Header.Get("Content-Security-Policy"), target)
		assert.Equal(t, "nosniff", res.Header.Get("X-Content-Type-Options"), target)
	}
	assert.Contains(t, ContentSecurityPolicy, "script-src 'self';", "scripts only from the viewer: no inline script, no eval")
	assert.Contains(t, ContentSecurityPolicy, "default-src 'none'")
	assert.NotContains(t, ContentSecurityPolicy, "unsafe-eval")
}

func TestOverviewShowsTheSummaryTablePlotsAndCost(t *testing.T) {
	res, body := get(t, quietHandler(testRun(t, 0)), "/")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "text/html; charset=utf-8", res.Header.Get("Content-Type"))
	for _, want := range []string{
		`<a href="problems?bucket=hard">hard</a>`, `<a href="problems?bucket=medium">medium</a>`,
		"44.0%", "33.0% – 56.0%", "0.80", "too_easy: 12", "1,855", "512,345",
		`<img src="files/recovery_by_bucket.svg"`, `href="files/report.md"`, "sim:strong", "0.75",
	} {
		assert.Contains(t, body, want)
	}
	assert.Contains(t, body, "<td class=\"num\">—</td>", "an undefined rate shows as a dash")
}

func TestOverviewShowsEachStrategyApartOnlyWhenThereAreSeveral(t *testing.T) {
	row := func(name string, recovered int, rate float64) Bucket {
		return Bucket{Name: name, Problems: 4, StrongPassRate: 0.5, WeakPassRate: 0.25, Continuations: 10,
			Recovered: recovered, RecoveryRate: rate, RecoveryCI: [2]float64{0.1, 0.9}, NormalizedRecovery: 1,
			RestartRate: 0}
	}
	one := Overview{Title: "r", HasSummary: true, Buckets: []Bucket{row("hard", 3, 0.3)}, Overall: row("", 3, 0.3),
		ByStrategy: []StrategyTable{{Strategy: "weak", Buckets: []Bucket{row("hard", 3, 0.3)}, Overall: row("", 3, 0.3)}}}
	s, err := NewStatic(one, nil, nil)
	require.NoError(t, err)
	_, body := get(t, quietHandler(s), "/")
	assert.NotContains(t, body, `id="by-strategy"`, "one strategy: the pooled table says it all")

	two := one
	two.ByStrategy = append(two.ByStrategy, StrategyTable{Strategy: "onpolicy<b>",
		Buckets: []Bucket{row("hard", 7, 0.7)}, Overall: row("", 7, 0.7)})
	s, err = NewStatic(two, nil, nil)
	require.NoError(t, err)
	_, body = get(t, quietHandler(s), "/")
	assert.Contains(t, body, `id="by-strategy"`)
	assert.Contains(t, body, "<h3>weak</h3>")
	assert.Contains(t, body, "<h3>onpolicy&lt;b&gt;</h3>", "strategy names are escaped")
	assert.Contains(t, body, "70.0%")
}

func TestOverviewWithoutSummarySaysSo(t *testing.T) {
	s, err := NewStatic(Overview{Title: "fresh"}, nil, nil)
	require.NoError(t, err)
	_, body := get(t, quietHandler(s), "/")
	assert.Contains(t, body, "No summary yet")
	assert.NotContains(t, body, `id="summary"`)
	_, body = get(t, quietHandler(s), "/problems")
	assert.Contains(t, body, "the run has no problems yet")
}

func TestListFiltersSortsAndPages(t *testing.T) {
	h := quietHandler(testRun(t, 30), WithPageSize(10))
	cases := []struct {
		name  string
		query string
		check func(t *testing.T, ids []string, body string)
	}{
		{"the first page shows the page size in run order", "", func(t *testing.T, ids []string, body string) {
			require.Len(t, ids, 10)
			assert.Equal(t, "math500/test/algebra/17", ids[0])
			assert.Contains(t, body, "Showing 1–10 of 34 problems")
			assert.Contains(t, body, "page 1 of 4")
		}},
		{"the last page holds the remainder", "page=4", func(t *testing.T, ids []string, body string) {
			assert.Equal(t, []string{"filler/0026", "filler/0027", "filler/0028", "filler/0029"}, ids)
			assert.Contains(t, body, `rel="prev"`)
			assert.NotContains(t, body, `rel="next"`)
		}},
		{"a page past the end shows the last page", "page=99", func(t *testing.T, ids []string, body string) {
			assert.Len(t, ids, 4)
		}},
		{"bucket filter keeps only that bucket", "bucket=hard&size=100", func(t *testing.T, ids []string, body string) {
			assert.Len(t, ids, 11) // xss + fillers 0,3,...,27
			assert.Contains(t, ids, xssProblem)
			assert.Contains(t, body, "matching (34 in the run)")
		}},
		{"outcome filter finds the set-aside problem", "outcome=set-aside", func(t *testing.T, ids []string, body string) {
			assert.Equal(t, []string{"math500/test/number_theory/3"}, ids)
		}},
		{"outcome partial finds the half-recovered problem", "outcome=partial", func(t *testing.T, ids []string, body string) {
			assert.Equal(t, []string{"math500/test/algebra/17"}, ids)
		}},
		{"restart filter keeps problems with a restart", "restart=yes&size=100", func(t *testing.T, ids []string, body string) {
			assert.Equal(t, []string{"math500/test/algebra/17", xssProblem, "filler/0000", "filler/0004", "filler/0008",
				"filler/0012", "filler/0016", "filler/0020", "filler/0024", "filler/0028"}, ids)
		}},
		{"strategy filter", "strategy=onpolicy", func(t *testing.T, ids []string, body string) {
			assert.Equal(t, []string{"gsm8k/test.jsonl:1"}, ids)
		}},
		{"pass-rate range in percent", "pmin=50&pmax=70", func(t *testing.T, ids []string, body string) {
			assert.Equal(t, []string{"math500/test/algebra/17"}, ids, "2/3 strong correct = 66.7%")
		}},
		{"text search is case-insensitive over question and id", "q=JANET", func(t *testing.T, ids []string, body string) {
			assert.Equal(t, []string{"gsm8k/test.jsonl:1"}, ids)
		}},
		{"search matching nothing says so", "q=zebra", func(t *testing.T, ids []string, body string) {
			assert.Empty(t, ids)
			assert.Contains(t, body, "No problem matches")
		}},
		{"sort by id descending", "sort=id&desc=1&size=3", func(t *testing.T, ids []string, body string) {
			assert.Equal(t, []string{"xss/\"><script>window.__pwned=6</script>", "math500/test/number_theory/3", "math500/test/algebra/17"}, ids)
		}},
		{"sort by recovery puts problems without continuations last", "sort=recovery&size=100", func(t *testing.T, ids []string, body string) {
			assert.Equal(t, []string{xssProblem, "filler/0000"}, ids[:2], "0/1 recovered sorts first, ties in run order")
			assert.Equal(t, "math500/test/number_theory/3", ids[len(ids)-16], "first of the 16 without continuations")
			assert.Equal(t, "filler/0029", ids[len(ids)-1])
		}},
		{"sort by bucket follows the overview's order, not the alphabet", "sort=bucket&size=100", func(t *testing.T, ids []string, body string) {
			assert.Equal(t, xssProblem, ids[0], "hard first")
			assert.Equal(t, "filler/0029", ids[len(ids)-1], "easy last")
			assert.Equal(t, "math500/test/algebra/17", ids[11], "after the 11 hard ones")
		}},
		{"filters combine", "bucket=hard&restart=no&strategy=inject", func(t *testing.T, ids []string, body string) {
			assert.Equal(t, []string{"filler/0006", "filler/0018"}, ids)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, body := get(t, h, "/problems?"+c.query)
			require.Equal(t, http.StatusOK, res.StatusCode, body)
			c.check(t, rowIDs(t, body), body)
		})
	}
}

func TestListLinksKeepTheFiltersAndSortToggles(t *testing.T) {
	h := quietHandler(testRun(t, 30), WithPageSize(10))
	_, body := get(t, h, "/problems?bucket=hard&sort=pass")
	assert.Contains(t, body, `href="problems?bucket=hard&amp;page=2&amp;sort=pass" rel="next"`)
	assert.Contains(t, body, `href="problems?bucket=hard&amp;desc=1&amp;sort=pass">Strong <span class="arrow">▲</span>`,
		"clicking the sorted column reverses it")
	assert.Contains(t, body, `href="problem?bucket=hard&amp;sort=pass&amp;id=filler/0000"`,
		"problem links carry the list context for prev/next")
	assert.Contains(t, body, `<option selected>hard</option>`)
}

func TestBadListParametersAreRejectedNamingTheParameter(t *testing.T) {
	h := quietHandler(testRun(t, 0))
	for q, want := range map[string]string{
		"page=0":            "page",
		"page=abc":          "page",
		"size=100000":       "size",
		"sort=bogus":        "sort",
		"outcome=won":       "outcome",
		"restart=maybe":     "restart",
		"pmin=150":          "pmin",
		"pmax=NaN":          "pmax",
		"desc=yes":          "desc",
		"pmin=%3Cscript%3E": "pmin",
	} {
		res, body := get(t, h, "/problems?"+q)
		assert.Equal(t, http.StatusBadRequest, res.StatusCode, q)
		assert.Contains(t, body, "query parameter "+want, q)
		assert.NotContains(t, body, "<script>", q)
	}
}

func TestProblemPageShowsEverything(t *testing.T) {
	h := quietHandler(testRun(t, 0))
	res, body := get(t, h, "/problem?id="+url.QueryEscape("math500/test/algebra/17"))
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	for _, want := range []string{
		"If $x^2 &#43; \\frac{1}{x^2} = 7$", // the question, raw TeX for KaTeX
		`<span class="tex" id="gold">3</span>`,
		"Reference solution",
		`<meter min="0" max="1" value="0.71">`,
		"Strong model <span class=\"muted\">(3 samples)</span>",
		"Weak model <span class=\"muted\">(2 samples)</span>",
		`<span class="verdict ok">✓ correct</span>`,
		`<span class="verdict bad">✗ wrong</span>`,
		`<span class="tex">\sqrt{5}</span>`,
		`<span class="cut" title="cut after step 3 of 5">✂ cut · step 3/5</span>`,
		"<span class=\"rest\">\nStep 4: Since $x &gt; 0$",
		`<span class="kept err" title="the known error: step 3">Step 3: Hmm, so $s^2 = 7 - 2 = 5$ and \(s = \sqrt{5}\).</span>`,
		"the known error (step 3)",
		"known error in step 3",
		"↺ restarted",
		"prefill native",
		"120 in / 200 out tokens",
		"$0.00042",
		`<span class="chip meta-chip">tries: 2</span>`,
		`data-dollar-math="true"`,
		"1 of 4", `rel="next"`,
	} {
		assert.Contains(t, body, want)
	}
	// The kept text ends exactly where the cut marker starts.
	assert.Contains(t, body, "and \\(s = \\sqrt{5}\\).</span><span class=\"cut\"")
}

func TestGSM8KPagesTreatDollarsAsCurrency(t *testing.T) {
	_, body := get(t, quietHandler(testRun(t, 0)), "/problem?id="+url.QueryEscape("gsm8k/test.jsonl:1"))
	assert.Contains(t, body, `data-dollar-math="false"`)
	_, body = get(t, quietHandler(testRun(t, 0), WithDollarMath(true)), "/problem?id="+url.QueryEscape("gsm8k/test.jsonl:1"))
	assert.Contains(t, body, `data-dollar-math="true"`, "the option overrides the default")
}

func TestProblemPageEscapesModelOutput(t *testing.T) {
	_, body := get(t, quietHandler(testRun(t, 0)), "/problem?id="+url.QueryEscape(xssProblem))
	assert.NotContains(t, body, "<script>window")
	assert.NotContains(t, body, "<img src=x")
	assert.NotContains(t, body, "<svg onload")
	assert.Contains(t, body, "&lt;script&gt;window.__pwned = 1;")
	assert.Contains(t, body, "&lt;img src=x onerror=")
	// Only the layout's own three script tags exist.
	assert.Equal(t, 3, strings.Count(body, "<script"))
}

func TestSetAsideProblemExplainsWhy(t *testing.T) {
	_, body := get(t, quietHandler(testRun(t, 0)), "/problem?id="+url.QueryEscape("math500/test/number_theory/3"))
	assert.Contains(t, body, "Set aside: weak: too easy")
	assert.Contains(t, body, "No prefix was built")
	assert.Contains(t, body, `o-set-aside`)
}

func TestProblemPageErrors(t *testing.T) {
	h := quietHandler(testRun(t, 0))
	res, body := get(t, h, "/problem?id=nope")
	assert.Equal(t, http.StatusNotFound, res.StatusCode)
	assert.Contains(t, body, `problem &#34;nope&#34;`)
	res, body = get(t, h, "/problem")
	assert.Equal(t, http.StatusBadRequest, res.StatusCode)
	assert.Contains(t, body, "query parameter id is missing")
	res, _ = get(t, h, "/problem?id=gsm8k/test.jsonl:1&sort=bogus")
	assert.Equal(t, http.StatusBadRequest, res.StatusCode)
}

func TestPrevNextFollowTheFilteredList(t *testing.T) {
	h := quietHandler(testRun(t, 30))
	_, body := get(t, h, "/problem?bucket=easy&id=filler%2F0005")
	assert.Contains(t, body, "4 of 12 matching")
	assert.Contains(t, body, `href="problem?bucket=easy&amp;id=filler%2F0002" rel="prev"`)
	assert.Contains(t, body, `href="problem?bucket=easy&amp;id=filler%2F0008" rel="next"`)
	assert.Contains(t, body, `href="problems?bucket=easy" id="back"`)
}

func TestFilesAreServedOnlyWhenTheOverviewListsThem(t *testing.T) {
	h := quietHandler(testRun(t, 0))
	res, body := get(t, h, "/files/recovery_by_bucket.svg")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "image/svg+xml", res.Header.Get("Content-Type"))
	assert.Equal(t, testSVG, body)
	res, body = get(t, h, "/files/report.md")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "text/plain; charset=utf-8", res.Header.Get("Content-Type"), "reports are shown as text, never as HTML")
	assert.Contains(t, body, "<script>", "served verbatim as text/plain")
	for _, target := range []string{"/files/secret.txt", "/files/..%2Frun.db", "/files/%2E%2E"} {
		res, _ = get(t, h, target)
		assert.Equal(t, http.StatusNotFound, res.StatusCode, target)
	}
}

func TestEmbeddedAssetsAreServed(t *testing.T) {
	h := quietHandler(testRun(t, 0))
	for target, ctype := range map[string]string{
		"/static/katex/katex.min.js":                   "text/javascript; charset=utf-8",
		"/static/katex/contrib/auto-render.min.js":     "text/javascript; charset=utf-8",
		"/static/katex/katex.min.css":                  "text/css; charset=utf-8",
		"/static/katex/fonts/KaTeX_Main-Regular.woff2": "font/woff2",
		"/static/viewer.js":                            "text/javascript; charset=utf-8",
		"/static/viewer.css":                           "text/css; charset=utf-8",
		"/static/katex/LICENSE":                        "",
	} {
		res, body := get(t, h, target)
		require.Equal(t, http.StatusOK, res.StatusCode, target)
		if ctype != "" {
			assert.Equal(t, ctype, res.Header.Get("Content-Type"), target)
		}
		assert.Greater(t, len(body), 200, target)
	}
	_, lic := get(t, h, "/static/katex/LICENSE")
	assert.Contains(t, lic, "MIT License")
	// Every font the stylesheet asks for first (woff2) is embedded.
	_, css := get(t, h, "/static/katex/katex.min.css")
	fonts := regexp.MustCompile(`url\((fonts/[^)]+\.woff2)\)`).FindAllStringSubmatch(css, -1)
	require.NotEmpty(t, fonts)
	for _, f := range fonts {
		res, _ := get(t, h, "/static/katex/"+f[1])
		assert.Equal(t, http.StatusOK, res.StatusCode, f[1])
	}
}

type failingSource struct{ Source }

func (failingSource) ProblemList(context.Context) ([]ProblemSummary, error) {
	return nil, errors.New("disk on fire")
}

func TestSourceFailuresAre500sNamingTheCause(t *testing.T) {
	var logged strings.Builder
	h := New(failingSource{testRun(t, 0)}, WithErrorLog(log.New(&logged, "", 0)))
	res, body := get(t, h, "/problems")
	assert.Equal(t, http.StatusInternalServerError, res.StatusCode)
	assert.Contains(t, body, "disk on fire")
	assert.Contains(t, logged.String(), "disk on fire")
}

func TestHandlerWorksUnderAPrefix(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle("/viewer/", http.StripPrefix("/viewer", quietHandler(testRun(t, 0))))
	res, body := get(t, mux, "/viewer/problems")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, body, `href="static/viewer.css"`, "links are relative")
	res, _ = get(t, mux, "/viewer/static/viewer.css")
	assert.Equal(t, http.StatusOK, res.StatusCode)
}

func TestListenAndServeBindsLoopbackAndStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- ListenAndServe(ctx, ":0", quietHandler(testRun(t, 0)), func(a string) { addrc <- a })
	}()
	addr := <-addrc
	host, _, err := net.SplitHostPort(addr)
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1", host, "an empty host means loopback, not every interface")
	res, err := http.Get("http://" + addr + "/problems")
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusOK, res.StatusCode)
	cancel()
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("ListenAndServe did not return after cancel")
	}
	assert.Error(t, ListenAndServe(context.Background(), "no-port", nil, nil))
}
