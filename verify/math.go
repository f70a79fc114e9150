package verify

import (
	"context"
	"fmt"
	"strings"
)

// Math is the default math answer verifier. It extracts the final answer
// from a response (see Extract for the priority of rules), normalizes both
// sides, parses them into expression trees and compares them: exactly with
// math/big rationals where possible; by float64 evaluation for radicals, π, e
// and logs; at six deterministic pseudo-random points for expressions with
// variables; and structurally for sets, tuples, intervals, matrices and
// relations. Verdict.Method names the comparison that decided (the Method*
// constants).
//
// Float tolerance: two exact values must be equal exactly (so 1/2^99 never
// equals 1/2^98). A decimal literal on one side (0.333, 16386.20) matches a
// value that rounds to it at the digits it shows, provided it shows at least
// three significant digits (0.3 does not match 1/3). Decimals on both sides
// are compared exactly, then after rounding to 6 significant digits.
// Irrational values compare within a relative 1e-9. WithRounding switches to
// Math-Verify's policy of rounding both sides to a fixed number of decimals.
//
// Policies: a bare comma list ("-2, 1") is an unordered set of solutions;
// parentheses and brackets are ordered tuples or intervals; "x = 5" matches
// "5"; "a ≤ x ≤ b" matches [a, b]; units, currency, percent signs and degree
// marks are ignored.
//
// The zero value is not usable; call NewMath. A *Math is immutable after
// construction and safe for concurrent use. Verify never returns an error
// except for a cancelled context.
type Math struct {
	rounding      int
	strictSetRels bool
}

var _ Verifier = (*Math)(nil)

// Option configures a Math verifier.
type Option func(*Math)

// WithRounding makes inexact comparisons round both values to n decimal
// places (Math-Verify's float_rounding / precision) instead of the default
// literal-precision rule. n <= 0 restores the default.
func WithRounding(n int) Option { return func(m *Math) { m.rounding = n } }

// WithStrictSetRelations stops an inequality in the response ("-2 ≤ x ≤ 7")
// from matching an interval or set in the reference ("x ∈ [-2,7]"), as
// Math-Verify does without allow_set_relation_comp. The default accepts it.
func WithStrictSetRelations() Option { return func(m *Math) { m.strictSetRels = true } }

// NewMath returns a Math verifier with the given options.
func NewMath(opts ...Option) *Math {
	m := &Math{}
	for _, o := range opts {
		o(m)
	}
	return m
}

// Verify extracts the answer from response and compares it with reference.
// The reference may itself be a full solution; its final answer is extracted
// the same way (a short reference is used whole). Method is one of the
// Method* constants.
func (m *Math) Verify(ctx context.Context, reference, response string) (Verdict, error) {
	if err := ctx.Err(); err != nil {
		return Verdict{}, err
	}
	refRaw, _ := extract(reference, true)
	ans, src := extract(response, false)
	ref, nAns := normalize(refRaw), normalize(ans) // each normalized once
	if _, isChoice := choiceLetter(ref); isChoice {
		if _, ok := choiceLetter(nAns); !ok && (src == SourceNone || len(response) <= 300) {
			if l, ok := extractChoice(response); ok {
				ans, src = l, SourceChoice
				nAns = normalize(ans)
			}
		}
	}
	v := Verdict{Answer: strings.TrimSpace(ans), Reference: ref, Rule: src}
	if src == SourceNone || strings.TrimSpace(ans) == "" {
		v.Method = MethodNone
		v.Reason = "no answer found in response"
		return v, nil
	}
	ok, method, why := m.compareNormalized(ref, nAns)
	v.Correct = ok
	v.Method = method
	if ok {
		v.Reason = fmt.Sprintf("answer %q (from %s) equals reference %q by %s", clip(v.Answer), src, clip(v.Reference), method)
	} else {
		v.Reason = fmt.Sprintf("answer %q (from %s) differs from reference %q: %s", clip(v.Answer), src, clip(v.Reference), why)
	}
	return v, nil
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// compareNormalized decides whether two normalized answers match; it
// returns the method that decided and, when they differ, why.
func (m *Math) compareNormalized(ref, ans string) (bool, string, string) {
	if ref == "" {
		return false, MethodNone, "empty reference"
	}
	if ans == "" {
		return false, MethodNone, "empty answer"
	}
	if foldSpace(ref) == foldSpace(ans) {
		return true, MethodString, ""
	}
	if l, ok := choiceLetter(ref); ok {
		if l2, ok2 := choiceLetter(ans); ok2 {
			return l == l2, MethodChoice, "different choice"
		}
	}
	if plainNumber(ref) {
		if n, ok := numberWithUnit(ans); ok {
			ans = n // "48g", "225 lbs" against 48, 225
		}
		if allDigits(ref) && len(ref) <= 2 && strings.IndexByte(ans, ':') > 0 {
			// GSM8K-style integer hour against "2:00 pm"
			if tb, ok := timeOf(ans); ok && tb.m == 0 {
				r := int(ref[0] - '0')
				if len(ref) == 2 {
					r = r*10 + int(ref[1]-'0')
				}
				return tb.h == r || tb.minutes()/60 == r, MethodText, "different hour"
			}
		}
	}
	if strings.IndexByte(ref, ':') > 0 && strings.IndexByte(ans, ':') > 0 {
		if ta, ok := timeOf(ref); ok {
			if tb, ok := timeOf(ans); ok {
				return sameTime(ta, tb), MethodText, "different time"
			}
		}
	}
	if isText(ref) || isText(ans) {
		if textKey(ref) == textKey(ans) {
			return true, MethodText, ""
		}
		if isText(ref) && isText(ans) {
			return false, MethodText, "different text"
		}
	}
	as, errA := parseAlternatives(ref)
	bs, errB := parseAlternatives(ans)
	if errA != nil {
		return false, MethodNone, "reference unparsable: " + errA.Error()
	}
	if errB != nil {
		return false, MethodNone, "answer unparsable: " + errB.Error()
	}
	as, bs = withRegrouped(as), withRegrouped(bs)
	c := &comparer{rounding: m.rounding}
	for _, a := range as {
		for _, b := range bs {
			if m.strictSetRels && b.op == opRel && a.op != opRel && (a.op == opSeq || a.op == opUnion) {
				continue
			}
			c.method = ""
			if c.equal(a, b, 0) {
				if c.method == "" {
					c.method = MethodStructural
				}
				return true, c.method, ""
			}
		}
	}
	return false, MethodMismatch, "values differ"
}

func foldSpace(s string) string {
	return strings.ToLower(strings.Join(strings.Fields(s), ""))
}

// choiceLetter recognizes a multiple-choice answer: "B", "(B)".
func choiceLetter(s string) (byte, bool) {
	t := strings.TrimSpace(s)
	t = strings.TrimSuffix(strings.TrimPrefix(t, "("), ")")
	t = strings.TrimSpace(t)
	if len(t) == 1 && t[0] >= 'A' && t[0] <= 'Z' {
		return t[0], true
	}
	return 0, false
}

// isText reports whether s is a prose answer (letters and spaces, with a word
// of three or more letters).
func isText(s string) bool {
	long := false
	run := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			run++
			if run >= 3 {
				long = true
			}
		case c == ' ' || c == '-' || c == '\'':
			run = 0
		default:
			return false
		}
	}
	return long
}

func textKey(s string) string {
	f := strings.Fields(strings.ToLower(s))
	out := f[:0]
	for _, w := range f {
		if w == "the" || w == "a" || w == "an" {
			continue
		}
		out = append(out, w)
	}
	return strings.Join(out, " ")
}

// parseAlternatives parses s; digit groups joined by commas are ambiguous
// ("1,000" thousands or a list; "1,22" a list or a decimal comma) and yield
// both readings, the more likely first.
func parseAlternatives(s string) ([]*node, error) {
	if isCommaNumber(s) {
		groups := strings.Split(s, ",")
		thousands := len(groups[0]) <= 3 && groups[0] != "0"
		for _, g := range groups[1:] {
			d := g
			if k := strings.IndexByte(g, '.'); k >= 0 {
				d = g[:k]
			}
			if len(d) != 3 {
				thousands = false
			}
		}
		list, err := parseMath(s)
		if err != nil {
			return nil, err
		}
		if thousands {
			n, err := parseMath(strings.ReplaceAll(s, ",", ""))
			if err != nil {
				return nil, err
			}
			return []*node{n, list}, nil
		}
		if len(groups) == 2 && !strings.Contains(s, ".") {
			n, err := parseMath(groups[0] + "." + groups[1])
			if err == nil {
				return []*node{list, n}, nil
			}
		}
		return []*node{list}, nil
	}
	n, err := parseMath(s)
	if err != nil {
		return nil, err
	}
	return []*node{n}, nil
}

func isCommaNumber(s string) bool {
	s = strings.TrimPrefix(s, "-")
	if !strings.Contains(s, ",") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c == ',' || c == '.') {
			return false
		}
	}
	return !strings.HasPrefix(s, ",") && !strings.HasSuffix(s, ",") && !strings.Contains(s, ",,")
}

// extractChoice finds a multiple-choice letter in prose: a leading "A." or
// "(A)", else the last "(X)", else the last standalone capital letter.
func extractChoice(s string) (string, bool) {
	t := strings.TrimSpace(s)
	if len(t) >= 1 && t[0] >= 'A' && t[0] <= 'Z' && (len(t) == 1 || strings.ContainsRune(".):", rune(t[1]))) {
		return t[:1], true
	}
	if len(t) >= 3 && t[0] == '(' && t[1] >= 'A' && t[1] <= 'Z' && t[2] == ')' {
		return t[1:2], true
	}
	for i := len(t) - 3; i >= 0; i-- {
		if t[i] == '(' && t[i+1] >= 'A' && t[i+1] <= 'Z' && t[i+2] == ')' {
			return t[i+1 : i+2], true
		}
	}
	f := strings.FieldsFunc(t, func(r rune) bool { return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') })
	for i := len(f) - 1; i >= 0; i-- {
		if len(f[i]) == 1 && f[i][0] >= 'A' && f[i][0] <= 'Z' && f[i] != "I" {
			return f[i], true
		}
	}
	return "", false
}

// withRegrouped adds a second reading of a flat list of labelled equations
// whose labels repeat ("p=5, q=2; p=7, q=2" → (5,2), (7,2)).
func withRegrouped(ns []*node) []*node {
	out := ns
	for _, n := range ns {
		if g := regroup(n); g != nil {
			out = append(out, g)
		}
	}
	return out
}

func regroup(n *node) *node {
	if n.op != opSeq || n.open != 0 || len(n.kids) < 4 {
		return nil
	}
	labels := make([]string, len(n.kids))
	for i, k := range n.kids {
		if k.op != opRel || len(k.kids) != 2 || k.rels[0] != "=" || k.kids[0].op != opSym {
			return nil
		}
		labels[i] = k.kids[0].lit
	}
	for period := 2; period < len(labels); period++ {
		if len(labels)%period != 0 {
			continue
		}
		ok := true
		seen := map[string]bool{}
		for i := 0; i < period; i++ {
			if seen[labels[i]] {
				ok = false
			}
			seen[labels[i]] = true
		}
		for i := period; ok && i < len(labels); i++ {
			ok = labels[i] == labels[i%period]
		}
		if !ok {
			continue
		}
		out := &node{op: opSeq}
		for i := 0; i < len(labels); i += period {
			t := &node{op: opSeq, open: '(', close: ')'}
			for _, k := range n.kids[i : i+period] {
				t.kids = append(t.kids, k.kids[1])
			}
			out.kids = append(out.kids, t)
		}
		return out
	}
	return nil
}
