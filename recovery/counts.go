package recovery

import (
	"context"
	"fmt"

	"github.com/rebound-lab/rebound/perturb"
)

// callSQL is 1 for a row that holds a completion (a call, see Cost), the
// SQL twin of the rule in Aggregate: a failed call that returned nothing is
// not a call.
const callSQL = `CASE WHEN error != '' AND response = '' AND input_tokens = 0 AND output_tokens = 0 THEN 0 ELSE 1 END`

// Cost totals the run's calls, cached calls, tokens and dollars straight
// from the stored rows, by the same definitions as Summary.Cost (see Cost),
// without aggregating anything else: what a viewer of a run still in
// progress shows.
func (s *Store) Cost(ctx context.Context) (Cost, error) {
	if err := s.Flush(ctx); err != nil {
		return Cost{}, err
	}
	var c Cost
	err := s.db.QueryRowContext(ctx, `SELECT COALESCE(SUM(`+callSQL+`), 0), COALESCE(SUM(cached), 0),
		COALESCE(SUM(input_tokens), 0), COALESCE(SUM(output_tokens), 0), COALESCE(SUM(cost_usd), 0) FROM samples`).
		Scan(&c.Calls, &c.CachedCalls, &c.InputTokens, &c.OutputTokens, &c.USD)
	if err != nil {
		return Cost{}, fmt.Errorf("recovery: total cost: %w", err)
	}
	return c, nil
}

// StrongTraces returns the strong model's finished straight-shot samples in
// st as perturb.Traces by problem ID — what perturb.OnPolicy and
// perturb.InjectError take — for composing the stages yourself. origin is
// recorded as each trace's Origin (the strong model's spec).
func StrongTraces(ctx context.Context, st *Store, origin string) (func(problemID string) []perturb.Trace, error) {
	rows, err := st.StageSamples(ctx, StageStrong)
	if err != nil {
		return nil, err
	}
	traces := map[string][]perturb.Trace{}
	for _, r := range rows {
		if r.Error == "" {
			traces[r.ProblemID] = append(traces[r.ProblemID], perturb.Trace{Text: r.Response, Correct: r.Correct, Origin: origin, Sample: r.Sample})
		}
	}
	return func(id string) []perturb.Trace { return traces[id] }, nil
}
