package providers_test

import (
	"fmt"

	"github.com/rebound-lab/rebound/providers"
)

// Each sample of a prompt gets its own seed, the same on every rerun.
func ExampleSampleSeed() {
	a := providers.SampleSeed(1, "gsm8k/test/7", "strong", 0)
	b := providers.SampleSeed(1, "gsm8k/test/7", "strong", 1)
	fmt.Println(a == providers.SampleSeed(1, "gsm8k/test/7", "strong", 0), a != b, a >= 0 && a < 1<<31)
	// Output: true true true
}
