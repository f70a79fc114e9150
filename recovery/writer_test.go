package recovery

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/providers"
)

func writeGen(t *testing.T, st *Store) string {
	t.Helper()
	require.NoError(t, st.Flush(context.Background()))
	var v string
	_ = st.DB().QueryRow(`SELECT value FROM store_state WHERE key = ?`, writeGenKey).Scan(&v)
	return v
}

func TestQueuedWritesAreReadBackAndSurviveClose(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := OpenStore(dir)
	require.NoError(t, err)
	for i := range 3 * FlushRows {
		require.NoError(t, st.PutSample(ctx, Sample{Stage: StageStrong, ProblemID: "p", Sample: i, Response: "r"}))
	}
	rows, err := st.Samples(ctx, "p")
	require.NoError(t, err)
	assert.Len(t, rows, 3*FlushRows, "a read sees every write queued before it")
	require.NoError(t, st.PutSample(ctx, Sample{Stage: StageWeak, ProblemID: "p", Sample: 0, Response: "r"}))
	require.NoError(t, st.Close(), "Close commits the queue")
	_, err = st.DB().Exec(`SELECT 1`)
	assert.Error(t, err, "closed")
	assert.ErrorIs(t, st.PutSample(ctx, Sample{Stage: StageWeak, ProblemID: "p", Sample: 1}), errStoreClosed)

	st, err = OpenStore(dir)
	require.NoError(t, err)
	defer st.Close()
	rows, err = st.Samples(ctx, "p")
	require.NoError(t, err)
	assert.Len(t, rows, 3*FlushRows+1)
}

func TestAFailedQueuedWriteIsReportedByLaterWritesAndFlush(t *testing.T) {
	ctx := context.Background()
	st, err := OpenStore(t.TempDir())
	require.NoError(t, err)
	defer st.Close()
	_, err = st.w.ExecContext(ctx, `INSERT INTO no_such_table VALUES (1)`)
	require.NoError(t, err, "queued, not executed yet")
	err = st.Flush(ctx)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no_such_table")
	assert.Error(t, st.PutSample(ctx, Sample{Stage: StageStrong, ProblemID: "p"}))
}

func TestANoOpResumeChangesNoRowAndKeepsSamplesJSONL(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfg := simConfig(t, dir, 12, 1)
	_, err := Run(ctx, cfg)
	require.NoError(t, err)
	path := filepath.Join(dir, SamplesJSONL)
	before, err := os.Stat(path)
	require.NoError(t, err)
	st, err := OpenStore(dir)
	require.NoError(t, err)
	gen := writeGen(t, st)
	require.NoError(t, st.Close())
	require.NotEmpty(t, gen)

	cfg = simConfig(t, dir, 12, 1)
	_, err = Run(ctx, cfg)
	require.NoError(t, err)
	after, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, before.ModTime(), after.ModTime(), "samples.jsonl was not rewritten")
	st, err = OpenStore(dir)
	require.NoError(t, err)
	assert.Equal(t, gen, writeGen(t, st), "no write transaction changed a row")
	require.NoError(t, st.Close())

	// More continuations: new rows, so the export is written again and
	// holds them.
	cfg = simConfig(t, dir, 12, 1)
	cfg.Continuations++
	_, err = Run(ctx, cfg)
	require.NoError(t, err)
	again, err := os.Stat(path)
	require.NoError(t, err)
	assert.Greater(t, again.Size(), after.Size())

	// An export edited by hand is not trusted either.
	require.NoError(t, os.WriteFile(path, []byte("{}\n"), 0o644))
	cfg = simConfig(t, dir, 12, 1)
	cfg.Continuations++ // the same settings as the run before (fewer would be refused)
	_, err = Run(ctx, cfg)
	require.NoError(t, err)
	fixed, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, again.Size(), fixed.Size())
}

func TestAFinishedRunResumedWithNothingToDoReturnsItsSummaryWithoutReadingTheRows(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	first, err := Run(ctx, simConfig(t, dir, 12, 1))
	require.NoError(t, err)
	st, err := OpenStore(dir)
	require.NoError(t, err)
	_, marked, err := st.state(ctx, finishedKey)
	require.NoError(t, err)
	require.NoError(t, st.Close())
	require.True(t, marked, "a run without failures is marked finished")

	var events int
	cfg := simConfig(t, dir, 12, 1)
	cfg.Progress = func(Event) { events++ }
	again, err := Run(ctx, cfg)
	require.NoError(t, err)
	assert.Zero(t, events, "no stage ran")
	assert.Equal(t, first.Table(), again.Table())
	assert.Equal(t, first.Cost, again.Cost)

	// Any difference in the work means the usual resume: one more problem …
	cfg = simConfig(t, dir, 13, 1)
	cfg.Progress = func(Event) { events++ }
	more, err := Run(ctx, cfg)
	require.NoError(t, err)
	assert.Positive(t, events)
	assert.Equal(t, 13, more.Overall.Problems)
	// … or a report file that is not the one the run wrote.
	events = 0
	cfg = simConfig(t, dir, 13, 1)
	cfg.Progress = func(Event) { events++ }
	_, err = Run(ctx, cfg)
	require.NoError(t, err)
	assert.Zero(t, events, "finished again")
	require.NoError(t, os.WriteFile(filepath.Join(dir, SummaryJSON), []byte("{}"), 0o644))
	cfg.Progress = func(Event) { events++ }
	fixed, err := Run(ctx, cfg)
	require.NoError(t, err)
	assert.Positive(t, events, "a changed summary.json is recomputed, not trusted")
	assert.Equal(t, more.Table(), fixed.Table())
}

func TestARunWithFailedItemsIsNotMarkedFinishedSoItsResumeRetriesThem(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfg := simConfig(t, dir, 6, 1)
	strong := cfg.Strong
	var fail atomic.Bool
	fail.Store(true)
	cfg.Strong = providers.CompleterFunc(func(ctx context.Context, req providers.Request) (providers.Completion, error) {
		if fail.Load() && req.Sample == 1 {
			return providers.Completion{}, errors.New("boom") // neither retryable nor fatal: a per-item error
		}
		return strong.Complete(ctx, req)
	})
	_, err := Run(ctx, cfg)
	require.NoError(t, err)
	st, err := OpenStore(dir)
	require.NoError(t, err)
	_, marked, err := st.state(ctx, finishedKey)
	require.NoError(t, err)
	require.NoError(t, st.Close())
	assert.False(t, marked, "failed rows are left to retry")

	fail.Store(false)
	var events int
	cfg.Progress = func(Event) { events++ }
	sum, err := Run(ctx, cfg)
	require.NoError(t, err)
	assert.Positive(t, events, "the resume ran the stages")
	rows, err := func() ([]Sample, error) {
		st, err := OpenStore(dir)
		require.NoError(t, err)
		defer st.Close()
		return st.StageSamples(ctx, StageStrong)
	}()
	require.NoError(t, err)
	for _, r := range rows {
		assert.Empty(t, r.Error, "retried: %s sample %d", r.ProblemID, r.Sample)
	}
	assert.Equal(t, 6, sum.Overall.Problems)
}

func TestEveryModelsCacheSeesEntriesStillQueued(t *testing.T) {
	ctx := context.Background()
	st, err := OpenStore(t.TempDir())
	require.NoError(t, err)
	defer st.Close()
	mwA, err := SQLiteCache(st)
	require.NoError(t, err)
	mwB, err := SQLiteCache(st)
	require.NoError(t, err)
	var calls atomic.Int64
	model := providers.CompleterFunc(func(context.Context, providers.Request) (providers.Completion, error) {
		calls.Add(1)
		return providers.Completion{Text: "42"}, nil
	})
	a, b := mwA(model), mwB(model)
	req := providers.Request{Model: "m", Messages: []providers.Message{{Role: "user", Content: "q"}}}
	_, err = a.Complete(ctx, req)
	require.NoError(t, err)
	got, err := b.Complete(ctx, req) // before any flush: the entry may still be queued
	require.NoError(t, err)
	assert.True(t, got.Cached)
	assert.Equal(t, "42", got.Text)
	assert.Equal(t, int64(1), calls.Load(), "one paid call")
}

// A cache row and its pending texts are queued as one group: the batch
// limit never cuts between them (a reader would see the lean row without
// its texts, and a crash would lose them). FlushRows−1 rows fill the first
// batch up to one place short, so without the group the cut would fall
// exactly between the group's two rows.
func TestAGroupOfWritesIsNeverSplitAcrossCommits(t *testing.T) {
	ctx := context.Background()
	st, err := OpenStore(t.TempDir())
	require.NoError(t, err)
	defer st.Close()
	require.NoError(t, st.Flush(ctx))
	const ins = `INSERT INTO store_state(key, value) VALUES(?, '1')`
	for i := range FlushRows - 1 {
		require.NoError(t, st.w.queue(writeOp{query: ins, args: []any{"filler" + string(rune('a'+i%26)) + string(rune('a'+i/26))}}))
	}
	var seen atomic.Int64
	seen.Store(-1)
	check := func() {
		var n int64
		_ = st.DB().QueryRow(`SELECT COUNT(*) FROM store_state WHERE key = 'second'`).Scan(&n)
		seen.Store(n)
	}
	require.NoError(t, st.w.queueGroup([]writeOp{
		{query: ins, args: []any{"first"}, after: check},
		{query: ins, args: []any{"second"}},
	}))
	require.NoError(t, st.Flush(ctx))
	assert.Equal(t, int64(1), seen.Load(), "the group's second row was committed with its first")
}

// The writer binds arguments itself (driverValue), so it must convert them
// as database/sql would: each value reads back as it does through
// sql.DB.Exec, and an argument the driver cannot take fails its batch with
// an error naming the argument.
func TestTheWriterBindsArgumentsAsDatabaseSQLDoes(t *testing.T) {
	ctx := context.Background()
	st, err := OpenStore(t.TempDir())
	require.NoError(t, err)
	defer st.Close()
	_, err = st.DB().Exec(`CREATE TABLE bound(via TEXT, c1 INTEGER, c2 INTEGER, c3 REAL, c4 INTEGER, c5 TEXT, c6 BLOB,
		c7 INTEGER, c8 INTEGER, c9 TEXT, c10 TEXT)`)
	require.NoError(t, err)
	n := int64(42)
	var none *int64
	args := []any{int(-7), uint8(200), float32(0.5), true, "héllo", []byte{0, 1}, &n, none, sql.NullString{String: "v", Valid: true}, nil}
	q := `INSERT INTO bound VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	require.NoError(t, st.w.queue(writeOp{query: q, args: append([]any{"writer"}, args...)}))
	require.NoError(t, st.Flush(ctx))
	_, err = st.DB().Exec(q, append([]any{"database/sql"}, args...)...)
	require.NoError(t, err)
	read := func(via string) []any {
		var i, small, b, ptr int64
		var f float64
		var s, valuer string
		var blob []byte
		var nilptr, null sql.NullString
		require.NoError(t, st.DB().QueryRow(`SELECT c1, c2, c3, c4, c5, c6, c7, c8, c9, c10 FROM bound WHERE via = ?`, via).
			Scan(&i, &small, &f, &b, &s, &blob, &ptr, &nilptr, &valuer, &null))
		return []any{i, small, f, b, s, blob, ptr, nilptr, valuer, null}
	}
	want := read("database/sql")
	assert.Equal(t, []any{int64(-7), int64(200), 0.5, int64(1), "héllo", []byte{0, 1}, int64(42), sql.NullString{}, "v", sql.NullString{}}, want)
	assert.Equal(t, want, read("writer"))

	require.NoError(t, st.w.queue(writeOp{query: `INSERT INTO bound(via) VALUES(?)`, args: []any{struct{}{}}}))
	err = st.Flush(ctx)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "argument 1")
}
