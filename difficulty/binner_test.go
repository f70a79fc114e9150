package difficulty_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/stat/distuv"

	"github.com/rebound-lab/rebound/difficulty"
)

func TestDefaultBinnerBuckets(t *testing.T) {
	b := difficulty.DefaultBinner()
	assert.Equal(t, []string{"hard", "medium", "easy"}, b.Buckets())
	assert.Equal(t, []float64{0.2, 0.8}, b.Edges())
	assert.Equal(t, difficulty.Jeffreys, b.Prior())
	cases := map[float64]string{0: "hard", 0.1999: "hard", 0.2: "medium", 0.5: "medium", 0.8: "medium", 0.8001: "easy", 1: "easy"}
	for rate, want := range cases {
		assert.Equal(t, want, b.Bucket(rate), "rate %v", rate)
	}
}

func TestZeroAndNilBinnersActAsDefault(t *testing.T) {
	var zero difficulty.Binner
	var nilB *difficulty.Binner
	d := difficulty.DefaultBinner()
	for _, b := range []*difficulty.Binner{&zero, nilB} {
		assert.Equal(t, d.Buckets(), b.Buckets())
		assert.Equal(t, d.Membership(2, 3), b.Membership(2, 3))
		name, p := b.Assign(0, 5)
		assert.Equal(t, "hard", name)
		assert.Greater(t, p, 0.8)
	}
}

func TestBinnerAccessorsReturnCopies(t *testing.T) {
	b := difficulty.DefaultBinner()
	b.Buckets()[0] = "x"
	b.Edges()[0] = 0.9
	assert.Equal(t, "hard", b.Buckets()[0])
	assert.Equal(t, 0.2, b.Edges()[0])
}

func TestNewBinnerRejectsBadBuckets(t *testing.T) {
	cases := []struct {
		name  string
		names []string
		edges []float64
	}{
		{"no names", nil, nil},
		{"too few edges", []string{"a", "b", "c"}, []float64{0.5}},
		{"an edge at 0", []string{"a", "b"}, []float64{0}},
		{"an edge at 1", []string{"a", "b"}, []float64{1}},
		{"a NaN edge", []string{"a", "b"}, []float64{math.NaN()}},
		{"decreasing edges", []string{"a", "b", "c"}, []float64{0.6, 0.4}},
		{"equal edges", []string{"a", "b", "c"}, []float64{0.4, 0.4}},
		{"duplicate names", []string{"a", "a"}, []float64{0.5}},
		{"an empty name", []string{"a", ""}, []float64{0.5}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := difficulty.NewBinner(tc.names, tc.edges, difficulty.Jeffreys)
			assert.ErrorIs(t, err, difficulty.ErrBuckets)
		})
	}
	one, err := difficulty.NewBinner([]string{"all"}, nil, difficulty.Prior{})
	require.NoError(t, err)
	assert.Equal(t, []float64{1}, one.Membership(3, 7))
}

var binners = func() []*difficulty.Binner {
	five, _ := difficulty.NewBinner([]string{"v-hard", "hard", "medium", "easy", "v-easy"}, []float64{0.05, 0.3, 0.6, 0.95}, difficulty.Uniform)
	two, _ := difficulty.NewBinner([]string{"lo", "hi"}, []float64{0.5}, difficulty.Prior{Alpha: 3, Beta: 1})
	return []*difficulty.Binner{difficulty.DefaultBinner(), five, two, difficulty.DefaultBinner().WithPrior(difficulty.Prior{Alpha: 0.2, Beta: 0.2})}
}()

func TestMembershipsSumToOne(t *testing.T) {
	for _, b := range binners {
		for n := 0; n <= 40; n++ {
			for k := 0; k <= n; k++ {
				m := b.Membership(k, n)
				require.Len(t, m, len(b.Buckets()))
				sum := 0.0
				for _, v := range m {
					assert.GreaterOrEqual(t, v, 0.0)
					sum += v
				}
				assert.InDelta(t, 1, sum, 1e-12, "%v %d/%d", b.Buckets(), k, n)
			}
		}
	}
}

func TestMembershipsMoveMonotonicallyWithK(t *testing.T) {
	// More successes shift posterior mass toward easier buckets: the mass in
	// the hardest j buckets never grows with k, for every j.
	for _, b := range binners {
		for n := 1; n <= 30; n++ {
			prev := b.Membership(0, n)
			for k := 1; k <= n; k++ {
				m := b.Membership(k, n)
				cumPrev, cum := 0.0, 0.0
				for j := 0; j < len(m)-1; j++ {
					cumPrev += prev[j]
					cum += m[j]
					assert.LessOrEqual(t, cum, cumPrev+1e-12, "%v n=%d k=%d j=%d", b.Buckets(), n, k, j)
				}
				assert.Less(t, m[0], prev[0]+1e-12)
				assert.Greater(t, m[len(m)-1], prev[len(m)-1]-1e-12)
				prev = m
			}
		}
	}
}

func TestMembershipIsTheBetaPosteriorMassPerBucket(t *testing.T) {
	// Agreement with gonum's Beta distribution CDF …
	for _, b := range binners {
		edges := append(append([]float64{0}, b.Edges()...), 1)
		for _, c := range [][2]int{{0, 0}, {0, 3}, {2, 3}, {3, 3}, {4, 10}, {9, 10}} {
			a, bb := b.Prior().Posterior(c[0], c[1])
			d := distuv.Beta{Alpha: a, Beta: bb}
			m := b.Membership(c[0], c[1])
			for i := range m {
				assert.InDelta(t, d.CDF(edges[i+1])-d.CDF(edges[i]), m[i], 1e-9, "%v %v bucket %d", b.Buckets(), c, i)
			}
		}
	}
	// … and with an independent numeric integration of the posterior density
	// (midpoint rule on a smooth posterior, 200k cells).
	b := difficulty.DefaultBinner().WithPrior(difficulty.Uniform)
	a, bb := b.Prior().Posterior(2, 3)
	d := distuv.Beta{Alpha: a, Beta: bb}
	const cells = 200000
	var mass [3]float64
	for i := 0; i < cells; i++ {
		x := (float64(i) + 0.5) / cells
		j := 1
		if x < 0.2 {
			j = 0
		} else if x > 0.8 {
			j = 2
		}
		mass[j] += d.Prob(x) / cells
	}
	m := b.Membership(2, 3)
	for i := range m {
		assert.InDelta(t, mass[i], m[i], 1e-6, "bucket %d", i)
	}
}

func TestAssignPicksTheMostProbableBucket(t *testing.T) {
	b := difficulty.DefaultBinner()
	cases := []struct {
		k, n int
		want string
	}{
		{0, 10, "hard"}, {10, 10, "easy"}, {5, 10, "medium"}, {2, 3, "medium"}, {3, 3, "easy"}, {0, 3, "hard"},
	}
	for _, c := range cases {
		name, p := b.Assign(c.k, c.n)
		assert.Equal(t, c.want, name, "%d/%d", c.k, c.n)
		m := b.Membership(c.k, c.n)
		for _, v := range m {
			assert.LessOrEqual(t, v, p)
		}
	}
	// With no data the Jeffreys prior's mass: medium (0.2 ≤ p ≤ 0.8) has
	// 1 − 2·(2/π)·asin(√0.2) ≈ 0.410.
	name, p := b.Assign(0, 0)
	assert.Equal(t, "medium", name)
	assert.InDelta(t, 1-4/math.Pi*math.Asin(math.Sqrt(0.2)), p, 1e-9)
}

func TestQuantileBinnerSplitsObservedRates(t *testing.T) {
	rates := make([]float64, 0, 90)
	for i := 0; i < 90; i++ {
		rates = append(rates, float64(i)/89)
	}
	b, err := difficulty.QuantileBinner(rates)
	require.NoError(t, err)
	assert.Equal(t, []string{"hard", "medium", "easy"}, b.Buckets())
	counts := map[string]int{}
	for _, r := range rates {
		counts[b.Bucket(r)]++
	}
	assert.Equal(t, map[string]int{"hard": 30, "medium": 30, "easy": 30}, counts)
}

func TestQuantileBinnerMovesCutsOffTies(t *testing.T) {
	// Typical k/10 pass rates: many 0s and 1s.
	var rates []float64
	add := func(r float64, n int) {
		for i := 0; i < n; i++ {
			rates = append(rates, r)
		}
	}
	add(0, 40)
	add(0.3, 5)
	add(0.5, 10)
	add(0.7, 5)
	add(1, 40)
	b, err := difficulty.QuantileBinner(rates, "low", "mid", "high")
	require.NoError(t, err)
	edges := b.Edges()
	require.Len(t, edges, 2)
	// The 1/3 quantile (position 33.3) falls inside the 0s: nearest change
	// is at 40 (0 → 0.3). The 2/3 quantile (66.7) falls inside the 1s: the
	// nearest change is at 60 (0.7 → 1).
	assert.InDelta(t, 0.15, edges[0], 1e-12)
	assert.InDelta(t, 0.85, edges[1], 1e-12)
	for _, r := range rates {
		for _, e := range edges {
			assert.NotEqual(t, e, r, "no observed rate sits on an edge")
		}
	}

	_, err = difficulty.QuantileBinner([]float64{0, 0, 1, 1}, "a", "b", "c")
	assert.ErrorIs(t, err, difficulty.ErrTooFewDistinct)
	_, err = difficulty.QuantileBinner([]float64{0, 1.5})
	assert.ErrorIs(t, err, difficulty.ErrBuckets)
	_, err = difficulty.QuantileBinner([]float64{0, math.NaN(), 1})
	assert.ErrorIs(t, err, difficulty.ErrBuckets)
}
