package recovery

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/providers"
	"github.com/rebound-lab/rebound/providers/sqlitecache"
)

func TestSplitMessagesRoundTripsEveryRequest(t *testing.T) {
	for _, req := range []providers.Request{
		{Model: "m", Messages: []providers.Message{{Role: "user", Content: strings.Repeat("What is 2+2? ", 10)}}, Sample: 3},
		{Model: `we"ird","messages":[`, Messages: []providers.Message{{Role: "system", Content: `]}"\\["` + strings.Repeat("x", 80)},
			{Role: "user", Content: "q"}}, Prefill: `"messages":null`, Seed: providers.Int64(7)},
		{Model: "", Messages: []providers.Message{{Role: "user", Content: strings.Repeat("é\u2028", 40)}}},
	} {
		full := requestJSON(req)
		rest, msgs, ok := splitMessages(full)
		require.True(t, ok, full)
		assert.NotContains(t, rest, req.Messages[0].Content)
		assert.Equal(t, full, joinMessages(rest, msgs))
		var back []providers.Message
		require.NoError(t, json.Unmarshal([]byte(msgs), &back))
		assert.Equal(t, req.Messages, back)
	}
	// Too short to be worth a row, or no messages: kept whole.
	_, _, ok := splitMessages(requestJSON(providers.Request{Model: "m", Messages: []providers.Message{{Role: "user", Content: "hi"}}}))
	assert.False(t, ok)
	_, _, ok = splitMessages(`{"model":"m"}`)
	assert.False(t, ok)
}

func FuzzSplitMessages(f *testing.F) {
	f.Add(requestJSON(providers.Request{Model: "m", Messages: []providers.Message{{Role: "user", Content: strings.Repeat("a", 70)}}}))
	f.Add(`{"model":"x","messages":[{"a":"]\"}"}],"sample":1}` + strings.Repeat(" ", 70))
	f.Add(`","messages":[[[`)
	f.Fuzz(func(t *testing.T, s string) {
		rest, msgs, ok := splitMessages(s)
		if ok && joinMessages(rest, msgs) != s {
			t.Fatalf("split of %q does not join back", s)
		}
	})
}

// A run database keeps each answer once: the sample row holds the text,
// the cache row only a reference, and a cache lookup still returns the
// whole completion — also after the sample row's text changes.
func TestCacheRowsShareTheSampleRowsTexts(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := OpenStore(dir)
	require.NoError(t, err)
	mw, err := SQLiteCache(st)
	require.NoError(t, err)
	paid := fixedText{text: strings.Repeat("Step: 1 + 1 = 2. ", 20), usd: 0.01}
	model := mw(paid)
	req := providers.Request{Model: "m", Messages: []providers.Message{{Role: "user", Content: strings.Repeat("Solve. ", 20)}}, Sample: 1}
	c, err := model.Complete(ctx, req)
	require.NoError(t, err)
	r := Sample{Stage: StageStrong, ProblemID: "p1", Sample: 1, Model: "bench:m", Request: requestJSON(req)}
	fillCompletion(&r, c)
	require.NoError(t, st.PutSample(ctx, r))
	require.NoError(t, st.Flush(ctx))

	var completion string
	var stage *string
	require.NoError(t, st.DB().QueryRow(`SELECT completion, text_stage FROM completion_cache`).Scan(&completion, &stage))
	assert.NotContains(t, completion, paid.text, "the text is not stored twice")
	require.NotNil(t, stage, "the cache row points at the sample row")
	var pending int
	require.NoError(t, st.DB().QueryRow(`SELECT COUNT(*) FROM cache_pending`).Scan(&pending))
	assert.Zero(t, pending, "the pending texts are dropped once shared")
	var stored string
	require.NoError(t, st.DB().QueryRow(`SELECT request FROM samples`).Scan(&stored))
	assert.NotContains(t, stored, "Solve.", "the prompt is stored once, in prompts")

	// Reads put everything back.
	rows, err := st.Samples(ctx, "p1")
	require.NoError(t, err)
	require.Len(t, rows, 1)
	assert.Equal(t, r.Request, rows[0].Request)
	assert.Equal(t, paid.text, rows[0].Response)

	// A hit (a fresh cache over the same database) returns the text.
	again := mw(fixedText{text: "never called"})
	hit, err := again.Complete(ctx, req)
	require.NoError(t, err)
	assert.True(t, hit.Cached)
	assert.Equal(t, paid.text, hit.Text)
	assert.InDelta(t, 0.01, hit.SavedUSD, 1e-12)

	// sqlitecache on its own refuses the lean row rather than answer "".
	cs, err := sqlitecache.New(st.DB())
	require.NoError(t, err)
	_, _, err = cs.Get(ctx, providers.CacheKey(providers.EndpointOf(paid), req))
	assert.True(t, errors.Is(err, sqlitecache.ErrSharedText), "%v", err)
	cs.Close()

	// The sample row's text changes (a rerun renumbering calls): the
	// trigger hands the old text back to the cache row.
	require.NoError(t, st.PutSample(ctx, Sample{Stage: StageStrong, ProblemID: "p1", Sample: 1, Model: "bench:m",
		Request: r.Request, Response: "another text"}))
	require.NoError(t, st.Flush(ctx))
	qc := st.qc.Load()
	got, ok, err := qc.Get(ctx, providers.CacheKey(providers.EndpointOf(paid), req))
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, paid.text, got.Text)
	require.NoError(t, st.DB().QueryRow(`SELECT completion, text_stage FROM completion_cache`).Scan(&completion, &stage))
	assert.Nil(t, stage)
	assert.NotContains(t, completion, SharedTextField)
	require.NoError(t, st.Close())
}

// A cache row written but whose sample row never was (a crash) keeps its
// texts in cache_pending, so a resume answers from it.
func TestAPendingCacheRowAnswersWithItsTexts(t *testing.T) {
	ctx := context.Background()
	st, err := OpenStore(t.TempDir())
	require.NoError(t, err)
	defer st.Close()
	mw, err := SQLiteCache(st)
	require.NoError(t, err)
	paid := fixedText{text: "the answer is 42", usd: 0.01}
	req := providers.Request{Model: "m", Sample: 2}
	_, err = mw(paid).Complete(ctx, req)
	require.NoError(t, err)
	require.NoError(t, st.Flush(ctx))
	qc := st.qc.Load()
	qc.fresh = newFreshTexts() // the row is never shared
	key := providers.CacheKey(providers.EndpointOf(paid), req)
	got, ok, err := qc.getShared(ctx, key, qc.cs.KeyArg(key))
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, "the answer is 42", got.Text)
}

// The key filter answers "absent" only for keys never stored: every key
// already in the table (loaded at open) or put since is found.
func TestKeyFilterNeverHidesAStoredKey(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	// Rows written by another cache on the file before this run opens it.
	cs, err := sqlitecache.Open(filepath.Join(dir, StoreFile))
	require.NoError(t, err)
	// Half the keys have providers.CacheKey's shape (stored as compact
	// blobs), half not (stored as text): the filter must find both forms.
	oldKey := func(i int) string {
		if i%2 == 0 {
			return fmt.Sprintf("v1:%064x", i)
		}
		return fmt.Sprintf("old-%d", i)
	}
	for i := range 300 {
		require.NoError(t, cs.Put(ctx, oldKey(i), providers.Request{}, providers.Completion{Text: "t"}))
	}
	require.NoError(t, cs.Close())
	st, err := OpenStore(dir)
	require.NoError(t, err)
	defer st.Close()
	qc, err := st.completionCache()
	require.NoError(t, err)
	for i := range 40000 { // past the first level's capacity
		qc.known.add(fmt.Sprintf("new-%d", i))
	}
	qc.known.load(ctx, st.DB()) // as loadFilter does, synchronously
	require.True(t, qc.known.ready.Load())
	for i := range 300 {
		assert.False(t, qc.known.absent(qc.cs.KeyArg(oldKey(i))))
		c, ok, err := qc.Get(ctx, oldKey(i))
		require.NoError(t, err)
		require.True(t, ok)
		assert.Equal(t, "t", c.Text)
	}
	for i := range 40000 {
		require.False(t, qc.known.absent(fmt.Sprintf("new-%d", i)))
	}
	absent := 0
	for i := range 10000 {
		if qc.known.absent(fmt.Sprintf("never-%d", i)) {
			absent++
		}
	}
	assert.Greater(t, absent, 9700, "about 1%% false positives")
}

// A run database made before shared texts, prompts and blob request keys
// opens and resumes: its rows read as they were, its hex request keys
// still match the new rows' (a cached row is not mistaken for the paid
// call), and its whole cache rows answer.
func TestOldRunDatabaseKeepsItsFormats(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	req := providers.Request{Model: "m", Messages: []providers.Message{{Role: "user", Content: strings.Repeat("Old question. ", 10)}}}
	full := requestJSON(req)
	old := "file:" + filepath.Join(dir, StoreFile)
	cs, err := sqlitecache.Open(filepath.Join(dir, StoreFile))
	require.NoError(t, err)
	key := providers.CacheKey(providers.EndpointOf(fixedText{}), req)
	require.NoError(t, cs.Put(ctx, key, req, providers.Completion{Text: "old answer", Provider: "bench", CostUSD: 0.5, CostKnown: true}))
	require.NoError(t, cs.Close())
	st, err := OpenStore(dir) // the old schema, and one paid row with a hex key, as an older version wrote it
	require.NoError(t, err)
	require.NoError(t, st.Close())
	db, err := sqlOpen(old)
	require.NoError(t, err)
	_, err = db.Exec(`DELETE FROM store_state WHERE key IN (?, ?)`, requestKeyFormatKey, promptRefFormatKey)
	require.NoError(t, err)
	hexKey := hexRequestKey("bench:m", full)
	_, err = db.Exec(`INSERT INTO samples(stage, problem_id, sample, model, request, response, cost_usd, request_key)
		VALUES('strong', 'p0', 0, 'bench:m', ?, 'old answer', 0.5, ?)`, full, hexKey)
	require.NoError(t, err)
	require.NoError(t, db.Close())

	st, err = OpenStore(dir)
	require.NoError(t, err)
	defer st.Close()
	assert.False(t, st.blobKeys, "a database with rows keeps its hex request keys")
	mw, err := SQLiteCache(st)
	require.NoError(t, err)
	c, err := mw(fixedText{text: "never called"}).Complete(ctx, req)
	require.NoError(t, err)
	assert.True(t, c.Cached)
	assert.Equal(t, "old answer", c.Text)
	// The same request again, answered by the cache (a weak try reusing a
	// sample, say): not claimed as the paid call, the old row is.
	r := Sample{Stage: StagePerturb, ProblemID: "p0", Sample: 0, Model: "bench:m", Request: full}
	fillCompletion(&r, c)
	require.NoError(t, st.PutSample(ctx, r))
	rows, err := st.PerturbCalls(ctx, "p0")
	require.NoError(t, err)
	require.Len(t, rows, 1)
	assert.True(t, rows[0].Cached, "the old paid row's hex key matched")
	assert.Equal(t, full, rows[0].Request)
	old0, err := st.StageSamples(ctx, StageStrong)
	require.NoError(t, err)
	require.Len(t, old0, 1)
	assert.Equal(t, full, old0[0].Request)
}

func sqlOpen(dsn string) (*sql.DB, error) { return sql.Open("sqlite", dsn) }

// hexRequestKey is the request_key an older store wrote.
func hexRequestKey(model, request string) string {
	h := sha256.New()
	h.Write([]byte(model))
	h.Write([]byte{0})
	h.Write([]byte(request))
	return hex.EncodeToString(h.Sum(nil))
}

// A run database whose prompts table was made WITHOUT ROWID (before
// session 13 made it a rowid table) keeps that layout and its hash
// references, stores new prompts in it and reads them back; a new
// database gets the rowid table, rowid references and the claim's
// (request_messages, request_key) index.
func TestPromptsKeepTheirLayout(t *testing.T) {
	ctx := context.Background()
	layout := func(st *Store) string {
		var sql string
		require.NoError(t, st.DB().QueryRow(`SELECT sql FROM sqlite_schema WHERE name = 'prompts'`).Scan(&sql))
		return sql
	}
	put := func(st *Store, id string) Sample {
		req := providers.Request{Model: "m", Messages: []providers.Message{{Role: "user", Content: strings.Repeat("Question "+id+". ", 10)}}}
		r := Sample{Stage: StageStrong, ProblemID: id, Sample: 0, Model: "sim:m", Request: requestJSON(req), Response: "answer " + id}
		require.NoError(t, st.PutSample(ctx, r))
		return r
	}

	fresh, err := OpenStore(t.TempDir())
	require.NoError(t, err)
	defer fresh.Close()
	assert.NotContains(t, layout(fresh), "WITHOUT ROWID")
	indexes := func(st *Store) []string {
		var names []string
		rows, err := st.DB().Query(`SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'samples' AND sql IS NOT NULL ORDER BY name`)
		require.NoError(t, err)
		for rows.Next() {
			var n string
			require.NoError(t, rows.Scan(&n))
			names = append(names, n)
		}
		require.NoError(t, rows.Err())
		return names
	}
	assert.True(t, fresh.promptRowids, "a new database references prompts by rowid")
	assert.Equal(t, []string{"samples_prompt_request"}, indexes(fresh), "and its claim needs no index of request keys alone")

	dir := t.TempDir()
	db, err := sqlOpen("file:" + filepath.Join(dir, StoreFile))
	require.NoError(t, err)
	_, err = db.Exec(`CREATE TABLE prompts (hash BLOB PRIMARY KEY, messages TEXT NOT NULL) WITHOUT ROWID`)
	require.NoError(t, err)
	require.NoError(t, db.Close())
	st, err := OpenStore(dir)
	require.NoError(t, err)
	a := put(st, "p1")
	require.NoError(t, st.Close())
	st, err = OpenStore(dir) // resumed
	require.NoError(t, err)
	defer st.Close()
	assert.Contains(t, layout(st), "WITHOUT ROWID", "an existing table is not rebuilt")
	assert.False(t, st.promptRowids, "a WITHOUT ROWID table keeps hash references")
	assert.Equal(t, []string{"samples_request"}, indexes(st))
	b := put(st, "p2")
	for _, want := range []Sample{a, b} {
		rows, err := st.Samples(ctx, want.ProblemID)
		require.NoError(t, err)
		require.Len(t, rows, 1)
		assert.Equal(t, want.Request, rows[0].Request, "the messages are joined back")
	}
	var n int
	require.NoError(t, st.DB().QueryRow(`SELECT COUNT(*) FROM prompts`).Scan(&n))
	assert.Equal(t, 2, n)
}

// Two calls of one problem finish together: the second finds the prompt
// already being queued by the first and must not queue its row before the
// prompt's, or its rowid reference would find no prompt and the row would
// read back without its messages (28 of 1,059,841 rows at 100k problems,
// before the ordering fix).
func TestConcurrentRowsOfANewPromptKeepTheirMessages(t *testing.T) {
	ctx := context.Background()
	st, err := OpenStore(t.TempDir())
	require.NoError(t, err)
	defer st.Close()
	req := requestJSON(providers.Request{Model: "m", Messages: []providers.Message{{Role: "user", Content: strings.Repeat("Shared question. ", 8)}}})
	entered := make(chan struct{})
	var once sync.Once
	st.prompts.beforeQueue = func() {
		once.Do(func() {
			close(entered)
			time.Sleep(50 * time.Millisecond) // the second call arrives meanwhile
		})
	}
	row := func(i int) Sample {
		return Sample{Stage: StageStrong, ProblemID: "p", Sample: i, Model: "sim:m", Request: req, Response: "r"}
	}
	first := make(chan error, 1)
	go func() { first <- st.PutSample(ctx, row(0)) }()
	<-entered
	require.NoError(t, st.PutSample(ctx, row(1)))
	require.NoError(t, <-first)
	rows, err := st.Samples(ctx, "p")
	require.NoError(t, err)
	require.Len(t, rows, 2)
	for _, r := range rows {
		assert.Equal(t, req, r.Request, "sample %d keeps its messages", r.Sample)
	}
}
