package sqlitecache_test

import (
	"context"
	"database/sql"
	"encoding/hex"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/providers"
	"github.com/rebound-lab/rebound/providers/mock"
	"github.com/rebound-lab/rebound/providers/sqlitecache"
)

// keyTypes returns SQLite's type of every stored key.
func keyTypes(t *testing.T, path string) map[string]int {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	defer db.Close()
	rows, err := db.Query(`SELECT typeof(key), count(*) FROM ` + sqlitecache.Table + ` GROUP BY 1`)
	require.NoError(t, err)
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var typ string
		var n int
		require.NoError(t, rows.Scan(&typ, &n))
		out[typ] = n
	}
	require.NoError(t, rows.Err())
	return out
}

// A new table stores providers.CacheKey's keys as 19-byte blobs and keys of
// any other shape as text; both answer, across a reopen and through the
// middleware.
func TestANewTableStoresDigestKeysCompactly(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "c.db")
	s, err := sqlitecache.Open(path)
	require.NoError(t, err)
	model := mock.Echo()
	digest := providers.CacheKey(providers.EndpointOf(model), req(1))
	require.Len(t, digest, 67, "the shape KeyArg compacts: \"v1:\" and 64 hex digits")
	require.NoError(t, s.Put(ctx, digest, req(1), completion(1)))
	require.NoError(t, s.Put(ctx, "plain key", req(2), completion(2)))
	_, err = providers.Cache(s)(model).Complete(ctx, req(3))
	require.NoError(t, err)
	require.NoError(t, s.Close())
	assert.Equal(t, map[string]int{"blob": 2, "text": 1}, keyTypes(t, path))

	s, err = sqlitecache.Open(path)
	require.NoError(t, err)
	defer s.Close()
	for key, want := range map[string]providers.Completion{digest: completion(1), "plain key": completion(2)} {
		got, ok, err := s.Get(ctx, key)
		require.NoError(t, err)
		require.True(t, ok, key)
		assert.Equal(t, want, got)
	}
	got, err := providers.Cache(s)(model).Complete(ctx, req(3))
	require.NoError(t, err)
	assert.True(t, got.Cached, "the middleware's own key answers after a reopen")
	blob, ok := s.KeyArg(digest).([]byte)
	require.True(t, ok)
	assert.Equal(t, "v1:", string(blob[:3]))
	assert.Equal(t, digest[3:35], hex.EncodeToString(blob[3:]), "the digest's first 128 bits")
}

// A table an earlier release filled (text keys, no format row) keeps text
// keys: its rows still answer, and new rows are stored the same way.
func TestATableOfTextKeysKeepsThem(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "c.db")
	db, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	defer db.Close()
	_, err = db.Exec(`CREATE TABLE ` + sqlitecache.Table + ` (key TEXT PRIMARY KEY, provider TEXT NOT NULL, model TEXT NOT NULL,
		completion TEXT NOT NULL, request TEXT, created_at TEXT NOT NULL)`)
	require.NoError(t, err)
	old := "v1:" + strings.Repeat("ab", 32)
	_, err = db.Exec(`INSERT INTO `+sqlitecache.Table+` VALUES (?, 'openai', 'm', '{"text":"old answer"}', NULL, '')`, old)
	require.NoError(t, err)

	s, err := sqlitecache.Open(path)
	require.NoError(t, err)
	defer s.Close()
	got, ok, err := s.Get(ctx, old)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, "old answer", got.Text)
	assert.Equal(t, old, s.KeyArg(old))
	require.NoError(t, s.Put(ctx, "v1:"+strings.Repeat("cd", 32), req(1), completion(1)))
	assert.Equal(t, map[string]int{"text": 2}, keyTypes(t, path))
}

// A format this version does not know is refused with its name and what to
// do, not guessed.
func TestAnUnknownKeyFormatIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.db")
	s, err := sqlitecache.Open(path)
	require.NoError(t, err)
	require.NoError(t, s.Close())
	db, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	defer db.Close()
	_, err = db.Exec(`UPDATE ` + sqlitecache.Table + `_format SET key_format = 'zstd'`)
	require.NoError(t, err)
	_, err = sqlitecache.Open(path)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `key_format "zstd"`)
	assert.Contains(t, err.Error(), "newer release")
}

// CompactKey keeps a digest key's prefix and first 128 bits and takes
// nothing else: any other shape is refused, so KeyArg stores it as text.
func FuzzCompactKey(f *testing.F) {
	for _, s := range []string{"v1:" + strings.Repeat("0f", 32), "v1:" + strings.Repeat("0F", 32), "k", ":" + strings.Repeat("a", 64),
		"abcdefghi:" + strings.Repeat("a", 64), "v1:" + strings.Repeat("a", 63), "v1:v2:" + strings.Repeat("a", 61)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		b, ok := sqlitecache.CompactKey(key)
		i := strings.IndexByte(key, ':')
		if !ok {
			require.Nil(t, b)
			return
		}
		require.True(t, i >= 1 && i <= 8, "prefix of 1–8 bytes")
		require.Len(t, key, i+1+64)
		require.Len(t, b, i+1+16)
		assert.Equal(t, key[:i+1], string(b[:i+1]))
		assert.Equal(t, key[i+1:i+1+32], hex.EncodeToString(b[i+1:]), "lower-case digits only: the blob maps back")
	})
}
