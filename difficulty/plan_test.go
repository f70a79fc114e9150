package difficulty_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/rebound-lab/rebound/difficulty"
)

func TestDefaultPlan(t *testing.T) {
	assert.Equal(t, difficulty.Plan{Min: 2, Max: 12, Confidence: 0.8}, difficulty.DefaultPlan())
	assert.NoError(t, difficulty.DefaultPlan().Validate())
}

func TestPlanNeverStopsBeforeMinAndAlwaysStopsAtMax(t *testing.T) {
	p := difficulty.Plan{Min: 4, Max: 7, Confidence: 0.5}
	b := difficulty.DefaultBinner()
	for n := 0; n <= 9; n++ {
		for k := 0; k <= n; k++ {
			done := p.Done(b, k, n)
			switch {
			case n < 4:
				assert.False(t, done, "%d/%d stopped before Min", k, n)
			case n >= 7:
				assert.True(t, done, "%d/%d ran past Max", k, n)
			default:
				_, prob := b.Assign(k, n)
				assert.Equal(t, prob >= 0.5, done, "%d/%d", k, n)
			}
		}
	}
}

func TestDefaultPlanStopsOnStreaksAndContinuesOnMixedResults(t *testing.T) {
	p, b := difficulty.DefaultPlan(), difficulty.DefaultBinner()
	// Under Jeffreys, P(rate > 0.8 | n of n) first reaches 0.8 at n = 4 (0.83).
	assert.False(t, p.Done(b, 3, 3), "3 of 3 is easy at 0.77 only")
	assert.True(t, p.Done(b, 4, 4))
	assert.True(t, p.Done(b, 0, 4))
	assert.False(t, p.Done(b, 4, 5), "one failure keeps an easy-looking problem open")
	assert.False(t, p.Done(b, 2, 3), "2 of 3 leaves medium at about 0.72")
	assert.True(t, p.Done(b, 2, 4), "2 of 4 settles medium (0.85)")
	assert.False(t, p.Done(b, 3, 10), "3 of 10 sits on the hard/medium edge")
	assert.True(t, p.Done(b, 3, 12), "Max")
}

func TestFixedPlanDrawsExactlyN(t *testing.T) {
	p := difficulty.Fixed(5)
	assert.False(t, p.Done(nil, 4, 4))
	assert.True(t, p.Done(nil, 0, 5))
	assert.True(t, p.Done(nil, 3, 5))
}

func TestPlanValidate(t *testing.T) {
	for _, p := range []difficulty.Plan{{Min: -1, Max: 3}, {Min: 5, Max: 3}, {Min: 1, Max: 3, Confidence: 1.5}, {Min: 1, Max: 3, Confidence: math.NaN()}} {
		assert.Error(t, p.Validate(), "%+v", p)
	}
	assert.NoError(t, difficulty.Fixed(10).Validate())
}
