package verify

import (
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits that keep hostile input cheap.
const (
	maxAnswerLen  = 4096 // longer extracted answers are compared as text only
	maxParseDepth = 200  // nesting deeper than this is a parse error
	maxNodes      = 4000 // expression trees larger than this are a parse error
)

// ErrParse reports that an answer could not be parsed as mathematics. It is
// wrapped by *ParseError.
var ErrParse = errors.New("verify: cannot parse answer")

// ParseError says what could not be parsed and where (a byte offset into the
// normalized answer).
type ParseError struct {
	Input  string // the normalized answer text
	Offset int    // byte offset of the problem in Input
	Msg    string // what went wrong
}

// Error implements error.
func (e *ParseError) Error() string {
	in := e.Input
	if len(in) > 60 {
		in = in[:60] + "…"
	}
	return fmt.Sprintf("verify: parse %q at offset %d: %s", in, e.Offset, e.Msg)
}

// Unwrap returns ErrParse so errors.Is(err, ErrParse) holds.
func (e *ParseError) Unwrap() error { return ErrParse }

type opKind uint8

const (
	opNum    opKind = iota // number literal: num, dec
	opSym                  // symbol: lit
	opText                 // text answer: lit (lowercased words)
	opAdd                  // n-ary sum
	opMul                  // n-ary product
	opNeg                  // unary minus
	opDiv                  // kids[0] / kids[1]
	opPow                  // kids[0] ^ kids[1]
	opFunc                 // lit(kids...): sin, cos, ln, log, exp, abs, ...
	opSqrt                 // kids[0] radicand, optional kids[1] index
	opFact                 // kids[0]!
	opBinom                // binom(kids[0], kids[1])
	opPM                   // kids[0] ± kids[1]
	opSeq                  // bracketed or bare list: open, close, kids
	opMatrix               // kids are rows (opSeq with open 0)
	opRel                  // relation chain: kids are parts, rels are operators
	opUnion                // union of sets/intervals
	opInf                  // infinity
)

type node struct {
	op    opKind
	lit   string
	num   *big.Rat
	dec   int // fractional digits written in a decimal literal; -1 if none
	kids  []*node
	rels  []string
	open  byte
	close byte
}

type tokKind uint8

const (
	tEOF tokKind = iota
	tNum
	tIdent // single letter or greek/command symbol
	tCmd   // backslash command (without the backslash)
	tOp    // punctuation / operator
	tWord  // multi-letter word
)

type token struct {
	kind tokKind
	s    string
	pos  int
}

func isWordChar(r rune) bool { return r < utf8.RuneSelf && unicode.IsLetter(r) }

// lex splits a normalized answer into tokens.
func lex(s string) ([]token, error) {
	var toks []token
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c >= '0' && c <= '9' || (c == '.' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9'):
			j := i
			seenDot := false
			for j < len(s) && (s[j] >= '0' && s[j] <= '9' || (s[j] == '.' && !seenDot && j+1 < len(s) && s[j+1] >= '0' && s[j+1] <= '9')) {
				if s[j] == '.' {
					seenDot = true
				}
				j++
			}
			// scientific notation: 1.5e3, 2E-4 (not "2e", which is 2·e)
			if j+1 < len(s) && (s[j] == 'e' || s[j] == 'E') {
				k := j + 1
				if k < len(s) && (s[k] == '-' || s[k] == '+') {
					k++
				}
				d := k
				for d < len(s) && s[d] >= '0' && s[d] <= '9' {
					d++
				}
				if d > k && d-k <= 4 && (d == len(s) || !isWordChar(rune(s[d]))) {
					j = d
				}
			}
			toks = append(toks, token{tNum, s[i:j], i})
			i = j
		case c == '\\':
			j := i + 1
			for j < len(s) && isWordChar(rune(s[j])) {
				j++
			}
			if j == i+1 { // \{ \} \, \\ etc.
				if j < len(s) {
					j++
				}
				toks = append(toks, token{tCmd, s[i+1 : j], i})
			} else {
				toks = append(toks, token{tCmd, s[i+1 : j], i})
			}
			i = j
		case c < utf8.RuneSelf && unicode.IsLetter(rune(c)):
			j := i
			for j < len(s) && isWordChar(rune(s[j])) {
				j++
			}
			w := s[i:j]
			if len(w) == 1 {
				toks = append(toks, token{tIdent, w, i})
			} else {
				toks = append(toks, token{tWord, w, i})
			}
			i = j
		case c >= utf8.RuneSelf:
			r, n := utf8.DecodeRuneInString(s[i:])
			switch r {
			case '≤':
				toks = append(toks, token{tCmd, "le", i})
			case '≥':
				toks = append(toks, token{tCmd, "ge", i})
			case '≠':
				toks = append(toks, token{tCmd, "neq", i})
			case '±':
				toks = append(toks, token{tCmd, "pm", i})
			case '×', '·':
				toks = append(toks, token{tOp, "*", i})
			case '÷':
				toks = append(toks, token{tOp, "/", i})
			case '−', '–':
				toks = append(toks, token{tOp, "-", i})
			case 'π':
				toks = append(toks, token{tCmd, "pi", i})
			case '∞':
				toks = append(toks, token{tCmd, "infty", i})
			case '√':
				toks = append(toks, token{tCmd, "sqrt", i})
			case '²':
				toks = append(toks, token{tOp, "^", i}, token{tNum, "2", i})
			case '³':
				toks = append(toks, token{tOp, "^", i}, token{tNum, "3", i})
			case '∪':
				toks = append(toks, token{tCmd, "cup", i})
			default:
				if unicode.IsLetter(r) {
					toks = append(toks, token{tIdent, string(r), i})
				} else {
					return nil, &ParseError{Input: s, Offset: i, Msg: fmt.Sprintf("unexpected character %q", r)}
				}
			}
			i += n
		default:
			// two-character operators
			if i+1 < len(s) {
				two := s[i : i+2]
				switch two {
				case "<=", ">=", "!=", "=<", "=>":
					m := map[string]string{"<=": "le", "=<": "le", ">=": "ge", "=>": "ge", "!=": "neq"}[two]
					toks = append(toks, token{tCmd, m, i})
					i += 2
					continue
				case "**":
					toks = append(toks, token{tOp, "^", i})
					i += 2
					continue
				}
			}
			if strings.IndexByte("+-*/^_!=<>,;:()[]{}|'&", c) < 0 {
				return nil, &ParseError{Input: s, Offset: i, Msg: fmt.Sprintf("unexpected character %q", c)}
			}
			toks = append(toks, token{tOp, string(c), i})
			i++
		}
	}
	toks = append(toks, token{tEOF, "", len(s)})
	return toks, nil
}

type parser struct {
	src   string
	toks  []token
	pos   int
	depth int
	nodes int
}

func (p *parser) peek() token { return p.toks[p.pos] }
func (p *parser) next() token {
	t := p.toks[p.pos]
	if t.kind != tEOF {
		p.pos++
	}
	return t
}
func (p *parser) errf(format string, a ...any) error {
	return &ParseError{Input: p.src, Offset: p.peek().pos, Msg: fmt.Sprintf(format, a...)}
}
func (p *parser) isOp(s string) bool {
	t := p.peek()
	return t.kind == tOp && t.s == s
}
func (p *parser) isCmd(s string) bool {
	t := p.peek()
	return t.kind == tCmd && t.s == s
}
func (p *parser) expectOp(s string) error {
	if !p.isOp(s) {
		return p.errf("expected %q, found %q", s, p.peek().s)
	}
	p.next()
	return nil
}

func (p *parser) mk(n *node) (*node, error) {
	p.nodes++
	if p.nodes > maxNodes {
		return nil, p.errf("expression too large")
	}
	return n, nil
}

// parseMath parses a normalized answer into an expression tree.
func parseMath(s string) (*node, error) {
	if len(s) > maxAnswerLen {
		return nil, &ParseError{Input: s, Offset: maxAnswerLen, Msg: "answer too long"}
	}
	toks, err := lex(s)
	if err != nil {
		return nil, err
	}
	p := &parser{src: s, toks: toks}
	n, err := p.parseList(tEOF, "")
	if err != nil {
		return nil, err
	}
	if p.peek().kind != tEOF {
		return nil, p.errf("unexpected %q", p.peek().s)
	}
	return n, nil
}

func (p *parser) atListEnd(closers string) bool {
	t := p.peek()
	if t.kind == tEOF {
		return true
	}
	if t.kind == tOp && strings.Contains(closers, t.s) {
		return true
	}
	if t.kind == tCmd && (t.s == "}" && strings.Contains(closers, "\\}") || t.s == "end" || t.s == "\\") {
		return true
	}
	return false
}

// parseList parses comma/semicolon separated items up to a closer. A single
// item is returned as itself; several become an opSeq with open 0.
func (p *parser) parseList(_ tokKind, closers string) (*node, error) {
	var items []*node
	for {
		if p.atListEnd(closers) && len(items) > 0 {
			break
		}
		it, err := p.parseUnion(closers)
		if err != nil {
			return nil, err
		}
		items = append(items, it)
		if p.isOp(",") || p.isOp(";") {
			p.next()
			continue
		}
		break
	}
	if len(items) == 1 {
		return items[0], nil
	}
	return p.mk(&node{op: opSeq, kids: items})
}

func (p *parser) parseUnion(closers string) (*node, error) {
	first, err := p.parseRel(closers)
	if err != nil {
		return nil, err
	}
	if !p.isCmd("cup") {
		return first, nil
	}
	u := &node{op: opUnion, kids: []*node{first}}
	for p.isCmd("cup") {
		p.next()
		n, err := p.parseRel(closers)
		if err != nil {
			return nil, err
		}
		u.kids = append(u.kids, n)
	}
	return p.mk(u)
}

var relCmds = map[string]string{
	"le": "<=", "leq": "<=", "leqslant": "<=", "ge": ">=", "geq": ">=", "geqslant": ">=",
	"lt": "<", "gt": ">", "neq": "!=", "ne": "!=", "approx": "~", "equiv": "=", "in": "in",
	"sim": "~", "simeq": "~",
}

func (p *parser) relOp() (string, bool) {
	t := p.peek()
	switch {
	case t.kind == tOp && (t.s == "=" || t.s == "<" || t.s == ">"):
		return t.s, true
	case t.kind == tOp && t.s == ":": // ratio a:b is parsed as a relation-like pair
		return ":", true
	case t.kind == tCmd:
		if r, ok := relCmds[t.s]; ok {
			return r, true
		}
	}
	return "", false
}

func (p *parser) parseRel(closers string) (*node, error) {
	first, err := p.parseExpr()
	if err != nil {
		return nil, err
	}
	r, ok := p.relOp()
	if !ok {
		return first, nil
	}
	rel := &node{op: opRel, kids: []*node{first}}
	for ok {
		p.next()
		var n *node
		if r == "in" {
			n, err = p.parseUnion(closers)
		} else {
			n, err = p.parseExpr()
		}
		if err != nil {
			return nil, err
		}
		rel.kids = append(rel.kids, n)
		rel.rels = append(rel.rels, r)
		r, ok = p.relOp()
	}
	return p.mk(rel)
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > maxParseDepth {
		return p.errf("nesting deeper than %d", maxParseDepth)
	}
	return nil
}
func (p *parser) leave() { p.depth-- }

func (p *parser) parseExpr() (*node, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	var terms []*node
	for {
		t := p.peek()
		sign := ""
		if t.kind == tOp && (t.s == "+" || t.s == "-") || t.kind == tCmd && (t.s == "pm" || t.s == "mp") {
			sign = t.s
			p.next()
		} else if len(terms) > 0 {
			break
		}
		n, err := p.parseTerm()
		if err != nil {
			return nil, err
		}
		switch sign {
		case "-":
			n = &node{op: opNeg, kids: []*node{n}}
		case "pm", "mp":
			var left *node
			if len(terms) > 0 {
				left = sumOf(terms)
			} else {
				left = &node{op: opNum, num: new(big.Rat), dec: -1, lit: "0"}
			}
			terms = []*node{{op: opPM, kids: []*node{left, n}}}
			continue
		}
		terms = append(terms, n)
	}
	return p.mk(sumOf(terms))
}

func sumOf(terms []*node) *node {
	if len(terms) == 1 {
		return terms[0]
	}
	return &node{op: opAdd, kids: terms}
}

// startsAtom reports whether the next token can begin an implicit factor.
func (p *parser) startsAtom() bool {
	t := p.peek()
	switch t.kind {
	case tNum, tIdent:
		return true
	case tOp:
		return t.s == "(" || t.s == "{" || t.s == "["
	case tCmd:
		switch t.s {
		case "frac", "sqrt", "pi", "infty", "binom", "{", "sin", "cos", "tan", "sec", "csc", "cot",
			"ln", "log", "exp", "arcsin", "arccos", "arctan", "begin", "sinh", "cosh", "tanh", "lvert", "vert", "lfloor", "lceil":
			return true
		}
		_, g := greek[t.s]
		return g
	}
	return false
}

func (p *parser) parseTerm() (*node, error) {
	first, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	factors := []*node{first}
	for {
		t := p.peek()
		if t.kind == tOp && (t.s == "*" || t.s == "/") || t.kind == tCmd && (t.s == "cdot" || t.s == "times" || t.s == "div" || t.s == "ast") {
			p.next()
			n, err := p.parseUnary()
			if err != nil {
				return nil, err
			}
			if t.s == "/" || t.s == "div" {
				prev := factors[len(factors)-1]
				factors[len(factors)-1] = &node{op: opDiv, kids: []*node{prev, n}}
			} else {
				factors = append(factors, n)
			}
			continue
		}
		if p.startsAtom() {
			// mixed number: 137 \frac{1}{2}
			prev := factors[len(factors)-1]
			n, err := p.parsePower()
			if err != nil {
				return nil, err
			}
			if len(factors) == 1 && prev.op == opNum && prev.dec < 0 && n.op == opDiv && n.lit == "frac" &&
				n.kids[0].op == opNum && n.kids[1].op == opNum && n.kids[0].dec < 0 && n.kids[1].dec < 0 {
				factors[0] = &node{op: opAdd, kids: []*node{prev, n}}
				continue
			}
			factors = append(factors, n)
			continue
		}
		break
	}
	if len(factors) == 1 {
		return factors[0], nil
	}
	return p.mk(&node{op: opMul, kids: factors})
}

func (p *parser) parseUnary() (*node, error) {
	t := p.peek()
	if t.kind == tOp && (t.s == "-" || t.s == "+") {
		if err := p.enter(); err != nil {
			return nil, err
		}
		defer p.leave()
		p.next()
		n, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		if t.s == "-" {
			return p.mk(&node{op: opNeg, kids: []*node{n}})
		}
		return n, nil
	}
	return p.parsePower()
}

func (p *parser) parsePower() (*node, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	base, err := p.parsePostfix()
	if err != nil {
		return nil, err
	}
	if p.isOp("^") {
		p.next()
		var exp *node
		if p.isOp("-") || p.isOp("+") {
			exp, err = p.parseUnary()
		} else {
			exp, err = p.parsePower()
		}
		if err != nil {
			return nil, err
		}
		n, err := p.mk(&node{op: opPow, kids: []*node{base, exp}})
		if err != nil {
			return nil, err
		}
		return p.parsePostfixOps(n)
	}
	return base, nil
}

func (p *parser) parsePostfix() (*node, error) {
	a, err := p.parseAtom()
	if err != nil {
		return nil, err
	}
	return p.parsePostfixOps(a)
}

func (p *parser) parsePostfixOps(a *node) (*node, error) {
	for {
		switch {
		case p.isOp("!"):
			p.next()
			a = &node{op: opFact, kids: []*node{a}}
		case p.isOp("'"):
			p.next()
			if a.op == opSym {
				a = &node{op: opSym, lit: a.lit + "'"}
			}
		case p.isOp("_"):
			p.next()
			sub, err := p.parseArg()
			if err != nil {
				return nil, err
			}
			switch a.op {
			case opSym:
				a = &node{op: opSym, lit: a.lit + "_" + canon(sub)}
			case opNum:
				// base-b numeral such as 204_5: kept as an opaque symbol
				a = &node{op: opSym, lit: a.lit + "_" + canon(sub)}
			}
		default:
			return a, nil
		}
	}
}

// parseArgs2 parses the two arguments of \frac or \binom.
func (p *parser) parseArgs2() ([]*node, error) {
	a, err := p.parseArg()
	if err != nil {
		return nil, err
	}
	b, err := p.parseArg()
	if err != nil {
		return nil, err
	}
	return []*node{a, b}, nil
}

// parseArg parses a LaTeX macro argument: a braced group or a single
// character/token (\frac12 takes "1" and "2").
func (p *parser) parseArg() (*node, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	t := p.peek()
	if t.kind == tOp && t.s == "{" {
		p.next()
		n, err := p.parseList(tEOF, "}")
		if err != nil {
			return nil, err
		}
		if err := p.expectOp("}"); err != nil {
			return nil, err
		}
		return n, nil
	}
	if t.kind == tNum && len(t.s) > 1 {
		// LaTeX takes one character: split "12" into "1" and "2".
		p.toks[p.pos] = token{tNum, t.s[1:], t.pos + 1}
		return numNode(t.s[:1])
	}
	if t.kind == tWord {
		p.toks[p.pos] = token{tWord, t.s[1:], t.pos + 1}
		if len(t.s) == 2 {
			p.toks[p.pos].kind = tIdent
		}
		return &node{op: opSym, lit: t.s[:1]}, nil
	}
	return p.parseAtom()
}

var greek = map[string]bool{
	"alpha": true, "beta": true, "gamma": true, "delta": true, "epsilon": true, "varepsilon": true,
	"zeta": true, "eta": true, "theta": true, "vartheta": true, "iota": true, "kappa": true,
	"lambda": true, "mu": true, "nu": true, "xi": true, "rho": true, "sigma": true, "tau": true,
	"upsilon": true, "phi": true, "varphi": true, "chi": true, "psi": true, "omega": true,
	"Gamma": true, "Delta": true, "Theta": true, "Lambda": true, "Xi": true, "Pi": true,
	"Sigma": true, "Phi": true, "Psi": true, "Omega": true, "ell": true,
}

var funcs = map[string]string{
	"sin": "sin", "cos": "cos", "tan": "tan", "sec": "sec", "csc": "csc", "cot": "cot",
	"arcsin": "asin", "arccos": "acos", "arctan": "atan", "sinh": "sinh", "cosh": "cosh", "tanh": "tanh",
	"ln": "ln", "log": "log", "exp": "exp", "lg": "log10",
}

func numNode(s string) (*node, error) {
	if len(s) <= 18 && allDigits(s) {
		v, err := strconv.ParseInt(s, 10, 64)
		if err == nil {
			return &node{op: opNum, num: new(big.Rat).SetInt64(v), dec: -1, lit: s}, nil
		}
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return nil, &ParseError{Input: s, Msg: "bad number"}
	}
	dec := -1
	mant, exp := s, 0
	if k := strings.IndexAny(s, "eE"); k >= 0 {
		mant = s[:k]
		exp, _ = strconv.Atoi(strings.TrimPrefix(s[k+1:], "+"))
	}
	if i := strings.IndexByte(mant, '.'); i >= 0 || exp != 0 {
		// fractional digits shown, shifted by the exponent: 1.25e-3 shows 5
		frac := 0
		if i >= 0 {
			frac = len(mant) - i - 1
		}
		dec = max(frac-exp, 0)
	}
	return &node{op: opNum, num: r, dec: dec, lit: s}, nil
}

func (p *parser) parseAtom() (*node, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	t := p.next()
	switch t.kind {
	case tNum:
		n, err := numNode(t.s)
		if err != nil {
			return nil, p.errf("bad number %q", t.s)
		}
		return p.mk(n)
	case tIdent:
		return p.mk(&node{op: opSym, lit: t.s})
	case tWord:
		// a multi-letter word inside math: a product of letters (ab) unless it
		// is a function name written without a backslash.
		if f, ok := funcs[t.s]; ok {
			return p.parseFunc(f)
		}
		if t.s == "pi" {
			return p.mk(&node{op: opSym, lit: "pi"})
		}
		if t.s == "sqrt" {
			return p.parseSqrt()
		}
		if len(t.s) > 3 {
			return p.mk(&node{op: opSym, lit: t.s}) // an opaque name such as MBCN
		}
		m := &node{op: opMul}
		for _, r := range t.s {
			m.kids = append(m.kids, &node{op: opSym, lit: string(r)})
		}
		return p.mk(m)
	case tOp:
		switch t.s {
		case "(", "[":
			return p.parseBracket(t.s[0])
		case "{":
			n, err := p.parseList(tEOF, "}")
			if err != nil {
				return nil, err
			}
			if err := p.expectOp("}"); err != nil {
				return nil, err
			}
			if n.op == opSeq && n.open == 0 {
				n.open, n.close = '{', '}'
			}
			return n, nil
		case "|":
			n, err := p.parseExpr()
			if err != nil {
				return nil, err
			}
			if err := p.expectOp("|"); err != nil {
				return nil, err
			}
			return p.mk(&node{op: opFunc, lit: "abs", kids: []*node{n}})
		}
	case tCmd:
		switch t.s {
		case "frac":
			kids, err := p.parseArgs2()
			if err != nil {
				return nil, err
			}
			return p.mk(&node{op: opDiv, lit: "frac", kids: kids})
		case "binom":
			kids, err := p.parseArgs2()
			if err != nil {
				return nil, err
			}
			return p.mk(&node{op: opBinom, kids: kids})
		case "sqrt":
			return p.parseSqrt()
		case "pi":
			return p.mk(&node{op: opSym, lit: "pi"})
		case "infty", "infin":
			return p.mk(&node{op: opInf})
		case "{":
			n, err := p.parseList(tEOF, "\\}")
			if err != nil {
				return nil, err
			}
			if !p.isCmd("}") {
				return nil, p.errf("expected \\}")
			}
			p.next()
			if n.op == opSeq && n.open == 0 {
				n.open, n.close = '{', '}'
				return n, nil
			}
			return p.mk(&node{op: opSeq, open: '{', close: '}', kids: []*node{n}})
		case "lvert", "vert", "|":
			n, err := p.parseExpr()
			if err != nil {
				return nil, err
			}
			if !(p.isCmd("rvert") || p.isCmd("vert") || p.isCmd("|")) {
				return nil, p.errf("expected closing |")
			}
			p.next()
			return p.mk(&node{op: opFunc, lit: "abs", kids: []*node{n}})
		case "lfloor", "lceil":
			n, err := p.parseExpr()
			if err != nil {
				return nil, err
			}
			closer := map[string]string{"lfloor": "rfloor", "lceil": "rceil"}[t.s]
			if !p.isCmd(closer) {
				return nil, p.errf("expected \\%s", closer)
			}
			p.next()
			return p.mk(&node{op: opFunc, lit: map[string]string{"lfloor": "floor", "lceil": "ceil"}[t.s], kids: []*node{n}})
		case "begin":
			return p.parseEnv()
		}
		if f, ok := funcs[t.s]; ok {
			return p.parseFunc(f)
		}
		if greek[t.s] {
			return p.mk(&node{op: opSym, lit: t.s})
		}
		if len(t.s) > 1 && isWordChar(rune(t.s[0])) && t.s != "end" {
			// an unknown command such as \sum or \zzz is an opaque symbol
			return p.mk(&node{op: opSym, lit: "\\" + t.s})
		}
		return nil, &ParseError{Input: p.src, Offset: t.pos, Msg: fmt.Sprintf("unknown command \\%s", t.s)}
	case tEOF:
		return nil, &ParseError{Input: p.src, Offset: t.pos, Msg: "unexpected end of answer"}
	}
	return nil, &ParseError{Input: p.src, Offset: t.pos, Msg: fmt.Sprintf("unexpected %q", t.s)}
}

func (p *parser) parseSqrt() (*node, error) {
	var idx *node
	if p.isOp("[") {
		p.next()
		var err error
		idx, err = p.parseExpr()
		if err != nil {
			return nil, err
		}
		if err := p.expectOp("]"); err != nil {
			return nil, err
		}
	}
	a, err := p.parseArg()
	if err != nil {
		return nil, err
	}
	n := &node{op: opSqrt, kids: []*node{a}}
	if idx != nil {
		n.kids = append(n.kids, idx)
	}
	return p.mk(n)
}

func (p *parser) parseFunc(name string) (*node, error) {
	var pow, base *node
	var err error
	if name == "log" && p.isOp("_") {
		p.next()
		if base, err = p.parseArg(); err != nil {
			return nil, err
		}
	}
	if p.isOp("^") {
		p.next()
		if pow, err = p.parseArg(); err != nil {
			return nil, err
		}
	}
	var arg *node
	if p.isOp("(") {
		arg, err = p.parseAtom()
	} else {
		arg, err = p.parsePower()
	}
	if err != nil {
		return nil, err
	}
	f := &node{op: opFunc, lit: name, kids: []*node{arg}}
	if base != nil {
		f.kids = append(f.kids, base)
	}
	if pow != nil {
		if num, ok := pow.num, pow.op == opNum; ok && num.Cmp(big.NewRat(-1, 1)) == 0 {
			// sin^{-1} is arcsin
			if inv, ok := map[string]string{"sin": "asin", "cos": "acos", "tan": "atan"}[name]; ok {
				f.lit = inv
				return p.mk(f)
			}
		}
		return p.mk(&node{op: opPow, kids: []*node{f, pow}})
	}
	return p.mk(f)
}

func (p *parser) parseBracket(open byte) (*node, error) {
	// "(B)" style choice letters and "()" are handled by the caller's text path.
	n, err := p.parseList(tEOF, ")]")
	if err != nil {
		return nil, err
	}
	t := p.next()
	if t.kind != tOp || (t.s != ")" && t.s != "]") {
		return nil, &ParseError{Input: p.src, Offset: t.pos, Msg: fmt.Sprintf("expected ) or ], found %q", t.s)}
	}
	close := t.s[0]
	if n.op == opSeq && n.open == 0 {
		n.open, n.close = open, close
		return n, nil
	}
	if open == '(' && close == ')' {
		return n, nil // grouping
	}
	if open == '[' && close == ']' && n.op != opSeq {
		return n, nil // [x] grouping
	}
	return p.mk(&node{op: opSeq, open: open, close: close, kids: []*node{n}})
}

// parseEnv parses \begin{pmatrix} a & b \\ c & d \end{pmatrix} and friends.
func (p *parser) parseEnv() (*node, error) {
	if err := p.expectOp("{"); err != nil {
		return nil, err
	}
	name := ""
	for !p.isOp("}") && p.peek().kind != tEOF {
		name += p.next().s
	}
	if err := p.expectOp("}"); err != nil {
		return nil, err
	}
	if name == "array" && p.isOp("{") { // column spec
		for !p.isOp("}") && p.peek().kind != tEOF {
			p.next()
		}
		p.next()
	}
	m := &node{op: opMatrix}
	row := &node{op: opSeq}
	for {
		if p.isCmd("end") {
			p.next()
			if err := p.expectOp("{"); err != nil {
				return nil, err
			}
			for !p.isOp("}") && p.peek().kind != tEOF {
				p.next()
			}
			if err := p.expectOp("}"); err != nil {
				return nil, err
			}
			break
		}
		if p.peek().kind == tEOF {
			return nil, p.errf("missing \\end{%s}", name)
		}
		if p.isCmd("\\") {
			p.next()
			if len(row.kids) > 0 {
				m.kids = append(m.kids, row)
			}
			row = &node{op: opSeq}
			continue
		}
		if p.isOp("&") {
			p.next()
			continue
		}
		e, err := p.parseRel("&")
		if err != nil {
			return nil, err
		}
		row.kids = append(row.kids, e)
	}
	if len(row.kids) > 0 {
		m.kids = append(m.kids, row)
	}
	return p.mk(m)
}

// canon renders a tree as a canonical string (used for structural equality
// and for symbol names built from subscripts).
func canon(n *node) string {
	var b strings.Builder
	writeCanon(&b, n, 0)
	return b.String()
}

func writeCanon(b *strings.Builder, n *node, depth int) {
	if depth > maxParseDepth*2 || b.Len() > 2*maxAnswerLen {
		b.WriteString("…")
		return
	}
	switch n.op {
	case opNum:
		b.WriteString(n.num.RatString())
		return
	case opSym, opText:
		b.WriteString(n.lit)
		return
	case opInf:
		b.WriteString("oo")
		return
	}
	names := [...]string{"num", "sym", "text", "add", "mul", "neg", "div", "pow", "", "sqrt", "fact", "binom", "pm", "seq", "matrix", "rel", "union", "inf"}
	if n.op == opFunc {
		b.WriteString(n.lit)
	} else {
		b.WriteString(names[n.op])
	}
	b.WriteByte('(')
	if n.open != 0 {
		b.WriteByte(n.open)
	}
	for i, k := range n.kids {
		if i > 0 {
			b.WriteByte(',')
			if i-1 < len(n.rels) {
				b.WriteString(n.rels[i-1])
			}
		}
		writeCanon(b, k, depth+1)
	}
	if n.close != 0 {
		b.WriteByte(n.close)
	}
	b.WriteByte(')')
}
