package perturb_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/dataset"
	"github.com/rebound-lab/rebound/perturb"
	"github.com/rebound-lab/rebound/perturb/perturbtest"
)

var labeledFiles = []struct {
	name, file string
	traces     int // usable traces the loader must return
}{
	{"MR-GSM8K", "testdata/mr_gsm8k_incorrect_subset.jsonl", 590},
	{"BIG-Bench Mistake multistep_arithmetic", "testdata/bbm_multistep_arithmetic.jsonl", 238},
	{"BIG-Bench Mistake word_sorting", "testdata/bbm_word_sorting.jsonl", 266},
	{"BIG-Bench Mistake tracking_shuffled_objects", "testdata/bbm_tracking_shuffled_objects.jsonl", 260},
	{"PRMBench", "testdata/prm800k_test_p1_injected_errors.jsonl", -1}, // checked below
}

func TestLoadLabeledRealDatasets(t *testing.T) {
	for _, f := range labeledFiles {
		t.Run(f.name, func(t *testing.T) {
			set, err := perturb.LoadLabeled(f.file)
			require.NoError(t, err)
			if f.traces >= 0 {
				assert.Len(t, set.Traces, f.traces)
			}
			ids := map[string]bool{}
			for _, tr := range set.Traces {
				require.False(t, ids[tr.Problem.ID], "duplicate ID %s", tr.Problem.ID)
				ids[tr.Problem.ID] = true
				require.True(t, 1 <= tr.ErrorStep && tr.ErrorStep <= len(tr.Steps), "%s: error step %d of %d", tr.Problem.ID, tr.ErrorStep, len(tr.Steps))
				require.NotEmpty(t, tr.Problem.Question)
			}
			reasons := map[string]int{}
			for _, s := range set.Skipped {
				require.Contains(t, s.Where, f.file+":", "a skipped record names its file and line")
				reasons[strings.SplitN(s.Reason, " ", 3)[0]+" "+strings.SplitN(s.Reason, " ", 3)[1]]++
			}
			t.Logf("%s: %d traces, %d skipped %v", f.name, len(set.Traces), len(set.Skipped), reasons)
		})
	}
}

func TestReadPRMBenchSkipsTheKnownQuirks(t *testing.T) {
	set, err := perturb.LoadLabeled("testdata/prm800k_test_p1_injected_errors.jsonl")
	require.NoError(t, err)
	beyond, modified, blank := 0, 0, 0
	for _, s := range set.Skipped {
		switch {
		case strings.Contains(s.Reason, "beyond"):
			beyond++
		case strings.HasPrefix(s.Reason, "question modified"):
			modified++
		case strings.Contains(s.Reason, "blank"):
			blank++
		}
	}
	// Upstream: 21 records have an error step past the end (by their last
	// error step); by the first error step, fewer do. 74 records answer a
	// modified question; one has a blank step.
	assert.LessOrEqual(t, beyond, 21)
	assert.Greater(t, beyond, 0)
	assert.Equal(t, 74, modified+countModifiedAlsoBeyond(t))
	assert.LessOrEqual(t, blank, 1)
	assert.Equal(t, 718, len(set.Traces)+len(set.Skipped))
	for _, tr := range set.Traces {
		assert.Empty(t, tr.Problem.Answer, "PRMBench carries no gold answer")
	}

	// AttachAnswers finds every question in MATH-500.
	n := set.AttachAnswers(math500Problems(t))
	assert.Equal(t, len(set.Traces), n)
	l := perturb.NewLabeled(set.Traces)
	probs := l.Problems()
	assert.LessOrEqual(t, len(probs), 90)
	for _, p := range probs {
		assert.NotEmpty(t, p.Answer, p.ID)
	}
}

// countModifiedAlsoBeyond counts PRMBench records with a modified question
// that the loader skipped for an out-of-range error step first.
func countModifiedAlsoBeyond(t *testing.T) int {
	type rec struct {
		Orig       string   `json:"original_question"`
		Mod        string   `json:"modified_question"`
		Process    []string `json:"modified_process"`
		ErrorSteps []int    `json:"error_steps"`
	}
	n := 0
	for _, r := range readJSONL[rec](t, "testdata/prm800k_test_p1_injected_errors.jsonl") {
		first := r.ErrorSteps[0]
		for _, e := range r.ErrorSteps {
			first = min(first, e)
		}
		if r.Mod != r.Orig && first > len(r.Process) {
			n++
		}
	}
	return n
}

func TestLabeledCutsRightAfterTheFirstError(t *testing.T) {
	set, err := perturb.LoadLabeled("testdata/mr_gsm8k_incorrect_subset.jsonl")
	require.NoError(t, err)
	l := perturb.NewLabeled(set.Traces)
	ctx := context.Background()
	made, tooShort := 0, 0
	for _, tr := range set.Traces {
		p, err := l.Perturb(ctx, tr.Problem)
		if errors.Is(err, perturb.ErrTooShort) {
			tooShort++
			continue
		}
		require.NoError(t, err)
		made++
		// The problem's own trace (one trace per question in MR-GSM8K).
		if p.Meta["trace_id"] != tr.Problem.ID {
			continue
		}
		assert.Equal(t, strings.TrimRight(strings.Join(tr.Steps[:tr.ErrorStep], "\n"), " \t\r\n"), p.Text, "ends at the error step, without trailing whitespace")
		assert.Equal(t, strings.Join(tr.Steps, "\n"), p.Source)
		assert.Equal(t, tr.ErrorStep, p.ErrorStep)
		assert.Equal(t, tr.ErrorStep, p.StepsKept)
		assert.Equal(t, len(tr.Steps), p.StepsTotal)
		assert.Equal(t, "labeled", p.Strategy)
		assert.Equal(t, "mr_gsm8k", p.Origin)
	}
	t.Logf("MR-GSM8K: %d prefixes, %d set aside (error at or after the final answer)", made, tooShort)
	assert.Greater(t, made, 500)
}

func TestLabeledFindsTracesByQuestion(t *testing.T) {
	set, err := perturb.LoadLabeled("testdata/bbm_multistep_arithmetic.jsonl")
	require.NoError(t, err)
	l := perturb.NewLabeled(set.Traces)
	tr := set.Traces[0]
	p, err := l.Perturb(context.Background(), dataset.Problem{ID: "someone-elses-id", Question: "  " + tr.Problem.Question + "\n"})
	require.NoError(t, err)
	assert.Equal(t, tr.ErrorStep, p.ErrorStep)
	assert.Equal(t, "big_bench_mistake/bbm_multistep_arithmetic", p.Origin)

	_, err = l.Perturb(context.Background(), dataset.Problem{ID: "nope", Question: "What is 2+2?"})
	require.ErrorIs(t, err, perturb.ErrNoTrace)
}

func TestLabeledConformsOnEveryDataset(t *testing.T) {
	for _, f := range labeledFiles {
		t.Run(f.name, func(t *testing.T) {
			set, err := perturb.LoadLabeled(f.file)
			require.NoError(t, err)
			l := perturb.NewLabeled(set.Traces)
			l.Seed = 11
			probs := l.Problems()
			made := 0
			for _, p := range probs {
				if _, err := l.Perturb(context.Background(), p); err == nil {
					made++
				}
			}
			t.Logf("%s: %d problems, %d yield a prefix cut after the first error", f.name, len(probs), made)
			require.NoError(t, perturbtest.TestPerturber(l, probs[:min(len(probs), 80)]))
		})
	}
}

func TestLabeledLoadersReportBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
		return p
	}
	cases := []struct {
		name, body, want string
		read             func(string) (perturb.LabeledSet, error)
	}{
		{"malformed JSON names the line", `{"question":"q","model_output_steps":["a"],"model_output_solution_first_error_step":1}` + "\n{oops\n",
			"mr.jsonl:2", func(p string) (perturb.LabeledSet, error) {
				f, _ := os.Open(p)
				defer f.Close()
				return perturb.ReadMRGSM8K(f, p)
			}},
		{"a missing field is named", `{"question":"q","model_output_solution_first_error_step":1}`,
			`mr.jsonl:1: missing field "model_output_steps"`, func(p string) (perturb.LabeledSet, error) {
				f, _ := os.Open(p)
				defer f.Close()
				return perturb.ReadMRGSM8K(f, p)
			}},
		{"BIG-Bench Mistake needs input", `{"steps":["a"],"mistake_index":0}`,
			`bbm.jsonl:1: missing field "input"`, func(p string) (perturb.LabeledSet, error) {
				f, _ := os.Open(p)
				defer f.Close()
				return perturb.ReadBigBenchMistake(f, p)
			}},
		{"PRMBench needs modified_process", `{"question":"q","error_steps":[1]}`,
			`prm.jsonl:1: missing field "modified_process"`, func(p string) (perturb.LabeledSet, error) {
				f, _ := os.Open(p)
				defer f.Close()
				return perturb.ReadPRMBench(f, p)
			}},
		{"an unknown format is refused", `{"foo":1}`, "unknown labelled format", perturb.LoadLabeled},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			name := map[string]string{"BIG-Bench Mistake needs input": "bbm.jsonl", "PRMBench needs modified_process": "prm.jsonl", "an unknown format is refused": "x.jsonl"}[c.name]
			if name == "" {
				name = "mr.jsonl"
			}
			_, err := c.read(write(name, c.body))
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
	_, err := perturb.LoadLabeled(filepath.Join(dir, "missing.jsonl"))
	require.ErrorIs(t, err, os.ErrNotExist)
}

func TestLabeledSkipsUnusableRecords(t *testing.T) {
	body := strings.Join([]string{
		`{"input":"1+1=","steps":["1+1 is 2.","So the answer is 2."],"target":"2","mistake_index":null}`,
		`{"input":"2+2=","steps":["2+2 is 5.","So the answer is 5."],"target":"4","mistake_index":0}`,
		`{"input":"3+3=","steps":["3+3 is 6."],"target":"6","mistake_index":4}`,
		`{"input":"4+4=","steps":["4+4 is", " "],"target":"8","mistake_index":0}`,
	}, "\n")
	set, err := perturb.ReadBigBenchMistake(strings.NewReader(body), "arith.jsonl")
	require.NoError(t, err)
	require.Len(t, set.Traces, 1)
	assert.Equal(t, 1, set.Traces[0].ErrorStep, "mistake_index is 0-indexed")
	assert.Equal(t, "4", set.Traces[0].Problem.Answer)
	assert.Equal(t, "big_bench_mistake/arith", set.Traces[0].Origin)
	require.Len(t, set.Skipped, 3)
	assert.Equal(t, "arith.jsonl:1", set.Skipped[0].Where)
	assert.Contains(t, set.Skipped[1].Reason, "outside")
	assert.Contains(t, set.Skipped[2].Reason, "blank")
}

func FuzzReadLabeled(f *testing.F) {
	f.Add(`{"question":"q","model_output_steps":["Step 1: a","Step 2: b"],"model_output_solution_first_error_step":2,"ground_truth_answer":3}`)
	f.Add(`{"input":"i","steps":["a","b"],"target":"t","mistake_index":1}`)
	f.Add(`{"question":"q","modified_process":["a","b"],"error_steps":[2,3]}`)
	f.Add("{\n}\n[]")
	f.Fuzz(func(t *testing.T, s string) {
		for _, read := range []func(string) (perturb.LabeledSet, error){
			func(s string) (perturb.LabeledSet, error) { return perturb.ReadMRGSM8K(strings.NewReader(s), "f") },
			func(s string) (perturb.LabeledSet, error) {
				return perturb.ReadBigBenchMistake(strings.NewReader(s), "f")
			},
			func(s string) (perturb.LabeledSet, error) { return perturb.ReadPRMBench(strings.NewReader(s), "f") },
		} {
			set, err := read(s)
			if err != nil {
				if !strings.HasPrefix(err.Error(), "f:") {
					t.Fatalf("error %q does not name the file and line", err)
				}
				continue
			}
			l := perturb.NewLabeled(set.Traces)
			for _, tr := range set.Traces {
				if tr.ErrorStep < 1 || tr.ErrorStep > len(tr.Steps) {
					t.Fatalf("error step %d of %d", tr.ErrorStep, len(tr.Steps))
				}
				p, err := l.Perturb(context.Background(), tr.Problem)
				if err == nil && (!strings.HasPrefix(p.Source, p.Text) || perturb.HasFinalAnswer(p.Text)) {
					t.Fatalf("bad prefix %q", p.Text)
				}
			}
		}
	})
}

func BenchmarkLabeledPerturb(b *testing.B) {
	set, err := perturb.LoadLabeled("testdata/mr_gsm8k_incorrect_subset.jsonl")
	require.NoError(b, err)
	l := perturb.NewLabeled(set.Traces)
	probs := l.Problems()
	ctx := context.Background()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		_, _ = l.Perturb(ctx, probs[i%len(probs)])
		i++
	}
}
