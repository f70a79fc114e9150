package recovery

import (
	"database/sql"
	"fmt"
	"strings"
)

// sampleExtraColumns are the samples columns added after the first schema,
// applied by migrateSampleExtras to new and old run databases alike.
var sampleExtraColumns = []struct{ name, decl string }{
	{"seed", "INTEGER"}, // NULL: no seed was sent
	{"upstream", "TEXT NOT NULL DEFAULT ''"},
	{"reasoning", "TEXT NOT NULL DEFAULT ''"},
	{"rule", "TEXT NOT NULL DEFAULT ''"},    // verify.Verdict.Rule
	{"batch", "INTEGER NOT NULL DEFAULT 0"}, // 1: Completion.Batch
}

// migrateSampleExtras adds the missing sampleExtraColumns to samples; it is
// idempotent, so an old run.db opens and resumes.
func migrateSampleExtras(db *sql.DB) error { return addColumns(db, "samples", sampleExtraColumns) }

// addColumns adds to table each of cols it lacks (an additive migration:
// idempotent, so run databases made before a column open and resume).
func addColumns(db *sql.DB, table string, cols []struct{ name, decl string }) error {
	rows, err := db.Query(`SELECT name FROM pragma_table_info(?)`, table)
	if err != nil {
		return err
	}
	have := map[string]bool{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return err
		}
		have[strings.ToLower(n)] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, c := range cols {
		if have[c.name] {
			continue
		}
		if _, err := db.Exec(`ALTER TABLE ` + table + ` ADD COLUMN ` + c.name + ` ` + c.decl); err != nil && !strings.Contains(err.Error(), "duplicate column") {
			return fmt.Errorf("add column %s.%s: %w", table, c.name, err)
		}
	}
	return nil
}
