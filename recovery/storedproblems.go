package recovery

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/rebound-lab/rebound/dataset"
)

// StoredProblems finds the problems stored in a run directory's run.db by
// question key (dataset.QuestionKey, an index Run keeps) or by ID, without
// holding any: it is a providers/sim Finder, so a simulator can answer a
// run of a million problems in the memory a thousand need
// (sim.NewFinder(cfg, recovery.NewStoredProblems(dir))). The database is
// opened read-only on first use, so a StoredProblems may be made before
// Run creates it; Run stores every problem before its first call. It is
// safe for concurrent use.
type StoredProblems struct {
	dir string

	mu          sync.Mutex
	db          *sql.DB
	byKey, byID *sql.Stmt
	byKeys      map[int]*sql.Stmt // ByQuestions' statements by number of keys
	closed      bool
}

// maxKeysPerQuery is the most question keys one ByQuestions query asks
// about; more take several.
const maxKeysPerQuery = 8

// NewStoredProblems returns a StoredProblems for the run directory dir.
func NewStoredProblems(dir string) *StoredProblems { return &StoredProblems{dir: dir} }

const storedProblemCols = `id, question, answer, solution, source, subject, level`

func (sp *StoredProblems) open() (byKey, byID *sql.Stmt, err error) {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.closed {
		return nil, nil, errors.New("recovery: StoredProblems is closed")
	}
	if sp.db != nil {
		return sp.byKey, sp.byID, nil
	}
	path := filepath.Join(sp.dir, StoreFile)
	if _, err := os.Stat(path); err != nil {
		return nil, nil, fmt.Errorf("recovery: stored problems: %w (the run stores them before its first call)", err)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(30000)")
	if err != nil {
		return nil, nil, fmt.Errorf("recovery: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(4)
	db.SetMaxIdleConns(4) // keep them: a new connection re-reads the schema and re-prepares every statement
	if sp.byKey, err = db.Prepare(`SELECT ` + storedProblemCols + ` FROM problems WHERE qkey = ?`); err == nil {
		sp.byID, err = db.Prepare(`SELECT ` + storedProblemCols + ` FROM problems WHERE id = ?`)
	}
	if err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("recovery: read problems from %s: %w", path, err)
	}
	sp.db = db
	return sp.byKey, sp.byID, nil
}

func scanStoredProblem(sc interface{ Scan(...any) error }) (dataset.Problem, error) {
	var p dataset.Problem
	err := sc.Scan(&p.ID, &p.Question, &p.Answer, &p.Solution, &p.Source, &p.Subject, &p.Level)
	return p, err
}

// ByQuestion returns the stored problems whose trimmed question has the
// dataset.QuestionKey key.
func (sp *StoredProblems) ByQuestion(ctx context.Context, key uint64) ([]dataset.Problem, error) {
	byKey, _, err := sp.open()
	if err != nil {
		return nil, err
	}
	rows, err := byKey.QueryContext(ctx, int64(key))
	if err != nil {
		return nil, fmt.Errorf("recovery: read problems: %w", err)
	}
	defer rows.Close()
	var out []dataset.Problem
	for rows.Next() {
		p, err := scanStoredProblem(rows)
		if err != nil {
			return nil, fmt.Errorf("recovery: read problems: %w", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("recovery: read problems: %w", err)
	}
	return out, nil
}

// ByQuestions returns, for each of keys, what ByQuestion returns for it,
// in one query for up to eight keys (a simulated prompt's candidate
// questions). It makes StoredProblems a sim.BatchFinder.
func (sp *StoredProblems) ByQuestions(ctx context.Context, keys []uint64) ([][]dataset.Problem, error) {
	out := make([][]dataset.Problem, len(keys))
	for lo := 0; lo < len(keys); lo += maxKeysPerQuery {
		chunk := keys[lo:min(lo+maxKeysPerQuery, len(keys))]
		st, err := sp.byKeysStmt(len(chunk))
		if err != nil {
			return nil, err
		}
		args := make([]any, len(chunk))
		for i, k := range chunk {
			args[i] = int64(k)
		}
		rows, err := st.QueryContext(ctx, args...)
		if err != nil {
			return nil, fmt.Errorf("recovery: read problems: %w", err)
		}
		for rows.Next() {
			var key int64
			var p dataset.Problem
			if err := rows.Scan(&key, &p.ID, &p.Question, &p.Answer, &p.Solution, &p.Source, &p.Subject, &p.Level); err != nil {
				rows.Close()
				return nil, fmt.Errorf("recovery: read problems: %w", err)
			}
			for i, k := range chunk {
				if int64(k) == key {
					out[lo+i] = append(out[lo+i], p)
				}
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("recovery: read problems: %w", err)
		}
	}
	return out, nil
}

// byKeysStmt is the prepared query for n question keys.
func (sp *StoredProblems) byKeysStmt(n int) (*sql.Stmt, error) {
	if _, _, err := sp.open(); err != nil {
		return nil, err
	}
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.closed {
		return nil, errors.New("recovery: StoredProblems is closed")
	}
	if st, ok := sp.byKeys[n]; ok {
		return st, nil
	}
	st, err := sp.db.Prepare(`SELECT qkey, ` + storedProblemCols + ` FROM problems WHERE qkey IN (?` +
		strings.Repeat(", ?", n-1) + `)`)
	if err != nil {
		return nil, fmt.Errorf("recovery: read problems: %w", err)
	}
	if sp.byKeys == nil {
		sp.byKeys = map[int]*sql.Stmt{}
	}
	sp.byKeys[n] = st
	return st, nil
}

// ByID returns the stored problem with the ID.
func (sp *StoredProblems) ByID(ctx context.Context, id string) (dataset.Problem, bool, error) {
	_, byID, err := sp.open()
	if err != nil {
		return dataset.Problem{}, false, err
	}
	p, err := scanStoredProblem(byID.QueryRowContext(ctx, id))
	if errors.Is(err, sql.ErrNoRows) {
		return dataset.Problem{}, false, nil
	}
	if err != nil {
		return dataset.Problem{}, false, fmt.Errorf("recovery: read problem %q: %w", id, err)
	}
	return p, true, nil
}

// Close closes the database, if it was opened.
func (sp *StoredProblems) Close() error {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	sp.closed = true
	if sp.db == nil {
		return nil
	}
	sp.byKey.Close()
	sp.byID.Close()
	for _, st := range sp.byKeys {
		st.Close()
	}
	return sp.db.Close()
}
