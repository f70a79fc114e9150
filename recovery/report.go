package recovery

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/rebound-lab/rebound/difficulty"
)

// Rate is a proportion that may be undefined (no denominator); an undefined
// Rate is NaN in Go and null in JSON.
type Rate float64

// NoRate is the undefined Rate.
var NoRate = Rate(math.NaN())

// Defined reports whether r is a number.
func (r Rate) Defined() bool { return !math.IsNaN(float64(r)) }

// MarshalJSON writes r as a number, null when undefined, or the string
// "+Inf"/"-Inf" for an unbounded interval end (JSON has no infinity).
func (r Rate) MarshalJSON() ([]byte, error) {
	switch {
	case !r.Defined():
		return []byte("null"), nil
	case math.IsInf(float64(r), 1):
		return []byte(`"+Inf"`), nil // an unbounded interval end (JSON has no infinity)
	case math.IsInf(float64(r), -1):
		return []byte(`"-Inf"`), nil
	}
	return strconv.AppendFloat(nil, float64(r), 'g', -1, 64), nil
}

// UnmarshalJSON reads a number, null, or "+Inf"/"-Inf" (unbounded interval ends).
func (r *Rate) UnmarshalJSON(b []byte) error {
	switch string(b) {
	case "null":
		*r = NoRate
		return nil
	case `"+Inf"`:
		*r = Rate(math.Inf(1))
		return nil
	case `"-Inf"`:
		*r = Rate(math.Inf(-1))
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("recovery: rate %s: %w", b, err)
	}
	*r = Rate(f)
	return nil
}

// String formats r with three decimals, or "–" when undefined.
func (r Rate) String() string {
	if !r.Defined() {
		return "–"
	}
	return strconv.FormatFloat(float64(r), 'f', 3, 64)
}

func rateOf(k, n int) Rate {
	if n == 0 {
		return NoRate
	}
	return Rate(float64(k) / float64(n))
}

// BucketSummary is one difficulty bucket's line of the report (or, as
// Summary.Overall, every bucket's).
type BucketSummary struct {
	Name     string `json:"name"`
	Problems int    `json:"problems"`
	// StrongPassRate is the mean posterior-mean strong pass rate over the
	// bucket's calibrated problems under the fitted prior (Summary.Prior):
	// free of the winner's curse, and an estimate of the mean TRUE pass rate
	// of problems that land in this observed bucket. (Before issue 13 it
	// was the mean raw k/n, now StrongPassObserved.) WeakPassRate is the
	// mean raw k/n of the weak model.
	StrongPassRate Rate `json:"strong_pass_rate"`
	WeakPassRate   Rate `json:"weak_pass_rate"`
	// SetAside counts problems no prefix was built for, by reason (one count
	// per problem and strategy).
	SetAside map[string]int `json:"set_aside"`
	// Continuations verified (failed calls excluded), of which Recovered
	// reached the right answer.
	Continuations int  `json:"continuations"`
	Recovered     int  `json:"recovered"`
	RecoveryRate  Rate `json:"recovery_rate"`
	// RecoveryCI is the 95 % interval of RecoveryRate, clustered by problem
	// (see ClusterCI).
	RecoveryCI [2]Rate `json:"recovery_ci"`
	// NormalizedRecovery is RecoveryRate ÷ the mean posterior-mean strong
	// pass rate of the SAME problems (those with continuations in this
	// row): recovery relative to how often the strong model solves these
	// problems from scratch. The statistics pass replaces the plain ratio
	// with one corrected for its denominator's noise (estimate.LognormalRatio).
	NormalizedRecovery Rate `json:"normalized_recovery"`
	// RestartRate is the share of continuations flagged as starting over.
	RestartRate Rate `json:"restart_rate"`
	// The fields below are filled by the statistics pass (see
	// statistics.go); in summary.json since issue 13.

	// Observed is what the bucket's problems showed, e.g. "0/5" or
	// "1–4/5": an observed bucket is the set of problems chosen by these
	// counts, and its rates are conditional on that choice.
	Observed string `json:"observed"`
	// Confidence is the bucket's problems' mean membership in it (the
	// posterior probability that the true pass rate lies in the bucket).
	Confidence Rate `json:"confidence"`
	// StrongPassObserved is the mean raw k/n — biased by the winner's curse
	// (the samples that chose the bucket also measure it); it is what
	// strong_pass_rate meant before issue 13.
	StrongPassObserved Rate `json:"strong_pass_rate_observed"`
	// StrongPassCI is StrongPassRate's 95 % interval (cluster bootstrap
	// over problems, refitting the prior).
	StrongPassCI [2]Rate `json:"strong_pass_ci"`
	// NormalizedRecoveryCI is NormalizedRecovery's 95 % interval (cluster
	// bootstrap over problems, refitting the prior).
	NormalizedRecoveryCI [2]Rate `json:"normalized_recovery_ci"`
	// RecoveryMinusPass is the paired per-problem difference recovery −
	// intrinsic (posterior-mean) strong pass rate over the problems with
	// continuations, with its 95 % interval.
	RecoveryMinusPass   Rate    `json:"recovery_minus_pass"`
	RecoveryMinusPassCI [2]Rate `json:"recovery_minus_pass_ci"`
	// ICC is the intra-class correlation of the bucket's continuations
	// (one-way ANOVA estimator); MinDetectable the smallest difference in
	// recovery between this bucket and another of its size, rate and ICC
	// that a 5 % test detects with 80 % power (estimate.MinDetectable).
	ICC           Rate `json:"icc"`
	MinDetectable Rate `json:"min_detectable_diff"`
	// ContinuedProblems is the number of problems with at least one
	// verified continuation (the clusters of RecoveryCI).
	ContinuedProblems int `json:"continued_problems"`
	// WeakPassCI is WeakPassRate's 95 % interval: Student-t over the
	// problems' k/n (each problem one observation, so clustered by
	// construction). The weak samples did not choose the bucket, so this
	// rate has no winner's curse; it is conditional on the bucket.
	WeakPassCI [2]Rate `json:"weak_pass_ci"`
	// RestartCI is RestartRate's 95 % interval, clustered by problem like
	// RecoveryCI.
	RestartCI [2]Rate `json:"restart_ci"`
	// NormalizedRecoveryPlain is the plain ratio NormalizedRecovery
	// corrects (recovery ÷ the continued problems' mean posterior pass
	// rate): the difference is the size of the correction.
	NormalizedRecoveryPlain Rate `json:"normalized_recovery_plain"`
}

// DepthSummary is recovery among prefixes cut at one truncation depth
// (perturb.Prefix.Depth, binned).
type DepthSummary struct {
	// Depth is the bin's midpoint; the bins are DepthBins equal slices of
	// [0, 1].
	Depth         float64 `json:"depth"`
	Continuations int     `json:"continuations"`
	RecoveryRate  Rate    `json:"recovery_rate"`
	// Problems contributed continuations; RecoveryCI is clustered by
	// problem like BucketSummary.RecoveryCI.
	Problems   int     `json:"problems"`
	RecoveryCI [2]Rate `json:"recovery_ci"`
}

// DepthBins is the number of equal-width truncation-depth bins.
const DepthBins = 4

// StrategySummary is the bucket table restricted to one perturbation
// strategy's prefixes and continuations. How a flaw was made changes the
// experiment (a weak model's mistake, the strong model's own, an injected
// error), so a run with several strategies reports each apart as well as
// pooled. Problem counts and pass rates are the buckets' own.
type StrategySummary struct {
	Strategy string          `json:"strategy"`
	Buckets  []BucketSummary `json:"buckets"`
	Overall  BucketSummary   `json:"overall"`
}

// Summary is the run's aggregate, written as summary.json with stable keys.
type Summary struct {
	Buckets []BucketSummary `json:"buckets"`
	Overall BucketSummary   `json:"overall"`
	Cost    Cost            `json:"cost"`
	ByDepth []DepthSummary  `json:"by_depth"`
	// ByStrategy repeats Buckets and Overall for each strategy, in name
	// order.
	ByStrategy []StrategySummary `json:"by_strategy"`
	// StageCost splits Cost by stage (strong, weak, perturb, continue). It is
	// in report.md and summary.csv, not summary.json.
	StageCost map[string]Cost `json:"-"`
	// BucketStageCost splits it further by bucket (problems without a bucket
	// under "unbinned"). In report.md, not summary.json.
	BucketStageCost map[string]map[string]Cost `json:"-"`
	// Paid is Cost without the cache hits: what the calls actually cost.
	// Not in summary.json.
	Paid Cost `json:"-"`
	// PassRateCounts tallies the calibrated problems' strong pass rates
	// k/n, for the histogram: each distinct rate with its number of
	// problems, in increasing order (a million problems are a few
	// entries); not in summary.json.
	PassRateCounts []RateCount `json:"-"`
	// WeakPassRateCounts likewise for the weak model.
	WeakPassRateCounts []RateCount `json:"-"`
	// Behaviour splits continuations by how they recovered or failed
	// (package behaviour's labels); nil when none is labelled.
	Behaviour *BehaviourSummary `json:"behaviour,omitempty"`
	// Health is the run's diagnostics (see Health); Summarize fills it.
	Health *Health `json:"health,omitempty"`
	// Invocation is what this invocation of Run did (the Meter's totals:
	// new calls, of which cached, and Resumed); zero from Summarize. Not in
	// summary.json.
	Invocation Cost `json:"-"`
	// passCounts holds each bucket's per-problem straight-shot counts, for
	// the plots' pass-rate intervals (see bucketPassCI); not in summary.json.
	passCounts map[string]*passCounts
	// Prior is the difficulty prior fitted to the strong model's counts
	// (empirical Bayes), used for posterior-mean pass rates and the latent
	// buckets; nil when no problem was calibrated.
	Prior *PriorSummary `json:"prior,omitempty"`
	// Latent estimates rates for problems whose TRUE strong pass rate lies
	// in each bucket; nil without continuations or bucket edges.
	Latent *LatentSummary `json:"latent,omitempty"`
	// OnPolicy describes the on-policy band, set by Run when the onpolicy
	// strategy ran.
	OnPolicy *OnPolicySummary `json:"onpolicy,omitempty"`
	// upstream is report.md's upstream section as Summarize counted it in
	// its pass over the rows; nil when not counted (WriteReport then
	// queries the store).
	upstream *string
}

// acc accumulates one summary row. Its continuation counts are a view of
// the fold's reportTable (see summary_stream.go): the row's bucket (-1 for
// every bucket) and strategy (-1 for every strategy); members are its
// calibrated problems as table indices, in stored order.
type acc struct {
	problems           int
	strongSum, weakSum float64
	strongN, weakN     int
	setAside           map[string]int
	restarts           int
	t                  *reportTable
	bucket, strategy   int
	// tally counts the row's problems with a verified continuation by
	// their counts, filled as each problem's rows end.
	tally clusterTally
}

// Aggregate computes the Summary from store rows: problems (with their
// calibration and bucket), prefix rows, and samples (straight-shot,
// perturbation-call and continuation rows together; Cost sums them). buckets fixes the bucket order; buckets seen
// in problems but not listed follow in order of first appearance, and a
// problem with no bucket counts under "unbinned". Rows with Error set are
// left out of every rate but their cost is counted.
func Aggregate(problems []Problem, prefixes []Prefix, samples []Sample, buckets []string) Summary {
	return aggregate(problems, prefixes, samples, buckets, defaultEdges(buckets))
}

// AggregateBinned is Aggregate for the buckets of b, whose edges define
// the latent buckets.
func AggregateBinned(problems []Problem, prefixes []Prefix, samples []Sample, b *difficulty.Binner) Summary {
	return aggregate(problems, prefixes, samples, b.Buckets(), b.Edges())
}

func aggregate(problems []Problem, prefixes []Prefix, samples []Sample, buckets []string, edges []float64) Summary {
	return newSummaryFold(buckets, true).aggregate(problems, prefixes, samples, edges)
}

func (f *summaryFold) aggregate(problems []Problem, prefixes []Prefix, samples []Sample, edges []float64) Summary {
	for _, p := range problems {
		f.problem(p)
	}
	for _, r := range prefixes {
		f.prefix(r, f.t.problemIx(r.ProblemID))
	}
	var conts []int
	for k, r := range samples {
		f.cost(r.Stage, f.t.problemIx(r.ProblemID), sampleCost{inputTokens: r.InputTokens, outputTokens: r.OutputTokens,
			costUSD: r.CostUSD, cached: r.Cached, failed: r.Error != "", responded: r.Response != ""})
		if r.Stage == StageContinue && r.Error == "" {
			conts = append(conts, k)
		}
	}
	// The fold takes each problem's continuations together, in ID order.
	slices.SortStableFunc(conts, func(a, b int) int { return strings.Compare(samples[a].ProblemID, samples[b].ProblemID) })
	for _, k := range conts {
		r := samples[k]
		f.continuation(f.t.problemIx(r.ProblemID), r.Prefix, r.Correct, r.Restarted)
	}
	return f.finish(edges)
}

// Summarize aggregates everything in st; see Aggregate. It reads only the
// columns the aggregate needs, not the texts, so it stays small for large
// runs.
func Summarize(ctx context.Context, st *Store, buckets []string) (Summary, error) {
	return summarize(ctx, st, buckets, defaultEdges(buckets))
}

func summarize(ctx context.Context, st *Store, buckets []string, edges []float64) (Summary, error) {
	if err := st.Flush(ctx); err != nil {
		return Summary{}, err
	}
	f := newSummaryFold(buckets, false)
	var n int
	if err := st.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM problems`).Scan(&n); err != nil {
		return Summary{}, fmt.Errorf("recovery: count problems: %w", err)
	}
	f.reserve(n)
	if err := st.eachProblemLite(ctx, func(p Problem, rowid int64) error {
		f.t.setRowid(rowid, f.problem(p))
		return nil
	}); err != nil {
		return Summary{}, err
	}
	if f.t.len() == 0 {
		return Summary{}, fmt.Errorf("recovery: %s holds no problems: nothing to summarize (store the problems first, as Run does)", st.Path())
	}
	bf := newBehaviourFold(f.t)
	if err := st.eachPrefixLite(ctx, f.t, func(r Prefix, i int32) error {
		f.prefix(r, i)
		bf.prefix(r, i)
		return nil
	}); err != nil {
		return Summary{}, err
	}
	uf, hf := newUpstreamFold(), newHealthFold()
	if err := st.eachSummaryRow(ctx, f.t, func(r *summaryRow) error {
		f.cost(r.stage, r.ix, r.sampleCost)
		uf.row(r)
		hf.row(r)
		if r.stage == StageContinue && !r.failed {
			f.continuation(r.ix, r.prefix, r.correct, r.restarted)
			bf.row(r)
		}
		return nil
	}); err != nil {
		return Summary{}, err
	}
	sum := f.finish(edges)
	sum.Behaviour = bf.finish()
	sum.upstream = uf.finish()
	h := hf.finish(ctx, st)
	sum.Health = &h
	return sum, nil
}

// SummarizeBinned is Summarize for the buckets of b, whose edges also
// define the latent buckets.
func SummarizeBinned(ctx context.Context, st *Store, b *difficulty.Binner) (Summary, error) {
	return summarize(ctx, st, b.Buckets(), b.Edges())
}

// ReadSummary reads a summary.json written by WriteJSON. Fields it does not
// carry (StageCost, Paid, the pass-rate lists) are left zero. An error names
// the offset of malformed input.
func ReadSummary(r io.Reader) (Summary, error) {
	var s Summary
	dec := json.NewDecoder(r)
	if err := dec.Decode(&s); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return Summary{}, fmt.Errorf("recovery: summary.json: byte %d: %w", se.Offset, err)
		}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return Summary{}, fmt.Errorf("recovery: summary.json: field %s at byte %d: %w", te.Field, te.Offset, err)
		}
		return Summary{}, fmt.Errorf("recovery: summary.json: %w", err)
	}
	return s, nil
}

// WriteJSON writes s as indented summary.json.
func (s Summary) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(s)
}

func (s Summary) reasons() []string {
	var rs []string
	for _, b := range append(slices.Clone(s.Buckets), s.Overall) {
		for r := range b.SetAside {
			if !slices.Contains(rs, r) {
				rs = append(rs, r)
			}
		}
	}
	slices.Sort(rs)
	return rs
}

// WriteCSV writes summary.csv: one row per bucket and one "overall" row,
// with set-aside counts as set_aside_<reason> columns.
func (s Summary) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	reasons := s.reasons()
	head := []string{"name", "problems", "strong_pass_rate", "weak_pass_rate"}
	for _, r := range reasons {
		head = append(head, "set_aside_"+r)
	}
	head = append(head, "continuations", "recovered", "recovery_rate", "recovery_ci_lo", "recovery_ci_hi",
		"normalized_recovery", "restart_rate",
		// Added by issue 13, at the end so existing column positions hold.
		"observed", "confidence", "strong_pass_rate_observed", "strong_pass_ci_lo", "strong_pass_ci_hi",
		"normalized_recovery_ci_lo", "normalized_recovery_ci_hi", "recovery_minus_pass",
		"recovery_minus_pass_ci_lo", "recovery_minus_pass_ci_hi", "icc", "min_detectable_diff")
	if err := cw.Write(head); err != nil {
		return err
	}
	num := func(r Rate) string {
		if !r.Defined() {
			return ""
		}
		return strconv.FormatFloat(float64(r), 'g', 6, 64)
	}
	for _, b := range append(slices.Clone(s.Buckets), s.Overall) {
		row := []string{b.Name, strconv.Itoa(b.Problems), num(b.StrongPassRate), num(b.WeakPassRate)}
		for _, r := range reasons {
			row = append(row, strconv.Itoa(b.SetAside[r]))
		}
		row = append(row, strconv.Itoa(b.Continuations), strconv.Itoa(b.Recovered), num(b.RecoveryRate),
			num(b.RecoveryCI[0]), num(b.RecoveryCI[1]), num(b.NormalizedRecovery), num(b.RestartRate),
			b.Observed, num(b.Confidence), num(b.StrongPassObserved), num(b.StrongPassCI[0]), num(b.StrongPassCI[1]),
			num(b.NormalizedRecoveryCI[0]), num(b.NormalizedRecoveryCI[1]), num(b.RecoveryMinusPass),
			num(b.RecoveryMinusPassCI[0]), num(b.RecoveryMinusPassCI[1]), num(b.ICC), num(b.MinDetectable))
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// Table renders the per-bucket table as Markdown.
func (s Summary) Table() string { return bucketTable(s.Buckets, s.Overall) }

func bucketTable(buckets []BucketSummary, overall BucketSummary) string {
	var b strings.Builder
	b.WriteString("| observed bucket | problems | membership | strong pass (95% CI) | weak pass (95% CI) | set aside | continuations | recovered | recovery (95% CI) | normalized (95% CI) | recovery − pass (95% CI) | restarts (95% CI) |\n")
	b.WriteString("|---|---:|---:|---|---|---|---:|---:|---|---|---|---|\n")
	for _, bs := range append(slices.Clone(buckets), overall) {
		var aside []string
		for _, r := range slices.Sorted(mapsKeys(bs.SetAside)) {
			aside = append(aside, fmt.Sprintf("%s %d", r, bs.SetAside[r]))
		}
		fmt.Fprintf(&b, "| %s | %d | %s | %s %s | %s %s | %s | %d | %d | %s %s | %s %s | %s %s | %s %s |\n", bs.Label(), bs.Problems,
			bs.Confidence, bs.StrongPassRate, ciText(bs.StrongPassCI), bs.WeakPassRate, ciText(bs.WeakPassCI), strings.Join(aside, ", "),
			bs.Continuations, bs.Recovered, bs.RecoveryRate, ciText(bs.RecoveryCI),
			bs.NormalizedRecovery, ciText(bs.NormalizedRecoveryCI), bs.RecoveryMinusPass, ciText(bs.RecoveryMinusPassCI),
			bs.RestartRate, ciText(bs.RestartCI))
	}
	return b.String()
}

// Label is the bucket's name with what was observed, e.g. "hard (0/5)".
func (bs BucketSummary) Label() string {
	if bs.Observed == "" {
		return bs.Name
	}
	return bs.Name + " (" + bs.Observed + ")"
}

func ciText(c [2]Rate) string { return fmt.Sprintf("[%s, %s]", c[0], c[1]) }

func mapsKeys(m map[string]int) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// Markdown renders report.md: the bucket table, recovery by depth, cost by
// stage, the interval method and links to the plots.
func (s Summary) Markdown(title string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n## Recovery by difficulty bucket\n\n", title)
	b.WriteString(s.Table())
	b.WriteString(s.statisticsNote())
	if len(s.ByStrategy) > 1 {
		b.WriteString("## Recovery by strategy\n\nThe table above pools every strategy; each is also reported apart, " +
			"since how a flaw was made changes the experiment.\n\n")
		for _, ss := range s.ByStrategy {
			fmt.Fprintf(&b, "### %s\n\n%s\n", ss.Strategy, bucketTable(ss.Buckets, ss.Overall))
		}
	}
	b.WriteString("![recovery by bucket](recovery_by_bucket.svg)\n\n## Straight-shot pass rates\n\n![straight-shot pass rates](pass_rates.svg)\n\n")
	for _, d := range []struct {
		name  string
		rates []RateCount
	}{{"strong", s.PassRateCounts}, {"weak", s.WeakPassRateCounts}} {
		if len(d.rates) > 0 {
			rates, counts := rateCounts(d.rates)
			fmt.Fprintf(&b, "%s model:\n\n```\n%s```\n\n", d.name, difficulty.SummarizeCounts(rates, counts))
		}
	}
	b.WriteString("## Recovery by truncation depth\n\n| depth (bin midpoint) | problems | continuations | recovery (95% CI) |\n|---:|---:|---:|---|\n")
	for _, d := range s.ByDepth {
		fmt.Fprintf(&b, "| %.3f | %d | %d | %s %s |\n", d.Depth, d.Problems, d.Continuations, d.RecoveryRate, ciText(d.RecoveryCI))
	}
	b.WriteString("\n![recovery by depth](recovery_by_depth.svg)\n\n")
	b.WriteString(s.behaviourMarkdown())
	if s.Health != nil {
		b.WriteString(s.Health.markdown())
	}
	b.WriteString("## Cost by stage\n\n| stage | calls | cached | input tokens | output tokens | USD |\n|---|---:|---:|---:|---:|---:|\n")
	stages := []string{StageStrong, StageWeak, StagePerturb, StageContinue}
	for st := range s.StageCost {
		if !slices.Contains(stages, st) {
			stages = append(stages, st)
		}
	}
	for _, st := range stages {
		c := s.StageCost[st]
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %.4f |\n", st, c.Calls, c.CachedCalls, c.InputTokens, c.OutputTokens, c.USD)
	}
	c := s.Cost
	fmt.Fprintf(&b, "| total | %d | %d | %d | %d | %.4f |\n", c.Calls, c.CachedCalls, c.InputTokens, c.OutputTokens, c.USD)
	p := s.Paid
	fmt.Fprintf(&b, "\nTokens count every call, cache hits included; cache hits cost nothing. Paid: %d calls, %d input and %d output tokens, $%.4f.\n",
		p.Calls, p.InputTokens, p.OutputTokens, p.USD)
	if len(s.BucketStageCost) > 0 {
		b.WriteString("\n### By bucket\n\n| bucket | stage | calls | input tokens | output tokens | USD |\n|---|---|---:|---:|---:|---:|\n")
		names := s.BucketNames()
		for bk := range s.BucketStageCost {
			if !slices.Contains(names, bk) {
				names = append(names, bk)
			}
		}
		for _, bk := range names {
			for _, st := range stages {
				if c, ok := s.BucketStageCost[bk][st]; ok {
					fmt.Fprintf(&b, "| %s | %s | %d | %d | %d | %.4f |\n", bk, st, c.Calls, c.InputTokens, c.OutputTokens, c.USD)
				}
			}
		}
	}
	return b.String()
}

// Output file names written by WriteReport.
const (
	SummaryJSON  = "summary.json"
	SummaryCSV   = "summary.csv"
	ReportMD     = "report.md"
	SamplesJSONL = "samples.jsonl"
)

// writeAtomic writes path through fn into path+".tmp" and renames it into
// place, so a reader (or a crash) never sees half a file.
func writeAtomic(path string, fn func(io.Writer) error) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("recovery: write %s: %w", path, err)
	}
	if err := fn(f); err != nil {
		f.Close()
		return fmt.Errorf("recovery: write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("recovery: write %s: %w", path, err)
	}
	return os.Rename(tmp, path)
}

// WriteReport writes summary.json, summary.csv, report.md and the plots
// (see WritePlots) into dir, and, if st is non-nil, samples.jsonl.
func WriteReport(ctx context.Context, dir string, s Summary, st *Store, title string) error {
	write := func(name string, fn func(io.Writer) error) error {
		return writeAtomic(filepath.Join(dir, name), fn)
	}
	if err := write(SummaryJSON, s.WriteJSON); err != nil {
		return err
	}
	if err := write(SummaryCSV, s.WriteCSV); err != nil {
		return err
	}
	if err := write(ReportMD, func(w io.Writer) error {
		md := s.Markdown(title)
		if st != nil {
			if s.upstream != nil {
				md += *s.upstream
			} else {
				up, err := upstreamSection(ctx, st)
				if err != nil {
					return err
				}
				md += up
			}
		}
		_, err := io.WriteString(w, md+batchSection(ctx, st, s))
		return err
	}); err != nil {
		return err
	}
	if st != nil {
		// A resume that changed nothing keeps the export it would rewrite
		// (hundreds of MB for a large run); see exportstamp.go.
		stamp, current, err := st.samplesExportCurrent(ctx, filepath.Join(dir, SamplesJSONL))
		if err != nil {
			return err
		}
		if !current {
			if err := write(SamplesJSONL, func(w io.Writer) error { return st.ExportSamples(ctx, w) }); err != nil {
				return err
			}
			if err := st.recordSamplesExport(ctx, filepath.Join(dir, SamplesJSONL), stamp); err != nil {
				return err
			}
		}
	}
	return WritePlots(dir, s)
}
