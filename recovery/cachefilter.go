package recovery

import (
	"context"
	"database/sql"
	"fmt"
	"hash/maphash"
	"math/bits"
	"sync"
	"sync/atomic"

	"github.com/rebound-lab/rebound/providers/sqlitecache"
)

// keyFilter answers "is this cache key certainly absent?" without a query:
// a scalable Bloom filter (a list of filters, each twice the capacity of
// the one before, about 1% false positives) over every key in the
// completion cache. A cache miss is the common case of a new run (every
// first call misses), and each miss that reaches SQLite costs a read
// transaction on a connection whose page cache the writer's last commit
// invalidated; the filter answers most of them from memory.
//
// It is correct only if it sees every key: it is loaded from the table
// once (in the background; until then every lookup goes to SQLite), and
// every write to completion_cache made by this process goes through the
// queuedCache that owns it (SQLiteCache and the batch path both use the
// store's one completionCache), which adds the key before the row is
// queued. A key another process writes into the same run.db after the
// load is not seen: that process's call is made again here (both answers
// are kept apart; the first stored wins the cache). Two processes running
// one run directory at once is not supported anyway (their stages would
// both make every call). A false positive costs only the query it would
// have cost without the filter.
type keyFilter struct {
	seed  maphash.Seed
	ready atomic.Bool

	mu     sync.RWMutex
	levels []bloom
	bytes  int // Σ of the levels' sizes
}

type bloom struct {
	words    []uint64
	mask     uint64 // len(words)*64 - 1
	n, limit int
}

// bloomProbes and bloomBitsPerKey give about 1% false positives.
const (
	bloomProbes     = 7
	bloomBitsPerKey = 10
	bloomFirstKeys  = 1 << 14
)

// bloomMaxBytes bounds the filter's memory (issue 19: memory that does
// not grow with the run): a level is added only while the levels' sizes
// stay within it, and past that the last level takes every further key,
// so its false positives rise and more misses cost the SQLite query they
// would have cost without a filter. With 16 MiB the levels stop at the
// 8 MiB one (planned for 4.2 million keys, 8.4 million in all): a million
// problems at -samples 3 -continuations 2 (10.6 million keys) put 6.4
// million keys in it, about 10 bits a key, still about 1 % false
// positives; without the bound a 16 MiB level would be added (32 MiB in
// all). TestKeyFilterIsBounded measures an overfull filter (a variable so
// that it can bound a small one).
var bloomMaxBytes = 16 << 20

func newBloom(keys int) bloom {
	nbits := bloomBits(keys)
	return bloom{words: make([]uint64, nbits/64), mask: nbits - 1, limit: keys}
}

// bloomBits is the number of bits of a level planned for keys: a power
// of two of at least bloomBitsPerKey a key.
func bloomBits(keys int) uint64 { return uint64(1) << bits.Len64(uint64(keys*bloomBitsPerKey-1)) }

// newBloomSize is the size in bytes of newBloom(keys).
func newBloomSize(keys int) int { return int(bloomBits(keys) / 8) }

func (b *bloom) add(h1, h2 uint64) {
	for i := range uint64(bloomProbes) {
		p := (h1 + i*h2) & b.mask
		b.words[p/64] |= 1 << (p % 64)
	}
	b.n++
}

func (b *bloom) has(h1, h2 uint64) bool {
	for i := range uint64(bloomProbes) {
		p := (h1 + i*h2) & b.mask
		if b.words[p/64]&(1<<(p%64)) == 0 {
			return false
		}
	}
	return true
}

func newKeyFilter() *keyFilter {
	return &keyFilter{seed: maphash.MakeSeed(), levels: []bloom{newBloom(bloomFirstKeys)}, bytes: newBloomSize(bloomFirstKeys)}
}

// hash hashes a key as the table stores it (sqlitecache.Store.KeyArg: a
// string or a compact blob); equal bytes hash equal in either form.
func (f *keyFilter) hash(key any) (uint64, uint64) {
	var h uint64
	switch k := key.(type) {
	case []byte:
		h = maphash.Bytes(f.seed, k)
	case string:
		h = maphash.String(f.seed, k)
	default:
		panic(fmt.Sprintf("recovery: cache key of type %T", key))
	}
	return h, (h>>32 | h<<32) | 1
}

// add records key (its stored form, see hash) as present.
func (f *keyFilter) add(key any) {
	h1, h2 := f.hash(key)
	f.mu.Lock()
	last := &f.levels[len(f.levels)-1]
	if last.n >= last.limit {
		if next := newBloomSize(2 * last.limit); f.bytes+next <= bloomMaxBytes {
			f.levels = append(f.levels, newBloom(2*last.limit))
			f.bytes += next
			last = &f.levels[len(f.levels)-1]
		}
	}
	last.add(h1, h2)
	f.mu.Unlock()
}

// absent reports whether key is certainly not in the cache: false until
// the filter is loaded, and false for any key added.
func (f *keyFilter) absent(key any) bool {
	if !f.ready.Load() {
		return false
	}
	h1, h2 := f.hash(key)
	f.mu.RLock()
	defer f.mu.RUnlock()
	for i := range f.levels {
		if f.levels[i].has(h1, h2) {
			return false
		}
	}
	return true
}

// load adds every key already in the table and then marks the filter
// ready; on an error it stays unready (every lookup goes to SQLite).
func (f *keyFilter) load(ctx context.Context, db *sql.DB) {
	rows, err := db.QueryContext(ctx, `SELECT key FROM `+sqlitecache.Table)
	if err != nil {
		return
	}
	defer rows.Close()
	for rows.Next() {
		var k []byte // a text key's bytes or a compact blob: hashed alike
		if err := rows.Scan(&k); err != nil {
			return
		}
		f.add(k)
	}
	if rows.Err() == nil {
		f.ready.Store(true)
	}
}
