package recovery

import (
	"context"
	"errors"
	"fmt"
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
