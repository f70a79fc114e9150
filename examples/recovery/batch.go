package main

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/rebound-lab/rebound/providers"
	"github.com/rebound-lab/rebound/providers/sim"
	"github.com/rebound-lab/rebound/recovery"
)

// simBatchDelay is how long a simulated batch runs.
const simBatchDelay = 200 * time.Millisecond

// useBatch switches cfg to batch mode: simulators get an in-process batch
// API (priced at the batch discount of the provider a dry run stands in
// for), and a model without a batch API is refused before anything is sent.
func useBatch(cfg *recovery.Config, o options, stderr io.Writer) (*batchProgress, error) {
	simulated := false
	wrap := func(c providers.Completer, spec string) (providers.Completer, error) {
		if s, ok := c.(*sim.Solver); ok {
			simulated = true
			b := sim.NewBatched(s, simBatchDelay)
			if provider, _, err := providers.ParseSpec(spec); err == nil && provider != "sim" {
				d, ok := providers.BatchDiscountOf(provider)
				if !ok {
					return nil, fmt.Errorf("-batch: provider %s (in %s) has no batch API in Rebound, so a dry run cannot price its batches; drop -batch", provider, spec)
				}
				b.Discount = d.Factor
			}
			return b, nil
		}
		if err := recovery.CheckBatch(c); err != nil {
			return nil, fmt.Errorf("-batch with %s: %w", spec, err)
		}
		return c, nil
	}
	var err error
	if cfg.Strong, err = wrap(cfg.Strong, o.strong); err != nil {
		return nil, err
	}
	if cfg.Weak, err = wrap(cfg.Weak, o.weak); err != nil {
		return nil, err
	}
	cfg.Batch, cfg.BatchMaxWait, cfg.BatchPoll = true, o.batchMaxWait, o.batchPoll
	if simulated && o.batchPoll == providers.DefaultBatchPollInitial {
		cfg.BatchPoll = 50 * time.Millisecond // simulated batches end in 200ms
	}
	p := &batchProgress{w: stderr, quiet: o.quiet, start: time.Now(), scopes: map[string]providers.BatchStats{}}
	cfg.OnBatch = p.event
	return p, nil
}

// lockedWriter serialises writes from several goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

func syncWriter(w io.Writer) io.Writer {
	if _, ok := w.(*lockedWriter); ok {
		return w
	}
	return &lockedWriter{w: w}
}

// batchProgress prints a line per batch event: batches submitted, in
// progress and done, over both models, with an ETA from the done share.
type batchProgress struct {
	w     io.Writer
	quiet bool
	start time.Time

	mu     sync.Mutex
	scopes map[string]providers.BatchStats
}

func (p *batchProgress) total() providers.BatchStats {
	var t providers.BatchStats
	for _, s := range p.scopes {
		t.Submitted += s.Submitted
		t.Reattached += s.Reattached
		t.Done += s.Done
		t.InProgress += s.InProgress
		t.Lines += s.Lines
		t.Succeeded += s.Succeeded
		t.Retried += s.Retried
		t.Errored += s.Errored
	}
	return t
}

func (p *batchProgress) event(e providers.BatchEvent) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.scopes[e.Scope] = e.Stats
	if p.quiet {
		return
	}
	t := p.total()
	eta := "?"
	if t.Done > 0 && t.InProgress > 0 {
		per := time.Since(p.start) / time.Duration(t.Done)
		eta = (per * time.Duration(t.InProgress)).Round(time.Second).String()
	}
	fmt.Fprintf(p.w, "\nbatches: %d submitted, %d re-attached, %d in progress, %d done (ETA %s for those in progress); lines %d ok, %d retried, %d errored\n",
		t.Submitted, t.Reattached, t.InProgress, t.Done, eta, t.Succeeded, t.Retried, t.Errored)
}

func (p *batchProgress) summary(w io.Writer) {
	p.mu.Lock()
	defer p.mu.Unlock()
	t := p.total()
	fmt.Fprintf(w, "batches: %d submitted, %d re-attached, %d done; %d request lines (%d answered, %d retried in a later batch, %d errors)\n",
		t.Submitted, t.Reattached, t.Done, t.Lines, t.Succeeded, t.Retried, t.Errored)
}

// batchEstimate prints a dry run's dollars both ways: the run went through
// batches, so live = batch ÷ each model's discount.
func batchEstimate(w io.Writer, sum recovery.Summary, o options) {
	factor := func(spec string) float64 {
		provider, _, _ := providers.ParseSpec(spec)
		if d, ok := providers.BatchDiscountOf(provider); ok && d.Factor > 0 {
			return d.Factor
		}
		return 1
	}
	strong := sum.StageCost[recovery.StageStrong].USD + sum.StageCost[recovery.StageContinue].USD
	weak := sum.StageCost[recovery.StageWeak].USD + sum.StageCost[recovery.StagePerturb].USD
	batch := strong + weak
	live := strong/factor(o.strong) + weak/factor(o.weak)
	fmt.Fprintf(w, "dollars: $%.4f live vs $%.4f by batch (saves $%.4f, %.0f%%)\n", live, batch, live-batch, 100*(live-batch)/max(live, 1e-12))
}
