package perturb_test

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/rebound-lab/rebound/dataset"
	"github.com/rebound-lab/rebound/perturb"
	"github.com/rebound-lab/rebound/providers"
	"github.com/rebound-lab/rebound/providers/mock"
	"github.com/rebound-lab/rebound/verify"
)

func ExampleSplit() {
	solution := "Natalia sold 48/2 = <<48/2=24>>24 clips in May.\n" +
		"Natalia sold 48+24 = <<48+24=72>>72 clips altogether in April and May.\n" +
		"#### 72"
	for i, s := range perturb.Split(solution) {
		fmt.Printf("%d [%d:%d] %s\n", i+1, s.Start, s.End, s.Text)
	}
	// Output:
	// 1 [0:47] Natalia sold 48/2 = <<48/2=24>>24 clips in May.
	// 2 [48:118] Natalia sold 48+24 = <<48+24=72>>72 clips altogether in April and May.
	// 3 [119:126] #### 72
}

func ExampleTruncate() {
	trace := "Step 1: She has 16 - 3 = 13 eggs.\nStep 2: After muffins, 13 - 4 = 8.\nStep 3: The answer is 16."
	// Asking for every step still stops before the final answer.
	p, err := perturb.Truncate(trace, perturb.CutFraction(1), perturb.CutInput{})
	if err != nil {
		panic(err)
	}
	fmt.Printf("%q\n", p.Text)
	fmt.Printf("kept %d of %d steps\n", p.StepsKept, p.StepsTotal)
	// Output:
	// "Step 1: She has 16 - 3 = 13 eggs.\nStep 2: After muffins, 13 - 4 = 8."
	// kept 2 of 3 steps
}

func ExampleWeakModel() {
	problem := dataset.Problem{ID: "ducks", Question: "Janet's ducks lay 16 eggs a day. She eats 3 and bakes with 4. She sells the rest at $2 each. How much does she make?", Answer: "18"}
	// A scripted weak model: right on its first two samples, wrong on the third.
	weak := mock.New(func(ctx context.Context, req providers.Request) (providers.Completion, error) {
		if req.Sample < 2 {
			return providers.Completion{Text: "16 - 3 - 4 = 9 eggs.\n9 * 2 = 18.\nThe answer is \\boxed{18}."}, nil
		}
		return providers.Completion{Text: "16 - 3 = 13 eggs.\n13 - 4 = 8 eggs.\n8 * 2 = 16.\nThe answer is \\boxed{16}."}, nil
	}, mock.WithTokenCounts())
	w := &perturb.WeakModel{Completer: weak, Model: "weak-1", Verifier: verify.NewMath(), Cut: perturb.CutAt(2)}
	p, err := w.Perturb(context.Background(), problem)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%q\n", p.Text)
	fmt.Println("tries:", p.Meta["tries"], "origin:", p.Origin, "output tokens:", p.Usage.OutputTokens)

	// A problem the weak model always solves is set aside.
	always := mock.New(func(ctx context.Context, req providers.Request) (providers.Completion, error) {
		return providers.Completion{Text: "The answer is \\boxed{18}."}, nil
	})
	w.Completer = always
	_, err = w.Perturb(context.Background(), problem)
	fmt.Println(errors.Is(err, perturb.ErrTooEasy), always.Calls())
	// Output:
	// "16 - 3 = 13 eggs.\n13 - 4 = 8 eggs."
	// tries: 3 origin: mock:weak-1 output tokens: 48
	// true 10
}

func ExampleOnPolicy() {
	strong := map[string][]perturb.Trace{
		"ducks": {
			{Text: "16 - 3 - 4 = 9.\n9 * 2 = 18.\nThe answer is 18.", Correct: true},
			{Text: "16 - 3 = 13.\n13 - 4 = 8.\n8 * 2 = 16.\nThe answer is 16.", Sample: 1},
		},
	}
	o := &perturb.OnPolicy{
		Traces: func(id string) []perturb.Trace { return strong[id] },
		Origin: "strong-1",
		Cut:    perturb.CutAt(2),
	}
	p, err := o.Perturb(context.Background(), dataset.Problem{ID: "ducks"})
	if err != nil {
		panic(err)
	}
	fmt.Printf("%q pass rate %s\n", p.Text, p.Meta["pass_rate"])
	// Output:
	// "16 - 3 = 13.\n13 - 4 = 8." pass rate 1/2
}

func ExampleInjectError() {
	problem := dataset.Problem{
		ID: "natalia", Source: "gsm8k",
		Solution: "Natalia sold 48/2 = <<48/2=24>>24 clips in May.\nNatalia sold 48+24 = <<48+24=72>>72 clips altogether.\n#### 72",
	}
	e := &perturb.InjectError{Cut: perturb.CutAt(1), Seed: 1}
	p, err := e.Perturb(context.Background(), problem)
	if err != nil {
		panic(err)
	}
	fmt.Println(p.Text)
	fmt.Printf("error in step %d: %s -> %s\n", p.ErrorStep, p.Meta["original"], p.Meta["corrupted"])
	// Output:
	// Natalia sold 48/2 = <<48/2=14>>14 clips in May.
	// error in step 1: 24 -> 14
}

func ExampleLabeled() {
	records := `{"input": "((3 + 4) * 2) =", "steps": ["3 + 4 = 7.", "7 * 2 = 15.", "So the answer is 15."], "target": "14", "answer": "15", "mistake_index": 1}`
	set, err := perturb.ReadBigBenchMistake(strings.NewReader(records), "multistep_arithmetic.jsonl")
	if err != nil {
		panic(err)
	}
	l := perturb.NewLabeled(set.Traces)
	problems := l.Problems()
	p, err := l.Perturb(context.Background(), problems[0])
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s | answer %s\n", problems[0].Question, problems[0].Answer)
	fmt.Printf("%q, error at step %d of %d\n", p.Text, p.ErrorStep, p.StepsTotal)
	// Output:
	// ((3 + 4) * 2) = | answer 14
	// "3 + 4 = 7.\n7 * 2 = 15.", error at step 2 of 3
}
