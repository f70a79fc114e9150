package recovery

import (
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/rebound-lab/rebound/estimate"
	"github.com/rebound-lab/rebound/verify"
)

// The summary's accumulators, built to stream (issue 19): a reportTable
// holds a few bytes per problem (the index of its record — bucket, counts,
// membership and continuation counts per strategy — among the distinct
// records, by index in the problems' stored order); every summary row's
// acc is a view of it (a bucket or every bucket, a strategy or every
// strategy), so no row keeps a map keyed by problem ID. A summaryFold fills it from problems, then prefix
// rows, then sample rows, one at a time: Summarize streams them from the
// store and Aggregate feeds it slices. Continuation rows must come grouped
// by problem, in problem-ID order (the store's primary-key order; Aggregate
// sorts them), so per-problem depth and behaviour counts are flushed as
// each problem ends. No pass keeps a list of problems: the clustered
// intervals are computed from tallies of equal per-problem counts
// (clusterTally) and the statistics from classes of equal data
// (statclasses.go).

// contCounts are one problem's verified continuations of one strategy's
// prefix: recovered (y), verified (m) and restarted (rs).
type contCounts struct{ y, m, rs int32 }

// problemRec is what a summary keeps of a problem: its bucket (index into
// the table's order), straight-shot counts, membership in its own bucket
// (NaN without memberships) and, once its continuation rows have ended,
// their counts per strategy index (shorter than the strategies: zero).
// Problems with equal records share one (reportTable.intern): a run of
// -samples 3 -continuations 2 has a few thousand at any size.
type problemRec struct {
	bucket                         uint16
	strongK, strongN, weakK, weakN int32
	conf                           float64
	cont                           []contCounts
}

// reportTable is the per-problem state of a summary (see above).
type reportTable struct {
	// Rows find their problem's index through index (problem ID → index
	// of the first problem with it; Aggregate) or, read from a store,
	// through the problem's rowid (rowIx, dense, or rowMap when the rowids
	// are sparse), so a streamed summary holds no problem IDs.
	index  map[string]int32
	rowIx  []int32
	rowMap map[int64]int32
	dups   map[int32]int32 // a repeated ID's index → the first one's
	// rec[i] is problem i's record in recs; recIx finds a record by its
	// key (see intern).
	rec        []uint32
	recs       []problemRec
	recIx      map[string]uint32
	key        []byte
	order      []string // bucket names in report order
	bucketIx   map[string]int
	strategies []string // by index, in order of appearance
	strategyIx map[string]int
	// Per strategy, per problem: the usable prefix's depth bin (-1 none;
	// nil until the strategy has one).
	depthBin [][]int8
	// eachClass puts every problem in a statistics class of its own
	// (tests: grouping must change nothing).
	eachClass bool
}

func (t *reportTable) len() int { return len(t.rec) }

// at is problem i's record (shared: do not modify it).
func (t *reportTable) at(i int32) *problemRec { return &t.recs[t.rec[i]] }

// intern returns the index of the record equal to r, adding r if none is;
// r.cont is not kept (a copy is).
func (t *reportTable) intern(r problemRec) uint32 {
	for len(r.cont) > 0 && r.cont[len(r.cont)-1] == (contCounts{}) {
		r.cont = r.cont[:len(r.cont)-1]
	}
	k := binary.AppendUvarint(t.key[:0], uint64(r.bucket))
	for _, v := range []int32{r.strongK, r.strongN, r.weakK, r.weakN} {
		k = binary.AppendVarint(k, int64(v))
	}
	k = binary.LittleEndian.AppendUint64(k, math.Float64bits(r.conf))
	for _, c := range r.cont {
		k = binary.AppendVarint(k, int64(c.y))
		k = binary.AppendVarint(k, int64(c.m))
		k = binary.AppendVarint(k, int64(c.rs))
	}
	t.key = k
	if i, ok := t.recIx[string(k)]; ok {
		return i
	}
	if t.recIx == nil {
		t.recIx = map[string]uint32{}
	}
	i := uint32(len(t.recs))
	r.cont = slices.Clone(r.cont)
	t.recs = append(t.recs, r)
	t.recIx[string(k)] = i
	return i
}

func (t *reportTable) strategy(name string) int {
	if i, ok := t.strategyIx[name]; ok {
		return i
	}
	t.strategyIx[name] = len(t.strategies)
	t.strategies = append(t.strategies, name)
	t.depthBin = append(t.depthBin, nil)
	return len(t.strategies) - 1
}

// problemIx is the index of problem id, -1 for a problem the table does
// not hold.
func (t *reportTable) problemIx(id string) int32 {
	if i, ok := t.index[id]; ok {
		return i
	}
	return -1
}

// rowidIx is the index of the problem with rowid (NULL: none), -1 for
// none.
func (t *reportTable) rowidIx(rowid sql.NullInt64) int32 {
	if !rowid.Valid {
		return -1
	}
	if t.rowMap != nil {
		if i, ok := t.rowMap[rowid.Int64]; ok {
			return i
		}
		return -1
	}
	if rowid.Int64 >= 0 && rowid.Int64 < int64(len(t.rowIx)) {
		return t.rowIx[rowid.Int64]
	}
	return -1
}

// setRowid records that problem i has rowid.
func (t *reportTable) setRowid(rowid int64, i int32) {
	if t.rowMap == nil && rowid >= 0 && rowid < 4*int64(len(t.rec))+1024 {
		if int64(len(t.rowIx)) <= rowid {
			t.rowIx = slices.Grow(t.rowIx, max(int(rowid)+1, cap(t.rec))-len(t.rowIx))
		}
		for int64(len(t.rowIx)) <= rowid {
			t.rowIx = append(t.rowIx, -1)
		}
		t.rowIx[rowid] = i
		return
	}
	if t.rowMap == nil {
		t.rowMap = map[int64]int32{}
		for r, k := range t.rowIx {
			if k >= 0 {
				t.rowMap[int64(r)] = k
			}
		}
		t.rowIx = nil
	}
	t.rowMap[rowid] = i
}

// counts returns problem i's recovered, verified and restarted
// continuations in row a (zero outside the row's bucket).
func (a *acc) counts(i int32) (y, m, rs int) {
	if a.t == nil {
		return 0, 0, 0
	}
	r := a.t.at(i)
	if a.bucket >= 0 && int(r.bucket) != a.bucket {
		return 0, 0, 0
	}
	if a.strategy >= 0 {
		if a.strategy < len(r.cont) {
			c := r.cont[a.strategy]
			return int(c.y), int(c.m), int(c.rs)
		}
		return 0, 0, 0
	}
	for _, c := range r.cont {
		y, m, rs = y+int(c.y), m+int(c.m), rs+int(c.rs)
	}
	return y, m, rs
}

// clusterTally counts a row's continued problems by their recovered (y),
// verified (m) and restarted (rs) continuations: the clustered intervals
// need each problem's counts, but problems with equal counts weigh alike
// (estimate.ClusterRateWeighted), so a row of a million problems is a few
// dozen entries. Entries are in order of first appearance (ID order).
type clusterTally struct {
	ix           map[[3]int]int
	ys, ms, rss  []int
	ws           []float64
	problems     int
	y, m, starts int // totals
}

func (t *clusterTally) add(y, m, rs int) {
	if t.ix == nil {
		t.ix = map[[3]int]int{}
	}
	k := [3]int{y, m, rs}
	i, ok := t.ix[k]
	if !ok {
		i = len(t.ws)
		t.ix[k] = i
		t.ys, t.ms, t.rss, t.ws = append(t.ys, y), append(t.ms, m), append(t.rss, rs), append(t.ws, 0)
	}
	t.ws[i]++
	t.problems++
	t.y, t.m, t.starts = t.y+y, t.m+m, t.starts+rs
}

// recovery is the tally's clustered recovery rate.
func (t *clusterTally) recovery(level float64) estimate.RateCI {
	return estimate.ClusterRateWeighted(t.ys, t.ms, t.ws, level)
}

// recoveryCI is the tally's 95 % clustered interval of Σy/Σm (recovery, or a pass rate).
func (t *clusterTally) recoveryCI() [2]Rate {
	r := t.recovery(0.95).CI
	return [2]Rate{Rate(r.Lo), Rate(r.Hi)}
}

// restart is the tally's clustered restart rate.
func (t *clusterTally) restart(level float64) estimate.RateCI {
	return estimate.ClusterRateWeighted(t.rss, t.ms, t.ws, level)
}

// rowCounts tallies row a's problems with at least one verified
// continuation (in the order their rows ended: ID order).
func (a *acc) rowCounts() *clusterTally { return &a.tally }

// continued reports whether any problem of row a has a verified
// continuation.
func (a *acc) continued() bool { return a.tally.problems > 0 }

// member reports whether problem i is one of row a's calibrated problems
// (a strategy's rows hold their bucket's problems, as the bucket's rows
// do).
func (a *acc) member(i int32) bool {
	r := a.t.at(i)
	return r.strongN > 0 && (a.bucket < 0 || int(r.bucket) == a.bucket)
}

// weakRates are the weak k/n of row a's weak-calibrated problems, tallied
// by (k, n): rates and their weights (for WeakPassCI).
func (a *acc) weakRates() (xs, ws []float64) {
	t := a.t
	if t == nil {
		return nil, nil
	}
	ix := map[[2]int32]int{}
	for i := range int32(t.len()) {
		if r := t.at(i); r.weakN > 0 && (a.bucket < 0 || int(r.bucket) == a.bucket) {
			k := [2]int32{r.weakK, r.weakN}
			j, ok := ix[k]
			if !ok {
				j = len(xs)
				ix[k] = j
				xs, ws = append(xs, float64(k[0])/float64(k[1])), append(ws, 0)
			}
			ws[j]++
		}
	}
	return xs, ws
}

// summaryFold computes a Summary from rows fed one at a time (see above).
type summaryFold struct {
	t       *reportTable
	s       Summary
	accs    []*acc // per bucket index
	all     *acc
	byStrat map[string]map[string]*acc // strategy → bucket ("" overall) → row
	// Depth bins: continuations and recovered, and per problem (in ID
	// order) the same, flushed when a problem's rows end.
	depthY, depthM [DepthBins]int
	depthP         [DepthBins]clusterTally
	cur            int32
	curY, curM     [DepthBins]int
	// curCont is problem cur's continuation counts per strategy index.
	curCont []contCounts
	// strongRates and weakRates tally the problems' k/n.
	strongRates, weakRates rateTally
}

// newSummaryFold starts a fold; byID keeps an index of problem IDs (for
// rows that name their problem only by ID, as Aggregate's do).
func newSummaryFold(buckets []string, byID bool) *summaryFold {
	t := &reportTable{bucketIx: map[string]int{}, strategyIx: map[string]int{}}
	if byID {
		t.index = map[string]int32{}
	}
	f := &summaryFold{t: t, byStrat: map[string]map[string]*acc{}, cur: -1, strongRates: rateTally{}, weakRates: rateTally{}}
	f.all = f.newAcc(-1, -1)
	for _, b := range buckets {
		f.bucketIndex(b)
	}
	f.s.StageCost = map[string]Cost{}
	f.s.BucketStageCost = map[string]map[string]Cost{}
	return f
}

// reserve makes room for n problems, so the per-problem arrays are
// allocated once instead of doubling (which at a million problems holds
// the old and the new array at once).
func (f *summaryFold) reserve(n int) { f.t.rec = slices.Grow(f.t.rec, n) }

func (f *summaryFold) newAcc(bucket, strategy int) *acc {
	return &acc{setAside: map[string]int{}, t: f.t, bucket: bucket, strategy: strategy}
}

func (f *summaryFold) bucketIndex(b string) int {
	if i, ok := f.t.bucketIx[b]; ok {
		return i
	}
	i := len(f.t.order)
	f.t.bucketIx[b] = i
	f.t.order = append(f.t.order, b)
	f.accs = append(f.accs, f.newAcc(i, -1))
	return i
}

// problem adds one problem (Question, Answer and the other texts are not
// read) and returns its index.
func (f *summaryFold) problem(p Problem) int32 {
	t := f.t
	b := p.Bucket
	if b == "" {
		b = "unbinned"
	}
	bi := f.bucketIndex(b)
	i := int32(t.len())
	if first, dup := t.index[p.ID]; dup {
		if t.dups == nil {
			t.dups = map[int32]int32{}
		}
		t.dups[i] = first
	} else if t.index != nil {
		t.index[p.ID] = i
	}
	c := math.NaN()
	if p.Membership != nil {
		c = p.Membership[p.Bucket]
	}
	t.rec = append(t.rec, t.intern(problemRec{bucket: uint16(bi), strongK: int32(p.StrongK), strongN: int32(p.StrongN),
		weakK: int32(p.WeakK), weakN: int32(p.WeakN), conf: c}))
	for _, a := range []*acc{f.accs[bi], f.all} {
		a.problems++
		if p.StrongN > 0 {
			a.strongSum += p.StrongRate()
			a.strongN++
		}
		if p.WeakN > 0 {
			a.weakSum += p.WeakRate()
			a.weakN++
		}
	}
	f.s.addPassCounts(b, p)
	if p.StrongN > 0 {
		f.strongRates[p.StrongRate()]++
	}
	if p.WeakN > 0 {
		f.weakRates[p.WeakRate()]++
	}
	return i
}

// stratAcc returns strategy's row for bucket index b and its overall row,
// creating the strategy's rows on first use.
func (f *summaryFold) stratAcc(strategy string, b int) []*acc {
	m := f.byStrat[strategy]
	if m == nil {
		si := f.t.strategy(strategy)
		m = map[string]*acc{"": f.newAcc(-1, si)}
		for i, name := range f.t.order {
			m[name] = f.newAcc(i, si)
		}
		f.byStrat[strategy] = m
	}
	return []*acc{m[f.t.order[b]], m[""]}
}

// prefix adds one prefix row (its texts are not read) of problem i (-1:
// one the table does not hold).
func (f *summaryFold) prefix(r Prefix, i int32) {
	t := f.t
	ok := i >= 0
	if r.SetAside != "" && ok {
		b := int(t.at(i).bucket)
		f.accs[b].setAside[r.SetAside]++
		f.all.setAside[r.SetAside]++
		for _, a := range f.stratAcc(r.Strategy, b) {
			a.setAside[r.SetAside]++
		}
	}
	if r.SetAside == "" && r.Error == "" && ok {
		s := t.strategy(r.Strategy)
		if t.depthBin[s] == nil {
			t.depthBin[s] = make([]int8, t.len())
			for k := range t.depthBin[s] {
				t.depthBin[s][k] = -1
			}
		}
		t.depthBin[s][i] = int8(max(0, min(int(r.Depth*DepthBins), DepthBins-1)))
	}
}

// cost adds the cost of one sample row of problem i (rows in any order).
func (f *summaryFold) cost(stage string, i int32, r sampleCost) {
	cost := Cost{Calls: 1, InputTokens: r.inputTokens, OutputTokens: r.outputTokens, USD: r.costUSD}
	if r.failed && !r.responded && r.inputTokens == 0 && r.outputTokens == 0 {
		cost.Calls = 0 // a failed call returned nothing to bill
	}
	s := &f.s
	if r.cached {
		cost.CachedCalls = 1
	} else {
		s.Paid = s.Paid.Add(cost)
	}
	s.StageCost[stage] = s.StageCost[stage].Add(cost)
	if i >= 0 {
		b := f.t.order[f.t.at(i).bucket]
		if s.BucketStageCost[b] == nil {
			s.BucketStageCost[b] = map[string]Cost{}
		}
		s.BucketStageCost[b][stage] = s.BucketStageCost[b][stage].Add(cost)
	}
}

// sampleCost is what cost needs of a row.
type sampleCost struct {
	inputTokens, outputTokens int
	costUSD                   float64
	cached, failed, responded bool
}

// continuation adds one verified (error-free) continuation row of
// problem i; see the order rule above.
func (f *summaryFold) continuation(i int32, strategy string, correct, restarted bool) {
	t := f.t
	if i < 0 {
		return
	}
	if i != f.cur {
		f.flushProblem()
		f.cur = i
	}
	f.stratAcc(strategy, int(t.at(i).bucket))
	s := t.strategyIx[strategy]
	for len(f.curCont) <= s {
		f.curCont = append(f.curCont, contCounts{})
	}
	c := &f.curCont[s]
	c.m++
	if correct {
		c.y++
	}
	if restarted {
		c.rs++
	}
	if db := t.depthBin[s]; db != nil && db[i] >= 0 {
		d := db[i]
		f.depthM[d]++
		f.curM[d]++
		if correct {
			f.depthY[d]++
			f.curY[d]++
		}
	}
}

// flushProblem ends problem cur's continuation rows: its record takes
// their counts, and every row the problem is in tallies them.
func (f *summaryFold) flushProblem() {
	if t := f.t; f.cur >= 0 && len(f.curCont) > 0 {
		r := *t.at(f.cur)
		// Rows of one problem come together; should a problem's rows come
		// again, its record still sums them all.
		cont := slices.Clone(r.cont)
		var sum contCounts
		for s, c := range f.curCont {
			if s >= len(cont) {
				cont = append(cont, contCounts{})
			}
			cont[s] = contCounts{y: cont[s].y + c.y, m: cont[s].m + c.m, rs: cont[s].rs + c.rs}
			sum = contCounts{y: sum.y + c.y, m: sum.m + c.m, rs: sum.rs + c.rs}
		}
		r.cont = cont
		t.rec[f.cur] = t.intern(r)
		if sum.m > 0 {
			for _, a := range []*acc{f.all, f.accs[r.bucket]} {
				a.tally.add(int(sum.y), int(sum.m), int(sum.rs))
			}
		}
		for s, c := range f.curCont {
			if c.m > 0 {
				for _, a := range f.stratAcc(t.strategies[s], int(r.bucket)) {
					a.tally.add(int(c.y), int(c.m), int(c.rs))
				}
			}
		}
		clear(f.curCont)
	}
	for d := range DepthBins {
		if f.curM[d] > 0 {
			f.depthP[d].add(f.curY[d], f.curM[d], 0)
		}
	}
	f.curY, f.curM = [DepthBins]int{}, [DepthBins]int{}
}

// finish computes the Summary, with edges the latent buckets' edges.
func (f *summaryFold) finish(edges []float64) Summary {
	f.flushProblem()
	f.cur = -1
	s := f.s
	s.PassRateCounts, s.WeakPassRateCounts = f.strongRates.sorted(), f.weakRates.sorted()
	order := f.t.order
	for _, st := range []string{StageStrong, StageWeak, StagePerturb, StageContinue} {
		s.Cost = s.Cost.Add(s.StageCost[st])
	}
	for st, c := range s.StageCost {
		if !slices.Contains([]string{StageStrong, StageWeak, StagePerturb, StageContinue}, st) {
			s.Cost = s.Cost.Add(c)
		}
	}
	finish := func(name string, a *acc) BucketSummary {
		bs := BucketSummary{Name: name, Problems: a.problems, SetAside: a.setAside,
			StrongPassRate: NoRate, WeakPassRate: NoRate}
		if a.strongN > 0 {
			bs.StrongPassRate = Rate(a.strongSum / float64(a.strongN))
		}
		if a.weakN > 0 {
			bs.WeakPassRate = Rate(a.weakSum / float64(a.weakN))
		}
		tl := a.rowCounts()
		bs.Continuations, bs.Recovered = tl.m, tl.y
		restarts := tl.starts
		a.restarts = restarts
		bs.RecoveryRate = rateOf(bs.Recovered, bs.Continuations)
		bs.RecoveryCI = tl.recoveryCI()
		bs.NormalizedRecovery = NoRate
		if bs.RecoveryRate.Defined() && bs.StrongPassRate.Defined() && bs.StrongPassRate > 0 {
			bs.NormalizedRecovery = bs.RecoveryRate / bs.StrongPassRate
		}
		bs.RestartRate = rateOf(restarts, bs.Continuations)
		rs := tl.restart(0.95).CI
		bs.RestartCI = [2]Rate{Rate(rs.Lo), Rate(rs.Hi)}
		bs.WeakPassCI = noCI
		if xs, ws := a.weakRates(); a.weakN > 1 {
			e := estimate.MeanCIWeighted(xs, ws, 0.95)
			w := e.CI
			if !(w.Hi > w.Lo) {
				// Every problem read the same (all 0/n, say): the t interval
				// has no width, yet the rate is not known exactly; use the
				// Wilson interval at one observation per problem.
				w = estimate.WilsonT(e.Value, float64(a.weakN), 0.95)
			}
			bs.WeakPassCI = [2]Rate{Rate(math.Max(0, w.Lo)), Rate(math.Min(1, w.Hi))}
		}
		return bs
	}
	s.Buckets = []BucketSummary{}
	for i, b := range order {
		s.Buckets = append(s.Buckets, finish(b, f.accs[i]))
	}
	s.Overall = finish("overall", f.all)
	s.ByStrategy = []StrategySummary{}
	names := slices.Sorted(maps.Keys(f.byStrat))
	for _, name := range names {
		ss := StrategySummary{Strategy: name, Buckets: []BucketSummary{}}
		for _, b := range append(slices.Clone(order), "") {
			a, from := f.byStrat[name][b], f.all
			if b != "" {
				from = f.accs[f.t.bucketIx[b]]
			}
			a.problems, a.strongSum, a.strongN, a.weakSum, a.weakN = from.problems, from.strongSum, from.strongN, from.weakSum, from.weakN
			if b == "" {
				ss.Overall = finish("overall", a)
			} else {
				ss.Buckets = append(ss.Buckets, finish(b, a))
			}
		}
		s.ByStrategy = append(s.ByStrategy, ss)
	}
	s.ByDepth = []DepthSummary{}
	for i := range DepthBins {
		if f.depthM[i] == 0 {
			continue
		}
		ds := DepthSummary{Depth: (float64(i) + 0.5) / DepthBins,
			Continuations: f.depthM[i], RecoveryRate: rateOf(f.depthY[i], f.depthM[i])}
		ds.Problems, ds.RecoveryCI = f.depthP[i].problems, f.depthP[i].recoveryCI()
		s.ByDepth = append(s.ByDepth, ds)
	}
	rows := []statRow{{&s.Overall, f.all}}
	for i := range order {
		rows = append(rows, statRow{&s.Buckets[i], f.accs[i]})
	}
	for j, name := range names {
		rows = append(rows, statRow{&s.ByStrategy[j].Overall, f.byStrat[name][""]})
		for i, b := range order {
			rows = append(rows, statRow{&s.ByStrategy[j].Buckets[i], f.byStrat[name][b]})
		}
	}
	s.statistics(f.t, rows, f.all, edges)
	return s
}

// summaryRow is one lean sample row as the summary pass reads it. The
// health flags follow HealthCondition; response is read only for the
// error-free straight-shot and continuation rows (to find identical
// samples and refusals), errText only for failed ones.
type summaryRow struct {
	stage, problemID, prefix string
	correct, restarted       bool
	sampleCost
	upstream, behaviour, locus string
	model, response, errText   string
	lengthCut, answered        bool
	fallback, refusal, echoed  bool
	// ix is the problem's index in the fold's table (-1: not held).
	ix int32
}

// summaryRowSQL selects the summary pass's columns (see summaryRow).
var summaryRowSQL = `SELECT stage, problem_id, prefix, correct, restarted, input_tokens,
		output_tokens, cost_usd, cached, error != '', response != '', upstream, behaviour, behaviour_locus,
		model, CASE WHEN error = '' THEN response ELSE '' END, error,
		finish_reason = 'length', answer != '', rule = '` + verify.SourceNumber + `', ` + HealthCondition(CondEchoed) + `,
		(SELECT rowid FROM problems p WHERE p.id = samples.problem_id)
		FROM samples ORDER BY stage, problem_id, prefix, sample`

// eachSummaryRow streams every sample row's summary columns in
// primary-key order (stage, problem, prefix, sample): no sort, no texts,
// and within the continue stage each problem's rows together in ID order.
func (s *Store) eachSummaryRow(ctx context.Context, t *reportTable, fn func(*summaryRow) error) error {
	if err := s.Flush(ctx); err != nil {
		return err
	}
	// The problem's rowid comes from its primary-key index, one lookup
	// per row, so no map of problem IDs is needed.
	rows, err := s.db.QueryContext(ctx, summaryRowSQL)
	if err != nil {
		return fmt.Errorf("recovery: read samples: %w", err)
	}
	defer rows.Close()
	var r summaryRow
	var rowid sql.NullInt64
	for rows.Next() {
		if err := rows.Scan(&r.stage, &r.problemID, &r.prefix, &r.correct, &r.restarted, &r.inputTokens,
			&r.outputTokens, &r.costUSD, &r.cached, &r.failed, &r.responded, &r.upstream, &r.behaviour, &r.locus,
			&r.model, &r.response, &r.errText, &r.lengthCut, &r.answered, &r.fallback, &r.echoed, &rowid); err != nil {
			return fmt.Errorf("recovery: read samples: %w", err)
		}
		r.ix = t.rowidIx(rowid)
		r.refusal = !r.failed && refused(r.response)
		if err := fn(&r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("recovery: read samples: %w", err)
	}
	return nil
}

// eachProblemLite streams every problem without its texts, with its
// rowid, in stored order.
func (s *Store) eachProblemLite(ctx context.Context, fn func(Problem, int64) error) error {
	if err := s.Flush(ctx); err != nil {
		return err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT rowid, id, strong_k, strong_n, weak_k, weak_n, bucket, membership
		FROM problems ORDER BY ord, id`)
	if err != nil {
		return fmt.Errorf("recovery: read problems: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var p Problem
		var m string
		var rowid int64
		if err := rows.Scan(&rowid, &p.ID, &p.StrongK, &p.StrongN, &p.WeakK, &p.WeakN, &p.Bucket, &m); err != nil {
			return fmt.Errorf("recovery: read problems: %w", err)
		}
		if m != "" {
			if err := json.Unmarshal([]byte(m), &p.Membership); err != nil {
				return fmt.Errorf("recovery: read problems: membership of %q: %w", p.ID, err)
			}
		}
		if err := fn(p, rowid); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("recovery: read problems: %w", err)
	}
	return nil
}

// eachPrefixLite streams every prefix row without its text and source, in
// primary-key order (problem, strategy), with its problem's index in t.
func (s *Store) eachPrefixLite(ctx context.Context, t *reportTable, fn func(Prefix, int32) error) error {
	if err := s.Flush(ctx); err != nil {
		return err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT problem_id, strategy, set_aside, error, depth, meta,
		(SELECT rowid FROM problems p WHERE p.id = prefixes.problem_id) FROM prefixes ORDER BY problem_id, strategy`)
	if err != nil {
		return fmt.Errorf("recovery: read prefixes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r Prefix
		var meta string
		var rowid sql.NullInt64
		if err := rows.Scan(&r.ProblemID, &r.Strategy, &r.SetAside, &r.Error, &r.Depth, &meta, &rowid); err != nil {
			return fmt.Errorf("recovery: read prefixes: %w", err)
		}
		if meta != "" && strings.Contains(meta, "error_type") {
			if err := json.Unmarshal([]byte(meta), &r.Meta); err != nil {
				return fmt.Errorf("recovery: prefix meta of %q: %w", r.ProblemID, err)
			}
		}
		if err := fn(r, t.rowidIx(rowid)); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("recovery: read prefixes: %w", err)
	}
	return nil
}
