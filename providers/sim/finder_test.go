package sim

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/dataset"
	"github.com/rebound-lab/rebound/providers"
)

// sliceFinder is a Finder over problems in memory, counting its lookups.
type sliceFinder struct {
	byKey   map[uint64][]dataset.Problem
	byID    map[string]dataset.Problem
	lookups atomic.Int64
}

func newSliceFinder(ps []dataset.Problem) *sliceFinder {
	f := &sliceFinder{byKey: map[uint64][]dataset.Problem{}, byID: map[string]dataset.Problem{}}
	for _, p := range ps {
		k := dataset.QuestionKey(p.Question)
		f.byKey[k] = append(f.byKey[k], p)
		f.byID[p.ID] = p
	}
	return f
}

func (f *sliceFinder) ByQuestion(_ context.Context, key uint64) ([]dataset.Problem, error) {
	f.lookups.Add(1)
	return f.byKey[key], nil
}

func (f *sliceFinder) ByID(_ context.Context, id string) (dataset.Problem, bool, error) {
	p, ok := f.byID[id]
	return p, ok, nil
}

// batchFinder is a sliceFinder that also answers several keys at once,
// counting those calls.
type batchFinder struct {
	*sliceFinder
	batches atomic.Int64
}

func (f *batchFinder) ByQuestions(_ context.Context, keys []uint64) ([][]dataset.Problem, error) {
	f.batches.Add(1)
	out := make([][]dataset.Problem, len(keys))
	for i, k := range keys {
		out[i] = f.byKey[k]
	}
	return out, nil
}

// A Solver whose Finder answers several keys at once asks once per new
// problem, not once per candidate question, and answers as with a plain
// Finder.
func TestABatchFinderIsAskedOncePerProblem(t *testing.T) {
	ps := embedded()[:50]
	plain, batch := newSliceFinder(ps), &batchFinder{sliceFinder: newSliceFinder(ps)}
	a, b := NewFinder(Strong(), plain), NewFinder(Strong(), batch)
	for _, p := range ps {
		for k := range 3 {
			ca, err := a.Complete(context.Background(), ask(p, k, ""))
			require.NoError(t, err)
			cb, err := b.Complete(context.Background(), ask(p, k, ""))
			require.NoError(t, err)
			assert.Equal(t, ca.Text, cb.Text, p.ID)
		}
	}
	assert.Equal(t, int64(len(ps)), batch.batches.Load(), "one call per problem")
	assert.Zero(t, batch.lookups.Load(), "no key asked alone")
	assert.GreaterOrEqual(t, plain.lookups.Load(), int64(2*len(ps)), "the plain Finder is asked the prompt, then its question")
	_, err := b.Complete(context.Background(), ask(dataset.Problem{Question: "Not a known question?"}, 0, ""))
	assert.ErrorIs(t, err, ErrUnknownProblem)
}

// A Solver that finds its problems answers every request exactly as one
// taught them: same texts, same truth, same endpoint (cache keys).
func TestAFinderSolverAnswersAsATaughtOne(t *testing.T) {
	ps := embedded()[:300]
	for _, cfg := range []Config{Strong(), Weak(), func() Config { c := Strong(); c.Behaviours = DefaultBehaviours(); return c }()} {
		cfg.Seed = 7
		taught, found := New(cfg, ps...), NewFinder(cfg, newSliceFinder(ps))
		assert.Equal(t, taught.Endpoint(), found.Endpoint())
		for i, p := range ps {
			for k := range 2 {
				req := ask(p, k, "")
				a, err := taught.Complete(context.Background(), req)
				require.NoError(t, err)
				b, err := found.Complete(context.Background(), req)
				require.NoError(t, err)
				assert.Equal(t, a, withLatency(b, a), p.ID)
				// a continuation of the first half of that answer
				lines := strings.Split(a.Text, "\n")
				req.Prefill = strings.Join(lines[:len(lines)/2], "\n")
				a, err = taught.Complete(context.Background(), req)
				require.NoError(t, err)
				b, err = found.Complete(context.Background(), req)
				require.NoError(t, err)
				assert.Equal(t, a.Text, b.Text, p.ID)
				assert.Equal(t, taught.ContinueProb(p.ID, req.Prefill), found.ContinueProb(p.ID, req.Prefill))
			}
			if i%50 == 0 {
				tt, _ := taught.Truth(p.ID)
				ft, ok := found.Truth(p.ID)
				assert.True(t, ok)
				assert.Equal(t, tt, ft)
			}
		}
	}
	_, err := NewFinder(Strong(), newSliceFinder(ps)).Complete(context.Background(), ask(dataset.Problem{Question: "Not a known question?"}, 0, ""))
	assert.ErrorIs(t, err, ErrUnknownProblem)
	_, ok := NewFinder(Strong(), newSliceFinder(ps)).Truth("nope")
	assert.False(t, ok)
}

func withLatency(b, like providers.Completion) providers.Completion {
	b.Latency = like.Latency
	return b
}

// The Solver keeps the parsed gold of at most recentSize problems, and a
// problem in use is found once, not once per call.
func TestAFinderSolverHoldsABoundedNumberOfProblems(t *testing.T) {
	ps := manyProblems(3000)
	f := newSliceFinder(ps)
	s := NewFinder(Strong(), f)
	for _, p := range ps {
		for k := range 3 {
			_, err := s.Complete(context.Background(), ask(p, k, ""))
			require.NoError(t, err)
		}
	}
	assert.Equal(t, recentSize, s.recent.len())
	assert.Equal(t, int64(2*len(ps)), f.lookups.Load(), "two keys tried per new problem (the whole prompt, then the question), none for its next calls")
	taught := New(Strong(), ps...)
	for _, p := range ps {
		_, err := taught.Complete(context.Background(), ask(p, 0, ""))
		require.NoError(t, err)
	}
	assert.Equal(t, recentSize, taught.recent.len(), "a taught Solver's parsed solutions are bounded too")
}

func manyProblems(n int) []dataset.Problem {
	all := embedded()
	ps := make([]dataset.Problem, n)
	for i := range ps {
		p := all[i%len(all)]
		p.ID = fmt.Sprintf("%s#%d", p.ID, i)
		p.Question = fmt.Sprintf("(%d) %s", i, p.Question)
		ps[i] = p
	}
	return ps
}

// BenchmarkSolverBytesPerProblem reports the live heap a Solver costs per
// problem answered (3 calls each): taught (New, which holds every
// problem) and with a Finder (NewFinder, which holds none; the problems
// are the Finder's). The Finder's figure is its bounded recent cache
// (recentSize parsed solutions, a few MB) spread over the problems, so it
// falls as they grow; the taught one does not.
func BenchmarkSolverBytesPerProblem(b *testing.B) {
	const n = 20000
	ps := manyProblems(n)
	f := newSliceFinder(ps)
	for _, kind := range []string{"taught", "finder"} {
		b.Run(kind, func(b *testing.B) {
			for b.Loop() {
				before := liveHeap()
				var s *Solver
				if kind == "taught" {
					s = New(Strong(), ps...)
				} else {
					s = NewFinder(Strong(), f)
				}
				for _, p := range ps {
					for k := range 3 {
						if _, err := s.Complete(context.Background(), ask(p, k, "")); err != nil {
							b.Fatal(err)
						}
					}
				}
				b.ReportMetric(float64(liveHeap()-before)/n, "B/problem")
				runtime.KeepAlive(s)
			}
		})
	}
}

func liveHeap() int64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

// A call whose context names its problem (dataset.WithProblem, as the
// recovery harness sends every call) is answered for that problem without
// asking the Finder, with the same text as one found from the prompt; a
// named problem whose question the prompt does not hold is ignored, so the
// prompt decides (and an unknown question still fails).
func TestANamedProblemIsAnsweredWithoutAskingTheFinder(t *testing.T) {
	ps := embedded()[:40]
	for _, cfg := range []Config{Strong(), func() Config { c := Weak(); c.Behaviours = DefaultBehaviours(); return c }()} {
		plain := NewFinder(cfg, newSliceFinder(ps))
		f := &batchFinder{sliceFinder: newSliceFinder(ps)}
		named := NewFinder(cfg, f)
		taught := New(cfg, ps...)
		for _, p := range ps {
			ctx := dataset.WithProblem(context.Background(), p)
			for k := range 2 {
				req := ask(p, k, "")
				want, err := plain.Complete(context.Background(), req)
				require.NoError(t, err)
				got, err := named.Complete(ctx, req)
				require.NoError(t, err)
				assert.Equal(t, want.Text, got.Text, p.ID)
				got, err = taught.Complete(ctx, req)
				require.NoError(t, err)
				assert.Equal(t, want.Text, got.Text, p.ID)
				req.Prefill = strings.Join(strings.Split(want.Text, "\n")[:2], "\n")
				want, err = plain.Complete(context.Background(), req)
				require.NoError(t, err)
				got, err = named.Complete(ctx, req)
				require.NoError(t, err)
				assert.Equal(t, want.Text, got.Text, p.ID)
			}
		}
		assert.Zero(t, f.batches.Load()+f.lookups.Load(), "the Finder is not asked about named problems")

		// Named, but the prompt is another problem's: the prompt decides.
		other := dataset.WithProblem(context.Background(), ps[1])
		f = &batchFinder{sliceFinder: newSliceFinder(ps)}
		named = NewFinder(cfg, f) // nothing recent
		want, err := plain.Complete(context.Background(), ask(ps[0], 0, ""))
		require.NoError(t, err)
		got, err := named.Complete(other, ask(ps[0], 0, ""))
		require.NoError(t, err)
		assert.Equal(t, want.Text, got.Text)
		assert.Equal(t, int64(1), f.batches.Load(), "found from the prompt")
		_, err = named.Complete(other, ask(dataset.Problem{Question: "Not a known question?"}, 0, ""))
		assert.ErrorIs(t, err, ErrUnknownProblem)
		// A taught Solver does not answer a named problem it was not taught.
		_, err = New(cfg, ps[1:]...).Complete(dataset.WithProblem(context.Background(), ps[0]), ask(ps[0], 0, ""))
		assert.ErrorIs(t, err, ErrUnknownProblem)
	}
}
