// Package verify decides whether a model's free-text response reaches a
// reference math answer: it extracts the final answer, normalizes it, parses
// both sides into expression trees and compares them exactly where it can.
package verify

import "context"

// Verdict is the outcome of one verification.
type Verdict struct {
	// Correct reports whether the response's answer equals the reference.
	Correct bool `json:"correct"`
	// Answer is the answer extracted from the response ("" if none found).
	Answer string `json:"answer"`
	// Reference is the normalized reference answer.
	Reference string `json:"reference"`
	// Method names the comparison that decided, e.g. "exact-rational",
	// "numeric", "set", "string".
	Method string `json:"method"`
	// Reason explains the verdict for humans.
	Reason string `json:"reason"`
	// Rule names the extraction rule that found Answer: one of the Source*
	// constants ("json-answer", "answer-section", "final-answer", "boxed",
	// "gsm8k-hashes", "answer-is", "a-line", "bold", "whole", "last-math",
	// "last-number", "choice", "none"). A high share of "last-number" or
	// "last-math" in a run means the prompt's answer format is not followed.
	Rule string `json:"rule,omitempty"`
}

// Verifier checks a response against a reference answer. Implementations
// must be safe for concurrent use. A wrong or missing answer is a Verdict
// with Correct false, not an error; errors are for cancellation and
// infrastructure (e.g. an LLM judge that failed).
type Verifier interface {
	Verify(ctx context.Context, reference, response string) (Verdict, error)
}

// VerifierFunc adapts a function to a Verifier.
type VerifierFunc func(ctx context.Context, reference, response string) (Verdict, error)

// Verify calls f(ctx, reference, response).
func (f VerifierFunc) Verify(ctx context.Context, reference, response string) (Verdict, error) {
	return f(ctx, reference, response)
}
