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
	// Problems is the number of problems with a verified continuation
	// served by this host, and RecoveryCI the 95 % interval of
	// RecoveryRate clustered by problem (estimate.ClusterRate: CR2,
	// Bell–McCaffrey degrees of freedom).
	Problems   int     `json:"problems"`
	RecoveryCI [2]Rate `json:"recovery_ci"`
}

// upstreamCI sets u's Problems and RecoveryCI from per-problem recovered
// (y) and verified (m) continuation counts.
func (u *UpstreamStat) upstreamCI(y, m map[string]int) {
	u.RecoveryCI = noCI
	if len(m) == 0 {
		return
	}
	u.Problems, u.RecoveryCI = clusteredCI(y, m)
}

// UpstreamBreakdown counts samples by upstream host, largest first; it is
// empty when no row names one (no router in the run).
func UpstreamBreakdown(samples []Sample) []UpstreamStat {
	by := map[string]*UpstreamStat{}
	ys, ms := map[string]map[string]int{}, map[string]map[string]int{}
	named := false
	for _, r := range samples {
		u := by[r.Upstream]
		if u == nil {
			u = &UpstreamStat{Upstream: r.Upstream}
			by[r.Upstream] = u
			ys[r.Upstream], ms[r.Upstream] = map[string]int{}, map[string]int{}
		}
		named = named || r.Upstream != ""
		u.Calls++
		if r.Stage == StageContinue && r.Error == "" {
			u.Continuations++
			ms[r.Upstream][r.ProblemID]++
			if r.Correct {
				u.Recovered++
				ys[r.Upstream][r.ProblemID]++
			}
		}
	}
	if !named {
		return nil
	}
	out := make([]UpstreamStat, 0, len(by))
	for name, u := range by {
		u.RecoveryRate = rateOf(u.Recovered, u.Continuations)
		u.upstreamCI(ys[name], ms[name])
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
		"quantization and in how they honour a prefill. Recovery here is pooled over buckets; its 95 % interval is " +
		"clustered by problem (CR2, Bell–McCaffrey). Compare hosts with care: they may have served different problems.\n\n" +
		"| upstream | calls | problems | continuations | recovered | recovery (95% CI) |\n|---|---:|---:|---:|---:|---|\n")
	for _, u := range stats {
		name := u.Upstream
		if name == "" {
			name = "(not named)"
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %s %s |\n", name, u.Calls, u.Problems, u.Continuations, u.Recovered,
			u.RecoveryRate, ciText(u.RecoveryCI))
	}
	return b.String() + "\n"
}

// upstreamSection counts st's samples by upstream in one query and renders
// UpstreamMarkdown ("" when no row names an upstream).
func upstreamSection(ctx context.Context, st *Store) (string, error) {
	if err := st.Flush(ctx); err != nil {
		return "", err
	}
	// Per (upstream, problem), in problem-ID order within an upstream: the
	// interval is clustered by problem, and each upstream keeps only its
	// problems' counts, tallied.
	rows, err := st.db.QueryContext(ctx, `SELECT upstream, problem_id, COUNT(*),
		COALESCE(SUM(stage = 'continue' AND error = ''), 0), COALESCE(SUM(stage = 'continue' AND error = '' AND correct), 0)
		FROM samples GROUP BY upstream, problem_id ORDER BY upstream, problem_id`)
	if err != nil {
		return "", fmt.Errorf("recovery: count samples by upstream: %w", err)
	}
	defer rows.Close()
	by := map[string]*UpstreamStat{}
	tl := map[string]*clusterTally{}
	named := false
	for rows.Next() {
		var up, id string
		var calls, cont, rec int
		if err := rows.Scan(&up, &id, &calls, &cont, &rec); err != nil {
			return "", fmt.Errorf("recovery: count samples by upstream: %w", err)
		}
		u := by[up]
		if u == nil {
			u = &UpstreamStat{Upstream: up}
			by[up] = u
		}
		u.Calls += calls
		u.Continuations += cont
		u.Recovered += rec
		if cont > 0 {
			if tl[up] == nil {
				tl[up] = &clusterTally{}
			}
			tl[up].add(rec, cont, 0)
		}
		named = named || up != ""
	}
	if err := rows.Err(); err != nil {
		return "", fmt.Errorf("recovery: count samples by upstream: %w", err)
	}
	if !named {
		return "", nil
	}
	stats := make([]UpstreamStat, 0, len(by))
	for name, u := range by {
		u.RecoveryRate = rateOf(u.Recovered, u.Continuations)
		u.RecoveryCI = noCI
		if t := tl[name]; t != nil {
			u.Problems, u.RecoveryCI = t.problems, t.recoveryCI()
		}
		stats = append(stats, *u)
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

// upstreamFold counts sample rows by upstream as Summarize streams them
// (the store's order: within the continue stage each problem's rows
// together, in ID order), keeping per upstream only the per-problem
// continuation counts, tallied.
type upstreamFold struct {
	by      map[string]*UpstreamStat
	tl      map[string]*clusterTally
	named   bool
	problem string
	cur     map[string][2]int // the current problem's (recovered, verified) by upstream
}

func newUpstreamFold() *upstreamFold {
	return &upstreamFold{by: map[string]*UpstreamStat{}, tl: map[string]*clusterTally{}, cur: map[string][2]int{}}
}

func (f *upstreamFold) row(r *summaryRow) {
	u := f.by[r.upstream]
	if u == nil {
		u = &UpstreamStat{Upstream: r.upstream}
		f.by[r.upstream] = u
	}
	f.named = f.named || r.upstream != ""
	u.Calls++
	if r.stage != StageContinue || r.failed {
		return
	}
	if r.problemID != f.problem {
		f.flush()
		f.problem = r.problemID
	}
	u.Continuations++
	c := f.cur[r.upstream]
	c[1]++
	if r.correct {
		u.Recovered++
		c[0]++
	}
	f.cur[r.upstream] = c
}

func (f *upstreamFold) flush() {
	for up, c := range f.cur {
		if f.tl[up] == nil {
			f.tl[up] = &clusterTally{}
		}
		f.tl[up].add(c[0], c[1], 0)
	}
	clear(f.cur)
}

// finish renders the section (see UpstreamMarkdown); "" when no row names
// an upstream.
func (f *upstreamFold) finish() *string {
	f.flush()
	md := ""
	if f.named {
		stats := make([]UpstreamStat, 0, len(f.by))
		for name, u := range f.by {
			u.RecoveryRate = rateOf(u.Recovered, u.Continuations)
			u.RecoveryCI = noCI
			if t := f.tl[name]; t != nil {
				u.Problems, u.RecoveryCI = t.problems, t.recoveryCI()
			}
			stats = append(stats, *u)
		}
		sortUpstreams(stats)
		md = UpstreamMarkdown(stats)
	}
	return &md
}
