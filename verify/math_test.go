package verify

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMathDecidesTheseCases(t *testing.T) {
	cases := []struct {
		name, ref, resp string
		want            bool
	}{
		{"gsm8k hashes", "18", "9 * 2 = 18\n#### 18", true},
		{"answer is sentence", "18", "The answer is 18.", true},
		{"boxed", "18", "so \\boxed{18}", true},
		{"thousands separators", "1000", "\\boxed{1{,}000}", true},
		{"thin-space thousands", "1000000", "1 000 000", true},
		{"tuples are not thousands", "(0,1)", "\\boxed{(0, 1)}", true},
		{"tuple order matters", "(0,1)", "\\boxed{(1, 0)}", false},
		{"dfrac and tfrac", "\\frac{1}{2}", "$\\dfrac12$", true},
		{"leading-dot decimal", "0.5", ".5", true},
		{"trailing zeros", "2.50", "2.5", true},
		{"percent", "28\\%", "28", true},
		{"degrees", "90^\\circ", "\\boxed{90}", true},
		{"currency", "\\$18.90", "The answer is $18.90.", true},
		{"units in text", "15\\mbox{ cm}^2", "\\boxed{15 \\text{ cm}^2}", true},
		{"assignment", "5", "\\boxed{x = 5}", true},
		{"membership", "[-2,7]", "$x \\in [-2,7]$", true},
		{"text case-insensitive", "\\text{Evelyn}", "\\boxed{evelyn}", true},
		{"choice letter", "\\text{(B)}", "The answer is (B).", true},
		{"wrong choice", "\\text{(B)}", "The answer is (C).", false},
		{"exact power tower stays exact", "\\frac{1}{2^{99}}", "\\frac{1}{2^{98}}", false},
		{"exact power", "\\frac{1}{2^{10}}", "\\frac{1}{1024}", true},
		{"factorial and binomial", "\\binom{5}{2}", "\\frac{5!}{2!3!}", true},
		{"radicals", "2\\sqrt{2}", "\\sqrt{8}", true},
		{"radicals differ", "2\\sqrt{2}", "\\sqrt{6}", false},
		{"pi", "\\frac{\\pi}{2}", "\\frac{2\\pi}{4}", true},
		{"logs", "\\log_2 8", "3", true},
		{"variables", "(a+5)(b+2)", "ab+2a+5b+10", true},
		{"variables differ", "(a+5)(b+2)", "ab+2a+5b+11", false},
		{"unordered solutions", "-2, 1", "\\boxed{1, -2}", true},
		{"set braces", "\\{1,2\\}", "\\boxed{\\{2,1\\}}", true},
		{"plus-minus", "1 \\pm \\sqrt{19}", "1+\\sqrt{19}, 1-\\sqrt{19}", true},
		{"plus-minus is not one root", "1 \\pm \\sqrt{19}", "1+\\sqrt{19}", false},
		{"interval ends", "[0,1)", "[0,1]", false},
		{"interval union", "(-\\infty, 2) \\cup (3, \\infty)", "(3,\\infty)\\cup(-\\infty,2)", true},
		{"matrix", "\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}", "\\begin{bmatrix} 1 & 2 \\\\ 3 & 4 \\end{bmatrix}", true},
		{"matrix differs", "\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}", "\\begin{pmatrix} 1 & 2 \\\\ 3 & 5 \\end{pmatrix}", false},
		{"matrix sum", "\\begin{pmatrix} 6 & 8 \\\\ 10 & 12 \\end{pmatrix}", "$\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix} + \\begin{pmatrix} 5 & 6 \\\\ 7 & 8 \\end{pmatrix}$", true},
		{"matrix product", "\\begin{pmatrix} 2 \\\\ 4 \\end{pmatrix}", "$2\\begin{pmatrix} 1 & 0 \\\\ 0 & 2 \\end{pmatrix} \\begin{pmatrix} 1 \\\\ 1 \\end{pmatrix}$", true},
		{"matrix shapes must fit", "\\begin{pmatrix} 1 \\end{pmatrix}", "$\\begin{pmatrix} 1 & 0 \\end{pmatrix} \\begin{pmatrix} 1 & 1 \\end{pmatrix}$", false},
		{"equations up to scale", "y = 2x + 3", "2y - 4x - 6 = 0", true},
		{"absolute band", "1 \\le |z| \\le 2", "[-2,-1] \\cup [1,2]", true},
		{"absolute band is not one interval", "1 \\le |z| \\le 2", "[1,2]", false},
		{"absolute bound", "|x| < 3", "(-3, 3)", true},
		{"absolute lower bound", "|x| \\ge 3", "(-\\infty, -3] \\cup [3, \\infty)", true},
		{"inequalities joined by or", "(-\\infty, 2] \\cup [3, \\infty)", "$x \\le 2$ or $x \\ge 3$", true},
		{"inequalities joined by or differ", "(-\\infty, 2] \\cup [3, \\infty)", "$x < 2$ or $x \\ge 3$", false},
		{"inequality flipped", "x \\ge 5", "5 \\le x", true},
		{"decimal literal rounds", "\\frac{70}{9}", "7.78", true},
		{"too few digits", "\\frac{1}{3}", "0.3", false},
		{"mixed number", "1\\frac{4}{5}", "\\frac{9}{5}", true},
		{"base subscript", "4210_{5}", "4210_5", true},
		{"scientific notation", "1500", "1.5e3", true},
		{"scientific notation differs", "1500", "1.6e3", false},
		{"times ten power", "0.00015", "1.5 \\times 10^{-4}", true},
		{"e is a symbol, not an exponent", "2e", "2e", true},
		{"e is Euler's number", "\\ln(e^2)", "2", true},
		{"e is not a free variable", "e^2", "7.389", true},
		{"1 - 1/e differs from 1 + 1/e", "1 - \\frac{1}{\\mathrm{e}}", "1 + \\frac{1}{e}", false},
		{"glued conjunction", "-2, 1", "x=1orx=-2", true},
		{"no answer", "5", "I do not know.", false},
		{"infinity", "\\infty", "\\boxed{\\infty}", true},
		{"negative infinity differs", "\\infty", "\\boxed{-\\infty}", false},
	}
	m := NewMath()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v, err := m.Verify(context.Background(), c.ref, c.resp)
			require.NoError(t, err)
			assert.Equal(t, c.want, v.Correct, v.Reason)
			assert.NotEmpty(t, v.Method)
			assert.NotEmpty(t, v.Reason)
		})
	}
}

func TestVerifyHonoursCancellation(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := NewMath().Verify(ctx, "1", "1")
	assert.True(t, errors.Is(err, context.Canceled))
}

func TestExtractPriority(t *testing.T) {
	cases := []struct{ in, want, src string }{
		{"final answer is $9999$, \\boxed{1}", "9999", SourceFinalAnswer},
		{"\\boxed{1} then \\boxed{2}", "2", SourceBoxed},
		{"$\\boxed{1}, \\boxed{2}$", "1, 2", SourceBoxed},
		{"\\boxed{\\frac{1}{\\sqrt{2}}}", "\\frac{1}{\\sqrt{2}}", SourceBoxed},
		{"blah\n#### 42", "42", SourceHashes},
		{"So the answer is 12 apples.", "12 apples", SourceAnswerIs},
		{"step\nA: 7", "7", SourceALine},
		{"the total is **36**", "36", SourceBold},
		{"we get 3 and then 4.5 in total", "4.5", SourceNumber},
		{"nothing here", "", SourceNone},
	}
	for _, c := range cases {
		got, src := Extract(c.in)
		assert.Equal(t, c.want, got, c.in)
		assert.Equal(t, c.src, src, c.in)
	}
}

// hostileInputs are answers that would blow up a naive verifier.
func hostileInputs() map[string][2]string {
	nested := strings.Repeat("{", 100000) + "1" + strings.Repeat("}", 100000)
	nested3 := strings.Repeat("{", 100000) + "3" + strings.Repeat("}", 100000)
	fracs := strings.Repeat("\\frac{1}{", 3000) + "2" + strings.Repeat("}", 3000)
	mb := strings.Repeat("The value is 3 and we continue reasoning. ", 1<<20/42) + "\\boxed{7}"
	return map[string][2]string{
		"power tower":        {"9^{9^{9^9}}", "\\boxed{9^{9^{9^9}}}"},
		"power tower differ": {"9^{9^{9^9}}", "\\boxed{10^{10^{10}}}"},
		"ten tower":          {"10^{10^{10}}", "\\boxed{10^{10^{10}} + 1}"},
		"nested braces":      {"1", "\\boxed" + nested},
		"nested braces ref":  {nested, "1"},
		"nested braces diff": {"1", "\\boxed" + nested3},
		"nested fractions":   {"2", "\\boxed{" + fracs + "}"},
		"factorial sum":      {"1", "\\boxed{" + strings.Repeat("3000! + ", 500) + "1}"},
		"tiny factorials":    {"\\frac{1}{2004!}", "\\boxed{\\frac{1}{2006!}}"},
		"big binomials":      {"1", "\\boxed{" + strings.Repeat("\\binom{99999}{950} - ", 200) + "1}"},
		"big powers":         {"1", "\\boxed{" + strings.Repeat("(\\frac{3}{2})^{20000} - ", 200) + "1}"},
		"megabyte response":  {"7", mb},
		"huge factorial":     {"1", "\\boxed{(10^{10})!}"},
		"deep parens":        {"1", "\\boxed{" + strings.Repeat("(", 50000) + "1" + strings.Repeat(")", 50000) + "}"},
	}
}

func TestHostileInputsAreAnsweredWithoutPanic(t *testing.T) {
	m := NewMath()
	want := map[string]bool{
		"power tower": true, "power tower differ": false, "ten tower": false,
		// redundant brace groups collapse (policy: {{X}} is X), so these read as 1
		"nested braces": true, "nested braces ref": true, "nested braces diff": false, "megabyte response": true,
		"nested fractions": false, "factorial sum": false, "tiny factorials": false, "big binomials": false, "big powers": false,
		"huge factorial": false, "deep parens": false,
	}
	for name, in := range hostileInputs() {
		t.Run(name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			v, err := m.Verify(context.Background(), in[0], in[1])
			runtime.ReadMemStats(&after)
			require.NoError(t, err)
			assert.Equal(t, want[name], v.Correct, v.Reason)
			// bounded memory: a few times the input size, never the size of 9^9^9^9
			alloc := after.TotalAlloc - before.TotalAlloc
			assert.Less(t, alloc, uint64(16*len(in[0])+16*len(in[1])+8<<20), "allocated %d bytes", alloc)
		})
	}
}

func TestMathIsSafeForConcurrentUse(t *testing.T) {
	rows := readJSONL[math500Row](t, "testdata/math500.jsonl")[:100]
	m := NewMath()
	want := make([]Verdict, len(rows))
	for i, r := range rows {
		want[i], _ = m.Verify(context.Background(), r.Answer, r.Solution)
	}
	got := make([]Verdict, len(rows))
	done := make(chan struct{})
	for w := range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := w; i < len(rows); i += 4 {
				got[i], _ = m.Verify(context.Background(), rows[i].Answer, rows[i].Solution)
			}
		}()
	}
	for range 4 {
		<-done
	}
	assert.Equal(t, want, got)
}
