package recovery

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"
)

// SearchMinRunes is the shortest text SearchProblems looks up in its
// index (the trigram tokenizer's unit); shorter texts report ok false.
const SearchMinRunes = 3

// searchSchema is the problem search index: an FTS5 table with the
// trigram tokenizer (substring matches, case-insensitive), a copy of each
// problem's id, question and answer under the problem row's rowid, kept
// current by triggers on problems. It is created by the first search.
const searchSchema = `
CREATE VIRTUAL TABLE IF NOT EXISTS problems_search USING fts5(id, question, answer, tokenize = 'trigram case_sensitive 0');
CREATE TRIGGER IF NOT EXISTS problems_search_insert AFTER INSERT ON problems BEGIN
	INSERT INTO problems_search(rowid, id, question, answer) VALUES (new.rowid, new.id, new.question, new.answer);
END;
CREATE TRIGGER IF NOT EXISTS problems_search_update AFTER UPDATE OF id, question, answer ON problems BEGIN
	DELETE FROM problems_search WHERE rowid = old.rowid;
	INSERT INTO problems_search(rowid, id, question, answer) VALUES (new.rowid, new.id, new.question, new.answer);
END;
CREATE TRIGGER IF NOT EXISTS problems_search_delete AFTER DELETE ON problems BEGIN
	DELETE FROM problems_search WHERE rowid = old.rowid;
END;`

// SearchProblems returns the ids of the problems whose id, question or
// answer contains text (case-insensitively), from an FTS5 trigram index
// instead of a scan of every problem. ok is false when text is shorter
// than SearchMinRunes (an index of trigrams cannot answer it; scan
// instead). The first call builds the index (once per run database; it
// then follows every change to problems); the viewer's search uses it. Its
// case folding is SQLite's (ASCII and the Unicode case pairs), so a caller
// wanting strings.EqualFold's exact semantics checks the returned
// candidates again.
func (s *Store) SearchProblems(ctx context.Context, text string) (ids map[string]struct{}, ok bool, err error) {
	if utf8.RuneCountInString(text) < SearchMinRunes {
		return nil, false, nil
	}
	if err := s.ensureSearch(ctx); err != nil {
		return nil, false, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT id FROM problems_search WHERE problems_search MATCH ?`,
		`"`+strings.ReplaceAll(text, `"`, `""`)+`"`)
	if err != nil {
		return nil, false, fmt.Errorf("recovery: search problems in %s: %w", s.path, err)
	}
	defer rows.Close()
	ids = map[string]struct{}{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, false, fmt.Errorf("recovery: search problems in %s: %w", s.path, err)
		}
		ids[id] = struct{}{}
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("recovery: search problems in %s: %w", s.path, err)
	}
	return ids, true, nil
}

// ensureSearch creates and fills the search index once.
func (s *Store) ensureSearch(ctx context.Context) error {
	s.searchMu.Lock()
	defer s.searchMu.Unlock()
	if s.searchReady {
		return nil
	}
	if err := s.Flush(ctx); err != nil {
		return err
	}
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_schema WHERE name = 'problems_search_delete'`).Scan(&n); err != nil {
		return fmt.Errorf("recovery: search index in %s: %w", s.path, err)
	}
	if n == 0 {
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("recovery: build the search index in %s: %w", s.path, err)
		}
		defer tx.Rollback()
		if _, err := tx.ExecContext(ctx, searchSchema); err != nil {
			return fmt.Errorf("recovery: build the search index in %s: %w", s.path, err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM problems_search;
			INSERT INTO problems_search(rowid, id, question, answer) SELECT rowid, id, question, answer FROM problems`); err != nil {
			return fmt.Errorf("recovery: build the search index in %s: %w", s.path, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("recovery: build the search index in %s: %w", s.path, err)
		}
	}
	s.searchReady = true
	return nil
}
