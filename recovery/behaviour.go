package recovery

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/rebound-lab/rebound/behaviour"
	"github.com/rebound-lab/rebound/perturb"
)

// behaviourColumns are added to samples by migrateBehaviour: the
// continuation's behaviour label (package behaviour), the rule that decided
// it, the flaw's locus, and the evidence span as byte offsets into the
// response. An empty behaviour means not labelled yet.
var behaviourColumns = []struct{ name, decl string }{
	{"behaviour", "TEXT NOT NULL DEFAULT ''"},
	{"behaviour_rule", "TEXT NOT NULL DEFAULT ''"},
	{"behaviour_locus", "TEXT NOT NULL DEFAULT ''"},
	{"behaviour_start", "INTEGER NOT NULL DEFAULT 0"},
	{"behaviour_end", "INTEGER NOT NULL DEFAULT 0"},
}

// migrateBehaviour adds the behaviour columns to samples if they are
// missing; it is idempotent, so run directories made before them open
// fine.
func migrateBehaviour(db *sql.DB) error { return addColumns(db, "samples", behaviourColumns) }

// BehaviourKey identifies a continuation: problem, prefix strategy and
// sample index.
type BehaviourKey struct {
	ProblemID, Prefix string
	Sample            int
}

// PutBehaviour records a continuation's behaviour label.
func (s *Store) PutBehaviour(ctx context.Context, k BehaviourKey, r behaviour.Result) error {
	_, err := s.w.ExecContext(ctx, `UPDATE samples SET behaviour = ?, behaviour_rule = ?, behaviour_locus = ?,
		behaviour_start = ?, behaviour_end = ? WHERE stage = 'continue' AND problem_id = ? AND prefix = ? AND sample = ?`,
		string(r.Label), r.Rule, string(r.Locus), r.Evidence.Start, r.Evidence.End, k.ProblemID, k.Prefix, k.Sample)
	if err != nil {
		return fmt.Errorf("recovery: store behaviour of continuation %d of %s prefix of %q: %w", k.Sample, k.Prefix, k.ProblemID, err)
	}
	return nil
}

// Behaviours returns the recorded behaviour labels of a problem's
// continuations (every problem's for problemID ""); unlabelled ones are
// left out.
func (s *Store) Behaviours(ctx context.Context, problemID string) (map[BehaviourKey]behaviour.Result, error) {
	if err := s.Flush(ctx); err != nil {
		return nil, err
	}
	q := `SELECT problem_id, prefix, sample, behaviour, behaviour_rule, behaviour_locus, behaviour_start, behaviour_end
		FROM samples WHERE stage = 'continue' AND behaviour != ''`
	var args []any
	if problemID != "" {
		q += ` AND problem_id = ?`
		args = append(args, problemID)
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("recovery: read behaviours: %w", err)
	}
	defer rows.Close()
	out := map[BehaviourKey]behaviour.Result{}
	for rows.Next() {
		var k BehaviourKey
		var r behaviour.Result
		var label, locus string
		if err := rows.Scan(&k.ProblemID, &k.Prefix, &k.Sample, &label, &r.Rule, &locus, &r.Evidence.Start, &r.Evidence.End); err != nil {
			return nil, fmt.Errorf("recovery: read behaviours: %w", err)
		}
		r.Label, r.Locus = behaviour.Label(label), behaviour.Locus(locus)
		out[k] = r
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("recovery: read behaviours: %w", err)
	}
	return out, nil
}

// LabelBehaviours labels every verified continuation in st that has no
// behaviour yet (every one, with relabel) with behaviour.Classify, from
// its prefix's known flaw (behaviour.FlawOf), its verdict and its restart
// flag, and records the labels. It returns how many it labelled. Failed
// continuations (Error set) are not labelled. It holds the prefixes and
// the labels in memory, never all continuation texts.
func LabelBehaviours(ctx context.Context, st *Store, relabel bool) (int, error) {
	if err := st.Flush(ctx); err != nil {
		return 0, err
	}
	problems, err := st.Problems(ctx)
	if err != nil {
		return 0, err
	}
	byID := make(map[string]Problem, len(problems))
	for _, p := range problems {
		byID[p.ID] = p
	}
	prefixes, err := st.Prefixes(ctx, "")
	if err != nil {
		return 0, err
	}
	type flawKey struct{ problem, strategy string }
	flaws := map[flawKey]behaviour.Flaw{}
	texts := map[flawKey]bool{}
	for _, r := range prefixes {
		if r.SetAside != "" || r.Error != "" {
			continue
		}
		pre := perturb.Prefix{Text: r.Text, Source: r.Source, StepsKept: r.StepsKept, StepsTotal: r.StepsTotal,
			Strategy: r.Strategy, Origin: r.Origin, ErrorStep: r.ErrorStep, Meta: r.Meta}
		flaws[flawKey{r.ProblemID, r.Strategy}] = behaviour.FlawOf(pre, byID[r.ProblemID].Dataset())
		texts[flawKey{r.ProblemID, r.Strategy}] = true
	}
	type labelled struct {
		k BehaviourKey
		r behaviour.Result
	}
	var out []labelled
	where := `stage = 'continue' AND error = ''`
	if !relabel {
		where += ` AND behaviour = ''`
	}
	err = st.eachSample(ctx, false, where, func(s Sample) error {
		fk := flawKey{s.ProblemID, s.Prefix}
		if !texts[fk] {
			return nil // no prefix row: nothing known about the flaw
		}
		r := behaviour.Classify(behaviour.Input{Continuation: s.Response, Flaw: flaws[fk], Correct: s.Correct,
			Restarted: s.Restarted, Answer: s.Answer, Reference: byID[s.ProblemID].Answer})
		out = append(out, labelled{BehaviourKey{s.ProblemID, s.Prefix, s.Sample}, r})
		return nil
	})
	if err != nil {
		return 0, err
	}
	tx, err := st.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("recovery: store behaviours: %w", err)
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, `UPDATE samples SET behaviour = ?, behaviour_rule = ?, behaviour_locus = ?,
		behaviour_start = ?, behaviour_end = ? WHERE stage = 'continue' AND problem_id = ? AND prefix = ? AND sample = ?`)
	if err != nil {
		return 0, fmt.Errorf("recovery: store behaviours: %w", err)
	}
	defer stmt.Close()
	for _, l := range out {
		if _, err := stmt.ExecContext(ctx, string(l.r.Label), l.r.Rule, string(l.r.Locus), l.r.Evidence.Start,
			l.r.Evidence.End, l.k.ProblemID, l.k.Prefix, l.k.Sample); err != nil {
			return 0, fmt.Errorf("recovery: store behaviour of %q: %w", l.k.ProblemID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("recovery: store behaviours: %w", err)
	}
	return len(out), nil
}

// BehaviourGroup is the behaviour split of one group of continuations
// (a bucket, a strategy, an error type, ...).
type BehaviourGroup struct {
	Name string `json:"name"`
	// Continuations labelled in the group (verified, with a known prefix),
	// over Problems problems.
	Continuations int `json:"continuations"`
	Problems      int `json:"problems"`
	// Recovered reached the right answer (restarts included, as in the
	// recovery rate); RecoveryCI is clustered by problem (ClusterCI).
	Recovered    int     `json:"recovered"`
	RecoveryRate Rate    `json:"recovery_rate"`
	RecoveryCI   [2]Rate `json:"recovery_ci"`
	// Counts, Rates and CI give each behaviour label's count, share of
	// Continuations and 95 % interval clustered by problem. Every label is
	// present.
	Counts map[string]int     `json:"counts"`
	Rates  map[string]Rate    `json:"rates"`
	CI     map[string][2]Rate `json:"ci"`
}

// BehaviourStrategy is the behaviour split of one strategy, overall and by
// bucket.
type BehaviourStrategy struct {
	Strategy string           `json:"strategy"`
	Overall  BehaviourGroup   `json:"overall"`
	Buckets  []BehaviourGroup `json:"buckets"`
}

// BehaviourSummary is how continuations recovered or failed (package
// behaviour's labels), overall and split every way the flaw is known. The
// error-type, magnitude, position and steps-after-error splits cover only
// prefixes that record them (perturb.InjectError); locus says how much the
// rules knew about each flaw.
type BehaviourSummary struct {
	// Labelled continuations; Unlabelled verified continuations without a
	// label (their prefix row is missing).
	Labelled   int                 `json:"labelled"`
	Unlabelled int                 `json:"unlabelled"`
	Overall    BehaviourGroup      `json:"overall"`
	ByBucket   []BehaviourGroup    `json:"by_bucket"`
	ByStrategy []BehaviourStrategy `json:"by_strategy"`
	ByLocus    []BehaviourGroup    `json:"by_locus"`
	// ByErrorType, ByMagnitude, ByPosition and ByStepsAfter split injected
	// prefixes by perturb's recorded options (Meta "error_type",
	// "magnitude", "position", "steps_after_error").
	ByErrorType  []BehaviourGroup `json:"by_error_type"`
	ByMagnitude  []BehaviourGroup `json:"by_magnitude"`
	ByPosition   []BehaviourGroup `json:"by_position"`
	ByStepsAfter []BehaviourGroup `json:"by_steps_after_error"`
}

// behaviourAcc accumulates one group: per problem, continuations, correct
// ones and label counts.
type behaviourAcc struct {
	m, y   map[string]int
	labels map[string]map[string]int
}

func newBehaviourAcc() *behaviourAcc {
	return &behaviourAcc{m: map[string]int{}, y: map[string]int{}, labels: map[string]map[string]int{}}
}

func (a *behaviourAcc) add(problem string, label string, correct bool) {
	a.m[problem]++
	if correct {
		a.y[problem]++
	}
	if a.labels[label] == nil {
		a.labels[label] = map[string]int{}
	}
	a.labels[label][problem]++
}

func (a *behaviourAcc) finish(name string) BehaviourGroup {
	g := BehaviourGroup{Name: name, Counts: map[string]int{}, Rates: map[string]Rate{}, CI: map[string][2]Rate{}}
	ids := slices.Sorted(maps.Keys(a.m))
	ms := make([]int, len(ids))
	ys := make([]int, len(ids))
	for i, id := range ids {
		ms[i], ys[i] = a.m[id], a.y[id]
		g.Continuations += ms[i]
		g.Recovered += ys[i]
	}
	g.Problems = len(ids)
	g.RecoveryRate = rateOf(g.Recovered, g.Continuations)
	lo, hi := ClusterCI(ys, ms, 0.95)
	g.RecoveryCI = [2]Rate{Rate(lo), Rate(hi)}
	for _, l := range behaviour.Labels {
		ls := make([]int, len(ids))
		n := 0
		for i, id := range ids {
			ls[i] = a.labels[string(l)][id]
			n += ls[i]
		}
		g.Counts[string(l)] = n
		g.Rates[string(l)] = rateOf(n, g.Continuations)
		lo, hi := ClusterCI(ls, ms, 0.95)
		g.CI[string(l)] = [2]Rate{Rate(lo), Rate(hi)}
	}
	return g
}

// summarizeBehaviour computes the BehaviourSummary from the store's
// labelled continuations; nil when nothing is labelled.
func summarizeBehaviour(ctx context.Context, st *Store, buckets []string) (*BehaviourSummary, error) {
	if err := st.Flush(ctx); err != nil {
		return nil, err
	}
	problems, err := st.Problems(ctx)
	if err != nil {
		return nil, err
	}
	bucketOf := map[string]string{}
	order := slices.Clone(buckets)
	for _, p := range problems {
		b := p.Bucket
		if b == "" {
			b = "unbinned"
		}
		bucketOf[p.ID] = b
		if !slices.Contains(order, b) {
			order = append(order, b)
		}
	}
	prefixes, err := st.prefixRows(ctx, `'', ''`, `set_aside = '' AND error = ''`)
	if err != nil {
		return nil, err
	}
	meta := map[[2]string]map[string]string{}
	for _, r := range prefixes {
		meta[[2]string{r.ProblemID, r.Strategy}] = r.Meta
	}
	rows, err := st.db.QueryContext(ctx, `SELECT problem_id, prefix, correct, behaviour, behaviour_locus FROM samples
		WHERE stage = 'continue' AND error = '' ORDER BY problem_id, prefix, sample`)
	if err != nil {
		return nil, fmt.Errorf("recovery: read behaviours: %w", err)
	}
	defer rows.Close()
	s := &BehaviourSummary{}
	all := newBehaviourAcc()
	groups := map[string]map[string]*behaviourAcc{} // split → name → acc
	get := func(split, name string) *behaviourAcc {
		if groups[split] == nil {
			groups[split] = map[string]*behaviourAcc{}
		}
		a := groups[split][name]
		if a == nil {
			a = newBehaviourAcc()
			groups[split][name] = a
		}
		return a
	}
	for rows.Next() {
		var pid, prefix, label, locus string
		var correct bool
		if err := rows.Scan(&pid, &prefix, &correct, &label, &locus); err != nil {
			return nil, fmt.Errorf("recovery: read behaviours: %w", err)
		}
		if label == "" {
			s.Unlabelled++
			continue
		}
		s.Labelled++
		b := bucketOf[pid]
		if b == "" {
			b = "unbinned"
		}
		accs := []*behaviourAcc{all, get("bucket", b), get("strategy", prefix), get("strategy/bucket", prefix+"\x00"+b),
			get("locus", locus)}
		if m := meta[[2]string{pid, prefix}]; m["error_type"] != "" {
			accs = append(accs, get("error_type", m["error_type"]))
			if v := m["magnitude"]; v != "" {
				accs = append(accs, get("magnitude", v))
			}
			if v := m["position"]; v != "" {
				accs = append(accs, get("position", v))
			}
			if v := m["steps_after_error"]; v != "" {
				accs = append(accs, get("steps_after", v))
			}
		}
		for _, a := range accs {
			a.add(pid, label, correct)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("recovery: read behaviours: %w", err)
	}
	if s.Labelled == 0 {
		return nil, nil
	}
	s.Overall = all.finish("overall")
	list := func(split string, names []string) []BehaviourGroup {
		out := []BehaviourGroup{}
		for _, n := range names {
			if a := groups[split][n]; a != nil {
				out = append(out, a.finish(n))
			}
		}
		return out
	}
	sortedNames := func(split string, first []string) []string {
		names := slices.Clone(first)
		for _, n := range slices.Sorted(maps.Keys(groups[split])) {
			if !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
		return names
	}
	s.ByBucket = list("bucket", order)
	for _, strat := range slices.Sorted(maps.Keys(groups["strategy"])) {
		bs := BehaviourStrategy{Strategy: strat, Overall: groups["strategy"][strat].finish("overall"), Buckets: []BehaviourGroup{}}
		for _, b := range order {
			if a := groups["strategy/bucket"][strat+"\x00"+b]; a != nil {
				bs.Buckets = append(bs.Buckets, a.finish(b))
			}
		}
		s.ByStrategy = append(s.ByStrategy, bs)
	}
	s.ByLocus = list("locus", sortedNames("locus", []string{string(behaviour.Injected), string(behaviour.Labelled),
		string(behaviour.GoldDivergence), string(behaviour.Unlocated)}))
	types := make([]string, len(perturb.ErrorTypes))
	for i, t := range perturb.ErrorTypes {
		types[i] = string(t)
	}
	s.ByErrorType = list("error_type", sortedNames("error_type", types))
	s.ByMagnitude = list("magnitude", sortedNames("magnitude", []string{string(perturb.Small), string(perturb.Medium), string(perturb.Large)}))
	s.ByPosition = list("position", sortedNames("position", []string{string(perturb.Early), string(perturb.Middle), string(perturb.Late)}))
	after := slices.SortedFunc(maps.Keys(groups["steps_after"]), func(a, b string) int {
		x, _ := strconv.Atoi(a)
		y, _ := strconv.Atoi(b)
		return x - y
	})
	s.ByStepsAfter = list("steps_after", after)
	return s, nil
}

// behaviourMarkdown renders the report.md section on behaviours; "" when
// nothing was labelled.
func (s Summary) behaviourMarkdown() string {
	bs := s.Behaviour
	if bs == nil {
		return ""
	}
	var b strings.Builder
	b.WriteString("## How continuations recovered (behaviour)\n\n")
	fmt.Fprintf(&b, "%d continuations labelled by rules (package behaviour)", bs.Labelled)
	if bs.Unlabelled > 0 {
		fmt.Fprintf(&b, "; **%d verified continuations unlabelled** (no prefix row)", bs.Unlabelled)
	}
	b.WriteString(". explicit = the flawed step is flagged or redone and the corrected value used, answer right; " +
		"silent = answer right, flaw never revisited; restart = prefix ignored; propagated = wrong answer carrying " +
		"the flaw; other = wrong for another reason. Each cell is a share with its 95 % interval clustered by problem. " +
		"Recovery counts restarts that reached the answer, as above. Rules are exact only where the flaw is known " +
		"(locus injected); see the README's behaviour section for their limits.\n\n")
	table := func(title, col string, gs []BehaviourGroup) {
		if len(gs) == 0 {
			return
		}
		fmt.Fprintf(&b, "### %s\n\n| %s | continuations | recovery (95%% CI) |", title, col)
		for _, l := range behaviour.Labels {
			fmt.Fprintf(&b, " %s |", strings.ReplaceAll(string(l), "_", " "))
		}
		b.WriteString("\n|---|---:|---|")
		for range behaviour.Labels {
			b.WriteString("---|")
		}
		b.WriteString("\n")
		for _, g := range gs {
			fmt.Fprintf(&b, "| %s | %d | %s [%s, %s] |", g.Name, g.Continuations, g.RecoveryRate, g.RecoveryCI[0], g.RecoveryCI[1])
			for _, l := range behaviour.Labels {
				ci := g.CI[string(l)]
				fmt.Fprintf(&b, " %s [%s, %s] |", g.Rates[string(l)], ci[0], ci[1])
			}
			b.WriteString("\n")
		}
		b.WriteString("\n")
	}
	table("By bucket", "bucket", append(slices.Clone(bs.ByBucket), bs.Overall))
	for _, st := range bs.ByStrategy {
		table("Strategy "+st.Strategy, "bucket", append(slices.Clone(st.Buckets), st.Overall))
	}
	table("By flaw locus", "locus", bs.ByLocus)
	table("Injected errors by type", "error type", bs.ByErrorType)
	table("Injected errors by magnitude", "magnitude", bs.ByMagnitude)
	table("Injected errors by position", "position", bs.ByPosition)
	table("Injected errors by steps kept after the error", "steps after", bs.ByStepsAfter)
	return b.String()
}
