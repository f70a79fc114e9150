package verify

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The failure classes found on real model outputs, each in the style real
// responses use: PRM800K's "# Answer" sections (format as in
// github:openai/prm800k README.md and openreasoner/openr
// preprocess/tests/samples_prm800k.jsonl), QwQ's indented "**Final
// Answer**", ZeroEval's JSON {"reasoning", "answer"} objects
// (github:yuchenlin/ZeroEval result_dirs/), markdown emphasis, text and unit
// answers, LaTeX layout, exactness of big values and redundant braces.
func TestFailureClassesOfRealOutputs(t *testing.T) {
	cases := []struct {
		class, name, ref, resp string
		want                   bool
		rule                   string
	}{
		// 1. answer sections
		{"section", "interval after prose with numbers", "(0,9) \\cup (9,36)",
			"We need $x^2 - 36x < 0$, so $0 < x < 36$, and $x \\neq 9$.\n\n# Answer\n\n(0, 9) \\cup (9, 36)", true, SourceSection},
		{"section", "pmatrix after prose", "\\begin{pmatrix} 3 \\\\ -1 \\end{pmatrix}",
			"Adding the vectors gives 3 and then -1.\n\n# Answer\n\n\\begin{pmatrix} 3 \\\\ -1 \\end{pmatrix}", true, SourceSection},
		{"section", "direction word, not the last number", "\\text{East}",
			"She turns 90 degrees clockwise twice and then 270 degrees.\n\n# Answer\n\nEast", true, SourceSection},
		{"section", "wrong direction word", "\\text{West}",
			"She turns 90 degrees clockwise twice and then 270 degrees.\n\n# Answer\n\nEast", false, SourceSection},
		{"section", "PRM800K wrong answer", "28800",
			"That gives me 2 x 60 x 60 x 1 = 7200 ways.\n\n# Answer\n\n7200", false, SourceSection},
		{"section", "PRM800K thousands", "320,000", "So the answer is 320,000.\n\n# Answer\n\n320,000", true, SourceSection},
		{"section", "QwQ indented bold heading with a display", "36",
			"Wait, let me check again: 6 times 6 is 36.\n\n  **Final Answer**\n\n  \\[ \\boxed{36} \\]", true, SourceSection},
		{"section", "indented hash heading", "-\\frac{1}{2}", "Thus.\n\n    # Answer\n\n    $-\\frac12$", true, SourceSection},
		{"section", "heading with the answer on its line", "12", "So we are done.\n\n## Final Answer: 12", true, SourceSection},
		{"section", "section sentence", "12", "...\n\n### Final Answer\nThe answer is $12$ degrees.", true, SourceSection},
		{"section", "an unfinished sentence under the heading is not an answer", "16",
			"**Answer**\n\nThe maximum value of the product is\n\nso it is 16", true, SourceNumber},
		{"section", "a heading that starts a long solution is not an answer", "9",
			"## Answer\n\nLet us compute step by step: first 2+2=4, then we add five more and obtain the result 9.", true, SourceNumber},
		// 2. JSON answers
		{"json", "answer field wins over markers in reasoning", "12",
			"```json\n{\n    \"reasoning\": \"First the answer is 5, so \\\\boxed{7}. Then we correct it.\",\n    \"answer\": \"12\"\n}\n```", true, SourceJSON},
		{"json", "markers in reasoning are not the answer", "7",
			"```json\n{\n    \"reasoning\": \"First the answer is 5, so \\\\boxed{7}. Then we correct it.\",\n    \"answer\": \"12\"\n}\n```", false, SourceJSON},
		{"json", "list whose last number is the reference", "36",
			"```json\n{\n    \"reasoning\": \"The candidates are 11, 20, 27, 32, 35, 36.\",\n    \"answer\": \"11,20,27,32,35,36\"\n}\n```", false, SourceJSON},
		{"json", "the same list", "11, 20, 27, 32, 35, 36",
			"```json\n{\"reasoning\": \"...\", \"answer\": \"11,20,27,32,35,36\"}\n```", true, SourceJSON},
		{"json", "escaped LaTeX", "\\frac{1}{2}", "{\"reasoning\": \"Step 1.\\n\\nSo x = 1/2.\", \"answer\": \"\\\\frac{1}{2}\"}", true, SourceJSON},
		{"json", "LaTeX written with one backslash (\\f, \\t, \\n are not escapes)", "\\frac{3}{4}\\times\\theta",
			"{\"reasoning\": \"...\", \"answer\": \"\\frac{3}{4}\\times\\theta\"}", true, SourceJSON},
		{"json", "invalid escape kept as a command", "2\\sqrt{2}", "{\"reasoning\": \"...\", \"answer\": \"2\\sqrt{2}\"}", true, SourceJSON},
		{"json", "bare number", "42", "{\"reasoning\": \"six sevens\", \"answer\": 42}", true, SourceJSON},
		{"json", "currency in the field", "18", "{\n    \"reasoning\": \"9 eggs * $2 = $18.\",\n    \"answer\": \"$18\"\n}", true, SourceJSON},
		{"json", "fraction is not its numerator", "5", "{\"reasoning\": \"= \\\\frac{5}{4}\", \"answer\": \"5/4\"}", false, SourceJSON},
		{"json", "no answer field: escapes undone for the other rules", "7",
			"{\"reasoning\": \"We add 3 and 4.\\nSo the answer is 7.\\n\\nCheck: 2+2", true, SourceAnswerIs},
		{"json", "placeholder answer falls back", "9", "{\"reasoning\": \"so the answer is 9\", \"answer\": \"___\"}", true, SourceAnswerIs},
		// 3. markdown emphasis
		{"emphasis", "bold after Final Answer", "73", "Adding up.\n\nFinal Answer: **73**", true, SourceAnswerIs},
		{"emphasis", "bold label", "73", "**Final Answer:** 73", true, SourceAnswerIs},
		{"emphasis", "bold inside a sentence", "73", "So the answer is **73** dollars.", true, SourceAnswerIs},
		{"emphasis", "bold wrong answer", "73", "Final Answer: **72**", false, SourceAnswerIs},
		{"emphasis", "a Python power is not emphasis", "8", "Answer: 2**3", true, SourceAnswerIs},
		// 4. text and unit answers
		{"text", "time with p.m. in text", "\\text{4:30 p.m.}", "So she leaves at \\boxed{4:30 \\text{ p.m.}}", true, SourceBoxed},
		{"text", "time, other half of the day", "\\text{4:30 p.m.}", "\\boxed{4:30 \\text{ a.m.}}", false, SourceBoxed},
		{"text", "24-hour time", "\\text{4:30 p.m.}", "The answer is 16:30.", true, SourceAnswerIs},
		{"text", "different time", "\\text{4:30 p.m.}", "\\boxed{5:30 p.m.}", false, SourceBoxed},
		{"text", "ordinal with text superscript", "12", "\\boxed{12^{\\text{th}}}", true, SourceBoxed},
		{"text", "plain ordinal", "12", "The answer is the 12th term.", true, SourceAnswerIs},
		{"text", "wrong ordinal", "13", "\\boxed{12^{\\text{th}}}", false, SourceBoxed},
		{"text", "Unicode subscript base", "1112112_3", "The answer is 1112112₃.", true, SourceAnswerIs},
		{"text", "Unicode subscript base differs", "1112112_3", "\\boxed{1112111₃}", false, SourceBoxed},
		{"text", "Unicode superscript", "x^{10}", "\\boxed{x¹⁰}", true, SourceBoxed},
		{"text", "direction case-insensitive", "\\text{East}", "\\boxed{\\text{east}}", true, SourceBoxed},
		{"text", "direction differs", "\\text{East}", "\\boxed{\\text{north}}", false, SourceBoxed},
		// 5. LaTeX layout inside math
		{"layout", "row spacing in pmatrix", "\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}",
			"\\boxed{\\begin{pmatrix} 1 \\\\[8pt] 2 \\end{pmatrix}}", true, SourceBoxed},
		{"layout", "row spacing, wrong entry", "\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}",
			"\\boxed{\\begin{pmatrix} 1 \\\\[2mm] 3 \\end{pmatrix}}", false, SourceBoxed},
		{"layout", "hline and hspace", "\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}",
			"\\boxed{\\begin{array}{cc} 1 & \\hspace{1em} 2 \\\\ \\hline 3 & 4 \\end{array}}", true, SourceBoxed},
		{"layout", "a bracket after a row break is content", "\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}",
			"\\boxed{\\begin{pmatrix} 1 \\\\[1,2] \\end{pmatrix}}", false, SourceBoxed},
		// 6. exactness
		{"exact", "tiny factorial reciprocals differ", "\\frac{1}{2004!}", "\\boxed{\\frac{1}{2006!}}", false, SourceBoxed},
		{"exact", "tiny factorial reciprocals agree exactly", "\\frac{1}{2006!}", "\\boxed{\\frac{1}{2006 \\cdot 2005 \\cdot 2004!}}", true, SourceBoxed},
		{"exact", "big binomials differ", "\\binom{2000}{1000}", "\\boxed{\\binom{2000}{999}}", false, SourceBoxed},
		{"exact", "tiny powers differ", "\\left(\\frac{1}{2}\\right)^{5000}", "\\boxed{\\left(\\frac{1}{2}\\right)^{5001}}", false, SourceBoxed},
		{"exact", "huge powers by magnitude", "2^{100000}", "\\boxed{4^{50000}}", true, SourceBoxed},
		{"exact", "powers beyond exact range underflow but differ", "\\left(\\frac{1}{2}\\right)^{40000}", "\\boxed{\\left(\\frac{1}{2}\\right)^{40001}}", false, SourceBoxed},
		{"exact", "factorials beyond exact range differ by magnitude", "\\frac{1}{5000!}", "\\boxed{\\frac{1}{5001!}}", false, SourceBoxed},
		{"exact", "huge factorials differ", "10000!", "\\boxed{10001!}", false, SourceBoxed},
		{"exact", "signs of tiny values", "\\frac{1}{2006!}", "\\boxed{-\\frac{1}{2006!}}", false, SourceBoxed},
		// 7. hostile nesting
		{"nesting", "redundant braces", "2", "\\boxed{{{{{2}}}}}", true, SourceBoxed},
		{"nesting", "redundant braces, other value", "3", "\\boxed{{{{{2}}}}}", false, SourceBoxed},
		{"nesting", "braces in a fraction", "\\frac{1}{2}", "\\boxed{\\frac{{{1}}}{{{2}}}}", true, SourceBoxed},
	}
	m := NewMath()
	for _, c := range cases {
		t.Run(c.class+"/"+c.name, func(t *testing.T) {
			v, err := m.Verify(context.Background(), c.ref, c.resp)
			require.NoError(t, err)
			assert.Equal(t, c.want, v.Correct, v.Reason)
			assert.Equal(t, c.rule, v.Rule, v.Reason)
		})
	}
}

func TestRuleNamesTheExtractionRule(t *testing.T) {
	m := NewMath()
	for resp, rule := range map[string]string{
		"{\"answer\": \"5\"}":                      SourceJSON,
		"x\n\n# Answer\n\n5":                       SourceSection,
		"The final answer is $5$.":                 SourceFinalAnswer,
		"so \\boxed{5}":                            SourceBoxed,
		"step\n#### 5":                             SourceHashes,
		"The answer is 5.":                         SourceAnswerIs,
		"step one\nA: 5":                           SourceALine,
		"we get 2 and then 3 and finally 5 apples": SourceNumber,
		"I cannot solve this.":                     SourceNone,
	} {
		v, err := m.Verify(context.Background(), "5", resp)
		require.NoError(t, err)
		assert.Equal(t, rule, v.Rule, resp)
	}
	v, _ := m.Verify(context.Background(), "\\text{(B)}", "I think it is (B) because of the graph.")
	assert.Equal(t, SourceChoice, v.Rule)
}

func TestJSONUnescapeKeepsLaTeXCommands(t *testing.T) {
	for in, want := range map[string]string{
		`\\frac{1}{2}`:       `\frac{1}{2}`,
		`\frac{1}{2}`:        `\frac{1}{2}`,
		`a\nb`:               "a\nb",
		`\neq 3`:             `\neq 3`,
		`\nThe`:              "\nThe",
		`\theta + \tau`:      `\theta + \tau`,
		`tab\tthen`:          "tab\tthen",
		`\right)`:            `\right)`,
		`\u00b0`:             "°",
		`\sqrt{2}`:           `\sqrt{2}`,
		`quote \" done`:      `quote " done`,
		`\binom{5}{2}\boxed`: `\binom{5}{2}\boxed`,
	} {
		assert.Equal(t, want, jsonUnescape(in), in)
	}
	assert.Equal(t, "x", strings.TrimSpace(jsonUnescape("x")))
}

func TestJSONFieldYieldsToALaterBox(t *testing.T) {
	m := NewMath()
	resp := "Tool output: {\"answer\": \"5\", \"ok\": true}\nThat was a guess; recomputing gives 6.\n\nThe final answer is $\\boxed{6}$."
	v, err := m.Verify(context.Background(), "6", resp)
	require.NoError(t, err)
	assert.True(t, v.Correct, v.Reason)
	assert.Equal(t, SourceFinalAnswer, v.Rule)
	v, _ = m.Verify(context.Background(), "5", resp)
	assert.False(t, v.Correct, v.Reason)
}

func TestJSONFieldWinsOverAReasoningFieldAfterIt(t *testing.T) {
	v, err := NewMath().Verify(context.Background(), "12",
		"{\"answer\": \"12\", \"reasoning\": \"At first the final answer is \\\\boxed{5}, but no.\"}")
	require.NoError(t, err)
	assert.True(t, v.Correct, v.Reason)
	assert.Equal(t, SourceJSON, v.Rule)
}

// TestJSONAnswerFieldsAsModelsWriteThem covers answer fields seen in the
// ZeroEval outputs (github:yuchenlin/ZeroEval result_dirs/gsm, math-l5).
func TestJSONAnswerFieldsAsModelsWriteThem(t *testing.T) {
	const echo = "\n\n## Instruction\n\nPlease show your final answer in the `answer` field, e.g.,`\"answer\": \"42\"`.\n\n```json\n{\n    \"reasoning\": \"___\",\n    \"answer\": \"___\"\n}\n```"
	cases := []struct {
		name, ref, resp string
		want            bool
		rule            string
	}{
		{"prose with one number", "300", "{\"reasoning\": \"...\", \"answer\": \"Julie had $300 left.\"}", true, SourceJSON},
		{"prose with one number, wrong", "301", "{\"reasoning\": \"...\", \"answer\": \"Julie had $300 left.\"}", false, SourceJSON},
		{"computation ending in the value", "132", "{\"answer\": \"(5 + 3 + 0.25) * 16 = 8.25 * 16 = 132 tablespoons\"}", true, SourceJSON},
		{"unit glued to the number", "48", "{\"answer\": \"48g\"}", true, SourceJSON},
		{"short unit", "225", "{\"answer\": \"225 lbs\"}", true, SourceJSON},
		{"a variable is not a unit", "5", "{\"answer\": \"5x\"}", false, SourceJSON},
		{"pi is not a unit", "5", "{\"answer\": \"5 pi\"}", false, SourceJSON},
		{"parenthetical breakdown", "6", "{\"answer\": \"6 pizzas (3 cheese and 3 pepperoni)\"}", true, SourceJSON},
		{"hour as a time", "2", "{\"answer\": \"2:00 pm\"}", true, SourceJSON},
		{"hour as a time, other minutes", "2", "{\"answer\": \"2:10 pm\"}", false, SourceJSON},
		{"answer typed into the blank", "3", "{\"reasoning\": \"___\", \"answer\": \"___3___\"}", true, SourceJSON},
		{"escaped quotes around the value", "5", "{\"answer\": \"\\\"5\\\"\"}", true, SourceJSON},
		{"object inside the string", "26", "{\"answer\": \"{\\\"original price\\\": $26}\"}", true, SourceJSON},
		{"thousands inside a computation", "1680", "{\"answer\": \"8! / 24 = 40,320 / 24 = 1680\"}", true, SourceJSON},
		{"blank field: no last-number fallback", "6", "{\"reasoning\": \"z = 6/(xy), then count the solutions\", \"answer\": \" \"}", false, SourceNone},
		{"echoed instruction example is not an answer", "42", "{\"reasoning\": \"I am not sure.\", \"answer\": \"___\"}" + echo, false, SourceNone},
		{"answer, then an echoed template", "23", "```json\n{\"reasoning\": \"so D is 23\", \"answer\": \"23\"}\n```" + echo, true, SourceJSON},
		{"the last JSON object with a value wins", "32", "{\"answer\": \"40\"}\nWait, I recount.\n{\"answer\": \"32\"}", true, SourceJSON},
		{"clean final answer after the object", "306", "{\"answer\": \"850 / 50 = 17 bags; 17 bags * $18/bag = $306\"}\n\nThe final answer is: `\"answer\": \"306\"`", true, SourceJSON},
		{"a final-answer sentence is not a value", "3", "{\"answer\": \"2\"}\n\nThe final answer is that there are 2 values of x for which f(f(x)) = 3.", false, SourceJSON},
		{"final answer with an explanation after it", "452", "{\"answer\": \"452\"}\n\nThe final answer is 452 minutes, which is 7 hours and 32 minutes.", true, SourceJSON},
		{"prose after the object does not override", "98", "{\"answer\": \"44\"}\n\nHowever, there seems to be a mistake; the correct total is 98.", false, SourceJSON},
	}
	m := NewMath()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v, err := m.Verify(context.Background(), c.ref, c.resp)
			require.NoError(t, err)
			assert.Equal(t, c.want, v.Correct, v.Reason)
			assert.Equal(t, c.rule, v.Rule, v.Reason)
		})
	}
}
