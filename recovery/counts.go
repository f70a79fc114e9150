package recovery

import (
	"context"
	"fmt"
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
	var c Cost
	err := s.db.QueryRowContext(ctx, `SELECT COALESCE(SUM(`+callSQL+`), 0), COALESCE(SUM(cached), 0),
		COALESCE(SUM(input_tokens), 0), COALESCE(SUM(output_tokens), 0), COALESCE(SUM(cost_usd), 0) FROM samples`).
		Scan(&c.Calls, &c.CachedCalls, &c.InputTokens, &c.OutputTokens, &c.USD)
	if err != nil {
		return Cost{}, fmt.Errorf("recovery: total cost: %w", err)
	}
	return c, nil
}
