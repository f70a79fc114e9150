package recovery

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/dataset"
	"github.com/rebound-lab/rebound/perturb"
	"github.com/rebound-lab/rebound/providers"
	"github.com/rebound-lab/rebound/providers/mock"
	"github.com/rebound-lab/rebound/providers/sim"
)

func simConfig(t testing.TB, dir string, n int, seed int64) Config {
	problems := dataset.GSM8KTest()[:n]
	sc, wc := sim.Strong(), sim.Weak()
	sc.Seed, wc.Seed = seed, seed
	return Config{
		Dir: dir, Problems: problems,
		Strong: sim.New(sc, problems...), StrongModel: "sim:strong",
		Weak: sim.New(wc, problems...), WeakModel: "sim:weak",
		Samples: 5, Continuations: 4, Seed: seed, Concurrency: 4,
	}
}

func TestRunOnTheSimulatorWritesAFullReport(t *testing.T) {
	dir := t.TempDir()
	cfg := simConfig(t, dir, 30, 1)
	cfg.Strategies = []string{StrategyWeak, StrategyOnPolicy, StrategyInject}
	var events int
	cfg.Progress = func(Event) { events++ }
	sum, err := Run(context.Background(), cfg)
	require.NoError(t, err)
	assert.Equal(t, 30, sum.Overall.Problems)
	assert.Greater(t, sum.Overall.Continuations, 0)
	assert.Greater(t, events, 30)
	assert.Equal(t, []string{"hard", "medium", "easy"}, sum.BucketNames())
	for _, f := range []string{SummaryJSON, SummaryCSV, ReportMD, SamplesJSONL, StoreFile,
		PlotRecoveryByBucket + ".svg", PlotRecoveryByBucket + ".png"} {
		fi, err := os.Stat(filepath.Join(dir, f))
		require.NoError(t, err, f)
		assert.Greater(t, fi.Size(), int64(100), f)
	}
	t.Logf("\n%s", sum.Table())
	t.Logf("cost %+v stage %+v", sum.Cost, sum.StageCost)
}

// counting records every request that reached the model and every request
// whose response it returned, and calls cancel once stopAfter responses to
// requests matching match have been returned.
type counting struct {
	next           providers.Completer
	match          func(providers.Request) bool
	stopAfter      int
	cancel         context.CancelFunc
	mu             sync.Mutex
	matched        int
	sent, returned map[string]int
}

func newCounting(next providers.Completer) *counting {
	return &counting{next: next, sent: map[string]int{}, returned: map[string]int{}}
}

func (c *counting) Endpoint() providers.Endpoint { return providers.EndpointOf(c.next) }

func (c *counting) Complete(ctx context.Context, req providers.Request) (providers.Completion, error) {
	key := providers.CacheKey(c.Endpoint(), req)
	c.mu.Lock()
	c.sent[key]++
	c.mu.Unlock()
	out, err := c.next.Complete(ctx, req)
	if err != nil {
		return out, err
	}
	c.mu.Lock()
	c.returned[key]++
	if c.match != nil && c.match(req) {
		c.matched++
		if c.matched == c.stopAfter {
			c.cancel()
		}
	}
	c.mu.Unlock()
	return out, nil
}

func summaryJSON(t *testing.T, s Summary) string {
	var b strings.Builder
	require.NoError(t, s.WriteJSON(&b))
	return b.String()
}

func TestAnInterruptedRunResumesWithoutRepeatingAnswersAndEndsWhereAnUninterruptedOneDoes(t *testing.T) {
	const n = 24
	base := simConfig(t, t.TempDir(), n, 7)
	want, err := Run(context.Background(), base)
	require.NoError(t, err)

	straight := func(r providers.Request) bool { return r.Prefill == "" }
	perturbTry := func(r providers.Request) bool { return r.Prefill == "" && r.Sample >= 5 } // beyond the 5 weak samples
	continuation := func(r providers.Request) bool { return r.Prefill != "" }
	// Interrupt in perturbation, in strong sampling and in continuation,
	// then let the fourth run finish. (The stages overlap and the weak
	// model's tries go first, so the perturbation is interrupted first.)
	interrupts := []struct {
		strong bool
		match  func(providers.Request) bool
		after  int
	}{{false, perturbTry, 5}, {true, straight, 30}, {true, continuation, 30}, {}}

	dir := t.TempDir()
	everReturned := map[string]bool{}
	var got Summary
	for i, in := range interrupts {
		ctx, cancel := context.WithCancel(context.Background())
		cfg := simConfig(t, dir, n, 7)
		sc, wc := newCounting(cfg.Strong), newCounting(cfg.Weak)
		if in.match != nil {
			c := wc
			if in.strong {
				c = sc
			}
			c.match, c.stopAfter, c.cancel = in.match, in.after, cancel
		}
		cfg.Strong, cfg.Weak = sc, wc
		got, err = Run(ctx, cfg)
		cancel()
		var c *counting
		if in.match != nil {
			c = wc
			if in.strong {
				c = sc
			}
		}
		switch {
		case c == nil:
			require.NoError(t, err, "run %d", i)
		case err == nil && c.matched < in.after:
			// The stages overlap, so on a loaded machine an earlier run
			// may leave fewer matching calls than this one's interrupt
			// point: it finishes, which is right; there was nothing left
			// to interrupt.
			t.Logf("run %d: only %d matching calls were left, fewer than its interrupt point %d", i, c.matched, in.after)
		default:
			require.ErrorIs(t, err, context.Canceled, "run %d (%d matching calls, interrupt at %d)", i, c.matched, in.after)
		}
		for _, c := range []*counting{sc, wc} {
			for key := range c.sent {
				assert.False(t, everReturned[key], "run %d re-sent a request whose answer an earlier run received", i)
			}
		}
		t.Logf("run %d: %d strong and %d weak answers", i, len(sc.returned), len(wc.returned))
		for _, c := range []*counting{sc, wc} {
			for key, k := range c.returned {
				assert.Equal(t, 1, k, "run %d asked the model the same request twice", i)
				everReturned[key] = true
			}
		}
	}
	assert.JSONEq(t, summaryJSON(t, want), summaryJSON(t, got))
	assert.Equal(t, want.Cost, got.Cost)
	assert.Equal(t, want.StageCost, got.StageCost)
}

// acme presents a simulator as a paid provider "acme".
type acme struct{ providers.Completer }

func (acme) Endpoint() providers.Endpoint { return providers.Endpoint{Provider: "acme"} }

func acmeConfig(t *testing.T, dir string) Config {
	price := providers.Price{InputPerM: 100, OutputPerM: 400}
	prices := providers.NewPriceTable()
	prices.Set("acme", "strong", price)
	prices.Set("acme", "weak", price)
	cfg := simConfig(t, dir, 16, 3)
	sc, wc := sim.Strong(), sim.Weak()
	sc.Seed, wc.Seed, sc.Price, wc.Price = 3, 3, &price, &price
	cfg.Strong, cfg.Weak = acme{sim.New(sc, cfg.Problems...)}, acme{sim.New(wc, cfg.Problems...)}
	cfg.StrongModel, cfg.WeakModel = "acme:strong", "acme:weak"
	cfg.Prices, cfg.MaxTokens, cfg.Concurrency = prices, 300, 8
	return cfg
}

func TestABudgetStopsTheRunWithinItAndALargerOneFinishesIt(t *testing.T) {
	ctx := context.Background()
	full, err := Run(ctx, acmeConfig(t, t.TempDir()))
	require.NoError(t, err)
	require.Greater(t, full.Paid.USD, 0.0)

	dir := t.TempDir()
	cfg := acmeConfig(t, dir)
	cfg.BudgetUSD = full.Paid.USD * 0.4
	part, err := Run(ctx, cfg)
	require.ErrorIs(t, err, providers.ErrBudgetExceeded)
	assert.LessOrEqual(t, part.Paid.USD, cfg.BudgetUSD, "never spends past the budget")
	assert.Greater(t, part.Paid.USD, cfg.BudgetUSD*0.5, "spends most of it before stopping")
	_, err = os.Stat(filepath.Join(dir, SummaryJSON))
	assert.NoError(t, err, "the partial report is written")

	cfg.BudgetUSD = full.Paid.USD * 0.5 // less than already spent + what is left
	_, err = Run(ctx, cfg)
	require.ErrorIs(t, err, providers.ErrBudgetExceeded)

	cfg.BudgetUSD = full.Paid.USD * 1.5
	got, err := Run(ctx, cfg)
	require.NoError(t, err)
	assert.JSONEq(t, summaryJSON(t, full), summaryJSON(t, got))
	assert.InDelta(t, full.Paid.USD, got.Paid.USD, 1e-9, "resuming after the budget stop paid for nothing twice")
}

func TestAPermanentProviderErrorStopsTheRunFastNamingProviderModelAndStatus(t *testing.T) {
	cfg := simConfig(t, t.TempDir(), 40, 1)
	bad := mock.AlwaysFail(401)
	cfg.Strong = bad
	_, err := Run(context.Background(), cfg)
	var apiErr *providers.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, 401, apiErr.StatusCode)
	assert.Contains(t, err.Error(), "mock")
	assert.Contains(t, err.Error(), "401")
	assert.LessOrEqual(t, bad.Calls(), cfg.Concurrency+1, "no retries of a 401, no new calls after it")
}

func TestATransientFailureIsRecordedOnItsItemAndRetriedByTheNextRun(t *testing.T) {
	dir := t.TempDir()
	cfg := simConfig(t, dir, 6, 1)
	real := cfg.Strong
	var failed atomic.Bool
	cfg.Strong = providers.CompleterFunc(func(ctx context.Context, req providers.Request) (providers.Completion, error) {
		if req.Sample == 0 && req.Prefill == "" && failed.CompareAndSwap(false, true) {
			return providers.Completion{}, providers.NewAPIError("flaky", 503, "overloaded", "try later", 0)
		}
		return real.Complete(ctx, req)
	})
	cfg.Retry = providers.RetryPolicy{MaxAttempts: 1}
	first, err := Run(context.Background(), cfg)
	require.NoError(t, err, "a retryable failure is the item's, not the run's")
	st, err := OpenStore(dir)
	require.NoError(t, err)
	rows, err := st.Samples(context.Background(), "")
	require.NoError(t, err)
	st.Close()
	failedRows := 0
	for _, r := range rows {
		if r.Error != "" {
			failedRows++
			assert.Contains(t, r.Error, "503")
		}
	}
	assert.Equal(t, 1, failedRows)

	cfg.Strong = real
	second, err := Run(context.Background(), cfg)
	require.NoError(t, err)
	assert.Equal(t, first.Cost.Calls+1, second.Cost.Calls, "the rerun made the failed call again, and only it")
}

func TestRunWithEveryBuiltInStrategy(t *testing.T) {
	dir := t.TempDir()
	cfg := simConfig(t, dir, 12, 5)
	var traces []perturb.LabeledTrace
	for _, p := range cfg.Problems[:4] {
		steps := strings.Split(strings.TrimSpace(p.Solution), "\n")
		if len(steps) < 3 {
			continue
		}
		steps[1] += " (so the total is 999)" // the labelled mistake
		traces = append(traces, perturb.LabeledTrace{Problem: p, Steps: steps, ErrorStep: 2, Origin: "test"})
	}
	require.NotEmpty(t, traces)
	cfg.Labeled = perturb.NewLabeled(traces)
	cfg.Strategies = []string{StrategyWeak, StrategyOnPolicy, StrategyInject, StrategyLabeled}
	cfg.Continuations = 2
	sum, err := Run(context.Background(), cfg)
	require.NoError(t, err)

	st, err := OpenStore(dir)
	require.NoError(t, err)
	defer st.Close()
	rows, err := st.Prefixes(context.Background(), "")
	require.NoError(t, err)
	built, aside := map[string]int{}, map[string]int{}
	for _, r := range rows {
		if r.SetAside != "" {
			aside[r.Strategy]++
		} else if r.Error == "" {
			built[r.Strategy]++
			assert.NotEmpty(t, r.Text)
			assert.True(t, strings.HasPrefix(r.Source, r.Text), "%s prefix is cut from its source", r.Strategy)
		}
	}
	assert.Len(t, rows, 4*12, "one row per problem and strategy")
	for _, s := range cfg.Strategies {
		assert.Positive(t, built[s], "strategy %s built prefixes", s)
	}
	assert.Equal(t, 12-len(traces), aside[StrategyLabeled], "problems without a labelled trace are set aside")
	conts, err := st.Continuations(context.Background(), "")
	require.NoError(t, err)
	total := 0
	for _, n := range built {
		total += n
	}
	assert.Equal(t, 2*total, len(conts))
	assert.Equal(t, 2*total, sum.Overall.Continuations)
}

func TestResumingADirectoryWithOtherModelsIsRefused(t *testing.T) {
	dir := t.TempDir()
	cfg := simConfig(t, dir, 4, 1)
	cfg.Samples, cfg.Continuations = 2, 1
	_, err := Run(context.Background(), cfg)
	require.NoError(t, err)

	other := cfg
	other.StrongModel = "sim:weak"
	_, err = Run(context.Background(), other)
	require.ErrorIs(t, err, ErrConfig)
	assert.Contains(t, err.Error(), dir)
	assert.Contains(t, err.Error(), "sim:strong")

	more := cfg
	more.Samples, more.Continuations = 3, 2
	sum, err := Run(context.Background(), more)
	require.NoError(t, err, "asking for more samples extends the run")
	assert.Positive(t, sum.Overall.Continuations)
	assert.Zero(t, sum.Overall.Continuations%2, "every prefix now has two continuations")
	st, err := OpenStore(dir)
	require.NoError(t, err)
	defer st.Close()
	ps, err := st.Problems(context.Background())
	require.NoError(t, err)
	for _, p := range ps {
		assert.Equal(t, 3, p.StrongN, p.ID)
	}
}
