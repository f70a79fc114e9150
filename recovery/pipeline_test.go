package recovery

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/difficulty"
	"github.com/rebound-lab/rebound/perturb"
	"github.com/rebound-lab/rebound/providers"
	"github.com/rebound-lab/rebound/providers/sim"
)

// barrierStages is the driver Run had before the pipeline, kept as the
// reference: each stage over every problem (the library's stage types),
// then the next.
func (cfg *Config) barrierStages(ctx context.Context, exec Exec, strong, weak providers.Completer) error {
	problems := cfg.Problems
	ss := cfg.strongStage(exec, strong)
	if cfg.Adaptive != nil {
		plan, binner := *cfg.Adaptive, cfg.Binner
		ss.Stop = func(k, n int) bool { return plan.Done(binner, k, n) }
		ss.MinSamples = plan.Min
	}
	strongCals, err := ss.Run(ctx, problems)
	if err != nil {
		return err
	}
	if _, err := Bin(ctx, exec.Store, cfg.membershipBinner(strongCals), strongCals); err != nil {
		return err
	}
	traces := map[string][]perturb.Trace{}
	for _, c := range strongCals {
		for _, s := range c.Samples {
			traces[c.Problem.ID] = appendTrace(traces[c.Problem.ID], s, cfg.StrongModel)
		}
	}
	if !cfg.NoWeak {
		if _, err := cfg.weakStage(exec, weak).Run(ctx, problems); err != nil {
			return err
		}
	}
	var prefixes []PrefixResult
	for _, name := range cfg.Strategies {
		p, err := cfg.perturber(name, Models{Strong: strong, Weak: weak,
			Traces:      func(id string) []perturb.Trace { return traces[id] },
			StrongModel: cfg.StrongModel, WeakModel: cfg.WeakModel, Verifier: cfg.Verifier, Seed: cfg.Seed, Cut: cfg.Cut})
		if err != nil {
			return err
		}
		res, err := (&PerturbStage{Exec: exec, Strategy: name, Perturber: p}).Run(ctx, problems)
		if err != nil {
			return err
		}
		prefixes = append(prefixes, res...)
	}
	_, err = cfg.continueStage(exec, strong).Run(ctx, prefixes)
	return err
}

// runBarrier is Run with barrierStages for a driver.
func runBarrier(t *testing.T, cfg Config) Summary {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, cfg.defaults())
	st, err := OpenStore(cfg.Dir)
	require.NoError(t, err)
	defer st.Close()
	require.NoError(t, checkIdentity(ctx, st, &cfg))
	b, err := json.Marshal(cfg)
	require.NoError(t, err)
	require.NoError(t, st.SetConfig(ctx, "config", string(b)))
	require.NoError(t, st.PutProblems(ctx, cfg.Problems))
	meter := &Meter{}
	strong, weak, err := cfg.wrap(ctx, st, meter, nil)
	require.NoError(t, err)
	// One call at a time: which of two identical requests pays and which
	// is the cache hit is then fixed by order (the earlier pays), as in the
	// pipeline, instead of by which goroutine reaches the cache first.
	exec := Exec{Concurrency: 1, Store: st, Meter: meter}
	require.NoError(t, cfg.barrierStages(ctx, exec, strong, weak))
	_, err = LabelBehaviours(ctx, st, false)
	require.NoError(t, err)
	sum, err := SummarizeBinned(ctx, st, cfg.Binner)
	require.NoError(t, err)
	cfg.describeStatistics(&sum)
	sum.Invocation = meter.Totals()
	return sum
}

// rowsOf is every stored row of a run, without the wall-clock fields.
func rowsOf(t *testing.T, dir string) (map[sampleKey]Sample, []Prefix) {
	t.Helper()
	st, err := OpenStore(dir)
	require.NoError(t, err)
	defer st.Close()
	out := map[sampleKey]Sample{}
	require.NoError(t, st.eachSample(context.Background(), false, `1 = 1`, func(r Sample) error {
		r.At, r.LatencyMS = time.Time{}, 0
		out[sampleKey{r.Stage + "/" + r.ProblemID, r.Prefix, r.Sample}] = r
		return nil
	}))
	pres, err := st.Prefixes(context.Background(), "")
	require.NoError(t, err)
	for i := range pres {
		pres[i].At = time.Time{}
	}
	return out, pres
}

// TestThePipelineGivesTheBarrierDriversResults runs the same seeded
// experiments through Run (the pipeline) and through the stage types one
// after another, and compares the summaries and every row: same samples,
// prefixes and continuations, same paid and cached calls.
func TestThePipelineGivesTheBarrierDriversResults(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func(*Config)
	}{
		{"three strategies", func(c *Config) {
			c.Strategies = []string{StrategyWeak, StrategyOnPolicy, StrategyInject}
			c.Samples, c.Continuations = 4, 2
		}},
		{"adaptive", func(c *Config) {
			c.Strategies = []string{StrategyWeak, StrategyOnPolicy}
			c.Adaptive = &difficulty.Plan{Min: 2, Max: 12, Confidence: 0.8}
			c.Continuations = 2
		}},
		{"no weak model", func(c *Config) {
			c.NoWeak, c.Weak, c.WeakModel = true, nil, ""
			c.Strategies = []string{StrategyOnPolicy}
			c.Continuations = 2
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pipeDir, barrierDir := t.TempDir(), t.TempDir()
			cfg := simConfig(t, pipeDir, 40, 11)
			tc.set(&cfg)
			got, err := Run(context.Background(), cfg)
			require.NoError(t, err)
			cfg = simConfig(t, barrierDir, 40, 11)
			tc.set(&cfg)
			want := runBarrier(t, cfg)
			assert.Positive(t, want.Overall.Continuations)
			if !cfg.NoWeak {
				assert.Positive(t, want.Invocation.CachedCalls, "the weak model's first tries are cache hits")
			}
			assert.JSONEq(t, summaryJSON(t, want), summaryJSON(t, got))
			wantRows, wantPre := rowsOf(t, barrierDir)
			gotRows, gotPre := rowsOf(t, pipeDir)
			assert.Equal(t, wantPre, gotPre)
			require.Equal(t, len(wantRows), len(gotRows))
			for k, w := range wantRows {
				assert.Equal(t, w, gotRows[k], "row %v", k)
			}
		})
	}
}

// TestTheEarlierStrategyPaysForAPrefixTwoStrategiesShare builds every
// on-policy prefix twice (a custom twin strategy), so each twin
// continuation is an on-policy continuation's request: the pipeline runs a
// problem's strategies' continuations in Config.Strategies order, so the
// on-policy ones are paid and the twin's answered by the cache, never the
// other way round (as with one stage over every problem after another).
func TestTheEarlierStrategyPaysForAPrefixTwoStrategiesShare(t *testing.T) {
	dir := t.TempDir()
	cfg := simConfig(t, dir, 40, 11)
	cfg.Strategies = []string{StrategyOnPolicy, "twin"}
	cfg.Perturbers = map[string]PerturberFactory{"twin": func(m Models) (perturb.Perturber, error) {
		return &perturb.OnPolicy{Traces: m.Traces, Origin: m.StrongModel, Cut: m.Cut, Seed: m.Seed}, nil
	}}
	cfg.Continuations, cfg.Concurrency = 2, 16
	sc := sim.Strong()
	sc.Seed, sc.Latency = 11, 5*time.Millisecond // calls overlap, as with a real model
	cfg.Strong = sim.New(sc, cfg.Problems...)
	_, err := Run(context.Background(), cfg)
	require.NoError(t, err)
	rows, _ := rowsOf(t, dir)
	cached := map[string]int{}
	for k, r := range rows {
		if r.Stage == StageContinue && r.Cached {
			cached[k.prefix]++
		}
	}
	assert.Zero(t, cached[StrategyOnPolicy], "no on-policy continuation waits for the twin's")
	assert.Greater(t, cached["twin"], 30, "of 40 twin continuations")
}
