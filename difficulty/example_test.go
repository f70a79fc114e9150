package difficulty_test

import (
	"fmt"

	"github.com/rebound-lab/rebound/difficulty"
)

func ExampleEstimate() {
	r := difficulty.Estimate(7, 10, difficulty.DefaultPrior())
	fmt.Println(r)
	// Output: 7/10: mean 0.68, 95% CI [0.39, 0.91], Wilson [0.40, 0.89]
}

func ExampleBinner_Membership() {
	b := difficulty.DefaultBinner()
	for _, c := range [][2]int{{0, 3}, {2, 3}, {3, 3}, {10, 10}} {
		m := b.Membership(c[0], c[1])
		name, p := b.Assign(c[0], c[1])
		fmt.Printf("%d/%d hard %.2f medium %.2f easy %.2f -> %s (%.2f)\n", c[0], c[1], m[0], m[1], m[2], name, p)
	}
	// Output:
	// 0/3 hard 0.77 medium 0.23 easy 0.00 -> hard (0.77)
	// 2/3 hard 0.03 medium 0.72 easy 0.25 -> medium (0.72)
	// 3/3 hard 0.00 medium 0.23 easy 0.77 -> easy (0.77)
	// 10/10 hard 0.00 medium 0.03 easy 0.97 -> easy (0.97)
}

func ExamplePlan_Done() {
	// Sample until the bucket is settled: a problem the model keeps solving
	// stops after 4 samples, a mixed one stops once medium is settled.
	plan, b := difficulty.DefaultPlan(), difficulty.DefaultBinner()
	for _, outcomes := range []string{"1111111111", "1101101011"} {
		k, n := 0, 0
		for !plan.Done(b, k, n) {
			if outcomes[n] == '1' {
				k++
			}
			n++
		}
		name, p := b.Assign(k, n)
		fmt.Printf("%s: stopped at %d/%d, %s (%.2f)\n", outcomes, k, n, name, p)
	}
	// Output:
	// 1111111111: stopped at 4/4, easy (0.83)
	// 1101101011: stopped at 5/8, medium (0.88)
}

func ExampleQuantileBinner() {
	// Pass rates observed on ten problems (k of 4): ties at 0 and 1 push the
	// cuts to where the value changes.
	rates := []float64{0, 0, 0, 0.25, 0.5, 0.5, 0.75, 1, 1, 1}
	b, err := difficulty.QuantileBinner(rates, "hard", "medium", "easy")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(b.Edges())
	// Output: [0.125 0.875]
}

func ExampleSummarize() {
	rates := []float64{0, 0, 0, 0, 0.1, 0.2, 0.5, 0.9, 1, 1, 1, 1, 1}
	fmt.Print(difficulty.Summarize(rates))
	// Output:
	// pass rates: 13 problems, mean 0.52, sd 0.47
	// never solved (0): 30.8%  always solved (1): 38.5%
	// bimodality coefficient 0.574 (bimodal; uniform = 0.556)
	// [0.0, 0.1) ###########################              4
	// [0.1, 0.2) #######                                  1
	// [0.2, 0.3) #######                                  1
	// [0.3, 0.4)                                          0
	// [0.4, 0.5)                                          0
	// [0.5, 0.6) #######                                  1
	// [0.6, 0.7)                                          0
	// [0.7, 0.8)                                          0
	// [0.8, 0.9)                                          0
	// [0.9, 1.0] ######################################## 6
}

func ExampleSimulate() {
	// Choose a plan before paying for calls: simulate it on a population of
	// true pass rates like the one you expect.
	rates := []float64{0, 0.02, 0.05, 0.5, 0.97, 1, 1, 1}
	fixed := difficulty.Simulate(difficulty.Fixed(10), nil, rates, 1)
	adaptive := difficulty.Simulate(difficulty.DefaultPlan(), nil, rates, 1)
	fmt.Println(fixed.Calls, adaptive.Calls < fixed.Calls)
	// Output: 80 true
}

func ExampleFitPrior() {
	// Empirical Bayes: fit the population's prior from pilot counts.
	var counts []difficulty.Count
	for i := 0; i < 40; i++ {
		counts = append(counts, difficulty.Count{K: 0, N: 5}, difficulty.Count{K: 5, N: 5}, difficulty.Count{K: i % 6, N: 5})
	}
	p, err := difficulty.FitPrior(counts)
	fmt.Println(err, p.Alpha < 1 && p.Beta < 1)
	// Output: <nil> true
}
