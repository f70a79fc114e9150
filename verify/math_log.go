package verify

import "math"

// logAbs returns ln|v| and the sign of the value of n when float64 cannot
// hold v itself (1/2006!, 10^{400}, (1/2)^{5000}): factorials by lgamma,
// powers by exponent·ln|base|, products and quotients by sums of logs, sums
// by a signed log-sum-exp. ok is false when the magnitude cannot be told
// (an unknown function, a sum that cancels, a symbol).
func logAbs(n *node, depth int) (l float64, sign int, ok bool) {
	if depth > maxParseDepth {
		return 0, 0, false
	}
	switch n.op {
	case opNum:
		f, _ := n.num.Float64()
		if f == 0 || !finite(f) {
			return 0, 0, false
		}
		return math.Log(math.Abs(f)), signOf(f), true
	case opSym:
		switch n.lit {
		case "pi":
			return math.Log(math.Pi), 1, true
		case "e":
			return 1, 1, true
		}
		return 0, 0, false
	case opNeg:
		l, s, ok := logAbs(n.kids[0], depth+1)
		return l, -s, ok
	case opMul:
		l, s := 0.0, 1
		for _, k := range n.kids {
			lk, sk, ok := logAbs(k, depth+1)
			if !ok {
				return 0, 0, false
			}
			l += lk
			s *= sk
		}
		return l, s, finite(l)
	case opDiv:
		la, sa, ok1 := logAbs(n.kids[0], depth+1)
		lb, sb, ok2 := logAbs(n.kids[1], depth+1)
		if !ok1 || !ok2 {
			return 0, 0, false
		}
		return la - lb, sa * sb, finite(la - lb)
	case opPow:
		x := approx(n.kids[1], nil)
		if !finite(x) {
			return 0, 0, false
		}
		lb, sb, ok := logAbs(n.kids[0], depth+1)
		if !ok {
			return 0, 0, false
		}
		s := 1
		if sb < 0 {
			if x != math.Trunc(x) {
				return 0, 0, false
			}
			if math.Mod(x, 2) != 0 {
				s = -1
			}
		}
		return x * lb, s, finite(x * lb)
	case opSqrt:
		la, sa, ok := logAbs(n.kids[0], depth+1)
		if !ok || sa < 0 {
			return 0, 0, false
		}
		k := 2.0
		if len(n.kids) > 1 {
			k = approx(n.kids[1], nil)
		}
		return la / k, 1, finite(la / k)
	case opFact:
		a := approx(n.kids[0], nil)
		if !finite(a) || a < 0 || a != math.Trunc(a) {
			return 0, 0, false
		}
		l, _ := math.Lgamma(a + 1)
		return l, 1, finite(l)
	case opBinom:
		a, b := approx(n.kids[0], nil), approx(n.kids[1], nil)
		if !finite(a) || !finite(b) || b < 0 || b > a || a != math.Trunc(a) || b != math.Trunc(b) {
			return 0, 0, false
		}
		la, _ := math.Lgamma(a + 1)
		lb, _ := math.Lgamma(b + 1)
		lc, _ := math.Lgamma(a - b + 1)
		return la - lb - lc, 1, finite(la - lb - lc)
	case opAdd:
		ls := make([]float64, len(n.kids))
		ss := make([]int, len(n.kids))
		hi := math.Inf(-1)
		for i, k := range n.kids {
			l, s, ok := logAbs(k, depth+1)
			if !ok {
				return 0, 0, false
			}
			ls[i], ss[i] = l, s
			hi = math.Max(hi, l)
		}
		sum := 0.0
		for i := range ls {
			t := math.Exp(ls[i] - hi)
			if t < 1e-12 {
				return 0, 0, false // a term below float precision: 10^{10^{10}} + 1 cannot be told from 10^{10^{10}}
			}
			sum += float64(ss[i]) * t
		}
		if math.Abs(sum) < 1e-9 {
			return 0, 0, false // cancels: magnitude unknown at this precision
		}
		return hi + math.Log(math.Abs(sum)), signOf(sum), true
	}
	v := approx(n, nil)
	if v == 0 || !finite(v) {
		return 0, 0, false
	}
	return math.Log(math.Abs(v)), signOf(v), true
}

func signOf(f float64) int {
	if f < 0 {
		return -1
	}
	return 1
}

// outOfFloatRange reports whether a float64 evaluation lost the value:
// overflowed to ±Inf, or is so close to zero or so large that rounding
// swamps the comparison.
func outOfFloatRange(x float64) bool {
	a := math.Abs(x)
	return math.IsInf(x, 0) || a > 1e290 || a < 1e-290
}
