package e2e_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/dataset"
	"github.com/rebound-lab/rebound/internal/faultserver"
	"github.com/rebound-lab/rebound/providers"
)

// batchServer serves the simulators live and through OpenAI's batch API
// (internal/faultserver.BatchServer, whose formats follow
// openai/openai-openapi openapi.yaml: BatchRequestInput, Batch,
// BatchRequestOutput).
func (m *models) batchServer(t testing.TB, cfg faultserver.Config, bcfg faultserver.BatchConfig) *faultserver.BatchServer {
	cfg.Answer = m.answer
	s := faultserver.NewBatchServer(cfg, bcfg)
	t.Cleanup(s.Close)
	return s
}

func batchEnv(s *faultserver.BatchServer) map[string]string {
	env := compatEnv(s.Server, "k")
	env["OPENAI_COMPATIBLE_BATCH"] = "1"
	return env
}

func TestABatchRunSendsItsRequestsByBatchOnceEachAndEndsWhereALiveRunDoes(t *testing.T) {
	if testing.Short() {
		t.Skip("drives the harness binary")
	}
	const n = 20
	problems := dataset.GSM8KTest()
	args := func(dir string, extra ...string) []string {
		return runArgs(dir, n, append([]string{"-samples", "3", "-continuations", "3", "-timeout", "30s", "-probe", "off"}, extra...)...)
	}
	live := newModels(problems, "strong", "weak").server(t, faultserver.Config{})
	liveDir := filepath.Join(t.TempDir(), "live")
	r := run(t, context.Background(), compatEnv(live, "k"), args(liveDir)...)
	require.Equal(t, 0, r.exit, "live run: %s", r.stderr)

	srv := newModels(problems, "strong", "weak").batchServer(t, faultserver.Config{}, faultserver.BatchConfig{Delay: 150 * time.Millisecond})
	dir := filepath.Join(t.TempDir(), "batch")
	r = run(t, context.Background(), batchEnv(srv), args(dir, "-batch", "-batch-max-wait", "100ms", "-batch-poll", "50ms")...)
	require.Equal(t, 0, r.exit, "batch run: %s", r.stderr)
	bs, ls := srv.BatchStats(), srv.Stats()
	t.Logf("batch run: %d batches, %d lines, %d live requests (live run: %d requests); %s", bs.Batches, bs.Lines, ls.Requests, live.Stats().Requests, r.elapsed)

	assert.JSONEq(t, readFile(t, filepath.Join(liveDir, "summary.json")), readFile(t, filepath.Join(dir, "summary.json")),
		"the batch run's summary equals the live run's")
	share := float64(bs.Lines) / float64(bs.Lines+ls.Requests)
	assert.GreaterOrEqual(t, share, 0.95, "at least 95%% of requests went through the batch endpoints")
	// Samples of one prompt are identical on the wire (the sample index is
	// not sent), so the live run sends some bodies several times: each body
	// goes by batch exactly as often as the live run sent it.
	assert.Equal(t, live.Stats().ByHash, bs.ByHash, "every request submitted once")
	assert.Equal(t, live.Stats().Answered, bs.Answered+ls.Answered, "as many answers as the live run paid for")
	assert.Contains(t, r.stdout, "batches:")
}

func TestSIGKILLWithBatchesInFlightThenRerunSubmitsNoRequestTwice(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and restarts the harness binary")
	}
	const n = 20
	problems := dataset.GSM8KTest()
	args := func(dir string) []string {
		return runArgs(dir, n, "-samples", "3", "-continuations", "3", "-timeout", "30s", "-probe", "off",
			"-batch", "-batch-max-wait", "100ms", "-batch-poll", "50ms")
	}
	live := newModels(problems, "strong", "weak").server(t, faultserver.Config{})
	liveDir := filepath.Join(t.TempDir(), "live")
	r := run(t, context.Background(), compatEnv(live, "k"), runArgs(liveDir, n, "-samples", "3", "-continuations", "3", "-probe", "off")...)
	require.Equal(t, 0, r.exit, "live run: %s", r.stderr)

	// Batches take 1.5s, so a kill lands while they are in flight.
	srv := newModels(problems, "strong", "weak").batchServer(t, faultserver.Config{}, faultserver.BatchConfig{Delay: 1500 * time.Millisecond})
	dir := filepath.Join(t.TempDir(), "run")
	kills := 0
	for kills < 3 {
		before := srv.BatchStats().Batches
		cmd, _, stderr := command(t, batchEnv(srv), args(dir)...)
		require.NoError(t, cmd.Start())
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		deadline := time.After(20 * time.Second)
	wait:
		for {
			select {
			case err := <-exited:
				require.Failf(t, "the run finished before the kill", "%v %s", err, stderr)
			case <-deadline:
				require.Fail(t, "no batch was submitted in 20s")
			case <-time.After(20 * time.Millisecond):
				if srv.BatchStats().Batches > before {
					break wait
				}
			}
		}
		time.Sleep(300 * time.Millisecond) // the batch is in flight (it takes 1.5s)
		require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
		<-exited
		kills++
	}
	r = run(t, context.Background(), batchEnv(srv), args(dir)...)
	require.Equal(t, 0, r.exit, "final run: %s", r.stderr)
	bs := srv.BatchStats()
	t.Logf("after %d kills: %d batches, %d lines, %d live requests; final run: %s", kills, bs.Batches, bs.Lines, srv.Stats().Requests, r.stdout)
	assert.Equal(t, live.Stats().ByHash, bs.ByHash, "every request submitted once across the kills (as often as a live run sends its body)")
	assert.Contains(t, r.stdout, "re-attached")
	assert.JSONEq(t, readFile(t, filepath.Join(liveDir, "summary.json")), readFile(t, filepath.Join(dir, "summary.json")),
		"summary after the kills equals a live run's")
}

func TestABatchRunOverBudgetStopsWithinItAsTheServerBills(t *testing.T) {
	if testing.Short() {
		t.Skip("drives the harness binary")
	}
	// Two OpenAI models at one list price, answered by simulators that
	// report 100× their output tokens, so the run costs about $1 at batch
	// prices, twice the budget.
	const strong, weak, budget = "o3-mini", "o1-mini", 0.5
	prices := providers.DefaultPrices()
	p, ok := prices.BatchPrice("openai", strong)
	require.True(t, ok)
	pw, ok := prices.BatchPrice("openai", weak)
	require.True(t, ok)
	require.Equal(t, p.InputPerM, pw.InputPerM)
	require.Equal(t, p.OutputPerM, pw.OutputPerM)

	m := newModels(dataset.GSM8KTest(), strong, weak)
	m.verbose = 100
	srv := m.batchServer(t, faultserver.Config{}, faultserver.BatchConfig{Delay: 100 * time.Millisecond})
	env := map[string]string{"OPENAI_BASE_URL": srv.BaseURL, "OPENAI_API_KEY": "k"}
	dir := filepath.Join(t.TempDir(), "run")
	r := run(t, context.Background(), env, "-out", dir, "-limit", "20", "-quiet", "-strong", "openai:"+strong, "-weak", "openai:"+weak,
		"-budget", "0.5", "-batch", "-batch-max-wait", "100ms", "-batch-poll", "50ms", "-timeout", "30s",
		"-prefill", "instructed", // OpenAI chat models have no native prefill (the preflight says so)
		"-max-tokens", "20000") // room for the 100× output the server reports
	bs := srv.BatchStats()
	billed := (float64(bs.InputTokens)*p.InputPerM + float64(bs.OutputTokens)*p.OutputPerM) / 1e6
	t.Logf("exit %d; server: %d batches, %d lines, %d answered, %d live requests; billed $%.4f at batch prices of the $%.2f budget\nstderr: %s",
		r.exit, bs.Batches, bs.Lines, bs.Answered, srv.Stats().Requests, billed, budget, r.stderr)
	require.NotEqual(t, 0, r.exit, "the run stops")
	assert.Contains(t, r.stderr, "budget is exhausted")
	assert.LessOrEqual(t, billed, budget, "never spends past the budget with batches in flight, as the server bills it")
	assert.Greater(t, billed, budget/4, "spends a good part of it before stopping")
	var usd float64
	for _, row := range readSamples(t, dir) {
		usd += row.CostUSD
	}
	assert.InDelta(t, billed, usd, 1e-9, "samples.jsonl records what the server billed, at batch prices")
}

func TestExpiredBatchLinesAreRetriedInALaterBatchAndTheSummaryIsUnchanged(t *testing.T) {
	if testing.Short() {
		t.Skip("drives the harness binary")
	}
	const n = 12
	problems := dataset.GSM8KTest()
	args := func(dir string, extra ...string) []string {
		return runArgs(dir, n, append([]string{"-samples", "3", "-continuations", "3", "-timeout", "30s", "-probe", "off"}, extra...)...)
	}
	live := newModels(problems, "strong", "weak").server(t, faultserver.Config{})
	liveDir := filepath.Join(t.TempDir(), "live")
	r := run(t, context.Background(), compatEnv(live, "k"), args(liveDir)...)
	require.Equal(t, 0, r.exit, "live run: %s", r.stderr)

	// A quarter of the lines expire the first time they are seen (called
	// under the server's lock, so the map needs no lock of its own).
	seen := map[string]bool{}
	expire := func(n int64, customID string) bool {
		first := !seen[customID]
		seen[customID] = true
		return first && n%4 == 0
	}
	srv := newModels(problems, "strong", "weak").batchServer(t, faultserver.Config{}, faultserver.BatchConfig{Delay: 50 * time.Millisecond, Expire: expire})
	dir := filepath.Join(t.TempDir(), "batch")
	r = run(t, context.Background(), batchEnv(srv), args(dir, "-batch", "-batch-max-wait", "100ms", "-batch-poll", "20ms")...)
	require.Equal(t, 0, r.exit, "batch run: %s", r.stderr)
	bs := srv.BatchStats()
	t.Logf("%d batches, %d lines, %d expired, %d answered; %s", bs.Batches, bs.Lines, bs.Expired, bs.Answered, r.stdout[strings.LastIndex(r.stdout, "batches:"):])
	assert.Greater(t, bs.Expired, int64(10), "lines did expire")
	assert.Equal(t, bs.Lines, bs.Answered+bs.Expired)
	assert.Equal(t, live.Stats().Answered, bs.Answered, "every request answered exactly once in the end")
	assert.Contains(t, r.stdout, fmt.Sprintf("%d retried in a later batch", bs.Expired))
	assert.JSONEq(t, readFile(t, filepath.Join(liveDir, "summary.json")), readFile(t, filepath.Join(dir, "summary.json")))
}
