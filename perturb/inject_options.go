package perturb

import (
	"fmt"
	"math"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
)

// ErrorType is the kind of error InjectError writes into a step.
type ErrorType string

// Error types. The zero value is ErrArithmetic.
const (
	// ErrArithmetic changes the step's result (the default): by a small
	// slip of its last digit, or as Magnitude asks.
	ErrArithmetic ErrorType = "arithmetic"
	// ErrOperand miscopies one operand of the step's computation and
	// recomputes the result from it, so the step is internally consistent
	// but starts from a wrong number ("9 * 2 = 18" becomes "8 * 2 = 16").
	// Only steps computing one binary operation (a op b, op in + - * /)
	// are eligible.
	ErrOperand ErrorType = "operand"
	// ErrSign flips the result's sign (a nonzero result only).
	ErrSign ErrorType = "sign"
	// ErrScale multiplies or divides the result by 10, as a unit or scale
	// slip would (cents for dollars, minutes for hours).
	ErrScale ErrorType = "scale"
	// ErrOffByOne adds or subtracts 1 in the result's last unit.
	ErrOffByOne ErrorType = "off_by_one"
)

// ErrorTypes lists every error type.
var ErrorTypes = []ErrorType{ErrArithmetic, ErrOperand, ErrSign, ErrScale, ErrOffByOne}

// Magnitude is how far a wrong value lies from the right one, relative to
// it — how obvious the error is.
type Magnitude string

// Magnitudes. The zero value keeps InjectError's default slips (±1, ±2,
// ±3, ±9, ±10 units of the last digit), whatever magnitude they happen to
// have; Meta["magnitude"] records the class of the change made.
const (
	// Small: a relative change of at most SmallChange (steps whose value
	// is too small to change that little are not eligible).
	Small Magnitude = "small"
	// Medium: between SmallChange and LargeChange (recorded only).
	Medium Magnitude = "medium"
	// Large: an order of magnitude (×10 or ÷10), relative change at
	// least LargeChange.
	Large Magnitude = "large"
)

// SmallChange and LargeChange bound the relative changes |wrong−right| ÷
// |right| that count as Small and Large.
const (
	SmallChange = 0.25
	LargeChange = 0.9
)

// MagnitudeOf classifies the change from right to wrong (both numbers as
// written); "" when either is not a number or right is 0 and wrong is not.
func MagnitudeOf(right, wrong string) Magnitude {
	r, err1 := strconv.ParseFloat(strings.ReplaceAll(right, ",", ""), 64)
	w, err2 := strconv.ParseFloat(strings.ReplaceAll(wrong, ",", ""), 64)
	if err1 != nil || err2 != nil {
		return ""
	}
	if r == 0 {
		if w == 0 {
			return ""
		}
		return Large
	}
	rel := math.Abs(w-r) / math.Abs(r)
	switch {
	case rel <= SmallChange:
		return Small
	case rel >= LargeChange-1e-9:
		return Large
	}
	return Medium
}

// Position is where in the trace the error sits.
type Position string

// Positions: the thirds of the steps before the final answer.
const (
	Early  Position = "early"
	Middle Position = "middle"
	Late   Position = "late"
)

// PositionOf classifies step i (0-indexed) of n steps by the third its
// midpoint falls in.
func PositionOf(i, n int) Position {
	if n <= 0 {
		return ""
	}
	x := (float64(i) + 0.5) / float64(n)
	switch {
	case x < 1.0/3:
		return Early
	case x < 2.0/3:
		return Middle
	}
	return Late
}

// CutKeepAfter keeps the known error step and up to k steps after it (fewer
// when the trace has fewer before its final answer: Truncate backs off, and
// the prefix's Meta["steps_after_error"] says how many were kept). Without a
// known error step it returns ErrNoErrorStep. CutKeepAfter(0) is
// CutAfterError.
func CutKeepAfter(k int) Cut {
	return CutFunc(func(in CutInput) (int, error) {
		if k < 0 {
			return 0, fmt.Errorf("perturb: CutKeepAfter(%d): k must be ≥ 0", k)
		}
		n, err := CutAfterError().Cut(in)
		if err != nil {
			return 0, err
		}
		return min(n+k, len(in.Steps)), nil
	})
}

// Validate reports the first unusable option (an unknown Type, Magnitude
// or Position, a Magnitude with a type whose size is fixed, a negative
// KeepAfter), naming the field and the values allowed. Perturb calls it
// first.
func (e *InjectError) Validate() error {
	switch e.Type {
	case "", ErrArithmetic, ErrOperand, ErrSign, ErrScale, ErrOffByOne:
	default:
		return fmt.Errorf("perturb: InjectError.Type %q: want one of %v", e.Type, ErrorTypes)
	}
	switch e.Magnitude {
	case "", Small, Large:
	default:
		return fmt.Errorf("perturb: InjectError.Magnitude %q: want %q, %q or empty", e.Magnitude, Small, Large)
	}
	if e.Magnitude != "" && e.Type != "" && e.Type != ErrArithmetic && e.Type != ErrOperand {
		return fmt.Errorf("perturb: InjectError.Magnitude %q applies to types %q and %q, not %q (its size is fixed)", e.Magnitude, ErrArithmetic, ErrOperand, e.Type)
	}
	switch e.Position {
	case "", Early, Middle, Late:
	default:
		return fmt.Errorf("perturb: InjectError.Position %q: want %q, %q, %q or empty", e.Position, Early, Middle, Late)
	}
	if e.KeepAfter < 0 {
		return fmt.Errorf("perturb: InjectError.KeepAfter %d: want ≥ 0", e.KeepAfter)
	}
	return nil
}

// controlled reports whether any option departs from the default
// behaviour.
func (e *InjectError) controlled() bool {
	return (e.Type != "" && e.Type != ErrArithmetic) || e.Magnitude != ""
}

// binaryOp is "a op b" with plain numbers; the GSM8K annotation form
// "<<a op b=c>>" and a written "a op b = c" both qualify.
var binaryOp = regexp.MustCompile(`(-?[0-9]+(?:,[0-9]{3})*(?:\.[0-9]+)?)\s*([-+*/×x÷])\s*\$?(-?[0-9]+(?:,[0-9]{3})*(?:\.[0-9]+)?)\s*=\s*(?:<<[^<>]*>>)?\s*\\?\$?\s*$`)

// operandEdit finds, for step text s whose result span is res, the
// operand spans of a single binary operation computing it.
type operandEdit struct {
	a, b   edit
	op     byte
	annot  bool // the operation is inside an annotation "<<a*b=c>>"
	result edit
}

// findOperation returns the binary operation whose result is at spans[0],
// or false.
func findOperation(s string, spans []edit) (operandEdit, bool) {
	res := spans[0]
	head := s[:res.start]
	annot := strings.HasSuffix(strings.TrimRight(head, " "), "=") && strings.Contains(head[max(0, strings.LastIndex(head, "<<")):], "<<")
	from := 0
	if annot {
		from = strings.LastIndex(head, "<<") + 2
	}
	m := binaryOp.FindStringSubmatchIndex(head[from:])
	if m == nil {
		return operandEdit{}, false
	}
	var op byte
	switch head[from+m[4] : from+m[5]] {
	case "+":
		op = '+'
	case "-":
		op = '-'
	case "*", "x", "×":
		op = '*'
	case "/", "÷":
		op = '/'
	}
	return operandEdit{a: edit{from + m[2], from + m[3]}, b: edit{from + m[6], from + m[7]}, op: op, annot: annot, result: res}, true
}

func parseNum(s string) (float64, bool) {
	v, err := strconv.ParseFloat(strings.ReplaceAll(s, ",", ""), 64)
	return v, err == nil
}

func apply(a float64, op byte, b float64) (float64, bool) {
	switch op {
	case '+':
		return a + b, true
	case '-':
		return a - b, true
	case '*':
		return a * b, true
	case '/':
		if b == 0 {
			return 0, false
		}
		return a / b, true
	}
	return 0, false
}

// decimalsIn is the number of digits after the point in s.
func decimalsIn(s string) int {
	if i := strings.IndexByte(s, '.'); i >= 0 {
		return len(s) - i - 1
	}
	return 0
}

// formatLike formats v as the number s is written (thousands separators,
// decimals), or ok false when v needs more decimals than s has.
func formatLike(v float64, s string) (string, bool) {
	d := decimalsIn(s)
	scaled := v * math.Pow(10, float64(d))
	if math.Abs(scaled-math.Round(scaled)) > 1e-6 || math.Abs(scaled) > 1<<50 {
		return "", false
	}
	return formatUnits(int64(math.Round(scaled)), d, strings.Contains(s, ",")), true
}

// changeValue returns a wrong value for the number s under magnitude m
// ("" keeps the default slips).
func changeValue(s string, m Magnitude, r *rand.Rand) (string, bool) {
	v, ok := parseNum(s)
	if !ok {
		return "", false
	}
	switch m {
	case "":
		w, err := corrupt(s, r)
		return w, err == nil
	case Large:
		if v == 0 {
			return "", false
		}
		f := 10.0
		if r.IntN(2) == 0 {
			f = 0.1
		}
		if w, ok := formatLike(v*f, s); ok && MagnitudeOf(s, w) == Large {
			return w, true
		}
		w, ok := formatLike(v*10, s)
		return w, ok
	case Small:
		unit := math.Pow(10, -float64(decimalsIn(s)))
		maxUnits := int64(math.Floor(SmallChange * math.Abs(v) / unit))
		if maxUnits < 1 {
			return "", false
		}
		d := 1 + r.Int64N(min(maxUnits, 10))
		if r.IntN(2) == 0 && math.Abs(v)-float64(d)*unit >= 0 || v < 0 {
			d = -d
		}
		w, ok := formatLike(v+float64(d)*unit, s)
		return w, ok && w != s
	}
	return "", false
}

// wrongFor returns the wrong text for each edited span of step text s, the
// wrong result, and false when the step cannot take this error.
//
// For ErrOperand the magnitude asked for is the operand's change; the
// result changes by whatever the operation makes of it.
func (e *InjectError) wrongFor(s string, spans []edit, r *rand.Rand) (edits []edit, texts []string, wrong string, ok bool) {
	orig := s[spans[0].start:spans[0].end]
	v, okv := parseNum(orig)
	if !okv {
		return nil, nil, "", false
	}
	var w string
	switch e.Type {
	case "", ErrArithmetic:
		w, ok = changeValue(orig, e.Magnitude, r)
	case ErrOffByOne:
		d := 1.0
		if r.IntN(2) == 0 && (v < 0 || v-math.Pow(10, -float64(decimalsIn(orig))) >= 0) {
			d = -1
		}
		w, ok = formatLike(v+d*math.Pow(10, -float64(decimalsIn(orig))), orig)
	case ErrSign:
		if v == 0 {
			return nil, nil, "", false
		}
		w, ok = formatLike(-v, orig)
	case ErrScale:
		f := 10.0
		if r.IntN(2) == 0 {
			f = 0.1
		}
		if w, ok = formatLike(v*f, orig); !ok || v == 0 {
			w, ok = formatLike(v*10, orig)
		}
		ok = ok && v != 0
	case ErrOperand:
		op, found := findOperation(s, spans)
		if !found {
			return nil, nil, "", false
		}
		picks := []edit{op.a, op.b}
		if r.IntN(2) == 0 {
			picks[0], picks[1] = op.b, op.a
		}
		var pick edit
		var nw string
		for _, pick = range picks {
			ostr := s[pick.start:pick.end]
			var okc bool
			if nw, okc = changeValue(ostr, e.Magnitude, r); !okc {
				continue
			}
			a, _ := parseNum(s[op.a.start:op.a.end])
			b, _ := parseNum(s[op.b.start:op.b.end])
			nv, _ := parseNum(nw)
			if pick == op.a {
				a = nv
			} else {
				b = nv
			}
			if res, okr := apply(a, op.op, b); okr {
				if w, ok = formatLike(res, orig); ok && w != orig {
					break
				}
			}
			ok = false
		}
		if !ok {
			return nil, nil, "", false
		}
		ostr := s[pick.start:pick.end]
		// The operand may appear twice (written out and in the
		// annotation); change the written one and the annotation's.
		edits = append(edits, pick)
		texts = append(texts, nw)
		if op.annot {
			if i := strings.LastIndex(s[:op.a.start], "<<"); i >= 0 {
				if j := strings.LastIndex(s[:i], ostr); j >= 0 && !overlaps(edit{j, j + len(ostr)}, spans) {
					edits = append([]edit{{j, j + len(ostr)}}, edits...)
					texts = append([]string{nw}, texts...)
				}
			}
		}
	}
	if !ok || w == orig {
		return nil, nil, "", false
	}
	for _, sp := range spans {
		edits = append(edits, sp)
		texts = append(texts, w)
	}
	return edits, texts, w, true
}

func overlaps(x edit, spans []edit) bool {
	for _, s := range spans {
		if x.start < s.end && s.start < x.end {
			return true
		}
	}
	return false
}

// tryWrong draws wrongFor up to 64 times: some draws of a step that can
// take the error do not fit (a division result needing more decimals).
func (e *InjectError) tryWrong(s string, spans []edit, r *rand.Rand) (edits []edit, texts []string, wrong string, ok bool) {
	for range 64 {
		if edits, texts, wrong, ok = e.wrongFor(s, spans, r); ok {
			return
		}
	}
	return
}
