package providers

import (
	"cmp"
	"context"
	"slices"
	"sync"
)

// LedgerEntry is the running total of calls to one provider and model.
type LedgerEntry struct {
	Provider string `json:"provider"`
	Model    string `json:"model"`
	// Calls counts successful calls, cache hits included.
	Calls int `json:"calls"`
	// CachedCalls counts the calls answered from a cache.
	CachedCalls int `json:"cached_calls"`
	// Errors counts calls that returned an error.
	Errors int `json:"errors"`
	// Usage sums the tokens of calls that were not cache hits (the tokens
	// paid for); CachedUsage sums those served from cache.
	Usage       Usage `json:"usage"`
	CachedUsage Usage `json:"cached_usage"`
	// CostUSD sums the known costs; UnpricedCalls counts successful, not
	// cached calls whose cost was unknown (so CostUSD understates spending
	// when it is non-zero).
	CostUSD       float64 `json:"cost_usd"`
	UnpricedCalls int     `json:"unpriced_calls"`
	// BatchCalls counts the paid calls answered through a batch API and
	// BatchCostUSD their known cost (both included in Calls and CostUSD):
	// live calls are Calls - CachedCalls - BatchCalls.
	BatchCalls   int     `json:"batch_calls,omitempty"`
	BatchCostUSD float64 `json:"batch_cost_usd,omitempty"`
}

func (e *LedgerEntry) add(o LedgerEntry) {
	e.Calls += o.Calls
	e.CachedCalls += o.CachedCalls
	e.Errors += o.Errors
	e.Usage = e.Usage.Add(o.Usage)
	e.CachedUsage = e.CachedUsage.Add(o.CachedUsage)
	e.CostUSD += o.CostUSD
	e.UnpricedCalls += o.UnpricedCalls
	e.BatchCalls += o.BatchCalls
	e.BatchCostUSD += o.BatchCostUSD
}

// Ledger keeps running totals of calls, tokens and dollars per provider and
// model. Record calls through Middleware (outermost, so cache hits are
// counted as such) or Record; read them with Snapshot or Total. The zero
// value is an empty ledger ready to use, and a Ledger is safe for concurrent
// use.
type Ledger struct {
	mu      sync.Mutex
	entries map[ledgerKey]*LedgerEntry
}

type ledgerKey struct{ provider, model string }

// NewLedger returns an empty Ledger.
func NewLedger() *Ledger { return &Ledger{} }

// Record adds the outcome of one call: c when err is nil, else one error.
// The model is req.Model (or c.Model when the request named none); the
// provider is c.Provider, or ep.Provider when the completion does not say.
func (l *Ledger) Record(ep Endpoint, req Request, c Completion, err error) {
	provider, model := c.Provider, req.Model
	if provider == "" {
		provider = ep.Provider
	}
	if model == "" {
		model = c.Model
	}
	var d LedgerEntry
	switch {
	case err != nil:
		d.Errors = 1
	case c.Cached:
		d.Calls, d.CachedCalls, d.CachedUsage = 1, 1, c.Usage
	default:
		d.Calls, d.Usage = 1, c.Usage
		if c.CostKnown {
			d.CostUSD = c.CostUSD
		} else {
			d.UnpricedCalls = 1
		}
		if c.Batch {
			d.BatchCalls, d.BatchCostUSD = 1, d.CostUSD
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.entries == nil {
		l.entries = map[ledgerKey]*LedgerEntry{}
	}
	k := ledgerKey{provider, model}
	e := l.entries[k]
	if e == nil {
		e = &LedgerEntry{Provider: provider, Model: model}
		l.entries[k] = e
	}
	e.add(d)
}

// Snapshot returns a copy of every entry, sorted by provider then model.
func (l *Ledger) Snapshot() []LedgerEntry {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]LedgerEntry, 0, len(l.entries))
	for _, e := range l.entries {
		out = append(out, *e)
	}
	slices.SortFunc(out, func(a, b LedgerEntry) int {
		return cmp.Or(cmp.Compare(a.Provider, b.Provider), cmp.Compare(a.Model, b.Model))
	})
	return out
}

// Total returns the sum of all entries, with empty Provider and Model.
func (l *Ledger) Total() LedgerEntry {
	l.mu.Lock()
	defer l.mu.Unlock()
	var t LedgerEntry
	for _, e := range l.entries {
		t.add(*e)
	}
	return t
}

// Middleware returns middleware that records every call in l.
func (l *Ledger) Middleware() Middleware {
	return func(next Completer) Completer { return &ledgered{next: next, l: l, ep: EndpointOf(next)} }
}

type ledgered struct {
	next Completer
	l    *Ledger
	ep   Endpoint
}

var (
	_ Completer = (*ledgered)(nil)
	_ Describer = (*ledgered)(nil)
)

// Endpoint forwards the wrapped Completer's endpoint.
func (g *ledgered) Endpoint() Endpoint { return g.ep }

// Complete calls the wrapped Completer and records the outcome.
func (g *ledgered) Complete(ctx context.Context, req Request) (Completion, error) {
	c, err := g.next.Complete(ctx, req)
	g.l.Record(g.ep, req, c, err)
	return c, err
}

// Pricing returns middleware that fills Completion.CostUSD and CostKnown
// from t when the adapter did not: a cache hit costs 0; otherwise the price
// of the completion's provider (or the wrapped endpoint's) and model (the
// answering model, else the requested one) is applied to its Usage. A
// completion whose model t cannot price keeps CostKnown false.
func Pricing(t *PriceTable) Middleware {
	return func(next Completer) Completer { return &priced{next: next, t: t, ep: EndpointOf(next)} }
}

type priced struct {
	next Completer
	t    *PriceTable
	ep   Endpoint
}

var (
	_ Completer = (*priced)(nil)
	_ Describer = (*priced)(nil)
)

// Endpoint forwards the wrapped Completer's endpoint.
func (p *priced) Endpoint() Endpoint { return p.ep }

// Complete calls the wrapped Completer and prices the completion.
func (p *priced) Complete(ctx context.Context, req Request) (Completion, error) {
	c, err := p.next.Complete(ctx, req)
	if err != nil || c.CostKnown {
		return c, err
	}
	if c.Cached {
		c.CostUSD, c.CostKnown = 0, true
		return c, nil
	}
	provider := cmp.Or(c.Provider, p.ep.Provider)
	for _, model := range []string{c.Model, req.Model} {
		if model == "" {
			continue
		}
		if price, ok := p.t.Lookup(provider, model); ok {
			c.CostUSD, c.CostKnown = price.Cost(c.Usage), true
			break
		}
	}
	return c, nil
}
