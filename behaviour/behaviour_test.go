package behaviour

import (
	"math"
	"testing"

	"github.com/rebound-lab/rebound/dataset"
	"github.com/rebound-lab/rebound/perturb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var janet = dataset.Problem{ID: "janet",
	Question: "Janet’s ducks lay 16 eggs per day. She eats three for breakfast every morning and bakes muffins for her friends every day with four. She sells the remainder at the farmers' market daily for $2 per fresh duck egg. How much in dollars does she make every day at the farmers' market?",
	Solution: "Janet sells 16 - 3 - 4 = <<16-3-4=9>>9 duck eggs a day.\nShe makes 9 * 2 = $<<9*2=18>>18 every day at the farmer’s market.\n#### 18",
	Answer:   "18"}

// injected is the flaw perturb.InjectError records for "16-3-4 = 8".
var injected = Flaw{Locus: Injected, Step: 1, Wrong: "8", Right: "9", Expr: "16 - 3 - 4"}

func TestClassifyInjected(t *testing.T) {
	cases := []struct {
		name         string
		cont         string
		correct      bool
		restarted    bool
		answer       string
		want         Label
		evidence     string
		ruleContains string
	}{
		{"a cue then the right value is an explicit correction",
			"\nWait, 16 - 3 - 4 is 9, not 8.\nShe makes 9 * 2 = $18.\nThe answer is 18.", true, false, "18",
			ExplicitCorrection, "Wait, 16 - 3 - 4 is 9", "cue"},
		{"redoing the flawed step without a cue is an explicit correction",
			"\nSo she sells 16 - 3 - 4 = 9 eggs and makes 9 * 2 = $18.\nThe answer is 18.", true, false, "18",
			ExplicitCorrection, "16 - 3 - 4 = 9", "redoes"},
		{"a right answer that reuses the wrong value is a silent recovery",
			"\nShe makes 8 * 2 = $18.\nThe answer is 18.", true, false, "18",
			SilentRecovery, "8", "wrong value used"},
		{"a right answer that never mentions either value is a silent recovery",
			"\nShe makes $18 a day.\nThe answer is 18.", true, false, "18",
			SilentRecovery, "", "never revisited"},
		{"a restart is a restart whatever the answer",
			"\nLet me start over.\nJanet sells 9 eggs.\nThe answer is 18.", true, true, "18",
			Restart, "Let me start over.", "restart"},
		{"a wrong answer reusing the wrong value is propagated",
			"\nShe makes 8 * 2 = $16.\nThe answer is 16.", false, false, "16",
			Propagated, "8", "carried"},
		{"a wrong answer off by the flaw's ratio is propagated",
			"\nShe makes sixteen dollars.\nThe answer is 16.", false, false, "16",
			Propagated, "16", "off by"},
		{"a correction followed by a wrong answer is another failure",
			"\nWait, that should be 9.\nShe makes 9 * 3 = $27.\nThe answer is 27.", false, false, "27",
			OtherFailure, "Wait, that should be 9", "corrected"},
		{"a wrong answer unrelated to the flaw is another failure",
			"\nShe makes $20.\nThe answer is 20.", false, false, "20",
			OtherFailure, "", "does not explain"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := Classify(Input{Continuation: tc.cont, Flaw: injected, Correct: tc.correct, Restarted: tc.restarted,
				Answer: tc.answer, Reference: "18"})
			assert.Equal(t, tc.want, r.Label, r.Rule)
			assert.Equal(t, Injected, r.Locus)
			assert.Contains(t, r.Rule, tc.ruleContains)
			require.True(t, r.Evidence.Start >= 0 && r.Evidence.End <= len(tc.cont) && r.Evidence.Start <= r.Evidence.End, "%+v", r.Evidence)
			assert.Equal(t, tc.evidence, tc.cont[r.Evidence.Start:r.Evidence.End])
		})
	}
}

func TestClassifyWithoutValues(t *testing.T) {
	f := Flaw{Locus: Labelled, Step: 3}
	r := Classify(Input{Continuation: "\nHmm, wait, step 3 is wrong. Redo it.\nThe answer is 22.", Flaw: f, Correct: true})
	assert.Equal(t, ExplicitCorrection, r.Label)
	assert.Equal(t, Span{1, 37}, r.Evidence, "the cue's line")
	r = Classify(Input{Continuation: "\nThe answer is 22.", Flaw: f, Correct: true})
	assert.Equal(t, SilentRecovery, r.Label)
	r = Classify(Input{Continuation: "\nThe answer is 11.", Flaw: f})
	assert.Equal(t, Propagated, r.Label)
	assert.Contains(t, r.Rule, "value unknown")
	r = Classify(Input{Continuation: "\nThat was a mistake. The answer is 12.", Flaw: f})
	assert.Equal(t, OtherFailure, r.Label)
	r = Classify(Input{Continuation: "x"})
	assert.Equal(t, Unlocated, r.Locus, "the zero Flaw is unlocated")
}

func TestCueIsNarrow(t *testing.T) {
	for _, s := range []string{"Wait, that's not right.", "I made an error", "16-3 should be 13", "Let me recheck.",
		"That is incorrect", "a miscalculation", "Let me double-check"} {
		assert.False(t, Cue(s).Empty(), s)
	}
	for _, s := range []string{"She makes 9 * 2 = 18 dollars.", "Actually 5 apples remain", "We check the total: 18.",
		"The correct answer is 18.", "Let us compute the sum.", "The app is offering $2 back."} {
		assert.True(t, Cue(s).Empty(), "%q matched %v", s, Cue(s))
	}
}

func TestNumbers(t *testing.T) {
	got := func(s string) []float64 {
		var out []float64
		for _, n := range Numbers(s) {
			out = append(out, n.Value)
		}
		return out
	}
	assert.Equal(t, []float64{16, 3, 4, 16, 3, 4, 9}, got("16-3-4=<<16-3-4=9>>"))
	assert.Equal(t, []float64{1200, -5, 0.25}, got("$1,200 and -5 and 0.25."))
	assert.Equal(t, []float64{80000, 1.5}, got("80,000*1.5"))
	assert.Equal(t, []float64{1, 2345}, got("1,2345"), "not a thousands group")
	v, ok := ParseValue("1,200")
	assert.True(t, ok)
	assert.Equal(t, 1200.0, v)
	_, ok = ParseValue("12 apples")
	assert.False(t, ok)
}

func TestEquationsAndSlips(t *testing.T) {
	eqs := Equations("Janet sells 16 - 3 - 4 = <<16-3-4=9>>9 duck eggs.\nShe makes 9 * 2 = $<<9*2=18>>18.")
	require.Len(t, eqs, 2)
	assert.Equal(t, 9.0, eqs[0].Value)
	assert.Equal(t, 9.0, eqs[0].Result.Value)
	assert.False(t, eqs[0].Slip())
	e := Equations("so 16 - 3 = 12 eggs")
	require.Len(t, e, 1)
	assert.True(t, e[0].Slip())
	assert.False(t, Equations("10/3 = 3.33")[0].Slip(), "rounding to the printed decimals is no slip")
	assert.True(t, Equations("10/3 = 3.5")[0].Slip())
	assert.True(t, math.IsNaN(Equations("x = 5")[0].Value))
	assert.Equal(t, 14.0, Eval("2 × (3 + 4)"))
	assert.Equal(t, 6.0, Eval(`2 \times 3`))
	assert.True(t, math.IsNaN(Eval("5")), "a lone number is no expression")
	assert.True(t, math.IsNaN(Eval("5/0")))
	assert.True(t, math.IsNaN(Eval("2 + a")))
}

func TestLocate(t *testing.T) {
	f := Locate("Janet sells 16 - 3 = 13 eggs.\nShe makes 13 * 2 = $26.", janet)
	assert.Equal(t, GoldDivergence, f.Locus)
	assert.Equal(t, 1, f.Step)
	assert.Equal(t, "13", f.Wrong)
	assert.Equal(t, "", f.Right)
	f = Locate("Janet sells 16 - 3 - 4 = 9 eggs.\nShe makes 9 * 2 = $19.", janet)
	assert.Equal(t, Flaw{Locus: GoldDivergence, Step: 2, Wrong: "19", Right: "18", Expr: "9 * 2", Rule: "arithmetic slip"}, f)
	f = Locate("Janet sells 16 - 3 - 4 = 9 eggs.", janet)
	assert.Equal(t, Unlocated, f.Locus)
	f = Locate("We have $x = 3$ so the area is large.", dataset.Problem{Question: "q", Solution: "prose $x=3$"})
	assert.Equal(t, Unlocated, f.Locus, "without annotations only slips locate")
}

func TestFlawOfPrefixes(t *testing.T) {
	inj := &perturb.InjectError{Seed: 3}
	pre, err := inj.Perturb(t.Context(), janet)
	require.NoError(t, err)
	f := FlawOf(pre, janet)
	assert.Equal(t, Injected, f.Locus)
	assert.Equal(t, pre.Meta["corrupted"], f.Wrong)
	assert.Equal(t, pre.Meta["original"], f.Right)
	assert.NotEmpty(t, f.Expr, "the flawed step's expression is found")

	lab := perturb.Prefix{Text: "Step 1: a = 33\nStep 2: 33 / 3 = 12", ErrorStep: 2, Strategy: "labeled"}
	f = FlawOf(lab, dataset.Problem{})
	assert.Equal(t, Flaw{Locus: Labelled, Step: 2, Wrong: "12", Right: "11", Expr: "33 / 3",
		Rule: "labelled first error step, arithmetic slip in it"}, f)

	weak := perturb.Prefix{Text: "Janet sells 16 - 3 = 13 eggs.", Strategy: "weak"}
	assert.Equal(t, GoldDivergence, FlawOf(weak, janet).Locus)
}

func TestRestartAnnouncedIsARestart(t *testing.T) {
	r := Classify(Input{Continuation: "\nLet me start over.\nHalf of 40 is 20.", Flaw: injected, Correct: true})
	assert.Equal(t, Restart, r.Label)
	assert.Equal(t, "opens by starting over", r.Rule)
	r = Classify(Input{Continuation: "\nShe starts over at the shop and buys 9.", Flaw: injected, Correct: true})
	assert.NotEqual(t, Restart, r.Label, "only an opening that announces it")
}

func TestChainedEquationsContinueThePreviousResult(t *testing.T) {
	eqs := Equations("the house is = 960 + 1200 + 1000 = 3260 square feet")
	require.Len(t, eqs, 2)
	assert.Equal(t, 3160.0, eqs[1].Value)
	assert.True(t, eqs[1].Slip())
	assert.Equal(t, "960 + 1200 + 1000", eqs[1].Expr)
}

func TestACueCountsWhenTheRightValueIsUncertain(t *testing.T) {
	cont := "\nWait, that does not look right. Let me recheck.\nShe has 67 - 29 = 38 cards.\nThe answer is 38."
	lab := Flaw{Locus: Labelled, Step: 6, Wrong: "34", Right: "4"} // a slip whose setup was wrong too
	assert.Equal(t, ExplicitCorrection, Classify(Input{Continuation: cont, Flaw: lab, Correct: true}).Label)
	inj := Flaw{Locus: Injected, Step: 6, Wrong: "34", Right: "4"}
	assert.Equal(t, SilentRecovery, Classify(Input{Continuation: cont, Flaw: inj, Correct: true}).Label,
		"an injected error's right value is certain: a cue without it is no correction")
}

func TestANewSlipIsAnotherFailure(t *testing.T) {
	cont := "\nRandy has 11+12 = 20 cookies.\nThe answer is 20."
	r := Classify(Input{Continuation: cont, Flaw: Flaw{Locus: Labelled, Step: 5}})
	assert.Equal(t, OtherFailure, r.Label)
	assert.Equal(t, "11+12 = 20", cont[r.Evidence.Start:r.Evidence.End])
	r = Classify(Input{Continuation: "\nRandy has 11+12 = 23 cookies, minus 4.\nThe answer is 19.", Flaw: Flaw{Locus: Labelled, Step: 5}})
	assert.Equal(t, Propagated, r.Label, "no slip: the weak default")
}

func TestAClauseBeforeAnEquationIsNotPartOfIt(t *testing.T) {
	e := Equations("Therefore, 24 - 7 = 11 students. So. 3 * 2 = 6")
	require.Len(t, e, 2)
	assert.Equal(t, "24 - 7", e[0].Expr)
	assert.True(t, e[0].Slip())
	assert.Equal(t, "3 * 2", e[1].Expr)
	assert.False(t, e[1].Slip())
}
