package perturb

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/rebound-lab/rebound/dataset"
	"github.com/rebound-lab/rebound/providers"
	"github.com/rebound-lab/rebound/verify"
)

// DefaultMaxTries is WeakModel's try cap when MaxTries is 0.
const DefaultMaxTries = 10

// WeakModel perturbs a problem with a weaker model's mistake: it samples the
// weak model on Prompt(p) until the verifier says a solution is wrong, then
// truncates that solution with Cut.
//
// Try i is sent with Request.Sample = i (0 … MaxTries-1), so tries are
// distinct yet reproducible under a cache. A wrong solution that cannot be
// cut before its answer (ErrTooShort) does not end the search; sampling
// goes on. If every try is verified correct the problem is set aside with
// ErrTooEasy; if wrong solutions were found but none could be cut, with
// ErrTooShort. Usage and CostUSD sum every call made, including the correct
// tries; Meta records "tries" (calls made), "sample" (index of the trace
// used), "correct" (tries verified correct) and "seed".
//
// A set-aside error is a *SpentError carrying what the tries cost, so the
// report can count the money spent on problems that yielded no prefix.
//
// The zero value is not usable: Completer, Model and Verifier are required.
// A WeakModel is safe for concurrent use if its Completer and Verifier are.
type WeakModel struct {
	// Completer is the weak model's endpoint.
	Completer providers.Completer
	// Model is the model name sent in Request.Model; it is also the
	// Prefix's Origin (prefixed with the completer's provider if known).
	Model string
	// Verifier judges each solution against the problem's Answer.
	Verifier verify.Verifier
	// MaxTries caps the samples per problem; 0 means DefaultMaxTries.
	MaxTries int
	// Cut chooses where to truncate the wrong solution; nil means
	// DefaultCut. (The weak model's first error is unknown, so an early cut
	// may keep only correct steps.)
	Cut Cut
	// Seed seeds the cut's random source (per problem, see Rand).
	Seed int64
	// Temperature and MaxTokens are sent as given (nil / 0: provider default).
	Temperature *float64
	MaxTokens   int
	// Prepare, if set, completes try i's request before it is sent (e.g.
	// a per-sample seed and reasoning effort), so that a harness can make
	// try i the very request of the weak model's straight-shot sample i and
	// answer it from the cache.
	Prepare func(p dataset.Problem, try int, req *providers.Request)
}

var _ Perturber = (*WeakModel)(nil)

// Perturb samples the weak model for p and returns a truncated wrong
// solution; see WeakModel.
func (w *WeakModel) Perturb(ctx context.Context, p dataset.Problem) (Prefix, error) {
	if w.Completer == nil || w.Verifier == nil || w.Model == "" {
		return Prefix{}, errors.New("perturb: WeakModel needs a Completer, a Model and a Verifier")
	}
	if err := ctx.Err(); err != nil {
		return Prefix{}, err
	}
	maxTries := w.MaxTries
	if maxTries <= 0 {
		maxTries = DefaultMaxTries
	}
	origin := w.Model
	if ep := providers.EndpointOf(w.Completer); ep.Provider != "" {
		origin = ep.Provider + ":" + w.Model
	}
	var usage providers.Usage
	var cost float64
	costKnown := true
	correct := 0
	var tooShort error
	for i := range maxTries {
		req := providers.Request{
			Model:       w.Model,
			Messages:    Prompt(p),
			Temperature: w.Temperature,
			MaxTokens:   w.MaxTokens,
			Sample:      i,
		}
		if w.Prepare != nil {
			w.Prepare(p, i, &req)
		}
		c, err := w.Completer.Complete(ctx, req)
		if err != nil {
			return Prefix{}, fmt.Errorf("perturb: weak model %s, problem %s, try %d: %w", w.Model, p.ID, i+1, err)
		}
		usage = usage.Add(c.Usage)
		cost += c.CostUSD
		costKnown = costKnown && (c.CostKnown || c.Cached)
		v, err := w.Verifier.Verify(ctx, p.Answer, c.Text)
		if err != nil {
			return Prefix{}, fmt.Errorf("perturb: verifying weak model %s, problem %s, try %d: %w", w.Model, p.ID, i+1, err)
		}
		if v.Correct {
			correct++
			continue
		}
		pre, err := Truncate(c.Text, w.Cut, CutInput{Rand: Rand(w.Seed, p.ID)})
		if errors.Is(err, ErrTooShort) {
			tooShort = err
			continue
		}
		if err != nil {
			return Prefix{}, fmt.Errorf("perturb: weak model %s, problem %s, try %d: %w", w.Model, p.ID, i+1, err)
		}
		pre.Strategy = "weak"
		pre.Origin = origin
		pre.Usage = usage
		pre.CostUSD = cost
		if pre.Meta == nil {
			pre.Meta = map[string]string{}
		}
		pre.Meta["tries"] = strconv.Itoa(i + 1)
		pre.Meta["sample"] = strconv.Itoa(i)
		pre.Meta["correct"] = strconv.Itoa(correct)
		pre.Meta["seed"] = strconv.FormatInt(w.Seed, 10)
		pre.Meta["answer"] = v.Answer
		if !costKnown {
			pre.Meta["cost_known"] = "false"
		}
		return pre, nil
	}
	spent := &SpentError{Usage: usage, CostUSD: cost, Tries: maxTries}
	if tooShort != nil {
		spent.Err = fmt.Errorf("perturb: weak model %s, problem %s: %d of %d tries wrong but none could be cut: %w",
			w.Model, p.ID, maxTries-correct, maxTries, tooShort)
	} else {
		spent.Err = fmt.Errorf("%w: weak model %s solved problem %s in all %d tries", ErrTooEasy, w.Model, p.ID, maxTries)
	}
	return Prefix{}, spent
}

// SpentError is a set-aside outcome that cost money: it wraps the reason
// (ErrTooEasy, ErrTooShort, …) and records the usage and dollars spent
// finding it out. Match the reason with errors.Is; read the spending with
// errors.As or Spent.
type SpentError struct {
	// Err is the reason, wrapping one of the set-aside sentinels.
	Err error
	// Usage and CostUSD sum every call made for the problem.
	Usage   providers.Usage
	CostUSD float64
	// Tries is the number of calls made.
	Tries int
}

// Error returns the reason's message.
func (e *SpentError) Error() string { return e.Err.Error() }

// Unwrap returns the reason.
func (e *SpentError) Unwrap() error { return e.Err }

// Spent returns the usage and dollars recorded in err's *SpentError, or
// zeros if it has none.
func Spent(err error) (providers.Usage, float64) {
	var s *SpentError
	if errors.As(err, &s) {
		return s.Usage, s.CostUSD
	}
	return providers.Usage{}, 0
}
