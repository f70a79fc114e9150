package recovery

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/rebound-lab/rebound/behaviour"
	"github.com/rebound-lab/rebound/dataset"
	"github.com/rebound-lab/rebound/estimate"
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
// continuations (Error set) are not labelled. It reads the store in
// chunks of problems (their texts, prefixes and continuations), so its
// memory does not grow with the run, and commits the labels every few
// thousand. Continue labels what it stores the same way, so after a Run
// there is usually nothing left (one query says so).
func LabelBehaviours(ctx context.Context, st *Store, relabel bool) (int, error) {
	if !relabel {
		// A run's continuations are labelled as they are stored (Continue):
		// usually there is nothing to do, which one query says.
		if err := st.Flush(ctx); err != nil {
			return 0, err
		}
		var unlabelled bool
		if err := st.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM samples
			WHERE stage = 'continue' AND error = '' AND behaviour = '')`).Scan(&unlabelled); err != nil {
			return 0, fmt.Errorf("recovery: find unlabelled continuations: %w", err)
		}
		if !unlabelled {
			return 0, nil
		}
	}
	ranges, err := st.problemRanges(ctx, reportChunk)
	if err != nil {
		return 0, err
	}
	type flawKey struct{ problem, strategy string }
	type labelled struct {
		k BehaviourKey
		r behaviour.Result
	}
	var out []labelled
	total := 0
	write := func() error {
		if len(out) == 0 {
			return nil
		}
		tx, err := st.db.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("recovery: store behaviours: %w", err)
		}
		defer tx.Rollback()
		stmt, err := tx.PrepareContext(ctx, `UPDATE samples SET behaviour = ?, behaviour_rule = ?, behaviour_locus = ?,
			behaviour_start = ?, behaviour_end = ? WHERE stage = 'continue' AND problem_id = ? AND prefix = ? AND sample = ?`)
		if err != nil {
			return fmt.Errorf("recovery: store behaviours: %w", err)
		}
		defer stmt.Close()
		for _, l := range out {
			if _, err := stmt.ExecContext(ctx, string(l.r.Label), l.r.Rule, string(l.r.Locus), l.r.Evidence.Start,
				l.r.Evidence.End, l.k.ProblemID, l.k.Prefix, l.k.Sample); err != nil {
				return fmt.Errorf("recovery: store behaviour of %q: %w", l.k.ProblemID, err)
			}
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("recovery: store behaviours: %w", err)
		}
		total += len(out)
		out = out[:0]
		return nil
	}
	for _, rg := range ranges {
		inRange, args := rg.where(`problem_id`)
		prefixes, err := st.queryPrefixes(ctx, `set_aside = '' AND error = '' AND `+inRange, args...)
		if err != nil {
			return total, err
		}
		if len(prefixes) == 0 {
			continue // no prefix, no known flaw: nothing to label
		}
		byID, err := st.problemsIn(ctx, rg)
		if err != nil {
			return total, err
		}
		flaws := make(map[flawKey]behaviour.Flaw, len(prefixes))
		for _, r := range prefixes {
			pre := perturb.Prefix{Text: r.Text, Source: r.Source, StepsKept: r.StepsKept, StepsTotal: r.StepsTotal,
				Strategy: r.Strategy, Origin: r.Origin, ErrorStep: r.ErrorStep, Meta: r.Meta}
			flaws[flawKey{r.ProblemID, r.Strategy}] = behaviour.FlawOf(pre, byID[r.ProblemID].Dataset())
		}
		where := `stage = 'continue' AND error = '' AND ` + inRange
		if !relabel {
			where += ` AND behaviour = ''`
		}
		err = st.eachSampleCols(ctx, labelSampleCols, where, func(s Sample) error {
			flaw, ok := flaws[flawKey{s.ProblemID, s.Prefix}]
			if !ok {
				return nil // no prefix row: nothing known about the flaw
			}
			r := classify(s, flaw, byID[s.ProblemID].Answer)
			out = append(out, labelled{BehaviourKey{s.ProblemID, s.Prefix, s.Sample}, r})
			return nil
		}, args...)
		if err != nil {
			return total, err
		}
		if len(out) >= 4096 {
			if err := write(); err != nil {
				return total, err
			}
		}
	}
	if err := write(); err != nil {
		return total, err
	}
	return total, nil
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

// behaviourRec is one problem's labelled continuations of one strategy's
// prefix with one flaw locus: verified (m), recovered (y) and per label
// (index into behaviour.Labels). A count that would overflow starts a new
// record; records of one problem are summed when groups are built.
type behaviourRec struct {
	problem  int32 // table index, or a negative index for a problem the table does not hold
	strategy uint16
	locus    uint16
	bucket   uint16
	meta     behaviourMeta
	y, m     uint16
	labels   [maxBehaviourLabels]uint16
}

// behaviourMeta are a prefix's injected-error options (error type,
// magnitude, position, steps after the error) as indices into the fold's
// names (0: none).
type behaviourMeta [4]uint16

var behaviourMetaKeys = [4]string{"error_type", "magnitude", "position", "steps_after_error"}

const maxBehaviourLabels = 8

// behaviourFold computes the BehaviourSummary from prefix rows (their
// meta) and then the labelled continuation rows, fed one at a time in the
// store's order (each problem's rows together, in ID order), in a few
// dozen bytes per problem and strategy.
type behaviourFold struct {
	t         *reportTable
	metaNames [4][]string // index 0 is ""
	metaIx    [4]map[string]uint16
	meta      [][]behaviourMeta           // per strategy, per problem (nil until one has meta)
	ghostMeta map[[2]string]behaviourMeta // meta of problems the table does not hold
	ghosts    map[string]int32            // problems the table does not hold → negative index
	loci      []string                    // by index
	locusIx   map[string]uint16
	labelIx   map[string]int
	// recs are the current problem's records; when its rows end they are
	// added to every group they belong to (groups), problems with equal
	// counts tallied, so the fold keeps no record per problem.
	recs       []behaviourRec
	groups     map[behaviourKey]*behaviourTally
	cur        map[behaviourKey]*behaviourCounts
	used       map[uint16]bool // strategies with a labelled continuation
	labelled   int
	unlabelled int
}

// behaviourKey names a group of the BehaviourSummary: kind (overall,
// bucket a, strategy a, strategy a in bucket b, locus a, meta key a with
// value b).
type behaviourKey struct {
	kind uint8
	a, b uint16
}

const (
	groupOverall = iota
	groupBucket
	groupStrategy
	groupStrategyBucket
	groupLocus
	groupMeta
)

// behaviourCounts are one problem's continuations in a group: verified,
// recovered and per label.
type behaviourCounts [2 + maxBehaviourLabels]int

// behaviourTally counts a group's problems by their behaviourCounts.
type behaviourTally struct {
	ix   map[behaviourCounts]int
	keys []behaviourCounts
	ws   []float64
}

func (t *behaviourTally) add(c behaviourCounts) {
	k, ok := t.ix[c]
	if !ok {
		k = len(t.keys)
		t.ix[c] = k
		t.keys, t.ws = append(t.keys, c), append(t.ws, 0)
	}
	t.ws[k]++
}

// keys are the groups record r belongs to.
func (r *behaviourRec) keys(out []behaviourKey) []behaviourKey {
	out = append(out[:0], behaviourKey{kind: groupOverall}, behaviourKey{kind: groupBucket, a: r.bucket},
		behaviourKey{kind: groupStrategy, a: r.strategy}, behaviourKey{kind: groupStrategyBucket, a: r.strategy, b: r.bucket},
		behaviourKey{kind: groupLocus, a: r.locus})
	if r.meta[0] != 0 {
		for k, v := range r.meta {
			if v != 0 {
				out = append(out, behaviourKey{kind: groupMeta, a: uint16(k), b: v})
			}
		}
	}
	return out
}

// flushProblem adds the current problem's records to their groups.
func (f *behaviourFold) flushProblem() {
	if len(f.recs) == 0 {
		return
	}
	if f.groups == nil {
		f.groups, f.cur, f.used = map[behaviourKey]*behaviourTally{}, map[behaviourKey]*behaviourCounts{}, map[uint16]bool{}
	}
	var keys [12]behaviourKey
	for k := range f.recs {
		r := &f.recs[k]
		f.used[r.strategy] = true
		for _, key := range r.keys(keys[:0]) {
			c := f.cur[key]
			if c == nil {
				c = &behaviourCounts{}
				f.cur[key] = c
			}
			c[0] += int(r.m)
			c[1] += int(r.y)
			for l := range maxBehaviourLabels {
				c[2+l] += int(r.labels[l])
			}
		}
	}
	for key, c := range f.cur {
		t := f.groups[key]
		if t == nil {
			t = &behaviourTally{ix: map[behaviourCounts]int{}}
			f.groups[key] = t
		}
		t.add(*c)
	}
	clear(f.cur)
	f.recs = f.recs[:0]
}

func newBehaviourFold(t *reportTable) *behaviourFold {
	f := &behaviourFold{t: t, locusIx: map[string]uint16{}, labelIx: map[string]int{}}
	for k := range f.metaIx {
		f.metaIx[k] = map[string]uint16{"": 0}
		f.metaNames[k] = []string{""}
	}
	for i, l := range behaviour.Labels[:min(len(behaviour.Labels), maxBehaviourLabels)] {
		f.labelIx[string(l)] = i
	}
	return f
}

func (f *behaviourFold) metaIndex(k int, v string) uint16 {
	if i, ok := f.metaIx[k][v]; ok {
		return i
	}
	i := uint16(len(f.metaNames[k]))
	f.metaIx[k][v] = i
	f.metaNames[k] = append(f.metaNames[k], v)
	return i
}

// prefix records the injected-error options of a usable prefix row of
// problem i (-1: one the table does not hold).
func (f *behaviourFold) prefix(r Prefix, i int32) {
	if r.SetAside != "" || r.Error != "" || r.Meta["error_type"] == "" {
		return
	}
	var m behaviourMeta
	for k, key := range behaviourMetaKeys {
		m[k] = f.metaIndex(k, r.Meta[key])
	}
	if i < 0 {
		if f.ghostMeta == nil {
			f.ghostMeta = map[[2]string]behaviourMeta{}
		}
		f.ghostMeta[[2]string{r.ProblemID, r.Strategy}] = m
		return
	}
	s := f.t.strategy(r.Strategy)
	for len(f.meta) <= s {
		f.meta = append(f.meta, nil)
	}
	if f.meta[s] == nil {
		f.meta[s] = make([]behaviourMeta, f.t.len())
	}
	f.meta[s][i] = m
}

// row adds one verified continuation row.
func (f *behaviourFold) row(r *summaryRow) {
	if r.behaviour == "" {
		f.unlabelled++
		return
	}
	f.labelled++
	t := f.t
	s := t.strategy(r.prefix)
	var meta behaviourMeta
	i := r.ix
	ok := i >= 0
	bucket := uint16(math.MaxUint16) // a problem the table does not hold: "unbinned", listed only if a problem is
	if ok {
		bucket = t.at(i).bucket
		if s < len(f.meta) && f.meta[s] != nil {
			meta = f.meta[s][i]
		}
	} else {
		if f.ghosts == nil {
			f.ghosts = map[string]int32{}
		}
		g, seen := f.ghosts[r.problemID]
		if !seen {
			g = -1 - int32(len(f.ghosts))
			f.ghosts[r.problemID] = g
		}
		i = g
		if b, ok := t.bucketIx["unbinned"]; ok {
			bucket = uint16(b)
		}
		meta = f.ghostMeta[[2]string{r.problemID, r.prefix}]
	}
	locus, ok := f.locusIx[r.locus]
	if !ok {
		locus = uint16(len(f.loci))
		f.locusIx[r.locus] = locus
		f.loci = append(f.loci, r.locus)
	}
	if len(f.recs) > 0 && f.recs[0].problem != i {
		f.flushProblem()
	}
	var rec *behaviourRec
	if n := len(f.recs); n > 0 {
		last := &f.recs[n-1]
		if last.problem == i && int(last.strategy) == s && last.locus == locus && last.m < math.MaxUint16 {
			rec = last
		}
	}
	if rec == nil {
		f.recs = append(f.recs, behaviourRec{problem: i, strategy: uint16(s), locus: locus, bucket: bucket, meta: meta})
		rec = &f.recs[len(f.recs)-1]
	}
	rec.m++
	if r.correct {
		rec.y++
	}
	if l, ok := f.labelIx[r.behaviour]; ok {
		rec.labels[l]++
	}
}

// group computes the BehaviourGroup of group key; ok is false when no
// continuation is in it.
func (f *behaviourFold) group(name string, key behaviourKey) (BehaviourGroup, bool) {
	t := f.groups[key]
	if t == nil {
		return BehaviourGroup{}, false
	}
	n := len(t.keys)
	ms, ys, col := make([]int, n), make([]int, n), make([]int, n)
	g := BehaviourGroup{Name: name, Counts: map[string]int{}, Rates: map[string]Rate{}, CI: map[string][2]Rate{}}
	for i, k := range t.keys {
		ms[i], ys[i] = k[0], k[1]
		g.Continuations += int(t.ws[i]) * k[0]
		g.Recovered += int(t.ws[i]) * k[1]
		g.Problems += int(t.ws[i])
	}
	g.RecoveryRate = rateOf(g.Recovered, g.Continuations)
	ci := func(y []int) [2]Rate {
		r := estimate.ClusterRateWeighted(y, ms, t.ws, 0.95).CI
		return [2]Rate{Rate(r.Lo), Rate(r.Hi)}
	}
	g.RecoveryCI = ci(ys)
	for _, l := range behaviour.Labels {
		li, known := f.labelIx[string(l)]
		c := 0
		for i, k := range t.keys {
			col[i] = 0
			if known {
				col[i] = k[2+li]
			}
			c += int(t.ws[i]) * col[i]
		}
		g.Counts[string(l)] = c
		g.Rates[string(l)] = rateOf(c, g.Continuations)
		g.CI[string(l)] = ci(col)
	}
	return g, true
}

// finish computes the BehaviourSummary; nil when nothing is labelled.
func (f *behaviourFold) finish() *BehaviourSummary {
	if f.labelled == 0 {
		return nil
	}
	f.flushProblem()
	t := f.t
	s := &BehaviourSummary{Labelled: f.labelled, Unlabelled: f.unlabelled}
	s.Overall, _ = f.group("overall", behaviourKey{kind: groupOverall})
	s.ByBucket = []BehaviourGroup{}
	for b, name := range t.order {
		if g, ok := f.group(name, behaviourKey{kind: groupBucket, a: uint16(b)}); ok {
			s.ByBucket = append(s.ByBucket, g)
		}
	}
	var strats []string
	for si := range f.used {
		strats = append(strats, t.strategies[si])
	}
	slices.Sort(strats)
	for _, name := range strats {
		si := uint16(t.strategyIx[name])
		overall, _ := f.group("overall", behaviourKey{kind: groupStrategy, a: si})
		bs := BehaviourStrategy{Strategy: name, Overall: overall, Buckets: []BehaviourGroup{}}
		for b, bn := range t.order {
			if g, ok := f.group(bn, behaviourKey{kind: groupStrategyBucket, a: si, b: uint16(b)}); ok {
				bs.Buckets = append(bs.Buckets, g)
			}
		}
		s.ByStrategy = append(s.ByStrategy, bs)
	}
	// names puts first's names first, then the others seen, sorted.
	names := func(seen, first []string) []string {
		out := slices.Clone(first)
		sorted := slices.Clone(seen)
		slices.Sort(sorted)
		for _, n := range sorted {
			if !slices.Contains(out, n) {
				out = append(out, n)
			}
		}
		return out
	}
	// list is the groups of names, key giving each name's group (ok
	// false: none).
	list := func(all []string, key func(string) (behaviourKey, bool)) []BehaviourGroup {
		out := []BehaviourGroup{}
		for _, n := range all {
			if k, ok := key(n); ok {
				if g, ok := f.group(n, k); ok {
					out = append(out, g)
				}
			}
		}
		return out
	}
	s.ByLocus = list(names(f.loci, []string{string(behaviour.Injected), string(behaviour.Labelled),
		string(behaviour.GoldDivergence), string(behaviour.Unlocated)}), func(n string) (behaviourKey, bool) {
		l, ok := f.locusIx[n]
		return behaviourKey{kind: groupLocus, a: l}, ok
	})
	// The injected-error splits: Meta key k of prefixes with an error type.
	metaList := func(k int, order []string) []BehaviourGroup {
		return list(order, func(n string) (behaviourKey, bool) {
			v, ok := f.metaIx[k][n]
			return behaviourKey{kind: groupMeta, a: uint16(k), b: v}, ok && v != 0
		})
	}
	types := make([]string, len(perturb.ErrorTypes))
	for i, t := range perturb.ErrorTypes {
		types[i] = string(t)
	}
	s.ByErrorType = metaList(0, names(f.metaNames[0], types))
	s.ByMagnitude = metaList(1, names(f.metaNames[1], []string{string(perturb.Small), string(perturb.Medium), string(perturb.Large)}))
	s.ByPosition = metaList(2, names(f.metaNames[2], []string{string(perturb.Early), string(perturb.Middle), string(perturb.Late)}))
	after := names(f.metaNames[3], nil)
	slices.SortStableFunc(after, func(a, b string) int {
		x, _ := strconv.Atoi(a)
		y, _ := strconv.Atoi(b)
		return x - y
	})
	s.ByStepsAfter = metaList(3, after)
	return s
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

// classify labels continuation s of a prefix with flaw, reference being
// its problem's answer.
func classify(s Sample, flaw behaviour.Flaw, reference string) behaviour.Result {
	return behaviour.Classify(behaviour.Input{Continuation: s.Response, Flaw: flaw, Correct: s.Correct,
		Restarted: s.Restarted, Answer: s.Answer, Reference: reference})
}

// labelContinuation is the label LabelBehaviours gives continuation r of
// prefix pre of problem p once they are stored: behaviour.FlawOf reads
// only what the store keeps of them (the prefix's text, error step and
// meta, the problem's question and solution), and TestRunLabelsBehaviours
// compares the two.
func labelContinuation(r Sample, pre perturb.Prefix, p dataset.Problem) behaviour.Result {
	return classify(r, behaviour.FlawOf(pre, p), p.Answer)
}
