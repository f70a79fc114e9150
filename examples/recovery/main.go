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
	"strconv"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

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

// Memory: the stages hold their results in memory (about 14 KB per
// problem at 5 samples and 5 continuations, simulator included), and Go's
// default garbage-collection target lets the heap grow to twice what is
// live. Unless GOGC or GOMEMLIMIT say otherwise, the harness collects at
// 50 % growth and treats 200 MiB as a soft limit (above it the collector
// works harder; it never fails an allocation), which keeps a
// 10,000-problem × 5-sample run on the simulator under 300 MB of RSS
// (internal/e2e measures it).
const (
	gcPercent   = 50
	memoryLimit = 200 << 20
)

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
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
	// Issue 13: the planner, the prior and the temperature.
	plan, prior         string
	planHalf, planDelta float64
	temperature         *float64
}

func parse(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("recovery", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.dataset, "dataset", "gsm8k", "problems: gsm8k | math500 (embedded) | path to a .jsonl or .parquet file")
	fs.IntVar(&o.limit, "limit", 100, "use the first N problems (0 = all)")
	fs.StringVar(&o.strong, "strong", "sim:strong", "strong model `SPEC` (provider:model)")
	fs.StringVar(&o.weak, "weak", "sim:weak", "weak model `SPEC` (provider:model)")
	fs.IntVar(&o.samples, "samples", recovery.DefaultSamples, "straight-shot samples per problem (the maximum with -adaptive)")
	fs.BoolVar(&o.adaptive, "adaptive", false, "stop sampling a problem once its bucket is settled (difficulty.DefaultPlan with Max = -samples)")
	fs.IntVar(&o.continuations, "continuations", recovery.DefaultSamples, "continuations per prefix")
	fs.StringVar(&o.perturbs, "perturb", "weak", "comma-separated strategies: weak, onpolicy, inject, labeled")
	fs.StringVar(&o.labeled, "labeled", "", "labelled traces (MR-GSM8K, BIG-Bench Mistake or PRMBench JSONL) for -perturb labeled")
	fs.StringVar(&o.cut, "cut", "default", "truncation: default, random, random:LO-HI, fraction:F, at:K, error")
	fs.StringVar(&o.out, "out", filepath.Join("runs", "recovery"), "run `DIR` (rerun with the same DIR to resume)")
	fs.Float64Var(&o.budget, "budget", 0, "stop before spending more than `USD` in this run directory (0 = no cap)")
	fs.IntVar(&o.concurrency, "concurrency", 0, "calls in flight (0 = automatic: with -rpm, enough to use the whole rate at the observed latency; else 8)")
	fs.IntVar(&o.rpm, "rpm", 0, "requests per minute per model (0 = unlimited)")
	fs.IntVar(&o.tpm, "tpm", 0, "tokens per minute per model (0 = unlimited)")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Minute, "abandon one attempt of a call after `D` and retry it (a hung connection costs a timeout, not the run)")
	fs.Int64Var(&o.seed, "seed", 1, "seed for the simulator and the perturbations")
	fs.BoolVar(&o.dryRun, "dry-run", false, "run on the simulator priced as the named models, in DIR-dryrun (replaced each time); estimate calls, tokens and dollars")
	fs.StringVar(&o.serve, "serve", "", "after the run, serve the viewer on `ADDR` (e.g. 127.0.0.1:8080)")
	fs.BoolVar(&o.quiet, "quiet", false, "no progress bar")
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
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q (flags only; see -h)", fs.Args())
	}
	if o.prior != "fitted" && o.prior != "jeffreys" {
		return o, fmt.Errorf("-prior %q: want fitted or jeffreys", o.prior)
	}
	if o.plan != "" && !(o.planHalf > 0) && !(o.planDelta > 0) {
		return o, errors.New("-plan needs -plan-halfwidth > 0 or -plan-delta > 0")
	}
	if o.limit < 0 || o.samples < 1 || o.continuations < 1 || o.concurrency < 0 || o.rpm < 0 || o.tpm < 0 || o.budget < 0 || o.timeout < 0 {
		return o, errors.New("-limit, -concurrency, -rpm, -tpm, -budget and -timeout must be ≥ 0; -samples and -continuations ≥ 1")
	}
	return o, nil
}

func loadProblems(name string, limit int) ([]dataset.Problem, error) {
	var ps []dataset.Problem
	switch name {
	case "gsm8k":
		ps = dataset.GSM8KTest()
	case "math500":
		ps = dataset.MATH500()
	default:
		var err error
		if ps, err = dataset.Open(name); err != nil {
			return nil, err
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

// simFor returns the simulator standing in for spec: the preset named by a
// sim spec, else the strong or weak preset priced as the real model.
func simFor(spec string, strong bool, seed int64, problems []dataset.Problem, prices *providers.PriceTable) (providers.Completer, string, error) {
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
	return sim.New(cfg, problems...), note, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parse(args, stderr)
	if err != nil {
		return err
	}
	if o.plan != "" {
		return plan(o, stdout)
	}
	problems, err := loadProblems(o.dataset, o.limit)
	if err != nil {
		return err
	}
	cut, err := recovery.ParseCut(o.cut)
	if err != nil {
		return err
	}
	cfg := recovery.Config{
		Dir: o.out, Problems: problems, StrongModel: o.strong, WeakModel: o.weak,
		Samples: o.samples, Continuations: o.continuations, Cut: cut, Concurrency: o.concurrency,
		BudgetUSD: o.budget, RPM: o.rpm, TPM: o.tpm, Seed: o.seed,
		Retry: providers.RetryPolicy{AttemptTimeout: o.timeout},
		Title: fmt.Sprintf("Recovery: %s continuing flawed prefixes on %s", o.strong, o.dataset),
	}
	for _, s := range strings.Split(o.perturbs, ",") {
		if s = strings.TrimSpace(s); s != "" {
			cfg.Strategies = append(cfg.Strategies, s)
		}
	}
	if o.labeled != "" {
		set, err := perturb.LoadLabeled(o.labeled)
		if err != nil {
			return err
		}
		set.AttachAnswers(problems)
		cfg.Labeled = perturb.NewLabeled(set.Traces)
	}
	cfg.FixedPrior = o.prior == "jeffreys"
	cfg.Temperature = o.temperature
	if o.adaptive {
		plan := difficulty.DefaultPlan()
		plan.Max = o.samples
		plan.Min = min(plan.Min, plan.Max)
		cfg.Adaptive = &plan
	}
	prices := providers.DefaultPrices()
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
		if cfg.Strong, noteS, err = simFor(o.strong, true, o.seed, problems, prices); err != nil {
			return err
		}
		if cfg.Weak, noteW, err = simFor(o.weak, false, o.seed, problems, prices); err != nil {
			return err
		}
		cfg.BudgetUSD = 0 // a dry run spends nothing; it estimates
		fmt.Fprintf(stdout, "dry run on the simulator\n  strong %s: %s\n  weak   %s: %s\n", o.strong, noteS, o.weak, noteW)
	} else if cfg.Strong, cfg.Weak, err = openModels(o.strong, o.weak, o.seed, problems); err != nil {
		return err
	}
	if !o.quiet {
		bar := newProgress(stderr)
		defer bar.finish()
		cfg.Progress = bar.event
	}

	start := time.Now()
	sum, runErr := recovery.Run(ctx, cfg)
	if runErr != nil && errors.Is(runErr, recovery.ErrConfig) {
		return runErr
	}
	fmt.Fprintf(stdout, "\n%s\n", sum.Table())
	c := sum.Cost
	fmt.Fprintf(stdout, "calls %d (%d cached), tokens %d in / %d out, $%.4f, %s\n", c.Calls, c.CachedCalls,
		c.InputTokens, c.OutputTokens, c.USD, time.Since(start).Round(time.Millisecond))
	if o.dryRun {
		p := sum.Paid
		fmt.Fprintf(stdout, "estimate for the real run: about %d calls, %d input and %d output tokens, $%.2f\n",
			p.Calls, p.InputTokens, p.OutputTokens, p.USD)
		fmt.Fprintf(stdout, "(the simulator writes short reference-style solutions; real models usually write several times more\n"+
			" output tokens, and pass rates differ, so treat calls as a good estimate and tokens and dollars as a lower bound)\n")
	}
	fmt.Fprintf(stdout, "outputs in %s: %s, %s, %s, %s, %s, plots (*.svg, *.png)\n", cfg.Dir, recovery.ReportMD,
		recovery.SummaryJSON, recovery.SummaryCSV, recovery.SamplesJSONL, recovery.StoreFile)
	if runErr != nil {
		return explain(runErr, cfg.Dir, o.budget)
	}
	if o.serve != "" {
		if Serve == nil {
			return errors.New("-serve: the viewer is not built into this binary")
		}
		fmt.Fprintf(stdout, "viewer on http://%s (Ctrl-C to stop)\n", o.serve)
		return Serve(ctx, o.serve, cfg.Dir)
	}
	return nil
}

// openModels opens the two specs through the provider registry. Plain
// simulator specs (sim:strong, sim:weak) get the run's -seed and the run's
// problems, so they also know problems from a -dataset file; a simulator
// spec with options (sim:strong?seed=3) is opened by the registry as given.
func openModels(strongSpec, weakSpec string, seed int64, problems []dataset.Problem) (strong, weak providers.Completer, err error) {
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

// progress draws one bar per stage on stderr with dollars spent and ETA.
type progress struct {
	w     io.Writer
	stage string
	bar   *progressbar.ProgressBar
}

func newProgress(w io.Writer) *progress { return &progress{w: w} }

func (p *progress) event(e recovery.Event) {
	if e.Stage != p.stage || p.bar == nil {
		p.finish()
		p.stage = e.Stage
		p.bar = progressbar.NewOptions(e.Total,
			progressbar.OptionSetWriter(p.w),
			progressbar.OptionSetWidth(30),
			progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionSetElapsedTime(true),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
	}
	p.bar.Describe(fmt.Sprintf("%-8s $%.4f %d calls (%d cached)", e.Stage, e.Cost.USD, e.Cost.Calls, e.Cost.CachedCalls))
	_ = p.bar.Set(e.Done)
}

func (p *progress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
		p.bar = nil
	}
}

// plan prints a study plan from a pilot run's summary.json.
func plan(o options, stdout io.Writer) error {
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

	p, err := recovery.PlanStudy(a)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Study plan from pilot %s (K = %d continuations, %d straight-shot samples, %d strategies; ICC and rates per bucket from the pilot):\n\n",
		o.plan, a.K, a.Samples, a.Strategies)
	for _, b := range a.Buckets {
		fmt.Fprintf(stdout, "  %s: share %.2f, recovery %.3f, ICC %.2f\n", b.Name, b.Share, b.Rate, b.ICC)
	}
	fmt.Fprintf(stdout, "\n%s", p)
	return nil
}
