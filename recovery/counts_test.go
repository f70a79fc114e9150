package recovery

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// lastEvent keeps the latest progress event of a run.
type lastEvent struct {
	mu sync.Mutex
	e  Event
}

func (l *lastEvent) hear(e Event) {
	l.mu.Lock()
	l.e = e
	l.mu.Unlock()
}

func (l *lastEvent) get() Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.e
}

func answered(cs ...*counting) int {
	n := 0
	for _, c := range cs {
		for _, k := range c.returned {
			n += k
		}
	}
	return n
}

// The progress events, the Summary (report.md, summary.json) and the model
// agree on every count after a run, a resume, and a resume after rows were
// lost the way a SIGKILL loses them (answer cached, row never written).
func TestEveryCountAgreesAfterARunAResumeAndACrashResume(t *testing.T) {
	const n = 20
	dir := t.TempDir()
	runOnce := func() (Summary, Event, int) {
		cfg := simConfig(t, dir, n, 3)
		sc, wc := newCounting(cfg.Strong), newCounting(cfg.Weak)
		cfg.Strong, cfg.Weak = sc, wc
		var last lastEvent
		cfg.Progress = last.hear
		sum, err := Run(context.Background(), cfg)
		require.NoError(t, err)
		return sum, last.get(), answered(sc, wc)
	}

	// A fresh run: what reached the model is what the run reports as paid,
	// and the bar's totals are the report's.
	first, ev, reached := runOnce()
	require.Positive(t, first.Cost.CachedCalls, "the weak perturber's tries 0-4 are the weak samples: cache hits")
	assert.Equal(t, reached, first.Paid.Calls, "paid calls = requests that reached the model")
	assert.Equal(t, reached, first.Cost.PaidCalls())
	assert.Equal(t, ev.Cost, first.Invocation, "Summary.Invocation is the last event's totals")
	assert.Equal(t, first.Cost.Calls, ev.Cost.Calls, "bar and report: calls")
	assert.Equal(t, first.Cost.CachedCalls, ev.Cost.CachedCalls, "bar and report: cached calls")
	assert.InDelta(t, first.Cost.USD, ev.Cost.USD, 1e-9)
	assert.Zero(t, ev.Cost.Resumed)
	st, err := OpenStore(dir)
	require.NoError(t, err)
	calls, err := st.PerturbCalls(context.Background(), "")
	require.NoError(t, err)
	require.NotEmpty(t, calls)
	for _, r := range calls {
		require.Equal(t, "sim:weak", r.Model, "perturbation rows name the model by its spec, like the weak samples")
	}

	// A resume of the finished run makes no call and reuses every result.
	again, ev, reached := runOnce()
	assert.Zero(t, reached)
	assert.Zero(t, ev.Cost.Calls, "no new calls")
	// A finished run with nothing to do takes the shortcut (resume.go): no
	// stage runs, so no event; the invocation's totals say what it did.
	assert.Zero(t, again.Invocation.Calls, "no new calls")
	assert.Equal(t, first.Cost.Calls, again.Invocation.Resumed, "every call's result was resumed")
	assert.Equal(t, first.Cost, again.Cost)

	// Lose rows as a SIGKILL does: the answers are in the cache, the rows
	// are not.
	var lost int
	for _, q := range []string{`DELETE FROM samples WHERE stage = 'continue' AND sample = 1`,
		`DELETE FROM samples WHERE stage = 'strong' AND sample = 4`} {
		res, err := st.DB().Exec(q)
		require.NoError(t, err)
		k, _ := res.RowsAffected()
		lost += int(k)
	}
	require.NoError(t, st.Close())
	require.Positive(t, lost)
	crashed, ev, reached := runOnce()
	assert.Zero(t, reached, "the lost rows come back from the cache")
	assert.Equal(t, lost, ev.Cost.Calls, "the resume says how many calls were new")
	assert.Equal(t, lost, ev.Cost.CachedCalls, "…all of them answered by the cache")
	assert.Equal(t, first.Cost.Calls, ev.Cost.Calls+ev.Cost.Resumed, "new + resumed = the run's calls")
	assert.Equal(t, first.Cost, crashed.Cost, "the run's account is the uninterrupted run's: a lost row's call counts as paid once")
	assert.Equal(t, first.StageCost, crashed.StageCost)
}

func TestStoreCostIsTheSummarysCost(t *testing.T) {
	dir := t.TempDir()
	cfg := simConfig(t, dir, 8, 2)
	cfg.Strategies = []string{StrategyWeak, StrategyInject}
	sum, err := Run(context.Background(), cfg)
	require.NoError(t, err)
	st, err := OpenStore(dir)
	require.NoError(t, err)
	defer st.Close()
	// A failed call that returned nothing is not a call.
	require.NoError(t, st.PutSample(context.Background(), Sample{Stage: StageStrong, ProblemID: cfg.Problems[0].ID, Sample: 99,
		Model: cfg.StrongModel, Error: "dial tcp: connection refused"}))
	c, err := st.Cost(context.Background())
	require.NoError(t, err)
	again, err := Summarize(context.Background(), st, nil)
	require.NoError(t, err)
	assert.Equal(t, sum.Cost.Calls, again.Cost.Calls)
	assert.Equal(t, again.Cost.Calls, c.Calls)
	assert.Equal(t, again.Cost.CachedCalls, c.CachedCalls)
	assert.Equal(t, again.Cost.InputTokens, c.InputTokens)
	assert.InDelta(t, again.Cost.USD, c.USD, 1e-12)
}

func TestProgressEventsCarryTheStrategy(t *testing.T) {
	cfg := simConfig(t, t.TempDir(), 6, 1)
	cfg.Strategies = []string{StrategyWeak, StrategyInject}
	var mu sync.Mutex
	seen := map[string]map[string]bool{}
	cfg.Progress = func(e Event) {
		mu.Lock()
		defer mu.Unlock()
		if seen[e.Stage] == nil {
			seen[e.Stage] = map[string]bool{}
		}
		seen[e.Stage][e.Strategy] = true
	}
	_, err := Run(context.Background(), cfg)
	require.NoError(t, err)
	assert.Equal(t, map[string]bool{"": true}, seen[StageStrong])
	assert.Equal(t, map[string]bool{StrategyWeak: true, StrategyInject: true}, seen[StagePerturb])
	assert.True(t, seen[StageContinue][StrategyWeak] || seen[StageContinue][StrategyInject])
	assert.False(t, seen[StageContinue][""], "every continuation event names its prefix's strategy")
}
