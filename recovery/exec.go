package recovery

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/rebound-lab/rebound/perturb"
	"github.com/rebound-lab/rebound/providers"
)

// DefaultConcurrency is the number of items a stage works on at once when
// Exec.Concurrency is 0.
const DefaultConcurrency = 8

// Exec holds what every stage shares: how many items run at once, where
// results go, and who hears about progress. The zero value runs with
// DefaultConcurrency, persists nothing and reports nothing.
type Exec struct {
	// Concurrency bounds the items in flight; 0 means DefaultConcurrency.
	Concurrency int
	// Auto, if set, replaces Concurrency: the items in flight follow
	// Auto.Limit (wrap the stage's completers with Auto.Middleware).
	Auto *AutoConcurrency
	// Store receives every result as it arrives; rows already finished in it
	// are reused instead of recomputed (resume). Nil persists nothing.
	Store *Store
	// Meter, if set, supplies the running cost totals in progress events.
	// Wrap the stage's completers with it.
	Meter *Meter
	// Progress, if set, is called after every finished item. It is called
	// from several goroutines, one call at a time.
	Progress func(Event)
}

// Event is a progress report from a stage.
type Event struct {
	// Stage is StageStrong, StageWeak, StagePerturb or StageContinue.
	Stage string `json:"stage"`
	// Done of Total items of this stage are finished.
	Done  int `json:"done"`
	Total int `json:"total"`
	// Cost is the Meter's running total over every stage (zero without a
	// Meter).
	Cost Cost `json:"cost"`
	// Elapsed since the stage started; ETA is the linear estimate of the
	// stage's remaining time (0 until an item finished).
	Elapsed time.Duration `json:"elapsed"`
	ETA     time.Duration `json:"eta"`
	// Strategy is the perturbation strategy of the finished item (the
	// PerturbStage's, or the continued prefix's); "" for straight shots.
	Strategy string `json:"strategy,omitempty"`
	// Resumed reports that the item was reused from the Store, not made.
	Resumed bool `json:"resumed,omitempty"`
}

// Cost totals calls, tokens and dollars. Every count the harness prints —
// the progress bar, the console, report.md, summary.json, the viewer — is
// one of these, defined once:
//
//   - Calls: completions received (a model's answer or a cache hit), one
//     per row that holds a completion. Failed calls that returned nothing
//     are not calls.
//   - CachedCalls: those answered by the completion cache from a call paid
//     for earlier (they cost nothing).
//   - Paid (Calls − CachedCalls): those answered by the model, i.e. the
//     requests the provider billed.
//   - Resumed: finished results reused from run.db without a call (only an
//     invocation's running totals have it: see Meter and Event).
//
// Over a run directory (Summary.Cost, from the stored rows) a result a
// crashed invocation paid for counts as paid once, however many
// invocations it took; over one invocation (Meter, Event.Cost) Calls and
// CachedCalls are what this process received, and Calls + Resumed equals
// the run's Calls at the end.
type Cost struct {
	Calls        int     `json:"calls"`
	CachedCalls  int     `json:"cached_calls"`
	InputTokens  int     `json:"input_tokens"`
	OutputTokens int     `json:"output_tokens"`
	USD          float64 `json:"usd"`
	// Resumed counts results reused from the store without a call; see
	// Cost. Zero (and absent from summary.json) in a run's totals.
	Resumed int `json:"resumed,omitempty"`
}

// PaidCalls is Calls − CachedCalls: the calls the model answered.
func (c Cost) PaidCalls() int { return c.Calls - c.CachedCalls }

// Add returns the sum of c and d.
func (c Cost) Add(d Cost) Cost {
	return Cost{Calls: c.Calls + d.Calls, CachedCalls: c.CachedCalls + d.CachedCalls,
		InputTokens: c.InputTokens + d.InputTokens, OutputTokens: c.OutputTokens + d.OutputTokens, USD: c.USD + d.USD,
		Resumed: c.Resumed + d.Resumed}
}

func completionCost(c providers.Completion) Cost {
	cost := Cost{Calls: 1, InputTokens: c.Usage.InputTokens, OutputTokens: c.Usage.OutputTokens, USD: c.CostUSD}
	if c.Cached {
		cost.CachedCalls = 1
	}
	return cost
}

// Meter counts the calls, cached calls, tokens and dollars of every
// completion that passes through the completers it wraps, and the results
// the stages reused from their Store (Cost.Resumed). It is safe for
// concurrent use; the zero value is ready.
type Meter struct {
	mu    sync.Mutex
	total Cost
}

// Totals returns the running totals.
func (m *Meter) Totals() Cost {
	if m == nil {
		return Cost{}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.total
}

func (m *Meter) resume(n int) {
	if m == nil || n == 0 {
		return
	}
	m.mu.Lock()
	m.total.Resumed += n
	m.mu.Unlock()
}

// Wrap returns c counted by m. Calls made on behalf of a PerturbStage item
// are also added to that item and recorded in the stage's Store as
// StagePerturb rows, so wrap the completers a Perturber uses with the
// stage's Meter. The rows name the model as Completion.Provider ":"
// Request.Model; use Model to name it by its spec instead.
func (m *Meter) Wrap(c providers.Completer) providers.Completer {
	return &metered{m: m, next: c}
}

// Model is Wrap for the model with spec ("sim:weak", "openai:gpt-4o"): the
// StagePerturb rows it records carry spec, as the straight-shot and
// continuation rows of that model do, so a perturber's cache hit on a
// straight-shot sample is recognised as one (not counted as paid).
func (m *Meter) Model(spec string) providers.Middleware {
	return func(c providers.Completer) providers.Completer { return &metered{m: m, next: c, spec: spec} }
}

// Middleware returns m.Wrap as a providers.Middleware.
func (m *Meter) Middleware() providers.Middleware { return m.Wrap }

type metered struct {
	m    *Meter
	next providers.Completer
	spec string // the model's spec, for the rows; "" = provider:model
}

var _ providers.Completer = (*metered)(nil)
var _ providers.Describer = (*metered)(nil)

func (w *metered) Complete(ctx context.Context, req providers.Request) (providers.Completion, error) {
	c, err := w.next.Complete(ctx, req)
	if err != nil {
		return c, err
	}
	cost := completionCost(c)
	w.m.mu.Lock()
	w.m.total = w.m.total.Add(cost)
	w.m.mu.Unlock()
	if t, ok := ctx.Value(tallyKey{}).(*tally); ok {
		t.record(ctx, w.specOf(req, c), req, c)
	}
	return c, nil
}

// specOf names the model of a perturbation row: the wrapper's spec, else
// "provider:model" as the completion and request name it — the same string
// a stage configured with that model records, so its request keys match.
func (w *metered) specOf(req providers.Request, c providers.Completion) string {
	switch {
	case w.spec != "":
		return w.spec
	case c.Provider != "" && req.Model != "":
		return c.Provider + ":" + req.Model
	}
	return req.Model
}

func (w *metered) Endpoint() providers.Endpoint { return providers.EndpointOf(w.next) }

type tallyKey struct{}

// tally collects the cost of the calls made on behalf of one item and, with
// a store, records each call as a StagePerturb row as it returns.
type tally struct {
	store             *Store
	problem, strategy string

	mu   sync.Mutex
	n    int
	cost Cost
}

func (t *tally) record(ctx context.Context, model string, req providers.Request, c providers.Completion) {
	cost := completionCost(c)
	t.mu.Lock()
	t.cost = t.cost.Add(cost)
	n := t.n
	t.n++
	t.mu.Unlock()
	if t.store == nil {
		return
	}
	r := Sample{Stage: StagePerturb, ProblemID: t.problem, Prefix: t.strategy, Sample: n, Model: model,
		Request: requestJSON(req)}
	fillCompletion(&r, c)
	// A failed write loses only the row, not the call (the cache has it).
	_ = t.store.PutSample(detach(ctx), r)
}

func (t *tally) get() Cost {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.cost
}

// IsFatal reports whether err should stop a whole run rather than be
// recorded against one item: cancellation, an exhausted budget, a feature
// the provider cannot serve (such as prefill), or a provider error that
// retrying cannot fix (bad key, unknown model, bad request).
func IsFatal(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, providers.ErrBudgetExceeded) || errors.Is(err, providers.ErrUnsupported) {
		return true
	}
	var apiErr *providers.APIError
	if errors.As(err, &apiErr) {
		return !apiErr.Retryable
	}
	return false
}

// SetAsideReason names the set-aside outcome err stands for ("too_easy",
// "no_trace", "out_of_band", "too_short"), matched with errors.Is on the
// perturb sentinels; "" if err is none of them.
func SetAsideReason(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, perturb.ErrTooEasy):
		return "too_easy"
	case errors.Is(err, perturb.ErrNoTrace):
		return "no_trace"
	case errors.Is(err, perturb.ErrOutOfBand):
		return "out_of_band"
	case errors.Is(err, perturb.ErrTooShort):
		return "too_short"
	}
	return ""
}

// progress tracks one stage's done count and reports events.
type progress struct {
	exec  *Exec
	stage string
	total atomic.Int64 // grows for a pipeline's continuations (see grow)
	start time.Time
	done  atomic.Int64
	// mu serializes the calls to exec.Progress; the pipeline's stages
	// share one (Exec.Progress is called one call at a time).
	mu *sync.Mutex
}

func newProgress(e *Exec, stage string, total int) *progress {
	p := &progress{exec: e, stage: stage, start: time.Now(), mu: &sync.Mutex{}}
	p.total.Store(int64(total))
	return p
}

// grow adds n items to the stage's total: the pipeline learns how many
// continuations there are as prefixes are built.
func (p *progress) grow(n int) { p.total.Add(int64(n)) }

func (p *progress) step(n int) { p.item(n, "", -1) }

// item reports n finished items of strategy; resumed ≥ 0 means they were
// reused from the store, standing for that many calls (Cost.Resumed).
func (p *progress) item(n int, strategy string, resumed int) {
	if resumed >= 0 {
		p.exec.Meter.resume(resumed)
	}
	done := int(p.done.Add(int64(n)))
	if p.exec.Progress == nil {
		return
	}
	el := time.Since(p.start)
	total := int(p.total.Load())
	var eta time.Duration
	if done > 0 && done < total {
		eta = time.Duration(float64(el) / float64(done) * float64(total-done))
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.exec.Progress(Event{Stage: p.stage, Done: done, Total: total, Cost: p.exec.Meter.Totals(), Elapsed: el, ETA: eta,
		Strategy: strategy, Resumed: resumed >= 0})
}

// fanOut runs fn(ctx, i) for i in [0, n) with at most limit in flight. fn
// records per-item failures in its own result and returns an error only for
// fatal ones, which cancel the rest.
func fanOut(ctx context.Context, n, limit int, fn func(ctx context.Context, i int) error) error {
	if limit <= 0 {
		limit = DefaultConcurrency
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(limit)
	for i := 0; i < n; i++ {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error { return fn(gctx, i) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	return ctx.Err()
}

// detach returns a context for writing a result that has already been paid
// for: it keeps ctx's values but is not cancelled with it, so a cancellation
// arriving just after a response never loses that response.
func detach(ctx context.Context) context.Context { return context.WithoutCancel(ctx) }
