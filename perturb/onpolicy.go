package perturb

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/rebound-lab/rebound/dataset"
)

// Trace is one straight-shot solution with its verdict.
type Trace struct {
	// Text is the model's full response.
	Text string `json:"text"`
	// Correct is the verifier's verdict on Text.
	Correct bool `json:"correct"`
	// Origin names the model that wrote it (e.g. "openai:gpt-4o"); optional.
	Origin string `json:"origin,omitempty"`
	// Sample is the trace's sample index, recorded in the Prefix's Meta.
	Sample int `json:"sample"`
}

// DefaultBand is OnPolicy's pass-rate band when Band is the zero value.
var DefaultBand = [2]float64{0.2, 0.8}

// OnPolicy perturbs a problem with the strong model's own mistake: given
// the strong model's straight-shot traces with verdicts, for a problem whose
// pass rate (correct / traces) lies in Band, it picks one of the wrong
// traces at random (seeded per problem) and truncates it with Cut. If that
// trace is too short to cut before its answer, the other wrong traces are
// tried in the same seeded order.
//
// A problem with no traces (or none wrong) is set aside with ErrNoTrace; a
// pass rate outside Band with ErrOutOfBand. OnPolicy makes no calls, so its
// prefixes cost nothing. It is safe for concurrent use if Traces is.
type OnPolicy struct {
	// Traces returns the strong model's straight-shot traces for a problem
	// ID. For a map m: func(id string) []perturb.Trace { return m[id] }.
	Traces func(problemID string) []Trace
	// Band is the inclusive pass-rate range [lo, hi] of problems to perturb;
	// the zero value means DefaultBand.
	Band [2]float64
	// Origin names the strong model for Prefix.Origin when a Trace has none.
	Origin string
	// Cut chooses where to truncate; nil means DefaultCut.
	Cut Cut
	// Seed seeds the choice of trace and the cut (per problem, see Rand).
	Seed int64
}

var _ Perturber = (*OnPolicy)(nil)

// Perturb picks and truncates one of the strong model's wrong traces for p;
// see OnPolicy.
func (o *OnPolicy) Perturb(ctx context.Context, p dataset.Problem) (Prefix, error) {
	if o.Traces == nil {
		return Prefix{}, errors.New("perturb: OnPolicy needs Traces")
	}
	if err := ctx.Err(); err != nil {
		return Prefix{}, err
	}
	band := o.Band
	if band == [2]float64{} {
		band = DefaultBand
	}
	if !(0 <= band[0] && band[0] <= band[1] && band[1] <= 1) {
		return Prefix{}, fmt.Errorf("perturb: OnPolicy band [%v, %v]: need 0 ≤ lo ≤ hi ≤ 1", band[0], band[1])
	}
	traces := o.Traces(p.ID)
	if len(traces) == 0 {
		return Prefix{}, fmt.Errorf("%w: no straight-shot traces for problem %s", ErrNoTrace, p.ID)
	}
	var wrong []int
	for i, t := range traces {
		if !t.Correct {
			wrong = append(wrong, i)
		}
	}
	rate := float64(len(traces)-len(wrong)) / float64(len(traces))
	if rate < band[0] || rate > band[1] {
		return Prefix{}, fmt.Errorf("%w: problem %s pass rate %d/%d outside [%v, %v]",
			ErrOutOfBand, p.ID, len(traces)-len(wrong), len(traces), band[0], band[1])
	}
	if len(wrong) == 0 {
		return Prefix{}, fmt.Errorf("%w: no wrong straight-shot trace for problem %s", ErrNoTrace, p.ID)
	}
	r := Rand(o.Seed, p.ID)
	r.Shuffle(len(wrong), func(i, j int) { wrong[i], wrong[j] = wrong[j], wrong[i] })
	var lastErr error
	for _, i := range wrong {
		t := traces[i]
		pre, err := Truncate(t.Text, o.Cut, CutInput{Rand: r})
		if errors.Is(err, ErrTooShort) {
			lastErr = err
			continue
		}
		if err != nil {
			return Prefix{}, fmt.Errorf("perturb: on-policy trace %d of problem %s: %w", i, p.ID, err)
		}
		pre.Strategy = "onpolicy"
		pre.Origin = t.Origin
		if pre.Origin == "" {
			pre.Origin = o.Origin
		}
		if pre.Meta == nil {
			pre.Meta = map[string]string{}
		}
		pre.Meta["trace"] = strconv.Itoa(i)
		pre.Meta["sample"] = strconv.Itoa(t.Sample)
		pre.Meta["pass_rate"] = fmt.Sprintf("%d/%d", len(traces)-len(wrong), len(traces))
		pre.Meta["seed"] = strconv.FormatInt(o.Seed, 10)
		return pre, nil
	}
	return Prefix{}, fmt.Errorf("perturb: none of the %d wrong traces of problem %s can be cut: %w", len(wrong), p.ID, lastErr)
}
