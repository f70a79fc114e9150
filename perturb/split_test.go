package perturb_test

import (
	"strings"
	"testing"
	"unicode"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/perturb"
)

func texts(steps []perturb.Step) []string {
	if len(steps) == 0 {
		return nil
	}
	out := make([]string, len(steps))
	for i, s := range steps {
		out[i] = s.Text
	}
	return out
}

func TestSplit(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want []string
	}{
		{"GSM8K lines with calculator annotations are one step each",
			"Natalia sold 48/2 = <<48/2=24>>24 clips in May.\nNatalia sold 48+24 = <<48+24=72>>72 clips altogether.\n#### 72",
			[]string{"Natalia sold 48/2 = <<48/2=24>>24 clips in May.", "Natalia sold 48+24 = <<48+24=72>>72 clips altogether.", "#### 72"}},
		{"blank lines separate steps and belong to none",
			"a = 1.\n\n\nb = 2.\n  \nc = 3.",
			[]string{"a = 1.", "b = 2.", "c = 3."}},
		{"CRLF line ends and indentation are not part of a step",
			"  x = 1\r\ny = 2\r\nz = 3\r\n",
			[]string{"x = 1", "y = 2", "z = 3"}},
		{"$$ display math spanning lines is kept whole",
			"We have\n$$\nx = 5\n$$\nso y = 6.\nThen z = 7.",
			[]string{"We have", "$$\nx = 5\n$$", "so y = 6.", "Then z = 7."}},
		{"\\[ display math stays with the text on its opening line",
			"First, note that \\[\na = b\n\\] holds.\nThen c = d.\nSo e = f.",
			[]string{"First, note that \\[\na = b\n\\] holds.", "Then c = d.", "So e = f."}},
		{"an align environment is kept whole",
			"Expanding,\n\\begin{align*}\nx &= 1 \\\\\ny &= 2\n\\end{align*}\nHence x + y = 3.",
			[]string{"Expanding,", "\\begin{align*}\nx &= 1 \\\\\ny &= 2\n\\end{align*}", "Hence x + y = 3."}},
		{"a display block closing and reopening on one line is one unit",
			"We have \\[\na\n\\] and \\[\nb\n\\] here.\nNext line.\nLast line.",
			[]string{"We have \\[\na\n\\] and \\[\nb\n\\] here.", "Next line.", "Last line."}},
		{"an Asymptote diagram is kept whole",
			"Draw it.\n[asy]\ndraw((0,0)--(1,1));\n\nlabel(\"A\");\n[/asy]\nThe area is 4.",
			[]string{"Draw it.", "[asy]\ndraw((0,0)--(1,1));\n\nlabel(\"A\");\n[/asy]", "The area is 4."}},
		{"a fenced code block is kept whole",
			"Code:\n```python\nx = 1\n\ny = 2\n```\nDone.",
			[]string{"Code:", "```python\nx = 1\n\ny = 2\n```", "Done."}},
		{"Step k markers declare the steps even when there are only two (no sentence fallback)",
			"Step 1: Anne has 15 packs. Each has 60 pieces. So 900 pieces.\nStep 2: The answer is: 780",
			[]string{"Step 1: Anne has 15 packs. Each has 60 pieces. So 900 pieces.", "Step 2: The answer is: 780"}},
		{"an unclosed $$ protects nothing",
			"Cost is $$5\nthen 6\nthen 7",
			[]string{"Cost is $$5", "then 6", "then 7"}},
		{"Step k markers group the lines under them",
			"**Step 1: Set up**\nLet x = 5.\nLet y = 6.\n\n**Step 2: Add**\nx + y = 11.\n\nThe answer is $\\boxed{11}$.",
			[]string{"**Step 1: Set up**\nLet x = 5.\nLet y = 6.", "**Step 2: Add**\nx + y = 11.", "The answer is $\\boxed{11}$."}},
		{"Step k: lines are one step each",
			"Step 1: a = 2\nStep 2: b = 3\nStep 3: a + b = 5",
			[]string{"Step 1: a = 2", "Step 2: b = 3", "Step 3: a + b = 5"}},
		{"markdown heading markers also count as Step markers",
			"### Step 1\nCompute a.\n### Step 2\nCompute b.\n### Step 3\nAdd.",
			[]string{"### Step 1\nCompute a.", "### Step 2\nCompute b.", "### Step 3\nAdd."}},
		{"a numbered list is one step per item",
			"1. Let p be the price.\n2. Then 3p + e = 1.24.\n3. So p = 0.29.",
			[]string{"1. Let p be the price.", "2. Then 3p + e = 1.24.", "3. So p = 0.29."}},
		{"a markdown heading joins the line after it",
			"## Solution\nFirst, a = 1.\nThen b = 2.\nSo c = 3.",
			[]string{"## Solution\nFirst, a = 1.", "Then b = 2.", "So c = 3."}},
		{"a one-paragraph solution is split into sentences",
			"First factor $196=2^2\\cdot7^2$.  Each divisor uses only 2 and 7.  There are $3\\times 3=9$ choices. So there are $\\boxed{9}$ divisors.",
			[]string{"First factor $196=2^2\\cdot7^2$.", "Each divisor uses only 2 and 7.", "There are $3\\times 3=9$ choices.", "So there are $\\boxed{9}$ divisors."}},
		{"sentences do not end at decimals, abbreviations, inline math or lower-case words",
			"The price is 3.5 dollars, e.g. Cheap. We get $x = 1. Y$ too. It is approx. three. Then 2. Done!",
			[]string{"The price is 3.5 dollars, e.g. Cheap.", "We get $x = 1. Y$ too.", "It is approx. three.", "Then 2.", "Done!"}},
		{"a sentence ends after display math ending in a period",
			"That gives \\[x<4.\\] To isolate $x$, add 1, so \\[x<5.\\]Since a=1, done.",
			[]string{"That gives \\[x<4.\\]", "To isolate $x$, add 1, so \\[x<5.\\]", "Since a=1, done."}},
		{"a sentence ends at a period inside inline math",
			"The midpoint is at $x = 0.$  It is also decreasing at $x = 0.$ The roots are $7,$ and $14.$ So $c = \\pi.$",
			[]string{"The midpoint is at $x = 0.$", "It is also decreasing at $x = 0.$", "The roots are $7,$ and $14.$", "So $c = \\pi.$"}},
		{"a sentence ends after an align block ending in a period",
			"Squaring, \\begin{align*} x&=\\boxed{3}.\n\\end{align*}Testing, it works.",
			[]string{"Squaring, \\begin{align*} x&=\\boxed{3}.\n\\end{align*}", "Testing, it works."}},
		{"a display block is never split into sentences, even in a short trace",
			"We get:\n$$\na = 1. B = 2. C = 3.\n$$",
			[]string{"We get:", "$$\na = 1. B = 2. C = 3.\n$$"}},
		{"a dollar sign before a number is currency, not math",
			"It costs $5. Then $6.50 more. So we pay $11.50$ in math. Done.",
			[]string{"It costs $5.", "Then $6.50 more.", "So we pay $11.50$ in math.", "Done."}},
		{"whitespace only has no steps", " \n\t\n ", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := perturb.Split(c.in)
			assert.Equal(t, c.want, texts(got))
			assertSpans(t, c.in, got)
		})
	}
}

// assertSpans checks the Step invariants: Text is the span, spans are
// ordered and trimmed, and only whitespace lies outside them.
func assertSpans(t *testing.T, src string, steps []perturb.Step) {
	t.Helper()
	prev := 0
	for i, s := range steps {
		require.True(t, prev <= s.Start && s.Start < s.End && s.End <= len(src), "step %d span [%d,%d) after %d in %d bytes", i+1, s.Start, s.End, prev, len(src))
		require.Equal(t, src[s.Start:s.End], s.Text, "step %d text is its span", i+1)
		assert.Empty(t, strings.TrimSpace(src[prev:s.Start]), "step %d: non-space text %q left between steps", i+1, src[prev:s.Start])
		assert.False(t, unicode.IsSpace(rune(s.Text[0])) || unicode.IsSpace(rune(s.Text[len(s.Text)-1])), "step %d has whitespace edges: %q", i+1, s.Text)
		prev = s.End
	}
	assert.Empty(t, strings.TrimSpace(src[prev:]), "non-space text %q left after the last step", src[prev:])
}

// balanced reports whether s has as many openers as closers of each
// protected construct.
func balanced(s string) bool {
	return strings.Count(s, "$$")%2 == 0 &&
		strings.Count(s, `\[`) == strings.Count(s, `\]`) &&
		strings.Count(s, `\begin{`) == strings.Count(s, `\end{`) &&
		strings.Count(s, "[asy]") == strings.Count(s, "[/asy]")
}

// TestSplitRealSolutionsKeepsDisplayMathWhole splits every MATH-500 and
// GSM8K reference solution and GSM8K model solution: steps are clean spans
// covering all the text, and no step cuts through display math or a
// diagram that the whole solution closes.
func TestSplitRealSolutionsKeepsDisplayMathWhole(t *testing.T) {
	var sources []string
	for _, p := range math500Problems(t) {
		sources = append(sources, p.Solution)
	}
	for _, p := range gsm8kProblems(t) {
		sources = append(sources, p.Solution)
	}
	type sol struct {
		Solution string `json:"solution"`
	}
	type rec struct {
		A sol `json:"6b_finetuning"`
		B sol `json:"175b_verification"`
	}
	for _, r := range readJSONL[rec](t, "testdata/gsm8k_model_solutions_200.jsonl") {
		sources = append(sources, r.A.Solution, r.B.Solution)
	}
	multi, checked := 0, 0
	for _, src := range sources {
		steps := perturb.Split(src)
		assertSpans(t, src, steps)
		if len(steps) > 1 {
			multi++
		}
		if !balanced(src) {
			continue
		}
		checked++
		for i, s := range steps {
			assert.True(t, balanced(s.Text), "step %d of %q… cuts display math: %q", i+1, src[:min(len(src), 60)], s.Text)
		}
	}
	t.Logf("%d solutions (%d with balanced math checked); %d split into more than one step", len(sources), checked, multi)
	assert.Greater(t, multi, len(sources)*90/100, "most real solutions have several steps")
}

func TestHasFinalAnswer(t *testing.T) {
	yes := []string{
		`So the total is $\boxed{18}$.`, `\fbox{3}`, "#### 72", "The answer is 5.",
		"So the answer is (A)", "the final answer is 7", "The answer is: 12.5", "Final Answer: 3",
		"A: 18", "Answer: 42", "**Answer:** 42", "# Answer\n\n5", "We reach the final answer.",
	}
	no := []string{
		"Janet sells 16 - 3 - 4 = <<16-3-4=9>>9 duck eggs a day.", "Step 1: a = 2",
		"Answering this requires care.", "Q: how many?", "The answers are not yet known.", "B: 5", "Let A: be the set",
	}
	for _, s := range yes {
		assert.True(t, perturb.HasFinalAnswer(s), "%q states a final answer", s)
		assert.GreaterOrEqual(t, perturb.FinalAnswerIndex(s), 0, s)
	}
	for _, s := range no {
		assert.False(t, perturb.HasFinalAnswer(s), "%q states no final answer", s)
		assert.Equal(t, -1, perturb.FinalAnswerIndex(s), s)
	}
}

func FuzzSplit(f *testing.F) {
	for _, s := range []string{
		"a = 1\nb = 2\n#### 3",
		"We have\n$$\nx\n$$\nso.",
		"\\begin{align*}\na\\\\\nb\n\\end{align*}",
		"**Step 1:** x\ny\n**Step 2:** z",
		"One. Two $a. B$ three? Four!",
		"[asy]\ndraw();\n[/asy] ok",
		"```\ncode\n```",
		"\\[ \\[ $$ \\] ``` [asy]",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		steps := perturb.Split(s)
		prev := 0
		for i, st := range steps {
			if st.Start < prev || st.Start >= st.End || st.End > len(s) {
				t.Fatalf("step %d span [%d,%d) after %d in %d bytes", i+1, st.Start, st.End, prev, len(s))
			}
			if s[st.Start:st.End] != st.Text {
				t.Fatalf("step %d text is not its span", i+1)
			}
			if strings.TrimSpace(s[prev:st.Start]) != "" {
				t.Fatalf("step %d: non-space text %q dropped", i+1, s[prev:st.Start])
			}
			prev = st.End
		}
		if strings.TrimSpace(s[prev:]) != "" {
			t.Fatalf("non-space tail %q dropped", s[prev:])
		}
		// Whatever the cut, a prefix is a byte prefix with no final answer.
		for _, f := range []float64{0.3, 0.7, 1} {
			p, err := perturb.Truncate(s, perturb.CutFraction(f), perturb.CutInput{Steps: steps})
			if err != nil {
				continue
			}
			if !strings.HasPrefix(s, p.Text) || perturb.HasFinalAnswer(p.Text) {
				t.Fatalf("bad prefix %q of %q", p.Text, s)
			}
		}
	})
}
