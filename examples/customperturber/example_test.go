package main

import "os"

func Example() {
	if err := run(os.Stdout); err != nil {
		panic(err)
	}
	// Output:
	// SkipStep passes perturbtest
	// natalia: skipped "In May she sold 48 / 2 = 24 clips."; prefix (2 of 3 steps):
	// In April she sold 48 clips.
	// Altogether she sold 48 + 24 = 72 clips.
	// weng: skipped "Weng earns 12 / 60 = 0.2 dollars per minute."; prefix (1 of 2 steps):
	// For 50 minutes she earns 0.2 * 50 = 10 dollars.
	// betty: set aside: perturb: no trace to perturb: the model's solution to betty is wrong
}
