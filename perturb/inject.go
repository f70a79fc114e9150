package perturb

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"

	"github.com/rebound-lab/rebound/dataset"
)

// InjectError perturbs a problem by corrupting a correct trace: it changes
// the arithmetic result of one step to a wrong value and cuts right after
// that step, so the error's position is known (Prefix.ErrorStep).
//
// An arithmetic result is the number right after the last "=" of a step
// ("2 * 11 = 22 votes", "$3\times 3=9$"); for a GSM8K calculator annotation
// ("= <<16-3-4=9>>9") both the annotation's result and the number after it
// change, so the trace stays self-consistent. The wrong value differs by a
// small slip (±1, ±2, ±3, ±9, ±10 units of its last digit), keeps its
// decimals and thousands separators, and stays non-negative when the
// original was. Steps stating a final answer are never chosen.
//
// Type, Magnitude, Position and KeepAfter control the error (see
// ErrorType, Magnitude, Position, CutKeepAfter); their zero values keep
// the behaviour above. A step that cannot take the requested error (a
// small change of the value 2, a sign flip of 0, an operand error on a
// step that is not one binary operation) is not eligible.
//
// The prefix's Source is the corrupted trace; Meta records the "original"
// and "corrupted" values, and "error_type", "magnitude" (the class of the
// change made, see MagnitudeOf), "position" (PositionOf the step among
// those before the answer) and "steps_after_error". A problem without a trace is set aside with
// ErrNoTrace, a trace without an eligible step with ErrTooShort. InjectError
// makes no calls and is safe for concurrent use if Trace is.
type InjectError struct {
	// Trace returns the correct trace to corrupt; nil means p.Solution.
	Trace func(p dataset.Problem) string
	// Cut chooses the step: the corrupted step is the last eligible step
	// among those Cut keeps (or the first eligible one after them). Nil
	// means a uniformly random eligible step.
	Cut Cut
	// Seed seeds the step choice and the wrong value (per problem).
	Seed int64
	// Origin names where the traces come from for Prefix.Origin; empty
	// means the problem's Source.
	Origin string
	// Type is the kind of error; "" means ErrArithmetic.
	Type ErrorType
	// Magnitude is the size of the change for ErrArithmetic and
	// ErrOperand; "" keeps the default small slips (of any relative size).
	Magnitude Magnitude
	// Position, if set, restricts the corrupted step to that third of the
	// steps before the final answer (overriding Cut's choice of step).
	Position Position
	// KeepAfter keeps that many steps after the corrupted one in the
	// prefix (CutKeepAfter); 0 cuts right after it.
	KeepAfter int
}

var _ Perturber = (*InjectError)(nil)

var (
	annotation = regexp.MustCompile(`<<[^<>]*=\s*(-?[0-9]+(?:,[0-9]{3})*(?:\.[0-9]+)?)\s*>>(-?[0-9]+(?:,[0-9]{3})*(?:\.[0-9]+)?)?`)
	afterEqual = regexp.MustCompile(`=\s*(?:\\?\$\s*)?(-?[0-9]+(?:,[0-9]{3})*(?:\.[0-9]+)?)`)
)

// edit is one byte-range replacement.
type edit struct{ start, end int }

// resultSpans returns the byte ranges (within s) holding the step's
// arithmetic result, or nil.
func resultSpans(s string) []edit {
	if ms := annotation.FindAllStringSubmatchIndex(s, -1); len(ms) > 0 {
		m := ms[len(ms)-1]
		spans := []edit{{m[2], m[3]}}
		if m[4] >= 0 && s[m[4]:m[5]] == s[m[2]:m[3]] {
			spans = append(spans, edit{m[4], m[5]})
		}
		return spans
	}
	ms := afterEqual.FindAllStringSubmatchIndex(s, -1)
	for i := len(ms) - 1; i >= 0; i-- {
		if m := ms[i]; standsAlone(s, m[3]) {
			return []edit{{m[2], m[3]}}
		}
	}
	return nil
}

// standsAlone reports whether the number ending at s[end] is a whole
// value, not the start of a product, power or variable ("2x", "2^3",
// "2\cdot 3", "3(x+1)").
func standsAlone(s string, end int) bool {
	if end >= len(s) {
		return true
	}
	c := s[end]
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '^', c == '_', c == '{', c == '(':
		return false
	case c == '\\' && end+1 < len(s):
		n := s[end+1]
		return !(n >= 'a' && n <= 'z' || n >= 'A' && n <= 'Z')
	}
	return true
}

// Perturb corrupts one step of p's correct trace and cuts after it; see
// InjectError.
func (e *InjectError) Perturb(ctx context.Context, p dataset.Problem) (Prefix, error) {
	if err := ctx.Err(); err != nil {
		return Prefix{}, err
	}
	if err := e.Validate(); err != nil {
		return Prefix{}, err
	}
	trace := p.Solution
	if e.Trace != nil {
		trace = e.Trace(p)
	}
	if strings.TrimSpace(trace) == "" {
		return Prefix{}, fmt.Errorf("%w: problem %s has no correct trace to corrupt", ErrNoTrace, p.ID)
	}
	steps := Split(trace)
	var eligible []int // 0-indexed steps
	cutoff := len(steps)
	if i := FinalAnswerIndex(trace); i >= 0 {
		cutoff = 0
		for cutoff < len(steps) && steps[cutoff].End <= i {
			cutoff++
		}
	}
	for i := 0; i < cutoff; i++ {
		sp := resultSpans(steps[i].Text)
		if sp == nil || (e.Position != "" && PositionOf(i, cutoff) != e.Position) {
			continue
		}
		if e.controlled() {
			if _, _, _, ok := e.tryWrong(steps[i].Text, sp, Rand(e.Seed, p.ID+"/probe")); !ok {
				continue
			}
		}
		eligible = append(eligible, i)
	}
	if len(eligible) == 0 {
		what := "an arithmetic result"
		if e.controlled() || e.Position != "" {
			what = fmt.Sprintf("a result that can take a %s error (type %q, magnitude %q, position %q)", orDefault(string(e.Type), string(ErrArithmetic)), e.Type, e.Magnitude, e.Position)
		}
		return Prefix{}, fmt.Errorf("%w: problem %s: no step with %s before the answer (%d steps)", ErrTooShort, p.ID, what, len(steps))
	}
	r := Rand(e.Seed, p.ID)
	k := eligible[r.IntN(len(eligible))]
	if e.Cut != nil && e.Position == "" {
		want, err := e.Cut.Cut(CutInput{Steps: steps, Rand: r})
		if err != nil {
			return Prefix{}, fmt.Errorf("perturb: inject error, problem %s: %w", p.ID, err)
		}
		k = eligible[0]
		for _, i := range eligible {
			if i < want {
				k = i
			}
		}
	}
	st := steps[k]
	spans := resultSpans(st.Text)
	orig := st.Text[spans[0].start:spans[0].end]
	var wrong string
	edits, texts := spans, []string(nil)
	if e.controlled() {
		var ok bool
		edits, texts, wrong, ok = e.tryWrong(st.Text, spans, r)
		if !ok {
			return Prefix{}, fmt.Errorf("perturb: inject error, problem %s, step %d: no %s error fits %q", p.ID, k+1, e.Type, orig)
		}
	} else {
		var err error
		if wrong, err = corrupt(orig, r); err != nil {
			return Prefix{}, fmt.Errorf("perturb: inject error, problem %s, step %d: %w", p.ID, k+1, err)
		}
	}
	var b strings.Builder
	prev := 0
	at := -1 // offset of the corrupted value in source
	for i, sp := range edits {
		b.WriteString(trace[prev : st.Start+sp.start])
		if sp == spans[0] {
			at = b.Len()
		}
		if texts != nil {
			b.WriteString(texts[i])
		} else {
			b.WriteString(wrong)
		}
		prev = st.Start + sp.end
	}
	b.WriteString(trace[prev:])
	source := b.String()
	newSteps := Split(source)
	step := 0
	for i, s := range newSteps {
		if s.Start <= at && at < s.End {
			step = i + 1
			break
		}
	}
	if step == 0 {
		return Prefix{}, fmt.Errorf("perturb: inject error, problem %s: corrupted value lost its step", p.ID)
	}
	pre, err := Truncate(source, CutKeepAfter(e.KeepAfter), CutInput{Steps: newSteps, ErrorStep: step, Rand: r})
	if err != nil {
		return Prefix{}, fmt.Errorf("perturb: inject error, problem %s: %w", p.ID, err)
	}
	pre.Strategy = "inject"
	pre.Origin = e.Origin
	if pre.Origin == "" {
		pre.Origin = p.Source
	}
	if pre.Meta == nil {
		pre.Meta = map[string]string{}
	}
	pre.Meta["original"] = orig
	pre.Meta["corrupted"] = wrong
	pre.Meta["seed"] = strconv.FormatInt(e.Seed, 10)
	pre.Meta["error_type"] = orDefault(string(e.Type), string(ErrArithmetic))
	if m := MagnitudeOf(orig, wrong); m != "" {
		pre.Meta["magnitude"] = string(m)
	}
	if e.Type == ErrOperand {
		// The operand's change is the one asked for; the result's is
		// recorded above as "result_magnitude".
		pre.Meta["result_magnitude"] = pre.Meta["magnitude"]
		pre.Meta["operand_original"] = trace[st.Start+edits[len(edits)-len(spans)-1].start : st.Start+edits[len(edits)-len(spans)-1].end]
		pre.Meta["operand_corrupted"] = texts[len(edits)-len(spans)-1]
		pre.Meta["magnitude"] = string(MagnitudeOf(pre.Meta["operand_original"], pre.Meta["operand_corrupted"]))
	}
	pre.Meta["position"] = string(PositionOf(k, cutoff))
	pre.Meta["steps_after_error"] = strconv.Itoa(pre.StepsKept - step)
	return pre, nil
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

var slips = []int64{1, 2, 3, 9, 10, -1, -2, -3, -9, -10}

// corrupt returns a wrong value for the number s ("1,200", "-3", "0.25"),
// formatted like it.
func corrupt(s string, r *rand.Rand) (string, error) {
	commas := strings.Contains(s, ",")
	plain := strings.ReplaceAll(s, ",", "")
	neg := strings.HasPrefix(plain, "-")
	plain = strings.TrimPrefix(plain, "-")
	decimals := 0
	if i := strings.IndexByte(plain, '.'); i >= 0 {
		decimals = len(plain) - i - 1
		plain = plain[:i] + plain[i+1:]
	}
	units, err := strconv.ParseInt(plain, 10, 64)
	if err != nil || units > 1<<50 {
		return "", fmt.Errorf("number %q too large to corrupt", s)
	}
	if neg {
		units = -units
	}
	var cands []int64
	for _, d := range slips {
		v := units + d
		if v != units && (neg || v >= 0) {
			cands = append(cands, v)
		}
	}
	if len(cands) == 0 {
		return "", errors.New("no wrong value available")
	}
	v := cands[r.IntN(len(cands))]
	return formatUnits(v, decimals, commas), nil
}

func formatUnits(v int64, decimals int, commas bool) string {
	neg := v < 0
	if neg {
		v = -v
	}
	digits := strconv.FormatInt(v, 10)
	for len(digits) <= decimals {
		digits = "0" + digits
	}
	intPart, frac := digits[:len(digits)-decimals], digits[len(digits)-decimals:]
	if commas {
		var b strings.Builder
		for i, c := range intPart {
			if i > 0 && (len(intPart)-i)%3 == 0 {
				b.WriteByte(',')
			}
			b.WriteRune(c)
		}
		intPart = b.String()
	}
	out := intPart
	if decimals > 0 {
		out += "." + frac
	}
	if neg {
		out = "-" + out
	}
	return out
}
