package recovery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/rebound-lab/rebound/dataset"
	"github.com/rebound-lab/rebound/difficulty"
	"github.com/rebound-lab/rebound/perturb"
	"github.com/rebound-lab/rebound/providers"
	"github.com/rebound-lab/rebound/providers/sqlitecache"
	"github.com/rebound-lab/rebound/verify"
)

// Strategy names Run knows how to build.
const (
	StrategyWeak     = "weak"     // perturb.WeakModel on the weak model
	StrategyOnPolicy = "onpolicy" // perturb.OnPolicy on the strong model's own wrong samples
	StrategyInject   = "inject"   // perturb.InjectError on a correct strong sample (else the gold solution)
	StrategyLabeled  = "labeled"  // perturb.Labeled on Config.Labeled
)

// Config configures Run. Dir, Problems, Strong and Weak (with their model
// specs) are required; every other zero value means the documented default.
// Contexts are passed to Run, never stored here.
type Config struct {
	// Dir is the run directory: run.db, report.md, summary.json,
	// summary.csv, samples.jsonl and the plots. Rerunning with the same Dir
	// resumes.
	Dir string `json:"dir"`
	// Title heads report.md; "" means "Rebound recovery run".
	Title string `json:"title,omitempty"`
	// Problems to run on, with reference answers.
	Problems []dataset.Problem `json:"-"`
	// Strong and Weak are the models' raw completers; Run wraps them with
	// the cache (in run.db), the budget, retries, rate limits and a Meter.
	Strong providers.Completer `json:"-"`
	Weak   providers.Completer `json:"-"`
	// NoWeak skips the weak model: no weak calibration (the report's weak
	// pass rate is undefined) and Weak may be nil. StrategyWeak then cannot
	// be used.
	NoWeak bool `json:"no_weak,omitempty"`
	// StrongModel and WeakModel are their specs ("openai:gpt-4o",
	// "sim:strong"), recorded in every row; the model part is sent as
	// Request.Model.
	StrongModel string `json:"strong_model"`
	WeakModel   string `json:"weak_model"`
	// Verifier judges answers; nil means verify.NewMath().
	Verifier verify.Verifier `json:"-"`
	// Samples is the strong model's straight-shot samples per problem (the
	// maximum when Adaptive); 0 means DefaultSamples. WeakSamples likewise
	// for the weak model; 0 means Samples.
	Samples     int `json:"samples"`
	WeakSamples int `json:"weak_samples"`
	// Adaptive, if set, stops a problem's strong sampling once its bucket is
	// settled (Plan.Done); its Max overrides Samples.
	Adaptive *difficulty.Plan `json:"adaptive,omitempty"`
	// Binner sorts problems into buckets; nil means difficulty.DefaultBinner.
	Binner *difficulty.Binner `json:"-"`
	// Strategies lists the perturbations to run, by name; nil means
	// {"weak"}. Names in Perturbers use those; the built-in names are
	// StrategyWeak, StrategyOnPolicy, StrategyInject and StrategyLabeled.
	Strategies []string `json:"strategies"`
	// Perturbers adds or overrides strategies by name: each factory is
	// called once with the run's wrapped (cached, budgeted, metered)
	// completers and the strong model's straight-shot traces.
	Perturbers map[string]PerturberFactory `json:"-"`
	// Labeled holds the labelled traces for StrategyLabeled.
	Labeled *perturb.Labeled `json:"-"`
	// Cut is the truncation policy of the built-in strategies; nil means
	// each strategy's default.
	Cut perturb.Cut `json:"-"`
	// OnPolicyBand is OnPolicy's pass-rate band; zero means its default.
	OnPolicyBand [2]float64 `json:"onpolicy_band"`
	// Continuations is K, the continuations per prefix; 0 means
	// DefaultSamples.
	Continuations int `json:"continuations"`
	// PrefillMethod asks for a prefill dialect; "" means the adapter's own.
	PrefillMethod providers.PrefillMethod `json:"prefill_method,omitempty"`
	// Temperature and MaxTokens are sent on every request.
	Temperature *float64 `json:"temperature,omitempty"`
	MaxTokens   int      `json:"max_tokens,omitempty"`
	// Concurrency bounds calls in flight per stage; 0 means automatic:
	// with RPM set, enough to use the whole rate at the observed latency
	// (see AutoConcurrency), else DefaultConcurrency.
	Concurrency int `json:"concurrency"`
	// BudgetUSD caps the dollars spent by the run, counting what earlier
	// invocations on the same Dir already spent; 0 means no cap. Prices
	// prices the calls for it; nil means providers.DefaultPrices().
	BudgetUSD float64               `json:"budget_usd"`
	Prices    *providers.PriceTable `json:"-"`
	// RPM and TPM limit requests and tokens per minute per model; 0 means
	// unlimited.
	RPM int `json:"rpm"`
	TPM int `json:"tpm"`
	// Retry is the retry policy; the zero value means providers' defaults.
	Retry providers.RetryPolicy `json:"-"`
	// Seed seeds the perturbers' choices.
	Seed int64 `json:"seed"`
	// Cache builds the completion cache wrapped around each model, outside
	// the budget so hits cost nothing; nil means SQLiteCache (the cache
	// lives in run.db). It is called once per model.
	Cache func(st *Store) (providers.Middleware, error) `json:"-"`
	// NoCache turns the completion cache off (finished rows are still
	// reused on resume, but a perturber's calls would be repeated).
	NoCache bool `json:"no_cache,omitempty"`
	// Progress hears about every finished item of every stage.
	Progress func(Event) `json:"-"`
	// FixedPrior assigns buckets with the Binner's own prior (Jeffreys
	// unless set) instead of the default: a prior fitted to the strong
	// model's straight-shot counts (estimate.FitPrior, empirical Bayes).
	FixedPrior bool `json:"fixed_prior,omitempty"`
}

// Models is what a PerturberFactory gets from Run: the strong and weak
// completers, wrapped with the run's cache, budget, retries, rate limits and
// meter, and the strong model's straight-shot traces by problem ID.
type Models struct {
	Strong, Weak providers.Completer
	Traces       func(problemID string) []perturb.Trace
}

// PerturberFactory builds a custom strategy's Perturber for Run.
type PerturberFactory func(m Models) (perturb.Perturber, error)

// ErrConfig is wrapped by Run's errors about an unusable Config.
var ErrConfig = errors.New("recovery: bad config")

func (c *Config) defaults() error {
	switch {
	case c.Dir == "":
		return fmt.Errorf("%w: Dir is empty", ErrConfig)
	case len(c.Problems) == 0:
		return fmt.Errorf("%w: no Problems", ErrConfig)
	case c.Strong == nil || c.StrongModel == "":
		return fmt.Errorf("%w: Strong and StrongModel are required", ErrConfig)
	case !c.NoWeak && (c.Weak == nil || c.WeakModel == ""):
		return fmt.Errorf("%w: Weak and WeakModel are required (or set NoWeak)", ErrConfig)
	}
	if c.Title == "" {
		c.Title = "Rebound recovery run"
	}
	if c.Verifier == nil {
		c.Verifier = verify.NewMath()
	}
	if c.Samples <= 0 {
		c.Samples = DefaultSamples
	}
	if c.Adaptive != nil {
		if err := c.Adaptive.Validate(); err != nil {
			return fmt.Errorf("%w: Adaptive: %w", ErrConfig, err)
		}
		c.Samples = c.Adaptive.Max
	}
	if c.WeakSamples <= 0 {
		c.WeakSamples = c.Samples
	}
	if c.Binner == nil {
		c.Binner = difficulty.DefaultBinner()
	}
	if c.Adaptive != nil {
		if err := canStopEarly(*c.Adaptive, c.Binner); err != nil {
			return fmt.Errorf("%w: Adaptive: %w", ErrConfig, err)
		}
	}
	if c.OnPolicyBand == [2]float64{} {
		c.OnPolicyBand = perturb.DefaultBand // recorded as used, not [0, 0]
	}
	if len(c.Strategies) == 0 {
		c.Strategies = []string{StrategyWeak}
	}
	seen := map[string]bool{}
	for _, s := range c.Strategies {
		if seen[s] {
			return fmt.Errorf("%w: strategy %q listed twice", ErrConfig, s)
		}
		seen[s] = true
		if _, ok := c.Perturbers[s]; ok {
			continue
		}
		switch s {
		case StrategyWeak:
			if c.NoWeak {
				return fmt.Errorf("%w: strategy %q needs the weak model (NoWeak is set)", ErrConfig, s)
			}
		case StrategyOnPolicy, StrategyInject:
		case StrategyLabeled:
			if c.Labeled == nil {
				return fmt.Errorf("%w: strategy %q needs Labeled traces", ErrConfig, s)
			}
		default:
			return fmt.Errorf("%w: unknown strategy %q (built in: weak, onpolicy, inject, labeled)", ErrConfig, s)
		}
	}
	if c.Continuations <= 0 {
		c.Continuations = DefaultSamples
	}
	if c.Prices == nil {
		c.Prices = providers.DefaultPrices()
	}
	if c.BudgetUSD < 0 {
		return fmt.Errorf("%w: BudgetUSD %v is negative", ErrConfig, c.BudgetUSD)
	}
	return nil
}

// Run performs the whole experiment into cfg.Dir and returns its Summary:
// straight-shot calibration of the strong and weak models, binning,
// each perturbation strategy, continuation, and the report (report.md,
// summary.json, summary.csv, samples.jsonl, plots).
//
// Every result is written to the run's Store as it arrives, and finished
// rows are reused, so calling Run again on the same Dir after a crash or a
// cancellation resumes without repeating finished calls. On a fatal error
// (cancellation, budget exhausted, a permanent provider error such as a bad
// key — see IsFatal) Run still writes the report of what finished and
// returns the error.
func Run(ctx context.Context, cfg Config) (Summary, error) {
	if err := cfg.defaults(); err != nil {
		return Summary{}, err
	}
	st, err := OpenStore(cfg.Dir)
	if err != nil {
		return Summary{}, err
	}
	defer st.Close()
	if err := checkIdentity(ctx, st, &cfg); err != nil {
		return Summary{}, err
	}
	if b, err := json.Marshal(cfg); err == nil {
		if err := st.SetConfig(ctx, "config", string(b)); err != nil {
			return Summary{}, err
		}
	}
	if err := st.PutProblems(ctx, cfg.Problems); err != nil {
		return Summary{}, err
	}
	meter := &Meter{}
	var auto *AutoConcurrency
	if cfg.Concurrency == 0 && cfg.RPM > 0 {
		auto = NewAutoConcurrency(cfg.RPM)
	}
	strong, weak, err := cfg.wrap(ctx, st, meter, auto)
	if err != nil {
		return Summary{}, err
	}
	exec := Exec{Concurrency: cfg.Concurrency, Auto: auto, Store: st, Meter: meter, Progress: cfg.Progress}

	runErr := cfg.stages(ctx, exec, strong, weak)
	sum, err := SummarizeBinned(detach(ctx), st, cfg.Binner)
	if err != nil {
		return sum, errors.Join(runErr, err)
	}
	cfg.describeStatistics(&sum)
	if err := WriteReport(detach(ctx), cfg.Dir, sum, st, cfg.Title); err != nil {
		return sum, errors.Join(runErr, err)
	}
	return sum, runErr
}

// wrap builds each model's middleware chain, outermost first: Meter, cache,
// pricing, budget, retry, rate limit, and (with auto) the latency observer.
func (cfg *Config) wrap(ctx context.Context, st *Store, meter *Meter, auto *AutoConcurrency) (strong, weak providers.Completer, err error) {
	var budget *providers.Budget
	if cfg.BudgetUSD > 0 {
		spent, err := st.spentUSD(ctx)
		if err != nil {
			return nil, nil, err
		}
		if spent >= cfg.BudgetUSD {
			return nil, nil, fmt.Errorf("recovery: budget of $%.2f already spent ($%.4f in %s): %w",
				cfg.BudgetUSD, spent, st.Path(), providers.ErrBudgetExceeded)
		}
		budget = providers.NewBudget(providers.BudgetConfig{LimitUSD: cfg.BudgetUSD - spent, Prices: cfg.Prices,
			DefaultMaxTokens: cfg.MaxTokens})
	}
	chain := func(c providers.Completer) (providers.Completer, error) {
		var mws []providers.Middleware
		mws = append(mws, meter.Middleware())
		if !cfg.NoCache {
			mk := cfg.Cache
			if mk == nil {
				mk = SQLiteCache
			}
			mw, err := mk(st)
			if err != nil {
				return nil, fmt.Errorf("recovery: cache: %w", err)
			}
			if mw != nil {
				mws = append(mws, mw)
			}
		}
		// Price what the adapter did not (most APIs report tokens, not
		// dollars), so rows, the Meter and the resumed budget see the cost.
		mws = append(mws, providers.Pricing(cfg.Prices))
		if budget != nil {
			mws = append(mws, budget.Middleware())
		}
		mws = append(mws, providers.Retry(cfg.Retry))
		if cfg.RPM > 0 || cfg.TPM > 0 {
			mws = append(mws, providers.RateLimit(cfg.RPM, cfg.TPM))
		}
		if auto != nil {
			mws = append(mws, auto.Middleware())
		}
		return providers.Chain(c, mws...), nil
	}
	if strong, err = chain(cfg.Strong); err != nil {
		return nil, nil, err
	}
	if cfg.Weak != nil {
		if weak, err = chain(cfg.Weak); err != nil {
			return nil, nil, err
		}
	}
	return strong, weak, nil
}

func (cfg *Config) stages(ctx context.Context, exec Exec, strong, weak providers.Completer) error {
	problems := cfg.Problems
	ss := &StraightShot{Exec: exec, Stage: StageStrong, Model: cfg.StrongModel, Completer: strong,
		Verifier: cfg.Verifier, Samples: cfg.Samples, Temperature: cfg.Temperature, MaxTokens: cfg.MaxTokens}
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
			if s.Error == "" {
				traces[c.Problem.ID] = append(traces[c.Problem.ID],
					perturb.Trace{Text: s.Response, Correct: s.Correct, Origin: cfg.StrongModel, Sample: s.Sample})
			}
		}
	}
	strongCals = nil // only the traces are needed from here on
	if !cfg.NoWeak {
		ws := &StraightShot{Exec: exec, Stage: StageWeak, Model: cfg.WeakModel, Completer: weak,
			Verifier: cfg.Verifier, Samples: cfg.WeakSamples, Temperature: cfg.Temperature, MaxTokens: cfg.MaxTokens}
		if _, err := ws.Run(ctx, problems); err != nil {
			return err
		}
	}
	var prefixes []PrefixResult
	for _, name := range cfg.Strategies {
		p, err := cfg.perturber(name, Models{Strong: strong, Weak: weak,
			Traces: func(id string) []perturb.Trace { return traces[id] }})
		if err != nil {
			return err
		}
		ps := &PerturbStage{Exec: exec, Strategy: name, Perturber: p}
		res, err := ps.Run(ctx, problems)
		if err != nil {
			return err
		}
		prefixes = append(prefixes, res...)
	}
	cs := &Continue{Exec: exec, Model: cfg.StrongModel, Completer: strong, Verifier: cfg.Verifier,
		K: cfg.Continuations, PrefillMethod: cfg.PrefillMethod, Temperature: cfg.Temperature, MaxTokens: cfg.MaxTokens}
	_, err = cs.Run(ctx, prefixes)
	return err
}

func (cfg *Config) perturber(name string, m Models) (perturb.Perturber, error) {
	if f, ok := cfg.Perturbers[name]; ok {
		p, err := f(m)
		if err != nil {
			return nil, fmt.Errorf("recovery: strategy %q: %w", name, err)
		}
		return p, nil
	}
	weak := m.Weak
	switch name {
	case StrategyWeak:
		return &perturb.WeakModel{Completer: weak, Model: RequestModel(cfg.WeakModel), Verifier: cfg.Verifier,
			Cut: cfg.Cut, Seed: cfg.Seed, Temperature: cfg.Temperature, MaxTokens: cfg.MaxTokens}, nil
	case StrategyOnPolicy:
		return &perturb.OnPolicy{Traces: m.Traces,
			Band: cfg.OnPolicyBand, Origin: cfg.StrongModel, Cut: cfg.Cut, Seed: cfg.Seed}, nil
	case StrategyInject:
		return &perturb.InjectError{Trace: func(p dataset.Problem) string {
			for _, t := range m.Traces(p.ID) {
				if t.Correct {
					return t.Text
				}
			}
			return p.Solution
		}, Cut: cfg.Cut, Seed: cfg.Seed, Origin: cfg.StrongModel}, nil
	case StrategyLabeled:
		l := *cfg.Labeled
		if cfg.Cut != nil {
			l.Cut = cfg.Cut
		}
		l.Seed = cfg.Seed
		return &l, nil
	}
	return nil, fmt.Errorf("%w: unknown strategy %q", ErrConfig, name)
}

// identity is what a run directory's finished rows depend on: resuming with
// different values would silently mix two experiments.
type identity struct {
	StrongModel   string                  `json:"strong_model"`
	WeakModel     string                  `json:"weak_model"`
	Seed          int64                   `json:"seed"`
	Temperature   *float64                `json:"temperature"`
	MaxTokens     int                     `json:"max_tokens"`
	PrefillMethod providers.PrefillMethod `json:"prefill_method"`
}

// checkIdentity records the run's identity on first use of a directory and
// refuses to resume one made with different models or sampling settings.
// (Adding problems, samples, continuations or strategies is fine: finished
// rows are kept and the rest is added.)
func checkIdentity(ctx context.Context, st *Store, cfg *Config) error {
	id := identity{cfg.StrongModel, cfg.WeakModel, cfg.Seed, cfg.Temperature, cfg.MaxTokens, cfg.PrefillMethod}
	if cfg.NoWeak {
		id.WeakModel = ""
	}
	b, err := json.Marshal(id)
	if err != nil {
		return fmt.Errorf("recovery: run identity: %w", err)
	}
	prev, ok, err := st.Config(ctx, "identity")
	if err != nil {
		return err
	}
	if !ok {
		return st.SetConfig(ctx, "identity", string(b))
	}
	if prev != string(b) {
		return fmt.Errorf("%w: %s was made with %s, not %s; use a new run directory (or delete it)", ErrConfig,
			st.Dir(), prev, b)
	}
	return nil
}

// SQLiteCache is the default Config.Cache: providers.Cache over a
// providers/sqlitecache store in the run's own database, so a rerun never
// pays for a call twice. A completion is stored even if ctx is cancelled
// the moment it arrives. It marks st as owning the cache, so PutSample can
// recognise a paid call whose row a crash lost (see Store.PutSample).
func SQLiteCache(st *Store) (providers.Middleware, error) {
	cs, err := sqlitecache.New(st.DB())
	if err != nil {
		return nil, err
	}
	st.ownCache.Store(true)
	return providers.Cache(detachedPuts{cs}), nil
}

// detachedPuts stores a paid completion even when the caller's context is
// cancelled just as it arrives.
type detachedPuts struct{ providers.CacheStore }

func (d detachedPuts) Put(ctx context.Context, key string, req providers.Request, c providers.Completion) error {
	return d.CacheStore.Put(context.WithoutCancel(ctx), key, req, c)
}

// spentUSD sums the dollars of every paid (non-cached) call in the store.
func (s *Store) spentUSD(ctx context.Context) (float64, error) {
	var v float64
	if err := s.db.QueryRowContext(ctx, `SELECT COALESCE(SUM(cost_usd), 0) FROM samples WHERE cached = 0`).Scan(&v); err != nil {
		return 0, fmt.Errorf("recovery: sum spending: %w", err)
	}
	return v, nil
}

// BucketNames returns the bucket names in s, in order.
func (s Summary) BucketNames() []string {
	names := make([]string, len(s.Buckets))
	for i, b := range s.Buckets {
		names[i] = b.Name
	}
	return slices.Clip(names)
}
