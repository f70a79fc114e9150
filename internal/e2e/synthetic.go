package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/rebound-lab/rebound/dataset"
)

// Synthetic returns n distinct GSM8K-style problems for load tests: the i-th
// is the embedded GSM8K test problem i mod 100 with its question prefixed
// "(Variant i)", so every question (and every request built from it) is
// unique while solutions and answers stay real and verifiable. IDs are
// "syn-<i>".
func Synthetic(n int) []dataset.Problem {
	base := dataset.GSM8KTest()
	out := make([]dataset.Problem, n)
	for i := range out {
		p := base[i%len(base)]
		p.ID = fmt.Sprintf("syn-%d", i)
		p.Question = fmt.Sprintf("(Variant %d) %s", i, p.Question)
		p.Meta = nil
		out[i] = p
	}
	return out
}

// WriteJSONL writes problems as GSM8K JSON lines ({"question", "answer"}
// with the solution, a "#### " line and the answer), which dataset.Open
// reads back with the same questions, solutions and answers.
func WriteJSONL(w io.Writer, problems []dataset.Problem) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	for i, p := range problems {
		if strings.Contains(p.Answer, "\n") {
			return fmt.Errorf("e2e: problem %d (%s): answer has a newline", i, p.ID)
		}
		rec := struct {
			Question string `json:"question"`
			Answer   string `json:"answer"`
		}{p.Question, strings.TrimRight(p.Solution, "\n") + "\n#### " + p.Answer}
		if err := enc.Encode(rec); err != nil {
			return fmt.Errorf("e2e: problem %d (%s): %w", i, p.ID, err)
		}
	}
	return bw.Flush()
}
