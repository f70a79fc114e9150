package perturb

import (
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
)

// ErrNoErrorStep is returned by CutAfterError when the trace has no known
// error step. It is a configuration mistake, not a set-aside outcome.
var ErrNoErrorStep = errors.New("perturb: cut after error: no known error step")

// CutInput is what a Cut policy sees: the steps of one trace, the trace's
// known error step, and a random source seeded for this problem.
type CutInput struct {
	// Steps of the source trace, in order. Truncate fills it with
	// Split(source) when nil.
	Steps []Step
	// ErrorStep is the 1-indexed step holding a known error, 0 if unknown.
	ErrorStep int
	// Rand is seeded per problem (see Rand), so a cut is reproducible and
	// independent of the order problems are processed in. Truncate supplies a
	// fixed-seed source when nil.
	Rand *rand.Rand
}

// Cut is a truncation policy: it decides how many leading steps of a trace
// to keep. Cut must return a count in [1, len(in.Steps)] or an error; it
// need not care about final answers, since Truncate backs off from them.
// Implementations must be deterministic given in (use in.Rand for
// randomness) and safe for concurrent use.
type Cut interface {
	Cut(in CutInput) (kept int, err error)
}

// CutFunc adapts a function to a Cut.
type CutFunc func(in CutInput) (int, error)

// Cut calls f(in).
func (f CutFunc) Cut(in CutInput) (int, error) { return f(in) }

// CutFraction keeps round(f × n) of n steps, at least one. f must lie in
// (0, 1]; CutFraction(1) keeps everything up to the final answer.
func CutFraction(f float64) Cut {
	return CutFunc(func(in CutInput) (int, error) {
		if !(f > 0 && f <= 1) {
			return 0, fmt.Errorf("perturb: CutFraction(%v): fraction must be in (0, 1]", f)
		}
		n := len(in.Steps)
		return clamp(int(math.Round(f*float64(n))), 1, n), nil
	})
}

// CutAt keeps the first k steps (cuts right after step k, 1-indexed). A
// trace with fewer than k steps is set aside with ErrTooShort.
func CutAt(k int) Cut {
	return CutFunc(func(in CutInput) (int, error) {
		if k < 1 {
			return 0, fmt.Errorf("perturb: CutAt(%d): step must be ≥ 1", k)
		}
		if k > len(in.Steps) {
			return 0, fmt.Errorf("%w: cut at step %d of %d", ErrTooShort, k, len(in.Steps))
		}
		return k, nil
	})
}

// CutRandom keeps a number of steps drawn uniformly (from in.Rand) among the
// step counts k with lo ≤ k/n ≤ hi, at least one; when no count falls in
// the range (short traces) it keeps round((lo+hi)/2 × n). It needs
// 0 ≤ lo ≤ hi ≤ 1.
func CutRandom(lo, hi float64) Cut {
	return CutFunc(func(in CutInput) (int, error) {
		if !(0 <= lo && lo <= hi && hi <= 1) {
			return 0, fmt.Errorf("perturb: CutRandom(%v, %v): need 0 ≤ lo ≤ hi ≤ 1", lo, hi)
		}
		n := len(in.Steps)
		a := max(1, int(math.Ceil(lo*float64(n)-1e-9)))
		b := min(n, int(math.Floor(hi*float64(n)+1e-9)))
		if a > b {
			return clamp(int(math.Round((lo+hi)/2*float64(n))), 1, n), nil
		}
		r := in.Rand
		if r == nil {
			r = Rand(0, "")
		}
		return a + r.IntN(b-a+1), nil
	})
}

// CutAfterError keeps the steps up to and including the known error step
// (in.ErrorStep), so the prefix ends on the mistake. Without a known error
// step it returns ErrNoErrorStep.
func CutAfterError() Cut {
	return CutFunc(func(in CutInput) (int, error) {
		if in.ErrorStep <= 0 {
			return 0, ErrNoErrorStep
		}
		if in.ErrorStep > len(in.Steps) {
			return 0, fmt.Errorf("%w: error step %d beyond the trace's %d steps", ErrTooShort, in.ErrorStep, len(in.Steps))
		}
		return in.ErrorStep, nil
	})
}

// DefaultCut is the policy strategies use when their Cut is nil: a random
// depth between a quarter and three quarters of the steps.
func DefaultCut() Cut { return CutRandom(0.25, 0.75) }

// Rand returns a random source determined by seed and key (usually a
// problem ID): the same pair always gives the same sequence, and different
// problems get independent sequences whatever order they are processed in.
func Rand(seed int64, key string) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(key))
	return rand.New(rand.NewPCG(uint64(seed), h.Sum64()))
}

// Truncate cuts source with the policy cut and returns the prefix: Text is
// source up to the end of the last kept step (a byte prefix of source, never
// ending in whitespace), with Source, StepsKept, StepsTotal and ErrorStep
// (from in) filled in; the caller adds Strategy, Origin and the rest.
//
// Whatever the policy says, the prefix never contains a final-answer
// statement (see HasFinalAnswer): if the cut would include one, Truncate
// backs off to the step before it. If nothing is left, or if backing off
// would drop the known error step the cut meant to include, it returns an
// error wrapping ErrTooShort. in.Steps defaults to Split(source); a nil cut
// means DefaultCut.
func Truncate(source string, cut Cut, in CutInput) (Prefix, error) {
	if in.Steps == nil {
		in.Steps = Split(source)
	}
	if cut == nil {
		cut = DefaultCut()
	}
	if in.Rand == nil {
		in.Rand = Rand(0, source)
	}
	n := len(in.Steps)
	if n == 0 {
		return Prefix{}, fmt.Errorf("%w: the trace has no steps", ErrTooShort)
	}
	for i, s := range in.Steps {
		if s.Start < 0 || s.End > len(source) || s.Start >= s.End || (i > 0 && s.Start < in.Steps[i-1].End) {
			return Prefix{}, fmt.Errorf("perturb: truncate: step %d span [%d, %d) is not an ordered span of the %d-byte source", i+1, s.Start, s.End, len(source))
		}
	}
	want, err := cut.Cut(in)
	if err != nil {
		return Prefix{}, err
	}
	if want < 1 || want > n {
		return Prefix{}, fmt.Errorf("perturb: truncate: cut policy kept %d of %d steps, want 1..%d", want, n, n)
	}
	kept := want
	if i := FinalAnswerIndex(source[:in.Steps[kept-1].End]); i >= 0 {
		for kept > 0 && in.Steps[kept-1].End > i {
			kept--
		}
	}
	for kept > 0 && HasFinalAnswer(source[:in.Steps[kept-1].End]) {
		kept--
	}
	if in.ErrorStep > 0 && want >= in.ErrorStep && kept < in.ErrorStep {
		return Prefix{}, fmt.Errorf("%w: error step %d of %d holds or follows a final answer", ErrTooShort, in.ErrorStep, n)
	}
	if kept == 0 {
		return Prefix{}, fmt.Errorf("%w: the first of %d steps already states the final answer", ErrTooShort, n)
	}
	p := Prefix{
		Text:       source[:in.Steps[kept-1].End],
		Source:     source,
		StepsKept:  kept,
		StepsTotal: n,
		ErrorStep:  in.ErrorStep,
	}
	if kept != want {
		p.Meta = map[string]string{"cut_requested": strconv.Itoa(want)}
	}
	return p, nil
}

// JoinSteps joins steps given as separate strings (as datasets with
// labelled steps give them) with "\n" and returns the text and each step's
// span in it, one span per input step. It fails if a step is blank or
// contains a newline, since its span would then be ambiguous.
func JoinSteps(steps []string) (string, []Step, error) {
	var b strings.Builder
	spans := make([]Step, 0, len(steps))
	for i, s := range steps {
		if i > 0 {
			b.WriteByte('\n')
		}
		if strings.TrimSpace(s) == "" {
			return "", nil, fmt.Errorf("perturb: step %d of %d is blank", i+1, len(steps))
		}
		if strings.ContainsRune(s, '\n') {
			return "", nil, fmt.Errorf("perturb: step %d of %d contains a newline", i+1, len(steps))
		}
		start := b.Len()
		b.WriteString(s)
		spans = append(spans, Step{Start: start, End: b.Len()})
	}
	text := b.String()
	for i, sp := range spans {
		spans[i] = mkStep(text, sp.Start, sp.End)
	}
	return text, spans, nil
}

func clamp(v, lo, hi int) int {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}
