// Command onpolicy asks whether a strong model recovers from its own
// mistakes: on problems where it is shaky (straight-shot pass rate in a
// middle band), it takes one of the model's own wrong traces, cuts it, and
// has the same model continue it as its own text. No weak model is used
// for prefixes.
//
//	go run ./examples/onpolicy                         # offline on the simulator
//	go run ./examples/onpolicy -band 0.1-0.9 -samples 8
//	go run ./examples/onpolicy -strong anthropic:claude-sonnet-4-5 -budget 2
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
	"strconv"
	"strings"
	"time"

	"github.com/rebound-lab/rebound/dataset"
	"github.com/rebound-lab/rebound/providers"
	_ "github.com/rebound-lab/rebound/providers/anthropic" // registers "anthropic"
	_ "github.com/rebound-lab/rebound/providers/openai"    // registers the OpenAI-compatible providers
	"github.com/rebound-lab/rebound/providers/sim"
	"github.com/rebound-lab/rebound/recovery"
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

func parseBand(s string) ([2]float64, error) {
	lo, hi, ok := strings.Cut(s, "-")
	l, err1 := strconv.ParseFloat(strings.TrimSpace(lo), 64)
	h, err2 := strconv.ParseFloat(strings.TrimSpace(hi), 64)
	if !ok || err1 != nil || err2 != nil || !(0 <= l && l <= h && h <= 1) {
		return [2]float64{}, fmt.Errorf("-band %q: want LO-HI with 0 ≤ LO ≤ HI ≤ 1, e.g. 0.2-0.8", s)
	}
	return [2]float64{l, h}, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("onpolicy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	limit := fs.Int("limit", 100, "use the first N embedded GSM8K problems")
	strong := fs.String("strong", "sim:strong", "model `SPEC` (provider:model)")
	samples := fs.Int("samples", 6, "straight-shot samples per problem (its wrong ones become prefixes)")
	conts := fs.Int("continuations", recovery.DefaultSamples, "continuations per prefix")
	band := fs.String("band", "0.2-0.8", "pass-rate band `LO-HI` of shaky problems to perturb")
	cut := fs.String("cut", "default", "truncation: default, random, random:LO-HI, fraction:F, at:K")
	budget := fs.Float64("budget", 0, "dollar cap for this run directory (0 = none)")
	out := fs.String("out", filepath.Join("runs", "onpolicy"), "run `DIR` (rerun to resume)")
	seed := fs.Int64("seed", 1, "seed")
	maxTokens := fs.Int("max-tokens", recovery.DefaultMaxTokens, "output token limit sent on every request")
	batch := fs.Bool("batch", false, "send every call through the provider's batch API (half price; see the README)")
	batchWait := fs.Duration("batch-max-wait", providers.DefaultBatchMaxWait, "with -batch, how long a request waits for others before its batch is submitted")
	if err := fs.Parse(args); err != nil {
		return err
	}
	b, err := parseBand(*band)
	if err != nil {
		return err
	}
	c, err := recovery.ParseCut(*cut)
	if err != nil {
		return err
	}
	problems := dataset.GSM8KTest()
	if *limit > 0 && *limit < len(problems) {
		problems = problems[:*limit]
	}
	var model providers.Completer
	if *strong == "sim:strong" {
		cfg := sim.Strong()
		cfg.Seed = *seed
		model = sim.New(cfg, problems...)
	} else if model, err = providers.Open(*strong); err != nil {
		return err
	}
	var poll time.Duration
	if s, ok := model.(*sim.Solver); ok && *batch {
		model, poll = sim.NewBatched(s, 100*time.Millisecond), 20*time.Millisecond
	}
	sum, err := recovery.Run(ctx, recovery.Config{
		Dir: *out, Problems: problems, Title: "On-policy recovery: " + *strong + " continuing its own mistakes",
		Strong: model, StrongModel: *strong, NoWeak: true,
		Samples: *samples, Continuations: *conts, Strategies: []string{recovery.StrategyOnPolicy},
		OnPolicyBand: b, Cut: c, BudgetUSD: *budget, Seed: *seed, MaxTokens: *maxTokens,
		Batch: *batch, BatchMaxWait: *batchWait, BatchPoll: poll,
	})
	if errors.Is(err, recovery.ErrConfig) {
		return err
	}
	fmt.Fprintf(stdout, "%s\n", sum.Table())
	fmt.Fprintf(stdout, "$%.4f spent; outputs in %s\n", sum.Paid.USD, *out)
	return err
}
