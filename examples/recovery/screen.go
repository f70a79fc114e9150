package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/rebound-lab/rebound/recovery"
)

// screen runs -screen: calibration only, then a calibrated subset written
// as a dataset file for the full experiment (-dataset FILE).
func screen(ctx context.Context, cfg recovery.Config, o options, stdout io.Writer, start time.Time) error {
	cfg.Adaptive = nil // Screen is always adaptive: difficulty.DefaultPlan with Max = -samples
	res, err := recovery.Screen(ctx, cfg, o.screen, o.screenOut)
	if err != nil && errors.Is(err, recovery.ErrConfig) {
		return err
	}
	fmt.Fprintf(stdout, "\nscreened %d problems with %s (adaptive, at most %d samples each)\n", len(cfg.Problems),
		cfg.StrongModel, cfg.Samples)
	for _, b := range cfg.Binner.Buckets() {
		fmt.Fprintf(stdout, "  %-8s observed %6d  selected %6d\n", b, res.Observed[b], res.Selected[b])
	}
	c := res.Cost
	fmt.Fprintf(stdout, "calls %d (%d cached), tokens %d in / %d out, $%.4f, %s\n", c.Calls, c.CachedCalls,
		c.InputTokens, c.OutputTokens, c.USD, time.Since(start).Round(time.Millisecond))
	if err != nil {
		return explain(err, cfg.Dir, o.budget)
	}
	fmt.Fprintf(stdout, "wrote %d problems to %s: run the experiment on them with -dataset %s\n", len(res.Problems), res.Out, res.Out)
	return nil
}
