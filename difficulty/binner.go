package difficulty

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
)

// Errors from NewBinner and QuantileBinner. Match them with errors.Is.
var (
	// ErrBuckets: names and edges do not describe buckets over [0, 1].
	ErrBuckets = errors.New("difficulty: invalid buckets")
	// ErrTooFewDistinct: the observed rates have too few distinct values to
	// split into the requested number of quantile buckets.
	ErrTooFewDistinct = errors.New("difficulty: too few distinct rates for quantile buckets")
)

// Binner sorts problems into named difficulty buckets over the pass-rate
// interval [0, 1], fuzzily: Membership gives the posterior probability that
// a problem's true pass rate lies in each bucket, Assign the most probable
// bucket. Buckets are listed from low pass rate (hard) to high (easy).
//
// A rate that falls exactly on an edge belongs to the bucket nearer the
// middle of [0, 1] (edges below 0.5 belong to the bucket above them, edges
// at or above 0.5 to the bucket below), which gives the default
// hard < 0.2 ≤ medium ≤ 0.8 < easy. This only matters for Bucket on exact
// rates; posterior memberships do not depend on it.
//
// A Binner is immutable and safe for concurrent use. The zero value (and a
// nil *Binner) behaves as DefaultBinner. Most callers want Membership or
// Assign.
type Binner struct {
	names []string
	edges []float64 // inner edges, len(names)-1, strictly increasing in (0, 1)
	prior Prior
	mix   Mixture // if non-empty, the prior memberships use (see WithMixture)
}

// DefaultBinner returns hard < 0.2 ≤ medium ≤ 0.8 < easy under the Jeffreys
// prior.
func DefaultBinner() *Binner {
	return &Binner{names: []string{"hard", "medium", "easy"}, edges: []float64{0.2, 0.8}, prior: Jeffreys}
}

// NewBinner returns buckets names[0] … names[m−1] separated by the m−1 inner
// edges, which must be strictly increasing and inside (0, 1). Names must be
// distinct and non-empty. A prior that is not proper means Jeffreys.
func NewBinner(names []string, edges []float64, prior Prior) (*Binner, error) {
	if len(names) == 0 {
		return nil, fmt.Errorf("%w: no bucket names", ErrBuckets)
	}
	if len(edges) != len(names)-1 {
		return nil, fmt.Errorf("%w: %d names need %d inner edges, got %d", ErrBuckets, len(names), len(names)-1, len(edges))
	}
	seen := map[string]bool{}
	for i, n := range names {
		if n == "" {
			return nil, fmt.Errorf("%w: bucket %d has an empty name", ErrBuckets, i)
		}
		if seen[n] {
			return nil, fmt.Errorf("%w: duplicate bucket name %q", ErrBuckets, n)
		}
		seen[n] = true
	}
	for i, e := range edges {
		if !(e > 0 && e < 1) {
			return nil, fmt.Errorf("%w: edge %d = %v is not inside (0, 1)", ErrBuckets, i, e)
		}
		if i > 0 && !(e > edges[i-1]) {
			return nil, fmt.Errorf("%w: edges not strictly increasing (%v then %v)", ErrBuckets, edges[i-1], e)
		}
	}
	return &Binner{names: slices.Clone(names), edges: slices.Clone(edges), prior: prior.orDefault()}, nil
}

// QuantileBinner splits observed pass rates into len(names) buckets of as
// nearly equal counts as the data allow (names default to hard, medium,
// easy). Every edge lies midway between two distinct observed rates, so no
// observed rate sits on an edge; with the ties typical of k/n rates (many
// problems at exactly 0 or 1), a cut moves to the nearest place where the
// value changes and the buckets are unequal. Rates outside [0, 1] or NaN are
// an error; so are fewer distinct rates than buckets (ErrTooFewDistinct).
// The prior is Jeffreys; use WithPrior to change it.
func QuantileBinner(rates []float64, names ...string) (*Binner, error) {
	if len(names) == 0 {
		names = []string{"hard", "medium", "easy"}
	}
	m := len(names)
	xs := slices.Clone(rates)
	for i, x := range xs {
		if !(x >= 0 && x <= 1) {
			return nil, fmt.Errorf("%w: rate %d = %v is not in [0, 1]", ErrBuckets, i, x)
		}
	}
	sort.Float64s(xs)
	// changes[j] is a position p with xs[p-1] < xs[p]: a legal cut.
	var changes []int
	for p := 1; p < len(xs); p++ {
		if xs[p-1] < xs[p] {
			changes = append(changes, p)
		}
	}
	if len(changes) < m-1 {
		return nil, fmt.Errorf("%w: %d buckets need %d distinct rates, have %d", ErrTooFewDistinct, m, m, len(changes)+1)
	}
	edges := make([]float64, 0, m-1)
	lo := 0 // first usable index into changes
	for j := 1; j < m; j++ {
		target := float64(j*len(xs)) / float64(m)
		// Leave enough cuts for the remaining edges.
		hi := len(changes) - (m - 1 - j) - 1
		best := lo
		for c := lo; c <= hi; c++ {
			if math.Abs(float64(changes[c])-target) < math.Abs(float64(changes[best])-target) {
				best = c
			}
		}
		p := changes[best]
		edges = append(edges, (xs[p-1]+xs[p])/2)
		lo = best + 1
	}
	return NewBinner(names, edges, Jeffreys)
}

// WithPrior returns a copy of b using prior p (Jeffreys if p is not proper);
// it drops a mixture set by WithMixture.
func (b *Binner) WithPrior(p Prior) *Binner {
	b = b.orDefault()
	return &Binner{names: b.names, edges: b.edges, prior: p.orDefault()}
}

func (b *Binner) orDefault() *Binner {
	if b == nil || len(b.names) == 0 {
		return DefaultBinner()
	}
	return b
}

// Buckets returns the bucket names, from hard to easy.
func (b *Binner) Buckets() []string { return slices.Clone(b.orDefault().names) }

// Edges returns the inner edges between consecutive buckets.
func (b *Binner) Edges() []float64 { return slices.Clone(b.orDefault().edges) }

// Prior returns the prior used for memberships.
func (b *Binner) Prior() Prior { return b.orDefault().prior }

// Bucket returns the bucket a known (true or observed) pass rate falls in;
// see Binner for rates exactly on an edge.
func (b *Binner) Bucket(rate float64) string { return b.orDefault().names[b.index(rate)] }

func (b *Binner) index(rate float64) int {
	b = b.orDefault()
	for i, e := range b.edges {
		if rate < e || (rate == e && e >= 0.5) {
			return i
		}
	}
	return len(b.edges)
}

// Membership returns, for each bucket in Buckets order, the posterior
// probability that the true pass rate lies in it after k correct of n. The
// values are non-negative and sum to 1. With n = 0 it is the prior's mass per
// bucket. It panics if k < 0, n < 0 or k > n.
func (b *Binner) Membership(k, n int) []float64 {
	b = b.orDefault()
	post := b.Mixture().Posterior(k, n)
	out := make([]float64, len(b.names))
	prev, sum := 0.0, 0.0
	for i := range out {
		cdf := 1.0
		if i < len(b.edges) {
			cdf = post.CDF(b.edges[i])
		}
		out[i] = math.Max(0, cdf-prev)
		prev = math.Max(prev, cdf)
		sum += out[i]
	}
	for i := range out {
		out[i] /= sum
	}
	return out
}

// Assign returns the most probable bucket after k correct of n and its
// membership (ties go to the harder bucket). It panics if k < 0, n < 0 or
// k > n.
func (b *Binner) Assign(k, n int) (bucket string, prob float64) {
	b = b.orDefault()
	m := b.Membership(k, n)
	best := 0
	for i, v := range m {
		if v > m[best] {
			best = i
		}
	}
	return b.names[best], m[best]
}
