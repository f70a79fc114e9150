// Package dataset loads math problem sets — GSM8K, MATH / MATH-500,
// NuminaMath, any JSONL or Parquet file through a field map — into Problems,
// and embeds GSM8K test and MATH-500 for offline runs.
package dataset

// Problem is one math problem with its reference answer.
type Problem struct {
	// ID is stable across loads: the dataset's own unique id, or source and
	// line ("gsm8k/test.jsonl:17").
	ID string `json:"id"`
	// Question is the problem statement shown to the model.
	Question string `json:"question"`
	// Answer is the final reference answer, e.g. "18" or "\frac{1}{2}".
	Answer string `json:"answer"`
	// Solution is a worked reference solution, if the dataset has one.
	Solution string `json:"solution,omitempty"`
	// Source names the dataset, e.g. "gsm8k", "math500".
	Source string `json:"source,omitempty"`
	// Subject and Level as the dataset gives them (Level 0 = unknown).
	Subject string `json:"subject,omitempty"`
	Level   int    `json:"level,omitempty"`
	// Meta carries any other fields worth keeping.
	Meta map[string]string `json:"meta,omitempty"`
}
