package providers

import "strings"

// BatchDiscount is the share of the live price a provider bills for a
// request sent through its batch API, as its pricing page said on AsOf.
type BatchDiscount struct {
	// Factor multiplies every live rate (0.5: half price).
	Factor float64
	// AsOf is the date the discount was checked; Source where.
	AsOf, Source string
}

// batchDiscounts are the batch discounts Rebound knows. Every provider here
// bills batch input and output tokens at half its live list price.
var batchDiscounts = map[string]BatchDiscount{
	"openai":    {0.5, "2026-11-27", "platform.openai.com/docs/guides/batch (50% lower costs)"},
	"anthropic": {0.5, "2026-11-27", "docs.anthropic.com/en/docs/build-with-claude/batch-processing (50% of standard prices)"},
	"groq":      {0.5, "2026-11-27", "UNVERIFIED: console.groq.com/docs/batch could not be read; 50% from secondary sources"},
	"together":  {0.5, "2026-11-27", "docs.together.ai/docs/batch-inference (\"up to 50%\", \"50% cost discount\"; some models may differ)"},
	"sim":       {0.5, "2026-11-27", "the simulator bills batches like OpenAI and Anthropic"},
}

// BatchDiscountOf returns provider's batch discount, and false when Rebound
// knows none (the provider has no batch API, or an unknown discount).
func BatchDiscountOf(provider string) (BatchDiscount, bool) {
	d, ok := batchDiscounts[strings.ToLower(provider)]
	return d, ok
}

// Scale returns p with every rate multiplied by f.
func (p Price) Scale(f float64) Price {
	return Price{InputPerM: p.InputPerM * f, CachedInputPerM: p.CachedInputPerM * f, OutputPerM: p.OutputPerM * f}
}

// BatchPrice returns what provider's model costs through its batch API: the
// live price (Lookup) times the provider's BatchDiscount. A free provider
// is free in batches too. It returns false when the model has no price or
// the provider no known discount.
func (t *PriceTable) BatchPrice(provider, model string) (Price, bool) {
	p, ok := t.Lookup(provider, model)
	if !ok {
		return Price{}, false
	}
	if p.IsZero() {
		return p, true
	}
	d, ok := BatchDiscountOf(provider)
	if !ok {
		return Price{}, false
	}
	return p.Scale(d.Factor), true
}
