package recovery

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/dataset"
	"github.com/rebound-lab/rebound/providers"
	"github.com/rebound-lab/rebound/providers/sim"
)

// callCounter counts the calls that reach a raw model.
type callCounter struct {
	next  providers.Completer
	calls atomic.Int64
}

func (c *callCounter) Endpoint() providers.Endpoint { return providers.EndpointOf(c.next) }

func (c *callCounter) Complete(ctx context.Context, req providers.Request) (providers.Completion, error) {
	c.calls.Add(1)
	return c.next.Complete(ctx, req)
}

// studySim returns simulated strong models of known, different skill and
// recovery: "A" recovers most, "C" least; D is a fourth for adding later.
func studySims(seed int64) map[string]sim.Config {
	mk := func(name string, base, slope float64, pass sim.Mixture) sim.Config {
		c := sim.Strong()
		c.Name, c.Seed, c.RecoverBase, c.RecoverSlope = name, seed, base, slope
		if pass != nil {
			c.PassRate = pass
		}
		return c
	}
	return map[string]sim.Config{
		"sim:A": mk("A", 0.45, 0.5, nil),
		"sim:B": mk("B", 0.25, 0.5, nil),
		"sim:C": mk("C", 0.05, 0.4, sim.Weak().PassRate),
		"sim:D": mk("D", 0.35, 0.3, nil),
	}
}

func studyFixture(dir string, problems []dataset.Problem, seed int64, specs ...string) (Study, map[string]*callCounter, *callCounter) {
	sims := studySims(seed)
	wc := sim.Weak()
	wc.Seed = seed
	weak := &callCounter{next: sim.New(wc, problems...)}
	counts := map[string]*callCounter{}
	s := Study{Dir: dir, Base: Config{Problems: problems, Weak: weak, WeakModel: "sim:weak", Samples: 4,
		Continuations: 3, Seed: seed, Concurrency: 4, Strategies: []string{StrategyWeak, StrategyOnPolicy}}}
	for _, spec := range specs {
		c := &callCounter{next: sim.New(sims[spec], problems...)}
		counts[spec] = c
		s.Models = append(s.Models, StudyModel{Spec: spec, Completer: c})
	}
	return s, counts, weak
}

func TestAStudyContinuesTheSamePrefixesWithEveryModelAndAddingAModelPaysOnlyForIt(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	problems := dataset.GSM8KTest()[:40]
	s, counts, weak := studyFixture(dir, problems, 3, "sim:A", "sim:B", "sim:C")
	// The three models run at the same time: each one's first call waits
	// until all three have made one.
	s.Parallel = 3
	bar := newBarrier(len(s.Models))
	for i := range s.Models {
		s.Models[i].Completer = &barrierCompleter{next: s.Models[i].Completer, model: s.Models[i].Spec, b: bar}
	}
	res, err := RunStudy(ctx, s)
	require.NoError(t, err)
	require.Len(t, res.Models, 3)
	assert.True(t, bar.met, "every model was in a call at the same time")
	assert.Positive(t, weak.calls.Load(), "the shared stage calls the weak model")
	firstWeak := weak.calls.Load()
	for spec, c := range counts {
		assert.Positive(t, c.calls.Load(), spec)
	}

	// Every model continued the same weak prefix texts, and its own
	// on-policy ones.
	prefixes := map[string]map[string]string{}
	for _, spec := range []string{"sim:A", "sim:B", "sim:C"} {
		st, err := OpenStore(s.ModelDir(spec))
		require.NoError(t, err)
		rows, err := st.Prefixes(ctx, "")
		require.NoError(t, err)
		st.Close()
		prefixes[spec] = map[string]string{}
		onpolicy := 0
		for _, r := range rows {
			if r.Strategy == StrategyWeak && r.SetAside == "" && r.Error == "" {
				prefixes[spec][r.ProblemID] = r.Text
			}
			if r.Strategy == StrategyOnPolicy && r.SetAside == "" && r.Error == "" {
				onpolicy++
				assert.Equal(t, spec, r.Origin, "on-policy prefixes are the model's own")
			}
		}
		assert.Positive(t, onpolicy, spec)
	}
	require.NotEmpty(t, prefixes["sim:A"])
	assert.Equal(t, prefixes["sim:A"], prefixes["sim:B"])
	assert.Equal(t, prefixes["sim:A"], prefixes["sim:C"])

	// The weak stage cost nothing in a model's own directory.
	for _, m := range res.Models {
		assert.Zero(t, m.Summary.StageCost[StageWeak].Calls-m.Summary.StageCost[StageWeak].CachedCalls, m.Model)
		assert.Zero(t, m.Summary.StageCost[StagePerturb].Calls-m.Summary.StageCost[StagePerturb].CachedCalls, m.Model)
	}
	// Paired differences exist for the shared strategy only, on every pair.
	var pairs int
	for _, d := range res.Comparison.Paired {
		assert.Equal(t, StrategyWeak, d.Strategy)
		assert.Zero(t, d.Unpaired)
		if d.Bucket == "overall" {
			pairs++
			assert.Equal(t, len(prefixes["sim:A"]), d.Problems)
		}
	}
	assert.Equal(t, 3, pairs)
	// Latent buckets per model and strategy beside the observed ones, in
	// study.json and study.md.
	for _, m := range res.Comparison.Models {
		require.NotNil(t, m.Prior, m.Model)
		for _, st := range []string{StrategyWeak, StrategyOnPolicy} {
			rows := m.LatentRows(st)
			require.Len(t, rows, 3, "%s %s", m.Model, st)
			var expected float64
			for _, r := range rows {
				expected += r.Problems
			}
			assert.InDelta(t, len(problems), expected, 1e-6, "%s %s", m.Model, st)
		}
	}
	md, err := os.ReadFile(filepath.Join(dir, StudyMD))
	require.NoError(t, err)
	assert.Contains(t, string(md), "Latent buckets (true difficulty, estimated)")
	assert.Contains(t, string(md), "| sim:B | medium (true 0.2–0.8) |")
	for _, f := range []string{StudyMD, StudyJSON, PlotStudyPaired + ".png", PlotStudyRecoveryVsPass + ".png", PlotStudyRecoveryByBucket + ".svg", PlotStudyLatent + ".png"} {
		assert.FileExists(t, filepath.Join(dir, f))
	}
	assert.FileExists(t, filepath.Join(s.ModelDir("sim:B"), ReportMD))

	// Adding a fourth model: only it is called.
	before := map[string]int64{}
	for spec, c := range counts {
		before[spec] = c.calls.Load()
	}
	s2, counts2, weak2 := studyFixture(dir, problems, 3, "sim:A", "sim:B", "sim:C", "sim:D")
	res2, err := RunStudy(ctx, s2)
	require.NoError(t, err)
	assert.Zero(t, weak2.calls.Load(), "the weak model is not called again")
	for _, spec := range []string{"sim:A", "sim:B", "sim:C"} {
		assert.Zero(t, counts2[spec].calls.Load(), "%s is not called again", spec)
	}
	assert.Positive(t, counts2["sim:D"].calls.Load())
	assert.Len(t, res2.Models, 4)
	assert.Len(t, res2.Comparison.Paired, 6)
	for i := range 3 {
		assert.Equal(t, summaryJSON(t, res.Models[i].Summary), summaryJSON(t, res2.Models[i].Summary))
	}
	assert.Positive(t, firstWeak)
	b, err := os.ReadFile(filepath.Join(dir, StudyJSON))
	require.NoError(t, err)
	back, err := ReadStudy(bytes.NewReader(b))
	require.NoError(t, err)
	assert.Len(t, back.Models, 4)
}

func pricedStudy(dir string, problems []dataset.Problem) Study {
	s, _, _ := studyFixture(dir, problems, 5, "sim:A", "sim:B")
	price := providers.Price{InputPerM: 100, OutputPerM: 400}
	for i := range s.Models {
		cfg := studySims(5)[s.Models[i].Spec]
		cfg.Price = &price
		s.Models[i].Completer = sim.New(cfg, problems...)
	}
	wc := sim.Weak()
	wc.Seed, wc.Price = 5, &price
	s.Base.Weak = sim.New(wc, problems...)
	prices := providers.NewPriceTable()
	for _, m := range []string{"A", "B", "weak"} {
		prices.Set("sim", m, price)
	}
	s.Base.Prices, s.Base.MaxTokens = prices, 300
	return s
}

func TestAStudyBudgetCapsTheWholeStudy(t *testing.T) {
	ctx := context.Background()
	problems := dataset.GSM8KTest()[:20]
	full := pricedStudy(t.TempDir(), problems)
	_, err := RunStudy(ctx, full)
	require.NoError(t, err)
	total, err := full.studySpent(ctx, filepath.Join(full.Dir, StudyShared), "")
	require.NoError(t, err)
	shared, err := full.studySpent(ctx, "", "")
	require.NoError(t, err)
	shared = total - shared // studySpent(ctx, "", "") counts the models only

	// The two models run at the same time. Each costs about half of what
	// the models cost together; with only its own cap of what the study
	// had left when it started, each could finish alone and together they
	// would spend past the cap: they share one budget.
	s := pricedStudy(t.TempDir(), problems)
	s.Parallel = 2
	s.Base.BudgetUSD = shared + 0.6*(total-shared) // the shared stage and part of the models
	_, err = RunStudy(ctx, s)
	require.ErrorIs(t, err, providers.ErrBudgetExceeded)
	spent, err := s.studySpent(ctx, filepath.Join(s.Dir, StudyShared), "")
	require.NoError(t, err)
	assert.LessOrEqual(t, spent, s.Base.BudgetUSD+1e-9, "never spends past the study's budget, models running at the same time")
	assert.Greater(t, spent, shared, "the models spent part of the same budget")
	byStore, err := s.spentByStore(ctx, filepath.Join(s.Dir, StudyShared))
	require.NoError(t, err)
	for _, m := range s.Models {
		assert.Positive(t, byStore[s.ModelDir(m.Spec)], "%s spent part of the budget", m.Spec)
	}

	s.Base.BudgetUSD = total * 1.5
	_, err = RunStudy(ctx, s)
	require.NoError(t, err)
	spent, err = s.studySpent(ctx, filepath.Join(s.Dir, StudyShared), "")
	require.NoError(t, err)
	assert.InDelta(t, total, spent, 1e-9, "resuming finishes at the uninterrupted study's cost")
}

func TestAStudyRefusesBadConfigs(t *testing.T) {
	problems := dataset.GSM8KTest()[:3]
	cases := map[string]func(*Study){
		"no models":          func(s *Study) { s.Models = nil },
		"a model twice":      func(s *Study) { s.Models = append(s.Models, s.Models[0]) },
		"an unknown ref":     func(s *Study) { s.Reference = "sim:Z" },
		"no weak model":      func(s *Study) { s.Base.NoWeak = true },
		"a shared non-strat": func(s *Study) { s.Shared = []string{StrategyInject} },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			s, _, _ := studyFixture(t.TempDir(), problems, 1, "sim:A")
			mutate(&s)
			_, err := RunStudy(context.Background(), s)
			require.ErrorIs(t, err, ErrConfig)
		})
	}
}
