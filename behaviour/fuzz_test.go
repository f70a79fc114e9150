package behaviour

import (
	"math"
	"strings"
	"testing"
	"unicode"
)

// FuzzParse checks the parsers on arbitrary text: numbers lie inside the
// text in order, equations' results are numbers of the text, Eval never
// panics, and Classify's evidence is a span of the continuation.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"16 - 3 - 4 = <<16-3-4=9>>9", "$1,200 -5 0.25", "Wait, 2 × (3 + 4) = 14, not 15.",
		"((((1))))", "1,2,3,4", "-", "= = =", "10/3 = 3.33", `2 \times 3 = 6`, "3(4+1) = 15", "\n\nx"} {
		f.Add(s, "8", "9")
	}
	f.Fuzz(func(t *testing.T, s, wrong, right string) {
		last := 0
		for _, n := range Numbers(s) {
			if n.Start < last || n.End <= n.Start || n.End > len(s) || math.IsNaN(n.Value) {
				t.Fatalf("number span [%d, %d) after %d in %d bytes", n.Start, n.End, last, len(s))
			}
			last = n.End
		}
		for _, e := range Equations(s) {
			if e.Result.Start < 0 || e.Result.End > len(s) || e.Result.Start >= e.Result.End {
				t.Fatalf("equation result span %+v in %d bytes", e.Result, len(s))
			}
			_ = e.Slip()
		}
		_ = Eval(s)
		for _, correct := range []bool{false, true} {
			r := Classify(Input{Continuation: s, Flaw: Flaw{Locus: Injected, Wrong: wrong, Right: right, Expr: s},
				Correct: correct, Answer: wrong, Reference: right})
			if !r.Label.Valid() || r.Evidence.Start < 0 || r.Evidence.End > len(s) || r.Evidence.Start > r.Evidence.End {
				t.Fatalf("label %q evidence %+v in %d bytes", r.Label, r.Evidence, len(s))
			}
		}
	})
}

// FuzzCuePrefilter checks that Cue's literal prefilter never hides a match:
// Cue finds exactly what cueRe finds, on any text. The seeds exercise
// every alternative of cueRe, in every case, and the two non-ASCII runes
// that fold to ASCII letters.
func FuzzCuePrefilter(f *testing.F) {
	for _, s := range cueExamples {
		f.Add(s)
		f.Add(strings.ToUpper(s))
	}
	f.Add("a mista\u212Ae")     // the Kelvin sign folds to k: "mistaKe" matches cueRe
	f.Add("mi\u017Ftake")       // ſ folds to s: "miſtake" matches cueRe
	f.Add("That i\u017F wrong") // "iſ wrong"
	f.Add("the box is off the table. The correct answer is 18.")
	f.Fuzz(func(t *testing.T, s string) {
		var want Span
		if m := cueRe.FindStringIndex(s); m != nil {
			want = Span{m[0], m[1]}
		}
		if got := Cue(s); got != want {
			t.Fatalf("Cue(%q) = %v, cueRe finds %v", s, got, want)
		}
	})
}

// cueExamples match cueRe, one or more per alternative, in its order.
var cueExamples = []string{"Wait, no.", "Hold on.", "Oops!", "Hmm, that is odd", "hmm this", "Hmm wait",
	"a mistake", "an error", "the miscalculation", "my typo", "mistake", "This is wrong", "was incorrect",
	"that seems off", "it looks not right", "is not correct", "isn't right", "wasn't correct",
	"doesn't look right", "not correct", "incorrectly", "recalculate", "re-calculating", "recompute",
	"re-computed", "recheck", "re-checking", "reevaluate", "re-evaluating", "reexamine", "re-examined",
	"double-check", "double checking", "let me check", "Let me verify", "let me redo", "let me correct",
	"correcting that", "correction this", "corrected it", "correct the", "should be 5",
	"should actually be", "should have been", "actually it is", "Actually, that was", "actually we are",
	"Actually, the should"}

// TestCueExamplesMatch keeps cueExamples honest: each one is a cue.
func TestCueExamplesMatch(t *testing.T) {
	for _, s := range cueExamples {
		if cueRe.FindStringIndex(s) == nil {
			t.Errorf("%q does not match cueRe", s)
		}
		if Cue(s).Empty() {
			t.Errorf("Cue(%q) is empty", s)
		}
	}
	// Cues written with the two runes that fold to ASCII letters, which
	// only the fallback finds.
	for _, s := range []string{"a mista\u212Ae", "mi\u017Ftake", "That i\u017F wrong"} {
		if cueRe.FindStringIndex(s) == nil || Cue(s).Empty() {
			t.Errorf("%q: cueRe %v, Cue %v", s, cueRe.FindStringIndex(s), Cue(s))
		}
	}
}

// TestOnlyTwoRunesFoldToASCIILetters pins the fact mayCue rests on: under
// Unicode simple case folding (what (?i) uses), the only runes beyond ASCII
// whose fold orbit reaches an ASCII letter are U+017F and U+212A.
func TestOnlyTwoRunesFoldToASCIILetters(t *testing.T) {
	var found []rune
	for r := rune(0x80); r <= unicode.MaxRune; r++ {
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			if f < 0x80 {
				found = append(found, r)
				break
			}
		}
	}
	if len(found) != 2 || found[0] != 0x017F || found[1] != 0x212A {
		t.Fatalf("runes folding to ASCII: %U; mayCue's fallback must name each", found)
	}
}
