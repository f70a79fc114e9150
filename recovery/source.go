package recovery

import (
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/rebound-lab/rebound/dataset"
)

// A run's problems come from a dataset.Source (Config.Source, or
// Config.Problems as a dataset.Slice) and are read twice: admitProblems
// checks them against the run directory, stores them and fingerprints
// them; the pipeline's feed reads them again. Neither holds more than a
// chunk, so a run's memory does not grow with its dataset.

// admitted is what admitProblems learned about the run's problems.
type admitted struct {
	n    int    // how many
	work string // workFingerprint, computed on the way ("" if none)
}

// source is the run's problems: Problems if set, else Source.
func (c *Config) source() dataset.Source {
	if len(c.Problems) > 0 {
		return dataset.Slice(c.Problems)
	}
	return c.Source
}

// firstProblem is the run's first problem (for Preflight's requests).
func (c *Config) firstProblem() (dataset.Problem, error) {
	if len(c.Problems) > 0 {
		return c.Problems[0], nil
	}
	var first dataset.Problem
	found := false
	err := c.Source.Each(context.Background(), func(chunk []dataset.Problem) error {
		if len(chunk) == 0 {
			return nil
		}
		first, found = chunk[0], true
		return errFirst
	})
	if err != nil && !errors.Is(err, errFirst) {
		return first, fmt.Errorf("%w: Source: %w", ErrConfig, err)
	}
	if !found {
		return first, fmt.Errorf("%w: no Problems (the Source has none)", ErrConfig)
	}
	return first, nil
}

var errFirst = errors.New("recovery: first problem read")

// uniqueIDs reports whether src refuses duplicate problem IDs itself
// (dataset.Stream does, with the file and line of each).
func uniqueIDs(src dataset.Source) bool {
	u, ok := src.(interface{ UniqueIDs() bool })
	return ok && u.UniqueIDs()
}

// admitProblems is checkIdentity for a streamed source: it records the
// run's identity on first use of the directory, and refuses to resume one
// made with a different experiment, saying what differs — the settings
// (identityDiffs) and the problems: every stored problem must be among the
// run's, with the same question and answer. In the same pass it stores the
// problems (in one transaction, rolled back if anything differs, so a
// refused dataset leaves the store as it was), counts them and computes the
// work fingerprint. The identity's dataset fingerprint is the one
// checkIdentity computes for the same problems (sorted problemKeys); on a
// resume that added no problem it is the stored one, so the store is not
// read again.
func admitProblems(ctx context.Context, st *Store, cfg *Config) error {
	id := cfg.baseIdentity()
	var prev identity
	var diffs []string
	prevJSON, resuming, err := st.Config(ctx, "identity")
	if err != nil {
		return err
	}
	if resuming {
		if err := json.Unmarshal([]byte(prevJSON), &prev); err != nil {
			return fmt.Errorf("recovery: run identity in %s: %w", st.Path(), err)
		}
		diffs = identityDiffs(prev, id)
	}
	src := cfg.source()
	stamp, stamped := sourceStampOf(src)
	prefix := workPrefixDigest(cfg)
	if stamped && resuming {
		if rec, ok, err := st.readSourceStamp(ctx); err != nil {
			return err
		} else if ok && rec.Stamp == stamp && rec.Prefix == prefix && rec.Problems == prev.Problems && rec.Problems != "" {
			// The files are the ones the last admission read (and no
			// other writer changed the problems since: PutProblems
			// drops the record): nothing to read again.
			if err := identityError(st, diffs); err != nil {
				return err
			}
			id.Problems = rec.Problems
			cfg.admitted = admitted{n: rec.N, work: rec.Work}
			return st.setIdentity(ctx, id)
		}
	}
	work, hasWork := workHasher(cfg)
	tx, err := st.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("recovery: store problems: %w", err)
	}
	defer tx.Rollback()
	var stored int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM problems`).Scan(&stored); err != nil {
		return fmt.Errorf("recovery: count problems: %w", err)
	}
	put, err := tx.PrepareContext(ctx, putProblemSQL)
	if err != nil {
		return fmt.Errorf("recovery: store problems: %w", err)
	}
	defer put.Close()

	var ids map[string]struct{} // only for a source that does not refuse duplicates itself
	if !uniqueIDs(src) {
		ids = map[string]struct{}{}
	}
	var n, matched, changed int
	var firstChanged storedOrder
	err = src.Each(ctx, func(chunk []dataset.Problem) error {
		for lo := 0; lo < len(chunk); lo += doneChunk {
			part := chunk[lo:min(lo+doneChunk, len(chunk))]
			if ids != nil {
				for i, p := range part {
					if _, dup := ids[p.ID]; dup {
						return fmt.Errorf("%w: problem ID %q occurs twice in the problems (again at problem %d): give each problem its own ID",
							ErrConfig, p.ID, n+lo+i+1)
					}
					ids[p.ID] = struct{}{}
				}
			}
			have, err := storedRows(ctx, tx, part)
			if err != nil {
				return err
			}
			for _, p := range part {
				if hasWork {
					hashWork(work, p)
				}
				r, ok := have[p.ID]
				if ok {
					matched++
					if problemKey(p.ID, r.question, r.answer) != problemKey(p.ID, p.Question, p.Answer) {
						if changed++; changed == 1 || r.order.less(firstChanged) {
							firstChanged = r.order
						}
					}
					if r.same(p, n) {
						n++
						continue
					}
				}
				if _, err := put.ExecContext(ctx, p.ID, n, p.Question, p.Answer, p.Solution, p.Source, p.Subject, p.Level,
					questionKeyArg(p.Question)); err != nil {
					return fmt.Errorf("recovery: store problem %q: %w", p.ID, err)
				}
				n++
			}
		}
		return nil
	})
	if err != nil {
		var de *dataset.Error
		if errors.As(err, &de) {
			return fmt.Errorf("%w: problems: %w", ErrConfig, err)
		}
		return err
	}
	if n == 0 {
		return fmt.Errorf("%w: no Problems (the Source has none)", ErrConfig)
	}
	if changed > 0 {
		diffs = append(diffs, fmt.Sprintf("dataset: %d stored problems have another question or answer now (first: %s)", changed, firstChanged.id))
	}
	if missing := stored - matched; missing > 0 {
		first, err := firstMissing(ctx, tx, src)
		if err != nil {
			return err
		}
		diffs = append(diffs, fmt.Sprintf("dataset: %d of the %d stored problems are not in this one (first: %s) — another dataset, fewer problems (-limit), or IDs that changed",
			missing, stored, first))
	}
	if err := identityError(st, diffs); err != nil {
		return err
	}
	switch {
	case resuming && matched == n && prev.Problems != "":
		id.Problems = prev.Problems // the same set of problems
	default:
		if id.Problems, err = storedFingerprint(ctx, tx); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("recovery: store problems: %w", err)
	}
	cfg.admitted = admitted{n: n}
	if hasWork {
		cfg.admitted.work = hex.EncodeToString(work.Sum(nil))
	}
	if now, ok := sourceStampOf(src); stamped && ok && now == stamp { // unchanged while it was read
		rec := sourceStamp{Stamp: stamp, Prefix: prefix, N: n, Work: cfg.admitted.work, Problems: id.Problems}
		if err := st.writeSourceStamp(ctx, rec); err != nil {
			return err
		}
	}
	return st.setIdentity(ctx, id)
}

func (st *Store) setIdentity(ctx context.Context, id identity) error {
	b, err := json.Marshal(id)
	if err != nil {
		return fmt.Errorf("recovery: run identity: %w", err)
	}
	return st.SetConfig(ctx, "identity", string(b))
}

// sourceStampKey is the store_state key of the last admitted source's
// stamp (dataset.Stream.Stamp) with what its admission computed, so a
// resume on unchanged files skips reading them: a no-op resume is O(1) in
// the dataset.
const sourceStampKey = "source_stamp"

type sourceStamp struct {
	Stamp    string `json:"stamp"`
	Prefix   string `json:"prefix"` // workPrefixDigest at that admission
	N        int    `json:"n"`
	Work     string `json:"work"`
	Problems string `json:"problems"` // the identity's dataset fingerprint
}

func sourceStampOf(src dataset.Source) (string, bool) {
	s, ok := src.(interface{ Stamp() (string, bool) })
	if !ok {
		return "", false
	}
	return s.Stamp()
}

// workPrefixDigest digests what workFingerprint hashes before the
// problems ("" when it has none).
func workPrefixDigest(cfg *Config) string {
	h, ok := workHasher(cfg)
	if !ok {
		return ""
	}
	return hex.EncodeToString(h.Sum(nil))
}

func (st *Store) readSourceStamp(ctx context.Context) (sourceStamp, bool, error) {
	raw, ok, err := st.state(ctx, sourceStampKey)
	if err != nil || !ok {
		return sourceStamp{}, false, err
	}
	var rec sourceStamp
	if json.Unmarshal([]byte(raw), &rec) != nil {
		return sourceStamp{}, false, nil
	}
	return rec, true, nil
}

// writeSourceStamp records rec around the writer, like markFinished: it is
// not a change of the run's rows.
func (st *Store) writeSourceStamp(ctx context.Context, rec sourceStamp) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	if _, err := st.db.ExecContext(ctx, `INSERT INTO store_state(key, value) VALUES(?, ?)
		ON CONFLICT(key) DO UPDATE SET value = excluded.value`, sourceStampKey, string(b)); err != nil {
		return fmt.Errorf("recovery: record %s: %w", sourceStampKey, err)
	}
	return nil
}

// storedOrder is where a stored problem is in the stored order.
type storedOrder struct {
	ord int64
	id  string
}

func (a storedOrder) less(b storedOrder) bool {
	return a.ord < b.ord || (a.ord == b.ord && a.id < b.id)
}

// storedRow is a stored problem's own columns.
type storedRow struct {
	order                                       storedOrder
	question, answer, solution, source, subject string
	level                                       int
	qkey                                        int64
}

// same reports whether r already holds p at position ord (nothing to
// write).
func (r storedRow) same(p dataset.Problem, ord int) bool {
	return r.order.ord == int64(ord) && r.question == p.Question && r.answer == p.Answer && r.solution == p.Solution &&
		r.source == p.Source && r.subject == p.Subject && r.level == p.Level && r.qkey == questionKeyArg(p.Question)
}

// storedRows reads the stored rows of the problems in part.
func storedRows(ctx context.Context, tx *sql.Tx, part []dataset.Problem) (map[string]storedRow, error) {
	out := make(map[string]storedRow, len(part))
	if len(part) == 0 {
		return out, nil
	}
	args := make([]any, len(part))
	for i, p := range part {
		args[i] = p.ID
	}
	rows, err := tx.QueryContext(ctx, `SELECT id, ord, question, answer, solution, source, subject, level, qkey FROM problems WHERE id IN (`+
		strings.TrimSuffix(strings.Repeat("?, ", len(part)), ", ")+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("recovery: read problems: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r storedRow
		if err := rows.Scan(&r.order.id, &r.order.ord, &r.question, &r.answer, &r.solution, &r.source, &r.subject, &r.level, &r.qkey); err != nil {
			return nil, fmt.Errorf("recovery: read problems: %w", err)
		}
		out[r.order.id] = r
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("recovery: read problems: %w", err)
	}
	return out, nil
}

// firstMissing is the first stored problem (in stored order) that src does
// not have: src is read again into a temporary table of IDs (an error
// path only).
func firstMissing(ctx context.Context, tx *sql.Tx, src dataset.Source) (string, error) {
	if _, err := tx.ExecContext(ctx, `CREATE TEMP TABLE admitted_ids(id TEXT PRIMARY KEY)`); err != nil {
		return "", fmt.Errorf("recovery: compare problems: %w", err)
	}
	ins, err := tx.PrepareContext(ctx, `INSERT OR IGNORE INTO admitted_ids(id) VALUES(?)`)
	if err != nil {
		return "", fmt.Errorf("recovery: compare problems: %w", err)
	}
	defer ins.Close()
	err = src.Each(ctx, func(chunk []dataset.Problem) error {
		for _, p := range chunk {
			if _, err := ins.ExecContext(ctx, p.ID); err != nil {
				return fmt.Errorf("recovery: compare problems: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	var id string
	err = tx.QueryRowContext(ctx, `SELECT id FROM problems WHERE id NOT IN (SELECT id FROM admitted_ids) ORDER BY ord, id LIMIT 1`).Scan(&id)
	if err != nil {
		return "", fmt.Errorf("recovery: compare problems: %w", err)
	}
	return id, nil
}

// storedFingerprint is problemsFingerprint of the stored problems, read in
// ID order from the primary key (the order of the sorted problemKeys: an
// ID, then a NUL), so nothing is sorted or held.
func storedFingerprint(ctx context.Context, tx *sql.Tx) (string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, question, answer FROM problems ORDER BY id`)
	if err != nil {
		return "", fmt.Errorf("recovery: fingerprint problems: %w", err)
	}
	defer rows.Close()
	h := newKeyHash()
	for rows.Next() {
		var id, q, a string
		if err := rows.Scan(&id, &q, &a); err != nil {
			return "", fmt.Errorf("recovery: fingerprint problems: %w", err)
		}
		h.add(problemKey(id, q, a))
	}
	if err := rows.Err(); err != nil {
		return "", fmt.Errorf("recovery: fingerprint problems: %w", err)
	}
	return h.sum(), nil
}

// putProblemSQL inserts a problem or updates its own columns (keeping its
// calibration and bucket), writing nothing when they are unchanged.
const putProblemSQL = `INSERT INTO problems(id, ord, question, answer, solution, source, subject, level, qkey)
		VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT(id) DO UPDATE SET ord = excluded.ord, question = excluded.question, answer = excluded.answer,
			solution = excluded.solution, source = excluded.source, subject = excluded.subject, level = excluded.level,
			qkey = excluded.qkey
		WHERE ord != excluded.ord OR question != excluded.question OR answer != excluded.answer
			OR solution != excluded.solution OR source != excluded.source OR subject != excluded.subject
			OR level != excluded.level OR qkey != excluded.qkey`

// questionKeyArg is dataset.QuestionKey as the signed integer SQLite
// stores.
func questionKeyArg(q string) int64 { return int64(dataset.QuestionKey(q)) }

// migrateProblemKey adds problems.qkey (dataset.QuestionKey of the
// question; 0 in a run made before it, filled in by the next Run) and its
// index, so a problem can be found from a prompt (StoredProblems).
func migrateProblemKey(db *sql.DB) error {
	if err := addColumns(db, "problems", []struct{ name, decl string }{{"qkey", "INTEGER NOT NULL DEFAULT 0"}}); err != nil {
		return err
	}
	_, err := db.Exec(`CREATE INDEX IF NOT EXISTS problems_qkey ON problems(qkey)`)
	return err
}
