package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/rebound-lab/rebound/providers"
	"github.com/rebound-lab/rebound/recovery"
)

// strongSpecs splits -strong into its models; more than one makes a study.
func strongSpecs(flag string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, s := range strings.Split(flag, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if seen[s] {
			return nil, fmt.Errorf("-strong: %q is listed twice; list each model once", s)
		}
		seen[s] = true
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, errors.New("-strong: no model given (want provider:model, or several separated by commas)")
	}
	return out, nil
}

// runStudy runs -strong A,B,C as a recovery.Study in -out: the weak
// prefixes once, each strong model continuing them, and the comparison.
func runStudy(ctx context.Context, o options, specs []string, base recovery.Config, stdout, stderr io.Writer) error {
	if o.parallel < 1 {
		return fmt.Errorf("-parallel %d: want at least 1 (models of the study at the same time)", o.parallel)
	}
	s := recovery.Study{Dir: o.out, Base: base, Reference: o.reference, Parallel: o.parallel,
		Title: fmt.Sprintf("Study: %s continuing %s's flawed prefixes on %s", strings.Join(specs, ", "), o.weak, o.dataset)}
	prices := base.Prices
	if prices == nil {
		prices = providers.DefaultPrices()
	}
	var err error
	if o.dryRun {
		s.Dir = o.out + "-dryrun"
		if _, err := os.Stat(filepath.Join(s.Dir, recovery.StudyShared, recovery.StoreFile)); err == nil {
			if err := os.RemoveAll(s.Dir); err != nil {
				return err
			}
		}
		fmt.Fprintln(stdout, "dry run on the simulator")
		var note string
		if s.Base.Weak, note, err = simFor(o.weak, false, o.seed, simKnows{problems: base.Problems}, prices); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "  weak   %s: %s\n", o.weak, note)
		s.Base.BudgetUSD = 0
	} else if _, s.Base.Weak, err = openModels(specs[0], o.weak, o.seed, simKnows{problems: base.Problems}); err != nil {
		return err
	}
	for _, spec := range specs {
		m := recovery.StudyModel{Spec: spec}
		if o.dryRun {
			var note string
			if m.Completer, note, err = simFor(spec, true, o.seed, simKnows{problems: base.Problems}, prices); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "  strong %s: %s\n", spec, note)
		} else if m.Completer, _, err = openModels(spec, o.weak, o.seed, simKnows{problems: base.Problems}); err != nil {
			return err
		}
		s.Models = append(s.Models, m)
	}
	var bar *progress
	if !o.quiet && o.parallel > 1 {
		// Several models at once: one line per finished stage and model
		// instead of one bar.
		var mu sync.Mutex
		s.Progress = func(model string) {
			if model == "" {
				model = "shared stage (weak model)"
			}
			mu.Lock()
			defer mu.Unlock()
			fmt.Fprintf(stderr, "— %s\n", model)
		}
		s.Base.Progress = func(e recovery.Event) {
			if e.Done == e.Total {
				mu.Lock()
				defer mu.Unlock()
				fmt.Fprintf(stderr, "  shared stage: %s %d/%d\n", e.Stage, e.Done, e.Total)
			}
		}
		s.ModelProgress = func(model string, e recovery.Event) {
			if e.Done == e.Total {
				mu.Lock()
				defer mu.Unlock()
				fmt.Fprintf(stderr, "  %s: %s %d/%d, %s\n", model, e.Stage, e.Done, e.Total, e.Elapsed.Round(time.Millisecond))
			}
		}
	} else if !o.quiet {
		bar = newProgress(stderr, o.quiet, nil)
		defer bar.finish()
		s.Base.Progress = bar.event
		s.Progress = func(model string) {
			bar.finish()
			if model == "" {
				model = "shared stage (weak model)"
			}
			fmt.Fprintf(stderr, "— %s\n", model)
		}
	}
	start := time.Now()
	res, runErr := recovery.RunStudy(ctx, s)
	if runErr != nil && errors.Is(runErr, recovery.ErrConfig) {
		return runErr
	}
	fmt.Fprintf(stdout, "\n%s", studyTable(res))
	var paid recovery.Cost = res.SharedCost
	for _, m := range res.Models {
		paid = paid.Add(m.Summary.Paid)
	}
	fmt.Fprintf(stdout, "paid calls %d, tokens %d in / %d out, $%.4f, %s\n", paid.Calls, paid.InputTokens, paid.OutputTokens,
		paid.USD, time.Since(start).Round(time.Millisecond))
	fmt.Fprintf(stdout, "outputs in %s: %s, %s, study plots (*.svg, *.pdf, *.png), one run directory per model under %s/\n",
		s.Dir, recovery.StudyMD, recovery.StudyJSON, recovery.StudyModels)
	if runErr != nil {
		return explain(runErr, s.Dir, o.budget)
	}
	if o.serve != "" {
		if Serve == nil {
			return errors.New("-serve: the viewer is not built into this binary")
		}
		fmt.Fprintf(stdout, "viewer on http://%s (Ctrl-C to stop)\n", o.serve)
		return Serve(ctx, o.serve, s.Dir)
	}
	return nil
}

// studyTable is the console summary: overall recovery per model and
// strategy, then the overall paired differences.
func studyTable(r recovery.StudyResult) string {
	var b strings.Builder
	b.WriteString("| model | strategy | problems | pass rate | recovery (95% CI) | normalized (95% CI) |\n|---|---|---:|---:|---|---|\n")
	for _, m := range r.Comparison.Models {
		for _, row := range m.Rows {
			if row.Bucket != "overall" {
				continue
			}
			fmt.Fprintf(&b, "| %s | %s | %d | %s | %s [%s, %s] | %s [%s, %s] |\n", m.Model, row.Strategy, row.Problems, row.PassRate,
				row.Recovery, row.RecoveryCI[0], row.RecoveryCI[1], row.Normalized, row.NormalizedCI[0], row.NormalizedCI[1])
		}
	}
	latent := false
	for _, m := range r.Comparison.Models {
		for _, row := range m.Latent {
			if !latent {
				b.WriteString("\n| model | strategy | latent bucket (true pass rate) | problems (expected) | pass rate | recovery (95% CI) | normalized (95% CI) |\n|---|---|---|---:|---:|---|---|\n")
				latent = true
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %.1f | %s | %s [%s, %s] | %s [%s, %s] |\n", m.Model, row.Strategy, row.Bucket, row.Problems, row.PassRate,
				row.Recovery, row.RecoveryCI[0], row.RecoveryCI[1], row.Normalized, row.NormalizedCI[0], row.NormalizedCI[1])
		}
	}
	if len(r.Comparison.Paired) > 0 {
		b.WriteString("\n| A − B | strategy | paired problems | difference (95% paired CI) | width vs independent runs |\n|---|---|---:|---|---:|\n")
		for _, d := range r.Comparison.Paired {
			if d.Bucket != "overall" {
				continue
			}
			fmt.Fprintf(&b, "| %s − %s | %s | %d | %+.3f [%s, %s] | %s |\n", d.A, d.B, d.Strategy, d.Problems, float64(d.Diff),
				d.DiffCI[0], d.DiffCI[1], d.WidthRatio)
		}
	}
	b.WriteString("\n")
	return b.String()
}
