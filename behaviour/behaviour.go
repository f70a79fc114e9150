// Package behaviour labels how a continuation of a flawed prefix behaved:
// whether the model noticed and corrected the flaw in its text (an explicit
// correction), reached the right answer without ever revisiting it (a
// silent recovery), ignored the prefix and started over (a restart),
// carried the flaw to a wrong answer (propagated), or failed some other
// way.
//
// The labels are rules over what is known about the flaw (see Flaw): an
// injected error knows its wrong value, its right value and its step; a
// labelled trace knows its step; a weak model's prefix can often be located
// against a GSM8K gold solution, whose "<<a*b=c>>" annotations make the
// intermediate values checkable (Locate); otherwise the flaw is
// "unlocated" and the rules say less. Every Result names the rule that
// fired and the evidence span in the continuation, so a reader can check
// it. Classify is pure and safe for concurrent use; Judge is an optional
// LLM classifier for what the rules cannot decide, and Agreement measures
// it against the rules.
//
// The package is a leaf: it reads perturb.Prefix and dataset.Problem and
// does no I/O.
package behaviour

import (
	"bytes"
	"regexp"
	"strings"
)

// Label is a continuation's behaviour.
type Label string

// The labels, in the order reports list them.
const (
	// ExplicitCorrection: the continuation flags or redoes the flawed step
	// and uses the corrected value, and the final answer is right.
	ExplicitCorrection Label = "explicit_correction"
	// SilentRecovery: the final answer is right, but the flawed value is
	// used or never revisited in the text.
	SilentRecovery Label = "silent_recovery"
	// Restart: the continuation ignores the prefix and starts over
	// (providers.DetectRestart), whatever its answer.
	Restart Label = "restart"
	// Propagated: a wrong final answer consistent with the flaw carried
	// forward (the wrong value reused, or the answer off by what the flaw
	// implies).
	Propagated Label = "propagated"
	// OtherFailure: a wrong (or missing) answer the flaw does not explain:
	// a new mistake, a correction that went wrong, a truncated reply.
	OtherFailure Label = "other_failure"
)

// Labels lists every label in report order.
var Labels = []Label{ExplicitCorrection, SilentRecovery, Restart, Propagated, OtherFailure}

// Valid reports whether l is one of Labels.
func (l Label) Valid() bool {
	for _, x := range Labels {
		if l == x {
			return true
		}
	}
	return false
}

// Recovered reports whether the label is a right final answer that
// continued the prefix (explicit or silent recovery).
func (l Label) Recovered() bool { return l == ExplicitCorrection || l == SilentRecovery }

// Locus says how much is known about where the flaw is.
type Locus string

// Loci, from most to least known.
const (
	// Injected: the error was injected; step, wrong and right values known.
	Injected Locus = "injected"
	// Labelled: a dataset labels the first erroneous step; values are known
	// only when that step holds an arithmetic slip.
	Labelled Locus = "labelled"
	// GoldDivergence: located by comparing the prefix's computed values
	// with a gold solution's annotated ones (or by an arithmetic slip).
	GoldDivergence Locus = "gold_divergence"
	// Unlocated: nothing locates the flaw; labels rest on correction cues
	// and the verdict alone.
	Unlocated Locus = "unlocated"
)

// Flaw is what is known about a prefix's flaw. The zero value is an
// unlocated flaw.
type Flaw struct {
	Locus Locus `json:"locus"`
	// Step is the 1-indexed step of the prefix (perturb.Split for injected
	// and located flaws, the dataset's steps for labelled ones) holding the
	// flaw; 0 if unknown.
	Step int `json:"step,omitempty"`
	// Wrong is the flawed value as written ("1,200"), "" if unknown; Right
	// is the value it should have been, "" if unknown.
	Wrong string `json:"wrong,omitempty"`
	Right string `json:"right,omitempty"`
	// Expr is the flawed step's left-hand side ("16-3-4"), when known, so a
	// continuation that redoes that computation is recognized.
	Expr string `json:"expr,omitempty"`
	// Rule says how the flaw was located.
	Rule string `json:"rule,omitempty"`
}

// Span is a byte range [Start, End) of the continuation; the zero Span is
// empty (no evidence).
type Span struct {
	Start int `json:"start"`
	End   int `json:"end"`
}

// Empty reports whether the span covers nothing.
func (s Span) Empty() bool { return s.End <= s.Start }

// Input is one continuation to label.
type Input struct {
	// Continuation is the model's text after the prefix (not the prefix).
	Continuation string
	// Flaw is what is known about the prefix's flaw.
	Flaw Flaw
	// Correct is the verifier's verdict on prefix + continuation.
	Correct bool
	// Restarted is providers.DetectRestart's verdict.
	Restarted bool
	// Answer is the extracted final answer and Reference the gold answer;
	// both optional, used to recognize an answer off by exactly what the
	// flaw implies.
	Answer, Reference string
}

// Result is a label with its evidence.
type Result struct {
	Label Label `json:"label"`
	// Evidence is the span of the continuation that decided the label:
	// the correction (cue through the corrected value), the reuse of the
	// wrong value, the restart's opening line; empty when the decision
	// rests on the absence of something.
	Evidence Span `json:"evidence"`
	// Rule names the rule that fired, for humans.
	Rule string `json:"rule"`
	// Locus is the flaw's locus (how much the rule could know).
	Locus Locus `json:"locus"`
}

// cueRe matches words with which a model flags a mistake in its own (or the
// given) reasoning. It is deliberately narrow: "actually" and "check" alone
// are too common in ordinary reasoning.
var cueRe = regexp.MustCompile(`(?i)\b(?:(?:wait\b|hold on|oops|hmm,? (?:that|this|wait)|(?:a |an |the |my |this |that )?(?:mistake|error|miscalculat\w*|typo)|(?:is|was|seems|looks) (?:wrong|incorrect|off|not (?:right|correct))|(?:isn't|wasn't|doesn't look|not) (?:right|correct)|incorrect(?:ly)?|re-?calculat\w*|re-?comput\w*|re-?check\w*|re-?evaluat\w*|re-?examin\w*|double[- ]check\w*|let me (?:check|verify|redo|correct)|correct(?:ing|ion|ed)?(?: that| this| it| the)|should (?:actually )?(?:be|have been)|actually(?:,)? (?:it|that|this|the|we) (?:is|was|should|are)\b))\b`)

// restartRe matches an opening line that announces starting over, which
// providers.DetectRestart may miss when the solution that follows does not
// repeat the prefix.
var restartRe = regexp.MustCompile(`(?i)^[#*>\s]*(?:let me|let's|let us|i'll|i will)? ?(?:start(?:ing)? (?:over|again|afresh|from (?:the beginning|scratch))|restart(?:ing)?\b|begin(?:ning)? again|solve (?:it|this) (?:again )?from scratch)`)

// Cue returns the span of the first correction cue in s ("Wait", "that is
// wrong", "let me recheck", "should be"), or an empty span.
func Cue(s string) Span {
	if !mayCue(s) {
		return Span{}
	}
	if m := cueRe.FindStringIndex(s); m != nil {
		return Span{m[0], m[1]}
	}
	return Span{}
}

// cueLiterals are lowercase texts of which every match of cueRe contains
// at least one (each of its alternatives, in order, needs one of them), so
// a text holding none needs no regexp run: most continuations hold none,
// and the regexp was most of the cost of labelling them.
var cueLiterals = [][]byte{
	[]byte("wait"), []byte("hold on"), []byte("oops"), []byte("hmm"),
	[]byte("mistake"), []byte("error"), []byte("miscalculat"), []byte("typo"),
	[]byte("wrong"), []byte("s off"), []byte(" right"), []byte("correct"), // "incorrect" too
	[]byte("recalculat"), []byte("re-calculat"), []byte("recomput"), []byte("re-comput"),
	[]byte("recheck"), []byte("re-check"), []byte("reevaluat"), []byte("re-evaluat"),
	[]byte("reexamin"), []byte("re-examin"), []byte("double-check"), []byte("double check"),
	[]byte("let me "), []byte("should "), []byte("actually"),
}

// mayCue reports whether s could match cueRe: whether its ASCII-lowercased
// bytes hold one of cueLiterals. cueRe is case-insensitive, and the only
// runes beyond ASCII that fold to an ASCII letter are U+017F (ſ, to s) and
// U+212A (the Kelvin sign, to k): a text holding either is left to the
// regexp.
func mayCue(s string) bool {
	if strings.Contains(s, "\u017f") || strings.Contains(s, "\u212a") {
		return true
	}
	low := make([]byte, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		low[i] = c
	}
	for _, w := range cueLiterals {
		if bytes.Contains(low, w) {
			return true
		}
	}
	return false
}

// Classify labels one continuation. Rules, in order:
//
//  1. Restarted, or a first line announcing a fresh start ("Let me start
//     over.") → Restart; evidence: the continuation's first line.
//  2. With a known right value: a correction cue followed by the right
//     value, or an equation redoing the flawed step's expression with the
//     right result ("16-3-4 = 9"), is a correction. With no right value
//     known, a correction cue is; so is a cue alone when the right value
//     is not certain (any locus but Injected: a slip found in a labelled
//     step may rest on a wrong setup, so its evaluated value may not be
//     what the step should have said).
//  3. Correct answer: a correction → ExplicitCorrection (evidence: cue
//     through the corrected value); else SilentRecovery (evidence: the
//     first reuse of the wrong value, if any).
//  4. Wrong answer with a known wrong value: a correction → OtherFailure
//     (corrected, then wrong elsewhere); the wrong value reused, or the
//     answer off from the reference by exactly wrong − right (or by the
//     ratio wrong ÷ right) → Propagated; else OtherFailure.
//     An equation in the continuation contradicting its own arithmetic is
//     named as the other failure's evidence.
//  5. Wrong answer, wrong value unknown: a cue → OtherFailure (it noticed
//     something yet ended wrong); a new arithmetic slip in the
//     continuation ("11 + 12 = 20") → OtherFailure; else Propagated, the
//     flaw never addressed (a weaker rule, named so in Result.Rule).
func Classify(in Input) Result {
	c := in.Continuation
	res := Result{Locus: in.Flaw.Locus}
	if res.Locus == "" {
		res.Locus = Unlocated
	}
	if in.Restarted {
		res.Label, res.Rule, res.Evidence = Restart, "restart detected", firstLine(c)
		return res
	}
	if fl := firstLine(c); restartRe.MatchString(c[fl.Start:fl.End]) {
		res.Label, res.Rule, res.Evidence = Restart, "opens by starting over", fl
		return res
	}
	ns := Numbers(c)
	wrong, hasWrong := ParseValue(in.Flaw.Wrong)
	right, hasRight := ParseValue(in.Flaw.Right)
	if hasWrong && hasRight && same(wrong, right) {
		hasWrong, hasRight = false, false
	}
	cue := Cue(c)
	var fix Span
	fixRule := ""
	switch {
	case hasRight:
		if !cue.Empty() {
			if i := find(ns, right, cue.End); i >= 0 {
				fix, fixRule = Span{cue.Start, ns[i].End}, "correction cue then the right value"
			}
		}
		if fix.Empty() {
			if sp, ok := redo(c, in.Flaw.Expr, right); ok {
				fix, fixRule = sp, "redoes the flawed step with the right value"
			}
		}
	case !cue.Empty():
		fix, fixRule = lineAround(c, cue), "correction cue (right value unknown)"
	}
	if fix.Empty() && !cue.Empty() && hasRight && res.Locus != Injected {
		// Only an injected error's right value is certain; a slip found in
		// a labelled or located step may itself rest on a wrong setup.
		fix, fixRule = lineAround(c, cue), "correction cue (right value not confirmed)"
	}
	wrongAt := Span{}
	if hasWrong {
		if i := find(ns, wrong, 0); i >= 0 && (fix.Empty() || ns[i].Start < fix.Start || ns[i].Start >= fix.End) {
			wrongAt = Span{ns[i].Start, ns[i].End}
		}
	}
	if in.Correct {
		if !fix.Empty() {
			res.Label, res.Rule, res.Evidence = ExplicitCorrection, fixRule, fix
			return res
		}
		res.Label, res.Evidence = SilentRecovery, wrongAt
		res.Rule = "right answer, flaw never revisited"
		if !wrongAt.Empty() {
			res.Rule = "right answer, wrong value used"
		}
		return res
	}
	if hasWrong {
		switch {
		case !fix.Empty():
			res.Label, res.Rule, res.Evidence = OtherFailure, "corrected ("+fixRule+") but ended wrong", fix
		case !wrongAt.Empty():
			res.Label, res.Rule, res.Evidence = Propagated, "wrong value carried forward", wrongAt
		case hasRight && offByFlaw(in.Answer, in.Reference, wrong, right):
			res.Label, res.Rule = Propagated, "answer off by what the flaw implies"
			res.Evidence = lastNumber(c, ns, in.Answer)
		default:
			if sp, ok := newSlip(c); ok {
				res.Label, res.Rule, res.Evidence = OtherFailure, "new arithmetic slip in the continuation", sp
				break
			}
			res.Label, res.Rule = OtherFailure, "wrong answer the flaw does not explain"
		}
		return res
	}
	if !fix.Empty() {
		res.Label, res.Rule, res.Evidence = OtherFailure, "flagged a mistake but ended wrong", fix
		return res
	}
	if sp, ok := newSlip(c); ok {
		res.Label, res.Rule, res.Evidence = OtherFailure, "new arithmetic slip in the continuation", sp
		return res
	}
	res.Label, res.Rule = Propagated, "wrong answer, flaw never addressed (value unknown)"
	return res
}

// newSlip finds the first equation of c whose stated result contradicts
// its own arithmetic: a mistake made in the continuation itself.
func newSlip(c string) (Span, bool) {
	for _, e := range Equations(c) {
		if e.Slip() {
			start := strings.LastIndex(c[:e.Result.Start], strings.TrimSpace(e.Expr))
			if start < 0 {
				start = e.Result.Start
			}
			return Span{start, e.Result.End}, true
		}
	}
	return Span{}, false
}

// redo finds an equation in c whose expression is the flawed step's
// (compared without spaces, "$" and thousands separators) and whose result
// is right.
func redo(c, expr string, right float64) (Span, bool) {
	key := exprKey(expr)
	if key == "" {
		return Span{}, false
	}
	for _, e := range Equations(c) {
		if same(e.Result.Value, right) && strings.HasSuffix(exprKey(e.Expr), key) {
			start := strings.LastIndex(c[:e.Result.Start], strings.TrimSpace(e.Expr))
			if start < 0 {
				start = e.Result.Start
			}
			return Span{start, e.Result.End}, true
		}
	}
	return Span{}, false
}

// exprKeyReplacer normalises an expression for exprKey (built once: a
// Replacer is safe for concurrent use, and building one costs more than
// using it).
var exprKeyReplacer = strings.NewReplacer(" ", "", "$", "", ",", "", "×", "*", `\times`, "*", `\cdot`, "*", "÷", "/", "−", "-", "<<", "")

func exprKey(s string) string { return exprKeyReplacer.Replace(s) }

// offByFlaw reports whether the numeric answer differs from the reference
// exactly as the wrong value differs from the right one.
func offByFlaw(answer, reference string, wrong, right float64) bool {
	a, ok1 := ParseValue(answer)
	r, ok2 := ParseValue(reference)
	if !ok1 || !ok2 || same(a, r) {
		return false
	}
	if same(a-r, wrong-right) {
		return true
	}
	return r != 0 && right != 0 && same(a/r, wrong/right)
}

func firstLine(s string) Span {
	start := len(s) - len(strings.TrimLeft(s, " \t\r\n"))
	end := strings.IndexByte(s[start:], '\n')
	if end < 0 {
		end = len(s)
	} else {
		end += start
	}
	for end > start && (s[end-1] == ' ' || s[end-1] == '\t' || s[end-1] == '\r') {
		end--
	}
	return Span{start, end}
}

// lineAround widens sp to the line holding it.
func lineAround(s string, sp Span) Span {
	start := strings.LastIndexByte(s[:sp.Start], '\n') + 1
	end := strings.IndexByte(s[sp.End:], '\n')
	if end < 0 {
		end = len(s)
	} else {
		end += sp.End
	}
	return Span{start, end}
}

// lastNumber is the span of the last number in c equal to the answer, or
// empty.
func lastNumber(c string, ns []Number, answer string) Span {
	a, ok := ParseValue(answer)
	if !ok {
		return Span{}
	}
	for i := len(ns) - 1; i >= 0; i-- {
		if same(ns[i].Value, a) {
			return Span{ns[i].Start, ns[i].End}
		}
	}
	return Span{}
}
