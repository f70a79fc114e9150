package behaviour

import (
	"math"
	"strconv"
	"strings"
)

// Number is one number found in a text: Text[Start:End] as written, Value
// its value. Thousands separators ("1,200") and a leading minus sign
// directly before the digits are part of the number; a "$" or "%" is not.
type Number struct {
	Start, End int
	Value      float64

	decimals int // digits after the point, when known
}

// Numbers returns the numbers written in s, in order. A number is a run of
// digits with optional ",ddd" thousands groups and an optional decimal part
// ("3.5", ".5" is not a number, "3." is "3"); a "-" directly before it makes
// it negative when it does not follow a digit, letter or closing bracket
// (so "16-3" is 16 and 3). Numbers never overlap and never split a longer
// digit run. Numbers never fails; it allocates only the result.
func Numbers(s string) []Number {
	var out []Number
	for i := 0; i < len(s); {
		if !isDigit(s[i]) || (i > 0 && (isDigit(s[i-1]) || s[i-1] == '.' && i > 1 && isDigit(s[i-2]))) {
			i++
			continue
		}
		start, j := i, i
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		for j+3 < len(s) && s[j] == ',' && isDigit(s[j+1]) && isDigit(s[j+2]) && isDigit(s[j+3]) && (j+4 >= len(s) || !isDigit(s[j+4])) {
			j += 4
		}
		if j+1 < len(s) && s[j] == '.' && isDigit(s[j+1]) {
			j++
			for j < len(s) && isDigit(s[j]) {
				j++
			}
		}
		if start > 0 && s[start-1] == '-' && (start == 1 || !operandEnd(s[start-2])) {
			start--
		}
		v, err := strconv.ParseFloat(strings.ReplaceAll(s[start:j], ",", ""), 64)
		if err == nil && !math.IsInf(v, 0) {
			out = append(out, Number{Start: start, End: j, Value: v})
		}
		i = j
	}
	return out
}

// operandEnd reports whether c can end an operand, so that a following "-"
// is a subtraction rather than a sign.
func operandEnd(c byte) bool {
	return isDigit(c) || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == ')' || c == ']' || c == '}' || c == '%' || c == '$'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// ParseValue reads a value as perturb records it ("1,200", "-3", "0.25",
// "$18"); ok is false when s holds no single number.
func ParseValue(s string) (v float64, ok bool) {
	t := strings.TrimSpace(s)
	t = strings.TrimPrefix(t, "$")
	t = strings.TrimSuffix(t, "%")
	ns := Numbers(t)
	if len(ns) != 1 || ns[0].Start != 0 || ns[0].End != len(t) {
		return 0, false
	}
	return ns[0].Value, true
}

// same reports whether two values are equal up to rounding in their last
// printed digits.
func same(a, b float64) bool {
	d := math.Abs(a - b)
	return d <= 1e-9 || d <= 1e-9*math.Max(math.Abs(a), math.Abs(b))
}

// find returns the first number in s at or after from whose value is v, or
// -1.
func find(ns []Number, v float64, from int) int {
	for i, n := range ns {
		if n.Start >= from && same(n.Value, v) {
			return i
		}
	}
	return -1
}

func strconvFormat(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.FormatFloat(v, 'f', 0, 64) + ".0"
	}
	return strconv.FormatFloat(v, 'f', 6, 64)
}

func nan() float64 { return math.NaN() }
