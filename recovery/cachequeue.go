package recovery

import (
	"context"
	"database/sql"
	"fmt"
	"sync"

	"github.com/rebound-lab/rebound/providers"
	"github.com/rebound-lab/rebound/providers/sqlitecache"
)

// queuedCache is the completion cache of SQLiteCache: reads go to the
// sqlitecache table, writes through the Store's writer, so a completion's
// cache row and its sample row are committed in order, usually in one
// transaction (see FlushInterval). A completion queued but not yet
// committed is answered from memory, so a repeated request never misses
// (or pays twice) because its row is still in the queue.
type queuedCache struct {
	st *Store
	cs *sqlitecache.Store

	mu      sync.Mutex
	pending map[string]providers.Completion

	// known answers most misses without a query (see keyFilter).
	known *keyFilter
	// fresh holds the completions put but not yet shared with their
	// sample rows; get reads a row, rehydrating a lean one (cachetext.go).
	fresh *freshTexts
	get   *sql.Stmt
}

var _ providers.CacheStore = (*queuedCache)(nil)

// putRequestArg is the index of the request column in sqlitecache's PutArgs.
const putRequestArg = 4

// putCreatedArg is the index of the created_at column in sqlitecache's PutArgs.
const putCreatedArg = 5

func newQueuedCache(st *Store, cs *sqlitecache.Store) (*queuedCache, error) {
	if err := migrateCacheText(st.db); err != nil {
		return nil, fmt.Errorf("recovery: migrate %s in %s: %w", sqlitecache.Table, st.path, err)
	}
	get, err := st.db.Prepare(getSharedSQL)
	if err != nil {
		return nil, fmt.Errorf("recovery: prepare the cache lookup in %s: %w", st.path, err)
	}
	return &queuedCache{st: st, cs: cs, pending: map[string]providers.Completion{}, known: newKeyFilter(),
		fresh: newFreshTexts(), get: get}, nil
}

// loadFilter fills the key filter from the table in the background.
func (q *queuedCache) loadFilter() { go q.known.load(context.Background(), q.st.db) }

// Get answers from the queue, then from the table.
func (q *queuedCache) Get(ctx context.Context, key string) (providers.Completion, bool, error) {
	q.mu.Lock()
	c, ok := q.pending[key]
	q.mu.Unlock()
	if ok {
		return c, true, nil
	}
	arg := q.cs.KeyArg(key)
	if q.known.absent(arg) {
		return providers.Completion{}, false, nil
	}
	return q.getShared(ctx, key, arg)
}

// Put queues the completion's row and waits until it is committed; it is
// never cancelled by ctx.
func (q *queuedCache) Put(ctx context.Context, key string, req providers.Request, c providers.Completion) error {
	// The request's audit copy is left out: every call's sample row holds
	// the same request JSON (and its request_key), so storing it twice
	// would only double the bytes a call costs.
	var args []any
	lean := ""
	if c.Text != "" || c.Reasoning != "" {
		// Stored once (cachetext.go): the row lean, its texts pending
		// until the call's sample row holds them. Encoded once, lean.
		if l, err := leanCompletion(c); err == nil {
			lean = l
			args = q.cs.RowArgs(key, req.Model, c, lean)
		}
	}
	if args == nil {
		var err error
		if args, err = q.cs.PutArgs(key, providers.Request{Model: req.Model}, c); err != nil {
			return err
		}
		args[putRequestArg] = nil
	}
	q.mu.Lock()
	if _, ok := q.pending[key]; ok {
		q.mu.Unlock()
		return nil // the first completion stored under a key wins
	}
	q.pending[key] = c
	q.mu.Unlock()
	arg := args[0]   // the key as the table stores it (sqlitecache.Store.KeyArg)
	q.known.add(arg) // before the row can be committed and its pending entry dropped
	drop := func() {
		q.mu.Lock()
		delete(q.pending, key)
		q.mu.Unlock()
	}
	ops := []writeOp{{query: sqlitecache.PutSQL, args: args, after: drop}}
	if lean != "" {
		q.fresh.add(key, args[putCreatedArg].(string), lean, c)
		ops[0].kind, ops[0].cacheKey = opCachePut, key
		ops = append(ops, writeOp{query: putPendingSQL, args: []any{arg, c.Text, c.Reasoning},
			kind: opCachePending, cacheKey: key})
	}
	// One batch: the lean row is never committed without its texts.
	if err := q.st.w.queueGroup(ops); err != nil {
		drop()
		return err
	}
	if c.CostKnown && c.CostUSD == 0 {
		// A free answer (the simulator, a model priced at zero) needs no
		// durability before use: a crash that loses it only makes the same
		// free call again. Its row is committed with the next batch, with
		// its sample row, instead of forcing a commit per call.
		return nil
	}
	// A paid answer is durable before its caller sees it: wait for the
	// writer to commit it (a group commit shared with every row queued
	// meanwhile). A crash then loses at most the answers still in flight,
	// never one already paid for, so a resume neither pays twice nor
	// under-counts the budget (the sample rows themselves may still be
	// batched: a lost row is rebuilt from this cache row on resume and
	// recorded as the paid call).
	return q.st.w.Flush(context.WithoutCancel(ctx))
}
