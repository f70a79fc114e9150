package recovery

import (
	"context"
	"fmt"
	"strings"
)

// batchSection is report.md's account of batch and live calls: empty when
// the run used no batches. Batch figures come from the batch journal in
// run.db, live ones are the paid calls the journal does not account for.
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
	live, liveUSD := s.Paid.Calls-u.Succeeded, s.Paid.USD-u.BatchUSD
	fmt.Fprintf(&b, "| | calls | USD |\n|---|---:|---:|\n| by batch | %d | %.4f |\n", u.Succeeded, u.BatchUSD)
	if live < 0 || liveUSD < -1e-9 {
		fmt.Fprintf(&b, "| live | **unknown: the journal counts %d answered batch lines, more than the %d paid calls in the samples (lines answered for calls that gave up)** | |\n", u.Succeeded, s.Paid.Calls)
	} else {
		fmt.Fprintf(&b, "| not by batch (paid rows the journal does not account for) | %d | %.4f |\n", live, max(liveUSD, 0))
	}
	fmt.Fprintf(&b, "\n%d batches (%d still open), %d request lines: %d answered, %d retried in a later batch (expired, canceled or failed retryably), %d errors.\n",
		u.Batches, u.Open, u.Lines, u.Succeeded, u.Retried, u.Errored)
	return b.String()
}
