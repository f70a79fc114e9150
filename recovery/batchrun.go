package recovery

import (
	"context"
	"fmt"

	"github.com/rebound-lab/rebound/providers"
)

// DefaultBatchConcurrency is the items a stage works on at once with
// Config.Batch and Concurrency 0: enough that every problem's request waits
// at the same time, so a stage (and each round of the weak model's
// sample-until-wrong loop) becomes one batch.
const DefaultBatchConcurrency = 20000

// CheckBatch reports whether c can be run with Config.Batch: nil, or an
// error wrapping providers.ErrNoBatchAPI naming the provider.
func CheckBatch(c providers.Completer) error {
	_, err := providers.BatchAPIOf(c)
	return err
}

// batchMiddleware builds the Batcher for model spec: journaled in run.db's
// batches tables, storing every answer in the run's completion cache before
// its batch is closed, priced at batch prices.
func (cfg *Config) batchMiddleware(ctx context.Context, st *Store, c providers.Completer, spec string) (providers.Middleware, error) {
	api, err := providers.BatchAPIOf(c)
	if err != nil {
		return nil, fmt.Errorf("%w: -batch with %s: %w", ErrConfig, spec, err)
	}
	j, err := st.BatchJournal(ctx)
	if err != nil {
		return nil, err
	}
	bc := providers.BatchConfig{MaxSize: cfg.BatchMaxSize, MaxWait: cfg.BatchMaxWait, PollInitial: cfg.BatchPoll,
		Journal: j, Prices: cfg.Prices, Scope: spec, OnEvent: cfg.OnBatch}
	if !cfg.NoCache {
		qc, err := st.completionCache()
		if err != nil {
			return nil, err
		}
		bc.Cache = qc
	}
	return providers.NewBatcher(api, providers.EndpointOf(c), bc).Middleware(), nil
}
