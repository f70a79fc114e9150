package recovery

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/perturb"
	"github.com/rebound-lab/rebound/providers"
	"github.com/rebound-lab/rebound/providers/mock"
	"github.com/rebound-lab/rebound/providers/sim"
)

func batchConfig(t *testing.T, dir string, n int) (Config, *sim.Batched, *sim.Batched) {
	cfg := simConfig(t, dir, n, 3)
	s := sim.NewBatched(cfg.Strong.(*sim.Solver), 10*time.Millisecond)
	w := sim.NewBatched(cfg.Weak.(*sim.Solver), 10*time.Millisecond)
	cfg.Strong, cfg.Weak = s, w
	cfg.Batch, cfg.BatchMaxWait, cfg.BatchPoll, cfg.Concurrency = true, 20*time.Millisecond, 5*time.Millisecond, 0
	return cfg, s, w
}

func readJSON(t *testing.T, path string) map[string]any {
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var v map[string]any
	require.NoError(t, json.Unmarshal(b, &v))
	return v
}

func TestABatchRunOnTheSimulatorEqualsALiveRun(t *testing.T) {
	liveDir, batchDir := t.TempDir(), t.TempDir()
	live := simConfig(t, liveDir, 12, 3)
	_, err := Run(context.Background(), live)
	require.NoError(t, err)
	cfg, s, w := batchConfig(t, batchDir, 12)
	sum, err := Run(context.Background(), cfg)
	require.NoError(t, err)
	assert.Equal(t, readJSON(t, filepath.Join(liveDir, SummaryJSON)), readJSON(t, filepath.Join(batchDir, SummaryJSON)))
	assert.Greater(t, s.SubmittedLines(), 0)
	assert.Greater(t, w.SubmittedLines(), 0)

	st, err := OpenStore(batchDir)
	require.NoError(t, err)
	defer st.Close()
	u, err := st.BatchUse(context.Background())
	require.NoError(t, err)
	assert.Equal(t, s.SubmittedLines()+w.SubmittedLines(), u.Lines, "the journal holds every submitted line")
	assert.Equal(t, u.Lines, u.Succeeded)
	assert.Zero(t, u.Open)
	report, err := os.ReadFile(filepath.Join(batchDir, ReportMD))
	require.NoError(t, err)
	assert.Contains(t, string(report), "## Batch and live calls")
	assert.LessOrEqual(t, u.Succeeded, sum.Paid.Calls)

	// Resuming sends nothing: every answer is in the cache.
	before := s.SubmittedLines() + w.SubmittedLines()
	cfg2, s2, w2 := batchConfig(t, batchDir, 12)
	_, err = Run(context.Background(), cfg2)
	require.NoError(t, err)
	assert.Zero(t, s2.SubmittedLines()+w2.SubmittedLines(), "a finished batch run resumes without submitting (had %d)", before)
}

func TestARunReattachesABatchLeftOpenByAKilledRun(t *testing.T) {
	dir := t.TempDir()
	cfg, s, _ := batchConfig(t, dir, 6)
	// The killed run: it journaled and submitted the strong model's first
	// batch, then died.
	st, err := OpenStore(dir)
	require.NoError(t, err)
	j, err := st.BatchJournal(context.Background())
	require.NoError(t, err)
	var first []providers.Request
	for _, p := range cfg.Problems[:3] {
		first = append(first, providers.Request{Model: RequestModel(cfg.StrongModel), Messages: perturb.Prompt(p), Sample: 0})
	}
	var items []providers.BatchItem
	rec := providers.BatchRecord{Token: "rbt-killed", Scope: cfg.StrongModel, Created: time.Now()}
	for i, req := range first {
		key := providers.CacheKey(providers.EndpointOf(s), req)
		id := "c" + string(rune('0'+i))
		items = append(items, providers.BatchItem{CustomID: id, Request: req})
		rec.Lines = append(rec.Lines, providers.BatchLineRecord{CustomID: id, Key: key, Request: req})
	}
	require.NoError(t, j.BeginBatch(context.Background(), rec))
	id, err := s.SubmitBatch(context.Background(), rec.Token, items)
	require.NoError(t, err)
	require.NoError(t, j.SetBatchID(context.Background(), rec.Token, id))
	require.NoError(t, st.Close())
	submitted := s.SubmittedLines()

	var kinds []string
	var mu sync.Mutex
	cfg.OnBatch = func(e providers.BatchEvent) {
		mu.Lock()
		kinds = append(kinds, e.Scope+" "+e.Kind)
		mu.Unlock()
	}
	_, err = Run(context.Background(), cfg)
	require.NoError(t, err)
	assert.Contains(t, kinds, cfg.StrongModel+" reattached")
	live := simConfig(t, t.TempDir(), 6, 3)
	_, err = Run(context.Background(), live)
	require.NoError(t, err)
	assert.Equal(t, readJSON(t, filepath.Join(live.Dir, SummaryJSON)), readJSON(t, filepath.Join(dir, SummaryJSON)))
	// The re-attached requests were not sent again: the strong model got
	// exactly one line per distinct request of a live run.
	st, err = OpenStore(dir)
	require.NoError(t, err)
	defer st.Close()
	var dup int
	require.NoError(t, st.DB().QueryRow(`SELECT COUNT(*) FROM (SELECT request_key FROM batch_lines GROUP BY request_key HAVING COUNT(*) > 1)`).Scan(&dup))
	assert.Zero(t, dup, "no request was submitted twice")
	assert.Greater(t, s.SubmittedLines(), submitted)
}

func TestBatchWithAProviderWithoutABatchAPIIsAConfigErrorBeforeAnyCall(t *testing.T) {
	cfg := simConfig(t, t.TempDir(), 3, 1)
	calls := 0
	cfg.Strong = mock.New(func(ctx context.Context, req providers.Request) (providers.Completion, error) {
		calls++
		return providers.Completion{Text: "x"}, nil
	}, mock.WithEndpoint(providers.Endpoint{Provider: "deepseek"}))
	cfg.Batch = true
	_, err := Run(context.Background(), cfg)
	require.ErrorIs(t, err, ErrConfig)
	assert.ErrorIs(t, err, providers.ErrNoBatchAPI)
	assert.Contains(t, err.Error(), "deepseek")
	assert.Zero(t, calls)
}
