package recovery

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/dataset"
	"github.com/rebound-lab/rebound/providers"
)

// barrier holds every model's first call until all n models have made
// one (or the timeout passes), so it is met only when the models run at
// the same time.
type barrier struct {
	mu      sync.Mutex
	arrived map[string]bool
	all     chan struct{}
	n       int
	met     bool
	expired bool // a first call gave up waiting
}

func newBarrier(n int) *barrier {
	return &barrier{arrived: map[string]bool{}, all: make(chan struct{}), n: n}
}

type barrierCompleter struct {
	next  providers.Completer
	model string
	b     *barrier
}

func (c *barrierCompleter) Endpoint() providers.Endpoint { return providers.EndpointOf(c.next) }

func (c *barrierCompleter) Complete(ctx context.Context, req providers.Request) (providers.Completion, error) {
	b := c.b
	b.mu.Lock()
	first := !b.arrived[c.model]
	b.arrived[c.model] = true
	if first && len(b.arrived) == b.n && !b.met && !b.expired {
		b.met = true
		close(b.all)
	}
	b.mu.Unlock()
	if first {
		select {
		case <-b.all:
		case <-time.After(time.Minute):
			b.mu.Lock()
			b.expired = true
			b.mu.Unlock()
		case <-ctx.Done():
		}
	}
	return c.next.Complete(ctx, req)
}

// Under -race this is skipped (TestAStudyContinuesTheSamePrefixes... and
// TestAStudyBudgetCapsTheWholeStudy run models at the same time there);
// .ci/run runs it without -race.
func TestStudyModelsRunConcurrentlyAndEndWhereOneAfterAnotherDoes(t *testing.T) {
	if raceEnabled {
		t.Skip("two 3-model studies; run without -race by .ci/run (models run concurrently under -race in TestAStudy*)")
	}
	ctx := context.Background()
	problems := dataset.GSM8KTest()[:10]
	specs := []string{"sim:A", "sim:B", "sim:C"}
	// One call at a time within each model: two identical requests in
	// flight at once both miss the cache, so with more the cached-call
	// counts would depend on timing even without a study.
	seq, _, _ := studyFixture(t.TempDir(), problems, 4, specs...)
	seq.Base.Concurrency = 1
	want, err := RunStudy(ctx, seq)
	require.NoError(t, err)

	par, counts, _ := studyFixture(t.TempDir(), problems, 4, specs...)
	par.Parallel = 3
	par.Base.Concurrency = 1
	b := newBarrier(len(specs))
	for i := range par.Models {
		par.Models[i].Completer = &barrierCompleter{next: par.Models[i].Completer, model: par.Models[i].Spec, b: b}
	}
	var mu sync.Mutex
	events := map[string]int{}
	par.ModelProgress = func(model string, e Event) {
		mu.Lock()
		events[model]++
		mu.Unlock()
	}
	got, err := RunStudy(ctx, par)
	require.NoError(t, err)
	assert.True(t, b.met, "every model was in a call at the same time")
	for _, spec := range specs {
		assert.Positive(t, counts[spec].calls.Load(), spec)
		assert.Positive(t, events[spec], "progress events of %s carry its spec", spec)
	}
	require.Len(t, got.Models, 3)
	for i := range want.Models {
		assert.Equal(t, want.Models[i].Model, got.Models[i].Model)
		assert.Equal(t, summaryJSON(t, want.Models[i].Summary), summaryJSON(t, got.Models[i].Summary), want.Models[i].Model)
	}
	js := func(c Comparison) string {
		var b strings.Builder
		require.NoError(t, StudyResult{Comparison: c}.WriteJSON(&b))
		return b.String()
	}
	assert.Equal(t, js(want.Comparison), js(got.Comparison))
}
