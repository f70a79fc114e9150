package perturb_test

import (
	"bufio"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/perturb"
)

// stepsOf reads the step lists of a JSONL file's field.
func stepsOf(t testing.TB, path, field string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	var out [][]string
	for sc.Scan() {
		var rec map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(sc.Bytes(), &rec))
		var steps []string
		require.NoError(t, json.Unmarshal(rec[field], &steps), "%s: field %s", path, field)
		out = append(out, steps)
	}
	require.NoError(t, sc.Err())
	return out
}

// agreement splits each "\n"-joined step list and counts the traces whose
// steps come back exactly (strict) and up to surrounding whitespace, with
// blank dataset steps dropped (normalized).
func agreement(traces [][]string) (strict, normalized int, firstMiss []string) {
	for _, steps := range traces {
		got := perturb.Split(strings.Join(steps, "\n"))
		texts := make([]string, len(got))
		for i, s := range got {
			texts[i] = s.Text
		}
		var want []string
		for _, s := range steps {
			if w := strings.TrimSpace(s); w != "" {
				want = append(want, w)
			}
		}
		if equal(texts, steps) {
			strict++
		}
		if equal(texts, want) {
			normalized++
		} else if firstMiss == nil {
			firstMiss = steps
		}
	}
	return strict, normalized, firstMiss
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestSplitAgreesWithDatasetSteps is the acceptance figure: where a dataset
// gives its own steps, splitting the joined text gives them back.
func TestSplitAgreesWithDatasetSteps(t *testing.T) {
	cases := []struct {
		name, file, field string
	}{
		{"MR-GSM8K", "testdata/mr_gsm8k_incorrect_subset.jsonl", "model_output_steps"},
		{"BIG-Bench Mistake multistep_arithmetic", "testdata/bbm_multistep_arithmetic.jsonl", "steps"},
		{"BIG-Bench Mistake word_sorting", "testdata/bbm_word_sorting.jsonl", "steps"},
		{"BIG-Bench Mistake tracking_shuffled_objects", "testdata/bbm_tracking_shuffled_objects.jsonl", "steps"},
		{"PRMBench modified_process", "testdata/prm800k_test_p1_injected_errors.jsonl", "modified_process"},
		{"PRMBench original_process", "testdata/prm800k_test_p1_injected_errors.jsonl", "original_process"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			traces := stepsOf(t, c.file, c.field)
			strict, norm, miss := agreement(traces)
			n := len(traces)
			t.Logf("%s: %d traces; exact after trimming whitespace %d (%.1f%%); byte-exact %d (%.1f%%)",
				c.name, n, norm, 100*float64(norm)/float64(n), strict, 100*float64(strict)/float64(n))
			if miss != nil {
				got := perturb.Split(strings.Join(miss, "\n"))
				t.Logf("first miss: %d dataset steps, %d split steps: %q", len(miss), len(got), miss)
			}
			require.GreaterOrEqual(t, float64(norm)/float64(n), 0.98, "agreement below 98%%")
		})
	}
}
