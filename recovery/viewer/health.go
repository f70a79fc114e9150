package viewer

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/rebound-lab/rebound/recovery"
)

// HealthConditions are the conditions the problem list filters by (query
// parameter health), as recovery.Health names them.
var HealthConditions = []string{recovery.CondLength, recovery.CondEmpty, recovery.CondUnparsable, recovery.CondRefusal,
	recovery.CondRestart, recovery.CondEchoed, recovery.CondIdentical, recovery.CondErrors, recovery.CondFallback}

// healthOf reads summary.json's "health" block; nil if it has none.
func healthOf(name string, data []byte) (*recovery.Health, error) {
	var doc struct {
		Health *recovery.Health `json:"health"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("viewer: %s: health: %w", name, err)
	}
	return doc.Health, nil
}

// healthConds returns, per problem ID, the health conditions any of its
// rows has, by recovery.HealthCondition's SQL (the same definitions as the
// summary's counts).
func (r *Run) healthConds(ctx context.Context) (map[string][]string, error) {
	out := map[string][]string{}
	for _, cond := range HealthConditions {
		rows, err := r.store.DB().QueryContext(ctx, `SELECT DISTINCT problem_id FROM samples WHERE `+recovery.HealthCondition(cond))
		if err != nil {
			return nil, fmt.Errorf("viewer: health %s: %w", cond, err)
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, fmt.Errorf("viewer: health %s: %w", cond, err)
			}
			if !slices.Contains(out[id], cond) {
				out[id] = append(out[id], cond)
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("viewer: health %s: %w", cond, err)
		}
	}
	return out, nil
}
