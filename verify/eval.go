package verify

import (
	"math"
	"math/big"
)

// Bounds on exact arithmetic: beyond them a value is evaluated in floating
// point only (and 9^{9^{9^9}} becomes +Inf rather than a gigabyte integer).
//
// Factorials, binomials and powers of exact rationals stay exact up to these
// bounds (so 1/2006! never equals 1/2004!); past them, values too large or
// too small for float64 are compared by the logarithm of their magnitude
// (see logAbs), never as 0 = 0 or ∞ = ∞.
const (
	maxExactBits = 1 << 15 // numerator or denominator size of an exact intermediate
	maxFactorial = 3000    // n! is computed exactly up to this n (3000! has 30,000 bits)
	maxExactWork = 1 << 17 // bits of big results one evaluation may produce in total
)

// exact evaluates n as an exact rational when it is one: integers, decimals,
// fractions, integer powers, factorials, binomials and perfect-square roots.
// ok is false when the value is not (known to be) rational or too large.
// One call produces at most maxExactWork bits of big intermediate results,
// so a hostile answer full of 3000! terms stays cheap.
func exact(n *node) (r *big.Rat, ok bool) {
	work := maxExactWork
	return exactW(n, &work)
}

// spend charges bits against the work budget; false when it is exhausted.
func spend(work *int, bits int) bool {
	if bits < 64 {
		return true
	}
	*work -= bits
	return *work >= 0
}

func ratBits(r *big.Rat) int { return r.Num().BitLen() + r.Denom().BitLen() }

func exactW(n *node, work *int) (r *big.Rat, ok bool) {
	exact := func(k *node) (*big.Rat, bool) { return exactW(k, work) }
	switch n.op {
	case opNum:
		return n.num, true
	case opNeg:
		a, ok := exact(n.kids[0])
		if !ok {
			return nil, false
		}
		return new(big.Rat).Neg(a), true
	case opAdd:
		sum := new(big.Rat)
		for _, k := range n.kids {
			a, ok := exact(k)
			if !ok {
				return nil, false
			}
			sum.Add(sum, a)
			if tooBig(sum) || !spend(work, ratBits(sum)) {
				return nil, false
			}
		}
		return sum, true
	case opMul:
		prod := big.NewRat(1, 1)
		for _, k := range n.kids {
			a, ok := exact(k)
			if !ok {
				return nil, false
			}
			prod.Mul(prod, a)
			if tooBig(prod) || !spend(work, ratBits(prod)) {
				return nil, false
			}
		}
		return prod, true
	case opDiv:
		a, ok := exact(n.kids[0])
		if !ok {
			return nil, false
		}
		b, ok := exact(n.kids[1])
		if !ok || b.Sign() == 0 {
			return nil, false
		}
		q := new(big.Rat).Quo(a, b)
		return q, !tooBig(q) && spend(work, ratBits(q))
	case opPow:
		a, ok := exact(n.kids[0])
		if !ok {
			return nil, false
		}
		e, ok := exact(n.kids[1])
		if !ok || !e.IsInt() {
			// rational exponent of a perfect power: 8^{1/3}, 4^{1/2}
			if ok && e.Denom().IsInt64() && e.Denom().Int64() <= 12 && a.Sign() >= 0 {
				root, ok := ratRoot(a, int(e.Denom().Int64()))
				if !ok {
					return nil, false
				}
				r, ok := ratPow(root, new(big.Rat).SetInt(e.Num()))
				return r, ok && spend(work, ratBits(r))
			}
			return nil, false
		}
		r, ok := ratPow(a, e)
		return r, ok && spend(work, ratBits(r))
	case opSqrt:
		a, ok := exact(n.kids[0])
		if !ok || a.Sign() < 0 {
			return nil, false
		}
		k := 2
		if len(n.kids) > 1 {
			idx, ok := exact(n.kids[1])
			if !ok || !idx.IsInt() || !idx.Num().IsInt64() || idx.Num().Int64() < 2 || idx.Num().Int64() > 64 {
				return nil, false
			}
			k = int(idx.Num().Int64())
		}
		return ratRoot(a, k)
	case opFact:
		a, ok := exact(n.kids[0])
		if !ok || !a.IsInt() || a.Sign() < 0 || a.Num().Cmp(big.NewInt(maxFactorial)) > 0 {
			return nil, false
		}
		k := a.Num().Int64()
		if k > 2 && !spend(work, int(float64(k)*math.Log2(float64(k)))) {
			return nil, false
		}
		f := new(big.Int).MulRange(1, k)
		return new(big.Rat).SetInt(f), true
	case opBinom:
		a, ok1 := exact(n.kids[0])
		b, ok2 := exact(n.kids[1])
		if !ok1 || !ok2 || !a.IsInt() || !b.IsInt() || !a.Num().IsInt64() || !b.Num().IsInt64() {
			return nil, false
		}
		nn, kk := a.Num().Int64(), b.Num().Int64()
		if nn < 0 || kk < 0 || nn > 100000 || kk > nn {
			if kk > nn && nn >= 0 {
				return new(big.Rat), true
			}
			return nil, false
		}
		if kk > nn-kk {
			kk = nn - kk
		}
		bits := int(float64(kk) * math.Log2(float64(nn)+1))
		if kk > 2000 || bits > maxExactBits/2 || !spend(work, bits) {
			return nil, false
		}
		return new(big.Rat).SetInt(new(big.Int).Binomial(nn, kk)), true
	case opFunc:
		if n.lit == "abs" {
			a, ok := exact(n.kids[0])
			if !ok {
				return nil, false
			}
			return new(big.Rat).Abs(a), true
		}
		if n.lit == "floor" || n.lit == "ceil" {
			a, ok := exact(n.kids[0])
			if !ok {
				return nil, false
			}
			q, m := new(big.Int).DivMod(a.Num(), a.Denom(), new(big.Int))
			if n.lit == "ceil" && m.Sign() != 0 {
				q.Add(q, big.NewInt(1))
			}
			return new(big.Rat).SetInt(q), true
		}
	}
	return nil, false
}

func tooBig(r *big.Rat) bool {
	return r.Num().BitLen() > maxExactBits || r.Denom().BitLen() > maxExactBits
}

func ratPow(a, e *big.Rat) (*big.Rat, bool) {
	if !e.Num().IsInt64() {
		return nil, false
	}
	k := e.Num().Int64()
	neg := k < 0
	if neg {
		k = -k
		if a.Sign() == 0 {
			return nil, false
		}
	}
	bits := int64(a.Num().BitLen())
	if db := int64(a.Denom().BitLen()); db > bits {
		bits = db
	}
	if bits > 1 && k*(bits-1) > maxExactBits || k > maxExactBits*4 {
		return nil, false
	}
	num := new(big.Int).Exp(a.Num(), big.NewInt(k), nil)
	den := new(big.Int).Exp(a.Denom(), big.NewInt(k), nil)
	r := new(big.Rat).SetFrac(num, den)
	if neg {
		r.Inv(r)
	}
	return r, !tooBig(r)
}

// ratRoot returns the k-th root of a when it is rational.
func ratRoot(a *big.Rat, k int) (*big.Rat, bool) {
	if a.Sign() == 0 {
		return new(big.Rat), true
	}
	num, ok1 := intRoot(a.Num(), k)
	den, ok2 := intRoot(a.Denom(), k)
	if !ok1 || !ok2 {
		return nil, false
	}
	return new(big.Rat).SetFrac(num, den), true
}

func intRoot(x *big.Int, k int) (*big.Int, bool) {
	if x.Sign() < 0 {
		return nil, false
	}
	if k == 2 {
		r := new(big.Int).Sqrt(x)
		return r, new(big.Int).Mul(r, r).Cmp(x) == 0
	}
	// float guess then check neighbours
	f, _ := new(big.Float).SetInt(x).Float64()
	if math.IsInf(f, 0) {
		return nil, false
	}
	g := math.Round(math.Pow(f, 1/float64(k)))
	for d := -1.0; d <= 1; d++ {
		c, _ := big.NewFloat(g + d).Int(nil)
		if c.Sign() < 0 {
			continue
		}
		if new(big.Int).Exp(c, big.NewInt(int64(k)), nil).Cmp(x) == 0 {
			return c, true
		}
	}
	return nil, false
}

// env maps symbol names to values for numeric evaluation.
type env map[string]float64

// approx evaluates n in float64 with symbols bound by e (pi is π and the
// symbol e is Euler's number; unbound symbols are NaN).
func approx(n *node, e env) float64 {
	switch n.op {
	case opNum:
		f, _ := n.num.Float64()
		return f
	case opSym:
		if v, ok := e[n.lit]; ok {
			return v
		}
		switch n.lit {
		case "pi":
			return math.Pi
		case "e":
			return math.E
		}
		return math.NaN()
	case opInf:
		return math.Inf(1)
	case opNeg:
		return -approx(n.kids[0], e)
	case opAdd:
		s := 0.0
		for _, k := range n.kids {
			s += approx(k, e)
		}
		return s
	case opMul:
		s := 1.0
		for _, k := range n.kids {
			s *= approx(k, e)
		}
		return s
	case opDiv:
		return approx(n.kids[0], e) / approx(n.kids[1], e)
	case opPow:
		b, x := approx(n.kids[0], e), approx(n.kids[1], e)
		if b < 0 && x != math.Trunc(x) {
			// odd roots of negatives: (-8)^{1/3}
			if r, ok := exact(n.kids[1]); ok && r.Denom().Bit(0) == 1 {
				v := math.Pow(-b, x)
				if r.Num().Bit(0) == 1 {
					return -v
				}
				return v
			}
		}
		return math.Pow(b, x)
	case opSqrt:
		a := approx(n.kids[0], e)
		if len(n.kids) > 1 {
			k := approx(n.kids[1], e)
			if a < 0 && math.Mod(k, 2) == 1 {
				return -math.Pow(-a, 1/k)
			}
			return math.Pow(a, 1/k)
		}
		return math.Sqrt(a)
	case opFact:
		a := approx(n.kids[0], e)
		if a < 0 || a != math.Trunc(a) {
			return math.Gamma(a + 1)
		}
		if a > 170 {
			return math.Inf(1)
		}
		return math.Gamma(a + 1)
	case opBinom:
		a, b := approx(n.kids[0], e), approx(n.kids[1], e)
		la, _ := math.Lgamma(a + 1)
		lb, _ := math.Lgamma(b + 1)
		lc, _ := math.Lgamma(a - b + 1)
		return math.Round(math.Exp(la - lb - lc))
	case opFunc:
		a := approx(n.kids[0], e)
		switch n.lit {
		case "sin":
			return math.Sin(a)
		case "cos":
			return math.Cos(a)
		case "tan":
			return math.Tan(a)
		case "sec":
			return 1 / math.Cos(a)
		case "csc":
			return 1 / math.Sin(a)
		case "cot":
			return 1 / math.Tan(a)
		case "asin":
			return math.Asin(a)
		case "acos":
			return math.Acos(a)
		case "atan":
			return math.Atan(a)
		case "sinh":
			return math.Sinh(a)
		case "cosh":
			return math.Cosh(a)
		case "tanh":
			return math.Tanh(a)
		case "ln":
			return math.Log(a)
		case "log":
			if len(n.kids) > 1 {
				return math.Log(a) / math.Log(approx(n.kids[1], e))
			}
			return math.Log10(a)
		case "log10":
			return math.Log10(a)
		case "exp":
			return math.Exp(a)
		case "abs":
			return math.Abs(a)
		case "floor":
			return math.Floor(a)
		case "ceil":
			return math.Ceil(a)
		}
	}
	return math.NaN()
}

// symbols collects the free symbols of n (the constants π and e excluded).
func symbols(n *node, into map[string]bool) {
	if n.op == opSym && n.lit != "pi" && n.lit != "e" {
		into[n.lit] = true
	}
	for _, k := range n.kids {
		symbols(k, into)
	}
}

// hasDecimal reports whether n contains a decimal literal and the fewest
// fractional digits written in any of them.
func hasDecimal(n *node) (bool, int) {
	if n.op == opNum && n.dec >= 0 {
		return true, n.dec
	}
	found, minDec := false, 1<<30
	for _, k := range n.kids {
		if f, d := hasDecimal(k); f {
			found = true
			if d < minDec {
				minDec = d
			}
		}
	}
	return found, minDec
}
