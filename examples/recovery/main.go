// Command recovery runs Rebound's whole experiment: straight-shot
// calibration of a strong and a weak model, fuzzy difficulty buckets, flawed
// prefixes, continuation by the strong model, and a per-bucket report with
// clustered confidence intervals and plots.
//
// With no flags and no keys it runs offline on the built-in simulator
// (sim:strong, sim:weak) over 100 embedded GSM8K problems:
//
//	go run ./examples/recovery
//
// Real models are named provider:model, with keys from <PROVIDER>_API_KEY
// and base URLs from <PROVIDER>_BASE_URL:
//
//	go run ./examples/recovery -strong anthropic:claude-sonnet-4-5 -weak openai:gpt-4o-mini -dry-run
//	go run ./examples/recovery -strong anthropic:claude-sonnet-4-5 -weak openai:gpt-4o-mini -budget 5
//
// Rerunning the same command resumes in the same -out directory: finished
// calls are never paid for again.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rebound-lab/rebound/dataset"
	"github.com/rebound-lab/rebound/difficulty"
	"github.com/rebound-lab/rebound/perturb"
	"github.com/rebound-lab/rebound/providers"
	_ "github.com/rebound-lab/rebound/providers/anthropic" // registers "anthropic"
	_ "github.com/rebound-lab/rebound/providers/openai"    // registers the OpenAI-compatible providers
	"github.com/rebound-lab/rebound/providers/sim"
	"github.com/rebound-lab/rebound/recovery"
)

// Serve, if set, serves the viewer for a run directory on addr until ctx
// ends. The -serve flag calls it; it is wired to recovery/viewer by the
// viewer's package.
var Serve func(ctx context.Context, addr, dir string) error

// Memory: the stages and the report stream their rows (the live heap stays
// at tens of MB at a million problems), so the collector keeps Go's
// default target (GOGC 100; a lower one cost about 9 % more CPU at 10,000
// problems for 6 MB less RSS). Unless GOMEMLIMIT says otherwise, the soft
// memory limit (above it the collector works harder; it never fails an
// allocation) is sized from the machine: three quarters of the memory
// this process may use (the cgroup limit, else the physical memory; none
// if neither can be read). A fixed small limit made large runs collect
// back to back (47 % of CPU at 20,000 problems) without lowering the live
// heap.
func main() {
	if os.Getenv("GOMEMLIMIT") == "" {
		if limit := machineMemory() / 4 * 3; limit > 0 {
			debug.SetMemoryLimit(limit)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

type options struct {
	dataset, strong, weak, perturbs, cut, out, serve, labeled string
	limit, samples, continuations, concurrency, rpm, tpm      int
	budget                                                    float64
	timeout                                                   time.Duration
	seed                                                      int64
	adaptive, dryRun, quiet                                   bool
	samplesSet                                                bool // -samples given explicitly
	maxTokens                                                 int
	reasoningEffort, prefillTarget                            string
	injectType, injectMagnitude, injectPosition               string
	injectKeepAfter                                           int
	simBehaviours                                             bool
	// preflight (preflight.go)
	probe, prices, prefill  string
	allowUnpriced           bool
	confirmCalls            int
	screen                  int
	screenOut               string
	batch                   bool
	batchMaxWait, batchPoll time.Duration
	reference               string
	// Issue 13: the planner, the prior and the temperature.
	plan, prior         string
	planHalf, planDelta float64
	temperature         *float64
	// Issue 17: models of a study at the same time.
	parallel int
	// cpuProfile is -cpuprofile's file: the run's CPU profile (pprof).
	cpuProfile string
}

func parse(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("recovery", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.dataset, "dataset", "gsm8k", "problems: gsm8k | math500 (embedded) | path to a .jsonl or .parquet file, or a directory or glob of such shards (quote the glob)")
	fs.IntVar(&o.limit, "limit", 100, "use the first N problems (0 = all)")
	fs.StringVar(&o.strong, "strong", "sim:strong", "strong model `SPEC` (provider:model); several, comma-separated, run a study: every model continues the same weak prefixes")
	fs.StringVar(&o.reference, "reference", "", "in a study, bin every model by this strong model's calibration (common buckets)")
	fs.IntVar(&o.parallel, "parallel", 1, "in a study, run up to `N` strong models at the same time (each with -concurrency calls in flight; one shared -budget)")
	fs.StringVar(&o.weak, "weak", "sim:weak", "weak model `SPEC` (provider:model)")
	fs.IntVar(&o.samples, "samples", recovery.DefaultSamples, "straight-shot samples per problem (the maximum with -adaptive)")
	fs.BoolVar(&o.adaptive, "adaptive", false, "stop sampling a problem once its bucket is settled (difficulty.DefaultPlan: min 2, max 12 or -samples if given, confidence 0.8)")
	fs.IntVar(&o.continuations, "continuations", recovery.DefaultSamples, "continuations per prefix")
	fs.StringVar(&o.perturbs, "perturb", "weak", "comma-separated strategies: weak, onpolicy, inject, labeled")
	fs.StringVar(&o.labeled, "labeled", "", "labelled traces (MR-GSM8K, BIG-Bench Mistake or PRMBench JSONL) for -perturb labeled")
	fs.StringVar(&o.cut, "cut", "default", "truncation: default, random, random:LO-HI, fraction:F, at:K, error")
	fs.StringVar(&o.out, "out", filepath.Join("runs", "recovery"), "run `DIR` (rerun with the same DIR to resume)")
	fs.Float64Var(&o.budget, "budget", 0, "stop before spending more than `USD` in this run directory (0 = no cap)")
	fs.IntVar(&o.concurrency, "concurrency", 0, "calls in flight (0 = automatic: with -rpm, enough to use the whole rate at the observed latency; else 8)")
	fs.IntVar(&o.rpm, "rpm", 0, "requests per minute per model; models on one endpoint share it (0 = unlimited)")
	fs.IntVar(&o.tpm, "tpm", 0, "tokens per minute per model; models on one endpoint share it (0 = unlimited)")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Minute, "abandon one attempt of a call after `D` and retry it (a hung connection costs a timeout, not the run)")
	fs.Int64Var(&o.seed, "seed", 1, "seed for the simulator and the perturbations")
	fs.BoolVar(&o.dryRun, "dry-run", false, "run on the simulator priced as the named models, in DIR-dryrun (replaced each time); estimate calls, tokens and dollars")
	fs.StringVar(&o.serve, "serve", "", "after the run, serve the viewer on `ADDR` (e.g. 127.0.0.1:8080)")
	fs.BoolVar(&o.quiet, "quiet", false, "no progress bar")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write the run's CPU profile to `FILE` (go tool pprof FILE)")
	fs.IntVar(&o.maxTokens, "max-tokens", recovery.DefaultMaxTokens, "output token limit sent on every request (reasoning models spend part of it reasoning)")
	fs.StringVar(&o.prefillTarget, "prefill-target", "", "where the prefix goes for a reasoning model: answer (default) or reasoning (raw_completion with a qwen3, deepseek-r1 or gpt-oss template)")
	fs.StringVar(&o.reasoningEffort, "reasoning-effort", "", "reasoning_effort for reasoning models: none, minimal, low, medium, high, xhigh, max (\"\" = send none)")
	fs.StringVar(&o.injectType, "inject-type", "", "-perturb inject error type: arithmetic, operand, sign, scale, off_by_one (default arithmetic)")
	fs.StringVar(&o.injectMagnitude, "inject-magnitude", "", "-perturb inject magnitude: small or large (default: small slips of any relative size)")
	fs.StringVar(&o.injectPosition, "inject-position", "", "-perturb inject position: early, middle or late third of the steps (default: any)")
	fs.IntVar(&o.injectKeepAfter, "inject-keep-after", 0, "-perturb inject: keep `K` steps after the error in the prefix")
	fs.BoolVar(&o.simBehaviours, "sim-behaviours", false, "simulated strong model continues flawed prefixes with sim.DefaultBehaviours (explicit/silent/restart/propagated/other by magnitude and position)")
	preflightFlags(fs, &o)
	fs.IntVar(&o.screen, "screen", 0, "screen mode: only the strong model's straight shots, adaptive up to -samples; write up to `N` problems per observed bucket as a dataset file (0 = off)")
	fs.StringVar(&o.screenOut, "screen-out", "", "the dataset `FILE` -screen writes (default DIR/"+recovery.ScreenFile+")")
	fs.BoolVar(&o.batch, "batch", false, "send every call through the provider's batch API (half price at openai, anthropic, groq, together; slower: results can take up to 24h)")
	fs.DurationVar(&o.batchMaxWait, "batch-max-wait", providers.DefaultBatchMaxWait, "with -batch, how long a request waits for others before its batch is submitted")
	fs.DurationVar(&o.batchPoll, "batch-poll", providers.DefaultBatchPollInitial, "with -batch, the first polling interval (it grows ×1.5 to 1m)")
	fs.StringVar(&o.plan, "plan", "", "plan a study from the pilot run `DIR` (its summary.json) and exit: problems × samples × continuations for -plan-halfwidth or -plan-delta, and the cost")
	fs.Float64Var(&o.planHalf, "plan-halfwidth", 0.05, "with -plan: target 95% half-width of every bucket's recovery interval")
	fs.Float64Var(&o.planDelta, "plan-delta", 0, "with -plan: also detect this difference in recovery between two buckets at 80% power")
	fs.StringVar(&o.prior, "prior", "fitted", "difficulty prior for bucket memberships: fitted (empirical Bayes on the strong model's counts) or jeffreys")
	fs.Func("temperature", "sampling temperature sent on every request and recorded (default: the provider's own, which no one can report)", func(v string) error {
		t, err := strconv.ParseFloat(v, 64)
		if err != nil || t < 0 || t > 2 {
			return fmt.Errorf("want a number in [0, 2], got %q", v)
		}
		o.temperature = &t
		return nil
	})
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	fs.Visit(func(f *flag.Flag) { o.samplesSet = o.samplesSet || f.Name == "samples" })
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q (flags only; see -h)", fs.Args())
	}
	if o.batchMaxWait < 0 || o.batchPoll < 0 {
		return o, errors.New("-batch-max-wait and -batch-poll must be ≥ 0")
	}
	if o.screen < 0 {
		return o, errors.New("-screen must be ≥ 0 (problems per bucket; 0 = off)")
	}
	if o.prefillTarget != "" && o.prefillTarget != providers.PrefillTargetAnswer && o.prefillTarget != providers.PrefillTargetReasoning {
		return o, fmt.Errorf("-prefill-target %q: want %q or %q", o.prefillTarget, providers.PrefillTargetAnswer, providers.PrefillTargetReasoning)
	}
	if o.maxTokens < 1 {
		return o, fmt.Errorf("-max-tokens %d: want ≥ 1 (default %d)", o.maxTokens, recovery.DefaultMaxTokens)
	}
	if err := checkFlags(o); err != nil {
		return o, err
	}
	if o.prior != "fitted" && o.prior != "jeffreys" {
		return o, fmt.Errorf("-prior %q: want fitted or jeffreys", o.prior)
	}
	if o.plan != "" && !(o.planHalf > 0) && !(o.planDelta > 0) {
		return o, errors.New("-plan needs -plan-halfwidth > 0 or -plan-delta > 0")
	}
	return o, nil
}

// openProblems opens -dataset: a built-in set in memory, or a file or
// shards as a stream (src, problems nil) that Run reads a chunk at a time,
// never holding it; -limit keeps the first N either way.
func openProblems(name string, limit int) (problems []dataset.Problem, src dataset.Source, err error) {
	if name == "gsm8k" || name == "math500" || !looksLikeFile(name) {
		problems, err = loadProblems(name, limit)
		return problems, nil, err
	}
	s, err := dataset.OpenStream(name) // a file, or a directory or glob of shards, read in order
	if err != nil {
		return nil, nil, fmt.Errorf("-dataset %s: %w", name, err)
	}
	return nil, dataset.Limit(s, limit), nil
}

func loadProblems(name string, limit int) ([]dataset.Problem, error) {
	var ps []dataset.Problem
	switch name {
	case "gsm8k":
		ps = dataset.GSM8KTest()
	case "math500":
		ps = dataset.MATH500()
	default:
		if !looksLikeFile(name) {
			return nil, fmt.Errorf("-dataset %q: not a built-in dataset (built in: gsm8k, math500) nor a .jsonl, .ndjson or .parquet file", name)
		}
		var err error
		if dataset.IsShards(name) {
			ps, err = dataset.OpenShards(name) // a directory or glob of shards, read in order
		} else {
			ps, err = dataset.Open(name)
		}
		if err != nil {
			return nil, fmt.Errorf("-dataset %s: %w", name, err)
		}
	}
	if limit > 0 && limit < len(ps) {
		ps = ps[:limit]
	}
	if len(ps) == 0 {
		return nil, fmt.Errorf("dataset %s has no problems", name)
	}
	return ps, nil
}

// simKnows is how a simulator knows the run's problems: taught them (held
// in memory), or, for a streamed -dataset, finding each in the run's store
// as it is asked about (recovery.StoredProblems), holding none.
type simKnows struct {
	problems []dataset.Problem
	stored   *recovery.StoredProblems
}

func (k simKnows) solver(c sim.Config) *sim.Solver {
	if k.stored != nil {
		return sim.NewFinder(c, k.stored)
	}
	return sim.New(c, k.problems...)
}

// simFor returns the simulator standing in for spec: the preset named by a
// sim spec, else the strong or weak preset priced as the real model.
func simFor(spec string, strong bool, seed int64, problems simKnows, prices *providers.PriceTable) (providers.Completer, string, error) {
	provider, model, err := providers.ParseSpec(spec)
	if err != nil {
		return nil, "", err
	}
	cfg := sim.Weak()
	if strong {
		cfg = sim.Strong()
	}
	note := "free"
	if provider == "sim" {
		switch model {
		case "strong":
			cfg = sim.Strong()
		case "weak":
			cfg = sim.Weak()
		default:
			return nil, "", fmt.Errorf("spec %q: unknown simulator model (known: sim:strong, sim:weak)", spec)
		}
	} else {
		price, ok := prices.Lookup(provider, model)
		if !ok {
			return nil, "", fmt.Errorf("-dry-run: no price for %s in the price table; the estimate would be $0", spec)
		}
		cfg.Price = &price
		note = fmt.Sprintf("simulated, priced as %s: $%g/M input, $%g/M output", spec, price.InputPerM, price.OutputPerM)
	}
	cfg.Seed = seed
	return problems.solver(cfg), note, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	stderr = syncWriter(stderr) // the progress bar and the batch collectors both write to it
	o, err := parse(args, stderr)
	if err != nil {
		return err
	}
	if o.cpuProfile != "" {
		stopProfile, err := startCPUProfile(o.cpuProfile, stderr)
		if err != nil {
			return err
		}
		defer stopProfile()
	}
	if o.plan != "" {
		return plan(ctx, o, stdout)
	}
	problems, src, err := openProblems(o.dataset, o.limit)
	if err != nil {
		return err
	}
	if src != nil && (o.screen > 0 || strings.Contains(o.strong, ",")) {
		// A screen and a study take their problems in memory.
		if problems, err = dataset.Collect(ctx, src); err != nil {
			return fmt.Errorf("-dataset %s: %w", o.dataset, err)
		}
		if len(problems) == 0 {
			return fmt.Errorf("dataset %s has no problems", o.dataset)
		}
		src = nil
	}
	cut, err := recovery.ParseCut(o.cut)
	if err != nil {
		return err
	}
	inject := recovery.InjectOptions{Type: perturb.ErrorType(o.injectType), Magnitude: perturb.Magnitude(o.injectMagnitude),
		Position: perturb.Position(o.injectPosition), KeepAfter: o.injectKeepAfter}
	if err := (&perturb.InjectError{Type: inject.Type, Magnitude: inject.Magnitude, Position: inject.Position,
		KeepAfter: inject.KeepAfter}).Validate(); err != nil {
		return fmt.Errorf("-inject-type/-magnitude/-position/-keep-after: %w", err)
	}
	cfg := recovery.Config{
		Dir: o.out, Problems: problems, Source: src, StrongModel: o.strong, WeakModel: o.weak,
		Samples: o.samples, Continuations: o.continuations, Cut: cut, Concurrency: o.concurrency,
		BudgetUSD: o.budget, RPM: o.rpm, TPM: o.tpm, Seed: o.seed,
		MaxTokens: o.maxTokens, ReasoningEffort: o.reasoningEffort, PrefillTarget: o.prefillTarget,
		Retry:  providers.RetryPolicy{AttemptTimeout: o.timeout},
		Title:  fmt.Sprintf("Recovery: %s continuing flawed prefixes on %s", o.strong, o.dataset),
		Inject: inject,
	}
	for _, s := range strings.Split(o.perturbs, ",") {
		if s = strings.TrimSpace(s); s != "" {
			cfg.Strategies = append(cfg.Strategies, s)
		}
	}
	if slices.Contains(cfg.Strategies, recovery.StrategyLabeled) && o.labeled == "" {
		return errors.New("-perturb labeled needs -labeled FILE: the labelled traces (MR-GSM8K, BIG-Bench Mistake or PRMBench JSONL)")
	}
	if err := o.configure(&cfg); err != nil {
		return err
	}
	if o.labeled != "" {
		set, err := perturb.LoadLabeled(o.labeled)
		if err != nil {
			return err
		}
		all := src
		if all == nil {
			all = dataset.Slice(problems)
		}
		if err := all.Each(ctx, func(chunk []dataset.Problem) error {
			set.AttachAnswers(chunk)
			return nil
		}); err != nil {
			return fmt.Errorf("-dataset %s: %w", o.dataset, err)
		}
		cfg.Labeled = perturb.NewLabeled(set.Traces)
	}
	cfg.FixedPrior = o.prior == "jeffreys"
	cfg.Temperature = o.temperature
	if o.adaptive {
		// Without -samples the plan's own maximum (12): the measured saving
		// (≥ 40 % fewer calls than a fixed N = 10) is for that plan.
		plan := difficulty.DefaultPlan()
		if o.samplesSet {
			plan.Max = o.samples
			plan.Min = min(plan.Min, plan.Max)
		}
		cfg.Adaptive = &plan
	}
	if specs, err := strongSpecs(o.strong); err != nil {
		return err
	} else if len(specs) > 1 {
		return runStudy(ctx, o, specs, cfg, stdout, stderr)
	}
	prices := cfg.Prices
	know := simKnows{problems: problems}
	if src != nil {
		stored := recovery.NewStoredProblems(o.out)
		if o.dryRun {
			stored = recovery.NewStoredProblems(o.out + "-dryrun")
		}
		defer stored.Close()
		know.stored = stored
	}
	if o.dryRun {
		// A dry run never mixes simulated rows into a real run's directory,
		// and starts afresh each time (its scratch directory is its own).
		cfg.Dir = o.out + "-dryrun"
		if _, err := os.Stat(filepath.Join(cfg.Dir, recovery.StoreFile)); err == nil {
			if err := os.RemoveAll(cfg.Dir); err != nil {
				return err
			}
		}
		var noteS, noteW string
		if cfg.Strong, noteS, err = simFor(o.strong, true, o.seed, know, prices); err != nil {
			return err
		}
		if cfg.Weak, noteW, err = simFor(o.weak, false, o.seed, know, prices); err != nil {
			return err
		}
		cfg.BudgetUSD = 0 // a dry run spends nothing; it estimates
		fmt.Fprintf(stdout, "dry run on the simulator\n  strong %s: %s\n  weak   %s: %s\n", o.strong, noteS, o.weak, noteW)
		if err := dryRunPreflight(cfg, o, stdout); err != nil {
			return err
		}
	} else {
		if cfg.Strong, cfg.Weak, err = openModels(o.strong, o.weak, o.seed, know); err != nil {
			return err
		}
		if err := announce(cfg, o, stdout); err != nil {
			return err
		}
	}
	if o.simBehaviours {
		sv, ok := cfg.Strong.(*sim.Solver)
		if !ok {
			return fmt.Errorf("-sim-behaviours: the strong model %s is not the simulator (use sim:strong or -dry-run)", o.strong)
		}
		c := sv.Config()
		c.Behaviours = sim.DefaultBehaviours()
		cfg.Strong = know.solver(c)
	}
	var plan map[string]int
	if !o.quiet {
		plan = estimateItems(cfg) // a count of a streamed -dataset: one more pass
	}
	bar := newProgress(stderr, o.quiet, plan)
	defer bar.finish()
	var batchStats *batchProgress
	if o.batch {
		if batchStats, err = useBatch(&cfg, o, stderr); err != nil {
			return err
		}
	}
	if !o.quiet {
		cfg.Progress = bar.event
	}

	start := time.Now()
	if o.screen > 0 {
		return screen(ctx, cfg, o, stdout, start)
	}
	sum, runErr := recovery.Run(ctx, cfg)
	bar.finish()
	if runErr != nil && errors.Is(runErr, recovery.ErrConfig) {
		return hint(runErr)
	}
	fmt.Fprintf(stdout, "\n%s\n", sum.Table())
	c, inv := sum.Cost, sum.Invocation
	fmt.Fprintf(stdout, "run: %d calls (%d paid, %d cached), tokens %d in / %d out, $%.4f\n", c.Calls, c.PaidCalls(), c.CachedCalls,
		c.InputTokens, c.OutputTokens, c.USD)
	fmt.Fprintf(stdout, "this invocation: %d new calls (%d paid, %d from the cache), %d resumed from %s, $%.4f, %s\n",
		inv.Calls, inv.PaidCalls(), inv.CachedCalls, inv.Resumed, recovery.StoreFile, inv.USD, time.Since(start).Round(time.Millisecond))
	if batchStats != nil {
		batchStats.summary(stdout)
	}
	if o.dryRun {
		p := sum.Paid
		fmt.Fprintf(stdout, "estimate for the real run: about %d calls, %d input and %d output tokens, $%.2f\n",
			p.Calls, p.InputTokens, p.OutputTokens, p.USD)
		if o.batch {
			batchEstimate(stdout, sum, o)
		}
		fmt.Fprintf(stdout, "(the simulator writes short reference-style solutions; real models usually write several times more\n"+
			" output tokens, and pass rates differ, so treat calls as a good estimate and tokens and dollars as a lower bound)\n")
		if o.budget > 0 && p.USD > o.budget {
			fmt.Fprintf(stdout, "WARN the estimate ($%.2f, a lower bound) exceeds -budget $%.2f: the real run would stop at the budget; raise -budget or lower -limit\n",
				p.USD, o.budget)
		}
	}
	fmt.Fprintf(stdout, "outputs in %s: %s, %s, %s, %s, %s, tidy export (%s, %s, .parquet too), plots (*.svg, *.pdf, *.png)\n", cfg.Dir, recovery.ReportMD,
		recovery.SummaryJSON, recovery.SummaryCSV, recovery.SamplesJSONL, recovery.StoreFile,
		recovery.TidyContinuationsCSV, recovery.TidyStraightShotsCSV)
	if h := sum.Health; h != nil && len(h.Warnings) > 0 {
		fmt.Fprintf(stderr, "\n%s", h.WarnBlock())
	}
	if runErr != nil {
		return explain(runErr, cfg.Dir, o.budget)
	}
	if h := sum.Health; h != nil && h.MeasuredNothing {
		return fmt.Errorf("the run measured nothing (see the WARN lines above and the Health section of %s)", filepath.Join(cfg.Dir, recovery.ReportMD))
	}
	if o.serve != "" {
		if Serve == nil {
			return errors.New("-serve: the viewer is not built into this binary")
		}
		// Serve says "viewer: listening on …" once the port is bound, so a
		// busy port fails without a misleading line first.
		return Serve(ctx, o.serve, cfg.Dir)
	}
	return nil
}

// openModels opens the two specs through the provider registry. Plain
// simulator specs (sim:strong, sim:weak) get the run's -seed and the run's
// problems, so they also know problems from a -dataset file; a simulator
// spec with options (sim:strong?seed=3) is opened by the registry as given.
func openModels(strongSpec, weakSpec string, seed int64, problems simKnows) (strong, weak providers.Completer, err error) {
	open := func(spec string, isStrong bool) (providers.Completer, error) {
		if p, _, err := providers.ParseSpec(spec); err == nil && p == "sim" && !strings.Contains(spec, "?") {
			c, _, err := simFor(spec, isStrong, seed, problems, nil)
			return c, err
		}
		return providers.Open(spec)
	}
	if strong, err = open(strongSpec, true); err != nil {
		return nil, nil, err
	}
	if weak, err = open(weakSpec, false); err != nil {
		return nil, nil, err
	}
	return strong, weak, nil
}

// explain turns a fatal run error into a message that says what to do.
func explain(err error, dir string, budget float64) error {
	var apiErr *providers.APIError
	switch {
	case errors.Is(err, providers.ErrBudgetExceeded):
		return fmt.Errorf("stopped: the $%.2f budget is exhausted; finished work is saved in %s — rerun with a larger -budget to continue\n  (%w)", budget, dir, err)
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("interrupted; finished work is saved in %s — rerun the same command to resume", dir)
	case errors.As(err, &apiErr):
		return fmt.Errorf("stopped: provider %s, model %s answered HTTP %d, which retrying cannot fix; finished work is saved in %s\n  (%w)",
			apiErr.Provider, apiErr.Model, apiErr.StatusCode, dir, err)
	}
	return err
}

// plan prints a study plan from a pilot run's summary.json.
func plan(ctx context.Context, o options, stdout io.Writer) error {
	f, err := os.Open(filepath.Join(o.plan, recovery.SummaryJSON))
	if err != nil {
		return fmt.Errorf("-plan %s: %w (point it at a finished run directory)", o.plan, err)
	}
	defer f.Close()
	s, err := recovery.ReadSummary(f)
	if err != nil {
		return fmt.Errorf("-plan %s: %w", o.plan, err)
	}
	a, err := recovery.PilotAssumptions(s, o.samples, o.samples)
	if err != nil {
		return fmt.Errorf("-plan %s: %w", o.plan, err)
	}
	a.HalfWidth, a.Delta = o.planHalf, o.planDelta
	a.K = o.continuations // the planned study's K (-continuations), not the pilot's
	// Dollars from the provider price table (-prices, else the built-in
	// one) at the pilot's tokens per call per stage; the pilot's own cost
	// per call only when its store cannot be read.
	if st, err := recovery.OpenStore(o.plan); err == nil {
		var cfg recovery.Config
		if err := o.configure(&cfg); err != nil {
			st.Close()
			return err
		}
		a.Stages, err = recovery.PilotStages(ctx, st, cfg.Prices)
		st.Close()
		if err != nil {
			return fmt.Errorf("-plan %s: %w", o.plan, err)
		}
	}

	p, err := recovery.PlanStudy(a)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Study plan from pilot %s (K = %d continuations, %d straight-shot samples, %d strategies; ICC and rates per bucket from the pilot):\n\n",
		o.plan, a.K, a.Samples, a.Strategies)
	for _, b := range a.Buckets {
		fmt.Fprintf(stdout, "  %s: share %.2f, recovery %.3f, ICC %.2f\n", b.Name, b.Share, b.Rate, b.ICC)
	}
	for _, ps := range a.Stages {
		price := "no price in the table"
		if ps.Priced {
			price = fmt.Sprintf("$%g/M input, $%g/M output", ps.Price.InputPerM, ps.Price.OutputPerM)
		}
		fmt.Fprintf(stdout, "  stage %s (%s): %.0f input + %.0f output tokens per call in the pilot; %s\n",
			ps.Stage, ps.Model, ps.InputPerCall, ps.OutputPerCall, price)
	}
	fmt.Fprintf(stdout, "\n%s", p)
	return nil
}

// startCPUProfile starts the process's CPU profile into path and returns
// the function that stops it and closes the file (reporting a failure to
// close on stderr).
func startCPUProfile(path string, stderr io.Writer) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("-cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("-cpuprofile %s: %w", path, err)
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			fmt.Fprintf(stderr, "-cpuprofile %s: %v\n", path, err)
		}
	}, nil
}
