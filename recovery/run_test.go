package recovery

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/dataset"
	"github.com/rebound-lab/rebound/providers"
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
	// Interrupt in strong sampling, in perturbation and in continuation,
	// then let the fourth run finish.
	interrupts := []struct {
		strong bool
		match  func(providers.Request) bool
		after  int
	}{{true, straight, 60}, {false, perturbTry, 5}, {true, continuation, 30}, {}}

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
		if in.match != nil {
			require.ErrorIs(t, err, context.Canceled, "run %d", i)
		} else {
			require.NoError(t, err, "run %d", i)
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
