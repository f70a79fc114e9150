package recovery

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Write batching. Every row a run writes (samples, prefixes, calibration,
// buckets, run config and, with SQLiteCache, the completion cache) goes
// through one writer goroutine per Store, which executes statements
// prepared once on its own connection and commits them a batch at a time:
// after FlushRows rows or FlushInterval, whichever comes first, or when a
// reader asks (Flush, and every Store read method, flush first).
//
// Durability contract: a sample, prefix or config write returns once its
// row is queued, not committed. Rows are committed in the order they were
// queued, a batch per transaction. A completion's cache row (SQLiteCache)
// is the exception: Put waits for its commit (a group commit shared with
// every row queued meanwhile) before the caller sees the answer, so an
// answer that was paid for is on disk before anything depends on it. A
// crash (SIGKILL, power loss) therefore loses at most the calls in flight
// and the sample rows queued in the last FlushInterval; a resumed run
// rebuilds a lost sample row from its cache row (recorded as the paid call,
// at no new cost), so nothing is paid twice and the budget's count of what
// was spent stays whole. With NoCache there is no cache row: a lost sample
// row's call is made again. A clean exit (Close, or a cancelled Run) loses
// nothing. An error executing a queued row is kept and returned by every
// later write and by Flush and Close.
const (
	// FlushRows is the most rows one write transaction holds. At the
	// simulator's pace (≈ 18,000 rows a second at 10k problems) 512 made a
	// commit every 28 ms, and each commit rewrites every index page it
	// touched into the WAL; 2,048 (about FlushInterval's worth) cut the
	// commits 854 → 249 and the CPU by 9 %. A real endpoint's pace never
	// fills it: there FlushInterval decides.
	FlushRows = 2048
	// FlushInterval is the longest a queued row waits for its commit.
	FlushInterval = 100 * time.Millisecond
	// writeQueue is how many rows may wait for the writer before a write
	// call blocks (back-pressure, which bounds the memory they hold, with
	// the FlushRows of the batch being collected).
	writeQueue = 1024
	// writerCacheKiB is the writer connection's SQLite page cache (16 MiB):
	// the index a large run inserts into at random (the completion cache's
	// keys; request keys too in a database made before session 13) stays
	// in memory longer instead of being re-read and rewritten.
	writerCacheKiB = 16 << 10
	// walCheckpointPages lets the WAL grow to about 128 MiB before it is
	// copied back into the database, so a page rewritten by many batches
	// (the pages of the indexes inserted into at random: cache keys, and
	// request keys in a database made before session 13) is checkpointed
	// once rather than once per 4 MiB. 32 MiB (8,192 pages) wrote 19.3 GB at
	// 100k problems, 128 MiB with the prompts as a rowid table 15.1 GB, and
	// with rowid prompt references too 9.8 GB (README). The WAL file keeps
	// its largest size until the last connection closes.
	walCheckpointPages = 32768
)

// writeGenKey is the store_state key counting the write transactions that
// changed a row; WriteReport compares it to decide whether samples.jsonl
// is current.
const writeGenKey = "write_gen"

// stateSchema is the store's own bookkeeping (the write generation, what
// samples.jsonl and a finished run were made from), kept out of run_config
// so it is not mistaken for the run's parameters.
const stateSchema = `CREATE TABLE IF NOT EXISTS store_state (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
)`

type writeOp struct {
	query string
	args  []any
	// after runs once the op's batch is committed (or failed).
	after func()
	// barrier, if set, marks a Flush: it receives the writer's error once
	// every op queued before it is committed.
	barrier chan error
	// cacheKey and kind mark the ops of a shared-text cache entry
	// (cachetext.go): its lean insert, its pending texts and the share
	// that points it at its sample row. When all fall in one batch, the row
	// is inserted pointing at its sample row at once (see leanInserts).
	cacheKey string
	kind     opKind
	// group, if set, holds ops that must commit in one batch (a cache
	// row and its pending texts: split across two commits, a reader
	// between them would see a lean row without its texts, and a crash
	// would lose them); the op itself carries nothing else.
	group []writeOp
}

// size is the number of rows op stands for in the queue.
func (op writeOp) size() int64 {
	if op.group != nil {
		return int64(len(op.group))
	}
	return 1
}

// appendOp appends op to batch, flattening a group.
func appendOp(batch []writeOp, op writeOp) []writeOp {
	if op.group != nil {
		return append(batch, op.group...)
	}
	return append(batch, op)
}

type opKind uint8

const (
	opPlain opKind = iota
	opCachePut
	opCachePending
	opCacheShare
)

// writer is a Store's single writer goroutine.
type writer struct {
	db      *sql.DB
	ops     chan writeOp
	pending atomic.Int64 // ops queued or in an uncommitted batch
	done    chan struct{}

	mu     sync.RWMutex // guards closed against sends on a closed ops
	closed bool

	errMu sync.Mutex
	err   error // the first failure, sticky

	// used only by the writer goroutine
	conn  *sql.Conn
	stmts map[string]driver.Stmt // prepared on conn's driver connection
	args  []driver.NamedValue    // reused for every statement's arguments
}

func newWriter(db *sql.DB) *writer {
	w := &writer{db: db, ops: make(chan writeOp, writeQueue), done: make(chan struct{}), stmts: map[string]driver.Stmt{}}
	if _, err := db.Exec(stateSchema); err != nil {
		w.fail(fmt.Errorf("recovery: create store_state: %w", err))
	}
	go w.loop()
	return w
}

func (w *writer) fail(err error) {
	w.errMu.Lock()
	if w.err == nil {
		w.err = err
	}
	w.errMu.Unlock()
}

func (w *writer) error() error {
	w.errMu.Lock()
	defer w.errMu.Unlock()
	return w.err
}

var errStoreClosed = errors.New("recovery: store is closed")

func (w *writer) send(op writeOp) error {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		return errStoreClosed
	}
	w.pending.Add(op.size())
	w.ops <- op
	return nil
}

// ExecContext queues query for the writer. It has the signature of
// sql.DB.ExecContext so Store methods switch to it by name; the result is
// always nil (the row is not executed yet) and the error is the writer's
// first failure, if any, or a closed store. ctx is not used: a queued
// write is never cancelled.
func (w *writer) ExecContext(_ context.Context, query string, args ...any) (sql.Result, error) {
	if err := w.error(); err != nil {
		return nil, fmt.Errorf("an earlier queued write failed: %w", err)
	}
	return nil, w.send(writeOp{query: query, args: args})
}

// execAfter is ExecContext with a callback run once the row is committed.
func (w *writer) execAfter(query string, after func(), args ...any) error {
	return w.queue(writeOp{query: query, args: args, after: after})
}

// queue is ExecContext for a prepared op.
func (w *writer) queue(op writeOp) error {
	if err := w.error(); err != nil {
		return fmt.Errorf("an earlier queued write failed: %w", err)
	}
	return w.send(op)
}

// queueGroup queues ops to commit in one batch (see writeOp.group).
func (w *writer) queueGroup(ops []writeOp) error {
	if len(ops) == 1 {
		return w.queue(ops[0])
	}
	return w.queue(writeOp{group: ops})
}

// Flush waits until every write queued before it is committed and returns
// the writer's first failure, if any.
func (w *writer) Flush(ctx context.Context) error {
	if w.pending.Load() == 0 {
		return w.error()
	}
	ch := make(chan error, 1)
	if err := w.send(writeOp{barrier: ch}); err != nil {
		if errors.Is(err, errStoreClosed) {
			return w.error()
		}
		return err
	}
	select {
	case err := <-ch:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close commits what is queued, stops the writer and returns its first
// failure, if any.
func (w *writer) Close() error {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.ops)
	}
	w.mu.Unlock()
	<-w.done
	return w.error()
}

func (w *writer) loop() {
	defer close(w.done)
	defer func() {
		if w.conn != nil {
			_ = w.conn.Raw(func(any) error {
				for _, st := range w.stmts {
					st.Close()
				}
				return nil
			})
			w.conn.Close()
		}
	}()
	timer := time.NewTimer(FlushInterval)
	timer.Stop()
	batch := make([]writeOp, 0, FlushRows)
	for {
		op, ok := <-w.ops
		if !ok {
			return
		}
		batch = appendOp(batch[:0], op)
		if op.barrier == nil {
			timer.Reset(FlushInterval)
		collect:
			for len(batch) < FlushRows {
				select {
				case op, ok = <-w.ops:
					if !ok {
						break collect
					}
					batch = appendOp(batch, op)
					if op.barrier != nil {
						break collect
					}
				case <-timer.C:
					break collect
				}
			}
			timer.Stop()
		}
		// Group commit: whatever else is already queued (rows and the
		// barriers of other callers waiting for theirs) joins this
		// transaction, so N callers flushing at once cost one commit, not N.
	drain:
		for ok && len(batch) < FlushRows {
			select {
			case op, ok = <-w.ops:
				if !ok {
					break drain
				}
				batch = appendOp(batch, op)
			default:
				break drain
			}
		}
		w.commit(batch)
		clear(batch) // drop references to the rows' texts
		if !ok {
			return
		}
	}
}

// setup opens the writer's connection and tunes it.
func (w *writer) setup() error {
	if w.conn != nil {
		return nil
	}
	conn, err := w.db.Conn(context.Background())
	if err != nil {
		return err
	}
	for _, p := range []string{
		fmt.Sprintf("PRAGMA cache_size = -%d", writerCacheKiB),
		fmt.Sprintf("PRAGMA wal_autocheckpoint = %d", walCheckpointPages),
	} {
		if _, err := conn.ExecContext(context.Background(), p); err != nil {
			conn.Close()
			return err
		}
	}
	w.conn = conn
	return nil
}

// stmt returns query prepared on the driver connection dc (w.conn's).
func (w *writer) stmt(ctx context.Context, dc any, query string) (driver.Stmt, error) {
	if st, ok := w.stmts[query]; ok {
		return st, nil
	}
	p, ok := dc.(driver.ConnPrepareContext)
	if !ok {
		return nil, fmt.Errorf("driver connection %T has no PrepareContext", dc)
	}
	st, err := p.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	w.stmts[query] = st
	return st, nil
}

// exec runs st with args, converted as database/sql converts them (the
// writer calls the driver directly: database/sql's per-statement argument
// conversion and locking were ≈ 8 % of a run's allocations). It returns
// the rows affected.
func (w *writer) exec(ctx context.Context, st driver.Stmt, args []any) (int64, error) {
	w.args = w.args[:0]
	for i, a := range args {
		v, err := driverValue(a)
		if err != nil {
			return 0, fmt.Errorf("argument %d: %w", i+1, err)
		}
		w.args = append(w.args, driver.NamedValue{Ordinal: i + 1, Value: v})
	}
	e, ok := st.(driver.StmtExecContext)
	if !ok {
		return 0, fmt.Errorf("driver statement %T has no ExecContext", st)
	}
	res, err := e.ExecContext(ctx, w.args)
	clear(w.args) // drop references to the rows' texts
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected() // 0 when the driver cannot say
	return n, nil
}

// driverValue converts a statement argument to a driver.Value the way
// database/sql does (driver.DefaultParameterConverter), without its
// reflection for the common types.
func driverValue(a any) (driver.Value, error) {
	switch v := a.(type) {
	case nil, string, int64, float64, bool, []byte, time.Time:
		return v, nil
	case int:
		return int64(v), nil
	}
	return driver.DefaultParameterConverter.ConvertValue(a)
}

// commit executes batch's rows in one transaction and then answers its
// barriers and callbacks.
func (w *writer) commit(batch []writeOp) {
	ctx := context.Background()
	rows := 0
	for _, op := range batch {
		if op.barrier == nil {
			rows++
		}
	}
	if rows > 0 {
		if err := w.execBatch(ctx, batch); err != nil {
			w.fail(fmt.Errorf("recovery: store write: %w", err))
		}
	}
	err := w.error()
	for _, op := range batch {
		if op.after != nil {
			op.after()
		}
		if op.barrier != nil {
			op.barrier <- err
		}
	}
	w.pending.Add(-int64(len(batch)))
}

// execBatch runs batch in one transaction on the writer's connection. The
// statements run on its driver connection (sql.Conn.Raw), prepared once
// and kept for the connection's life: the driver connection is the same for
// every batch, as w.conn holds it.
func (w *writer) execBatch(ctx context.Context, batch []writeOp) error {
	if err := w.setup(); err != nil {
		return err
	}
	return w.conn.Raw(func(dc any) error { return w.execBatchOn(ctx, dc, batch) })
}

// execBatchOn is execBatch on the driver connection dc.
func (w *writer) execBatchOn(ctx context.Context, dc any, batch []writeOp) (err error) {
	run := func(query string, args ...any) (int64, error) {
		st, err := w.stmt(ctx, dc, query)
		if err != nil {
			return 0, err
		}
		return w.exec(ctx, st, args)
	}
	if _, err := run("BEGIN IMMEDIATE"); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_, _ = run("ROLLBACK")
		}
	}()
	leanAt := leanInserts(batch)
	var changed int64
	for i, op := range batch {
		if op.barrier != nil {
			continue
		}
		if j, ok := leanAt[i]; ok {
			// The cache row and the sample row that takes over its texts
			// commit together: insert the row pointing at it, skip its
			// pending texts and the share.
			op = writeOp{query: leanPutSQL, args: leanPutArgs(op.args, batch[j].args)}
		} else if op.query == "" {
			continue // done by a lean insert
		}
		n, err := run(op.query, op.args...)
		if err != nil {
			return err
		}
		changed += n
	}
	if changed > 0 {
		if _, err := run(`INSERT INTO store_state(key, value) VALUES('` + writeGenKey + `', '1')
			ON CONFLICT(key) DO UPDATE SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)`); err != nil {
			return err
		}
	}
	_, err = run("COMMIT")
	return err
}

// Flush commits every write queued so far (see FlushInterval for what a
// crash can lose) and returns the first error a queued write met, if any.
// Store's read methods flush first, so a Store reads its own writes.
func (s *Store) Flush(ctx context.Context) error { return s.w.Flush(ctx) }
