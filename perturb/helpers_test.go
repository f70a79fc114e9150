package perturb_test

import (
	"bufio"
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/dataset"
	"github.com/rebound-lab/rebound/verify"
)

// readJSONL decodes every line of a testdata file into T.
func readJSONL[T any](t testing.TB, path string) []T {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	var out []T
	for sc.Scan() {
		var v T
		require.NoError(t, json.Unmarshal(sc.Bytes(), &v), path)
		out = append(out, v)
	}
	require.NoError(t, sc.Err())
	return out
}

// gsm8kProblems loads the GSM8K test slice as Problems with worked
// solutions.
func gsm8kProblems(t testing.TB) []dataset.Problem {
	type rec struct{ Question, Answer string }
	var out []dataset.Problem
	for i, r := range readJSONL[rec](t, "testdata/gsm8k_test_200.jsonl") {
		ans := r.Answer[strings.LastIndex(r.Answer, "####")+4:]
		out = append(out, dataset.Problem{
			ID: "gsm8k/test.jsonl:" + strconv.Itoa(i+1), Question: r.Question,
			Answer: strings.TrimSpace(ans), Solution: r.Answer, Source: "gsm8k",
		})
	}
	return out
}

// math500Problems loads MATH-500 as Problems.
func math500Problems(t testing.TB) []dataset.Problem {
	type rec struct {
		Problem, Solution, Answer, Subject string
		Level                              int
		UniqueID                           string `json:"unique_id"`
	}
	var out []dataset.Problem
	for _, r := range readJSONL[rec](t, "testdata/math500.jsonl") {
		out = append(out, dataset.Problem{
			ID: r.UniqueID, Question: r.Problem, Answer: r.Answer, Solution: r.Solution,
			Source: "math500", Subject: r.Subject, Level: r.Level,
		})
	}
	return out
}

// mathVerifier is the project's math verifier, used as the weak model's
// judge in tests.
var mathVerifier = verify.NewMath()
