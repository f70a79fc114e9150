package recovery

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"os"
	"path/filepath"
	"strconv"

	"github.com/rebound-lab/rebound/dataset"
)

// finishedKey is the store_state key recording a finished run: the work it
// covered, the store state it left and the report files it wrote.
const finishedKey = "finished"

// finished is the value under finishedKey.
type finished struct {
	Work  string `json:"work"`  // workFingerprint of the run's Config
	Store string `json:"store"` // exportStamp after the report
	Files string `json:"files"` // reportStamp after the report
}

// workFingerprint hashes what decides the work a Run does and the report
// it writes: the Config as recorded (models, samples, continuations,
// strategies, adaptive plan, …), every problem, the binner, and the
// defaults it was filled with. ok is false when the Config holds code whose
// effect cannot be fingerprinted (custom perturber factories), so no
// shortcut is taken.
//
// A Run that streamed its problems (admitProblems) computed it on the way
// and it is taken from there, so the problems are not read again.
func workFingerprint(cfg *Config) (fp string, ok bool) {
	if cfg.admitted.work != "" {
		return cfg.admitted.work, true
	}
	h, ok := workHasher(cfg)
	if !ok {
		return "", false
	}
	for _, p := range cfg.Problems {
		hashWork(h, p)
	}
	return hex.EncodeToString(h.Sum(nil)), true
}

// workHasher is workFingerprint's hash before the problems; ok is false
// when there is no fingerprint (see workFingerprint).
func workHasher(cfg *Config) (hash.Hash, bool) {
	if len(cfg.Perturbers) > 0 {
		return nil, false
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		return nil, false
	}
	h := sha256.New()
	h.Write(b)
	fmt.Fprintf(h, "\x00title=%q binner=%+v buckets=%q\x00", cfg.Title, *cfg.Binner, cfg.Binner.Buckets())
	return h, true
}

// hashWork adds one problem to a workHasher's hash.
func hashWork(h hash.Hash, p dataset.Problem) {
	for _, s := range []string{p.ID, p.Question, p.Answer, p.Solution, p.Source, p.Subject, strconv.Itoa(p.Level)} {
		h.Write([]byte(strconv.Itoa(len(s))))
		h.Write([]byte{':'})
		h.Write([]byte(s))
	}
}

// reportFiles are the files a finished run's shortcut relies on.
var reportFiles = []string{SummaryJSON, SummaryCSV, ReportMD, SamplesJSONL,
	TidyContinuationsCSV, TidyContinuationsParquet, TidyStraightShotsCSV, TidyStraightShotsParquet}

func reportStamp(dir string) (string, bool) {
	var out string
	for _, f := range reportFiles {
		fs, ok := fileStamp(filepath.Join(dir, f))
		if !ok {
			return "", false
		}
		out += f + fs + ";"
	}
	return out, true
}

// finishedSummary is the shortcut of a resume with nothing to do: if the
// run in st finished (markFinished) with the same work fingerprint, the
// store has not changed since (no write transaction changed a row, same
// row count) and the report files are the ones it wrote, it returns the
// summary.json it wrote, and Run returns it without reading the rows,
// re-running the stages' bookkeeping or rewriting anything. Every other
// case returns ok false and Run resumes the usual way.
func finishedSummary(ctx context.Context, st *Store, cfg *Config) (sum Summary, ok bool, err error) {
	work, ok := workFingerprint(cfg)
	if !ok {
		return Summary{}, false, nil
	}
	raw, have, err := st.state(ctx, finishedKey)
	if err != nil || !have {
		return Summary{}, false, err
	}
	var f finished
	if json.Unmarshal([]byte(raw), &f) != nil || f.Work != work {
		return Summary{}, false, nil
	}
	stamp, err := st.exportStamp(ctx)
	if err != nil {
		return Summary{}, false, err
	}
	files, ok := reportStamp(cfg.Dir)
	if stamp != f.Store || !ok || files != f.Files {
		return Summary{}, false, nil
	}
	b, err := os.ReadFile(filepath.Join(cfg.Dir, SummaryJSON))
	if err != nil {
		return Summary{}, false, nil
	}
	sum, err = ReadSummary(bytes.NewReader(b))
	if err != nil {
		return Summary{}, false, nil
	}
	return sum, true, nil
}

// markFinished records that the run finished with nothing left to retry:
// no sample or prefix row holds a per-item error (a rerun retries those,
// so such a run is never marked).
func markFinished(ctx context.Context, st *Store, cfg *Config) error {
	work, ok := workFingerprint(cfg)
	if !ok {
		return nil
	}
	if err := st.Flush(ctx); err != nil {
		return err
	}
	var failed int
	err := st.db.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM samples WHERE error != '')
		+ (SELECT COUNT(*) FROM prefixes WHERE error != '')`).Scan(&failed)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("recovery: count failed rows: %w", err)
	}
	if failed > 0 {
		return nil
	}
	stamp, err := st.exportStamp(ctx)
	if err != nil {
		return err
	}
	files, ok := reportStamp(cfg.Dir)
	if !ok {
		return nil
	}
	b, err := json.Marshal(finished{Work: work, Store: stamp, Files: files})
	if err != nil {
		return err
	}
	// Around the writer, like recordSamplesExport: the mark is not a
	// change of the run's rows.
	if _, err := st.db.ExecContext(ctx, `INSERT INTO store_state(key, value) VALUES(?, ?)
		ON CONFLICT(key) DO UPDATE SET value = excluded.value`, finishedKey, string(b)); err != nil {
		return fmt.Errorf("recovery: record %s: %w", finishedKey, err)
	}
	return nil
}
