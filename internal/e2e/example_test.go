package e2e_test

import (
	"bytes"
	"fmt"

	"github.com/rebound-lab/rebound/dataset"
	"github.com/rebound-lab/rebound/internal/e2e"
)

// Write 1,000 synthetic problems as a JSONL dataset and read them back, as
// the memory test does for the harness's -dataset flag.
func Example() {
	ps := e2e.Synthetic(1000)
	var buf bytes.Buffer
	if err := e2e.WriteJSONL(&buf, ps); err != nil {
		fmt.Println(err)
		return
	}
	back, err := dataset.LoadGSM8K(&buf, "synthetic.jsonl")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(back), "problems")
	fmt.Println(back[250].Question[:14], "… answer", back[250].Answer, "=", ps[250].Answer)
	// Output:
	// 1000 problems
	// (Variant 250)  … answer 17 = 17
}
