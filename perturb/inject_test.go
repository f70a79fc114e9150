package perturb_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/dataset"
	"github.com/rebound-lab/rebound/perturb"
	"github.com/rebound-lab/rebound/perturb/perturbtest"
)

const natalia = "Natalia sold 48/2 = <<48/2=24>>24 clips in May.\nNatalia sold 48+24 = <<48+24=72>>72 clips altogether in April and May.\n#### 72"

func TestInjectErrorCorruptsAnAnnotatedGSM8KStep(t *testing.T) {
	e := &perturb.InjectError{Cut: perturb.CutAt(1), Seed: 1}
	p, err := e.Perturb(context.Background(), dataset.Problem{ID: "n", Solution: natalia, Source: "gsm8k"})
	require.NoError(t, err)
	orig, bad := p.Meta["original"], p.Meta["corrupted"]
	assert.Equal(t, "24", orig)
	assert.NotEqual(t, orig, bad)
	assert.Equal(t, "Natalia sold 48/2 = <<48/2="+bad+">>"+bad+" clips in May.", p.Text, "annotation and visible result change together")
	assert.Equal(t, 1, p.ErrorStep)
	assert.Equal(t, 1, p.StepsKept)
	assert.Equal(t, 3, p.StepsTotal)
	assert.Equal(t, "inject", p.Strategy)
	assert.Equal(t, "gsm8k", p.Origin)
	assert.True(t, strings.HasPrefix(p.Source, p.Text))
	assert.True(t, strings.HasSuffix(p.Source, "#### 72"), "the rest of the trace is untouched")
}

func TestInjectErrorNeverPicksTheAnswerStep(t *testing.T) {
	e := &perturb.InjectError{Cut: perturb.CutAt(3)}
	p, err := e.Perturb(context.Background(), dataset.Problem{ID: "n", Solution: natalia})
	require.NoError(t, err)
	assert.Equal(t, 2, p.ErrorStep, "the last eligible step before the cut; #### 72 is never corrupted")
	assert.Equal(t, "72", p.Meta["original"])
}

func TestInjectErrorCorruptsPlainAndLaTeXResults(t *testing.T) {
	cases := []struct {
		name, trace, orig string
	}{
		{"a plain result after '='", "Each friend gets 900 - 120 = 780 pieces.\nSo 780 / 10 = 78 each.\nThe answer is 78.", "780"},
		{"a result inside inline math", "We have $3\\times 3=9$ possibilities.\nEach is distinct.\nSo the answer is $\\boxed{9}$.", "9"},
		{"a dollar amount with separators", "The total is 12 * 100 = $1,200 this year.\nNext year it doubles.\nThe answer is 2400.", "1,200"},
		{"a decimal", "The price is 1.82 - 1.24 = 0.58 for two pencils.\nSo one costs 0.29.\nThe answer is 29.", "0.58"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := (&perturb.InjectError{Cut: perturb.CutAt(1)}).Perturb(context.Background(), dataset.Problem{ID: c.name, Solution: c.trace})
			require.NoError(t, err)
			assert.Equal(t, c.orig, p.Meta["original"])
			bad := p.Meta["corrupted"]
			assert.NotEqual(t, c.orig, bad)
			assert.Equal(t, strings.Count(c.orig, ","), strings.Count(bad, ","), "keeps thousands separators")
			assert.Equal(t, strings.Contains(c.orig, "."), strings.Contains(bad, "."), "keeps decimals")
			assert.False(t, strings.HasPrefix(bad, "-"), "a non-negative result stays non-negative")
			assert.Contains(t, p.Text, bad)
			assert.Equal(t, 1, p.ErrorStep)
		})
	}
}

func TestInjectErrorSetsAside(t *testing.T) {
	ctx := context.Background()
	_, err := (&perturb.InjectError{}).Perturb(ctx, dataset.Problem{ID: "empty"})
	require.ErrorIs(t, err, perturb.ErrNoTrace)
	_, err = (&perturb.InjectError{}).Perturb(ctx, dataset.Problem{ID: "words", Solution: "Think about it.\nIt is clear.\nThe answer is 4."})
	require.ErrorIs(t, err, perturb.ErrTooShort, "no arithmetic result to corrupt")
	_, err = (&perturb.InjectError{}).Perturb(ctx, dataset.Problem{ID: "algebra", Solution: "Let x = 2y.\nThen z = 3^2 + x.\nAnd w = 4\\cdot y.\nThe answer is 4."})
	require.ErrorIs(t, err, perturb.ErrTooShort, "2y, 3^2 and 4\\cdot y are not results")
}

func TestInjectErrorUsesAProvidedTrace(t *testing.T) {
	e := &perturb.InjectError{Trace: func(p dataset.Problem) string { return natalia }, Origin: "strong-1"}
	p, err := e.Perturb(context.Background(), dataset.Problem{ID: "x", Solution: "ignored"})
	require.NoError(t, err)
	assert.Equal(t, "strong-1", p.Origin)
	assert.Contains(t, []string{"24", "72"}, p.Meta["original"])
}

func TestInjectErrorConformsOnGSM8KAndMATH(t *testing.T) {
	ctx := context.Background()
	for name, problems := range map[string][]dataset.Problem{"GSM8K": gsm8kProblems(t), "MATH-500": math500Problems(t)} {
		t.Run(name, func(t *testing.T) {
			e := &perturb.InjectError{Seed: 5}
			made := 0
			for _, p := range problems {
				pre, err := e.Perturb(ctx, p)
				if err != nil {
					require.ErrorIs(t, err, perturb.ErrTooShort, p.ID)
					continue
				}
				made++
				step := perturb.Split(pre.Source)[pre.ErrorStep-1]
				assert.Contains(t, step.Text, pre.Meta["corrupted"], "%s: the error is in step %d", p.ID, pre.ErrorStep)
				assert.Equal(t, pre.ErrorStep, pre.StepsKept, "%s: cut right after the corrupted step", p.ID)
			}
			t.Logf("%s: %d of %d reference solutions corrupted", name, made, len(problems))
			require.NoError(t, perturbtest.TestPerturber(e, problems[:60]))
		})
	}
}

func FuzzInjectError(f *testing.F) {
	f.Add(natalia, int64(1))
	f.Add("The total is 12 * 100 = $1,200.\nHalf is 600.\nThe answer is 600.", int64(2))
	f.Add("x = -3.25 and y = 0\nso z = 1,000,000\n#### 5", int64(3))
	f.Add("We have $3\\times 3=9$.\n$$a = 2$$\nThe answer is $\\boxed{9}$.", int64(4))
	f.Fuzz(func(t *testing.T, trace string, seed int64) {
		pre, err := (&perturb.InjectError{Seed: seed}).Perturb(context.Background(), dataset.Problem{ID: "f", Solution: trace})
		if err != nil {
			if sentinelOf(err) == nil && !strings.Contains(err.Error(), "too large") {
				t.Fatalf("unexpected error: %v", err)
			}
			return
		}
		if v := perturbtest.CheckPrefix(pre); v != nil {
			t.Fatalf("%v", v)
		}
		orig, bad := pre.Meta["original"], pre.Meta["corrupted"]
		if orig == bad {
			t.Fatalf("value %s not changed", orig)
		}
		if pre.ErrorStep != pre.StepsKept {
			t.Fatalf("cut at %d, error at %d", pre.StepsKept, pre.ErrorStep)
		}
		if !strings.HasSuffix(pre.Text, perturb.Split(pre.Source)[pre.ErrorStep-1].Text) {
			t.Fatalf("prefix does not end with the corrupted step")
		}
	})
}
