package recovery

import (
	"context"
	"errors"
	"fmt"

	"github.com/rebound-lab/rebound/difficulty"
	"github.com/rebound-lab/rebound/estimate"
)

// Bucketer sorts calibrated problems into fuzzy difficulty buckets.
// *difficulty.Binner implements it.
type Bucketer interface {
	// Buckets names the buckets from hard to easy.
	Buckets() []string
	// Membership is the probability, per bucket in Buckets order, that the
	// true pass rate lies in it after k correct of n.
	Membership(k, n int) []float64
	// Assign returns the most probable bucket and its membership.
	Assign(k, n int) (bucket string, prob float64)
}

// Binned is a calibrated problem with its bucket.
type Binned struct {
	Calibration
	// Bucket is the assigned (most probable) bucket, Confidence its
	// membership, Membership the membership in every bucket.
	Bucket     string
	Confidence float64
	Membership map[string]float64
}

// Bin assigns each calibration to a bucket by its strong-model counts and,
// if st is non-nil, records bucket and membership in the store.
func Bin(ctx context.Context, st *Store, b Bucketer, cals []Calibration) ([]Binned, error) {
	if b == nil {
		return nil, errors.New("recovery: Bin needs a Bucketer")
	}
	names := b.Buckets()
	out := make([]Binned, len(cals))
	for i, c := range cals {
		m := b.Membership(c.K, c.N)
		if len(m) != len(names) {
			return nil, fmt.Errorf("recovery: bucketer gave %d memberships for %d buckets", len(m), len(names))
		}
		mem := make(map[string]float64, len(names))
		for j, name := range names {
			mem[name] = m[j]
		}
		bucket, prob := b.Assign(c.K, c.N)
		out[i] = Binned{Calibration: c, Bucket: bucket, Confidence: prob, Membership: mem}
		if st != nil {
			if err := st.PutBucket(detach(ctx), c.Problem.ID, bucket, mem); err != nil {
				return out, err
			}
		}
	}
	return out, nil
}

// binStored assigns every stored problem its bucket from the strong counts
// in the store, as Bin does with the calibrations in memory: the binner is
// cfg.Binner with a prior fitted to all the counts (unless FixedPrior), so
// it needs every problem calibrated and runs after the last calibration, as
// a reporting step. It holds one count per problem, not the samples.
func (cfg *Config) binStored(ctx context.Context, st *Store) error {
	b := cfg.Binner
	if !cfg.FixedPrior {
		var counts []difficulty.Count
		if err := st.eachStrongCount(ctx, func(_ string, c difficulty.Count) error {
			counts = append(counts, c)
			return nil
		}); err != nil {
			return err
		}
		// The same fit as membershipBinner's, on the same counts in the
		// same order.
		if fit, err := estimate.FitPrior(counts); err == nil {
			b = cfg.Binner.WithMixture(fit.Mixture)
		}
	}
	names := b.Buckets()
	return st.eachStrongCount(ctx, func(id string, c difficulty.Count) error {
		m := b.Membership(c.K, c.N)
		if len(m) != len(names) {
			return fmt.Errorf("recovery: bucketer gave %d memberships for %d buckets", len(m), len(names))
		}
		mem := make(map[string]float64, len(names))
		for j, name := range names {
			mem[name] = m[j]
		}
		bucket, _ := b.Assign(c.K, c.N)
		return st.PutBucket(detach(ctx), id, bucket, mem)
	})
}
