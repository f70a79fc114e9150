package verify

import (
	"context"
	"strings"
	"testing"
	"unicode/utf8"
)

var fuzzSeeds = []string{
	"18", "#### 18", "The answer is 18.", "\\boxed{\\frac{1}{2}}", "$x \\in [-2,7]$",
	"\\left( 3, \\frac{\\pi}{2} \\right)", "1 \\pm \\sqrt{19}", "\\{1\\pm\\sqrt{5},-2\\}",
	"\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}", "9^{9^{9^9}}", "10,\\!080", "1 000",
	"(-\\infty, 2) \\cup (3, \\infty)", "x^5 - x^4 + x^3", "\\text{(B)}", "15\\mbox{ cm}^2",
	"final answer is $9999$, \\boxed{1}", "\\boxed{1} and \\boxed{2}", "A: 7", "**36**",
	"S_{MBCN}:S=7:32", "p=5,q=2;p=7,q=2", "\\sqrt[3]{-8}", "\\binom{10}{3}", "100!", "\\log_2 8",
	"\\boxed{", "}}}{{{", "$$", "\\frac", "((((", "2,74", "-.5e3", "\\\\frac{1}{2}",
	// answer sections, JSON fields, emphasis, text/units, layout, exactness, nesting
	"x\n\n# Answer\n\n(0, 9) \\cup (9, 36)", "  **Final Answer**\n\n  \\[ \\boxed{36} \\]", "## Final Answer: 12", "# Answer\n\n",
	"```json\n{\"reasoning\": \"the answer is 5\", \"answer\": \"11,20,27,32,35,36\"}\n```",
	"{\"answer\": \"\\frac{3}{4}\\times\\theta\"}", "{\"answer\": 42}", "{\"answer\": [\"1\", \"2\"]}", "{\"answer\": \"\\u00", "{\"answer\":",
	"{\"reasoning\": \"so the answer is 9\\n\", \"answer\": \"___\"}", "Final Answer: **73**", "**73**", "2**3",
	"\\boxed{4:30 \\text{ p.m.}}", "16:30", "12^{\\text{th}}", "1112112₃", "x¹⁰", "₃₃₃",
	"\\begin{pmatrix} 1 \\\\[8pt] 2 \\end{pmatrix}", "\\\\[", "\\hspace{", "\\hline\\hline",
	"\\frac{1}{2006!}", "(\\frac{1}{2})^{5000}", "10000! - 9999!", "\\binom{2000}{999}", "{{{{{2}}}}}", "\\{{1}\\}", "{{}}",
}

// FuzzExtract checks that extraction never panics and returns a substring-like
// answer with a known source.
func FuzzExtract(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	sources := map[string]bool{SourceJSON: true, SourceSection: true, SourceChoice: true, SourceFinalAnswer: true, SourceBoxed: true, SourceHashes: true, SourceAnswerIs: true,
		SourceALine: true, SourceBold: true, SourceWhole: true, SourceMath: true, SourceNumber: true, SourceNone: true}
	f.Fuzz(func(t *testing.T, s string) {
		a, src := Extract(s)
		if !sources[src] {
			t.Fatalf("unknown source %q", src)
		}
		if src == SourceNone && a != "" {
			t.Fatalf("source none with answer %q", a)
		}
		if len(a) > len(s)+2*len(s)/1+8 {
			t.Fatalf("answer longer than input: %d > %d", len(a), len(s))
		}
	})
}

// FuzzParse checks that normalization and parsing never panic, that parsed
// trees evaluate without panicking, and that every parsed answer equals
// itself.
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseMath(normalize(s))
		if err != nil {
			return
		}
		exact(n)
		approx(n, pointEnv(map[string]bool{"x": true}, 0))
		c := &comparer{}
		if !c.equal(n, n, 0) {
			t.Fatalf("%q does not equal itself", s)
		}
	})
}

// FuzzVerify checks Verify on arbitrary pairs: no panic, no error, a method
// and a reason, and an answer always equals itself when boxed.
func FuzzVerify(f *testing.F) {
	for i, s := range fuzzSeeds {
		f.Add(s, fuzzSeeds[(i+3)%len(fuzzSeeds)])
	}
	m := NewMath()
	f.Fuzz(func(t *testing.T, ref, resp string) {
		v, err := m.Verify(context.Background(), ref, resp)
		if err != nil {
			t.Fatal(err)
		}
		if v.Method == "" || v.Reason == "" {
			t.Fatalf("empty method or reason: %+v", v)
		}
		if !utf8.ValidString(ref) || strings.ContainsAny(ref, "{}$\\#*:\n") || strings.TrimSpace(ref) == "" {
			return
		}
		if _, err := parseMath(normalize(ref)); err != nil {
			return
		}
		self, _ := m.Verify(context.Background(), ref, "\\boxed{"+ref+"}")
		if !self.Correct {
			t.Fatalf("boxed %q does not verify against itself: %s", ref, self.Reason)
		}
	})
}

// FuzzJSONAndLayout checks the new readers on arbitrary text: the JSON
// field reader and the lenient unescaper never panic and never grow their
// input, collapsing redundant braces keeps every non-brace byte, and the
// layout, subscript and ordinal passes never panic.
func FuzzJSONAndLayout(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if a, st := jsonAnswer(s); st != jsonFound && a != "" {
			t.Fatalf("state %d with answer %q", st, a)
		}
		if u := jsonUnescape(s); len(u) > len(s) {
			t.Fatalf("unescape grew %d -> %d", len(s), len(u))
		}
		c := collapseBraces(s)
		strip := func(x string) string { return strings.NewReplacer("{", "", "}", "").Replace(x) }
		if len(c) > len(s) || strip(c) != strip(s) {
			t.Fatalf("collapseBraces changed more than braces: %q -> %q", s, c)
		}
		_ = stripOrdinals(scriptDigits(stripLayout(s)))
		_, _ = timeOf(s)
		_, _ = numberWithUnit(s)
		_, _ = soleNumber(s)
	})
}
