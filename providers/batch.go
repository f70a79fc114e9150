package providers

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"
)

// Batch errors. Match them with errors.Is.
var (
	// ErrNoBatchAPI: the provider (or this server of it) offers no batch API
	// Rebound can use.
	ErrNoBatchAPI = errors.New("providers: no batch API")
	// ErrBatchExpired is wrapped by the error of a batch line the provider
	// expired or canceled before running it. Such lines are retried in a
	// later batch.
	ErrBatchExpired = errors.New("providers: batch request expired or was canceled before it ran")
	// ErrBatchFailed is wrapped when the provider rejected a whole batch
	// (its validation failed) or lost it.
	ErrBatchFailed = errors.New("providers: batch failed")
)

// BatchItem is one request of a batch, named by a custom ID unique within
// the batch (letters, digits, '-' and '_', at most 64 characters, so every
// provider accepts it).
type BatchItem struct {
	CustomID string
	Request  Request
}

// BatchState is where a submitted batch is.
type BatchState string

// Batch states.
const (
	// BatchRunning: validating, queued or in progress; poll again.
	BatchRunning BatchState = "running"
	// BatchEnded: every line has an outcome; fetch the results.
	BatchEnded BatchState = "ended"
	// BatchFailed: the provider rejected or lost the whole batch; no line
	// ran. Retryable says whether resubmitting may work.
	BatchFailed BatchState = "failed"
)

// BatchStatus is a batch's state as the provider reports it.
type BatchStatus struct {
	State BatchState
	// Total, Succeeded and Failed count lines (as far as the provider says
	// while the batch runs).
	Total, Succeeded, Failed int
	// Message explains a failed batch.
	Message string
	// Retryable, for a failed batch, says that resubmitting may succeed.
	Retryable bool
}

// BatchLine is one line of a finished batch: the completion the live path
// would have returned for the request, or its error. An expired or
// canceled line's error wraps ErrBatchExpired; a provider error is an
// *APIError (IsRetryable decides whether another batch may succeed).
type BatchLine struct {
	CustomID   string
	Completion Completion
	Err        error
}

// BatchAPI is what an adapter implements to take requests as batches. Each
// request inside a batch must be the exact body the adapter's live Complete
// would send, and each line's Completion what Complete would have returned.
type BatchAPI interface {
	// SubmitBatch creates a batch of items, tagged with token where the
	// provider can store it (so FindBatch can recognise it), and returns the
	// provider's batch ID.
	SubmitBatch(ctx context.Context, token string, items []BatchItem) (id string, err error)
	// PollBatch returns the batch's status.
	PollBatch(ctx context.Context, id string) (BatchStatus, error)
	// BatchResults returns every line of an ended batch, decoding each
	// against its item (the request the line answers) exactly as the live
	// Complete would. Lines the provider did not report are missing.
	BatchResults(ctx context.Context, id string, items []BatchItem) ([]BatchLine, error)
	// CancelBatch asks the provider to stop the batch.
	CancelBatch(ctx context.Context, id string) error
}

// BatchFinder is implemented by BatchAPIs that can find a submitted batch
// from its journal record (by the token given to SubmitBatch where the
// provider stores one; else by its creation time and size): after a crash
// between the provider accepting a batch and its ID being journaled, or a
// submit that failed after the provider accepted it, the batch is
// re-attached rather than submitted again.
type BatchFinder interface {
	FindBatch(ctx context.Context, rec BatchRecord) (id string, found bool, err error)
}

// BatchCapable is implemented by adapters whose batch support depends on
// their configuration (a preset or server without one); BatchAPIOf uses it.
type BatchCapable interface {
	// BatchSupport returns nil if batches can be used, else an error
	// wrapping ErrNoBatchAPI that says why and what to do.
	BatchSupport() error
}

// BatchAPIOf returns c's BatchAPI, or an error wrapping ErrNoBatchAPI that
// names the provider when it has none.
func BatchAPIOf(c Completer) (BatchAPI, error) {
	api, ok := c.(BatchAPI)
	if !ok {
		p := EndpointOf(c).Provider
		if p == "" {
			p = fmt.Sprintf("%T", c)
		}
		return nil, fmt.Errorf("%w: provider %s has no batch API in Rebound (batch-capable: openai, anthropic, groq, together, sim, and openai-compatible servers with OPENAI_COMPATIBLE_BATCH=1); run it without -batch", ErrNoBatchAPI, p)
	}
	if bc, ok := c.(BatchCapable); ok {
		if err := bc.BatchSupport(); err != nil {
			return nil, err
		}
	}
	return api, nil
}

// BatchLineRecord maps a custom ID of a journaled batch to the CacheKey of
// its request, and keeps the request (so a re-attached batch's lines can be
// decoded and, if they expire, sent again).
type BatchLineRecord struct {
	CustomID string  `json:"custom_id"`
	Key      string  `json:"key"`
	Request  Request `json:"request"`
}

// BatchRecord is a journaled batch.
type BatchRecord struct {
	// Token is Rebound's name for the batch, chosen before submitting.
	Token string
	// ID is the provider's batch ID; "" until the submit returned.
	ID string
	// Scope names the endpoint and model the batch was sent to; open
	// batches are re-attached only by a Batcher of the same scope.
	Scope   string
	Lines   []BatchLineRecord
	Created time.Time
}

// BatchOutcome is the fate of one journaled line.
type BatchOutcome struct {
	CustomID string
	// State is "succeeded", "retried" (expired or failed retryably, sent
	// again in a later batch) or "errored".
	State   string
	CostUSD float64
}

// BatchJournal persists batches so a crashed run re-attaches to them. It
// must be safe for concurrent use. BeginBatch is called, and must have
// persisted the record, before the batch is submitted; SetBatchID as soon
// as the provider named it; FinishBatch once every line's result has been
// handed on (and stored in the cache, when the Batcher has one).
type BatchJournal interface {
	BeginBatch(ctx context.Context, rec BatchRecord) error
	SetBatchID(ctx context.Context, token, id string) error
	FinishBatch(ctx context.Context, token, state string, lines []BatchOutcome) error
	// OpenBatches returns the unfinished batches of scope, oldest first.
	OpenBatches(ctx context.Context, scope string) ([]BatchRecord, error)
}

// Batch defaults, used for zero fields of BatchConfig.
const (
	DefaultBatchMaxSize      = 2000
	DefaultBatchMaxWait      = 2 * time.Second
	DefaultBatchPollInitial  = time.Second
	DefaultBatchPollMax      = time.Minute
	DefaultBatchLineAttempts = 3
	// DefaultBatchCallTimeout bounds one call to the batch API (an upload,
	// a poll, a results download), so a hung connection costs a retry, not
	// the batch.
	DefaultBatchCallTimeout = 5 * time.Minute
)

// BatchConfig configures NewBatcher.
type BatchConfig struct {
	// MaxSize caps the requests per batch; 0 means DefaultBatchMaxSize.
	MaxSize int
	// MaxWait is how long the first queued request waits for others before
	// its batch is submitted; 0 means DefaultBatchMaxWait.
	MaxWait time.Duration
	// PollInitial and PollMax bound the polling interval, which grows
	// ×1.5 from PollInitial to PollMax; 0 means the defaults.
	PollInitial, PollMax time.Duration
	// LineAttempts bounds how many batches one request is sent in (an
	// expired or retryably failed line goes into a later batch); 0 means
	// DefaultBatchLineAttempts.
	LineAttempts int
	// CallTimeout bounds each call to the batch API; 0 means
	// DefaultBatchCallTimeout. A call that times out is retried.
	CallTimeout time.Duration
	// Journal persists batches; nil means an in-memory journal (no
	// re-attachment after a crash).
	Journal BatchJournal
	// Cache, if set, receives every successful line under its CacheKey
	// before the batch is finished in the journal, so a crash right after
	// never loses a paid answer.
	Cache CacheStore
	// Prices prices lines at their batch price (PriceTable.BatchPrice) when
	// the adapter did not report a cost; nil means DefaultPrices().
	Prices *PriceTable
	// Discount, if positive, prices lines at the live price times Discount
	// instead of the provider's known batch discount (BatchDiscountOf).
	Discount float64
	// Scope names this Batcher in the journal; "" means the endpoint's
	// provider and base URL.
	Scope string
	// OnEvent, if set, hears about every batch submitted and finished; it
	// is called from several goroutines at once.
	OnEvent func(BatchEvent)
}

// BatchEvent reports a batch's progress.
type BatchEvent struct {
	Scope string
	// Kind is "submitted", "reattached", "ended" or "failed".
	Kind  string
	ID    string
	Lines int
	Stats BatchStats
}

// BatchStats counts a Batcher's work.
type BatchStats struct {
	// Submitted counts batches submitted by this process; Reattached those
	// found open in the journal; Done those finished; InProgress those
	// submitted or re-attached and not finished.
	Submitted, Reattached, Done, InProgress int
	// Lines counts requests sent in batches (a retried line counts again);
	// Succeeded, Retried and Errored their outcomes; Queued requests
	// waiting for a batch.
	Lines, Succeeded, Retried, Errored, Queued int
}

// Batcher sends the requests made through its Middleware as batches: each
// Complete enqueues its request and blocks (honouring ctx) while a
// collector submits the queued requests as one batch once MaxSize are
// waiting or the oldest has waited MaxWait, polls the batch with backoff
// and hands every line to its waiting caller. Identical requests (equal
// CacheKey) waiting at once share one line.
//
// Crash safety: every batch is journaled (custom ID → request key) before
// it is submitted and its provider ID as soon as it is known. The first
// Complete re-attaches the journal's open batches of the scope before
// anything new is submitted: their requests wait for those batches instead
// of being sent again, and their results are served to whoever asks.
//
// Place Batcher inside Cache and Budget (so each waiting call reserves its
// worst case before its batch is submitted and the budget's cap holds with
// batches in flight) and instead of Retry, RateLimit and Concurrency, which
// limit live calls.
type Batcher struct {
	api   BatchAPI
	ep    Endpoint
	cfg   BatchConfig
	scope string

	attachOnce sync.Once
	attachErr  error

	mu      sync.Mutex
	queue   []*batchWait
	byKey   map[string]*batchWait
	ready   map[string]Completion // results nobody waited for yet
	running bool
	kick    chan struct{}
	stats   BatchStats
}

// batchWait is one request waiting for its line.
type batchWait struct {
	key      string
	customID string
	req      Request
	hasReq   bool
	attempts int
	queued   time.Time
	inQueue  bool
	waiters  int
	claimed  bool
	done     chan struct{}
	c        Completion
	err      error
}

// NewBatcher returns a Batcher sending to api, whose live Completer has
// endpoint ep (its CacheKey prefix and journal scope).
func NewBatcher(api BatchAPI, ep Endpoint, cfg BatchConfig) *Batcher {
	if cfg.MaxSize <= 0 {
		cfg.MaxSize = DefaultBatchMaxSize
	}
	if cfg.MaxWait <= 0 {
		cfg.MaxWait = DefaultBatchMaxWait
	}
	if cfg.PollInitial <= 0 {
		cfg.PollInitial = DefaultBatchPollInitial
	}
	if cfg.PollMax <= 0 {
		cfg.PollMax = DefaultBatchPollMax
	}
	if cfg.PollMax < cfg.PollInitial {
		cfg.PollMax = cfg.PollInitial
	}
	if cfg.LineAttempts <= 0 {
		cfg.LineAttempts = DefaultBatchLineAttempts
	}
	if cfg.Journal == nil {
		cfg.Journal = NewMemoryJournal()
	}
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = DefaultBatchCallTimeout
	}
	if cfg.Prices == nil {
		cfg.Prices = DefaultPrices()
	}
	scope := cfg.Scope
	if scope == "" {
		scope = ep.Provider + " " + ep.BaseURL
	}
	return &Batcher{api: api, ep: ep, cfg: cfg, scope: scope, byKey: map[string]*batchWait{},
		ready: map[string]Completion{}, kick: make(chan struct{}, 1)}
}

// Stats returns a snapshot of the Batcher's counters.
func (b *Batcher) Stats() BatchStats {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.stats
	s.Queued = len(b.queue)
	return s
}

// Middleware returns middleware whose Completers send through b; the
// wrapped Completer is used only for its Endpoint.
func (b *Batcher) Middleware() Middleware {
	return func(next Completer) Completer { return &batched{b: b} }
}

type batched struct{ b *Batcher }

var (
	_ Completer = (*batched)(nil)
	_ Describer = (*batched)(nil)
)

// Endpoint is the live Completer's endpoint.
func (g *batched) Endpoint() Endpoint { return g.b.ep }

// Complete sends req in a batch and waits for its line.
func (g *batched) Complete(ctx context.Context, req Request) (Completion, error) {
	return g.b.Complete(ctx, req)
}

// Complete enqueues req (or joins an identical request already waiting or
// re-attached), and blocks until its batch line arrives or ctx ends. A
// cancelled call whose request was not yet submitted is taken out of the
// queue; one already submitted leaves its line to be served to a later
// identical call.
func (b *Batcher) Complete(ctx context.Context, req Request) (Completion, error) {
	if err := ctx.Err(); err != nil {
		return Completion{}, err
	}
	b.attachOnce.Do(func() { b.attachErr = b.reattach(context.WithoutCancel(ctx)) })
	if b.attachErr != nil {
		return Completion{}, b.attachErr
	}
	key := CacheKey(b.ep, req)
	b.mu.Lock()
	if c, ok := b.ready[key]; ok {
		delete(b.ready, key)
		b.mu.Unlock()
		return c, nil
	}
	w := b.byKey[key]
	if w == nil {
		w = &batchWait{key: key, customID: customID(key), done: make(chan struct{})}
		b.byKey[key] = w
		b.enqueue(w)
	}
	if !w.hasReq {
		w.req, w.hasReq = req, true
	}
	w.waiters++
	b.mu.Unlock()

	select {
	case <-w.done:
		return b.claim(w)
	case <-ctx.Done():
		b.mu.Lock()
		w.waiters--
		if w.waiters == 0 && w.inQueue {
			b.dequeue(w)
			delete(b.byKey, key)
		}
		b.mu.Unlock()
		select {
		case <-w.done: // it arrived just now
			return b.claim(w)
		default:
		}
		return Completion{}, ctx.Err()
	}
}

// claim returns w's outcome: the paid completion to the first caller, a
// cache hit (cost 0, SavedUSD the paid cost) to every other caller that
// shared the line, so calls and dollars are counted once.
func (b *Batcher) claim(w *batchWait) (Completion, error) {
	if w.err != nil {
		return Completion{}, w.err
	}
	b.mu.Lock()
	first := !w.claimed
	w.claimed = true
	b.mu.Unlock()
	c := w.c
	if !first {
		c.Cached = true
		if c.CostKnown {
			c.SavedUSD = c.CostUSD
		}
		c.CostUSD, c.CostKnown, c.Latency = 0, true, 0
	}
	return c, nil
}

// customID derives a custom ID from a cache key: unique per request,
// accepted by every provider (≤ 64 of [A-Za-z0-9_-]).
func customID(key string) string {
	_, h, _ := strings.Cut(key, ":")
	if len(h) > 48 {
		h = h[:48]
	}
	return "rb-" + h
}

// enqueue adds w to the queue and starts the collector. Called with b.mu.
func (b *Batcher) enqueue(w *batchWait) {
	w.inQueue, w.queued = true, time.Now()
	b.queue = append(b.queue, w)
	if !b.running {
		b.running = true
		go b.collect()
	}
	select {
	case b.kick <- struct{}{}:
	default:
	}
}

// dequeue removes w from the queue. Called with b.mu.
func (b *Batcher) dequeue(w *batchWait) {
	for i, q := range b.queue {
		if q == w {
			b.queue = append(b.queue[:i], b.queue[i+1:]...)
			break
		}
	}
	w.inQueue = false
}

// collect submits batches while requests are queued, then exits.
func (b *Batcher) collect() {
	for {
		b.mu.Lock()
		if len(b.queue) == 0 {
			b.running = false
			b.mu.Unlock()
			return
		}
		wait := b.cfg.MaxWait - time.Since(b.queue[0].queued)
		if len(b.queue) < b.cfg.MaxSize && wait > 0 {
			b.mu.Unlock()
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-b.kick:
				t.Stop()
			}
			continue
		}
		n := min(len(b.queue), b.cfg.MaxSize)
		take := append([]*batchWait(nil), b.queue[:n]...)
		b.queue = append(b.queue[:0], b.queue[n:]...)
		for _, w := range take {
			w.inQueue = false
			w.attempts++
		}
		b.mu.Unlock()
		b.submit(take)
	}
}

// newToken names a batch before it is submitted.
func newToken() string {
	var r [8]byte
	_, _ = rand.Read(r[:])
	return fmt.Sprintf("rbt-%d-%s", time.Now().UnixNano(), hex.EncodeToString(r[:]))
}

// submit journals, submits and starts watching one batch.
func (b *Batcher) submit(ws []*batchWait) {
	ctx := context.Background()
	token := newToken()
	rec := BatchRecord{Token: token, Scope: b.scope, Created: time.Now().UTC()}
	items := make([]BatchItem, len(ws))
	byID := make(map[string]*batchWait, len(ws))
	for i, w := range ws {
		rec.Lines = append(rec.Lines, BatchLineRecord{CustomID: w.customID, Key: w.key, Request: w.req})
		items[i] = BatchItem{CustomID: w.customID, Request: w.req}
		byID[w.customID] = w
	}
	if err := b.cfg.Journal.BeginBatch(ctx, rec); err != nil {
		b.failAll(ws, fmt.Errorf("providers: batch: journal before submit (nothing was sent): %w", err))
		return
	}
	id, err := b.submitWithRetry(ctx, rec, items)
	if err != nil {
		_ = b.cfg.Journal.FinishBatch(ctx, token, "submit_failed", nil)
		b.settleFailed(ws, err)
		return
	}
	if err := b.cfg.Journal.SetBatchID(ctx, token, id); err != nil {
		// The batch runs; a crash now could lose track of it, so say so.
		err = fmt.Errorf("providers: batch %s submitted but its ID could not be journaled: %w", id, err)
		b.failAll(ws, err)
		return
	}
	b.mu.Lock()
	b.stats.Submitted++
	b.stats.InProgress++
	b.stats.Lines += len(ws)
	st := b.stats
	b.mu.Unlock()
	b.event(BatchEvent{Kind: "submitted", ID: id, Lines: len(ws), Stats: st})
	go b.watch(token, id, byID)
}

// submitWithRetry submits, retrying retryable failures; before each retry
// it asks a BatchFinder whether the failed attempt created the batch after
// all.
func (b *Batcher) submitWithRetry(ctx context.Context, rec BatchRecord, items []BatchItem) (string, error) {
	token := rec.Token
	wait := b.cfg.PollInitial
	var err error
	for attempt := 1; attempt <= DefaultRetryMaxAttempts; attempt++ {
		var id string
		id, err = call(b, ctx, func(ctx context.Context) (string, error) { return b.api.SubmitBatch(ctx, token, items) })
		if err == nil {
			return id, nil
		}
		if !again(err) {
			return "", err
		}
		if f, ok := b.api.(BatchFinder); ok {
			type found struct {
				id string
				ok bool
			}
			r, ferr := call(b, ctx, func(ctx context.Context) (found, error) {
				id, ok, err := f.FindBatch(ctx, rec)
				return found{id, ok}, err
			})
			if ferr == nil && r.ok {
				return r.id, nil
			}
		}
		time.Sleep(max(wait, RetryAfterOf(err)))
		wait = min(b.cfg.PollMax, wait*2)
	}
	return "", fmt.Errorf("providers: batch submit: giving up after %d attempts: %w", DefaultRetryMaxAttempts, err)
}

// call runs one batch-API call under CallTimeout.
func call[T any](b *Batcher, ctx context.Context, f func(ctx context.Context) (T, error)) (T, error) {
	cctx, cancel := context.WithTimeout(ctx, b.cfg.CallTimeout)
	defer cancel()
	return f(cctx)
}

// again reports whether a failed batch-API call may succeed if repeated.
func again(err error) bool {
	return IsRetryable(err) || errors.Is(err, context.DeadlineExceeded)
}

// reattach re-attaches the journal's open batches of the scope.
func (b *Batcher) reattach(ctx context.Context) error {
	recs, err := b.cfg.Journal.OpenBatches(ctx, b.scope)
	if err != nil {
		return fmt.Errorf("providers: batch: reading open batches: %w", err)
	}
	for _, rec := range recs {
		id := rec.ID
		if id == "" {
			found := false
			if f, ok := b.api.(BatchFinder); ok {
				fctx, cancel := context.WithTimeout(ctx, b.cfg.CallTimeout)
				id, found, err = f.FindBatch(fctx, rec)
				cancel()
				if err != nil {
					return fmt.Errorf("providers: batch: looking for batch %s, journaled but not confirmed before the last run stopped: %w", rec.Token, err)
				}
			}
			if !found {
				// Never accepted by the provider (or invisible to it):
				// its requests are sent afresh.
				_ = b.cfg.Journal.FinishBatch(ctx, rec.Token, "never_submitted", nil)
				continue
			}
			if err := b.cfg.Journal.SetBatchID(ctx, rec.Token, id); err != nil {
				return err
			}
		}
		byID := map[string]*batchWait{}
		b.mu.Lock()
		for _, l := range rec.Lines {
			w := b.byKey[l.Key]
			if w == nil {
				w = &batchWait{key: l.Key, customID: l.CustomID, req: l.Request, hasReq: true, attempts: 1, done: make(chan struct{})}
				b.byKey[l.Key] = w
			}
			byID[l.CustomID] = w
		}
		b.stats.Reattached++
		b.stats.InProgress++
		st := b.stats
		b.mu.Unlock()
		b.event(BatchEvent{Kind: "reattached", ID: id, Lines: len(rec.Lines), Stats: st})
		go b.watch(rec.Token, id, byID)
	}
	return nil
}

// watch polls a batch until it ends and hands out its lines.
func (b *Batcher) watch(token, id string, byID map[string]*batchWait) {
	ctx := context.Background()
	interval := b.cfg.PollInitial
	fails := 0
	var status BatchStatus
	for {
		time.Sleep(interval)
		interval = min(b.cfg.PollMax, time.Duration(math.Ceil(float64(interval)*1.5)))
		s, err := call(b, ctx, func(ctx context.Context) (BatchStatus, error) { return b.api.PollBatch(ctx, id) })
		if err != nil {
			fails++
			if again(err) && fails < 100 {
				continue
			}
			// The batch may still run: leave it open in the journal so a
			// rerun re-attaches it instead of paying for its lines again.
			b.abandon(id, byID, fmt.Errorf("providers: batch %s: polling failed %d times (left open; a rerun re-attaches it): %w", id, fails, err))
			return
		}
		fails = 0
		if s.State == BatchRunning {
			continue
		}
		status = s
		break
	}
	if status.State == BatchFailed {
		err := fmt.Errorf("%w: batch %s: %s", ErrBatchFailed, id, status.Message)
		b.finish(token, id, byID, nil, err, status.Retryable)
		return
	}
	items := make([]BatchItem, 0, len(byID))
	for cid, w := range byID {
		items = append(items, BatchItem{CustomID: cid, Request: w.req})
	}
	var lines []BatchLine
	var err error
	for attempt := 1; ; attempt++ {
		lines, err = call(b, ctx, func(ctx context.Context) ([]BatchLine, error) { return b.api.BatchResults(ctx, id, items) })
		if err == nil || !again(err) || attempt >= DefaultRetryMaxAttempts {
			break
		}
		time.Sleep(b.cfg.PollInitial)
	}
	if err != nil {
		if again(err) {
			// Transient: leave the batch open so a rerun fetches it.
			b.abandon(id, byID, fmt.Errorf("providers: batch %s: results (left open; a rerun re-attaches it): %w", id, err))
			return
		}
		b.finish(token, id, byID, nil, fmt.Errorf("providers: batch %s: results: %w", id, err), false)
		return
	}
	b.finish(token, id, byID, lines, nil, false)
}

// finish hands out an ended batch's lines (or, with batchErr, fails every
// line, retrying them when retry is set), journals the outcome and
// requeues retryable lines.
func (b *Batcher) finish(token, id string, byID map[string]*batchWait, lines []BatchLine, batchErr error, retry bool) {
	ctx := context.Background()
	got := map[string]BatchLine{}
	for _, l := range lines {
		if _, ok := byID[l.CustomID]; ok {
			got[l.CustomID] = l
		}
	}
	var outcomes []BatchOutcome
	type delivery struct {
		w   *batchWait
		c   Completion
		err error
	}
	var deliver []delivery
	var requeue []*batchWait
	for cid, w := range byID {
		l, ok := got[cid]
		switch {
		case batchErr != nil:
			l.Err = batchErr
			if retry {
				l.Err = fmt.Errorf("%w (%w)", ErrBatchExpired, batchErr)
			}
		case !ok:
			l.Err = fmt.Errorf("%w: batch %s returned no line for %s", ErrBatchExpired, id, cid)
		}
		if l.Err == nil {
			c := b.price(l.Completion)
			if b.cfg.Cache != nil {
				if err := b.cfg.Cache.Put(ctx, w.key, w.req, c); err != nil {
					l.Err = fmt.Errorf("providers: batch %s: cache put: %w", id, err)
					deliver = append(deliver, delivery{w, c, l.Err})
					outcomes = append(outcomes, BatchOutcome{CustomID: cid, State: "succeeded", CostUSD: c.CostUSD})
					continue
				}
			}
			deliver = append(deliver, delivery{w, c, nil})
			outcomes = append(outcomes, BatchOutcome{CustomID: cid, State: "succeeded", CostUSD: c.CostUSD})
			continue
		}
		again := errors.Is(l.Err, ErrBatchExpired) || IsRetryable(l.Err)
		if again && w.attempts < b.cfg.LineAttempts {
			requeue = append(requeue, w)
			outcomes = append(outcomes, BatchOutcome{CustomID: cid, State: "retried"})
			continue
		}
		if again {
			l.Err = fmt.Errorf("providers: batch: request %s failed in %d batches: %w", cid, w.attempts, l.Err)
		}
		deliver = append(deliver, delivery{w, Completion{}, l.Err})
		outcomes = append(outcomes, BatchOutcome{CustomID: cid, State: "errored"})
	}
	state := "done"
	if batchErr != nil {
		state = "failed"
	}
	_ = b.cfg.Journal.FinishBatch(ctx, token, state, outcomes)

	// The waiting calls are released after the event, so a caller that
	// returns has seen its batch reported.
	var release []chan struct{}
	b.mu.Lock()
	for _, d := range deliver {
		w := d.w
		w.c, w.err = d.c, d.err
		if b.byKey[w.key] == w {
			delete(b.byKey, w.key)
		}
		if w.waiters == 0 && d.err == nil {
			b.ready[w.key] = d.c
		}
		release = append(release, w.done)
		if d.err == nil {
			b.stats.Succeeded++
		} else {
			b.stats.Errored++
		}
	}
	for _, w := range requeue {
		b.stats.Retried++
		if w.waiters == 0 {
			// A re-attached line nobody asked for yet, or whose callers
			// gave up: a later call enqueues it afresh.
			if b.byKey[w.key] == w {
				delete(b.byKey, w.key)
			}
			w.err = fmt.Errorf("%w: line %s will be sent again when asked", ErrBatchExpired, w.customID)
			release = append(release, w.done)
			continue
		}
		b.enqueue(w)
	}
	b.stats.Done++
	b.stats.InProgress--
	st := b.stats
	b.mu.Unlock()
	kind := "ended"
	if batchErr != nil {
		kind = "failed"
	}
	b.event(BatchEvent{Kind: kind, ID: id, Lines: len(byID), Stats: st})
	for _, ch := range release {
		close(ch)
	}
}

// abandon fails the waiting calls of a batch this process can no longer
// follow, leaving it open in the journal.
func (b *Batcher) abandon(id string, byID map[string]*batchWait, err error) {
	b.mu.Lock()
	var release []chan struct{}
	for _, w := range byID {
		if b.byKey[w.key] == w {
			delete(b.byKey, w.key)
		}
		w.err = err
		release = append(release, w.done)
		b.stats.Errored++
	}
	b.stats.InProgress--
	st := b.stats
	b.mu.Unlock()
	b.event(BatchEvent{Kind: "failed", ID: id, Lines: len(byID), Stats: st})
	for _, ch := range release {
		close(ch)
	}
}

// price marks c as a batch answer and, if the adapter did not, prices it at
// the batch price.
func (b *Batcher) price(c Completion) Completion {
	c.Batch = true
	if c.CostKnown {
		return c
	}
	provider := c.Provider
	if provider == "" {
		provider = b.ep.Provider
	}
	if b.cfg.Discount > 0 {
		if p, ok := b.cfg.Prices.Lookup(provider, c.Model); ok {
			c.CostUSD, c.CostKnown = p.Scale(b.cfg.Discount).Cost(c.Usage), true
		}
		return c
	}
	if p, ok := b.cfg.Prices.BatchPrice(provider, c.Model); ok {
		c.CostUSD, c.CostKnown = p.Cost(c.Usage), true
	}
	return c
}

// failAll fails every wait with err (no retry).
func (b *Batcher) failAll(ws []*batchWait, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, w := range ws {
		if b.byKey[w.key] == w {
			delete(b.byKey, w.key)
		}
		w.err = err
		close(w.done)
		b.stats.Errored++
	}
}

// settleFailed handles a failed submit: the requests are failed with err.
func (b *Batcher) settleFailed(ws []*batchWait, err error) {
	b.failAll(ws, fmt.Errorf("providers: batch submit of %d requests: %w", len(ws), err))
}

func (b *Batcher) event(e BatchEvent) {
	if b.cfg.OnEvent != nil {
		e.Scope = b.scope
		b.cfg.OnEvent(e)
	}
}

// Cancel asks the provider to cancel every batch this Batcher is watching
// or that its journal holds open; their waiting calls then get their lines
// as the provider reports them (canceled lines are retried in a later batch
// if attempts remain). Use it to abandon a run's batches; a crashed or
// interrupted run leaves them running, to be re-attached.
func (b *Batcher) Cancel(ctx context.Context) error {
	recs, err := b.cfg.Journal.OpenBatches(ctx, b.scope)
	if err != nil {
		return err
	}
	var errs []error
	for _, r := range recs {
		if r.ID != "" {
			if err := b.api.CancelBatch(ctx, r.ID); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// MemoryJournal is an in-memory BatchJournal (no crash safety), for tests
// and short runs. The zero value is not usable; call NewMemoryJournal.
type MemoryJournal struct {
	mu   sync.Mutex
	recs map[string]*BatchRecord
	ord  []string
	// Outcomes holds every finished line, by token.
	outcomes map[string][]BatchOutcome
}

var _ BatchJournal = (*MemoryJournal)(nil)

// NewMemoryJournal returns an empty MemoryJournal.
func NewMemoryJournal() *MemoryJournal {
	return &MemoryJournal{recs: map[string]*BatchRecord{}, outcomes: map[string][]BatchOutcome{}}
}

// BeginBatch records rec as open.
func (m *MemoryJournal) BeginBatch(ctx context.Context, rec BatchRecord) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := rec
	r.Lines = append([]BatchLineRecord(nil), rec.Lines...)
	m.recs[rec.Token] = &r
	m.ord = append(m.ord, rec.Token)
	return nil
}

// SetBatchID records the provider's ID of token.
func (m *MemoryJournal) SetBatchID(ctx context.Context, token, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.recs[token]
	if !ok {
		return fmt.Errorf("providers: journal: no batch %s", token)
	}
	r.ID = id
	return nil
}

// FinishBatch closes token.
func (m *MemoryJournal) FinishBatch(ctx context.Context, token, state string, lines []BatchOutcome) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.recs, token)
	m.outcomes[token] = append(m.outcomes[token], lines...)
	return nil
}

// OpenBatches returns scope's open batches, oldest first.
func (m *MemoryJournal) OpenBatches(ctx context.Context, scope string) ([]BatchRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []BatchRecord
	for _, t := range m.ord {
		if r, ok := m.recs[t]; ok && r.Scope == scope {
			out = append(out, *r)
		}
	}
	return out, nil
}
