package recovery

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"strings"
	"sync"

	"github.com/rebound-lab/rebound/providers"
	"github.com/rebound-lab/rebound/providers/sqlitecache"
)

// Shared texts: a call's answer is stored once. Its cache row is written
// lean — the completion JSON without text and reasoning, marked
// SharedTextField — and its texts go, in the same transaction (the
// durable record of the paid call, committed before the answer is used),
// to the small table cache_pending. Once the call's sample row holds the
// same texts, the cache row is pointed at it (text_stage, text_problem,
// text_prefix, text_sample) and the pending texts are dropped; when the
// cache row and the sample row fall in one write batch (the usual case for
// free calls, which are not flushed one by one), the row is inserted
// pointing at the sample row at once. The cache's Get rehydrates the texts
// from the sample row (or the pending ones). The samples table keeps its
// texts in place, so every reader of samples (the report, health checks,
// the viewer, the exports) is unchanged.
//
// The reference stays valid: two triggers copy the old texts back into
// every cache row that references a sample row whose texts change (a rerun
// that renumbers a perturber's calls, say) or that is deleted (by hand: the
// harness never deletes a sample row), in the same transaction.

// SharedTextField marks a completion_cache row whose text and reasoning
// live in the samples row its text_* columns name; sqlitecache.Get refuses
// such a row (read it through SQLiteCache).
const SharedTextField = sqlitecache.SharedTextField

// cacheTextColumns are the completion_cache columns naming the sample row
// that holds a lean row's texts (all NULL for a row that holds them).
var cacheTextColumns = []struct{ name, decl string }{
	{"text_stage", "TEXT"},
	{"text_problem", "TEXT"},
	{"text_prefix", "TEXT"},
	{"text_sample", "INTEGER"},
}

const cacheTextSchema = `
CREATE TABLE IF NOT EXISTS cache_pending (
	key       TEXT PRIMARY KEY,
	text      TEXT NOT NULL,
	reasoning TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS cache_pending_shared AFTER UPDATE OF text_stage ON ` + sqlitecache.Table + `
	WHEN new.text_stage IS NOT NULL
BEGIN
	DELETE FROM cache_pending WHERE key = new.key;
END;
CREATE INDEX IF NOT EXISTS completion_cache_text ON ` + sqlitecache.Table + `(text_stage, text_problem, text_prefix, text_sample)
	WHERE text_stage IS NOT NULL;
CREATE TRIGGER IF NOT EXISTS samples_shared_text AFTER UPDATE OF response, reasoning ON samples
	WHEN old.response != new.response OR old.reasoning != new.reasoning
BEGIN
	UPDATE ` + sqlitecache.Table + ` SET
		completion = json_remove(json_set(completion, '$.text', old.response, '$.reasoning', old.reasoning), '$.` + sqlitecache.SharedTextField + `'),
		text_stage = NULL, text_problem = NULL, text_prefix = NULL, text_sample = NULL
	WHERE text_stage = old.stage AND text_problem = old.problem_id AND text_prefix = old.prefix AND text_sample = old.sample;
END;
CREATE TRIGGER IF NOT EXISTS samples_shared_text_delete AFTER DELETE ON samples
BEGIN
	UPDATE ` + sqlitecache.Table + ` SET
		completion = json_remove(json_set(completion, '$.text', old.response, '$.reasoning', old.reasoning), '$.` + sqlitecache.SharedTextField + `'),
		text_stage = NULL, text_problem = NULL, text_prefix = NULL, text_sample = NULL
	WHERE text_stage = old.stage AND text_problem = old.problem_id AND text_prefix = old.prefix AND text_sample = old.sample;
END;`

// migrateCacheText adds the shared-text columns, index and trigger (an
// additive migration: run databases made before open and resume; their
// rows keep their texts).
func migrateCacheText(db *sql.DB) error {
	if err := addColumns(db, sqlitecache.Table, cacheTextColumns); err != nil {
		return err
	}
	_, err := db.Exec(cacheTextSchema)
	return err
}

// shareSQL points cache row ?1 at sample row (?3..?6) if that row holds
// exactly texts ?7 and ?8 and the cache row's texts are still pending
// (created_at ?9: the row this process wrote, not one another writer
// stored first under the same key); the trigger cache_pending_shared then
// drops the pending texts. ?2 is unused (kept for leanPutArgs).
const shareSQL = `UPDATE ` + sqlitecache.Table + ` SET
		text_stage = ?3, text_problem = ?4, text_prefix = ?5, text_sample = ?6
	WHERE key = ?1 AND ?2 IS NOT NULL AND created_at = ?9 AND text_stage IS NULL AND EXISTS (SELECT 1 FROM samples
		WHERE stage = ?3 AND problem_id = ?4 AND prefix = ?5 AND sample = ?6 AND response = ?7 AND reasoning = ?8)`

// putPendingSQL keeps a lean cache row's texts until a sample row takes
// them over: a small, hot table whose pages are reused as its rows go, so
// a text's bytes are not left behind as a hole in the cache's pages.
const putPendingSQL = `INSERT INTO cache_pending(key, text, reasoning) VALUES(?, ?, ?) ON CONFLICT(key) DO NOTHING`

const getSharedSQL = `SELECT c.completion, c.text_stage IS NOT NULL, s.response, s.reasoning, p.text, p.reasoning
	FROM ` + sqlitecache.Table + ` c LEFT JOIN samples s ON c.text_stage IS NOT NULL AND s.stage = c.text_stage
		AND s.problem_id = c.text_problem AND s.prefix = c.text_prefix AND s.sample = c.text_sample
		LEFT JOIN cache_pending p ON p.key = c.key
	WHERE c.key = ?`

// freshTexts remembers the completions just put in the cache, by their
// texts, until a sample row with the same texts takes them over. It is
// bounded: a completion no sample row ever records (a preflight call) is
// forgotten, its cache row staying whole.
type freshTexts struct {
	seed maphash.Seed
	mu   sync.Mutex
	m    map[uint64][]freshText
	n    int
}

type freshText struct {
	key, created    string
	text, reasoning string
	lean            string // the row's lean completion JSON
}

// maxFreshTexts bounds the completions waiting for their sample row (a
// short wait: the call's verification). One forgotten early keeps its
// texts in cache_pending: correct, only not shared.
const maxFreshTexts = 1 << 12

func newFreshTexts() *freshTexts {
	return &freshTexts{seed: maphash.MakeSeed(), m: map[uint64][]freshText{}}
}

func (f *freshTexts) id(text, reasoning string) uint64 {
	var h maphash.Hash
	h.SetSeed(f.seed)
	h.WriteString(text)
	h.WriteByte(0)
	h.WriteString(reasoning)
	return h.Sum64()
}

func (f *freshTexts) add(key, created, lean string, c providers.Completion) {
	if c.Text == "" && c.Reasoning == "" {
		return // nothing to share
	}
	id := f.id(c.Text, c.Reasoning)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n >= maxFreshTexts {
		for k, v := range f.m { // forget one arbitrary group
			f.n -= len(v)
			delete(f.m, k)
			break
		}
	}
	f.m[id] = append(f.m[id], freshText{key: key, created: created, text: c.Text, reasoning: c.Reasoning, lean: lean})
	f.n++
}

// take removes and returns the fresh completions with exactly these texts.
func (f *freshTexts) take(text, reasoning string) []freshText {
	if text == "" && reasoning == "" {
		return nil
	}
	id := f.id(text, reasoning)
	f.mu.Lock()
	defer f.mu.Unlock()
	v := f.m[id]
	if len(v) == 0 {
		return nil
	}
	var out, keep []freshText
	for _, e := range v {
		if e.text == text && e.reasoning == reasoning {
			out = append(out, e)
		} else {
			keep = append(keep, e)
		}
	}
	if len(keep) == 0 {
		delete(f.m, id)
	} else {
		f.m[id] = keep
	}
	f.n -= len(out)
	return out
}

// leanCompletion is c's cache JSON without its texts, marked shared, and
// without the zero fields that always encode (they decode to zero when
// absent).
func leanCompletion(c providers.Completion) (string, error) {
	c.Text, c.Reasoning = "", ""
	b, err := json.Marshal(struct {
		providers.Completion
		Shared bool `json:"text_in_samples"`
	}{c, true})
	if err != nil {
		return "", err
	}
	out := string(b)
	// Inside a JSON string every quote is escaped, so these unescaped
	// field texts can only be the fields themselves.
	for _, f := range leanZeroFields {
		out = strings.Replace(out, f[0], f[1], 1)
	}
	return out, nil
}

var leanZeroFields = [][2]string{
	{`{"text":"",`, `{`},
	{`,"cached_input_tokens":0,`, `,`}, {`,"cached_input_tokens":0}`, `}`},
	{`,"reasoning_tokens":0,`, `,`}, {`,"reasoning_tokens":0}`, `}`},
	{`,"latency_ns":0,`, `,`}, {`,"latency_ns":0}`, `}`},
}

// shareTexts queues, after r's row, the rewrite of every fresh cache row
// with r's texts into a lean one referencing r's row.
func (s *Store) shareTexts(r Sample) error {
	qc := s.qc.Load()
	if qc == nil {
		return nil
	}
	for _, e := range qc.fresh.take(r.Response, r.Reasoning) {
		if err := s.w.queue(writeOp{query: shareSQL, kind: opCacheShare, cacheKey: e.key, args: []any{qc.cs.KeyArg(e.key), e.lean,
			r.Stage, r.ProblemID, r.Prefix, r.Sample, r.Response, r.Reasoning, e.created}}); err != nil {
			return fmt.Errorf("recovery: share the texts of %s sample %d of %q with the cache: %w", r.Stage, r.Sample, r.ProblemID, err)
		}
	}
	return nil
}

// getShared is the cache lookup that rehydrates lean rows.
// arg is key as the table stores it (sqlitecache.Store.KeyArg).
func (q *queuedCache) getShared(ctx context.Context, key string, arg any) (providers.Completion, bool, error) {
	var raw []byte
	var shared bool
	var text, reasoning, ptext, preasoning sql.NullString
	err := q.get.QueryRowContext(ctx, arg).Scan(&raw, &shared, &text, &reasoning, &ptext, &preasoning)
	if errors.Is(err, sql.ErrNoRows) {
		return providers.Completion{}, false, nil
	}
	if err != nil {
		return providers.Completion{}, false, fmt.Errorf("recovery: cache get %s: %w", key, err)
	}
	var row struct {
		providers.Completion
		Lean bool `json:"text_in_samples"`
	}
	if err := json.Unmarshal(raw, &row); err != nil {
		return providers.Completion{}, false, fmt.Errorf("recovery: %s row %s in %s: completion: %w", sqlitecache.Table, key, q.st.path, err)
	}
	c := row.Completion
	switch {
	case !row.Lean: // a row that holds its texts (written before, or with none)
	case shared && text.Valid:
		c.Text, c.Reasoning = text.String, reasoning.String
	case !shared && ptext.Valid:
		c.Text, c.Reasoning = ptext.String, preasoning.String
	default:
		// Cannot happen (the texts are pending until a sample row holds
		// them, and the triggers keep references valid); answer a miss
		// rather than an answer without its text.
		return providers.Completion{}, false, nil
	}
	return c, true, nil
}

// leanPutSQL inserts a cache row lean (see leanInserts).
const leanPutSQL = `INSERT INTO ` + sqlitecache.Table + ` (key, provider, model, completion, request, created_at,
		text_stage, text_problem, text_prefix, text_sample)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(key) DO NOTHING`

// leanPutArgs are leanPutSQL's arguments from a PutSQL op's and its share
// op's.
func leanPutArgs(put, share []any) []any {
	out := append([]any(nil), put...)
	out[3] = share[1] // the lean completion (already)
	return append(out, share[2], share[3], share[4], share[5])
}

// leanInserts finds, in one batch, the cache inserts whose share op comes
// later in the same batch (so they commit together with the sample row
// holding their texts): op index → share op index. Their pending-texts and
// share ops are marked done (query cleared).
func leanInserts(batch []writeOp) map[int]int {
	var shares, pending map[string]int
	for i, op := range batch {
		switch op.kind {
		case opCacheShare:
			if shares == nil {
				shares = map[string]int{}
			}
			if _, ok := shares[op.cacheKey]; !ok {
				shares[op.cacheKey] = i
			}
		case opCachePending:
			if pending == nil {
				pending = map[string]int{}
			}
			pending[op.cacheKey] = i
		}
	}
	if shares == nil {
		return nil
	}
	out := map[int]int{}
	for i, op := range batch {
		if op.kind != opCachePut {
			continue
		}
		j, ok := shares[op.cacheKey]
		k, kok := pending[op.cacheKey]
		if ok && kok && i < k && k < j {
			out[i] = j
			batch[j].query, batch[k].query = "", ""
		}
	}
	return out
}
