package recovery

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
)

// samplesExportKey is the store_state key recording which state of the
// store samples.jsonl was exported from.
const samplesExportKey = "samples_jsonl"

// exportStamp names the store's state: the count of write transactions
// that changed a row (writeGenKey, bumped by the writer) and the number of
// sample rows (which also catches rows written around the writer).
func (s *Store) exportStamp(ctx context.Context) (string, error) {
	if err := s.Flush(ctx); err != nil {
		return "", err
	}
	var gen string
	err := s.db.QueryRowContext(ctx, `SELECT value FROM store_state WHERE key = ?`, writeGenKey).Scan(&gen)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("recovery: read %s: %w", writeGenKey, err)
	}
	var n int64
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM samples`).Scan(&n); err != nil {
		return "", fmt.Errorf("recovery: count samples: %w", err)
	}
	return fmt.Sprintf("gen=%s rows=%d", gen, n), nil
}

func fileStamp(path string) (string, bool) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", false
	}
	return fmt.Sprintf(" size=%d mtime=%d", fi.Size(), fi.ModTime().UnixNano()), true
}

// samplesExportCurrent reports whether the file at path is the export of
// the store as it is now: written by recordSamplesExport from the same
// store state, and not touched since. stamp is the state to record after a
// new export.
func (s *Store) samplesExportCurrent(ctx context.Context, path string) (stamp string, current bool, err error) {
	if stamp, err = s.exportStamp(ctx); err != nil {
		return "", false, err
	}
	fs, ok := fileStamp(path)
	if !ok {
		return stamp, false, nil
	}
	var prev string
	err = s.db.QueryRowContext(ctx, `SELECT value FROM store_state WHERE key = ?`, samplesExportKey).Scan(&prev)
	if errors.Is(err, sql.ErrNoRows) {
		return stamp, false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("recovery: read %s: %w", samplesExportKey, err)
	}
	return stamp, prev == stamp+fs, nil
}

// recordSamplesExport records that path was exported from store state
// stamp. It writes around the writer, so recording it does not itself
// count as a change.
func (s *Store) recordSamplesExport(ctx context.Context, path, stamp string) error {
	fs, ok := fileStamp(path)
	if !ok {
		return nil
	}
	if _, err := s.db.ExecContext(ctx, `INSERT INTO store_state(key, value) VALUES(?, ?)
		ON CONFLICT(key) DO UPDATE SET value = excluded.value`, samplesExportKey, stamp+fs); err != nil {
		return fmt.Errorf("recovery: record %s: %w", samplesExportKey, err)
	}
	return nil
}

// state returns a store_state value and whether it is set.
func (s *Store) state(ctx context.Context, key string) (string, bool, error) {
	if err := s.Flush(ctx); err != nil {
		return "", false, err
	}
	var v string
	err := s.db.QueryRowContext(ctx, `SELECT value FROM store_state WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("recovery: read store state %q: %w", key, err)
	}
	return v, true, nil
}
