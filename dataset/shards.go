package dataset

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// ErrNoShards is returned (wrapped in an *Error naming the pattern) when a
// directory or glob matches no .jsonl, .ndjson or .parquet file.
var ErrNoShards = errors.New("no .jsonl, .ndjson or .parquet files")

// IsShards reports whether path names a set of shards rather than one file:
// a directory, or a glob pattern (one with *, ? or [).
func IsShards(path string) bool {
	if strings.ContainsAny(path, "*?[") {
		return true
	}
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}

// Shards lists the problem files path names, in lexical order (the order
// Hugging Face numbers its shards, train-00000-of-00004.parquet, …): the
// .jsonl, .ndjson and .parquet files directly inside a directory, or those
// matching a glob pattern (filepath.Match syntax). A plain file path is
// returned as is.
func Shards(path string) ([]string, error) {
	var files []string
	switch {
	case strings.ContainsAny(path, "*?["):
		m, err := filepath.Glob(path)
		if err != nil {
			return nil, &Error{File: path, Err: fmt.Errorf("glob pattern: %w", err)}
		}
		files = m
	default:
		fi, err := os.Stat(path)
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			return []string{path}, nil
		}
		ents, err := os.ReadDir(path)
		if err != nil {
			return nil, err
		}
		for _, e := range ents {
			if !e.IsDir() {
				files = append(files, filepath.Join(path, e.Name()))
			}
		}
	}
	files = slices.DeleteFunc(files, func(f string) bool {
		switch strings.ToLower(filepath.Ext(f)) {
		case ".jsonl", ".ndjson", ".parquet":
			fi, err := os.Stat(f)
			return err != nil || fi.IsDir()
		}
		return true
	})
	slices.Sort(files)
	if len(files) == 0 {
		return nil, &Error{File: path, Err: fmt.Errorf("%w (the path must be a file, a directory of shards or a glob such as data/train-*.parquet)", ErrNoShards)}
	}
	return files, nil
}

// EachShard opens the shards path names (see Shards) one at a time, in
// order, and calls fn with each shard's problems, so only one shard is in
// memory at a time; it stops at the first error. A problem ID that occurs
// in two shards is an error naming both.
func EachShard(path string, fn func(file string, problems []Problem) error, opts ...Option) error {
	files, err := Shards(path)
	if err != nil {
		return err
	}
	seen := map[string]int{} // problem ID → shard index
	for i, f := range files {
		ps, err := Open(f, opts...)
		if err != nil {
			return err
		}
		for _, p := range ps {
			if j, dup := seen[p.ID]; dup {
				return &Error{File: f, Err: fmt.Errorf("problem ID %q is also in %s: give each shard distinct IDs", p.ID, files[j])}
			}
			seen[p.ID] = i
		}
		if err := fn(f, ps); err != nil {
			return err
		}
	}
	return nil
}

// OpenShards loads every shard path names (see Shards) and returns their
// problems in shard order; for a single file it is Open.
func OpenShards(path string, opts ...Option) ([]Problem, error) {
	var out []Problem
	err := EachShard(path, func(_ string, ps []Problem) error {
		out = append(out, ps...)
		return nil
	}, opts...)
	return out, err
}
