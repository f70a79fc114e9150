package verify_test

import (
	"context"
	"fmt"

	"github.com/rebound-lab/rebound/providers"
	"github.com/rebound-lab/rebound/verify"
)

func ExampleMath_Verify() {
	m := verify.NewMath()
	ctx := context.Background()
	for _, response := range []string{
		"She makes 9 * 2 = $18 every day.\n#### 18",
		"So the total is $\\boxed{\\dfrac{36}{2}}$.",
		"The answer is 17.",
	} {
		v, _ := m.Verify(ctx, "18", response)
		fmt.Println(v.Correct, v.Answer, v.Method)
	}
	// Output:
	// true 18 string
	// true \dfrac{36}{2} exact-rational
	// false 17 mismatch
}

func ExampleExtract() {
	answer, source := verify.Extract("Thus $x = \\boxed{3 \\pm 2\\sqrt{2}}$.")
	fmt.Println(answer, source)
	// Output:
	// 3 \pm 2\sqrt{2} boxed
}

func ExampleJudge() {
	// A stand-in for a real model: it always answers YES.
	yes := providers.CompleterFunc(func(ctx context.Context, req providers.Request) (providers.Completion, error) {
		return providers.Completion{Text: "YES"}, nil
	})
	j := &verify.Judge{Completer: yes}
	ctx := context.Background()
	v, _ := j.Verify(ctx, "18", "#### 18") // decided by the parser
	fmt.Println(v.Correct, v.Method)
	v, _ = j.Verify(ctx, "18", "eighteen dollars, I reckon") // the parser finds no answer
	fmt.Println(v.Correct, v.Method)
	// Output:
	// true string
	// true judge
}

// Verdict.Rule says how the answer was found; a run can count how often
// only the last-number fallback found one.
func ExampleMath_Verify_rule() {
	m := verify.NewMath()
	ctx := context.Background()
	for _, response := range []string{
		"```json\n{\"reasoning\": \"the answer is 5, or 7\", \"answer\": \"12\"}\n```",
		"So the pencil costs 29 cents.\n\n# Answer\n\n29",
		"Final Answer: **73**",
		"we get 3 and then 12 in the end",
	} {
		v, _ := m.Verify(ctx, "12", response)
		fmt.Println(v.Rule, v.Answer, v.Correct)
	}
	// Output:
	// json-answer 12 true
	// answer-section 29 false
	// answer-is 73 false
	// last-number 12 true
}
