// Package sqlitecache is a providers.CacheStore in SQLite (the pure-Go
// modernc.org/sqlite driver, no cgo). Each completion is written as soon as
// it returns, so a crash loses nothing and a rerun resumes from the cache;
// the database uses WAL journaling and a busy timeout so several processes
// and goroutines can read and write it at once.
//
// Open a database file with Open, or share an existing *sql.DB (a run
// store's, say) with New. Rows hold the cache key, the completion as JSON,
// the request as JSON for audit (requests carry no credentials), provider,
// model and time of writing.
//
// Keys are stored compactly (see KeyArg): a digest key such as
// providers.CacheKey's "v1:" and 64 hex digits is kept as a 19-byte blob
// (its prefix and the first 128 bits of the digest) instead of 67 bytes of
// text. The key column's index is inserted into at random, so its size
// decides how many pages every commit rewrites: at 200,000 calls the
// compact keys cut the bytes written per call by 23 % (13.1 → 10.1 KB,
// BenchmarkStoreCall in package recovery). A table an earlier release made keeps its text keys;
// the format is recorded in the table Table+"_format" by the first Store
// to open the table.
package sqlitecache

import (
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/rebound-lab/rebound/providers"
)

// BusyTimeout is how long a connection opened by Open waits for another
// writer's lock before failing.
const BusyTimeout = 30 * time.Second

// Table is the name of the table the Store uses.
const Table = "completion_cache"

const schema = `CREATE TABLE IF NOT EXISTS ` + Table + ` (
	key        TEXT PRIMARY KEY,
	provider   TEXT NOT NULL,
	model      TEXT NOT NULL,
	completion TEXT NOT NULL,
	request    TEXT,
	created_at TEXT NOT NULL
)`

// formatSchema records how the key column stores keys: "compact" (KeyArg)
// or "text" (a table made before compact keys, or by another writer that
// stored text keys first). One row, written once.
const formatSchema = `CREATE TABLE IF NOT EXISTS ` + Table + `_format (
	id         INTEGER PRIMARY KEY CHECK (id = 1),
	key_format TEXT NOT NULL
)`

// chooseFormat records the key format of a table that has none yet, in one
// statement so two Stores opening one file at once agree: compact for an
// empty table, text for one that already holds (text) keys.
const chooseFormat = `INSERT OR IGNORE INTO ` + Table + `_format(id, key_format)
	SELECT 1, CASE WHEN EXISTS (SELECT 1 FROM ` + Table + `) THEN 'text' ELSE 'compact' END`

// Key formats of the key column.
const (
	formatCompact = "compact"
	formatText    = "text"
)

// Store is a providers.CacheStore in an SQLite database. The first
// completion stored under a key wins; later Puts of the same key are
// ignored, so a cached answer never changes. A Store is safe for concurrent
// use, including by several Stores (or processes) on one file.
type Store struct {
	db      *sql.DB
	owned   bool
	compact bool // keys are stored by KeyArg's compact form
	get     *sql.Stmt
	put     *sql.Stmt
}

var _ providers.CacheStore = (*Store)(nil)

// Open opens (creating if needed) the SQLite database at path with WAL
// journaling, synchronous=NORMAL and a BusyTimeout busy timeout on every
// connection, and prepares the cache table. Close the Store to close the
// database.
func Open(path string) (*Store, error) {
	if path == "" {
		return nil, errors.New("sqlitecache: empty database path")
	}
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", BusyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlitecache: open %s: %w", path, err)
	}
	s, err := newStore(context.Background(), db, true)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlitecache: open %s: %w", path, err)
	}
	return s, nil
}

// New uses an already open SQLite database, creating the cache table if
// needed and switching the database to WAL journaling. The caller keeps
// ownership of db: Close does not close it. Set a busy timeout in db's DSN
// (e.g. "_pragma=busy_timeout(30000)") when other connections write too.
func New(db *sql.DB) (*Store, error) {
	if db == nil {
		return nil, errors.New("sqlitecache: nil *sql.DB")
	}
	s, err := newStore(context.Background(), db, false)
	if err != nil {
		return nil, fmt.Errorf("sqlitecache: %w", err)
	}
	return s, nil
}

func newStore(ctx context.Context, db *sql.DB, owned bool) (*Store, error) {
	var mode string
	if err := db.QueryRowContext(ctx, "PRAGMA journal_mode=WAL").Scan(&mode); err != nil {
		return nil, fmt.Errorf("set WAL journal mode: %w", err)
	}
	if _, err := db.ExecContext(ctx, schema); err != nil {
		return nil, fmt.Errorf("create table %s: %w", Table, err)
	}
	s := &Store{db: db, owned: owned}
	format, err := keyFormat(ctx, db)
	if err != nil {
		return nil, err
	}
	s.compact = format == formatCompact
	if s.get, err = db.PrepareContext(ctx, `SELECT completion FROM `+Table+` WHERE key = ?`); err != nil {
		return nil, fmt.Errorf("prepare get: %w", err)
	}
	if s.put, err = db.PrepareContext(ctx, PutSQL); err != nil {
		s.get.Close()
		return nil, fmt.Errorf("prepare put: %w", err)
	}
	return s, nil
}

// keyFormat returns the table's key format, choosing it if the table has
// none yet.
func keyFormat(ctx context.Context, db *sql.DB) (string, error) {
	if _, err := db.ExecContext(ctx, formatSchema); err != nil {
		return "", fmt.Errorf("create table %s_format: %w", Table, err)
	}
	if _, err := db.ExecContext(ctx, chooseFormat); err != nil {
		return "", fmt.Errorf("record the key format in %s_format: %w", Table, err)
	}
	var format string
	if err := db.QueryRowContext(ctx, `SELECT key_format FROM `+Table+`_format`).Scan(&format); err != nil {
		return "", fmt.Errorf("read the key format in %s_format: %w", Table, err)
	}
	if format != formatCompact && format != formatText {
		return "", fmt.Errorf("%s_format says key_format %q, which this version does not know (a newer release wrote it): open the database with that release", Table, format)
	}
	return format, nil
}

// KeyArg is the value the key column holds for key, to bind wherever a
// statement names a row by its key (PutSQL's first argument, a lookup of
// your own). In a compact table a digest key — a prefix of 1 to 8 bytes
// without a colon, a colon, then 64 lower-case hex digits, as
// providers.CacheKey makes — is a blob of the prefix, the colon and the
// digest's first 16 bytes; every other key, and every key of a text table,
// is the key itself (a text never equals a blob, so the two forms cannot
// collide).
func (s *Store) KeyArg(key string) any {
	if !s.compact {
		return key
	}
	if b, ok := CompactKey(key); ok {
		return b
	}
	return key
}

// CompactKey returns the compact blob of a digest key (see KeyArg) and
// true, or nil and false for a key of another shape.
func CompactKey(key string) ([]byte, bool) {
	i := strings.IndexByte(key, ':')
	if i < 1 || i > 8 || len(key)-i-1 != 64 {
		return nil, false
	}
	digest := key[i+1:]
	for j := 0; j < len(digest); j++ {
		if c := digest[j]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return nil, false // upper case too: "AB" and "ab" are different keys
		}
	}
	var half [32]byte // the digits kept, copied so decoding allocates nothing more
	copy(half[:], digest)
	b := make([]byte, i+1+16)
	copy(b, key[:i+1])
	hex.Decode(b[i+1:], half[:]) // cannot fail: every digit was checked above
	return b, true
}

// Get returns the completion stored under key.
func (s *Store) Get(ctx context.Context, key string) (providers.Completion, bool, error) {
	var raw []byte
	err := s.get.QueryRowContext(ctx, s.KeyArg(key)).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return providers.Completion{}, false, nil
	}
	if err != nil {
		return providers.Completion{}, false, fmt.Errorf("sqlitecache: get %s: %w", key, err)
	}
	var row struct {
		providers.Completion
		Shared bool `json:"text_in_samples"`
	}
	if err := json.Unmarshal(raw, &row); err != nil {
		return providers.Completion{}, false, fmt.Errorf("sqlitecache: %s row %s: completion: %w", Table, key, err)
	}
	if row.Shared {
		return providers.Completion{}, false, fmt.Errorf("sqlitecache: %s row %s keeps its text in a run's samples table (%q set by recovery.SQLiteCache): read this database through recovery.SQLiteCache: %w",
			Table, key, SharedTextField, ErrSharedText)
	}
	return row.Completion, true, nil
}

// SharedTextField is the completion JSON field that marks a row whose
// text and reasoning are kept elsewhere in the database (a recovery run
// store keeps them once, in its samples table); Get refuses such a row
// with ErrSharedText.
const SharedTextField = "text_in_samples"

// ErrSharedText is returned by Get for a row whose texts live elsewhere
// (see SharedTextField).
var ErrSharedText = errors.New("sqlitecache: completion text kept outside the cache row")

// Put stores c (and req, for audit) under key unless the key is already
// stored. The row is committed before Put returns.
func (s *Store) Put(ctx context.Context, key string, req providers.Request, c providers.Completion) error {
	args, err := s.PutArgs(key, req, c)
	if err != nil {
		return err
	}
	if _, err := s.put.ExecContext(ctx, args...); err != nil {
		return fmt.Errorf("sqlitecache: put %s: %w", key, err)
	}
	return nil
}

// PutSQL is the statement Put executes, with PutArgs's arguments, for a
// caller that batches the cache's writes with its own in one transaction
// (the table must exist: New or Open creates it).
const PutSQL = `INSERT INTO ` + Table + ` (key, provider, model, completion, request, created_at)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(key) DO NOTHING`

// PutArgs returns PutSQL's arguments for storing c (and req, for audit)
// under key.
func (s *Store) PutArgs(key string, req providers.Request, c providers.Completion) ([]any, error) {
	cj, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("sqlitecache: put %s: completion: %w", key, err)
	}
	args := s.RowArgs(key, req.Model, c, string(cj))
	if b, err := json.Marshal(req); err == nil {
		args[requestArg] = string(b)
	} // a request JSON cannot encode is still cached, without its audit copy
	return args, nil
}

// requestArg is the index of the request column among PutSQL's arguments.
const requestArg = 4

// RowArgs returns PutSQL's arguments for storing completion, the JSON
// encoding of c (or of a form of it the caller decodes itself), under key
// without a request audit copy (NULL). model names the row when c.Model is
// empty. For callers that encode c their own way; PutArgs encodes it. The
// key argument is KeyArg(key).
func (s *Store) RowArgs(key, model string, c providers.Completion, completion string) []any {
	if c.Model != "" {
		model = c.Model
	}
	return []any{s.KeyArg(key), c.Provider, model, completion, nil, time.Now().UTC().Format(time.RFC3339Nano)}
}

// Len returns the number of cached completions.
func (s *Store) Len(ctx context.Context) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM `+Table).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlitecache: count: %w", err)
	}
	return n, nil
}

// Close releases the Store's statements and, if the Store was made by
// Open, closes the database.
func (s *Store) Close() error {
	err := errors.Join(s.get.Close(), s.put.Close())
	if s.owned {
		err = errors.Join(err, s.db.Close())
	}
	return err
}
