package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/rebound-lab/rebound/dataset"
	"github.com/rebound-lab/rebound/providers"
	"github.com/rebound-lab/rebound/recovery"
)

// unverifiedPrefill are the presets whose prefill support is documented
// loosely or depends on the model behind them: -probe auto probes them.
var unverifiedPrefill = map[string]bool{"openrouter": true, "together": true, "fireworks": true, "cohere": true,
	"groq": true, "ollama": true, "openai-compatible": true}

func preflightFlags(fs *flag.FlagSet, o *options) {
	fs.StringVar(&o.probe, "probe", "auto", "check with a few canary tokens that the strong model really continues a prefix before the run: "+
		"auto (for presets whose prefill is unverified: openrouter, together, fireworks, cohere, groq, ollama, openai-compatible), on, off, "+
		"or force (probe, record, run anyway)")
	fs.StringVar(&o.prices, "prices", "", "JSON price `FILE` overriding the built-in table (see providers.ParsePrices)")
	fs.BoolVar(&o.allowUnpriced, "allow-unpriced", false, "with -budget, allow models without a price (free local servers such as vLLM or Ollama)")
	fs.StringVar(&o.prefill, "prefill", "", "prefill `METHOD` for continuations: assistant_message, continue_final_message, prefix_flag, raw_completion, instructed (default: the provider's native one)")
	fs.IntVar(&o.confirmCalls, "announce-calls", 1000, "before a paid run of more than `N` calls, print the problem count and the call estimate")
}

// checkFlags names the flag and the value that is wrong.
func checkFlags(o options) error {
	var errs []error
	bad := func(ok bool, flag string, v any, want string) {
		if !ok {
			errs = append(errs, fmt.Errorf("%s %v: %s", flag, v, want))
		}
	}
	bad(o.limit >= 0, "-limit", o.limit, "must be ≥ 0 (0 = all problems)")
	bad(o.samples >= 1, "-samples", o.samples, "must be ≥ 1")
	bad(o.continuations >= 1, "-continuations", o.continuations, "must be ≥ 1")
	bad(o.concurrency >= 0, "-concurrency", o.concurrency, "must be ≥ 0 (0 = automatic)")
	bad(o.rpm >= 0, "-rpm", o.rpm, "must be ≥ 0 (0 = unlimited)")
	bad(o.tpm >= 0, "-tpm", o.tpm, "must be ≥ 0 (0 = unlimited)")
	bad(o.budget >= 0, "-budget", o.budget, "must be ≥ 0 (0 = no cap)")
	bad(o.timeout >= 0, "-timeout", o.timeout, "must be ≥ 0")
	switch o.probe {
	case "auto", "on", "off", "force":
	default:
		errs = append(errs, fmt.Errorf("-probe %q: want auto, on, off or force", o.probe))
	}
	switch providers.PrefillMethod(o.prefill) {
	case "", providers.PrefillAssistantMessage, providers.PrefillContinueFinal, providers.PrefillPrefixFlag,
		providers.PrefillRawCompletion, providers.PrefillInstructed:
	default:
		errs = append(errs, fmt.Errorf("-prefill %q: want assistant_message, continue_final_message, prefix_flag, raw_completion or instructed", o.prefill))
	}
	return errors.Join(errs...)
}

// looksLikeFile tells a dataset path from a misspelt built-in name.
func looksLikeFile(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".jsonl", ".ndjson", ".parquet":
		return true
	}
	_, err := os.Stat(name)
	return err == nil
}

// configure applies the preflight flags to cfg.
func (o options) configure(cfg *recovery.Config) error {
	cfg.Prices = providers.DefaultPrices()
	if o.prices != "" {
		t, err := providers.LoadPricesFile(o.prices)
		if err != nil {
			return fmt.Errorf("-prices %s: %w", o.prices, err)
		}
		cfg.Prices = t
	}
	cfg.AllowUnpriced = o.allowUnpriced
	cfg.PrefillMethod = providers.PrefillMethod(o.prefill)
	if !o.dryRun {
		provider, _, _ := providers.ParseSpec(o.strong)
		cfg.Probe = o.probe == "on" || o.probe == "force" || (o.probe == "auto" && unverifiedPrefill[provider])
		cfg.ForceProbe = o.probe == "force"
	}
	return nil
}

// hint adds the command-line spelling of a preflight fix.
func hint(err error) error {
	if errors.Is(err, providers.ErrPrefillUnsupported) {
		return fmt.Errorf("%w\n(on the command line: -prefill METHOD sets the method for this run)", err)
	}
	return err
}

// dryRunPreflight checks the real models' capabilities for the run cfg
// would be (the dry run itself runs on the simulator), so a dry run fails
// where the real run would.
func dryRunPreflight(cfg recovery.Config, o options, w io.Writer) error {
	real := cfg
	real.BudgetUSD = o.budget
	var err error
	if real.Strong, err = providers.Open(o.strong); err != nil {
		fmt.Fprintf(w, "  (could not check %s's capabilities here: %v)\n", o.strong, err)
		return nil
	}
	if real.Weak, err = providers.Open(o.weak); err != nil {
		fmt.Fprintf(w, "  (could not check %s's capabilities here: %v)\n", o.weak, err)
		return nil
	}
	if err := recovery.Preflight(real); err != nil {
		return fmt.Errorf("-dry-run: the real run would stop before its first call: %w", hint(err))
	}
	fmt.Fprintf(w, "  preflight: both models can serve every stage they are configured for\n")
	return nil
}

// estimateItems is the planned item count of every stage, for the run ETA;
// the continuation count is an upper bound (set-aside problems have none).
func estimateItems(cfg recovery.Config) map[string]int {
	n := len(cfg.Problems)
	if n == 0 && cfg.Source != nil {
		n, _ = dataset.Count(context.Background(), cfg.Source) // an error is Run's to report
	}
	samples, conts, strategies := cfg.Samples, cfg.Continuations, len(cfg.Strategies)
	if samples == 0 {
		samples = recovery.DefaultSamples
	}
	if conts == 0 {
		conts = recovery.DefaultSamples
	}
	if strategies == 0 {
		strategies = 1
	}
	return map[string]int{recovery.StageStrong: n * samples, recovery.StageWeak: n * samples,
		recovery.StagePerturb: n * strategies, recovery.StageContinue: n * strategies * conts}
}

// announce prints, before a paid run of more than -announce-calls calls,
// how many problems it covers and about how many calls it makes.
func announce(cfg recovery.Config, o options, w io.Writer) error {
	paid := false
	for _, spec := range []string{o.strong, o.weak} {
		if p, _, err := providers.ParseSpec(spec); err == nil && p != "sim" && !cfg.Prices.IsFree(p) {
			paid = true
		}
	}
	if !paid {
		return nil // (before counting: a streamed -dataset's count reads it through)
	}
	items := estimateItems(cfg)
	calls := items[recovery.StageStrong] + items[recovery.StageWeak] + items[recovery.StageContinue]
	if calls <= o.confirmCalls {
		return nil
	}
	limit := fmt.Sprintf("-limit %d", o.limit)
	if o.limit == 0 {
		limit = "-limit 0: every problem"
	}
	budget := "no -budget cap"
	if o.budget > 0 {
		budget = fmt.Sprintf("capped at -budget $%.2f", o.budget)
	}
	fmt.Fprintf(w, "paid run: %d problems (%s), about %d calls plus the perturbation's, %s; run the same command with -dry-run for a dollar estimate\n",
		items[recovery.StagePerturb]/max(1, len(cfg.Strategies)), limit, calls, budget)
	return nil
}
