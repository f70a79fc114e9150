package sqlitecache_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/rebound-lab/rebound/providers"
	"github.com/rebound-lab/rebound/providers/mock"
	"github.com/rebound-lab/rebound/providers/sqlitecache"
)

// A cache that survives the process: the second run answers from disk.
func Example() {
	dir, _ := os.MkdirTemp("", "rebound-example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "run.db")
	req := providers.Request{Model: "m", Messages: []providers.Message{{Role: "user", Content: "2+2?"}}}
	for run := 1; run <= 2; run++ {
		store, err := sqlitecache.Open(path)
		if err != nil {
			panic(err)
		}
		got, _ := providers.Cache(store)(mock.Echo()).Complete(context.Background(), req)
		fmt.Printf("run %d: %q cached=%v\n", run, got.Text, got.Cached)
		store.Close()
	}
	// Output:
	// run 1: "2+2?" cached=false
	// run 2: "2+2?" cached=true
}
