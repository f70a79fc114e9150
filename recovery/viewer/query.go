package viewer

import (
	"cmp"
	"context"
	"fmt"
	"github.com/rebound-lab/rebound/behaviour"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Sort keys accepted by Query.Sort.
const (
	SortRun      = ""         // the run's own order
	SortID       = "id"       // problem id
	SortBucket   = "bucket"   // difficulty bucket name
	SortPass     = "pass"     // strong straight-shot pass rate
	SortWeak     = "weak"     // weak straight-shot pass rate
	SortRecovery = "recovery" // recovery rate of continuations
	SortConts    = "conts"    // number of continuations
	SortRestarts = "restarts" // number of restarts
)

var sortKeys = []string{SortRun, SortID, SortBucket, SortPass, SortWeak, SortRecovery, SortConts, SortRestarts}

// DefaultPageSize is the number of problems per list page unless
// WithPageSize says otherwise.
const DefaultPageSize = 50

// MaxPageSize bounds the size query parameter.
const MaxPageSize = 1000

// Query selects, orders and pages the problem list. Its zero value selects
// every problem in run order, first page. It round-trips through URL query
// parameters with ParseQuery and Values.
type Query struct {
	// Search is a case-insensitive substring of the id, question or answer.
	Search string
	// Bucket keeps problems whose most likely bucket is this one.
	Bucket string
	// Strategy keeps problems with a prefix (or set-aside) of this strategy.
	Strategy string
	// Outcome keeps problems with this outcome.
	Outcome Outcome
	// Restart keeps problems with at least one restart ("yes") or none
	// ("no"); "" keeps all.
	Restart string
	// Behaviour keeps problems with at least one continuation of this
	// behaviour label (package behaviour); "" keeps all.
	Behaviour string
	// MinPass and MaxPass bound the strong pass rate (fractions); nil means
	// unbounded. Problems without samples fail any bound.
	MinPass, MaxPass *float64
	// Sort is one of the Sort* keys; Desc reverses it.
	Sort string
	Desc bool
	// Page is 1-based; 0 means 1. Size is the page size; 0 means the
	// handler's default.
	Page, Size int
	// Prefix narrows Strategy (or, without it, any strategy) to problems
	// whose prefix was built ("built") or set aside ("set_aside").
	Prefix string
	// Health keeps problems with a row in this health condition (one of
	// HealthConditions: length, empty, unparsable, refusal, restart, echoed,
	// identical, errors, fallback_answer).
	Health string
	// BucketOrder, if set, is the order SortBucket uses (e.g. hard, medium,
	// easy; unknown names after, alphabetically). It is not part of the URL:
	// the handler sets it from the overview's buckets.
	BucketOrder []string

	// hits, if set, are the only ids that can match Search (from a
	// Searcher's index); Match then checks just those.
	hits map[string]struct{}
}

// Searcher is implemented by a Source with a search index (Run: an FTS5
// trigram index in run.db, see recovery.Store.SearchProblems). The viewer
// then checks a search against the index's candidates only, instead of
// every problem's text. ok false (a text too short to index) falls back to
// the scan.
type Searcher interface {
	SearchIDs(ctx context.Context, text string) (ids map[string]struct{}, ok bool, err error)
}

// WithSearch returns q with its search narrowed by src's index, if src is
// a Searcher and q searches.
func (q Query) WithSearch(ctx context.Context, src Source) (Query, error) {
	s, ok := src.(Searcher)
	if !ok || q.Search == "" {
		return q, nil
	}
	ids, ok, err := s.SearchIDs(ctx, q.Search)
	if err != nil {
		return q, err
	}
	if ok {
		q.hits = ids
	}
	return q, nil
}

// ParseQuery reads a Query from URL parameters: q, bucket, strategy,
// outcome, restart (yes|no), behaviour (a behaviour label), pmin and pmax (strong pass rate in percent,
// 0–100), sort, desc (1), page, size. An invalid value is an error naming
// the parameter and the value.
func ParseQuery(v url.Values) (Query, error) {
	q := Query{
		Search:   strings.TrimSpace(v.Get("q")),
		Bucket:   v.Get("bucket"),
		Strategy: v.Get("strategy"),
		Outcome:  Outcome(v.Get("outcome")),
		Restart:  v.Get("restart"),
		Sort:     v.Get("sort"),
	}
	q.Behaviour = v.Get("behaviour")
	if q.Behaviour != "" && !behaviour.Label(q.Behaviour).Valid() {
		return Query{}, fmt.Errorf("query parameter behaviour=%q: want one of %v", q.Behaviour, behaviour.Labels)
	}
	if q.Outcome != "" && !slices.Contains(Outcomes, q.Outcome) {
		return Query{}, fmt.Errorf("query parameter outcome=%q: want one of %v", q.Outcome, Outcomes)
	}
	q.Prefix = v.Get("prefix")
	if q.Prefix != "" && q.Prefix != "built" && q.Prefix != "set_aside" {
		return Query{}, fmt.Errorf("query parameter prefix=%q: want built, set_aside or empty", q.Prefix)
	}
	q.Health = v.Get("health")
	if q.Health != "" && !slices.Contains(HealthConditions, q.Health) {
		return Query{}, fmt.Errorf("query parameter health=%q: want one of %v", q.Health, HealthConditions)
	}
	if q.Restart != "" && q.Restart != "yes" && q.Restart != "no" {
		return Query{}, fmt.Errorf("query parameter restart=%q: want yes, no or empty", q.Restart)
	}
	if !slices.Contains(sortKeys, q.Sort) {
		return Query{}, fmt.Errorf("query parameter sort=%q: want one of %q", q.Sort, sortKeys[1:])
	}
	switch d := v.Get("desc"); d {
	case "", "0":
	case "1":
		q.Desc = true
	default:
		return Query{}, fmt.Errorf("query parameter desc=%q: want 1, 0 or empty", d)
	}
	var err error
	if q.MinPass, err = percentParam(v, "pmin"); err != nil {
		return Query{}, err
	}
	if q.MaxPass, err = percentParam(v, "pmax"); err != nil {
		return Query{}, err
	}
	if q.Page, err = intParam(v, "page", 1, math.MaxInt32); err != nil {
		return Query{}, err
	}
	if q.Size, err = intParam(v, "size", 1, MaxPageSize); err != nil {
		return Query{}, err
	}
	return q, nil
}

func percentParam(v url.Values, name string) (*float64, error) {
	s := strings.TrimSpace(v.Get(name))
	if s == "" {
		return nil, nil
	}
	f, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
	if err != nil || math.IsNaN(f) || f < 0 || f > 100 {
		return nil, fmt.Errorf("query parameter %s=%q: want a percentage between 0 and 100", name, s)
	}
	f /= 100
	return &f, nil
}

func intParam(v url.Values, name string, lo, hi int) (int, error) {
	s := strings.TrimSpace(v.Get(name))
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("query parameter %s=%q: want an integer between %d and %d", name, s, lo, hi)
	}
	return n, nil
}

// Values encodes q as URL parameters; ParseQuery(q.Values()) returns q.
// Zero fields are omitted.
func (q Query) Values() url.Values {
	v := url.Values{}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	set("q", q.Search)
	set("bucket", q.Bucket)
	set("strategy", q.Strategy)
	set("outcome", string(q.Outcome))
	set("restart", q.Restart)
	set("behaviour", q.Behaviour)
	set("prefix", q.Prefix)
	set("health", q.Health)
	if q.MinPass != nil {
		v.Set("pmin", percent(*q.MinPass))
	}
	if q.MaxPass != nil {
		v.Set("pmax", percent(*q.MaxPass))
	}
	set("sort", q.Sort)
	if q.Desc {
		v.Set("desc", "1")
	}
	if q.Page > 1 {
		v.Set("page", strconv.Itoa(q.Page))
	}
	if q.Size > 0 {
		v.Set("size", strconv.Itoa(q.Size))
	}
	return v
}

// percent formats a fraction as a percentage without float noise
// (0.333 → "33.3", not "33.300000000000004").
func percent(f float64) string {
	return strconv.FormatFloat(math.Round(f*100*1e6)/1e6, 'g', -1, 64)
}

// Filtered reports whether q narrows the list (any filter or search set).
func (q Query) Filtered() bool {
	return q.Search != "" || q.Bucket != "" || q.Strategy != "" || q.Outcome != "" ||
		q.Restart != "" || q.MinPass != nil || q.MaxPass != nil || q.Behaviour != "" || q.Health != "" || q.Prefix != ""
}

// Match reports whether s passes q's filters.
func (q Query) Match(s *ProblemSummary) bool {
	if q.Bucket != "" && s.Bucket != q.Bucket {
		return false
	}
	if q.Strategy != "" && !slices.Contains(s.Strategies, q.Strategy) {
		return false
	}
	if q.Outcome != "" && s.Outcome() != q.Outcome {
		return false
	}
	if q.Restart == "yes" && s.Restarts == 0 || q.Restart == "no" && s.Restarts > 0 {
		return false
	}
	if q.Behaviour != "" && !slices.Contains(s.Behaviours, q.Behaviour) {
		return false
	}
	if q.Health != "" && !slices.Contains(s.Health, q.Health) {
		return false
	}
	if q.Prefix != "" && !s.hasPrefixOutcome(q.Strategy, q.Prefix == "built") {
		return false
	}
	if q.MinPass != nil || q.MaxPass != nil {
		p := s.StrongPassRate()
		const eps = 1e-9
		if math.IsNaN(p) || q.MinPass != nil && p < *q.MinPass-eps || q.MaxPass != nil && p > *q.MaxPass+eps {
			return false
		}
	}
	if q.Search != "" {
		if _, ok := q.hits[s.ID]; q.hits != nil && !ok {
			return false
		}
		if !containsFold(s.ID, q.Search) && !containsFold(s.Question, q.Search) && !containsFold(s.Answer, q.Search) {
			return false
		}
	}
	return true
}

// containsFold is a case-insensitive strings.Contains that avoids
// allocating for ASCII needles and haystacks.
func containsFold(s, sub string) bool {
	if len(sub) > len(s) {
		return false
	}
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return true
		}
	}
	if !isASCII(s) || !isASCII(sub) {
		return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
	}
	return false
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// Page is one page of the filtered, sorted problem list.
type Page struct {
	// Rows on this page.
	Rows []ProblemSummary
	// Total rows matching the query, and the run's total.
	Matched, Total int
	// Number is the 1-based page shown (clamped to Pages) and Pages the
	// page count (at least 1); Size the page size used.
	Number, Pages, Size int
	// First is the 0-based index of Rows[0] among the matched rows.
	First int
}

// Select returns the indexes of rows matching q, in q's order.
func (q Query) Select(rows []ProblemSummary) []int {
	idx := make([]int, 0, len(rows))
	for i := range rows {
		if q.Match(&rows[i]) {
			idx = append(idx, i)
		}
	}
	if q.Sort == SortRun {
		if q.Desc {
			slices.Reverse(idx)
		}
		return idx
	}
	key := q.Sort
	rank := map[string]int{}
	for i, name := range q.BucketOrder {
		if _, dup := rank[name]; !dup {
			rank[name] = i
		}
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		c := compareBy(key, &rows[a], &rows[b], rank)
		if q.Desc {
			c = -c
		}
		if c == 0 {
			return cmp.Compare(a, b)
		}
		return c
	})
	return idx
}

// compareBy orders by key; undefined rates (NaN) sort last ascending.
// Buckets in rank come first in rank order, others after by name.
func compareBy(key string, a, b *ProblemSummary, rank map[string]int) int {
	switch key {
	case SortID:
		return cmp.Compare(a.ID, b.ID)
	case SortBucket:
		ra, oka := rank[a.Bucket]
		rb, okb := rank[b.Bucket]
		switch {
		case oka && okb:
			return cmp.Compare(ra, rb)
		case oka:
			return -1
		case okb:
			return 1
		}
		return cmp.Compare(a.Bucket, b.Bucket)
	case SortPass:
		return compareRate(a.StrongPassRate(), b.StrongPassRate())
	case SortWeak:
		return compareRate(a.WeakPassRate(), b.WeakPassRate())
	case SortRecovery:
		return compareRate(a.RecoveryRate(), b.RecoveryRate())
	case SortConts:
		return cmp.Compare(a.Continuations, b.Continuations)
	case SortRestarts:
		return cmp.Compare(a.Restarts, b.Restarts)
	}
	return 0
}

func compareRate(a, b float64) int {
	an, bn := math.IsNaN(a), math.IsNaN(b)
	switch {
	case an && bn:
		return 0
	case an:
		return 1
	case bn:
		return -1
	}
	return cmp.Compare(a, b)
}

// Apply filters, sorts and pages rows. A Size of 0 uses DefaultPageSize; a
// Page past the end shows the last page.
func (q Query) Apply(rows []ProblemSummary) Page {
	idx := q.Select(rows)
	size := q.Size
	if size <= 0 {
		size = DefaultPageSize
	}
	pages := max(1, (len(idx)+size-1)/size)
	n := min(max(q.Page, 1), pages)
	first := (n - 1) * size
	last := min(first+size, len(idx))
	p := Page{Matched: len(idx), Total: len(rows), Number: n, Pages: pages, Size: size, First: first}
	p.Rows = make([]ProblemSummary, 0, last-first)
	for _, i := range idx[first:last] {
		p.Rows = append(p.Rows, rows[i])
	}
	return p
}

// hasPrefixOutcome reports whether strategy (any, if "") built a prefix
// (built) or was set aside or failed (!built) for s.
func (s *ProblemSummary) hasPrefixOutcome(strategy string, built bool) bool {
	for _, st := range s.Strategies {
		if strategy != "" && st != strategy {
			continue
		}
		aside := slices.ContainsFunc(s.SetAside, func(a string) bool { return strings.HasPrefix(a, st+": ") })
		if aside != built {
			return true
		}
	}
	return false
}
