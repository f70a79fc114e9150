package behaviour

import (
	"strings"

	"github.com/rebound-lab/rebound/dataset"
	"github.com/rebound-lab/rebound/perturb"
)

// FlawOf says what is known about a prefix's flaw:
//
//   - an injected prefix (perturb.InjectError: Meta "original" and
//     "corrupted") is Injected, with its step, values and the flawed step's
//     expression;
//   - a prefix with a labelled error step (perturb.Labeled) is Labelled; if
//     that step holds an arithmetic slip, its values are filled in;
//   - any other prefix is located with Locate against the problem's gold
//     solution.
func FlawOf(pre perturb.Prefix, p dataset.Problem) Flaw {
	wrong, right := pre.Meta["corrupted"], pre.Meta["original"]
	if wrong != "" && right != "" {
		f := Flaw{Locus: Injected, Step: pre.ErrorStep, Wrong: wrong, Right: right, Rule: "injected error"}
		if steps := perturb.Split(pre.Text); pre.ErrorStep >= 1 && pre.ErrorStep <= len(steps) {
			f.Expr = stepExpr(steps[pre.ErrorStep-1].Text, wrong)
		}
		return f
	}
	if pre.ErrorStep > 0 {
		f := Flaw{Locus: Labelled, Step: pre.ErrorStep, Rule: "labelled first error step"}
		lines := strings.Split(pre.Text, "\n")
		if pre.ErrorStep <= len(lines) {
			for _, e := range Equations(lines[pre.ErrorStep-1]) {
				if e.Slip() {
					f.Wrong, f.Right, f.Expr = lines[pre.ErrorStep-1][e.Result.Start:e.Result.End], formatValue(e.Value), e.Expr
					f.Rule = "labelled first error step, arithmetic slip in it"
					break
				}
			}
		}
		return f
	}
	return Locate(pre.Text, p)
}

// stepExpr returns the expression whose result is the wrong value in a
// step, or "".
func stepExpr(step, wrong string) string {
	w, ok := ParseValue(wrong)
	if !ok {
		return ""
	}
	eqs := Equations(step)
	for i := len(eqs) - 1; i >= 0; i-- {
		if same(eqs[i].Result.Value, w) {
			return eqs[i].Expr
		}
	}
	return ""
}

// Locate finds the first divergence of a prefix from the problem's gold
// solution, step by step (perturb.Split):
//
//  1. an equation whose stated result disagrees with its own arithmetic
//     ("16 - 3 = 12") is a slip: Wrong is the stated result, Right the
//     evaluated one;
//  2. with a gold solution carrying GSM8K calculator annotations, an
//     equation result that is neither a number of the question nor a value
//     of the gold solution diverges: Wrong is known, Right is not.
//
// A prefix where neither fires is Unlocated. Rule 2 needs annotations
// because only they make a gold solution's intermediate values explicit;
// prose solutions (MATH) are too free to compare against.
func Locate(prefix string, p dataset.Problem) Flaw {
	gold := map[float64]bool{}
	annotated := strings.Contains(p.Solution, "<<") && strings.Contains(p.Solution, ">>")
	if annotated {
		for _, n := range Numbers(p.Question) {
			gold[n.Value] = true
		}
		for _, n := range Numbers(p.Solution) {
			gold[n.Value] = true
		}
		for _, w := range numberWords {
			if strings.Contains(strings.ToLower(p.Question), " "+w.word+" ") {
				gold[w.v] = true
			}
		}
	}
	for i, st := range perturb.Split(prefix) {
		for _, e := range Equations(st.Text) {
			wrong := st.Text[e.Result.Start:e.Result.End]
			if e.Slip() {
				return Flaw{Locus: GoldDivergence, Step: i + 1, Wrong: wrong, Right: formatValue(e.Value), Expr: e.Expr,
					Rule: "arithmetic slip"}
			}
			if annotated && !gold[e.Result.Value] {
				return Flaw{Locus: GoldDivergence, Step: i + 1, Wrong: wrong, Expr: e.Expr,
					Rule: "value not in the gold solution"}
			}
		}
	}
	return Flaw{Locus: Unlocated, Rule: "no divergence found"}
}

var numberWords = []struct {
	word string
	v    float64
}{{"one", 1}, {"two", 2}, {"three", 3}, {"four", 4}, {"five", 5}, {"six", 6}, {"seven", 7}, {"eight", 8},
	{"nine", 9}, {"ten", 10}, {"twice", 2}, {"half", 0.5}, {"dozen", 12}, {"hundred", 100}}

// formatValue prints v without a needless fraction, at most 6 decimals.
func formatValue(v float64) string {
	s := strings.TrimRight(strings.TrimRight(strconvFormat(v), "0"), ".")
	if s == "" || s == "-" {
		return "0"
	}
	return s
}
