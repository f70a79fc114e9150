package dataset

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"os"
	"path/filepath"
	"strings"
)

// Source is a problem set read a chunk at a time, for sets too large to
// hold in memory (a million problems are ≈ 600 MB of text). Each calls fn
// with successive chunks of the problems, in order, starting from the
// first problem on every call, and stops at fn's first error, which it
// returns. fn may keep the problems of a chunk but not the slice itself.
type Source interface {
	Each(ctx context.Context, fn func(chunk []Problem) error) error
}

// ChunkSize is how many problems a Stream or a Slice hands over at a time.
const ChunkSize = 256

// Slice is a Source over problems held in memory.
type Slice []Problem

// Each calls fn with s in chunks of ChunkSize.
func (s Slice) Each(ctx context.Context, fn func([]Problem) error) error {
	for lo := 0; lo < len(s); lo += ChunkSize {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(s[lo:min(lo+ChunkSize, len(s)):min(lo+ChunkSize, len(s))]); err != nil {
			return err
		}
	}
	return nil
}

// errStop ends an Each early without an error.
var errStop = errors.New("dataset: stop")

// errLimit ends a Stream's pass at its limit.
var errLimit = errors.New("dataset: limit reached")

// Limit returns the first n problems of src as a Source (all of them when
// n ≤ 0). Reading stops at the n-th problem: records after it are not
// read, so their errors (and duplicate IDs) are not reported.
func Limit(src Source, n int) Source {
	if n <= 0 {
		return src
	}
	if s, ok := src.(*Stream); ok {
		// A Stream that stops at n itself: a pass to the limit is a whole
		// pass (its later passes need not check IDs again).
		c := &Stream{path: s.path, files: s.files, shards: s.shards, opts: s.opts, limit: n}
		if s.limit > 0 {
			c.limit = min(n, s.limit)
		}
		return c
	}
	return limited{src, n}
}

type limited struct {
	src Source
	n   int
}

func (l limited) Each(ctx context.Context, fn func([]Problem) error) error {
	left := l.n
	err := l.src.Each(ctx, func(c []Problem) error {
		if len(c) > left {
			c = c[:left]
		}
		left -= len(c)
		if len(c) > 0 {
			if err := fn(c); err != nil {
				return err
			}
		}
		if left == 0 {
			return errStop
		}
		return nil
	})
	if errors.Is(err, errStop) {
		return nil
	}
	return err
}

// Count reads src through and returns how many problems it has.
func Count(ctx context.Context, src Source) (int, error) {
	n := 0
	err := src.Each(ctx, func(c []Problem) error {
		n += len(c)
		return nil
	})
	return n, err
}

// Collect reads src into memory.
func Collect(ctx context.Context, src Source) ([]Problem, error) {
	var out []Problem
	err := src.Each(ctx, func(c []Problem) error {
		out = append(out, c...)
		return nil
	})
	return out, err
}

// Stream is a Source over a problem file, or a directory or glob of
// shards (see Shards), read a record at a time: JSONL a line at a time,
// Parquet a row at a time (a row group's pages as they are needed). Only
// the chunk at hand and one 8-byte hash per problem ID (to refuse
// duplicates) are in memory. Its problems, IDs and errors are those of
// Open (one file) or OpenShards (shards): the layout is recognised per
// file from its first record, errors name file:line (or file:row N), and
// an ID that occurs twice is an ErrDuplicateID error naming both places.
// Each pass reads the files again. After a first pass that read them
// through, a pass checks that no file changed (size and modification
// time) instead of checking IDs again — a changed file is an error — so
// a later pass holds only its chunk.
type Stream struct {
	path   string
	files  []string
	shards bool
	opts   []Option
	passed bool     // one pass finished: skips are recorded once, IDs were checked
	stamps []string // each file's size and modification time at that pass
	limit  int      // the most problems a pass gives (Limit); 0: all
}

// OpenStream lists the files path names (one file, or a directory or glob
// of shards; see IsShards and Shards) and checks that each exists and has
// a known extension; nothing is read until Each.
func OpenStream(path string, opts ...Option) (*Stream, error) {
	s := &Stream{path: path, opts: opts, shards: IsShards(path)}
	if s.shards {
		files, err := Shards(path)
		if err != nil {
			return nil, err
		}
		s.files = files
	} else {
		if _, err := os.Stat(path); err != nil {
			return nil, err
		}
		if err := checkExt(path); err != nil {
			return nil, err
		}
		s.files = []string{path}
	}
	return s, nil
}

// Files are the files the stream reads, in order.
func (s *Stream) Files() []string { return append([]string(nil), s.files...) }

func checkExt(path string) error {
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".jsonl", ".ndjson", ".parquet":
		return nil
	default:
		return &Error{File: path, Err: fmt.Errorf("%w: extension %q (want .jsonl, .ndjson or .parquet)", ErrUnknownFormat, ext)}
	}
}

// Each reads the files in order and calls fn with chunks of ChunkSize
// problems (the last one shorter).
func (s *Stream) Each(ctx context.Context, fn func([]Problem) error) error {
	var seen *idSet
	if s.passed {
		if err := s.unchanged(); err != nil {
			return err
		}
	} else {
		seen = newIDSet(s)
		s.stamps = s.stamp()
	}
	chunk := make([]Problem, 0, ChunkSize)
	flush := func() error {
		if len(chunk) == 0 {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		err := fn(chunk)
		chunk = make([]Problem, 0, ChunkSize) // fn may keep the problems
		return err
	}
	o := buildOptions(s.opts)
	o.noSkips = s.passed
	given := 0
	for i, f := range s.files {
		err := s.scanFile(f, o, func(r *record, dec decoder) error {
			p, keep, err := decodeRecord(r, dec, o)
			if err != nil || !keep {
				return err
			}
			if seen != nil {
				if err := seen.add(i, r, p.ID); err != nil {
					return err
				}
			}
			chunk = append(chunk, p)
			given++
			if len(chunk) == ChunkSize {
				if err := flush(); err != nil {
					return err
				}
			}
			if given == s.limit {
				return errLimit
			}
			return nil
		})
		if errors.Is(err, errLimit) {
			break
		}
		if err != nil {
			return err
		}
	}
	if err := flush(); err != nil {
		return err
	}
	if !s.passed && slicesEqual(s.stamps, s.stamp()) {
		s.passed = true // else the next pass checks the IDs again
	}
	return nil
}

// stamp is each file's size and modification time.
func (s *Stream) stamp() []string {
	out := make([]string, len(s.files))
	for i, f := range s.files {
		if fi, err := os.Stat(f); err == nil {
			out[i] = fmt.Sprintf("%d %d", fi.Size(), fi.ModTime().UnixNano())
		}
	}
	return out
}

// unchanged checks that no file changed since the first pass.
func (s *Stream) unchanged() error {
	now := s.stamp()
	for i, f := range s.files {
		if now[i] != s.stamps[i] {
			return &Error{File: f, Err: errors.New("changed since it was first read (size or modification time): open the stream again")}
		}
	}
	return nil
}

func slicesEqual(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// scanFile scans one file, calling add with each record.
func (s *Stream) scanFile(path string, o options, add func(*record, decoder) error) error {
	if err := checkExt(path); err != nil {
		return err
	}
	fh, err := os.Open(path)
	if err != nil {
		return err
	}
	defer fh.Close()
	o.idName = filepath.Base(path)
	if strings.ToLower(filepath.Ext(path)) == ".parquet" {
		st, err := fh.Stat()
		if err != nil {
			return err
		}
		return scanParquet(fh, st.Size(), path, nil, o, add)
	}
	return scanJSONL(fh, path, nil, o, add)
}

// idAt reads the ID of the record at a position of file i (a line of a
// JSONL file, a row of a Parquet file), to confirm a hash collision.
func (s *Stream) idAt(i int, line, row int) (string, error) {
	found, id := false, ""
	o := buildOptions(s.opts)
	o.noSkips = true
	err := s.scanFile(s.files[i], o, func(r *record, dec decoder) error {
		if r.line != line || r.row != row {
			return nil
		}
		p, _, err := decodeRecord(r, dec, o)
		if err != nil {
			return err
		}
		found, id = true, p.ID
		return errStop
	})
	if err != nil && !errors.Is(err, errStop) {
		return "", err
	}
	if !found {
		return "", fmt.Errorf("dataset: %s changed while it was read (no record at line %d, row %d)", s.files[i], line, row)
	}
	return id, nil
}

// idSet remembers where each problem ID was first seen, by a 64-bit hash
// of the ID (a million IDs in ≈ 30 MB instead of their strings). A hash
// seen before is confirmed by reading that record's ID again, so a
// collision of two different IDs is never reported as a duplicate.
type idSet struct {
	s    *Stream
	seed maphash.Seed
	// first maps an ID hash to where it was first seen: file index in the
	// top 16 bits, then one bit for a Parquet row, then the line or row.
	first map[uint64]uint64
	// more holds, for a hash shared by different IDs, every further ID
	// and its place (rare: about one pair in 10^7 at a million IDs).
	more map[uint64]map[string]uint64
}

// idHash hashes an ID; a test replaces it to force collisions.
var idHash = func(seed maphash.Seed, id string) uint64 { return maphash.String(seed, id) }

func newIDSet(s *Stream) *idSet {
	return &idSet{s: s, seed: maphash.MakeSeed(), first: map[uint64]uint64{}}
}

const posRow = 1 << 47

func packPos(file int, r *record) uint64 {
	v := uint64(file) << 48
	if r.row > 0 {
		return v | posRow | uint64(r.row)
	}
	return v | uint64(r.line)
}

func unpackPos(v uint64) (file, line, row int) {
	file = int(v >> 48)
	n := int(v & (posRow - 1))
	if v&posRow != 0 {
		return file, 0, n
	}
	return file, n, 0
}

// add records id at r in file i, or returns the duplicate error.
func (d *idSet) add(i int, r *record, id string) error {
	h := idHash(d.seed, id)
	at, ok := d.first[h]
	if !ok {
		d.first[h] = packPos(i, r)
		return nil
	}
	if more, ok := d.more[h][id]; ok {
		return d.dup(i, r, id, more)
	}
	fi, line, row := unpackPos(at)
	firstID, err := d.s.idAt(fi, line, row)
	if err != nil {
		return err
	}
	if firstID == id {
		return d.dup(i, r, id, at)
	}
	if d.more == nil {
		d.more = map[uint64]map[string]uint64{}
	}
	if d.more[h] == nil {
		d.more[h] = map[string]uint64{}
	}
	d.more[h][id] = packPos(i, r)
	return nil
}

// dup is the error for id at r in file i, first seen at at: the message
// of a single file's loader, or of EachShard across shards.
func (d *idSet) dup(i int, r *record, id string, at uint64) error {
	fi, line, row := unpackPos(at)
	if fi != i {
		return &Error{File: d.s.files[i], Err: fmt.Errorf("problem ID %q is also in %s: give each shard distinct IDs", id, d.s.files[fi])}
	}
	where := fmt.Sprintf("line %d", line)
	if row > 0 {
		where = fmt.Sprintf("row %d", row)
	}
	return r.err("", fmt.Errorf("%w %q (first at %s)", ErrDuplicateID, id, where))
}

// UniqueIDs reports that a Stream refuses duplicate problem IDs itself.
func (s *Stream) UniqueIDs() bool { return true }

// UniqueIDs reports whether the limited source refuses duplicate IDs.
func (l limited) UniqueIDs() bool {
	u, ok := l.src.(interface{ UniqueIDs() bool })
	return ok && u.UniqueIDs()
}

// QuestionKey is the 64-bit FNV-1a hash of a question with its
// surrounding white space trimmed: the key a run store indexes its
// problems by, so that a simulator can find a prompt's problem without
// holding the dataset.
func QuestionKey(q string) uint64 {
	q = strings.TrimSpace(q)
	h := uint64(14695981039346656037)
	for i := 0; i < len(q); i++ {
		h = (h ^ uint64(q[i])) * 1099511628211
	}
	return h
}

// Stamp names the stream's files as they are now — each file's path, size
// and modification time — and its options, so a caller that recorded it
// can tell, without reading the files, that they hold what they held (a
// run directory resumed on the same dataset). ok is false if a file
// cannot be read.
func (s *Stream) Stamp() (stamp string, ok bool) {
	var b strings.Builder
	o := buildOptions(s.opts)
	fmt.Fprintf(&b, "skip=%v limit=%d", o.skipped != nil, s.limit)
	for i, st := range s.stamp() {
		if st == "" {
			return "", false
		}
		fmt.Fprintf(&b, "\x00%s %s", s.files[i], st)
	}
	return b.String(), true
}

// Stamp is the limited source's Stamp and its limit, if the source has
// a Stamp.
func (l limited) Stamp() (string, bool) {
	st, ok := l.src.(interface{ Stamp() (string, bool) })
	if !ok {
		return "", false
	}
	s, ok := st.Stamp()
	return fmt.Sprintf("%s\x00limit=%d", s, l.n), ok
}
