package perturb_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/perturb"
)

// nSteps returns n fake steps (only the count matters to policies).
func nSteps(n int) []perturb.Step { return make([]perturb.Step, n) }

func TestCutPolicies(t *testing.T) {
	cases := []struct {
		name    string
		cut     perturb.Cut
		in      perturb.CutInput
		want    int
		wantErr error
	}{
		{"CutFraction keeps half of ten steps", perturb.CutFraction(0.5), perturb.CutInput{Steps: nSteps(10)}, 5, nil},
		{"CutFraction keeps at least one step", perturb.CutFraction(0.01), perturb.CutInput{Steps: nSteps(10)}, 1, nil},
		{"CutFraction(1) keeps everything", perturb.CutFraction(1), perturb.CutInput{Steps: nSteps(7)}, 7, nil},
		{"CutAt keeps k steps", perturb.CutAt(3), perturb.CutInput{Steps: nSteps(7)}, 3, nil},
		{"CutAt beyond the trace is too short", perturb.CutAt(8), perturb.CutInput{Steps: nSteps(7)}, 0, perturb.ErrTooShort},
		{"CutAfterError keeps through the error step", perturb.CutAfterError(), perturb.CutInput{Steps: nSteps(7), ErrorStep: 4}, 4, nil},
		{"CutAfterError without a known error fails", perturb.CutAfterError(), perturb.CutInput{Steps: nSteps(7)}, 0, perturb.ErrNoErrorStep},
		{"CutAfterError beyond the trace is too short", perturb.CutAfterError(), perturb.CutInput{Steps: nSteps(3), ErrorStep: 5}, 0, perturb.ErrTooShort},
		{"CutRandom with an empty range on a short trace keeps the midpoint", perturb.CutRandom(0.4, 0.45), perturb.CutInput{Steps: nSteps(2), Rand: perturb.Rand(1, "p")}, 1, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.cut.Cut(c.in)
			if c.wantErr != nil {
				require.ErrorIs(t, err, c.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, c.want, got)
		})
	}
}

func TestCutPoliciesRejectBadArguments(t *testing.T) {
	in := perturb.CutInput{Steps: nSteps(5), Rand: perturb.Rand(0, "x")}
	for name, c := range map[string]perturb.Cut{
		"CutFraction(0)":       perturb.CutFraction(0),
		"CutFraction(1.5)":     perturb.CutFraction(1.5),
		"CutAt(0)":             perturb.CutAt(0),
		"CutRandom(0.8, 0.2)":  perturb.CutRandom(0.8, 0.2),
		"CutRandom(-0.1, 0.5)": perturb.CutRandom(-0.1, 0.5),
	} {
		_, err := c.Cut(in)
		assert.Error(t, err, name)
		assert.False(t, errors.Is(err, perturb.ErrTooShort), "%s: a bad argument is not a set-aside outcome", name)
	}
}

func TestCutRandomStaysInRangeAndFollowsTheSeed(t *testing.T) {
	seen := map[int]bool{}
	for i := range 200 {
		in := perturb.CutInput{Steps: nSteps(20), Rand: perturb.Rand(int64(i), "problem")}
		k, err := perturb.CutRandom(0.25, 0.75).Cut(in)
		require.NoError(t, err)
		require.True(t, 5 <= k && k <= 15, "kept %d of 20 outside [5, 15]", k)
		seen[k] = true
		again, _ := perturb.CutRandom(0.25, 0.75).Cut(perturb.CutInput{Steps: nSteps(20), Rand: perturb.Rand(int64(i), "problem")})
		require.Equal(t, k, again, "same seed and key, same cut")
	}
	assert.Len(t, seen, 11, "every depth in range is reachable")
}

func TestRandDependsOnSeedAndKey(t *testing.T) {
	a := perturb.Rand(1, "p1").Uint64()
	assert.Equal(t, a, perturb.Rand(1, "p1").Uint64())
	assert.NotEqual(t, a, perturb.Rand(2, "p1").Uint64())
	assert.NotEqual(t, a, perturb.Rand(1, "p2").Uint64())
}

func TestTruncate(t *testing.T) {
	src := "Step 1: a = 2\nStep 2: b = a + 1 = 3\nStep 3: c = a * b = 6\nStep 4: The answer is 6."
	t.Run("a cut is a byte prefix ending at the last kept step", func(t *testing.T) {
		p, err := perturb.Truncate(src, perturb.CutAt(2), perturb.CutInput{})
		require.NoError(t, err)
		assert.Equal(t, "Step 1: a = 2\nStep 2: b = a + 1 = 3", p.Text)
		assert.Equal(t, src, p.Source)
		assert.Equal(t, 2, p.StepsKept)
		assert.Equal(t, 4, p.StepsTotal)
		assert.InDelta(t, 0.5, p.Depth(), 1e-9)
		assert.Nil(t, p.Meta, "no back-off, no meta")
	})
	t.Run("a cut that would include the answer backs off before it", func(t *testing.T) {
		p, err := perturb.Truncate(src, perturb.CutFraction(1), perturb.CutInput{})
		require.NoError(t, err)
		assert.Equal(t, 3, p.StepsKept)
		assert.False(t, perturb.HasFinalAnswer(p.Text))
		assert.Equal(t, "4", p.Meta["cut_requested"])
	})
	t.Run("an answer inside an early step backs off to before that step", func(t *testing.T) {
		s := "a = 1\nSo x = \\boxed{1} for now\nb = 2\nc = 3"
		p, err := perturb.Truncate(s, perturb.CutAt(4), perturb.CutInput{})
		require.NoError(t, err)
		assert.Equal(t, "a = 1", p.Text)
	})
	t.Run("a trace whose first step states the answer is too short", func(t *testing.T) {
		_, err := perturb.Truncate("The answer is 4.\nBecause 2+2=4.", perturb.CutAt(2), perturb.CutInput{})
		require.ErrorIs(t, err, perturb.ErrTooShort)
	})
	t.Run("backing off past the known error step is too short", func(t *testing.T) {
		_, err := perturb.Truncate(src, perturb.CutAfterError(), perturb.CutInput{ErrorStep: 4})
		require.ErrorIs(t, err, perturb.ErrTooShort)
	})
	t.Run("an empty trace is too short", func(t *testing.T) {
		_, err := perturb.Truncate("  \n", perturb.CutAt(1), perturb.CutInput{})
		require.ErrorIs(t, err, perturb.ErrTooShort)
	})
	t.Run("steps that are not spans of the source are rejected", func(t *testing.T) {
		_, err := perturb.Truncate("abc", perturb.CutAt(1), perturb.CutInput{Steps: []perturb.Step{{Start: 2, End: 9}}})
		require.ErrorContains(t, err, "not an ordered span")
	})
	t.Run("a policy returning an out-of-range count is an error", func(t *testing.T) {
		bad := perturb.CutFunc(func(perturb.CutInput) (int, error) { return 9, nil })
		_, err := perturb.Truncate(src, bad, perturb.CutInput{})
		require.ErrorContains(t, err, "kept 9 of 4")
	})
	t.Run("the error step is recorded", func(t *testing.T) {
		p, err := perturb.Truncate(src, perturb.CutAfterError(), perturb.CutInput{ErrorStep: 2})
		require.NoError(t, err)
		assert.Equal(t, 2, p.ErrorStep)
		assert.Equal(t, 2, p.StepsKept)
	})
}

// TestTruncateNeverLeaksTheAnswer is the property test: over real model
// and reference solutions and every policy at many seeds, a prefix is a
// byte prefix of its source, never states a final answer and never ends in
// whitespace.
func TestTruncateNeverLeaksTheAnswer(t *testing.T) {
	var sources []string
	for _, p := range math500Problems(t) {
		sources = append(sources, p.Solution)
	}
	for _, p := range gsm8kProblems(t) {
		sources = append(sources, p.Solution)
	}
	type sol struct {
		Solution string `json:"solution"`
	}
	type rec struct {
		A sol `json:"6b_finetuning"`
		B sol `json:"6b_verification"`
		C sol `json:"175b_finetuning"`
		D sol `json:"175b_verification"`
	}
	for _, r := range readJSONL[rec](t, "testdata/gsm8k_model_solutions_200.jsonl") {
		sources = append(sources, r.A.Solution, r.B.Solution, r.C.Solution, r.D.Solution)
	}
	policies := []perturb.Cut{perturb.CutFraction(1), perturb.CutFraction(0.5), perturb.CutAt(2), perturb.CutRandom(0, 1), perturb.DefaultCut()}
	made, tooShort := 0, 0
	for i, src := range sources {
		for j, cut := range policies {
			for seed := range int64(3) {
				p, err := perturb.Truncate(src, cut, perturb.CutInput{Rand: perturb.Rand(seed, src)})
				if errors.Is(err, perturb.ErrTooShort) {
					tooShort++
					continue
				}
				require.NoError(t, err, "source %d policy %d", i, j)
				made++
				require.True(t, strings.HasPrefix(src, p.Text))
				require.False(t, perturb.HasFinalAnswer(p.Text), "prefix %q leaks the answer", p.Text)
				require.Equal(t, strings.TrimRight(p.Text, " \t\r\n"), p.Text)
			}
		}
	}
	t.Logf("%d sources: %d prefixes, %d too short", len(sources), made, tooShort)
	assert.Greater(t, made, 10*tooShort, "most real solutions can be cut")
}

func BenchmarkSplitMATHSolution(b *testing.B) {
	var src string
	for _, p := range math500Problems(b) {
		if len(p.Solution) > len(src) {
			src = p.Solution
		}
	}
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		perturb.Split(src)
	}
}

func BenchmarkTruncateGSM8K(b *testing.B) {
	src := gsm8kProblems(b)[0].Solution
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		_, _ = perturb.Truncate(src, perturb.CutFraction(1), perturb.CutInput{})
	}
}
