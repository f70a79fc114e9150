package main

import (
	"context"
	"fmt"
	"os"
	"strings"
)

func Example() {
	in := strings.NewReader(`{"reference":"18","response":"#### 18"}` + "\n")
	// stderr is redirected to stdout here so the summary shows in the output
	if err := run(context.Background(), nil, in, os.Stdout, os.Stdout); err != nil {
		fmt.Println(err)
	}
	// Output:
	// {"reference":"18","response":"#### 18","correct":true,"answer":"18","reason":"answer \"18\" (from gsm8k-hashes) equals reference \"18\" by string"}
	// graded 1: 1 correct
}
