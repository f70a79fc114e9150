// Package viewer serves a finished (or running) Rebound experiment as a local
// web page: a run overview with the summary table and plots, a problem list
// that is sortable, filterable, searchable and paginated on the server, and a
// page per problem showing the question, the gold answer, every straight-shot
// sample with its verdict, each flawed prefix inside the trace it was cut
// from with the cut marked, and every continuation with its verdict, restart
// flag, prefill method, tokens and dollars.
//
// The viewer reads a run through the small Source interface; OpenRun adapts
// a run directory written by package recovery, and Static holds a run in
// memory (for tests and for researchers who build their own view). New
// returns the http.Handler. Math is rendered in the browser by a vendored
// copy of KaTeX (embedded, no CDN); all model output is escaped by
// html/template and a Content-Security-Policy forbids inline scripts as
// defence in depth.
package viewer

import (
	"context"
	"errors"
	"github.com/rebound-lab/rebound/recovery"
	"io"
	"math"
	"time"

	"github.com/rebound-lab/rebound/providers"
	"github.com/rebound-lab/rebound/verify"
)

// ErrNotFound is returned (wrapped) by a Source when a problem or file does
// not exist; the viewer answers 404.
var ErrNotFound = errors.New("viewer: not found")

// Source is the read side of a run, as the viewer needs it. Implementations
// must be safe for concurrent use and honour ctx; they are called on every
// request, so ProblemList should be cheap (cache it) for large runs.
type Source interface {
	// Overview returns the run's summary: tables, plots, cost.
	Overview(ctx context.Context) (Overview, error)
	// ProblemList returns one summary row per problem in the run's order.
	// The viewer filters, sorts and pages it.
	ProblemList(ctx context.Context) ([]ProblemSummary, error)
	// Problem returns everything recorded about one problem, or an error
	// wrapping ErrNotFound.
	Problem(ctx context.Context, id string) (Problem, error)
	// File opens a file listed in Overview.Plots or Overview.Files, or
	// returns an error wrapping ErrNotFound. The viewer closes it. Files are
	// streamed, so large exports (samples.jsonl) are never read whole.
	File(ctx context.Context, name string) (io.ReadSeekCloser, error)
}

// Overview is the run overview page's model.
type Overview struct {
	// Title names the run (e.g. its directory).
	Title string
	// Params describes the run's configuration, shown in order
	// (e.g. strong model, weak model, dataset, seed).
	Params []Param
	// Buckets are the per-difficulty-bucket rows of the summary table and
	// Overall its total row; HasSummary is false when the run has no summary
	// yet (the tables are then hidden).
	Buckets    []Bucket
	Overall    Bucket
	HasSummary bool
	// ByDepth is recovery against truncation depth.
	ByDepth []DepthRow
	// ByStrategy repeats the summary table for each perturbation strategy;
	// shown when the run used more than one.
	ByStrategy []StrategyTable
	// Cost totals the run's calls.
	Cost Cost
	// Plots are image files (SVG or PNG) shown inline, in order.
	Plots []FileRef
	// Files are other files offered for download (report.md, summary.json).
	Files []FileRef
	// Health is summary.json's health block (warnings with their fixes,
	// counts per stage and model); nil without one.
	Health *recovery.Health
	// Study, if set, is a study's comparison of several strong models,
	// shown at the top of the overview (see Study).
	Study *StudyView
}

// Param is one named run parameter.
type Param struct {
	Name, Value string
}

// FileRef names a file of the run. Name is what Source.File accepts.
type FileRef struct {
	Name  string
	Title string
}

// Bucket is one row of the summary table. Rates are fractions in [0, 1];
// NaN means undefined (e.g. no continuations) and is shown as a dash.
type Bucket struct {
	Name               string
	Problems           int
	StrongPassRate     float64
	WeakPassRate       float64
	SetAside           map[string]int
	Continuations      int
	Recovered          int
	RecoveryRate       float64
	RecoveryCI         [2]float64
	NormalizedRecovery float64
	RestartRate        float64
}

// StrategyTable is the summary table restricted to one perturbation
// strategy's prefixes and continuations.
type StrategyTable struct {
	Strategy string
	Buckets  []Bucket
	Overall  Bucket
}

// DepthRow is recovery at one truncation depth (fraction of steps kept).
type DepthRow struct {
	Depth         float64
	Continuations int
	RecoveryRate  float64
}

// Cost totals calls, tokens and dollars.
type Cost struct {
	Calls        int
	CachedCalls  int
	InputTokens  int
	OutputTokens int
	USD          float64
}

// Outcome classifies a problem by what happened to its continuations.
type Outcome string

// The outcomes, in the order the filter offers them.
const (
	// OutcomeRecovered: every continuation reached the right answer.
	OutcomeRecovered Outcome = "recovered"
	// OutcomePartial: some continuations recovered, some did not.
	OutcomePartial Outcome = "partial"
	// OutcomeFailed: no continuation recovered.
	OutcomeFailed Outcome = "failed"
	// OutcomeSetAside: no prefix could be built (too easy, no trace, ...).
	OutcomeSetAside Outcome = "set-aside"
	// OutcomePending: no continuation was recorded (yet).
	OutcomePending Outcome = "pending"
)

// Outcomes lists every Outcome in display order.
var Outcomes = []Outcome{OutcomeRecovered, OutcomePartial, OutcomeFailed, OutcomeSetAside, OutcomePending}

// ProblemSummary is one row of the problem list.
type ProblemSummary struct {
	ID       string
	Question string
	Answer   string
	Source   string
	// Bucket is the most likely difficulty bucket ("" if not binned) and
	// BucketProb its membership.
	Bucket     string
	BucketProb float64
	// StrongCorrect of StrongSamples straight-shot samples of the strong
	// model were right; likewise for the weak model.
	StrongCorrect, StrongSamples int
	WeakCorrect, WeakSamples     int
	// Strategies that produced a prefix (or tried to), sorted, unique.
	Strategies []string
	// Prefixes built; SetAside reasons for strategies that built none.
	Prefixes int
	SetAside []string
	// Continuations, how many recovered, and how many restarted from scratch.
	Continuations int
	Recovered     int
	Restarts      int
	// Behaviours are the behaviour labels its continuations got, sorted,
	// unique.
	Behaviours []string
	// Health lists the health conditions (HealthConditions) of its rows.
	Health []string
}

// StrongPassRate is StrongCorrect/StrongSamples, NaN with no samples.
func (s ProblemSummary) StrongPassRate() float64 { return ratio(s.StrongCorrect, s.StrongSamples) }

// WeakPassRate is WeakCorrect/WeakSamples, NaN with no samples.
func (s ProblemSummary) WeakPassRate() float64 { return ratio(s.WeakCorrect, s.WeakSamples) }

// RecoveryRate is Recovered/Continuations, NaN with no continuations.
func (s ProblemSummary) RecoveryRate() float64 { return ratio(s.Recovered, s.Continuations) }

// Outcome classifies the problem.
func (s ProblemSummary) Outcome() Outcome {
	switch {
	case s.Continuations > 0 && s.Recovered == s.Continuations:
		return OutcomeRecovered
	case s.Recovered > 0:
		return OutcomePartial
	case s.Continuations > 0:
		return OutcomeFailed
	case s.Prefixes == 0 && len(s.SetAside) > 0:
		return OutcomeSetAside
	default:
		return OutcomePending
	}
}

func ratio(k, n int) float64 {
	if n == 0 {
		return math.NaN()
	}
	return float64(k) / float64(n)
}

// Problem is the problem page's model: everything recorded about one problem.
type Problem struct {
	ProblemSummary
	// Solution is the dataset's worked reference solution, if any.
	Solution string
	Subject  string
	Level    int
	// Membership is the fuzzy difficulty membership, in bucket order.
	Membership []Membership
	// Samples are the straight-shot samples, strong first then weak.
	Samples []Sample
	// Prefixes are the flawed prefixes with their continuations.
	Prefixes []Prefix
	// SetAsideDetail explains each set-aside outcome ("weak: too easy ...").
	SetAsideDetail []string
}

// Membership is a problem's degree of membership in one difficulty bucket.
type Membership struct {
	Bucket string
	P      float64
}

// Call is what every recorded model call carries.
type Call struct {
	// Model is the model spec or name that answered.
	Model string
	// Index is the sample index of this call among its siblings.
	Index        int
	Text         string
	FinishReason string
	Usage        providers.Usage
	CostUSD      float64
	Cached       bool
	Latency      time.Duration
	// Verdict of the full trace against the gold answer; Verified is false
	// when no verdict was recorded.
	Verdict  verify.Verdict
	Verified bool
	// Error is the call's or the verifier's failure, if any.
	Error string
	// Reasoning is the reasoning text the API returned apart from Text.
	Reasoning string
	// Upstream is the host a router said served the call.
	Upstream string
	// Seed is the seed sent, as text; "" when none was.
	Seed string
	// Batch: the completion came through a provider's batch API.
	Batch bool
}

// Sample is one straight-shot sample.
type Sample struct {
	Call
	// Role is "strong" or "weak".
	Role string
}

// Prefix is a flawed partial solution and what the strong model made of it.
type Prefix struct {
	// ID identifies the prefix within the problem (e.g. its row id).
	ID string
	// Text is the prefix the strong model continued; Source the full trace
	// it was cut from (Text is normally a prefix of Source).
	Text   string
	Source string
	// StepsKept of StepsTotal steps were kept; ErrorStep is the 1-indexed
	// step holding the known error (0 if unknown).
	StepsKept, StepsTotal, ErrorStep int
	Strategy                         string
	Origin                           string
	// Usage and CostUSD are what building the prefix cost.
	Usage   providers.Usage
	CostUSD float64
	// Meta holds strategy-specific details, shown as a small table.
	Meta          map[string]string
	Continuations []Continuation
}

// Continuation is one continuation of a prefix by the strong model.
type Continuation struct {
	Call
	// Restart reports that the continuation started over instead of
	// continuing the prefix; RestartReason says why.
	Restart       bool
	RestartReason string
	// PrefillMethod is how the prefix was presented to the model.
	PrefillMethod providers.PrefillMethod
	// Behaviour is the continuation's behaviour label (package behaviour),
	// "" if not labelled; BehaviourRule the rule that decided it; Evidence
	// the byte span [start, end) of Text it rests on (empty: none).
	Behaviour     string
	BehaviourRule string
	Evidence      [2]int
}

// TextPart is a piece of a continuation's text, marked when it is the
// behaviour label's evidence.
type TextPart struct {
	Text     string
	Evidence bool
}

// TextParts splits Text around the evidence span (one part when there is
// none, or when the span does not fit the text).
func (c Continuation) TextParts() []TextPart {
	a, b := c.Evidence[0], c.Evidence[1]
	if a < 0 || b <= a || b > len(c.Text) {
		return []TextPart{{Text: c.Text}}
	}
	var out []TextPart
	if a > 0 {
		out = append(out, TextPart{Text: c.Text[:a]})
	}
	out = append(out, TextPart{Text: c.Text[a:b], Evidence: true})
	if b < len(c.Text) {
		out = append(out, TextPart{Text: c.Text[b:]})
	}
	return out
}
