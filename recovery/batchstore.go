package recovery

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/rebound-lab/rebound/providers"
)

// batchSchema holds the batch journal: one row per batch submitted to a
// provider's batch API and one per request line in it. It is created on
// first use, so run directories without batches never carry it.
const batchSchema = `
CREATE TABLE IF NOT EXISTS batches (
	token      TEXT PRIMARY KEY,
	scope      TEXT NOT NULL,
	batch_id   TEXT NOT NULL DEFAULT '',
	state      TEXT NOT NULL DEFAULT 'open',
	lines      INTEGER NOT NULL DEFAULT 0,
	created_at TEXT NOT NULL,
	ended_at   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS batches_open ON batches(scope, state);
CREATE TABLE IF NOT EXISTS batch_lines (
	token       TEXT NOT NULL,
	custom_id   TEXT NOT NULL,
	request_key TEXT NOT NULL,
	request     TEXT NOT NULL DEFAULT '',
	state       TEXT NOT NULL DEFAULT 'submitted',
	cost_usd    REAL NOT NULL DEFAULT 0,
	PRIMARY KEY (token, custom_id)
);
`

// BatchJournal is the run database's providers.BatchJournal: batches and
// their custom_id → request-key maps live in run.db's batches and
// batch_lines tables, so a killed run re-attaches to its open batches.
type BatchJournal struct{ db *sql.DB }

var _ providers.BatchJournal = (*BatchJournal)(nil)

// BatchJournal returns the store's batch journal, creating its tables if
// needed.
func (s *Store) BatchJournal(ctx context.Context) (*BatchJournal, error) {
	if _, err := s.db.ExecContext(ctx, batchSchema); err != nil {
		return nil, fmt.Errorf("recovery: create batch journal in %s: %w", s.path, err)
	}
	return &BatchJournal{db: s.db}, nil
}

// BeginBatch records rec and its lines as open, in one transaction, before
// the batch is submitted.
func (j *BatchJournal) BeginBatch(ctx context.Context, rec providers.BatchRecord) error {
	tx, err := j.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("recovery: journal batch %s: %w", rec.Token, err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO batches(token, scope, batch_id, lines, created_at) VALUES (?, ?, ?, ?, ?)`,
		rec.Token, rec.Scope, rec.ID, len(rec.Lines), rec.Created.UTC().Format(time.RFC3339Nano)); err != nil {
		return fmt.Errorf("recovery: journal batch %s: %w", rec.Token, err)
	}
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO batch_lines(token, custom_id, request_key, request) VALUES (?, ?, ?, ?)`)
	if err != nil {
		return fmt.Errorf("recovery: journal batch %s: %w", rec.Token, err)
	}
	defer stmt.Close()
	for _, l := range rec.Lines {
		req, err := json.Marshal(l.Request)
		if err != nil {
			return fmt.Errorf("recovery: journal batch %s line %s: %w", rec.Token, l.CustomID, err)
		}
		if _, err := stmt.ExecContext(ctx, rec.Token, l.CustomID, l.Key, string(req)); err != nil {
			return fmt.Errorf("recovery: journal batch %s line %s: %w", rec.Token, l.CustomID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("recovery: journal batch %s: %w", rec.Token, err)
	}
	return nil
}

// SetBatchID records the provider's ID of the batch journaled as token.
func (j *BatchJournal) SetBatchID(ctx context.Context, token, id string) error {
	res, err := j.db.ExecContext(ctx, `UPDATE batches SET batch_id = ? WHERE token = ?`, id, token)
	if err != nil {
		return fmt.Errorf("recovery: journal batch %s id %s: %w", token, id, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("recovery: journal: no batch %s", token)
	}
	return nil
}

// FinishBatch closes the batch with state and records each line's outcome.
func (j *BatchJournal) FinishBatch(ctx context.Context, token, state string, lines []providers.BatchOutcome) error {
	tx, err := j.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("recovery: finish batch %s: %w", token, err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `UPDATE batches SET state = ?, ended_at = ? WHERE token = ?`,
		state, time.Now().UTC().Format(time.RFC3339Nano), token); err != nil {
		return fmt.Errorf("recovery: finish batch %s: %w", token, err)
	}
	for _, l := range lines {
		if _, err := tx.ExecContext(ctx, `UPDATE batch_lines SET state = ?, cost_usd = ? WHERE token = ? AND custom_id = ?`,
			l.State, l.CostUSD, token, l.CustomID); err != nil {
			return fmt.Errorf("recovery: finish batch %s line %s: %w", token, l.CustomID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("recovery: finish batch %s: %w", token, err)
	}
	return nil
}

// OpenBatches returns scope's open batches with their lines, oldest first.
func (j *BatchJournal) OpenBatches(ctx context.Context, scope string) ([]providers.BatchRecord, error) {
	rows, err := j.db.QueryContext(ctx, `SELECT token, batch_id, created_at FROM batches WHERE scope = ? AND state = 'open' ORDER BY created_at, token`, scope)
	if err != nil {
		return nil, fmt.Errorf("recovery: open batches: %w", err)
	}
	var out []providers.BatchRecord
	for rows.Next() {
		var r providers.BatchRecord
		var created string
		if err := rows.Scan(&r.Token, &r.ID, &created); err != nil {
			rows.Close()
			return nil, fmt.Errorf("recovery: open batches: %w", err)
		}
		r.Scope = scope
		r.Created, _ = time.Parse(time.RFC3339Nano, created)
		out = append(out, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("recovery: open batches: %w", err)
	}
	for i := range out {
		lr, err := j.db.QueryContext(ctx, `SELECT custom_id, request_key, request FROM batch_lines WHERE token = ? ORDER BY custom_id`, out[i].Token)
		if err != nil {
			return nil, fmt.Errorf("recovery: open batch %s: %w", out[i].Token, err)
		}
		for lr.Next() {
			var l providers.BatchLineRecord
			var req string
			if err := lr.Scan(&l.CustomID, &l.Key, &req); err != nil {
				lr.Close()
				return nil, fmt.Errorf("recovery: open batch %s: %w", out[i].Token, err)
			}
			if err := json.Unmarshal([]byte(req), &l.Request); err != nil {
				lr.Close()
				return nil, fmt.Errorf("recovery: open batch %s line %s: request: %w", out[i].Token, l.CustomID, err)
			}
			out[i].Lines = append(out[i].Lines, l)
		}
		lr.Close()
		if err := lr.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// BatchUse is how a run's paid calls split between batch and live calls.
type BatchUse struct {
	// Batches counts batches journaled; Open those not finished.
	Batches int `json:"batches"`
	Open    int `json:"open"`
	// Lines counts request lines sent in batches (a retried request counts
	// once per batch); Succeeded, Retried and Errored their outcomes.
	Lines     int `json:"lines"`
	Succeeded int `json:"succeeded"`
	Retried   int `json:"retried"`
	Errored   int `json:"errored"`
	// BatchUSD is what the succeeded lines cost at batch prices.
	BatchUSD float64 `json:"batch_usd"`
}

// BatchUse reads the batch journal's totals; the zero BatchUse when the
// run used no batches.
func (s *Store) BatchUse(ctx context.Context) (BatchUse, error) {
	var u BatchUse
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'batches'`).Scan(&n); err != nil || n == 0 {
		return u, err
	}
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(state = 'open'), 0) FROM batches`).Scan(&u.Batches, &u.Open); err != nil {
		return u, fmt.Errorf("recovery: batch use: %w", err)
	}
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(state = 'succeeded'), 0), COALESCE(SUM(state = 'retried'), 0),
		COALESCE(SUM(state = 'errored'), 0), COALESCE(SUM(CASE WHEN state = 'succeeded' THEN cost_usd END), 0) FROM batch_lines`).
		Scan(&u.Lines, &u.Succeeded, &u.Retried, &u.Errored, &u.BatchUSD); err != nil {
		return u, fmt.Errorf("recovery: batch use: %w", err)
	}
	return u, nil
}
