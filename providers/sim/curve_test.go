package sim

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/dataset"
)

func TestRecoveryCurves(t *testing.T) {
	assert.InDelta(t, 0.5, ConstantRecovery(0.5).Rate(0.1), 1e-12)
	assert.InDelta(t, 0.4, LinearRecovery(0.8).Rate(0.5), 1e-12)
	st := StepRecovery(0.7, 0.2, 0.2, 0.8)
	assert.InDelta(t, 0.7, st.Rate(0.5), 1e-12)
	assert.InDelta(t, 0.2, st.Rate(0.1), 1e-12)
	assert.InDelta(t, 0.2, st.Rate(0.9), 1e-12)
	for _, s := range []string{"constant:0.5", "linear:0.8", "linear:0.5:0.1", "step:0.7:0.2:0.2:0.8", "linear:0.8:aon"} {
		c, err := ParseRecoveryCurve(s)
		require.NoError(t, err, s)
		assert.Equal(t, s, c.String())
	}
	for _, s := range []string{"", "wiggly:1", "step:0.7:0.2:0.9:0.1", "linear:x", "constant", "constant:1:2"} {
		_, err := ParseRecoveryCurve(s)
		assert.Error(t, err, s)
	}
}

func TestSolverUsesRecoveryCurve(t *testing.T) {
	problems := dataset.GSM8KTest()[:400]
	cfg := Strong()
	cfg.Recovery = StepRecovery(0.7, 0.2, 0.2, 0.8)
	s := New(cfg, problems...)
	for _, p := range problems {
		tr, _ := s.Truth(p.ID)
		want := 0.2
		if tr.PassRate >= 0.2 && tr.PassRate <= 0.8 {
			want = 0.7
		}
		assert.InDelta(t, want, tr.RecoverRate, 1e-12)
	}
	cfg.Recovery = &RecoveryCurve{Kind: CurveLinear, Slope: 0.8, AllOrNothing: true}
	s = New(cfg, problems...)
	var ones, sum float64
	for _, p := range problems {
		tr, _ := s.Truth(p.ID)
		require.True(t, tr.RecoverRate == 0 || tr.RecoverRate == 1)
		ones += tr.RecoverRate
		sum += 0.8 * tr.PassRate
	}
	// The mean over problems matches the curve's mean within sampling error
	// (binomial sd ≈ sqrt(400·0.25) = 10).
	assert.InDelta(t, sum, ones, 40)
	c, err := Open("strong?recovery=linear:0.8")
	require.NoError(t, err)
	assert.Equal(t, "linear:0.8", c.(*Solver).Config().Recovery.String())
	_, err = Open("strong?recovery=bogus")
	assert.ErrorContains(t, err, "recovery")
}

func TestMixtureQuantileInvertsCDF(t *testing.T) {
	m := Strong().PassRate
	for _, u := range []float64{0.01, 0.25, 0.5, 0.9} {
		assert.InDelta(t, u, m.CDF(m.Quantile(u)), 1e-6)
	}
	// The density integrates to 1.
	var s float64
	const n = 20000
	for i := range n {
		s += m.Density((float64(i)+0.5)/n) / n
	}
	assert.InDelta(t, 1, s, 1e-3)
}

func FuzzParseRecoveryCurve(f *testing.F) {
	for _, s := range []string{"constant:0.5", "linear:0.8", "linear:0.5:0.1", "step:0.7:0.2:0.2:0.8", "linear:0.8:aon", "step:1:2", ":", "aon"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseRecoveryCurve(s)
		if err != nil {
			return
		}
		// A parsed curve is valid, round-trips, and its rates are in [0, 1].
		if err := c.Validate(); err != nil {
			t.Fatalf("%q parsed to an invalid curve: %v", s, err)
		}
		back, err := ParseRecoveryCurve(c.String())
		if err != nil || back.String() != c.String() {
			t.Fatalf("%q → %q does not round-trip: %v", s, c.String(), err)
		}
		for _, p := range []float64{0, 0.3, 1} {
			if r := c.Rate(p); !(r >= 0 && r <= 1) {
				t.Fatalf("%q: rate %v at %v", s, r, p)
			}
		}
	})
}
