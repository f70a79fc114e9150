package recovery

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// UpstreamStat is one upstream host's share of a run: the calls a router
// (OpenRouter) said it served, and the continuations among them.
type UpstreamStat struct {
	// Upstream is Completion.Upstream ("" for calls no router named).
	Upstream string `json:"upstream"`
	// Calls counts every recorded call it served, failed ones included.
	Calls int `json:"calls"`
	// Continuations verified (failed calls excluded), of which Recovered
	// were correct.
	Continuations int  `json:"continuations"`
	Recovered     int  `json:"recovered"`
	RecoveryRate  Rate `json:"recovery_rate"`
}

// UpstreamBreakdown counts samples by upstream host, largest first; it is
// empty when no row names one (no router in the run).
func UpstreamBreakdown(samples []Sample) []UpstreamStat {
	by := map[string]*UpstreamStat{}
	named := false
	for _, r := range samples {
		u := by[r.Upstream]
		if u == nil {
			u = &UpstreamStat{Upstream: r.Upstream}
			by[r.Upstream] = u
		}
		named = named || r.Upstream != ""
		u.Calls++
		if r.Stage == StageContinue && r.Error == "" {
			u.Continuations++
			if r.Correct {
				u.Recovered++
			}
		}
	}
	if !named {
		return nil
	}
	out := make([]UpstreamStat, 0, len(by))
	for _, u := range by {
		u.RecoveryRate = rateOf(u.Recovered, u.Continuations)
		out = append(out, *u)
	}
	sortUpstreams(out)
	return out
}

// UpstreamMarkdown renders the breakdown as a report section; "" when it
// is empty.
func UpstreamMarkdown(stats []UpstreamStat) string {
	if len(stats) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("## Calls by upstream host\n\nThe router named the host that served each call; hosts can differ in " +
		"quantization and in how they honour a prefill. Recovery here is pooled over buckets, with no interval " +
		"(compare hosts with care: they may have served different problems).\n\n" +
		"| upstream | calls | continuations | recovered | recovery |\n|---|---:|---:|---:|---:|\n")
	for _, u := range stats {
		name := u.Upstream
		if name == "" {
			name = "(not named)"
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %s |\n", name, u.Calls, u.Continuations, u.Recovered, u.RecoveryRate)
	}
	return b.String() + "\n"
}

// upstreamSection counts st's samples by upstream in one query and renders
// UpstreamMarkdown ("" when no row names an upstream).
func upstreamSection(ctx context.Context, st *Store) (string, error) {
	if err := st.Flush(ctx); err != nil {
		return "", err
	}
	rows, err := st.db.QueryContext(ctx, `SELECT upstream, COUNT(*),
		COALESCE(SUM(stage = 'continue' AND error = ''), 0), COALESCE(SUM(stage = 'continue' AND error = '' AND correct), 0)
		FROM samples GROUP BY upstream`)
	if err != nil {
		return "", fmt.Errorf("recovery: count samples by upstream: %w", err)
	}
	defer rows.Close()
	var stats []UpstreamStat
	named := false
	for rows.Next() {
		var u UpstreamStat
		if err := rows.Scan(&u.Upstream, &u.Calls, &u.Continuations, &u.Recovered); err != nil {
			return "", fmt.Errorf("recovery: count samples by upstream: %w", err)
		}
		u.RecoveryRate = rateOf(u.Recovered, u.Continuations)
		named = named || u.Upstream != ""
		stats = append(stats, u)
	}
	if err := rows.Err(); err != nil {
		return "", fmt.Errorf("recovery: count samples by upstream: %w", err)
	}
	if !named {
		return "", nil
	}
	sortUpstreams(stats)
	return UpstreamMarkdown(stats), nil
}

func sortUpstreams(out []UpstreamStat) {
	slices.SortFunc(out, func(a, b UpstreamStat) int {
		if a.Calls != b.Calls {
			return b.Calls - a.Calls
		}
		return strings.Compare(a.Upstream, b.Upstream)
	})
}
