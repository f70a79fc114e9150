package behaviour

import (
	"math"
	"testing"
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
