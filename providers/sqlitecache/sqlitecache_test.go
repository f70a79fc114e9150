package sqlitecache_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/providers"
	"github.com/rebound-lab/rebound/providers/mock"
	"github.com/rebound-lab/rebound/providers/sqlitecache"
)

func completion(i int) providers.Completion {
	return providers.Completion{
		Text: fmt.Sprintf("answer %d", i), FinishReason: "stop",
		Usage:   providers.Usage{InputTokens: 10 + i, OutputTokens: 20, CachedInputTokens: 3, ReasoningTokens: 1},
		CostUSD: 0.001, CostKnown: true, Model: "gpt-4o-mini-2024-07-18", Provider: "openai",
		PrefillMethod: providers.PrefillAssistantMessage, Latency: 1500 * time.Millisecond,
	}
}

func req(i int) providers.Request {
	return providers.Request{Model: "gpt-4o-mini", Messages: []providers.Message{{Role: "user", Content: fmt.Sprint("q", i)}}, Sample: i, Temperature: providers.Float(0)}
}

func TestSurvivesCloseAndReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run.db")
	ctx := context.Background()
	s, err := sqlitecache.Open(path)
	require.NoError(t, err)
	for i := 0; i < 5; i++ {
		require.NoError(t, s.Put(ctx, fmt.Sprint("k", i), req(i), completion(i)))
	}
	require.NoError(t, s.Close())

	s, err = sqlitecache.Open(path)
	require.NoError(t, err)
	defer s.Close()
	n, err := s.Len(ctx)
	require.NoError(t, err)
	assert.Equal(t, 5, n)
	for i := 0; i < 5; i++ {
		got, ok, err := s.Get(ctx, fmt.Sprint("k", i))
		require.NoError(t, err)
		require.True(t, ok)
		assert.Equal(t, completion(i), got, "every field round-trips")
	}
	_, ok, err := s.Get(ctx, "missing")
	require.NoError(t, err)
	assert.False(t, ok)
}

func TestTheFirstAnswerForAKeyWins(t *testing.T) {
	s, err := sqlitecache.Open(filepath.Join(t.TempDir(), "c.db"))
	require.NoError(t, err)
	defer s.Close()
	ctx := context.Background()
	require.NoError(t, s.Put(ctx, "k", req(0), completion(1)))
	require.NoError(t, s.Put(ctx, "k", req(0), completion(2)))
	got, ok, err := s.Get(ctx, "k")
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, "answer 1", got.Text)
}

func TestConcurrentWritersOnTwoHandles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shared.db")
	a, err := sqlitecache.Open(path)
	require.NoError(t, err)
	defer a.Close()
	b, err := sqlitecache.Open(path)
	require.NoError(t, err)
	defer b.Close()
	ctx := context.Background()
	const goroutines, each = 16, 25
	var wg sync.WaitGroup
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			store := a
			if g%2 == 1 {
				store = b
			}
			for i := 0; i < each; i++ {
				k := fmt.Sprintf("g%d-%d", g, i)
				if !assert.NoError(t, store.Put(ctx, k, req(i), completion(i))) {
					return
				}
				// Both handles read each other's rows.
				other := a
				if store == a {
					other = b
				}
				_, ok, err := other.Get(ctx, k)
				assert.NoError(t, err)
				assert.True(t, ok, "row %s committed before Put returned", k)
			}
		}()
	}
	wg.Wait()
	n, err := a.Len(ctx)
	require.NoError(t, err)
	assert.Equal(t, goroutines*each, n)
}

func TestNewSharesADatabaseAndLeavesItOpen(t *testing.T) {
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "runstore.db")+"?_pragma=busy_timeout(10000)")
	require.NoError(t, err)
	defer db.Close()
	s, err := sqlitecache.New(db)
	require.NoError(t, err)
	require.NoError(t, s.Put(context.Background(), "k", req(0), completion(0)))
	require.NoError(t, s.Close())
	require.NoError(t, db.Ping(), "Close must not close a database the Store did not open")
	var mode, reqJSON string
	require.NoError(t, db.QueryRow("PRAGMA journal_mode").Scan(&mode))
	assert.Equal(t, "wal", mode)
	require.NoError(t, db.QueryRow("SELECT request FROM "+sqlitecache.Table+" WHERE key='k'").Scan(&reqJSON))
	assert.Contains(t, reqJSON, `"content":"q0"`, "the request is kept for audit")
}

func TestCorruptRowsAreReportedWithTheirKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.db")
	s, err := sqlitecache.Open(path)
	require.NoError(t, err)
	defer s.Close()
	db, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	defer db.Close()
	_, err = db.Exec("INSERT INTO " + sqlitecache.Table + " (key, provider, model, completion, created_at) VALUES ('bad', '', '', '{not json', '')")
	require.NoError(t, err)
	_, _, err = s.Get(context.Background(), "bad")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "row bad")
}

func TestOpenRejectsBadPaths(t *testing.T) {
	_, err := sqlitecache.Open("")
	assert.Error(t, err)
	_, err = sqlitecache.Open(filepath.Join(t.TempDir(), "no", "such", "dir", "x.db"))
	assert.Error(t, err)
	_, err = sqlitecache.New(nil)
	assert.Error(t, err)
}

func TestAsTheStoreOfTheCacheMiddleware(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run.db")
	m := mock.Echo()
	s, err := sqlitecache.Open(path)
	require.NoError(t, err)
	_, err = providers.Cache(s)(m).Complete(context.Background(), req(7))
	require.NoError(t, err)
	require.NoError(t, s.Close())

	// A rerun in a new process: the answer comes from disk.
	s, err = sqlitecache.Open(path)
	require.NoError(t, err)
	defer s.Close()
	got, err := providers.Cache(s)(m).Complete(context.Background(), req(7))
	require.NoError(t, err)
	assert.True(t, got.Cached)
	assert.Equal(t, "q7", got.Text)
	assert.Equal(t, 1, m.Calls())
}
