package recovery

import (
	"context"
	"fmt"
	"strings"

	"github.com/rebound-lab/rebound/providers/sqlitecache"
)

// batchSection is report.md's account of batch and live calls: empty when
// the run used no batches. Paid answers are counted in the completion cache
// (every paid answer is stored there once, with Completion.Batch telling
// how it was bought); batch and line counts come from the batch journal.
func batchSection(ctx context.Context, st *Store, s Summary) string {
	if st == nil {
		return ""
	}
	u, err := st.BatchUse(ctx)
	if err != nil {
		return fmt.Sprintf("\n## Batch and live calls\n\n**Could not read the batch journal: %v**\n", err)
	}
	if u.Batches == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("\n## Batch and live calls\n\n")
	var batchN, liveN int
	var batchUSD, liveUSD float64
	q := `SELECT COALESCE(SUM(json_extract(completion, '$.batch') IS 1), 0),
		COALESCE(SUM(CASE WHEN json_extract(completion, '$.batch') IS 1 THEN json_extract(completion, '$.cost_usd') END), 0),
		COALESCE(SUM(json_extract(completion, '$.batch') IS NOT 1), 0),
		COALESCE(SUM(CASE WHEN json_extract(completion, '$.batch') IS NOT 1 THEN json_extract(completion, '$.cost_usd') END), 0)
		FROM ` + sqlitecache.Table
	if err := st.DB().QueryRowContext(ctx, q).Scan(&batchN, &batchUSD, &liveN, &liveUSD); err != nil {
		fmt.Fprintf(&b, "**Paid answers unknown: the completion cache could not be read (%v); the journal counts %d answered batch lines, $%.4f.**\n",
			err, u.Succeeded, u.BatchUSD)
	} else {
		fmt.Fprintf(&b, "Paid answers, one per distinct request (from the completion cache):\n\n| | answers | USD |\n|---|---:|---:|\n| by batch | %d | %.4f |\n| live | %d | %.4f |\n",
			batchN, batchUSD, liveN, liveUSD)
	}
	fmt.Fprintf(&b, "\n%d batches (%d still open), %d request lines: %d answered, %d retried in a later batch (expired, canceled or failed retryably), %d errors.\n",
		u.Batches, u.Open, u.Lines, u.Succeeded, u.Retried, u.Errored)
	return b.String()
}
