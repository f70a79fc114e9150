package behaviour

import (
	"bufio"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/dataset"
	"github.com/rebound-lab/rebound/perturb"
)

// TestRulesAgreeWithTheHandCheck relabels the 50 hand-checked
// continuations of real MR-GSM8K and PRMBench prefixes (testdata/NOTICE.md)
// and compares the rules with the human labels where a reader could decide
// (37 of 50): at least 90 % agree (34 of 37 when checked).
func TestRulesAgreeWithTheHandCheck(t *testing.T) {
	f, err := os.Open("testdata/handcheck.jsonl")
	require.NoError(t, err)
	defer f.Close()
	type rec struct {
		Item, Prefix, Continuation, Answer, Reference string
		ErrorStep                                     int `json:"error_step"`
		Correct, Restarted                            bool
		Human                                         *string
	}
	var rules, human []Label
	total := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r rec
		require.NoError(t, json.Unmarshal(sc.Bytes(), &r))
		total++
		if r.Human == nil {
			continue
		}
		flaw := FlawOf(perturb.Prefix{Text: r.Prefix, ErrorStep: r.ErrorStep, Strategy: "labeled"}, dataset.Problem{})
		got := Classify(Input{Continuation: r.Continuation, Flaw: flaw, Correct: r.Correct, Restarted: r.Restarted,
			Answer: r.Answer, Reference: r.Reference})
		if string(got.Label) != *r.Human {
			t.Logf("%s: rules %s (%s), human %s", r.Item, got.Label, got.Rule, *r.Human)
		}
		rules = append(rules, got.Label)
		human = append(human, Label(*r.Human))
	}
	require.NoError(t, sc.Err())
	require.Equal(t, 50, total)
	a, err := Compare(rules, human)
	require.NoError(t, err)
	t.Logf("rules vs hand labels: %d/%d = %.3f agree (kappa %.3f); %d of %d undecidable by hand",
		a.Agree, a.N, a.Rate(), a.Kappa, total-a.N, total)
	assert.Equal(t, 37, a.N)
	assert.GreaterOrEqual(t, a.Rate(), 0.9)
}

// BenchmarkCue runs Cue over the 50 hand-checked real continuations (per
// op: all 50), and over the same texts with cueRe alone, to measure the
// prefilter.
func BenchmarkCue(b *testing.B) {
	data, err := os.ReadFile("testdata/handcheck.jsonl")
	require.NoError(b, err)
	var texts []string
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var r struct{ Continuation string }
		require.NoError(b, json.Unmarshal([]byte(line), &r))
		texts = append(texts, r.Continuation)
	}
	b.Run("prefiltered", func(b *testing.B) {
		for b.Loop() {
			for _, s := range texts {
				Cue(s)
			}
		}
	})
	b.Run("regexp", func(b *testing.B) {
		for b.Loop() {
			for _, s := range texts {
				cueRe.FindStringIndex(s)
			}
		}
	})
}
