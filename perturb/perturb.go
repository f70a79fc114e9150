// Package perturb builds flawed partial solutions ("prefixes") for a strong
// model to continue: a weak model's wrong trace, the strong model's own wrong
// trace, an injected arithmetic error, or a dataset's labelled mistake — each
// truncated so that the prefix never contains a final answer.
package perturb

import (
	"context"
	"errors"

	"github.com/rebound-lab/rebound/dataset"
	"github.com/rebound-lab/rebound/providers"
)

// Set-aside outcomes. A Perturber returns (a wrap of) one of these when a
// problem cannot be perturbed for a reason the report should count.
var (
	// ErrTooEasy: the weak model never failed within its try cap.
	ErrTooEasy = errors.New("perturb: too easy (no wrong trace within the try cap)")
	// ErrNoTrace: there is no trace to cut (no wrong strong trace, no labelled
	// trace for this problem, no correct trace to corrupt).
	ErrNoTrace = errors.New("perturb: no trace to perturb")
	// ErrOutOfBand: the problem's pass rate lies outside the strategy's band.
	ErrOutOfBand = errors.New("perturb: pass rate outside the band")
	// ErrTooShort: the trace has too few steps to cut before its answer.
	ErrTooShort = errors.New("perturb: trace too short to cut")
)

// Prefix is a flawed partial solution the strong model will continue.
type Prefix struct {
	// Text is what the strong model continues, verbatim.
	Text string `json:"text"`
	// Source is the full trace Text was cut from; Text is a prefix of it.
	Source string `json:"source"`
	// StepsKept of StepsTotal steps of Source are in Text.
	StepsKept  int `json:"steps_kept"`
	StepsTotal int `json:"steps_total"`
	// Strategy names the perturber ("weak", "onpolicy", "inject", "labeled").
	Strategy string `json:"strategy"`
	// Origin is the model spec or dataset the trace came from.
	Origin string `json:"origin"`
	// ErrorStep is the 1-indexed step holding the known error, 0 if unknown.
	ErrorStep int `json:"error_step,omitempty"`
	// Usage and CostUSD are what making the prefix cost (weak-model calls).
	Usage   providers.Usage `json:"usage"`
	CostUSD float64         `json:"cost_usd"`
	// Meta carries strategy-specific details (tries, seed, ...).
	Meta map[string]string `json:"meta,omitempty"`
}

// Depth is the fraction of the source's steps kept in the prefix, in [0, 1].
func (p Prefix) Depth() float64 {
	if p.StepsTotal == 0 {
		return 0
	}
	return float64(p.StepsKept) / float64(p.StepsTotal)
}

// Perturber builds a Prefix for a problem. Implementations must be safe for
// concurrent use, deterministic given their seed, and honour ctx.
type Perturber interface {
	Perturb(ctx context.Context, p dataset.Problem) (Prefix, error)
}

// PerturberFunc adapts a function to a Perturber.
type PerturberFunc func(ctx context.Context, p dataset.Problem) (Prefix, error)

// Perturb calls f(ctx, p).
func (f PerturberFunc) Perturb(ctx context.Context, p dataset.Problem) (Prefix, error) {
	return f(ctx, p)
}
