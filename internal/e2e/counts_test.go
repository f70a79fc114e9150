package e2e_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/dataset"
	"github.com/rebound-lab/rebound/internal/faultserver"
	"github.com/rebound-lab/rebound/providers"
)

// The calls the run reports as paid are the requests the server answered,
// the console's counts are summary.json's, and a resume says how many calls
// were new (none) and sends nothing.
func TestReportedPaidCallsAreTheServersAnsweredRequestsAndAResumeSaysNothingWasNew(t *testing.T) {
	if testing.Short() {
		t.Skip("drives the harness binary")
	}
	m := newModels(dataset.GSM8KTest(), "strong", "weak")
	srv := m.server(t, faultserver.Config{Latency: time.Millisecond})
	dir := filepath.Join(t.TempDir(), "run")
	args := runArgs(dir, 15, "-samples", "3", "-continuations", "2")
	r := run(t, context.Background(), compatEnv(srv, "k"), args...)
	require.Equal(t, 0, r.exit, r.stderr)
	var sum struct {
		Cost struct {
			Calls       int `json:"calls"`
			CachedCalls int `json:"cached_calls"`
		} `json:"cost"`
	}
	require.NoError(t, json.Unmarshal([]byte(readFile(t, filepath.Join(dir, "summary.json"))), &sum))
	st := srv.Stats()
	probe := int64(len(providers.DefaultCanaries))
	t.Logf("server answered %d (%d probe canaries); summary: %d calls, %d cached\n%s", st.Answered, probe, sum.Cost.Calls, sum.Cost.CachedCalls, r.stdout)
	require.Positive(t, sum.Cost.CachedCalls, "the weak perturber's first tries are the weak samples: cache hits")
	assert.Equal(t, st.Answered-probe, int64(sum.Cost.Calls-sum.Cost.CachedCalls), "paid calls = requests the server answered")
	runLine := regexp.MustCompile(`run: (\d+) calls \((\d+) paid, (\d+) cached\)`).FindStringSubmatch(r.stdout)
	require.NotNil(t, runLine)
	assert.Equal(t, strconv.Itoa(sum.Cost.Calls), runLine[1])
	assert.Equal(t, strconv.Itoa(sum.Cost.CachedCalls), runLine[3])
	inv := regexp.MustCompile(`this invocation: (\d+) new calls \((\d+) paid, (\d+) from the cache\), (\d+) resumed`).FindStringSubmatch(r.stdout)
	require.NotNil(t, inv)
	assert.Equal(t, runLine[1:4], inv[1:4], "a fresh run's invocation counts are the run's")

	r = run(t, context.Background(), compatEnv(srv, "k"), args...)
	require.Equal(t, 0, r.exit, r.stderr)
	inv = regexp.MustCompile(`this invocation: (\d+) new calls \((\d+) paid, (\d+) from the cache\), (\d+) resumed`).FindStringSubmatch(r.stdout)
	require.NotNil(t, inv)
	assert.Equal(t, "0", inv[1], "nothing was new")
	assert.Equal(t, strconv.Itoa(sum.Cost.Calls), inv[4], "every call's result was resumed")
	assert.Equal(t, st.Requests, srv.Stats().Requests, "the resume sent nothing (not even the probe: run.db holds its verdict)")
}
