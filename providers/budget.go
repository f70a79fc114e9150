package providers

import (
	"context"
	"fmt"
	"sync"
)

// DefaultBudgetMaxTokens is the output-token bound Budget reserves for a
// request whose MaxTokens is 0 (the provider's default, which may be large).
// Set MaxTokens on requests to reserve less.
const DefaultBudgetMaxTokens = 16384

// BudgetConfig configures NewBudget.
type BudgetConfig struct {
	// LimitUSD is the hard cap on dollars spent through the budget.
	LimitUSD float64
	// Prices prices each call's worst case before it is made; nil means
	// DefaultPrices().
	Prices *PriceTable
	// AllowUnpriced lets through calls to models Prices does not know; they
	// reserve nothing and spend their CostUSD only if the adapter reports
	// it. When false (the default) such calls are refused.
	AllowUnpriced bool
	// DefaultMaxTokens is the output bound reserved for requests with
	// MaxTokens 0; 0 means DefaultBudgetMaxTokens.
	DefaultMaxTokens int
	// Batch prices reservations at the batch price (PriceTable.BatchPrice)
	// where one is known, for a Budget in front of a Batcher: every call
	// then goes by batch. Calls without a batch price reserve the live one.
	Batch bool
}

// BudgetState is a snapshot of a Budget.
type BudgetState struct {
	LimitUSD    float64 `json:"limit_usd"`
	SpentUSD    float64 `json:"spent_usd"`
	ReservedUSD float64 `json:"reserved_usd"`
	// RemainingUSD is LimitUSD - SpentUSD - ReservedUSD.
	RemainingUSD float64 `json:"remaining_usd"`
	// Calls counts calls let through; Refused those refused.
	Calls   int `json:"calls"`
	Refused int `json:"refused"`
	// OverrunUSD sums what calls cost beyond their reservation (possible
	// only if a provider bills more tokens than the worst-case bound).
	OverrunUSD float64 `json:"overrun_usd"`
}

// Budget is a hard dollar cap on calls made through its Middleware. Before
// each call it reserves the call's worst-case cost — every byte of the
// messages and prefill counted as a token (byte-level tokenizers never
// produce more), plus per-message template overhead, plus MaxTokens (or
// DefaultMaxTokens) output tokens, at the model's price — and after the
// call it settles the reservation to the actual cost (CostUSD when
// CostKnown, else the price applied to Usage; failed calls and cache hits
// cost 0). Because reservations are taken under one lock, concurrent calls
// can never push spending over the cap.
//
// A call that does not fit next to the pending reservations of other calls
// waits (honouring ctx) until they settle; a call that cannot fit even once
// they have all settled is refused with an error wrapping
// ErrBudgetExceeded. A model without a price is refused too, unless
// AllowUnpriced. Place Budget inside Cache, so cache hits never reserve, and
// outside Retry, so one reservation covers every attempt.
//
// A Budget is safe for concurrent use and may be shared by several
// Completers; the provider is read from each wrapped Completer's Endpoint.
type Budget struct {
	cfg BudgetConfig

	mu       sync.Mutex
	spent    float64
	reserved float64
	calls    int
	refused  int
	overrun  float64
	changed  chan struct{} // closed and replaced whenever a reservation settles
}

// NewBudget returns a Budget configured by cfg.
func NewBudget(cfg BudgetConfig) *Budget {
	if cfg.Prices == nil {
		cfg.Prices = DefaultPrices()
	}
	if cfg.DefaultMaxTokens <= 0 {
		cfg.DefaultMaxTokens = DefaultBudgetMaxTokens
	}
	return &Budget{cfg: cfg, changed: make(chan struct{})}
}

// State returns a snapshot of the budget.
func (b *Budget) State() BudgetState {
	b.mu.Lock()
	defer b.mu.Unlock()
	return BudgetState{
		LimitUSD: b.cfg.LimitUSD, SpentUSD: b.spent, ReservedUSD: b.reserved,
		RemainingUSD: b.cfg.LimitUSD - b.spent - b.reserved,
		Calls:        b.calls, Refused: b.refused, OverrunUSD: b.overrun,
	}
}

// Spent returns the dollars spent by settled calls.
func (b *Budget) Spent() float64 { return b.State().SpentUSD }

// Reserved returns the dollars reserved by calls in flight.
func (b *Budget) Reserved() float64 { return b.State().ReservedUSD }

// Remaining returns the limit minus what is spent and reserved.
func (b *Budget) Remaining() float64 { return b.State().RemainingUSD }

// WorstCaseInputTokens is the input bound Budget reserves for req: one token
// per byte of every message (content and role) and of the prefill, plus 16
// tokens of chat-template overhead per message and 16 for the request.
func WorstCaseInputTokens(req Request) int {
	n := len(req.Prefill) + 16
	for _, m := range req.Messages {
		n += len(m.Content) + len(m.Role) + 16
	}
	return n
}

// Reservation returns the worst-case cost Budget reserves for req sent to
// provider, and false if the model has no price.
func (b *Budget) Reservation(provider string, req Request) (float64, bool) {
	price, ok := b.cfg.Prices.Lookup(provider, req.Model)
	if !ok {
		return 0, false
	}
	if b.cfg.Batch {
		if bp, ok := b.cfg.Prices.BatchPrice(provider, req.Model); ok {
			price = bp
		}
	}
	out := req.MaxTokens
	if out <= 0 {
		out = b.cfg.DefaultMaxTokens
	}
	return price.Cost(Usage{InputTokens: WorstCaseInputTokens(req), OutputTokens: out}), true
}

// Middleware returns middleware that enforces the budget on every call.
func (b *Budget) Middleware() Middleware {
	return func(next Completer) Completer { return &budgeted{next: next, b: b, ep: EndpointOf(next)} }
}

type budgeted struct {
	next Completer
	b    *Budget
	ep   Endpoint
}

var (
	_ Completer = (*budgeted)(nil)
	_ Describer = (*budgeted)(nil)
)

// Endpoint forwards the wrapped Completer's endpoint.
func (g *budgeted) Endpoint() Endpoint { return g.ep }

// Complete reserves the call's worst case, calls the wrapped Completer and
// settles the reservation.
func (g *budgeted) Complete(ctx context.Context, req Request) (Completion, error) {
	b := g.b
	est, priced := b.Reservation(g.ep.Provider, req)
	if !priced && !b.cfg.AllowUnpriced {
		b.mu.Lock()
		b.refused++
		b.mu.Unlock()
		return Completion{}, fmt.Errorf("providers: budget: no price for %s model %q (add one to the price table or set AllowUnpriced): %w", g.ep.Provider, req.Model, ErrBudgetExceeded)
	}
	if err := b.reserve(ctx, est, g.ep.Provider, req.Model); err != nil {
		return Completion{}, err
	}
	c, err := g.next.Complete(ctx, req)
	actual := 0.0
	if err == nil && !c.Cached {
		switch {
		case c.CostKnown:
			actual = c.CostUSD
		case priced:
			price, _ := b.cfg.Prices.Lookup(g.ep.Provider, req.Model)
			actual = price.Cost(c.Usage)
		}
	}
	b.settle(est, actual)
	return c, err
}

func (b *Budget) reserve(ctx context.Context, est float64, provider, model string) error {
	for {
		b.mu.Lock()
		if b.spent+est > b.cfg.LimitUSD {
			b.refused++
			spent := b.spent
			b.mu.Unlock()
			return fmt.Errorf("providers: budget: %s %s call may cost up to $%.6f but $%.6f of the $%.2f limit is spent: %w",
				provider, model, est, spent, b.cfg.LimitUSD, ErrBudgetExceeded)
		}
		if b.spent+b.reserved+est <= b.cfg.LimitUSD {
			b.reserved += est
			b.calls++
			b.mu.Unlock()
			return nil
		}
		changed := b.changed
		b.mu.Unlock()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-changed:
		}
	}
}

func (b *Budget) settle(est, actual float64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.reserved -= est
	if b.reserved < 1e-12 {
		b.reserved = 0 // float drift
	}
	b.spent += actual
	if actual > est {
		b.overrun += actual - est
	}
	close(b.changed)
	b.changed = make(chan struct{})
}
