package estimate

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/difficulty"
)

// classesOf groups units by equal data, as a caller with many problems
// does.
func classesOf(units []Unit) (Classes, []Unit) {
	ix := map[Unit]int32{}
	var cl Classes
	var uniq []Unit
	for _, u := range units {
		c, ok := ix[u]
		if !ok {
			c = int32(len(uniq))
			ix[u] = c
			uniq = append(uniq, u)
			cl.Counts = append(cl.Counts, difficulty.Count{K: u.K, N: u.N})
		}
		cl.Of = append(cl.Of, c)
	}
	return cl, uniq
}

// Grouping problems into classes changes no draw: the bootstrap and the
// jackknife of a statistic that depends on the problems' data give the
// same values with one class per problem and with one per distinct datum.
func TestClassesChangeNoDraw(t *testing.T) {
	units, counts := linearUnits(rand.New(rand.NewPCG(3, 4)), 3000, 2)
	cl, uniq := classesOf(units)
	require.Less(t, len(uniq), 40, "few distinct data")
	fit, err := FitPrior(counts)
	require.NoError(t, err)
	edges := []float64{0.2, 0.8}
	stat := func(us []Unit) Stat {
		return func(mult []float64, f PriorFit) []float64 {
			lb := LatentWeighted(us, mult, f.Mixture, edges)
			return []float64{lb[0].Recovery, lb[1].StrongPass, lb[2].Problems, f.Mixture[0].Prior.Alpha}
		}
	}
	each := Bootstrap(Each(counts), fit, 30, 7, stat(units))
	grouped := Bootstrap(cl, fit, 30, 7, stat(uniq))
	require.Len(t, grouped, len(each))
	for i := range each {
		assert.InDeltaSlice(t, each[i], grouped[i], 1e-9, "resample %d", i)
	}
	je, jg := Jackknife(Each(counts), fit, 30, stat(units)), Jackknife(cl, fit, 30, stat(uniq))
	require.Len(t, jg, 30)
	for k := range je {
		assert.InDeltaSlice(t, je[k], jg[k], 1e-9, "group %d", k)
	}
	// And LatentWeighted is Latent on the problems one by one.
	w := cl.Sizes()
	assert.InDeltaSlice(t, latentValues(Latent(units, fit.Mixture, edges)), latentValues(LatentWeighted(uniq, w, fit.Mixture, edges)), 1e-9)
}

func latentValues(lbs []LatentBucket) []float64 {
	var out []float64
	for _, lb := range lbs {
		out = append(out, lb.Problems, lb.StrongPass, lb.Recovery, lb.Informative)
	}
	return out
}

// The weighted forms equal the plain ones on the clusters repeated.
func TestWeightedFormsEqualRepeatedClusters(t *testing.T) {
	y, m, w := []int{0, 1, 3, 2, 0}, []int{3, 3, 3, 2, 1}, []float64{4, 2, 1, 3, 5}
	var ye, me []int
	var xs, xe []float64
	for i := range y {
		xs = append(xs, float64(y[i])/float64(m[i]))
		for range int(w[i]) {
			ye, me = append(ye, y[i]), append(me, m[i])
			xe = append(xe, float64(y[i])/float64(m[i]))
		}
	}
	a, b := ClusterRate(ye, me, 0.95), ClusterRateWeighted(y, m, w, 0.95)
	assert.InDelta(t, a.Rate, b.Rate, 1e-12)
	assert.InDelta(t, a.CI.Lo, b.CI.Lo, 1e-12)
	assert.InDelta(t, a.CI.Hi, b.CI.Hi, 1e-12)
	assert.InDelta(t, a.DF, b.DF, 1e-9)
	assert.Equal(t, a.Clusters, b.Clusters)
	assert.InDelta(t, ICC(ye, me), ICCWeighted(y, m, w), 1e-12)
	ma, mb := MeanCI(xe, 0.95), MeanCIWeighted(xs, w, 0.95)
	assert.InDelta(t, ma.Value, mb.Value, 1e-12)
	assert.InDelta(t, ma.CI.Lo, mb.CI.Lo, 1e-12)
	assert.InDelta(t, ma.CI.Hi, mb.CI.Hi, 1e-12)
}
