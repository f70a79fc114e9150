package e2e_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/dataset"
	"github.com/rebound-lab/rebound/internal/faultserver"
	"github.com/rebound-lab/rebound/providers"
)

func TestARunOverBudgetStopsWithinItAsTheServerCountsAtConcurrency32(t *testing.T) {
	if testing.Short() {
		t.Skip("drives the harness binary")
	}
	// Two DeepSeek models at the same list price, served by simulators that
	// report 100× their output tokens, so each call costs about $0.003 and
	// the run about $2.
	const strong, weak, budget = "deepseek-reasoner", "deepseek-chat", 1.0
	price, ok := providers.DefaultPrices().Lookup("deepseek", strong)
	require.True(t, ok)
	weakPrice, ok := providers.DefaultPrices().Lookup("deepseek", weak)
	require.True(t, ok)
	require.Equal(t, price, weakPrice, "one price prices every token the server counts")

	m := newModels(dataset.GSM8KTest(), strong, weak)
	m.verbose = 100
	srv := m.server(t, faultserver.Config{Latency: 20 * time.Millisecond})
	env := map[string]string{"DEEPSEEK_BASE_URL": srv.BaseURL, "DEEPSEEK_API_KEY": "k"}
	dir := filepath.Join(t.TempDir(), "run")
	args := func(budget float64) []string {
		return []string{"-out", dir, "-limit", "40", "-quiet", "-strong", "deepseek:" + strong, "-weak", "deepseek:" + weak,
			"-concurrency", "32", "-budget", fmt.Sprint(budget), "-timeout", "30s",
			"-max-tokens", "20000"} // room for the 100× output the server reports
	}

	r := run(t, context.Background(), env, args(budget)...)
	st := srv.Stats()
	spent := st.Cost(price)
	t.Logf("exit %d; server: %d requests, %d answered, at most %d in flight, $%.4f of the $%.2f budget\nstderr: %s\nstdout: %s",
		r.exit, st.Requests, st.Answered, st.MaxInFlight, spent, budget, r.stderr, r.stdout)
	require.NotEqual(t, 0, r.exit, "the run stops")
	assert.Contains(t, r.stderr, "$1.00 budget is exhausted")
	assert.Contains(t, r.stderr, "rerun with a larger -budget")
	assert.LessOrEqual(t, spent, budget, "never spends past the budget, as the server bills it")
	assert.Greater(t, spent, budget/2, "spends most of it before stopping")
	assert.Greater(t, st.MaxInFlight, int64(8), "calls really ran concurrently")

	// The harness's own account agrees with the server's, so a rerun with
	// the same budget knows it is spent and makes no call.
	var usd float64
	for _, row := range readSamples(t, dir) {
		usd += row.CostUSD
	}
	assert.InDelta(t, spent, usd, 1e-9, "samples.jsonl records what the server billed")
	r = run(t, context.Background(), env, args(budget)...)
	require.NotEqual(t, 0, r.exit)
	assert.Contains(t, r.stderr, "budget")
	assert.Equal(t, st.Requests, srv.Stats().Requests, "a rerun with the spent budget sends nothing")

	// A larger budget finishes the run, paying only for what is left.
	r = run(t, context.Background(), env, args(10)...)
	require.Equal(t, 0, r.exit, "stderr: %s", r.stderr)
	total := srv.Stats()
	t.Logf("finished: $%.4f in all, %d requests answered twice", total.Cost(price), total.AnsweredRepeats())
	assert.LessOrEqual(t, total.Cost(price), 10.0)
}
