package providers_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/providers"
)

// fakeBatchAPI is an in-memory batch provider "acme": a batch ends after
// polls polls; each line answers "ok:<last message>" with 10 output
// tokens, unless expire or fail say otherwise.
type fakeBatchAPI struct {
	polls   int
	journal providers.BatchJournal // if set, SubmitBatch checks the batch is journaled first
	expire  func(attempt int, req providers.Request) bool
	fail    func(req providers.Request) error

	mu        sync.Mutex
	batches   map[string][]providers.BatchItem
	polled    map[string]int
	submitted map[string]int // by last message content
	sizes     []int
	cancelled []string
	unjournal int
}

func newFakeBatchAPI(polls int) *fakeBatchAPI {
	return &fakeBatchAPI{polls: polls, batches: map[string][]providers.BatchItem{}, polled: map[string]int{}, submitted: map[string]int{}}
}

func content(r providers.Request) string { return r.Messages[len(r.Messages)-1].Content }

func (f *fakeBatchAPI) SubmitBatch(ctx context.Context, token string, items []providers.BatchItem) (string, error) {
	if f.journal != nil {
		open, _ := f.journal.OpenBatches(ctx, "acme ")
		found := false
		for _, r := range open {
			found = found || r.Token == token
		}
		if !found {
			f.mu.Lock()
			f.unjournal++
			f.mu.Unlock()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	id := fmt.Sprintf("b%d", len(f.batches)+1)
	f.batches[id] = items
	f.sizes = append(f.sizes, len(items))
	for _, it := range items {
		f.submitted[content(it.Request)]++
	}
	return id, nil
}

func (f *fakeBatchAPI) PollBatch(ctx context.Context, id string) (providers.BatchStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.polled[id]++
	if f.polled[id] >= f.polls {
		return providers.BatchStatus{State: providers.BatchEnded}, nil
	}
	return providers.BatchStatus{State: providers.BatchRunning}, nil
}

func (f *fakeBatchAPI) BatchResults(ctx context.Context, id string, items []providers.BatchItem) ([]providers.BatchLine, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []providers.BatchLine
	for _, it := range f.batches[id] {
		l := providers.BatchLine{CustomID: it.CustomID}
		switch {
		case f.expire != nil && f.expire(f.submitted[content(it.Request)], it.Request):
			l.Err = fmt.Errorf("expired: %w", providers.ErrBatchExpired)
		case f.fail != nil && f.fail(it.Request) != nil:
			l.Err = f.fail(it.Request)
		default:
			l.Completion = providers.Completion{Text: "ok:" + content(it.Request), Provider: "acme", Model: it.Request.Model,
				Usage: providers.Usage{InputTokens: len(content(it.Request)), OutputTokens: 10}}
		}
		out = append(out, l)
	}
	return out, nil
}

func (f *fakeBatchAPI) CancelBatch(ctx context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cancelled = append(f.cancelled, id)
	return nil
}

var acme = providers.Endpoint{Provider: "acme"}

func fastBatch(cfg providers.BatchConfig) providers.BatchConfig {
	cfg.PollInitial, cfg.PollMax = time.Millisecond, 2*time.Millisecond
	if cfg.MaxWait == 0 {
		cfg.MaxWait = 20 * time.Millisecond
	}
	prices := providers.NewPriceTable()
	prices.Set("acme", "m", providers.Price{InputPerM: 1, OutputPerM: 10})
	cfg.Prices = prices
	cfg.Discount = 0.5
	return cfg
}

func batchReqs(n int) []providers.Request {
	out := make([]providers.Request, n)
	for i := range out {
		out[i] = providers.Request{Model: "m", MaxTokens: 10, Messages: []providers.Message{{Role: "user", Content: fmt.Sprintf("q%d", i)}}}
	}
	return out
}

// completeAll calls c with every request at once.
func completeAll(ctx context.Context, c providers.Completer, reqs []providers.Request) ([]providers.Completion, []error) {
	outs, errs := make([]providers.Completion, len(reqs)), make([]error, len(reqs))
	var wg sync.WaitGroup
	for i, r := range reqs {
		wg.Go(func() { outs[i], errs[i] = c.Complete(ctx, r) })
	}
	wg.Wait()
	return outs, errs
}

func TestBatcherSendsConcurrentCallsAsBatchesOfAtMostMaxSizeAndAnswersEach(t *testing.T) {
	api := newFakeBatchAPI(3)
	j := providers.NewMemoryJournal()
	api.journal = j
	// MaxWait is long enough for all 100 callers to arrive on a loaded machine.
	b := providers.NewBatcher(api, acme, fastBatch(providers.BatchConfig{MaxSize: 40, Journal: j, MaxWait: time.Second}))
	c := b.Middleware()(nil)
	outs, errs := completeAll(context.Background(), c, batchReqs(100))
	for i := range outs {
		require.NoError(t, errs[i])
		assert.Equal(t, fmt.Sprintf("ok:q%d", i), outs[i].Text, "each caller gets its own line")
		assert.True(t, outs[i].Batch)
		assert.True(t, outs[i].CostKnown)
		in := len(fmt.Sprintf("q%d", i))
		assert.InDelta(t, 0.5*float64(in*1+10*10)/1e6, outs[i].CostUSD, 1e-12, "priced at half the live price")
	}
	assert.Equal(t, []int{40, 40, 20}, api.sizes, "batches of MaxSize, then the rest after MaxWait")
	assert.Zero(t, api.unjournal, "every batch was journaled before it was submitted")
	open, _ := j.OpenBatches(context.Background(), "acme ")
	assert.Empty(t, open, "every batch was finished in the journal")
	st := b.Stats()
	assert.Equal(t, 3, st.Submitted)
	assert.Equal(t, 3, st.Done)
	assert.Equal(t, 100, st.Succeeded)
	assert.Zero(t, st.InProgress)
}

func TestBatcherRetriesExpiredLinesInALaterBatchThenGivesUp(t *testing.T) {
	api := newFakeBatchAPI(1)
	// q0 expires in its first batch only; q1 always expires.
	api.expire = func(attempt int, r providers.Request) bool {
		return content(r) == "q1" || (content(r) == "q0" && attempt == 1)
	}
	b := providers.NewBatcher(api, acme, fastBatch(providers.BatchConfig{LineAttempts: 3}))
	outs, errs := completeAll(context.Background(), b.Middleware()(nil), batchReqs(3))
	require.NoError(t, errs[0])
	assert.Equal(t, "ok:q0", outs[0].Text, "an expired line succeeds in a later batch")
	require.Error(t, errs[1])
	assert.ErrorIs(t, errs[1], providers.ErrBatchExpired, "a line that keeps expiring is reported")
	assert.Contains(t, errs[1].Error(), "3 batches")
	require.NoError(t, errs[2])
	assert.Equal(t, 1, api.submitted["q2"])
	assert.Equal(t, 2, api.submitted["q0"])
	assert.Equal(t, 3, api.submitted["q1"], "bounded by LineAttempts")
	assert.Equal(t, 3, b.Stats().Retried)
}

func TestBatcherReturnsAPermanentLineErrorWithoutRetrying(t *testing.T) {
	api := newFakeBatchAPI(1)
	bad := &providers.APIError{Provider: "acme", StatusCode: 400, Type: "invalid_request_error", Message: "bad"}
	api.fail = func(r providers.Request) error {
		if content(r) == "q0" {
			return bad
		}
		return nil
	}
	b := providers.NewBatcher(api, acme, fastBatch(providers.BatchConfig{}))
	_, errs := completeAll(context.Background(), b.Middleware()(nil), batchReqs(2))
	var apiErr *providers.APIError
	require.ErrorAs(t, errs[0], &apiErr)
	assert.Equal(t, 400, apiErr.StatusCode)
	assert.NoError(t, errs[1])
	assert.Equal(t, 1, api.submitted["q0"])
}

func TestBatcherCallCancelledBeforeItsBatchIsSubmittedIsNeverSent(t *testing.T) {
	api := newFakeBatchAPI(1)
	b := providers.NewBatcher(api, acme, fastBatch(providers.BatchConfig{MaxWait: 300 * time.Millisecond}))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := b.Complete(ctx, batchReqs(1)[0])
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	time.Sleep(400 * time.Millisecond)
	assert.Empty(t, api.sizes, "nothing was submitted")
}

func TestIdenticalWaitingRequestsShareOneLineAndArePaidOnce(t *testing.T) {
	api := newFakeBatchAPI(1)
	b := providers.NewBatcher(api, acme, fastBatch(providers.BatchConfig{MaxWait: 200 * time.Millisecond}))
	req := batchReqs(1)[0]
	outs, errs := completeAll(context.Background(), b.Middleware()(nil), []providers.Request{req, req, req})
	paid := 0
	for i := range outs {
		require.NoError(t, errs[i])
		assert.Equal(t, "ok:q0", outs[i].Text)
		if !outs[i].Cached {
			paid++
		}
	}
	assert.Equal(t, 1, paid, "one caller pays, the others get a cache hit")
	assert.Equal(t, []int{1}, api.sizes)
}

func TestANewBatcherReattachesOpenBatchesBeforeSubmittingAnything(t *testing.T) {
	api := newFakeBatchAPI(2)
	j := providers.NewMemoryJournal()
	reqs := batchReqs(3)
	// A previous process journaled and submitted q0 and q1, then died.
	ctx := context.Background()
	items := []providers.BatchItem{{CustomID: "c0", Request: reqs[0]}, {CustomID: "c1", Request: reqs[1]}}
	id, err := api.SubmitBatch(ctx, "t0", items)
	require.NoError(t, err)
	require.NoError(t, j.BeginBatch(ctx, providers.BatchRecord{Token: "t0", Scope: "acme ", Lines: []providers.BatchLineRecord{
		{CustomID: "c0", Key: providers.CacheKey(acme, reqs[0]), Request: reqs[0]},
		{CustomID: "c1", Key: providers.CacheKey(acme, reqs[1]), Request: reqs[1]}}}))
	require.NoError(t, j.SetBatchID(ctx, "t0", id))

	var events []string
	var mu sync.Mutex
	cfg := fastBatch(providers.BatchConfig{Journal: j, OnEvent: func(e providers.BatchEvent) {
		mu.Lock()
		events = append(events, e.Kind)
		mu.Unlock()
	}})
	b := providers.NewBatcher(api, acme, cfg)
	outs, errs := completeAll(ctx, b.Middleware()(nil), reqs)
	for i := range outs {
		require.NoError(t, errs[i])
		assert.Equal(t, fmt.Sprintf("ok:q%d", i), outs[i].Text)
		assert.False(t, outs[i].Cached, "the re-attached answers are this run's paid calls")
	}
	assert.Equal(t, map[string]int{"q0": 1, "q1": 1, "q2": 1}, api.submitted, "no request was submitted twice")
	assert.Equal(t, []int{2, 1}, api.sizes, "only the new request went into a new batch")
	mu.Lock()
	assert.Equal(t, "reattached", events[0], "re-attached before anything new was submitted")
	mu.Unlock()
}

func TestBudgetOutsideTheBatcherNeverExceedsItsCapWithBatchesInFlight(t *testing.T) {
	api := newFakeBatchAPI(2)
	var calls atomic.Int64
	cfg := fastBatch(providers.BatchConfig{})
	// Worst case per call: (input bytes+overhead) × $1/M + 10 × $10/M, at
	// the live price; the budget fits about 20 of them.
	budget := providers.NewBudget(providers.BudgetConfig{LimitUSD: 20 * (40*1 + 100) / 1e6, Prices: cfg.Prices})
	c := providers.Chain(providers.CompleterFunc(func(ctx context.Context, r providers.Request) (providers.Completion, error) {
		calls.Add(1)
		return providers.Completion{}, errors.New("unused")
	}), budget.Middleware(), providers.NewBatcher(api, acme, cfg).Middleware())
	_, errs := completeAll(context.Background(), c, batchReqs(60))
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		}
	}
	st := budget.State()
	assert.LessOrEqual(t, st.SpentUSD, st.LimitUSD, "never over the cap")
	assert.Greater(t, ok, 20, "at batch prices more calls fit than the live worst case")
	assert.Zero(t, calls.Load(), "the live path is never called")
	assert.Zero(t, st.ReservedUSD)
}

func TestBatchAPIOfNamesTheProviderWithoutOne(t *testing.T) {
	_, err := providers.BatchAPIOf(providers.CompleterFunc(func(context.Context, providers.Request) (providers.Completion, error) {
		return providers.Completion{}, nil
	}))
	assert.ErrorIs(t, err, providers.ErrNoBatchAPI)
	assert.Contains(t, err.Error(), "without -batch")
}

func TestBatchPriceIsTheDiscountedLivePrice(t *testing.T) {
	p := providers.DefaultPrices()
	live, ok := p.Lookup("openai", "gpt-4o-mini")
	require.True(t, ok)
	b, ok := p.BatchPrice("openai", "gpt-4o-mini")
	require.True(t, ok)
	assert.InDelta(t, live.InputPerM/2, b.InputPerM, 1e-12)
	assert.InDelta(t, live.OutputPerM/2, b.OutputPerM, 1e-12)
	_, ok = p.BatchPrice("deepseek", "deepseek-chat")
	assert.False(t, ok, "no batch price without a known discount")
	free, ok := p.BatchPrice("sim", "strong")
	assert.True(t, ok)
	assert.True(t, free.IsZero())
}

func TestLedgerCountsBatchCallsApartFromLiveOnes(t *testing.T) {
	l := providers.NewLedger()
	req := providers.Request{Model: "m"}
	l.Record(acme, req, providers.Completion{CostUSD: 0.2, CostKnown: true}, nil)
	l.Record(acme, req, providers.Completion{CostUSD: 0.1, CostKnown: true, Batch: true}, nil)
	l.Record(acme, req, providers.Completion{Cached: true, Batch: true}, nil)
	e := l.Total()
	assert.Equal(t, 3, e.Calls)
	assert.Equal(t, 1, e.BatchCalls, "a cache hit of a batch answer is a cache hit, not a batch call")
	assert.InDelta(t, 0.1, e.BatchCostUSD, 1e-12)
	assert.InDelta(t, 0.3, e.CostUSD, 1e-12)
}

// BenchmarkBatcher10000WaitingCalls sends 10,000 concurrent calls through a
// Batcher (batches of 2,000 on the in-memory fake): the cost per call of
// queueing, journaling, submitting and handing out lines.
func BenchmarkBatcher10000WaitingCalls(b *testing.B) {
	reqs := batchReqs(10000)
	for b.Loop() {
		api := newFakeBatchAPI(1)
		bt := providers.NewBatcher(api, acme, fastBatch(providers.BatchConfig{MaxWait: 50 * time.Millisecond}))
		_, errs := completeAll(context.Background(), bt.Middleware()(nil), reqs)
		for _, err := range errs {
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(reqs)), "ns/call")
}

// failingPolls is a fake whose polls always fail retryably (an outage).
type failingPolls struct{ *fakeBatchAPI }

func (f failingPolls) PollBatch(ctx context.Context, id string) (providers.BatchStatus, error) {
	return providers.BatchStatus{}, &providers.APIError{Provider: "acme", StatusCode: 503, Retryable: true}
}

func TestABatchThatCannotBePolledIsLeftOpenForARerun(t *testing.T) {
	api := failingPolls{newFakeBatchAPI(1)}
	j := providers.NewMemoryJournal()
	b := providers.NewBatcher(api, acme, fastBatch(providers.BatchConfig{Journal: j}))
	_, err := b.Complete(context.Background(), batchReqs(1)[0])
	require.Error(t, err)
	assert.Contains(t, err.Error(), "left open")
	open, _ := j.OpenBatches(context.Background(), "acme ")
	require.Len(t, open, 1, "the batch stays open in the journal, to be re-attached rather than paid again")
	assert.NotEmpty(t, open[0].ID)
}
