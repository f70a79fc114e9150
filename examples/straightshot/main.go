// Command straightshot is steps 1–2 of the workflow alone: it samples a
// strong (and optionally a weak) model N times on each problem with no
// prefix, verifies every sample, and prints the pass-rate distribution —
// usually bimodal — and the fuzzy difficulty buckets, with how settled each
// problem's bucket is. Use it to choose -samples and bucket edges before
// paying for the whole experiment.
//
//	go run ./examples/straightshot                       # offline, sim:strong on 100 GSM8K problems
//	go run ./examples/straightshot -adaptive -samples 10 # stop once each bucket is settled
//	go run ./examples/straightshot -model openai:gpt-4o-mini -dataset math500 -limit 50
//
// Results go to -out (run.db, pass_rates.svg/png, samples.jsonl); a rerun
// with the same -out resumes.
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
	"sort"

	"github.com/rebound-lab/rebound/dataset"
	"github.com/rebound-lab/rebound/difficulty"
	"github.com/rebound-lab/rebound/providers"
	_ "github.com/rebound-lab/rebound/providers/anthropic" // registers "anthropic"
	_ "github.com/rebound-lab/rebound/providers/openai"    // registers the OpenAI-compatible providers
	"github.com/rebound-lab/rebound/providers/sim"
	"github.com/rebound-lab/rebound/recovery"
	"github.com/rebound-lab/rebound/verify"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "error:", err)
		}
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("straightshot", flag.ContinueOnError)
	fs.SetOutput(stderr)
	ds := fs.String("dataset", "gsm8k", "problems: gsm8k | math500 | path to .jsonl/.parquet")
	limit := fs.Int("limit", 100, "use the first N problems (0 = all)")
	spec := fs.String("model", "sim:strong", "model `SPEC` to calibrate (provider:model)")
	samples := fs.Int("samples", recovery.DefaultSamples, "samples per problem (the maximum with -adaptive)")
	adaptive := fs.Bool("adaptive", false, "stop sampling a problem once its bucket is settled")
	concurrency := fs.Int("concurrency", recovery.DefaultConcurrency, "calls in flight")
	out := fs.String("out", filepath.Join("runs", "straightshot"), "run `DIR`")
	seed := fs.Int64("seed", 1, "simulator seed, and the run seed per-sample seeds are derived from")
	maxTokens := fs.Int("max-tokens", recovery.DefaultMaxTokens, "output token limit sent on every request")
	batch := fs.Bool("batch", false, "send every call through the provider's batch API (half price; see the README)")
	batchWait := fs.Duration("batch-max-wait", providers.DefaultBatchMaxWait, "with -batch, how long a request waits for others before its batch is submitted")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *samples < 1 || *limit < 0 || *concurrency < 1 || *maxTokens < 1 {
		return errors.New("-samples, -concurrency and -max-tokens must be ≥ 1, -limit ≥ 0")
	}
	var problems []dataset.Problem
	switch *ds {
	case "gsm8k":
		problems = dataset.GSM8KTest()
	case "math500":
		problems = dataset.MATH500()
	default:
		var err error
		if problems, err = dataset.Open(*ds); err != nil {
			return err
		}
	}
	if *limit > 0 && *limit < len(problems) {
		problems = problems[:*limit]
	}
	var model providers.Completer
	if *spec == "sim:strong" || *spec == "sim:weak" {
		cfg := sim.Strong()
		if *spec == "sim:weak" {
			cfg = sim.Weak()
		}
		cfg.Seed = *seed
		model = sim.New(cfg, problems...)
	} else {
		var err error
		if model, err = providers.Open(*spec); err != nil {
			return err
		}
	}
	st, err := recovery.OpenStore(*out)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.PutProblems(ctx, problems); err != nil {
		return err
	}
	cache, err := recovery.SQLiteCache(st)
	if err != nil {
		return err
	}
	if *batch {
		// Every problem waits at once, so each round of samples is one batch.
		if model, err = batchModel(ctx, st, model, *spec, *batchWait); err != nil {
			return err
		}
		*concurrency = recovery.DefaultBatchConcurrency
		model = providers.Chain(model, cache)
	} else {
		model = providers.Chain(model, cache, providers.Retry(providers.RetryPolicy{}))
	}

	binner := difficulty.DefaultBinner()
	ss := &recovery.StraightShot{Exec: recovery.Exec{Concurrency: *concurrency, Store: st}, Stage: recovery.StageStrong,
		Model: *spec, Completer: model, Verifier: verify.NewMath(), Samples: *samples, MaxTokens: *maxTokens, RunSeed: seed}
	if *adaptive {
		plan := difficulty.DefaultPlan()
		plan.Max, plan.Min = *samples, min(plan.Min, *samples)
		ss.Stop = func(k, n int) bool { return plan.Done(binner, k, n) }
		ss.MinSamples = plan.Min
	}
	cals, err := ss.Run(ctx, problems)
	if err != nil {
		return err
	}
	binned, err := recovery.Bin(ctx, st, binner, cals)
	if err != nil {
		return err
	}

	var rates []float64
	calls := 0
	for _, c := range cals {
		if c.N > 0 {
			rates = append(rates, c.Rate())
		}
		calls += len(c.Samples)
	}
	fmt.Fprintf(stdout, "%s on %d %s problems, %d samples (%.1f per problem)\n\n", *spec, len(problems), *ds,
		calls, float64(calls)/float64(len(problems)))
	fmt.Fprintln(stdout, difficulty.Summarize(rates))
	printBuckets(stdout, binner.Buckets(), binned)

	sum, err := recovery.Summarize(ctx, st, binner.Buckets())
	if err != nil {
		return err
	}
	if err := recovery.WritePlots(*out, sum); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(*out, recovery.SamplesJSONL))
	if err != nil {
		return err
	}
	if err := st.ExportSamples(ctx, f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\noutputs in %s: %s, %s, %s.svg/.png\n", *out, recovery.StoreFile, recovery.SamplesJSONL, recovery.PlotPassRates)
	return nil
}

// printBuckets prints, per bucket, the problems assigned to it and how many
// of them are settled (assigned with membership ≥ 0.9).
func printBuckets(w io.Writer, names []string, binned []recovery.Binned) {
	count, settled := map[string]int{}, map[string]int{}
	var shaky []recovery.Binned
	for _, b := range binned {
		count[b.Bucket]++
		if b.Confidence >= 0.9 {
			settled[b.Bucket]++
		} else {
			shaky = append(shaky, b)
		}
	}
	fmt.Fprintf(w, "\n| bucket | problems | settled (membership ≥ 0.9) |\n|---|---:|---:|\n")
	for _, n := range names {
		fmt.Fprintf(w, "| %s | %d | %d |\n", n, count[n], settled[n])
	}
	sort.SliceStable(shaky, func(i, j int) bool { return shaky[i].Confidence < shaky[j].Confidence })
	if len(shaky) > 0 {
		fmt.Fprintf(w, "\nleast settled problems (more samples would help):\n")
		for _, b := range shaky[:min(5, len(shaky))] {
			fmt.Fprintf(w, "  %-28s %d/%d  %s %.2f\n", b.Problem.ID, b.K, b.N, b.Bucket, b.Confidence)
		}
	}
}
