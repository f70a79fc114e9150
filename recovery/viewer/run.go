package viewer

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rebound-lab/rebound/providers"
	"github.com/rebound-lab/rebound/recovery"
	"github.com/rebound-lab/rebound/verify"
)

// Run is a Source reading a run directory written by package recovery:
// run.db (problems, samples, prefixes, continuations), summary.json, the
// plots (*.svg, *.png) and reports. Nothing is re-run. The problem list is
// computed once and recomputed only when the database changes, so a run
// that is still being written can be browsed. Safe for concurrent use;
// Close it when done.
type Run struct {
	dir   string
	store *recovery.Store
	root  *os.Root

	mu       sync.Mutex
	stamp    string
	list     []ProblemSummary
	loadedAt time.Time
	// refreshEvery bounds how often a changing database is re-read for the
	// list, so browsing a run in progress does not re-read it per request.
	refreshEvery time.Duration
}

var (
	_ Source   = (*Run)(nil)
	_ Searcher = (*Run)(nil)
)

// SearchIDs looks text up in the run database's problem search index
// (recovery.Store.SearchProblems).
func (r *Run) SearchIDs(ctx context.Context, text string) (map[string]struct{}, bool, error) {
	return r.store.SearchProblems(ctx, text)
}

// Files a run directory may hold that the overview offers for download,
// besides plots.
var runFiles = []FileRef{
	{Name: "report.md", Title: "the report (Markdown)"},
	{Name: "summary.json", Title: "per-bucket summary (stable keys, for tools)"},
	{Name: "summary.csv", Title: "per-bucket summary (CSV)"},
	{Name: "samples.jsonl", Title: "every sample and continuation (JSON lines)"},
}

var plotTitles = map[string]string{
	"recovery_by_bucket": "Recovery per bucket over intrinsic strong and weak pass rates",
	"pass_rates":         "Straight-shot pass rates",
	"recovery_by_depth":  "Recovery by truncation depth",
}

// unbinned is the bucket recovery.Aggregate counts problems without a bucket
// under; the list uses it too so the overview's link to it finds them.
const unbinned = "unbinned"

// OpenRun opens the run directory dir for viewing. It fails, naming the
// path, if dir holds no run database (recovery.StoreFile).
func OpenRun(dir string) (*Run, error) {
	db := filepath.Join(dir, recovery.StoreFile)
	if _, err := os.Stat(db); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("viewer: %s: no %s here, is it a run directory?", dir, recovery.StoreFile)
		}
		return nil, fmt.Errorf("viewer: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("viewer: %w", err)
	}
	st, err := recovery.OpenStore(dir)
	if err != nil {
		root.Close()
		return nil, fmt.Errorf("viewer: %w", err)
	}
	return &Run{dir: dir, store: st, root: root, refreshEvery: 2 * time.Second}, nil
}

// Close closes the run database.
func (r *Run) Close() error {
	return errors.Join(r.store.Close(), r.root.Close())
}

// Overview reads summary.json (if present), the run configuration and the
// plot files.
func (r *Run) Overview(ctx context.Context) (Overview, error) {
	ov := Overview{Title: filepath.Base(filepath.Clean(r.dir))}
	params, err := r.params(ctx)
	if err != nil {
		return Overview{}, err
	}
	ov.Params = params
	b, err := r.root.ReadFile("summary.json")
	switch {
	case err == nil:
		s, err := parseSummary(filepath.Join(r.dir, "summary.json"), b)
		if err != nil {
			return Overview{}, fmt.Errorf("viewer: %w", err)
		}
		ov.Buckets, ov.Overall, ov.ByDepth, ov.ByStrategy, ov.Cost, ov.HasSummary = s.Buckets, s.Overall, s.ByDepth, s.ByStrategy, s.Cost, true
		if ov.Health, err = healthOf(filepath.Join(r.dir, "summary.json"), b); err != nil {
			return Overview{}, err
		}
	case errors.Is(err, fs.ErrNotExist):
		if ov.Cost, err = r.cost(ctx); err != nil {
			return Overview{}, err
		}
	default:
		return Overview{}, fmt.Errorf("viewer: %w", err)
	}
	entries, err := fs.ReadDir(r.root.FS(), ".")
	if err != nil {
		return Overview{}, fmt.Errorf("viewer: %w", err)
	}
	have := map[string]bool{}
	for _, e := range entries {
		if e.Type().IsRegular() {
			have[e.Name()] = true
		}
	}
	// One image per plot: SVG when there is one (it scales), else PNG; the
	// other formats are offered as files.
	var plots, extra []FileRef
	for _, e := range entries {
		name := e.Name()
		ext := strings.ToLower(filepath.Ext(name))
		if !have[name] || (ext != ".svg" && ext != ".png") {
			continue
		}
		stem := strings.TrimSuffix(name, filepath.Ext(name))
		title := plotTitles[stem]
		if title == "" {
			title = strings.ReplaceAll(stem, "_", " ")
		}
		if ext == ".png" && have[stem+".svg"] {
			extra = append(extra, FileRef{Name: name, Title: title + " (PNG)"})
			continue
		}
		plots = append(plots, FileRef{Name: name, Title: title})
	}
	rank := func(f FileRef) int {
		stem := strings.TrimSuffix(f.Name, filepath.Ext(f.Name))
		for i, s := range []string{"recovery_by_bucket", "pass_rates", "recovery_by_depth"} {
			if s == stem {
				return i
			}
		}
		return 99
	}
	slices.SortStableFunc(plots, func(a, b FileRef) int { return cmp.Compare(rank(a), rank(b)) })
	ov.Plots = plots
	for _, f := range runFiles {
		if have[f.Name] {
			ov.Files = append(ov.Files, f)
		}
	}
	ov.Files = append(ov.Files, extra...)
	return ov, nil
}

// params lists the run configuration: each run_config value, and each
// top-level field of a value that is a JSON object.
func (r *Run) params(ctx context.Context) ([]Param, error) {
	rows, err := r.store.DB().QueryContext(ctx, `SELECT key, value FROM run_config ORDER BY key`)
	if err != nil {
		return nil, fmt.Errorf("viewer: read run config: %w", err)
	}
	defer rows.Close()
	var out []Param
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, fmt.Errorf("viewer: read run config: %w", err)
		}
		var obj map[string]json.RawMessage
		if json.Unmarshal([]byte(v), &obj) == nil && len(obj) > 0 {
			keys := make([]string, 0, len(obj))
			for kk := range obj {
				keys = append(keys, kk)
			}
			slices.Sort(keys)
			for _, kk := range keys {
				raw := string(obj[kk])
				var s string
				if json.Unmarshal(obj[kk], &s) == nil {
					raw = s
				}
				if raw == "" || raw == "null" || raw == `""` {
					continue
				}
				out = appendParam(out, Param{Name: kk, Value: redact(kk, snippet(raw, 120))})
			}
			continue
		}
		out = appendParam(out, Param{Name: k, Value: redact(k, snippet(v, 120))})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("viewer: read run config: %w", err)
	}
	return out, nil
}

// appendParam appends p unless an identical parameter is already listed
// (the run config and the run identity both record the models and seed).
func appendParam(ps []Param, p Param) []Param {
	if slices.Contains(ps, p) {
		return ps
	}
	return append(ps, p)
}

// redact hides values whose name suggests a secret; the page may be
// screenshotted and shared. Names are read word by word ("api_key",
// "access-token", "apiKey" is one word and listed), so a count such as
// "max_tokens" is not mistaken for a token.
func redact(name, value string) string {
	words := strings.FieldsFunc(strings.ToLower(name), func(r rune) bool {
		return r == '_' || r == '-' || r == '.' || r == ' '
	})
	for _, w := range words {
		switch w {
		case "key", "apikey", "token", "secret", "password", "passwd", "auth", "authorization", "bearer", "credential", "credentials":
			return "(redacted)"
		}
	}
	return value
}

// cost totals the recorded calls when there is no summary yet, by the
// definitions summary.json uses (recovery.Store.Cost): perturbation calls
// are counted once, as their rows, not again from the prefix table.
func (r *Run) cost(ctx context.Context) (Cost, error) {
	c, err := r.store.Cost(ctx)
	if err != nil {
		return Cost{}, fmt.Errorf("viewer: %w", err)
	}
	return Cost{Calls: c.Calls, CachedCalls: c.CachedCalls, InputTokens: c.InputTokens, OutputTokens: c.OutputTokens, USD: c.USD}, nil
}

// stampOf identifies the database's current content cheaply: size and
// modification time of the database and its write-ahead log.
func (r *Run) stampOf() string {
	var b strings.Builder
	for _, name := range []string{recovery.StoreFile, recovery.StoreFile + "-wal"} {
		if fi, err := r.root.Stat(name); err == nil {
			fmt.Fprintf(&b, "%d/%d;", fi.Size(), fi.ModTime().UnixNano())
		} else {
			b.WriteString("-;")
		}
	}
	return b.String()
}

// ProblemList returns one row per problem. It is read once and re-read
// when run.db has changed, at most every two seconds while a run is still
// writing to it.
func (r *Run) ProblemList(ctx context.Context) ([]ProblemSummary, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.list != nil && time.Since(r.loadedAt) < r.refreshEvery {
		return r.list, nil
	}
	stamp := r.stampOf()
	if r.list != nil && stamp == r.stamp {
		return r.list, nil
	}
	list, err := r.loadList(ctx)
	if err != nil {
		return nil, err
	}
	r.list, r.stamp, r.loadedAt = list, stamp, time.Now()
	return list, nil
}

func (r *Run) loadList(ctx context.Context) ([]ProblemSummary, error) {
	problems, err := r.store.Problems(ctx)
	if err != nil {
		return nil, fmt.Errorf("viewer: %w", err)
	}
	list := make([]ProblemSummary, len(problems))
	index := make(map[string]int, len(problems))
	for i, p := range problems {
		list[i] = ProblemSummary{
			ID: p.ID, Question: p.Question, Answer: p.Answer, Source: p.Source,
			Bucket: p.Bucket, BucketProb: p.Membership[p.Bucket],
			StrongCorrect: p.StrongK, StrongSamples: p.StrongN, WeakCorrect: p.WeakK, WeakSamples: p.WeakN,
		}
		if p.Bucket != "" && len(p.Membership) == 0 {
			list[i].BucketProb = 1
		}
		if p.Bucket == "" {
			list[i].Bucket = unbinned
		}
		index[p.ID] = i
	}
	db := r.store.DB()
	rows, err := db.QueryContext(ctx, `SELECT problem_id, strategy, set_aside, error FROM prefixes ORDER BY problem_id, strategy`)
	if err != nil {
		return nil, fmt.Errorf("viewer: read prefixes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, strategy, setAside, failed string
		if err := rows.Scan(&id, &strategy, &setAside, &failed); err != nil {
			return nil, fmt.Errorf("viewer: read prefixes: %w", err)
		}
		i, ok := index[id]
		if !ok {
			continue
		}
		s := &list[i]
		s.Strategies = append(s.Strategies, strategy)
		switch {
		case setAside != "":
			s.SetAside = append(s.SetAside, strategy+": "+setAside)
		case failed != "":
			s.SetAside = append(s.SetAside, strategy+": error")
		default:
			s.Prefixes++
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("viewer: read prefixes: %w", err)
	}
	crow, err := db.QueryContext(ctx, `SELECT problem_id, COUNT(*), COALESCE(SUM(correct), 0), COALESCE(SUM(restarted), 0)
		FROM samples WHERE stage = ? AND error = '' GROUP BY problem_id`, recovery.StageContinue)
	if err != nil {
		return nil, fmt.Errorf("viewer: read continuations: %w", err)
	}
	defer crow.Close()
	for crow.Next() {
		var id string
		var n, k, restarts int
		if err := crow.Scan(&id, &n, &k, &restarts); err != nil {
			return nil, fmt.Errorf("viewer: read continuations: %w", err)
		}
		if i, ok := index[id]; ok {
			list[i].Continuations, list[i].Recovered, list[i].Restarts = n, k, restarts
		}
	}
	if err := crow.Err(); err != nil {
		return nil, fmt.Errorf("viewer: read continuations: %w", err)
	}
	brows, err := db.QueryContext(ctx, `SELECT DISTINCT problem_id, behaviour FROM samples
		WHERE stage = ? AND error = '' AND behaviour != ''`, recovery.StageContinue)
	if err != nil {
		return nil, fmt.Errorf("viewer: read behaviours: %w", err)
	}
	defer brows.Close()
	for brows.Next() {
		var id, label string
		if err := brows.Scan(&id, &label); err != nil {
			return nil, fmt.Errorf("viewer: read behaviours: %w", err)
		}
		if i, ok := index[id]; ok {
			list[i].Behaviours = append(list[i].Behaviours, label)
		}
	}
	if err := brows.Err(); err != nil {
		return nil, fmt.Errorf("viewer: read behaviours: %w", err)
	}
	for i := range list {
		slices.Sort(list[i].Behaviours)
		slices.Sort(list[i].Strategies)
		list[i].Strategies = slices.Compact(list[i].Strategies)
	}
	conds, err := r.healthConds(ctx)
	if err != nil {
		return nil, err
	}
	for id, cs := range conds {
		if i, ok := index[id]; ok {
			list[i].Health = cs
		}
	}
	return list, nil
}

// Problem reads one problem with its samples, prefixes and continuations.
func (r *Run) Problem(ctx context.Context, id string) (Problem, error) {
	st := r.store
	p, ok, err := st.Problem(ctx, id)
	if err != nil {
		return Problem{}, fmt.Errorf("viewer: %w", err)
	}
	if !ok {
		return Problem{}, fmt.Errorf("problem %q: %w", id, ErrNotFound)
	}
	samples, err := st.Samples(ctx, id)
	if err != nil {
		return Problem{}, fmt.Errorf("viewer: %w", err)
	}
	prefixes, err := st.Prefixes(ctx, id)
	if err != nil {
		return Problem{}, fmt.Errorf("viewer: %w", err)
	}
	conts, err := st.Continuations(ctx, id)
	if err != nil {
		return Problem{}, fmt.Errorf("viewer: %w", err)
	}
	out := Problem{
		ProblemSummary: ProblemSummary{
			ID: p.ID, Question: p.Question, Answer: p.Answer, Source: p.Source, Bucket: p.Bucket,
			BucketProb:    p.Membership[p.Bucket],
			StrongCorrect: p.StrongK, StrongSamples: p.StrongN, WeakCorrect: p.WeakK, WeakSamples: p.WeakN,
		},
		Solution: p.Solution, Subject: p.Subject, Level: p.Level,
	}
	if out.Bucket == "" {
		out.Bucket = unbinned
	}
	for b, m := range p.Membership {
		out.Membership = append(out.Membership, Membership{Bucket: b, P: m})
	}
	order := r.bucketOrder()
	slices.SortFunc(out.Membership, func(a, b Membership) int {
		return cmp.Or(cmp.Compare(order(a.Bucket), order(b.Bucket)), cmp.Compare(a.Bucket, b.Bucket))
	})
	// Strong samples first, then weak, each by sample index (the store's
	// order is by stage name).
	slices.SortStableFunc(samples, func(a, b recovery.Sample) int {
		return cmp.Or(cmp.Compare(stageRank(a.Stage), stageRank(b.Stage)), cmp.Compare(a.Sample, b.Sample))
	})
	for _, s := range samples {
		out.Samples = append(out.Samples, Sample{Call: callOf(s), Role: s.Stage})
	}
	labels, err := st.Behaviours(ctx, id)
	if err != nil {
		return Problem{}, fmt.Errorf("viewer: %w", err)
	}
	byStrategy := map[string][]Continuation{}
	for _, c := range conts {
		b := labels[recovery.BehaviourKey{ProblemID: c.ProblemID, Prefix: c.Prefix, Sample: c.Sample}]
		byStrategy[c.Prefix] = append(byStrategy[c.Prefix], Continuation{
			Call: callOf(c), Restart: c.Restarted, RestartReason: c.RestartReason,
			PrefillMethod: providers.PrefillMethod(c.PrefillMethod),
			Behaviour:     string(b.Label), BehaviourRule: b.Rule, Evidence: [2]int{b.Evidence.Start, b.Evidence.End},
		})
	}
	for _, pre := range prefixes {
		out.Strategies = append(out.Strategies, pre.Strategy)
		switch {
		case pre.SetAside != "":
			out.SetAside = append(out.SetAside, pre.Strategy+": "+pre.SetAside)
			out.SetAsideDetail = append(out.SetAsideDetail, pre.Strategy+": "+strings.ReplaceAll(pre.SetAside, "_", " "))
			continue
		case pre.Error != "":
			out.SetAside = append(out.SetAside, pre.Strategy+": error")
			out.SetAsideDetail = append(out.SetAsideDetail, pre.Strategy+": failed: "+pre.Error)
			continue
		}
		out.Prefixes = append(out.Prefixes, Prefix{
			ID: pre.Strategy, Text: pre.Text, Source: pre.Source, StepsKept: pre.StepsKept, StepsTotal: pre.StepsTotal,
			ErrorStep: pre.ErrorStep, Strategy: pre.Strategy, Origin: pre.Origin,
			Usage:   providers.Usage{InputTokens: pre.InputTokens, OutputTokens: pre.OutputTokens},
			CostUSD: pre.CostUSD, Meta: pre.Meta, Continuations: byStrategy[pre.Strategy],
		})
		delete(byStrategy, pre.Strategy)
	}
	// Continuations whose prefix row is missing are still shown.
	orphans := make([]string, 0, len(byStrategy))
	for s := range byStrategy {
		orphans = append(orphans, s)
	}
	slices.Sort(orphans)
	for _, s := range orphans {
		out.Prefixes = append(out.Prefixes, Prefix{ID: s, Strategy: s, Origin: "(prefix not recorded)", Continuations: byStrategy[s]})
	}
	sum := out.ProblemSummary
	out.Tally()
	// The calibration counts in the problems table are authoritative (they
	// may come from an adaptive plan); keep them.
	out.StrongCorrect, out.StrongSamples, out.WeakCorrect, out.WeakSamples =
		sum.StrongCorrect, sum.StrongSamples, sum.WeakCorrect, sum.WeakSamples
	return out, nil
}

// bucketOrder ranks bucket names as summary.json lists them (unknown names
// last), so memberships read in the report's order.
func (r *Run) bucketOrder() func(string) int {
	rank := map[string]int{}
	if b, err := r.root.ReadFile("summary.json"); err == nil {
		if s, err := parseSummary("summary.json", b); err == nil {
			for i, bk := range s.Buckets {
				rank[bk.Name] = i + 1
			}
		}
	}
	return func(name string) int {
		if i, ok := rank[name]; ok {
			return i
		}
		return len(rank) + 1
	}
}

func stageRank(stage string) int {
	if stage == recovery.StageStrong {
		return 0
	}
	return 1
}

func callOf(s recovery.Sample) Call {
	model := s.Model
	if model == "" {
		model = s.ServedModel
	}
	return Call{
		Model: model, Index: s.Sample, Text: s.Response, FinishReason: s.FinishReason,
		Usage:   providers.Usage{InputTokens: s.InputTokens, OutputTokens: s.OutputTokens},
		CostUSD: s.CostUSD, Cached: s.Cached,
		Latency:  time.Duration(s.LatencyMS * float64(time.Millisecond)),
		Verdict:  verify.Verdict{Correct: s.Correct, Answer: s.Answer, Reason: s.Reason, Rule: s.Rule},
		Verified: s.Error == "",
		Error:    s.Error,

		Reasoning: s.Reasoning,
		Upstream:  s.Upstream,
		Seed:      seedText(s.Seed),
		Batch:     s.Batch,
	}
}

// File opens a file of the run directory; names with a path separator or
// outside the directory are refused.
func (r *Run) File(ctx context.Context, name string) (io.ReadSeekCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if name == "" || strings.ContainsAny(name, `/\`) || name == "." || name == ".." {
		return nil, fmt.Errorf("file %q: %w", name, ErrNotFound)
	}
	f, err := r.root.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("file %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("viewer: %w", err)
	}
	return f, nil
}

func seedText(s *int64) string {
	if s == nil {
		return ""
	}
	return strconv.FormatInt(*s, 10)
}
