package e2e_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/dataset"
	"github.com/rebound-lab/rebound/internal/faultserver"
	"github.com/rebound-lab/rebound/recovery/viewer"
)

// canaryKey is an API key that must never be seen again; canaryBody is its
// distinctive part, to catch partial echoes too.
const (
	canaryBody = "c4nary7f3a9d51e0b8c26d4f"
	canaryKey  = "sk-proj-" + canaryBody + "Zq"
)

// leaks reports where in text the canary appears.
func leaks(name, text string) []string {
	var out []string
	for _, s := range []string{canaryKey, canaryBody} {
		if i := strings.Index(text, s); i >= 0 {
			out = append(out, name+": "+text[max(0, i-60):min(len(text), i+len(s)+20)])
		}
	}
	return out
}

func TestTheAPIKeyAppearsInNoLogFileErrorOrViewerPage(t *testing.T) {
	if testing.Short() {
		t.Skip("drives the harness binary")
	}
	problems := dataset.GSM8KTest()
	m := newModels(problems, "strong", "weak")
	var next atomic.Int64
	srv := m.server(t, faultserver.Config{
		APIKey:     canaryKey,
		Latency:    time.Millisecond,
		RetryAfter: 100 * time.Millisecond,
		Decide: func(a faultserver.Attempt) faultserver.Fault {
			if a.Try == 1 && hashUnit(a.Request.Hash) < 0.3 {
				return retryable[(next.Add(1)-1)%int64(len(retryable))]
			}
			return faultserver.None
		},
	})
	dir := filepath.Join(t.TempDir(), "run")
	var found []string

	// A run that succeeds through faults, with the key in the environment.
	r := run(t, context.Background(), compatEnv(srv, canaryKey), runArgs(dir, 12, "-samples", "3", "-continuations", "2", "-timeout", "1s")...)
	require.Equal(t, 0, r.exit, r.stderr)
	require.Positive(t, srv.Stats().Answered, "the server accepted the key")
	found = append(found, leaks("stdout", r.stdout)...)
	found = append(found, leaks("stderr", r.stderr)...)

	// A run that fails: the same key, refused by a server expecting another.
	other := newModels(problems, "strong", "weak").server(t, faultserver.Config{APIKey: "sk-some-other-key"})
	bad := run(t, context.Background(), compatEnv(other, canaryKey), runArgs(filepath.Join(t.TempDir(), "bad"), 4)...)
	require.NotEqual(t, 0, bad.exit)
	require.Contains(t, bad.stderr, "401")
	found = append(found, leaks("error message", bad.stdout+bad.stderr)...)

	// Every byte the run wrote: SQLite (with its WAL), JSONL, CSV, report,
	// plots.
	var files int
	require.NoError(t, filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		found = append(found, leaks(filepath.Base(path), string(b))...)
		return nil
	}))
	assert.GreaterOrEqual(t, files, 5)

	// Every page of the viewer served from the run directory.
	src, err := viewer.OpenRun(dir)
	require.NoError(t, err)
	defer src.Close()
	ts := httptest.NewServer(viewer.New(src))
	defer ts.Close()
	pages := crawl(t, ts.URL, 400)
	problemPages := map[string]bool{}
	for u, body := range pages {
		found = append(found, leaks(u, body)...)
		if pu, _ := url.Parse(u); pu.Path == "/problem" {
			problemPages[pu.Query().Get("id")] = true
		}
	}
	assert.Len(t, problemPages, 12, "every problem's page was read")

	assert.Empty(t, found, "the API key leaked")
	t.Logf("checked stdout, stderr, an error message, %d files and %d viewer pages (%d problem pages)", files, len(pages), len(problemPages))
}

var hrefs = regexp.MustCompile(`(?:href|src)="([^"#]+)"`)

// crawl fetches root and every same-origin page linked from it,
// breadth-first, up to limit pages, and returns their bodies by URL.
func crawl(t *testing.T, root string, limit int) map[string]string {
	t.Helper()
	base, err := url.Parse(root + "/")
	require.NoError(t, err)
	seen := map[string]string{}
	queue := []string{base.String()}
	for len(queue) > 0 && len(seen) < limit {
		u := queue[0]
		queue = queue[1:]
		if _, ok := seen[u]; ok {
			continue
		}
		resp, err := http.Get(u)
		require.NoError(t, err)
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		require.Less(t, resp.StatusCode, 400, "GET %s", u)
		seen[u] = string(b)
		if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			continue
		}
		for _, m := range hrefs.FindAllStringSubmatch(string(b), -1) {
			ref, err := url.Parse(strings.ReplaceAll(m[1], "&amp;", "&"))
			if err != nil {
				continue
			}
			next := base.ResolveReference(ref)
			if next.Host != base.Host || strings.HasPrefix(next.Path, "/static/") {
				continue
			}
			if _, ok := seen[next.String()]; !ok {
				queue = append(queue, next.String())
			}
		}
	}
	return seen
}
