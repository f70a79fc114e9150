package viewer

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/providers"
	"github.com/rebound-lab/rebound/verify"
)

// Payloads a hostile (or merely unlucky) model output may contain. Each
// would set window.__pwned or document.title if it ever executed.
const (
	xssScript  = `<script>window.__pwned = 1; document.title = "pwned";</script>`
	xssImg     = `<img src=x onerror="window.__pwned = 2; document.title = 'pwned'">`
	xssBreak   = `</div></span><script>window.__pwned = 3</script><svg onload="window.__pwned = 4">`
	xssKaTeX   = `$\href{javascript:window.__pwned=5}{click me}$ and \(\htmlId{x}{y}\)`
	xssProblem = `xss/"><script>window.__pwned=6</script>`
)

func verdict(ok bool, answer string) verify.Verdict {
	v := verify.Verdict{Correct: ok, Answer: answer, Method: "exact-rational"}
	if ok {
		v.Reason = "answer equals the reference"
	} else {
		v.Reason = "answer " + answer + " differs from the reference"
	}
	return v
}

func call(model string, i int, text string, ok bool, answer string) Call {
	return Call{
		Model: model, Index: i, Text: text, FinishReason: "stop",
		Usage:   providers.Usage{InputTokens: 120 + i, OutputTokens: 200 + 10*i},
		CostUSD: 0.00042 * float64(i+1), Verdict: verdict(ok, answer), Verified: true,
	}
}

const mathSource = "Step 1: Let $s = x + \\frac{1}{x}$. Then $s^2 = x^2 + 2 + \\frac{1}{x^2}$.\n" +
	"Step 2: Substituting, $s^2 = 7 + 2 = 9$.\n" +
	"Step 3: Hmm, so $s^2 = 7 - 2 = 5$ and \\(s = \\sqrt{5}\\).\n" +
	"Step 4: Since $x > 0$, $s > 0$.\n" +
	"Step 5: The answer is $\\boxed{\\sqrt{5}}$."

// testRun is a small run with math, a GSM8K problem whose "$" are dollars,
// a problem full of XSS payloads, a set-aside problem and filler problems
// for pagination.
func testRun(t testing.TB, filler int) *Static {
	t.Helper()
	cut := strings.Index(mathSource, "\nStep 4") // as perturb.Truncate cuts: at a step's end
	problems := []Problem{
		{
			ProblemSummary: ProblemSummary{
				ID: "math500/test/algebra/17", Source: "math500", Bucket: "medium", BucketProb: 0.71,
				Question: "If $x^2 + \\frac{1}{x^2} = 7$ and $x > 0$, what is $x + \\frac{1}{x}$?",
				Answer:   "3",
			},
			Subject: "Algebra", Level: 3,
			Solution:   "Since $\\left(x + \\frac{1}{x}\\right)^2 = x^2 + 2 + \\frac{1}{x^2} = 9$, the answer is $\\boxed{3}$.",
			Membership: []Membership{{"hard", 0.08}, {"medium", 0.71}, {"easy", 0.21}},
			Samples: []Sample{
				{Role: "strong", Call: call("sim:strong", 0, "We have $(x + 1/x)^2 = 9$, so the answer is $\\boxed{3}$.", true, "3")},
				{Role: "strong", Call: call("sim:strong", 1, "Squaring gives $9$, hence $\\boxed{3}$.", true, "3")},
				{Role: "strong", Call: call("sim:strong", 2, "Subtracting, $s^2 = 5$, so $\\boxed{\\sqrt{5}}$.", false, "\\sqrt{5}")},
				{Role: "weak", Call: call("sim:weak", 0, mathSource, false, "\\sqrt{5}")},
				{Role: "weak", Call: call("sim:weak", 1, "The answer is $\\boxed{3}$.", true, "3")},
			},
			Prefixes: []Prefix{{
				ID: "weak", Strategy: "weak", Origin: "sim:weak", Text: mathSource[:cut], Source: mathSource,
				StepsKept: 3, StepsTotal: 5, ErrorStep: 3, CostUSD: 0.0011,
				Meta: map[string]string{"tries": "2"},
				Continuations: []Continuation{
					{
						Call:          call("sim:strong", 0, "Wait, step 3 is wrong: $s^2 = 7 + 2 = 9$, so $s = 3$. The answer is $\\boxed{3}$.", true, "3"),
						PrefillMethod: providers.PrefillNative,
					},
					{
						Call:          call("sim:strong", 1, "Let's solve this from scratch. $s^2 = 5$, so the answer is $\\boxed{\\sqrt{5}}$.", false, "\\sqrt{5}"),
						PrefillMethod: providers.PrefillNative, Restart: true, RestartReason: "fresh opener",
					},
				},
			}},
		},
		{
			ProblemSummary: ProblemSummary{
				ID: "gsm8k/test.jsonl:1", Source: "gsm8k", Bucket: "easy", BucketProb: 0.97,
				Question: "Janet sells eggs at $2 each and sold 9 eggs; she spent $3 on feed. How many dollars did she make?",
				Answer:   "15",
			},
			Membership: []Membership{{"hard", 0.01}, {"medium", 0.02}, {"easy", 0.97}},
			Samples: []Sample{
				{Role: "strong", Call: call("sim:strong", 0, "9 * $2 = $18, minus $3 is $15.\n#### 15", true, "15")},
				{Role: "strong", Call: call("sim:strong", 1, "She makes 18 - 3 = 15 dollars, so the answer is \\boxed{15}.", true, "15")},
			},
			Prefixes: []Prefix{{
				ID: "onpolicy", Strategy: "onpolicy", Origin: "sim:strong", Text: "9 * $2 = $18.\n",
				Source: "9 * $2 = $18.\n18 + 3 = 21.\n#### 21", StepsKept: 1, StepsTotal: 3,
				Continuations: []Continuation{{
					Call:          call("sim:strong", 0, "Then 18 - 3 = 15.\n#### 15", true, "15"),
					PrefillMethod: providers.PrefillAssistantMessage,
				}},
			}},
		},
		{
			ProblemSummary: ProblemSummary{
				ID: xssProblem, Source: "adversarial", Bucket: "hard", BucketProb: 0.9,
				Question: "What is 1+1? " + xssImg, Answer: "2 " + xssScript,
			},
			Solution: xssBreak,
			Samples: []Sample{
				{Role: "strong", Call: call("sim:strong", 0, "Payload: "+xssScript+" then "+xssImg, false, xssImg)},
				{Role: "weak", Call: call("sim:weak", 0, xssKaTeX+" "+xssBreak, false, "<b>1</b>")},
			},
			Prefixes: []Prefix{{
				ID: "weak", Strategy: "weak", Origin: xssImg, Text: "Step 1: " + xssScript + "\n",
				Source: "Step 1: " + xssScript + "\nStep 2: " + xssImg, StepsKept: 1, StepsTotal: 2,
				Meta: map[string]string{"note": xssBreak},
				Continuations: []Continuation{{
					Call:          call("sim:strong", 0, xssBreak+" "+xssKaTeX, false, "3"),
					PrefillMethod: providers.PrefillInstructed, Restart: true, RestartReason: xssImg,
				}},
			}},
		},
		{
			ProblemSummary: ProblemSummary{
				ID: "math500/test/number_theory/3", Source: "math500", Bucket: "easy", BucketProb: 0.99,
				Question: "What is the remainder when $2^{10}$ is divided by $7$?", Answer: "2",
				SetAside: []string{"weak: too_easy"}, Strategies: []string{"weak"},
			},
			SetAsideDetail: []string{"weak: too easy (the weak model never failed in 10 tries)"},
			Samples: []Sample{
				{Role: "strong", Call: call("sim:strong", 0, "$2^{10} = 1024 = 7 \\cdot 146 + 2$, so $\\boxed{2}$.", true, "2")},
				{Role: "weak", Call: call("sim:weak", 0, "$1024 \\bmod 7 = 2$. $\\boxed{2}$", true, "2")},
			},
		},
	}
	for i := range filler {
		ok := i%3 != 0
		p := Problem{
			ProblemSummary: ProblemSummary{
				ID: fmt.Sprintf("filler/%04d", i), Source: "synthetic", Bucket: []string{"hard", "medium", "easy"}[i%3],
				BucketProb: 0.6 + 0.4*float64(i%5)/4, Question: fmt.Sprintf("Compute $%d + %d$.", i, i+1),
				Answer: fmt.Sprint(2*i + 1),
			},
			Samples: []Sample{
				{Role: "strong", Call: call("sim:strong", 0, fmt.Sprintf("$%d + %d = %d$", i, i+1, 2*i+1), ok, fmt.Sprint(2*i+1))},
			},
		}
		if i%2 == 0 {
			p.Prefixes = []Prefix{{ID: "inject", Strategy: "inject", Text: "Step 1: add.\n", Source: "Step 1: add.\nStep 2: done.",
				StepsKept: 1, StepsTotal: 2, Continuations: []Continuation{
					{Call: call("sim:strong", 0, "Done.", ok, "1"), Restart: i%4 == 0, PrefillMethod: providers.PrefillNative},
				}}}
		}
		problems = append(problems, p)
	}
	ov := Overview{
		Title:  "run-2026-11-27",
		Params: []Param{{"strong", "sim:strong"}, {"weak", "sim:weak"}, {"dataset", "math500"}, {"seed", "1"}},
		Buckets: []Bucket{
			bucket("hard", 40, 0.05, 0.01, 120, 18, 0.15, [2]float64{0.09, 0.22}, 3.0, 0.02, map[string]int{"no_trace": 3}),
			bucket("medium", 25, 0.55, 0.2, 75, 33, 0.44, [2]float64{0.33, 0.56}, 0.8, 0.05, nil),
			bucket("easy", 35, 0.97, 0.8, 60, 51, 0.85, [2]float64{0.75, 0.93}, 0.876, 0.0, map[string]int{"too_easy": 12}),
		},
		Overall:    bucket("", 100, 0.52, 0.34, 255, 102, 0.4, [2]float64{0.34, 0.46}, 0.77, 0.02, map[string]int{"no_trace": 3, "too_easy": 12}),
		HasSummary: true,
		ByDepth:    []DepthRow{{0.25, 80, 0.55}, {0.5, 100, 0.4}, {0.75, 75, 0.28}, {1, 0, math.NaN()}},
		Cost:       Cost{Calls: 1855, CachedCalls: 400, InputTokens: 512345, OutputTokens: 401234, USD: 0},
		Plots:      []FileRef{{Name: "recovery_by_bucket.svg", Title: "Recovery per bucket"}},
		Files:      []FileRef{{Name: "report.md", Title: "the report"}},
	}
	files := map[string][]byte{
		"recovery_by_bucket.svg": []byte(testSVG),
		"report.md":              []byte("# Report\n\n" + xssScript + "\n"),
		"secret.txt":             []byte("not listed in the overview"),
	}
	s, err := NewStatic(ov, problems, files)
	require.NoError(t, err)
	return s
}

func bucket(name string, n int, strong, weak float64, conts, rec int, rate float64, ci [2]float64, norm, restart float64, setAside map[string]int) Bucket {
	return Bucket{Name: name, Problems: n, StrongPassRate: strong, WeakPassRate: weak, Continuations: conts, Recovered: rec,
		RecoveryRate: rate, RecoveryCI: ci, NormalizedRecovery: norm, RestartRate: restart, SetAside: setAside}
}

// testSVG is a small bar chart standing in for the report's plot.
const testSVG = `<svg xmlns="http://www.w3.org/2000/svg" width="360" height="200" viewBox="0 0 360 200">
<rect width="360" height="200" fill="#fff"/>
<line x1="40" y1="170" x2="340" y2="170" stroke="#333"/><line x1="40" y1="20" x2="40" y2="170" stroke="#333"/>
<rect x="70" y="147" width="50" height="23" fill="#d62728"/><rect x="170" y="104" width="50" height="66" fill="#d62728"/>
<rect x="270" y="42" width="50" height="128" fill="#d62728"/>
<circle cx="95" cy="162" r="5" fill="#1f77b4"/><circle cx="195" cy="87" r="5" fill="#1f77b4"/><circle cx="295" cy="24" r="5" fill="#1f77b4"/>
<text x="95" y="188" font-family="sans-serif" font-size="12" text-anchor="middle">hard</text>
<text x="195" y="188" font-family="sans-serif" font-size="12" text-anchor="middle">medium</text>
<text x="295" y="188" font-family="sans-serif" font-size="12" text-anchor="middle">easy</text>
<text x="190" y="14" font-family="sans-serif" font-size="12" text-anchor="middle">recovery (bars) vs strong pass rate (dots)</text>
</svg>`
