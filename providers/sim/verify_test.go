package sim

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/verify"
)

// TestSamplesVerifyWithTheMathVerifier checks, on every embedded problem,
// that a correct sample verifies correct and a wrong one verifies wrong with
// verify.NewMath — the verifier the experiment uses.
func TestSamplesVerifyWithTheMathVerifier(t *testing.T) {
	ctx := context.Background()
	all := embedded()
	right, wrong := Strong(), Strong()
	right.PassRate = Mixture{{Weight: 1, Alpha: 1e6, Beta: 1}} // pass rates above 1 − 1.3e-4
	wrong.PassRate = Mixture{{Weight: 1, Alpha: 1, Beta: 1e6}} // below 1.3e-4
	sr, sw := New(right, all...), New(wrong, all...)
	v := verify.NewMath()
	var badRight, badWrong []string
	for _, p := range all {
		for sample := range 2 {
			c, err := sr.Complete(ctx, ask(p, sample, ""))
			require.NoError(t, err)
			vd, err := v.Verify(ctx, p.Answer, c.Text)
			require.NoError(t, err)
			if !vd.Correct && boxed(t, c.Text) == p.Answer {
				badRight = append(badRight, p.ID+": "+p.Answer+" → "+vd.Reason)
			}
			c, err = sw.Complete(ctx, ask(p, sample, ""))
			require.NoError(t, err)
			vd, err = v.Verify(ctx, p.Answer, c.Text)
			require.NoError(t, err)
			if vd.Correct && boxed(t, c.Text) != p.Answer {
				badWrong = append(badWrong, p.ID+": "+p.Answer+" vs "+boxed(t, c.Text)+" → "+vd.Reason)
			}
		}
	}
	assert.Empty(t, badRight, "gold answers the verifier rejects")
	assert.Empty(t, badWrong, "wrong answers the verifier accepts")
}
