package sqlitecache_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/rebound-lab/rebound/providers"
	"github.com/rebound-lab/rebound/providers/mock"
	"github.com/rebound-lab/rebound/providers/sqlitecache"
)

// BenchmarkGetHit measures a cache hit on a 10 000-row database (target
// ≤ 100 µs per hit).
func BenchmarkGetHit(b *testing.B) {
	s, err := sqlitecache.Open(filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	const rows = 10000
	keys := make([]string, rows)
	for i := range keys {
		keys[i] = providers.CacheKey(providers.Endpoint{Provider: "openai"}, req(i))
		if err := s.Put(ctx, keys[i], req(i), completion(i)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, ok, err := s.Get(ctx, keys[i%rows]); err != nil || !ok {
			b.Fatal(ok, err)
		}
		i += 7919
	}
}

// BenchmarkCacheMiddlewareHit measures a hit through providers.Cache (key
// hashing included).
func BenchmarkCacheMiddlewareHit(b *testing.B) {
	s, err := sqlitecache.Open(filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	c := providers.Cache(s)(mock.Echo())
	ctx := context.Background()
	r := req(1)
	if _, err := c.Complete(ctx, r); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		got, err := c.Complete(ctx, r)
		if err != nil || !got.Cached {
			b.Fatal(got.Cached, err)
		}
	}
}

// BenchmarkPut measures writing one completion (committed, WAL).
func BenchmarkPut(b *testing.B) {
	s, err := sqlitecache.Open(filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Put(ctx, fmt.Sprint("k", i), req(i), completion(i)); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
