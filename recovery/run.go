package recovery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

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
	// Request.Model. With Strong (Weak) nil, Run opens the spec through
	// providers.Open, so the model is named once; a completer that was
	// opened for another model is refused by Preflight.
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
	// Temperature and MaxTokens are sent on every request; MaxTokens 0
	// means DefaultMaxTokens (a provider's own default can be as small as
	// 16 tokens).
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
	// unlimited. Models on one endpoint (the same provider and base URL)
	// share the limit, as they share the endpoint's ceiling: the stages
	// of the strong and weak models overlap. With RPM set, the calls
	// waiting for the limit are sent in the pipeline's priority order
	// (the weak model's tries first, continuations last).
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
	// ReasoningEffort is sent as Request.ReasoningEffort on the straight
	// shots and continuations ("" sends none; adapters refuse it where the
	// API has none).
	ReasoningEffort string `json:"reasoning_effort,omitempty"`
	// PrefillTarget says where a continuation's prefix goes for a reasoning
	// model (providers.PrefillTargetAnswer or PrefillTargetReasoning); ""
	// means the answer.
	PrefillTarget string `json:"prefill_target,omitempty"`
	// Inject controls StrategyInject's error (type, magnitude, position,
	// steps kept after it); the zero value is InjectError's default.
	Inject InjectOptions `json:"inject,omitempty"`
	// AllowUnpriced lets a run with BudgetUSD use models the price table
	// does not know (free local servers); without it Preflight refuses them.
	AllowUnpriced bool `json:"allow_unpriced,omitempty"`
	// Probe runs providers.ProbePrefill on the strong model before the
	// first stage (a few canary tokens) and stops the run unless the
	// endpoint continues prefixes in place; the result is kept in run.db
	// (Store.Probe) and the report. ForceProbe records a bad verdict and
	// runs anyway.
	Probe      bool `json:"probe,omitempty"`
	ForceProbe bool `json:"force_probe,omitempty"`
	// Batch sends every model call through the provider's batch API (half
	// price at OpenAI, Anthropic, Groq, Together) instead of live calls; see
	// BatchConfig in batchrun.go. A provider without one is a config error.
	Batch bool `json:"batch,omitempty"`
	// BatchMaxWait is how long a request waits for others before its batch
	// is submitted; 0 means providers.DefaultBatchMaxWait. BatchMaxSize
	// caps a batch; 0 means providers.DefaultBatchMaxSize.
	BatchMaxWait time.Duration `json:"batch_max_wait,omitempty"`
	BatchMaxSize int           `json:"batch_max_size,omitempty"`
	// BatchPoll is the first polling interval (growing ×1.5 to a minute);
	// 0 means providers.DefaultBatchPollInitial.
	BatchPoll time.Duration `json:"-"`
	// OnBatch hears about every batch submitted, re-attached and finished.
	OnBatch func(providers.BatchEvent) `json:"-"`
	// FixedPrior assigns buckets with the Binner's own prior (Jeffreys
	// unless set) instead of the default: a prior fitted to the strong
	// model's straight-shot counts (estimate.FitPrior, empirical Bayes).
	FixedPrior bool `json:"fixed_prior,omitempty"`
	// SharedBudget, if set, is a budget shared with other runs going on at
	// the same time (a Study's models): every call passes it as well as
	// BudgetUSD's own, in the same place (inside the cache, outside retries).
	SharedBudget *providers.Budget `json:"-"`
	// Source, used when Problems is nil, yields the problems a chunk at a
	// time, for runs too large to hold in memory: dataset.OpenStream reads
	// a file or a directory of shards. Run reads it twice — once to check
	// it against the run directory, store it and fingerprint it, once to
	// feed the stages — and holds only the chunk at hand and the problems
	// in flight. Problems, if set, is read as dataset.Slice(Problems).
	Source dataset.Source `json:"-"`

	admitted admitted // what admitProblems learned; set by Run
}

// InjectOptions are the perturb.InjectError options Run passes on.
type InjectOptions struct {
	Type      perturb.ErrorType `json:"type,omitempty"`
	Magnitude perturb.Magnitude `json:"magnitude,omitempty"`
	Position  perturb.Position  `json:"position,omitempty"`
	KeepAfter int               `json:"keep_after,omitempty"`
}

// Models is what a PerturberFactory gets from Run: the strong and weak
// completers, wrapped with the run's cache, budget, retries, rate limits and
// meter, and the strong model's straight-shot traces by problem ID.
type Models struct {
	Strong, Weak providers.Completer
	Traces       func(problemID string) []perturb.Trace
	// StrongModel and WeakModel are the specs (send RequestModel(spec) as
	// Request.Model); Verifier, Seed and Cut are the run's.
	StrongModel, WeakModel string
	Verifier               verify.Verifier
	Seed                   int64
	Cut                    perturb.Cut
}

// PerturberFactory builds a custom strategy's Perturber for Run.
type PerturberFactory func(m Models) (perturb.Perturber, error)

// ErrConfig is wrapped by Run's errors about an unusable Config.
var ErrConfig = errors.New("recovery: bad config")

func (c *Config) defaults() error {
	switch {
	case c.Dir == "":
		return fmt.Errorf("%w: Dir is empty", ErrConfig)
	case len(c.Problems) == 0 && c.Source == nil:
		return fmt.Errorf("%w: no Problems (set Problems or Source)", ErrConfig)
	case c.StrongModel == "":
		return fmt.Errorf("%w: StrongModel is required", ErrConfig)
	case !c.NoWeak && c.WeakModel == "":
		return fmt.Errorf("%w: WeakModel is required (or set NoWeak)", ErrConfig)
	}
	if err := c.openModels(); err != nil {
		return err
	}
	if c.Title == "" {
		c.Title = "Rebound recovery run"
	}
	if c.Verifier == nil {
		c.Verifier = verify.NewMath()
	}
	if err := c.maxTokensDefault(); err != nil {
		return err
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
	if err := cfg.preflight(); err != nil {
		return Summary{}, err
	}
	st, err := OpenStore(cfg.Dir)
	if err != nil {
		return Summary{}, err
	}
	defer st.Close()
	if err := admitProblems(ctx, st, &cfg); err != nil {
		return Summary{}, err
	}
	if cfg.Probe {
		if err := cfg.runProbe(ctx, st); err != nil {
			return Summary{}, err
		}
	}
	shown := cfg // the effective values, defaults filled in
	if shown.OnPolicyBand == ([2]float64{}) {
		shown.OnPolicyBand = perturb.DefaultBand
	}
	if b, err := json.Marshal(shown); err == nil {
		if err := st.SetConfig(ctx, "config", string(b)); err != nil {
			return Summary{}, err
		}
	}
	// A finished run resumed with nothing to do returns its summary at once.
	if sum, ok, err := finishedSummary(ctx, st, &cfg); err != nil || ok {
		if ok {
			// Every result was reused from the store: this invocation
			// made no call and resumed them all (Cost's definitions).
			sum.Invocation = Cost{Resumed: sum.Cost.Calls}
		}
		return sum, err
	}
	meter := &Meter{}
	var auto *AutoConcurrency
	if cfg.Concurrency == 0 && cfg.RPM > 0 {
		auto = NewAutoConcurrency(cfg.RPM * cfg.rateLimiters())
	}
	strong, weak, err := cfg.wrap(ctx, st, meter, auto)
	if err != nil {
		return Summary{}, err
	}
	exec := Exec{Concurrency: cfg.Concurrency, Auto: auto, Store: st, Meter: meter, Progress: cfg.Progress}
	if cfg.Batch && cfg.Concurrency == 0 {
		exec.Concurrency, exec.Auto = DefaultBatchConcurrency, nil
	}

	runErr := cfg.stages(ctx, exec, strong, weak)
	if _, err := LabelBehaviours(detach(ctx), st, false); err != nil {
		runErr = errors.Join(runErr, err)
	}
	sum, err := SummarizeBinned(detach(ctx), st, cfg.Binner)
	sum.Invocation = meter.Totals()
	if err != nil {
		return sum, errors.Join(runErr, err)
	}
	cfg.describeStatistics(&sum)
	if err := WriteReport(detach(ctx), cfg.Dir, sum, st, cfg.Title); err != nil {
		return sum, errors.Join(runErr, err)
	}
	if err := WriteTidy(detach(ctx), cfg.Dir, []TidySource{{Store: st, Model: cfg.StrongModel}}); err != nil {
		return sum, errors.Join(runErr, err)
	}
	if runErr == nil {
		if err := markFinished(detach(ctx), st, &cfg); err != nil {
			return sum, err
		}
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
			DefaultMaxTokens: cfg.MaxTokens, AllowUnpriced: cfg.AllowUnpriced, Batch: cfg.Batch})
	}
	// Models served by one endpoint (same provider and base URL: one
	// account or one server) share one rate limiter, so the two models'
	// stages, which overlap, stay within the endpoint's ceiling together.
	// Its waiters are let in by the pipeline's call priority (rateQueue).
	limiters := map[providers.Endpoint]providers.Middleware{}
	newLimiter := func() providers.Middleware {
		rl := providers.RateLimit(cfg.RPM, cfg.TPM)
		if cfg.RPM > 0 {
			rl = newRateQueue(cfg.RPM).limit(rl)
		}
		return rl
	}
	limiter := func(c providers.Completer) providers.Middleware {
		ep := providers.EndpointOf(c)
		if ep.Provider == "" {
			return newLimiter() // unknown: its own
		}
		if rl, ok := limiters[ep]; ok {
			return rl
		}
		rl := newLimiter()
		limiters[ep] = rl
		return rl
	}
	chain := func(c providers.Completer, spec string) (providers.Completer, error) {
		var mws []providers.Middleware
		mws = append(mws, meter.Model(spec))
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
		if cfg.SharedBudget != nil {
			mws = append(mws, cfg.SharedBudget.Middleware())
		}
		if cfg.Batch {
			mw, err := cfg.batchMiddleware(ctx, st, c, spec)
			if err != nil {
				return nil, err
			}
			return providers.Chain(c, append(mws, mw)...), nil
		}
		mws = append(mws, providers.Retry(cfg.Retry))
		if cfg.RPM > 0 || cfg.TPM > 0 {
			mws = append(mws, limiter(c))
		}
		if auto != nil {
			mws = append(mws, auto.Middleware())
		}
		return providers.Chain(c, mws...), nil
	}
	if strong, err = chain(cfg.Strong, cfg.StrongModel); err != nil {
		return nil, nil, err
	}
	if cfg.Weak != nil {
		if weak, err = chain(cfg.Weak, cfg.WeakModel); err != nil {
			return nil, nil, err
		}
	}
	return strong, weak, nil
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
		// Try i is the weak straight-shot sample i's request (same seed and
		// knobs, see StraightShot.request), so the first tries are cache hits.
		runSeed := cfg.Seed
		return &perturb.WeakModel{Completer: weak, Model: RequestModel(cfg.WeakModel), Verifier: cfg.Verifier,
			Cut: cfg.Cut, Seed: cfg.Seed, Temperature: cfg.Temperature, MaxTokens: cfg.MaxTokens,
			Prepare: func(p dataset.Problem, try int, req *providers.Request) {
				req.Seed = sampleSeed(&runSeed, weak, p.ID, StageWeak, try)
				req.ReasoningEffort = cfg.ReasoningEffort
			}}, nil
	case StrategyOnPolicy:
		return &perturb.OnPolicy{Traces: m.Traces,
			Band: cfg.OnPolicyBand, Origin: cfg.StrongModel, Cut: cfg.Cut, Seed: cfg.Seed}, nil
	case StrategyInject:
		inj := &perturb.InjectError{Trace: func(p dataset.Problem) string {
			for _, t := range m.Traces(p.ID) {
				if t.Correct {
					return t.Text
				}
			}
			return p.Solution
		}, Cut: cfg.Cut, Seed: cfg.Seed, Origin: cfg.StrongModel,
			Type: cfg.Inject.Type, Magnitude: cfg.Inject.Magnitude, Position: cfg.Inject.Position, KeepAfter: cfg.Inject.KeepAfter}
		if err := inj.Validate(); err != nil {
			return nil, fmt.Errorf("%w: Config.Inject: %v", ErrConfig, err)
		}
		return inj, nil
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

// SQLiteCache is the default Config.Cache: providers.Cache over a
// providers/sqlitecache store in the run's own database, so a rerun never
// pays for a call twice. A completion is stored even if ctx is cancelled
// the moment it arrives. It marks st as owning the cache, so PutSample can
// recognise a paid call whose row a crash lost (see Store.PutSample).
func SQLiteCache(st *Store) (providers.Middleware, error) {
	qc, err := st.completionCache()
	if err != nil {
		return nil, err
	}
	return providers.Cache(qc), nil
}

// completionCache is the store's one completion cache (in run.db), shared
// by SQLiteCache and the batch path.
func (st *Store) completionCache() (*queuedCache, error) {
	cs, err := sqlitecache.New(st.DB())
	if err != nil {
		return nil, err
	}
	st.ownCache.Store(true)
	qc, err := newQueuedCache(st, cs)
	if err != nil {
		cs.Close()
		return nil, err
	}
	if !st.qc.CompareAndSwap(nil, qc) {
		cs.Close() // statements only: the database is st's
		qc.get.Close()
		qc = st.qc.Load() // one queue of pending entries per store
	} else {
		qc.loadFilter()
	}
	return qc, nil
}

// spentUSD sums the dollars of every paid (non-cached) call in the store.
func (s *Store) spentUSD(ctx context.Context) (float64, error) {
	if err := s.Flush(ctx); err != nil {
		return 0, err
	}
	var v float64
	if err := s.db.QueryRowContext(ctx, `SELECT COALESCE(SUM(cost_usd), 0) FROM samples WHERE cached = 0`).Scan(&v); err != nil {
		return 0, fmt.Errorf("recovery: sum spending: %w", err)
	}
	if p, ok, err := s.Probe(ctx); err == nil && ok {
		v += p.CostUSD // the preflight probe's canaries
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
