package dataset_test

import (
	"fmt"
	"strings"

	"github.com/rebound-lab/rebound/dataset"
)

func ExampleGSM8KTest() {
	ps := dataset.GSM8KTest()
	p := ps[0]
	fmt.Println(len(ps), p.ID, p.Answer)
	fmt.Println(p.Solution)
	// Output:
	// 1319 gsm8k/test.jsonl:1 18
	// Janet sells 16 - 3 - 4 = 9 duck eggs a day.
	// She makes 9 * 2 = $18 every day at the farmer’s market.
}

func ExampleMATH500() {
	ps := dataset.MATH500()
	p := ps[0]
	fmt.Println(len(ps), p.ID, p.Subject, p.Level)
	fmt.Println(p.Answer)
	// Output:
	// 500 test/precalculus/807.json Precalculus 2
	// \left( 3, \frac{\pi}{2} \right)
}

func ExampleLoadJSONL() {
	in := `{"uid":"aime-1","prompt":"Find the remainder when 2^10 is divided by 7.","final":2}
{"uid":"aime-2","prompt":"Compute 3^4.","final":""}
`
	fm := dataset.FieldMap{ID: "uid", Question: "prompt", Answer: "final", Dataset: "toy"}
	var skipped []dataset.Skip
	ps, err := dataset.LoadJSONL(strings.NewReader(in), "toy.jsonl", fm, dataset.SkipUnanswered(&skipped))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(ps[0].ID, ps[0].Answer, len(skipped), skipped[0].Line)

	// Without SkipUnanswered the empty answer is an error naming file:line.
	_, err = dataset.LoadJSONL(strings.NewReader(in), "toy.jsonl", fm)
	fmt.Println(err)
	// Output:
	// aime-1 2 1 2
	// toy.jsonl:2: field "final": empty answer: answer field absent or empty
}

func ExampleLastBoxed() {
	a, ok := dataset.LastBoxed(`So $x = \boxed{\frac{3}{4}}$.`)
	fmt.Println(a, ok)
	// Output: \frac{3}{4} true
}
