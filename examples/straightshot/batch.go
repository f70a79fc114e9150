package main

import (
	"context"
	"fmt"
	"time"

	"github.com/rebound-lab/rebound/providers"
	"github.com/rebound-lab/rebound/providers/sim"
	"github.com/rebound-lab/rebound/providers/sqlitecache"
	"github.com/rebound-lab/rebound/recovery"
)

// batchModel puts model behind a Batcher journaled in st (a simulator gets
// an in-process batch API), or says why the provider cannot batch.
func batchModel(ctx context.Context, st *recovery.Store, model providers.Completer, spec string, maxWait time.Duration) (providers.Completer, error) {
	poll := providers.DefaultBatchPollInitial
	if s, ok := model.(*sim.Solver); ok {
		model, poll = sim.NewBatched(s, 100*time.Millisecond), 20*time.Millisecond
	}
	api, err := providers.BatchAPIOf(model)
	if err != nil {
		return nil, fmt.Errorf("-batch with %s: %w", spec, err)
	}
	j, err := st.BatchJournal(ctx)
	if err != nil {
		return nil, err
	}
	cs, err := sqlitecache.New(st.DB())
	if err != nil {
		return nil, err
	}
	b := providers.NewBatcher(api, providers.EndpointOf(model), providers.BatchConfig{MaxWait: maxWait, PollInitial: poll,
		Journal: j, Cache: cs, Scope: spec})
	return providers.Chain(model, providers.Pricing(providers.DefaultPrices()), b.Middleware()), nil
}
