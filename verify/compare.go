package verify

import (
	"math"
	"strings"
)

// Comparison methods reported in Verdict.Method.
const (
	MethodString     = "string"         // normalized strings are identical
	MethodText       = "text"           // case-insensitive text answer
	MethodChoice     = "choice"         // multiple-choice letter
	MethodStructural = "structural"     // identical expression trees
	MethodExact      = "exact-rational" // exact rational arithmetic (math/big)
	MethodNumeric    = "numeric"        // high-precision float evaluation (radicals, π, logs)
	MethodDecimal    = "decimal"        // a decimal literal matches to the digits it shows
	MethodSymbolic   = "symbolic"       // expressions with variables agree at random points
	MethodSet        = "set"            // unordered sets / solution lists / ± expansions
	MethodTuple      = "tuple"          // ordered tuples, intervals, matrices
	MethodRelation   = "relation"       // equations / inequalities equivalent up to scaling
	MethodNone       = "none"           // nothing to compare (no answer, unparsable)
	MethodMismatch   = "mismatch"       // compared and found different
	MethodJudge      = "judge"          // decided by an LLM judge
	maxSetElems      = 64               // larger sets are compared structurally only
	maxPMTerms       = 4                // at most 2^4 ± expansions
	relTol           = 1e-9             // relative tolerance for float comparison
	symPoints        = 6                // random points for expressions with variables
	minSigDigits     = 3                // a decimal literal needs this many significant digits to match approximately
	defaultRoundings = 6                // both-decimal fallback: compare after rounding to 6 places
	maxSetProduct    = maxSetElems * maxSetElems
)

type comparer struct {
	rounding int // >0: Math-Verify style rounding to this many decimals
	method   string
}

func (c *comparer) set(m string, ok bool) bool {
	if ok && c.method == "" {
		c.method = m
	}
	return ok
}

// equal compares reference a with prediction b.
func (c *comparer) equal(a, b *node, depth int) bool {
	if depth > 40 {
		return false
	}
	if canon(a) == canon(b) {
		return c.set(MethodStructural, true)
	}
	// relations
	if a.op == opRel || b.op == opRel {
		if a.op == opRel && b.op == opRel {
			if c.relEqual(a, b) {
				return true
			}
		}
		ra, rb := a, b
		if a.op == opRel {
			ra = reduceRel(a)
		}
		if b.op == opRel {
			rb = reduceRel(b)
		}
		if ra == nil || rb == nil || (ra == a && rb == b) {
			return false
		}
		return c.equal(ra, rb, depth+1)
	}
	// single-element wrappers
	if a.op == opSeq && len(a.kids) == 1 && b.op != opSeq {
		return c.equal(a.kids[0], b, depth+1)
	}
	if b.op == opSeq && len(b.kids) == 1 && a.op != opSeq {
		return c.equal(a, b.kids[0], depth+1)
	}
	// ± expands to a set
	pa, pb := hasPM(a), hasPM(b)
	if pa || pb {
		ea, eb := expandList(a), expandList(b)
		if ea == nil || eb == nil {
			return false
		}
		return c.set(MethodSet, c.unordered(ea, eb, depth))
	}
	switch {
	case a.op == opUnion || b.op == opUnion:
		// "x ≤ 2 or x ≥ 3" (a bare list) reads as a union too
		unionParts := func(n *node) []*node {
			if n.op == opUnion || (n.op == opSeq && n.open == 0) {
				return n.kids
			}
			return nil
		}
		pa, pb := unionParts(a), unionParts(b)
		if pa == nil || pb == nil {
			return false
		}
		return c.set(MethodSet, c.unordered(pa, pb, depth))
	case a.op == opMatrix || b.op == opMatrix || hasMatrix(a) || hasMatrix(b):
		return c.matrixEqual(a, b, depth)
	case a.op == opSeq && b.op == opSeq:
		return c.seqEqual(a, b, depth)
	case b.op == opSeq && b.open == 0 && len(b.kids) <= maxSetElems:
		// "15\frac{39}{40} or \frac{639}{40}": every alternative must match
		for _, k := range b.kids {
			if !c.equal(a, k, depth+1) {
				return false
			}
		}
		return true
	case a.op == opSeq || b.op == opSeq:
		return false
	}
	return c.scalarEqual(a, b)
}

func isSetLike(n *node) bool { return n.op == opSeq && (n.open == '{' || n.open == 0) }

func (c *comparer) seqEqual(a, b *node, depth int) bool {
	if isSetLike(a) && isSetLike(b) {
		return c.set(MethodSet, c.unordered(a.kids, b.kids, depth))
	}
	if len(a.kids) != len(b.kids) {
		return false
	}
	// brackets must agree for intervals and tuples; a bare list or a set
	// compares in written order against a tuple.
	if !isSetLike(a) && !isSetLike(b) && (a.open != b.open || a.close != b.close) {
		return false
	}
	for i := range a.kids {
		if !c.equal(a.kids[i], b.kids[i], depth+1) {
			return false
		}
	}
	return c.set(MethodTuple, true)
}

func (c *comparer) matrixEqual(a, b *node, depth int) bool {
	if m := matrixValue(a, 0); m != nil && a.op != opMatrix {
		a = m
	}
	if m := matrixValue(b, 0); m != nil && b.op != opMatrix {
		b = m
	}
	fa, ra := flattenMatrix(a)
	fb, rb := flattenMatrix(b)
	if fa == nil || fb == nil || len(fa) != len(fb) || (ra != rb && ra > 0 && rb > 0 && a.op == opMatrix && b.op == opMatrix) {
		return false
	}
	for i := range fa {
		if !c.equal(fa[i], fb[i], depth+1) {
			return false
		}
	}
	return c.set(MethodTuple, true)
}

// flattenMatrix returns the entries row by row and the row count; a tuple
// counts as a column vector.
func flattenMatrix(n *node) ([]*node, int) {
	switch n.op {
	case opMatrix:
		var out []*node
		for _, r := range n.kids {
			out = append(out, r.kids...)
		}
		return out, len(n.kids)
	case opSeq:
		if n.open == '(' || n.open == '[' {
			if len(n.kids) == 1 && n.kids[0].op == opMatrix {
				return flattenMatrix(n.kids[0])
			}
			return n.kids, len(n.kids)
		}
	}
	return nil, 0
}

// unordered matches two multisets greedily.
func (c *comparer) unordered(as, bs []*node, depth int) bool {
	if len(as) > maxSetElems || len(bs) > maxSetElems || len(as) == 0 || len(bs) == 0 {
		return false
	}
	matchedB := make([]bool, len(bs))
	saved := c.method
	defer func() { c.method = saved }()
	for _, x := range as {
		found := false
		for j, y := range bs {
			if c.equal(x, y, depth+1) {
				matchedB[j] = true
				found = true
				if len(as) == len(bs) {
					break
				}
			}
		}
		if !found {
			return false
		}
	}
	for j, ok := range matchedB {
		if ok {
			continue
		}
		found := false
		for _, x := range as {
			if c.equal(x, bs[j], depth+1) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func hasPM(n *node) bool {
	if n.op == opPM {
		return true
	}
	for _, k := range n.kids {
		if hasPM(k) {
			return true
		}
	}
	return false
}

// expandList turns a node into the list of values it denotes: a set/list's
// elements, with each ± expanded into both signs.
func expandList(n *node) []*node {
	var items []*node
	if isSetLike(n) {
		items = n.kids
	} else {
		items = []*node{n}
	}
	var out []*node
	for _, it := range items {
		ex := expandPM(it, 0)
		if ex == nil {
			return nil
		}
		out = append(out, ex...)
		if len(out) > maxSetElems {
			return nil
		}
	}
	return out
}

func expandPM(n *node, count int) []*node {
	if count > maxPMTerms {
		return nil
	}
	if !hasPM(n) {
		return []*node{n}
	}
	if n.op == opPM {
		ls := expandPM(n.kids[0], count+1)
		rs := expandPM(n.kids[1], count+1)
		if ls == nil || rs == nil {
			return nil
		}
		var out []*node
		for _, l := range ls {
			for _, r := range rs {
				out = append(out, &node{op: opAdd, kids: []*node{l, r}}, &node{op: opAdd, kids: []*node{l, {op: opNeg, kids: []*node{r}}}})
			}
		}
		return out
	}
	// expand the first child holding a ±
	for i, k := range n.kids {
		if !hasPM(k) {
			continue
		}
		ks := expandPM(k, count+1)
		if ks == nil {
			return nil
		}
		var out []*node
		for _, v := range ks {
			cp := *n
			cp.kids = append([]*node(nil), n.kids...)
			cp.kids[i] = v
			more := expandPM(&cp, count+1)
			if more == nil {
				return nil
			}
			out = append(out, more...)
		}
		return out
	}
	return []*node{n}
}

// isLabel reports whether n names a quantity rather than giving a value:
// x, a_3, f(x), |AB|, (p,q), NO/BO.
func isLabel(n *node) bool {
	switch n.op {
	case opSym:
		return n.lit != "pi" && n.lit != "e"
	case opMul:
		if len(n.kids) == 0 || n.kids[0].op != opSym {
			return false
		}
		for _, k := range n.kids[1:] {
			if k.op != opSym && k.op != opNum && !(k.op == opSeq && allLabels(k.kids)) {
				return false
			}
		}
		return true
	case opFunc:
		return n.lit == "abs" && isLabel(n.kids[0])
	case opSeq:
		return (n.open == '(' || n.open == ':') && allLabels(n.kids)
	case opDiv:
		return isLabel(n.kids[0]) && isLabel(n.kids[1])
	}
	return false
}

func allLabels(ns []*node) bool {
	for _, k := range ns {
		if !isLabel(k) {
			return false
		}
	}
	return len(ns) > 0
}

// reduceRel turns a relation into the value it states, or nil when it is a
// genuine equation: "x = 5" → 5; "x = 5+5+1 = 11" → 11; "x = 1/3 ≈ 0.33" →
// 1/3; "x ∈ [0,1)" → [0,1); "a < x < b" → (a, b); "x ≥ 5" → [5, ∞).
func reduceRel(n *node) *node {
	parts, ops := ratioMerge(n)
	allEq := true
	for _, op := range ops {
		if op == "in" {
			return parts[len(parts)-1]
		}
		if op != "=" && op != "~" {
			allEq = false
		}
	}
	if len(ops) == 0 {
		return parts[0]
	}
	if !allEq {
		return inequalityInterval(parts, ops)
	}
	start := 0
	if isLabel(parts[0]) {
		start = 1
	} else if len(parts) == 2 {
		if !hasSymbols(parts[0]) && !hasSymbols(parts[1]) {
			return parts[1] // "1/2 = 10/9": the computed value is the answer
		}
		return nil
	}
	// last part introduced by "="; else the last part
	for i := len(parts) - 1; i >= start && i >= 1; i-- {
		if ops[i-1] == "=" && i >= start {
			return parts[i]
		}
	}
	return parts[len(parts)-1]
}

// ratioMerge folds "a : b" parts of a relation chain into ratio tuples.
func ratioMerge(n *node) ([]*node, []string) {
	var parts []*node
	var ops []string
	cur := []*node{n.kids[0]}
	flush := func() {
		if len(cur) == 1 {
			parts = append(parts, cur[0])
		} else {
			parts = append(parts, &node{op: opSeq, open: ':', close: ':', kids: cur})
		}
	}
	for i, op := range n.rels {
		if op == ":" {
			cur = append(cur, n.kids[i+1])
			continue
		}
		flush()
		ops = append(ops, op)
		cur = []*node{n.kids[i+1]}
	}
	flush()
	return parts, ops
}

func inequalityInterval(parts []*node, ops []string) *node {
	inf := &node{op: opInf}
	ninf := &node{op: opNeg, kids: []*node{inf}}
	lower := func(op string) byte { // bracket for a lower bound reached via op
		if op == "<=" || op == ">=" {
			return '['
		}
		return '('
	}
	upper := func(op string) byte {
		if op == "<=" || op == ">=" {
			return ']'
		}
		return ')'
	}
	switch len(parts) {
	case 2:
		x, v, op := parts[0], parts[1], ops[0]
		if !isLabel(x) {
			if isLabel(v) {
				x, v, op = v, x, flip(op)
			} else {
				return nil
			}
		}
		if x.op == opFunc && x.lit == "abs" {
			// |x| < b is (-b, b); |x| > a is (-∞, -a) ∪ (a, ∞)
			switch op {
			case "<", "<=":
				return &node{op: opSeq, open: lower(op), close: upper(op), kids: []*node{{op: opNeg, kids: []*node{v}}, v}}
			case ">", ">=":
				return &node{op: opUnion, kids: []*node{
					{op: opSeq, open: '(', close: upper(op), kids: []*node{ninf, {op: opNeg, kids: []*node{v}}}},
					{op: opSeq, open: lower(op), close: ')', kids: []*node{v, inf}},
				}}
			}
			return nil
		}
		switch op {
		case "<", "<=":
			return &node{op: opSeq, open: '(', close: upper(op), kids: []*node{ninf, v}}
		case ">", ">=":
			return &node{op: opSeq, open: lower(op), close: ')', kids: []*node{v, inf}}
		}
	case 3:
		if !isLabel(parts[1]) {
			return nil
		}
		if parts[1].op == opFunc && parts[1].lit == "abs" {
			return absBand(parts, ops)
		}
		if (ops[0] == "<" || ops[0] == "<=") && (ops[1] == "<" || ops[1] == "<=") {
			return &node{op: opSeq, open: lower(ops[0]), close: upper(ops[1]), kids: []*node{parts[0], parts[2]}}
		}
		if (ops[0] == ">" || ops[0] == ">=") && (ops[1] == ">" || ops[1] == ">=") {
			return &node{op: opSeq, open: lower(ops[1]), close: upper(ops[0]), kids: []*node{parts[2], parts[0]}}
		}
	}
	return nil
}

func flip(op string) string {
	switch op {
	case "<":
		return ">"
	case ">":
		return "<"
	case "<=":
		return ">="
	case ">=":
		return "<="
	}
	return op
}

// relEqual compares two single relations l op r as "l - r op 0", equivalent
// when one side is a constant multiple of the other (positive for
// inequalities).
func (c *comparer) relEqual(a, b *node) bool {
	if len(a.kids) != 2 || len(b.kids) != 2 {
		return false
	}
	fa, oa := relForm(a)
	fb, ob := relForm(b)
	if fa == nil || fb == nil || oa != ob {
		return false
	}
	syms := map[string]bool{}
	symbols(fa, syms)
	symbols(fb, syms)
	if len(syms) == 0 {
		return false
	}
	ratio := math.NaN()
	valid := 0
	for p := range symPoints {
		e := pointEnv(syms, p)
		va, vb := approx(fa, e), approx(fb, e)
		if !finite(va) || !finite(vb) {
			continue
		}
		if math.Abs(va) < 1e-12 && math.Abs(vb) < 1e-12 {
			continue
		}
		if vb == 0 {
			return false
		}
		r := va / vb
		if math.IsNaN(ratio) {
			ratio = r
		} else if math.Abs(r-ratio) > 1e-8*math.Max(1, math.Abs(ratio)) {
			return false
		}
		valid++
	}
	if valid < 2 || ratio == 0 || (oa != "=" && oa != "!=" && ratio < 0) {
		return false
	}
	return c.set(MethodRelation, true)
}

func relForm(n *node) (*node, string) {
	l, r, op := n.kids[0], n.kids[1], n.rels[0]
	switch op {
	case ">":
		l, r, op = r, l, "<"
	case ">=":
		l, r, op = r, l, "<="
	case "=", "<", "<=", "!=", "~":
		if op == "~" {
			op = "="
		}
	default:
		return nil, ""
	}
	return &node{op: opAdd, kids: []*node{l, {op: opNeg, kids: []*node{r}}}}, op
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// pointEnv assigns deterministic pseudo-random values in (0.5, 2.5) to
// symbols for evaluation point p.
func pointEnv(syms map[string]bool, p int) env {
	e := make(env, len(syms))
	for s := range syms {
		h := uint64(1469598103934665603)
		for i := 0; i < len(s); i++ {
			h ^= uint64(s[i])
			h *= 1099511628211
		}
		h ^= uint64(p+1) * 0x9E3779B97F4A7C15
		h ^= h >> 33
		h *= 0xff51afd7ed558ccd
		h ^= h >> 33
		e[s] = 0.5 + 2*float64(h%1000003)/1000003
	}
	return e
}

func isInfNode(n *node) (bool, int) {
	switch n.op {
	case opInf:
		return true, 1
	case opNeg:
		if ok, s := isInfNode(n.kids[0]); ok {
			return true, -s
		}
	}
	return false, 0
}

// scalarEqual compares two scalar expressions.
func (c *comparer) scalarEqual(a, b *node) bool {
	if ia, sa := isInfNode(a); ia {
		ib, sb := isInfNode(b)
		return c.set(MethodStructural, ib && sa == sb)
	}
	if ib, _ := isInfNode(b); ib {
		return false
	}
	da, decA := hasDecimal(a)
	db, decB := hasDecimal(b)
	ea, okA := exact(a)
	eb, okB := exact(b)
	if okA && okB {
		if ea.Cmp(eb) == 0 {
			return c.set(MethodExact, true)
		}
		if !da && !db {
			return false
		}
	}
	syms := map[string]bool{}
	symbols(a, syms)
	symbols(b, syms)
	if len(syms) > 0 {
		return c.symbolicEqual(a, b, syms)
	}
	fa, fb := approx(a, nil), approx(b, nil)
	if outOfFloatRange(fa) || outOfFloatRange(fb) {
		// 1/2006! and 1/2004! both underflow to 0: compare magnitudes
		la, sa, okA := logAbs(a, 0)
		lb, sb, okB := logAbs(b, 0)
		if okA && okB {
			return c.set(MethodNumeric, sa == sb && math.Abs(la-lb) <= 1e-12*math.Max(1, math.Abs(la)))
		}
	}
	if !finite(fa) || !finite(fb) {
		return false
	}
	if c.rounding > 0 && (da || db) {
		return c.set(MethodDecimal, roundTo(fa, c.rounding) == roundTo(fb, c.rounding))
	}
	switch {
	case da && db:
		if okA && okB {
			return c.set(MethodDecimal, roundSig(fa, defaultRoundings) == roundSig(fb, defaultRoundings))
		}
		d := min(decA, decB)
		return c.set(MethodDecimal, decimalMatch(fa, fb, d, a, b))
	case da:
		return c.set(MethodDecimal, decimalMatch(fb, fa, decA, a, nil))
	case db:
		return c.set(MethodDecimal, decimalMatch(fa, fb, decB, b, nil))
	}
	return c.set(MethodNumeric, closeRel(fa, fb))
}

func closeRel(x, y float64) bool {
	if x == y {
		return true
	}
	return math.Abs(x-y) <= relTol*math.Max(math.Abs(x), math.Abs(y))
}

// roundSig rounds x to d significant digits.
func roundSig(x float64, d int) float64 {
	if x == 0 || !finite(x) {
		return x
	}
	e := math.Floor(math.Log10(math.Abs(x)))
	return roundTo(x, d-1-int(e))
}

func roundTo(x float64, d int) float64 {
	p := math.Pow(10, float64(d))
	return math.Round(x*p) / p
}

// decimalMatch reports whether the literal-bearing value lit (written with
// dec fractional digits) is truth rounded to those digits. The literal must
// show at least minSigDigits significant digits, so 0.3 never matches 1/3
// but 0.333 does; float error is allowed for relTol.
func decimalMatch(truth, lit float64, dec int, litNode, other *node) bool {
	if closeRel(truth, lit) {
		return true
	}
	if sig := sigDigits(litNode); sig < minSigDigits {
		return false
	}
	if dec > 12 {
		dec = 12
	}
	tol := 0.5 * math.Pow(10, -float64(dec))
	return math.Abs(truth-lit) <= tol*(1+1e-9)+relTol*math.Abs(truth)
}

// sigDigits counts the significant digits of the least precise decimal
// literal in n.
func sigDigits(n *node) int {
	best := 1 << 30
	var walk func(*node)
	walk = func(n *node) {
		if n.op == opNum && n.dec >= 0 {
			lit := n.lit
			if k := strings.IndexAny(lit, "eE"); k >= 0 {
				lit = lit[:k]
			}
			s := strings.TrimLeft(strings.ReplaceAll(lit, ".", ""), "0")
			if len(s) < best {
				best = len(s)
			}
		}
		for _, k := range n.kids {
			walk(k)
		}
	}
	walk(n)
	return best
}

func (c *comparer) symbolicEqual(a, b *node, syms map[string]bool) bool {
	valid := 0
	for p := range symPoints {
		e := pointEnv(syms, p)
		va, vb := approx(a, e), approx(b, e)
		if !finite(va) || !finite(vb) {
			continue
		}
		if math.Abs(va-vb) > 1e-8*math.Max(1e-12, math.Max(math.Abs(va), math.Abs(vb))) {
			return false
		}
		valid++
	}
	return c.set(MethodSymbolic, valid >= 2)
}

func hasSymbols(n *node) bool {
	m := map[string]bool{}
	symbols(n, m)
	return len(m) > 0
}

func hasMatrix(n *node) bool {
	if n.op == opMatrix {
		return true
	}
	if n.op != opAdd && n.op != opMul && n.op != opNeg {
		return false
	}
	for _, k := range n.kids {
		if hasMatrix(k) {
			return true
		}
	}
	return false
}

// matrixValue evaluates sums, negations and products of matrices (and
// scalar multiples) into a matrix of entry expressions; nil if n is not such
// an expression or the shapes do not fit.
func matrixValue(n *node, depth int) *node {
	if depth > 20 {
		return nil
	}
	switch n.op {
	case opMatrix:
		if len(n.kids) == 0 {
			return nil
		}
		cols := -1
		for _, r := range n.kids {
			if cols >= 0 && len(r.kids) != cols {
				return nil
			}
			cols = len(r.kids)
		}
		if cols == 0 {
			return nil
		}
		return n
	case opNeg:
		m := matrixValue(n.kids[0], depth+1)
		if m == nil {
			return nil
		}
		return mapEntries(m, func(e *node) *node { return &node{op: opNeg, kids: []*node{e}} })
	case opAdd:
		var acc *node
		for _, k := range n.kids {
			m := matrixValue(k, depth+1)
			if m == nil {
				return nil
			}
			if acc == nil {
				acc = m
				continue
			}
			if len(acc.kids) != len(m.kids) || len(acc.kids[0].kids) != len(m.kids[0].kids) {
				return nil
			}
			out := &node{op: opMatrix}
			for i, r := range acc.kids {
				row := &node{op: opSeq}
				for j, e := range r.kids {
					row.kids = append(row.kids, &node{op: opAdd, kids: []*node{e, m.kids[i].kids[j]}})
				}
				out.kids = append(out.kids, row)
			}
			acc = out
		}
		return acc
	case opMul:
		var acc *node
		var scalars []*node
		for _, k := range n.kids {
			if !hasMatrix(k) {
				scalars = append(scalars, k)
				continue
			}
			m := matrixValue(k, depth+1)
			if m == nil {
				return nil
			}
			if acc == nil {
				acc = m
				continue
			}
			inner := len(acc.kids[0].kids)
			if inner != len(m.kids) || inner*len(acc.kids)*len(m.kids[0].kids) > maxSetProduct {
				return nil
			}
			out := &node{op: opMatrix}
			for i := range acc.kids {
				row := &node{op: opSeq}
				for j := range m.kids[0].kids {
					sum := &node{op: opAdd}
					for k := 0; k < inner; k++ {
						sum.kids = append(sum.kids, &node{op: opMul, kids: []*node{acc.kids[i].kids[k], m.kids[k].kids[j]}})
					}
					row.kids = append(row.kids, sum)
				}
				out.kids = append(out.kids, row)
			}
			acc = out
		}
		if acc == nil {
			return nil
		}
		if len(scalars) > 0 {
			acc = mapEntries(acc, func(e *node) *node { return &node{op: opMul, kids: append(append([]*node{}, scalars...), e)} })
		}
		return acc
	}
	return nil
}

func mapEntries(m *node, f func(*node) *node) *node {
	out := &node{op: opMatrix}
	for _, r := range m.kids {
		row := &node{op: opSeq}
		for _, e := range r.kids {
			row.kids = append(row.kids, f(e))
		}
		out.kids = append(out.kids, row)
	}
	return out
}

// absBand turns a ≤ |x| ≤ b into [-b, -a] ∪ [a, b] (brackets follow the
// operators; a > ... > chains are mirrored first).
func absBand(parts []*node, ops []string) *node {
	a, b, opA, opB := parts[0], parts[2], ops[0], ops[1]
	if (opA == ">" || opA == ">=") && (opB == ">" || opB == ">=") {
		a, b, opA, opB = b, a, flip(opB), flip(opA)
	}
	if !(opA == "<" || opA == "<=") || !(opB == "<" || opB == "<=") {
		return nil
	}
	closed := func(op string) bool { return op == "<=" }
	br := func(c bool, open bool) byte {
		switch {
		case c && open:
			return '['
		case c:
			return ']'
		case open:
			return '('
		}
		return ')'
	}
	neg := func(n *node) *node { return &node{op: opNeg, kids: []*node{n}} }
	return &node{op: opUnion, kids: []*node{
		{op: opSeq, open: br(closed(opB), true), close: br(closed(opA), false), kids: []*node{neg(b), neg(a)}},
		{op: opSeq, open: br(closed(opA), true), close: br(closed(opB), false), kids: []*node{a, b}},
	}}
}
