package recovery

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/perturb"
)

func steps(n int) perturb.CutInput {
	in := perturb.CutInput{Rand: perturb.Rand(1, "p")}
	for range n {
		in.Steps = append(in.Steps, perturb.Step{})
	}
	return in
}

func TestParseCutBuildsEachPolicy(t *testing.T) {
	for _, tc := range []struct {
		spec   string
		nilCut bool
		keep   int // steps kept of 10, -1 for "in [lo, hi]"
		lo, hi int
	}{
		{spec: "", nilCut: true},
		{spec: "default", nilCut: true},
		{spec: "fraction:0.5", keep: 5},
		{spec: " AT:3 ", keep: 3},
		{spec: "random", keep: -1, lo: 3, hi: 7},
		{spec: "random:0.1-0.2", keep: -1, lo: 1, hi: 2},
	} {
		t.Run(tc.spec, func(t *testing.T) {
			c, err := ParseCut(tc.spec)
			require.NoError(t, err)
			if tc.nilCut {
				assert.Nil(t, c)
				return
			}
			k, err := c.Cut(steps(10))
			require.NoError(t, err)
			if tc.keep >= 0 {
				assert.Equal(t, tc.keep, k)
			} else {
				assert.GreaterOrEqual(t, k, tc.lo)
				assert.LessOrEqual(t, k, tc.hi)
			}
		})
	}
	c, err := ParseCut("error")
	require.NoError(t, err)
	in := steps(10)
	in.ErrorStep = 4
	k, err := c.Cut(in)
	require.NoError(t, err)
	assert.Equal(t, 4, k)
}

func TestParseCutRejectsMalformedSpecsNamingThem(t *testing.T) {
	for _, spec := range []string{"random:0.8-0.2", "random:0.5", "fraction:2", "fraction:0", "fraction", "at:0",
		"at:x", "error:1", "sideways", "default:1", "random:NaN-1"} {
		_, err := ParseCut(spec)
		if assert.Error(t, err, spec) {
			assert.Contains(t, err.Error(), spec)
		}
	}
}

func FuzzParseCut(f *testing.F) {
	for _, s := range []string{"", "random", "random:0.25-0.75", "fraction:0.5", "at:3", "error", "at:-1",
		"random:1-0", "fraction:1e309", "random:-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		c, err := ParseCut(spec)
		if err != nil || c == nil {
			return
		}
		// A parsed policy must keep a valid number of steps or say why not.
		for _, n := range []int{1, 2, 7} {
			in := steps(n)
			in.ErrorStep = 1
			k, err := c.Cut(in)
			if err == nil && (k < 1 || k > n) {
				t.Fatalf("%q kept %d of %d steps", spec, k, n)
			}
		}
	})
}
