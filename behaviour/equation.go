package behaviour

import (
	"math"
	"regexp"
	"strconv"
	"strings"
)

// Equation is one "expression = result" written in a text, such as
// "16 - 3 - 4 = 9" or a GSM8K calculator annotation "<<16-3-4=9>>".
type Equation struct {
	// Expr is the left-hand side as written.
	Expr string
	// Result is the number right after the "=" (past an annotation and a
	// "$"), with offsets into the text Equations was given.
	Result Number
	// Value is Expr evaluated, or NaN when Expr is not plain arithmetic
	// (numbers, + − × ÷ * / x, parentheses); at least one operator is needed.
	Value float64
}

// Slip reports whether the equation's stated result disagrees with its
// evaluated left-hand side, allowing for the rounding its printed decimals
// imply ("10/3 = 3.33" is not a slip).
func (e Equation) Slip() bool {
	if math.IsNaN(e.Value) {
		return false
	}
	tol := 1e-6 * math.Max(1, math.Abs(e.Value))
	return math.Abs(e.Value-e.Result.Value) > math.Max(tol, e.roundingTol())
}

func (e Equation) roundingTol() float64 {
	return 0.5000001 * math.Pow(10, -float64(decimalsOf(e.Result)))
}

// decimalsOf is how many decimals the result was written with; it is set
// by Equations through the length of the number's fractional part.
func decimalsOf(n Number) int { return n.decimals }

var equationRe = regexp.MustCompile(`((?:[0-9.,$()\s+\-*/×÷·−]|\\times|\\cdot|\\div|\bx\b)+)=\s*(?:<<[^<>]*>>)?\s*\\?\$?\s*(-?[0-9]+(?:,[0-9]{3})*(?:\.[0-9]+)?)`)

// Equations returns the arithmetic equations of s in order: those inside
// GSM8K annotations and those written out. In a chain "x = 2 + 3 = 6" the
// second left side continues the first result ("2 + 3"), and a left side
// that holds words ("x") is not arithmetic (Value NaN). Equations never
// fails.
func Equations(s string) []Equation {
	var out []Equation
	prevStart, prevEnd := -1, -1 // the previous result's span
	for _, m := range equationRe.FindAllStringSubmatchIndex(s, -1) {
		expr := s[m[2]:m[3]]
		// An annotation's own "=": the expression starts after "<<".
		if i := strings.LastIndex(expr, "<<"); i >= 0 {
			expr = expr[i+2:]
		} else if t := strings.TrimSpace(expr); m[2] == prevEnd && t != "" && strings.ContainsAny(t[:1], "+-*/×÷·−\\") {
			// A chain "a = b + c = d": the left side continues the previous
			// result.
			expr = s[prevStart:prevEnd] + expr
		}
		prevStart, prevEnd = m[4], m[5]
		// A clause before the expression ("Therefore, 24 - 7 = 11"): drop
		// the punctuation it leaves.
		expr = strings.TrimLeft(expr, " ,")
		for strings.HasPrefix(expr, ".") && !(len(expr) > 1 && isDigit(expr[1])) {
			expr = strings.TrimLeft(expr[1:], " ,")
		}
		num := s[m[4]:m[5]]
		v, err := strconv.ParseFloat(strings.ReplaceAll(num, ",", ""), 64)
		if err != nil || math.IsInf(v, 0) {
			continue
		}
		r := Number{Start: m[4], End: m[5], Value: v}
		if i := strings.IndexByte(num, '.'); i >= 0 {
			r.decimals = len(num) - i - 1
		}
		out = append(out, Equation{Expr: strings.TrimSpace(expr), Result: r, Value: Eval(expr)})
	}
	return out
}

// evalOperators spells Eval's operators as ASCII (built once).
var evalOperators = strings.NewReplacer(`\times`, "*", `\cdot`, "*", `\div`, "/", "×", "*", "·", "*", "÷", "/", "−", "-", "$", "", " x ", " * ")

// Eval evaluates plain arithmetic: numbers (with thousands separators),
// + - − * / × ÷ · \times \cdot \div, a spaced " x " as times, parentheses
// and "$" signs (ignored). It returns NaN for anything else, for a lone
// number (no operator), for division by zero and for input nested deeper
// than 64 parentheses or signs.
func Eval(expr string) float64 {
	p := evalParser{s: evalOperators.Replace(expr)}
	v := p.sum(0)
	p.space()
	if p.bad || p.pos != len(p.s) || p.ops == 0 {
		return math.NaN()
	}
	return v
}

type evalParser struct {
	s   string
	pos int
	ops int
	bad bool
}

func (p *evalParser) space() {
	for p.pos < len(p.s) && (p.s[p.pos] == ' ' || p.s[p.pos] == '\t' || p.s[p.pos] == '\n') {
		p.pos++
	}
}

func (p *evalParser) peek() byte {
	p.space()
	if p.pos < len(p.s) {
		return p.s[p.pos]
	}
	return 0
}

func (p *evalParser) sum(depth int) float64 {
	v := p.product(depth)
	for !p.bad {
		switch p.peek() {
		case '+':
			p.pos++
			p.ops++
			v += p.product(depth)
		case '-':
			p.pos++
			p.ops++
			v -= p.product(depth)
		default:
			return v
		}
	}
	return v
}

func (p *evalParser) product(depth int) float64 {
	v := p.unary(depth)
	for !p.bad {
		switch p.peek() {
		case '*':
			p.pos++
			p.ops++
			v *= p.unary(depth)
		case '/':
			p.pos++
			p.ops++
			d := p.unary(depth)
			if d == 0 {
				p.bad = true
				return 0
			}
			v /= d
		case '(':
			p.ops++ // implicit product "3(4+1)"
			v *= p.unary(depth)
		default:
			return v
		}
	}
	return v
}

func (p *evalParser) unary(depth int) float64 {
	if depth >= 64 {
		p.bad = true
		return 0
	}
	switch p.peek() {
	case '-':
		p.pos++
		return -p.unary(depth + 1)
	case '+':
		p.pos++
		return p.unary(depth + 1)
	case '(':
		p.pos++
		v := p.sum(depth + 1)
		if p.peek() != ')' {
			p.bad = true
			return 0
		}
		p.pos++
		return v
	}
	start := p.pos
	for p.pos < len(p.s) && (isDigit(p.s[p.pos]) || p.s[p.pos] == '.' || p.s[p.pos] == ',') {
		p.pos++
	}
	t := strings.ReplaceAll(p.s[start:p.pos], ",", "")
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || t == "" {
		p.bad = true
		return 0
	}
	return v
}
