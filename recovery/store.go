package recovery

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rebound-lab/rebound/behaviour"
	"github.com/rebound-lab/rebound/dataset"

	_ "modernc.org/sqlite" // the pure-Go SQLite driver
)

// StoreFile is the name of the SQLite database inside a run directory.
const StoreFile = "run.db"

// Stage names used as Sample.Stage in the store.
const (
	StageStrong   = "strong"   // straight-shot samples of the strong model
	StageWeak     = "weak"     // straight-shot samples of the weak model
	StageContinue = "continue" // the strong model continuing a prefix
	StagePerturb  = "perturb"  // calls made while building prefixes (Sample = call number)
)

// Store is a run's SQLite database: run config, problems, every sample and
// continuation, and every prefix, written as results arrive. Writes are
// idempotent upserts keyed by (stage, problem, prefix, sample), so a rerun
// that writes the same rows again leaves one copy of each.
//
// A Store is safe for concurrent use. Open it with OpenStore and Close it
// when done; the zero value is not usable.
type Store struct {
	db   *sql.DB
	dir  string
	path string
	// ownCache is set by SQLiteCache: the completion cache lives in this
	// database, so every entry in it was paid for by this run directory.
	ownCache atomic.Bool
	// w is the single writer every write goes through (see writer.go).
	w *writer
	// qc is the completion cache SQLiteCache queues through w, shared by
	// every model's chain so a queued entry is seen by all of them.
	qc atomic.Pointer[queuedCache]
	// leanFormat: how request keys and prompts are stored (store_lean.go);
	// prompts the prompt rows this Store has queued; putSQL and claimSQL
	// PutSample's two statements in that format.
	leanFormat
	prompts          promptsSeen
	putSQL, claimSQL string
	// searchReady: the problem search index exists (search.go).
	searchMu    sync.Mutex
	searchReady bool
}

// Problem is a problem row: the problem itself and its calibration.
type Problem struct {
	ID       string `json:"id"`
	Question string `json:"question"`
	Answer   string `json:"answer"`
	Solution string `json:"solution,omitempty"`
	Source   string `json:"source,omitempty"`
	Subject  string `json:"subject,omitempty"`
	Level    int    `json:"level,omitempty"`
	// StrongK of StrongN straight-shot strong samples were correct; likewise
	// for the weak model. Zero N means not calibrated yet.
	StrongK int `json:"strong_k"`
	StrongN int `json:"strong_n"`
	WeakK   int `json:"weak_k"`
	WeakN   int `json:"weak_n"`
	// Bucket is the assigned difficulty bucket ("" before binning);
	// Membership the fuzzy membership in every bucket.
	Bucket     string             `json:"bucket,omitempty"`
	Membership map[string]float64 `json:"membership,omitempty"`
}

// StrongRate is StrongK/StrongN, or 0 when N is 0.
func (p Problem) StrongRate() float64 { return ratio(p.StrongK, p.StrongN) }

// WeakRate is WeakK/WeakN, or 0 when N is 0.
func (p Problem) WeakRate() float64 { return ratio(p.WeakK, p.WeakN) }

// Dataset returns the dataset.Problem the row was made from.
func (p Problem) Dataset() dataset.Problem {
	return dataset.Problem{ID: p.ID, Question: p.Question, Answer: p.Answer, Solution: p.Solution,
		Source: p.Source, Subject: p.Subject, Level: p.Level}
}

func ratio(k, n int) float64 {
	if n == 0 {
		return 0
	}
	return float64(k) / float64(n)
}

// Sample is one completion and its verdict: a straight-shot sample (Stage
// StageStrong or StageWeak, Prefix ""), a continuation (Stage
// StageContinue, Prefix the strategy whose prefix was continued), or a call
// a perturber made (Stage StagePerturb, Prefix the strategy, Sample the call
// number within the problem, no verdict).
type Sample struct {
	Stage     string `json:"stage"`
	ProblemID string `json:"problem_id"`
	// Prefix is the strategy of the continued prefix; "" for straight shots.
	Prefix string `json:"prefix,omitempty"`
	// Sample is Request.Sample.
	Sample int `json:"sample"`
	// Model is the spec the stage was configured with; Provider and
	// ServedModel what the completion reported.
	Model       string `json:"model"`
	Provider    string `json:"provider,omitempty"`
	ServedModel string `json:"served_model,omitempty"`
	// Request is the providers.Request as JSON (no secrets: requests carry
	// none).
	Request string `json:"request"`
	// Response is Completion.Text: for a continuation, the continuation only.
	Response     string `json:"response"`
	FinishReason string `json:"finish_reason,omitempty"`
	// Correct, Answer and Reason come from the verifier (for a continuation,
	// run on prefix + continuation).
	Correct bool   `json:"correct"`
	Answer  string `json:"answer"`
	Reason  string `json:"reason,omitempty"`
	// Restarted flags a continuation that ignored its prefix and started
	// over; RestartReason says why it was judged so.
	Restarted     bool    `json:"restarted,omitempty"`
	RestartReason string  `json:"restart_reason,omitempty"`
	InputTokens   int     `json:"input_tokens"`
	OutputTokens  int     `json:"output_tokens"`
	CostUSD       float64 `json:"cost_usd"`
	PrefillMethod string  `json:"prefill_method,omitempty"`
	LatencyMS     float64 `json:"latency_ms"`
	Cached        bool    `json:"cached"`
	// SavedUSD is, for a cached row, what the original paid call cost.
	SavedUSD float64 `json:"saved_usd,omitempty"`
	// Error is the per-item failure, if the call or verification failed;
	// such rows are retried by a rerun.
	Error string    `json:"error,omitempty"`
	At    time.Time `json:"at"`
	// Seed is the Request.Seed sent (a per-sample seed derived with
	// providers.SampleSeed), nil when none was sent.
	Seed *int64 `json:"seed,omitempty"`
	// Upstream is Completion.Upstream: the host a router says served the
	// call.
	Upstream string `json:"upstream,omitempty"`
	// Reasoning is Completion.Reasoning: the reasoning text the API
	// returned apart from Response (never part of it, never verified).
	Reasoning string `json:"reasoning,omitempty"`
	// Rule is verify.Verdict.Rule: the extraction rule that found Answer
	// (verify.SourceBoxed, verify.SourceNumber, …); "" when unverified.
	Rule string `json:"rule,omitempty"`
	// Batch is Completion.Batch: the completion came through a provider's
	// batch API (a cached one: was bought that way).
	Batch bool `json:"batch,omitempty"`

	// behaviour is samples.behaviour (the continuation's behaviour label,
	// see PutBehaviour), read for the tidy export; not in samples.jsonl.
	behaviour string
	// label, if set, is written with the row (Continue labels each
	// continuation as it is verified); PutSample without one writes an
	// unlabelled row, which LabelBehaviours labels later.
	label *behaviour.Result
}

// Prefix is a prefix row: the prefix built for one problem by one strategy,
// or the reason it was set aside.
type Prefix struct {
	ProblemID string `json:"problem_id"`
	Strategy  string `json:"strategy"`
	// SetAside names why no prefix was built ("too_easy", "no_trace",
	// "out_of_band", "too_short"); "" when Text holds a prefix.
	SetAside string `json:"set_aside,omitempty"`
	// Error is a per-item failure other than a set-aside outcome; such rows
	// are retried by a rerun.
	Error      string            `json:"error,omitempty"`
	Text       string            `json:"text,omitempty"`
	Source     string            `json:"source,omitempty"`
	StepsKept  int               `json:"steps_kept"`
	StepsTotal int               `json:"steps_total"`
	Depth      float64           `json:"depth"`
	Origin     string            `json:"origin,omitempty"`
	ErrorStep  int               `json:"error_step,omitempty"`
	Meta       map[string]string `json:"meta,omitempty"`
	// Calls made while building the prefix, with their tokens and cost.
	Calls        int       `json:"calls"`
	CachedCalls  int       `json:"cached_calls"`
	InputTokens  int       `json:"input_tokens"`
	OutputTokens int       `json:"output_tokens"`
	CostUSD      float64   `json:"cost_usd"`
	At           time.Time `json:"at"`
}

const schema = `
CREATE TABLE IF NOT EXISTS run_config (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS problems (
	id         TEXT PRIMARY KEY,
	ord        INTEGER NOT NULL,
	question   TEXT NOT NULL,
	answer     TEXT NOT NULL,
	solution   TEXT NOT NULL DEFAULT '',
	source     TEXT NOT NULL DEFAULT '',
	subject    TEXT NOT NULL DEFAULT '',
	level      INTEGER NOT NULL DEFAULT 0,
	strong_k   INTEGER NOT NULL DEFAULT 0,
	strong_n   INTEGER NOT NULL DEFAULT 0,
	weak_k     INTEGER NOT NULL DEFAULT 0,
	weak_n     INTEGER NOT NULL DEFAULT 0,
	bucket     TEXT NOT NULL DEFAULT '',
	membership TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS samples (
	stage          TEXT NOT NULL,
	problem_id     TEXT NOT NULL,
	prefix         TEXT NOT NULL DEFAULT '',
	sample         INTEGER NOT NULL,
	model          TEXT NOT NULL DEFAULT '',
	provider       TEXT NOT NULL DEFAULT '',
	served_model   TEXT NOT NULL DEFAULT '',
	request        TEXT NOT NULL DEFAULT '',
	response       TEXT NOT NULL DEFAULT '',
	finish_reason  TEXT NOT NULL DEFAULT '',
	correct        INTEGER NOT NULL DEFAULT 0,
	answer         TEXT NOT NULL DEFAULT '',
	reason         TEXT NOT NULL DEFAULT '',
	restarted      INTEGER NOT NULL DEFAULT 0,
	restart_reason TEXT NOT NULL DEFAULT '',
	input_tokens   INTEGER NOT NULL DEFAULT 0,
	output_tokens  INTEGER NOT NULL DEFAULT 0,
	cost_usd       REAL NOT NULL DEFAULT 0,
	prefill_method TEXT NOT NULL DEFAULT '',
	latency_ms     REAL NOT NULL DEFAULT 0,
	cached         INTEGER NOT NULL DEFAULT 0,
	error          TEXT NOT NULL DEFAULT '',
	at             TEXT NOT NULL DEFAULT '',
	request_key    TEXT NOT NULL DEFAULT '',
	saved_usd      REAL NOT NULL DEFAULT 0,
	PRIMARY KEY (stage, problem_id, prefix, sample)
);
CREATE VIEW IF NOT EXISTS continuations AS SELECT * FROM samples WHERE stage = 'continue';
CREATE TABLE IF NOT EXISTS prefixes (
	problem_id    TEXT NOT NULL,
	strategy      TEXT NOT NULL,
	set_aside     TEXT NOT NULL DEFAULT '',
	error         TEXT NOT NULL DEFAULT '',
	text          TEXT NOT NULL DEFAULT '',
	source        TEXT NOT NULL DEFAULT '',
	steps_kept    INTEGER NOT NULL DEFAULT 0,
	steps_total   INTEGER NOT NULL DEFAULT 0,
	depth         REAL NOT NULL DEFAULT 0,
	origin        TEXT NOT NULL DEFAULT '',
	error_step    INTEGER NOT NULL DEFAULT 0,
	meta          TEXT NOT NULL DEFAULT '',
	calls         INTEGER NOT NULL DEFAULT 0,
	cached_calls  INTEGER NOT NULL DEFAULT 0,
	input_tokens  INTEGER NOT NULL DEFAULT 0,
	output_tokens INTEGER NOT NULL DEFAULT 0,
	cost_usd      REAL NOT NULL DEFAULT 0,
	at            TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (problem_id, strategy)
);
`

// OpenStore opens (creating if needed) the run database dir/run.db, creating
// dir too. The database uses WAL journaling and a busy timeout so concurrent
// writers wait rather than fail.
func OpenStore(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("recovery: run directory %s: %w", dir, err)
	}
	path := filepath.Join(dir, StoreFile)
	dsn := "file:" + path + "?_busy_timeout=30000&_journal_mode=WAL&_synchronous=NORMAL&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("recovery: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(4)
	db.SetMaxIdleConns(4) // keep them: a new connection re-reads the schema and re-prepares every statement
	if _, err := db.Exec(schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("recovery: create schema in %s: %w", path, err)
	}
	if err := migrateSampleExtras(db); err != nil {
		db.Close()
		return nil, fmt.Errorf("recovery: migrate %s: %w", path, err)
	}
	if err := migrateBehaviour(db); err != nil {
		db.Close()
		return nil, fmt.Errorf("recovery: migrate %s: %w", path, err)
	}
	if _, err := db.Exec(flagsSchema); err != nil { // health flags (health.go)
		db.Close()
		return nil, fmt.Errorf("recovery: create schema in %s: %w", path, err)
	}
	if err := migrateProblemKey(db); err != nil { // source.go
		db.Close()
		return nil, fmt.Errorf("recovery: migrate %s: %w", path, err)
	}
	w := newWriter(db)
	format, err := migrateLean(db)
	if err != nil {
		w.Close()
		db.Close()
		return nil, fmt.Errorf("recovery: migrate %s: %w", path, err)
	}
	put, claim := putSampleSQL(format), claimSampleSQL(format)
	return &Store{db: db, dir: dir, path: path, w: w, leanFormat: format, putSQL: put, claimSQL: claim}, nil
}

// DB returns the underlying database, e.g. to share it with
// providers/sqlitecache so the completion cache lives in the same file.
func (s *Store) DB() *sql.DB { return s.db }

// Dir is the run directory.
func (s *Store) Dir() string { return s.dir }

// Path is the database file's path.
func (s *Store) Path() string { return s.path }

// Close closes the database.
func (s *Store) Close() error { return errors.Join(s.w.Close(), s.db.Close()) }

// SetConfig records a run-config value (e.g. "config" → the run's Config as
// JSON), replacing an earlier one.
func (s *Store) SetConfig(ctx context.Context, key, value string) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO run_config(key, value) VALUES(?, ?)
		ON CONFLICT(key) DO UPDATE SET value = excluded.value WHERE value != excluded.value`, key, value)
	if err != nil {
		return fmt.Errorf("recovery: store config %q: %w", key, err)
	}
	return nil
}

// Config returns a run-config value and whether it was set.
func (s *Store) Config(ctx context.Context, key string) (string, bool, error) {
	if err := s.Flush(ctx); err != nil {
		return "", false, err
	}
	var v string
	err := s.db.QueryRowContext(ctx, `SELECT value FROM run_config WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("recovery: read config %q: %w", key, err)
	}
	return v, true, nil
}

// PutProblems inserts problems in order, keeping the calibration and bucket
// of any already stored.
func (s *Store) PutProblems(ctx context.Context, problems []dataset.Problem) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("recovery: store problems: %w", err)
	}
	defer tx.Rollback()
	// Problems written here were not admitted from a stamped source
	// (source.go): the next Run reads its source again.
	if _, err := tx.ExecContext(ctx, `DELETE FROM store_state WHERE key = ?`, sourceStampKey); err != nil {
		return fmt.Errorf("recovery: store problems: %w", err)
	}
	stmt, err := tx.PrepareContext(ctx, putProblemSQL)
	if err != nil {
		return fmt.Errorf("recovery: store problems: %w", err)
	}
	defer stmt.Close()
	for i, p := range problems {
		if _, err := stmt.ExecContext(ctx, p.ID, i, p.Question, p.Answer, p.Solution, p.Source, p.Subject, p.Level, questionKeyArg(p.Question)); err != nil {
			return fmt.Errorf("recovery: store problem %q: %w", p.ID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("recovery: store problems: %w", err)
	}
	return nil
}

// PutCalibration records a problem's straight-shot counts for stage
// StageStrong or StageWeak.
func (s *Store) PutCalibration(ctx context.Context, problemID, stage string, k, n int) error {
	var q string
	switch stage {
	case StageStrong:
		q = `UPDATE problems SET strong_k = ?1, strong_n = ?2 WHERE id = ?3 AND (strong_k != ?1 OR strong_n != ?2)`
	case StageWeak:
		q = `UPDATE problems SET weak_k = ?1, weak_n = ?2 WHERE id = ?3 AND (weak_k != ?1 OR weak_n != ?2)`
	default:
		return fmt.Errorf("recovery: calibration stage %q: want %q or %q", stage, StageStrong, StageWeak)
	}
	if _, err := s.w.ExecContext(ctx, q, k, n, problemID); err != nil {
		return fmt.Errorf("recovery: store calibration of %q: %w", problemID, err)
	}
	return nil
}

// PutBucket records a problem's assigned bucket and fuzzy membership.
func (s *Store) PutBucket(ctx context.Context, problemID, bucket string, membership map[string]float64) error {
	m, err := json.Marshal(membership)
	if err != nil {
		return fmt.Errorf("recovery: membership of %q: %w", problemID, err)
	}
	if _, err := s.w.ExecContext(ctx, `UPDATE problems SET bucket = ?1, membership = ?2
		WHERE id = ?3 AND (bucket != ?1 OR membership != ?2)`, bucket, string(m), problemID); err != nil {
		return fmt.Errorf("recovery: store bucket of %q: %w", problemID, err)
	}
	return nil
}

// sampleInsertCols are the columns PutSample writes, in its arguments'
// order.
const sampleInsertCols = `stage, problem_id, prefix, sample, model, provider, served_model,
	request, response, finish_reason, correct, answer, reason, restarted, restart_reason, input_tokens, output_tokens,
	cost_usd, prefill_method, latency_ms, cached, error, at, request_key, saved_usd,
	seed, upstream, reasoning, rule, batch, request_messages,
	behaviour, behaviour_rule, behaviour_locus, behaviour_start, behaviour_end`

// sampleUpsertTail updates an existing row, unless the new row is a cached
// answer and the old one recorded the paid call.
const sampleUpsertTail = `ON CONFLICT(stage, problem_id, prefix, sample) DO UPDATE SET model = excluded.model, provider = excluded.provider,
	served_model = excluded.served_model, request = excluded.request, response = excluded.response,
	finish_reason = excluded.finish_reason, correct = excluded.correct, answer = excluded.answer, reason = excluded.reason,
	restarted = excluded.restarted, restart_reason = excluded.restart_reason, input_tokens = excluded.input_tokens,
	output_tokens = excluded.output_tokens, cost_usd = excluded.cost_usd, prefill_method = excluded.prefill_method,
	latency_ms = excluded.latency_ms, cached = excluded.cached, error = excluded.error, at = excluded.at,
	request_key = excluded.request_key, saved_usd = excluded.saved_usd, seed = excluded.seed,
	upstream = excluded.upstream, reasoning = excluded.reasoning, rule = excluded.rule, batch = excluded.batch,
	request_messages = excluded.request_messages, behaviour = excluded.behaviour, behaviour_rule = excluded.behaviour_rule,
	behaviour_locus = excluded.behaviour_locus, behaviour_start = excluded.behaviour_start, behaviour_end = excluded.behaviour_end
	WHERE NOT (excluded.cached = 1 AND samples.cached = 0 AND samples.error = '')`

// promptRefArg is the request_messages value PutSample stores, from the
// prompt's hash bound at ?n ("": the next positional parameter): the hash
// itself, or the rowid of the prompt row queued before the sample row
// (leanFormat). +rowid is the value without the rowid's INTEGER affinity:
// compared with it, the BLOB-affinity column's index could not be used.
func promptRefArg(f leanFormat, n string) string {
	if f.promptRowids {
		return `(SELECT +rowid FROM prompts WHERE hash = ?` + n + `)`
	}
	return `?` + n
}

// putSampleSQL is PutSample's upsert of a row that claims no payment. Its
// parameters are positional: binding a named (?NN) one costs the driver a
// lookup by name, a quarter of the statement's CPU.
func putSampleSQL(f leanFormat) string {
	return `INSERT INTO samples(` + sampleInsertCols + `)
	VALUES (` + strings.Repeat("?, ", 30) + promptRefArg(f, "") + `, ?, ?, ?, ?, ?)
	` + sampleUpsertTail
}

// claimSampleSQL is PutSample's upsert of a cached answer that is the paid
// call when no other finished row made its request (see PutSample). The
// other rows are found by request key, under the same prompt reference
// where the index is samples(request_messages, request_key): equal
// requests hold equal messages, so they share the prompt row.
func claimSampleSQL(f leanFormat) string {
	ref := promptRefArg(f, "32")
	same := `o.request_key = ?26`
	if f.promptRowids {
		same = `o.request_messages IS ` + ref + ` AND o.request_key = ?26`
	}
	return `WITH paid(first) AS (SELECT ?25 AND NOT EXISTS (SELECT 1 FROM samples o
			WHERE ` + same + ` AND o.error = '' AND o.cached = 0
			AND NOT (o.stage = ?1 AND o.problem_id = ?2 AND o.prefix = ?3 AND o.sample = ?4)))
		INSERT INTO samples(` + sampleInsertCols + `)
		SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
			CASE WHEN first THEN ?24 ELSE ?18 END, ?19, ?20, CASE WHEN first THEN 0 ELSE ?21 END, ?22, ?23, ?26,
			CASE WHEN first THEN 0 ELSE ?24 END, ?27, ?28, ?29, ?30, ?31, ` + ref + `, ?33, ?34, ?35, ?36, ?37
		FROM paid WHERE true
		` + sampleUpsertTail
}

// PutSample upserts a sample or continuation keyed by (Stage, ProblemID,
// Prefix, Sample). A cached completion never replaces a row that recorded
// the paid call it came from, so a resumed run keeps what the call cost.
//
// When the completion cache lives in this database (SQLiteCache), a cached
// completion whose request no other finished row has made is the paid call
// itself: the process died after the answer was cached but before its row
// was written. PutSample records it as paid (not cached, at the cost the
// cache saved), so a run resumed after a crash reports the same calls,
// cached calls and dollars as one that never stopped, and the budget counts
// the money. The check and the write are one statement, so concurrent
// writers cannot both claim the payment.
func (s *Store) PutSample(ctx context.Context, r Sample) error {
	if r.At.IsZero() {
		r.At = time.Now().UTC()
	}
	key := s.requestKeyArg(r.Model, r.Request)
	claim := s.ownCache.Load() && r.Cached && r.Error == "" && r.Request != ""
	request, messages, err := s.leanRequest(r.Request)
	if err != nil {
		return fmt.Errorf("recovery: store %s sample %d of %q: %w", r.Stage, r.Sample, r.ProblemID, err)
	}
	var seed any // NULL: no seed was sent
	if r.Seed != nil {
		seed = *r.Seed
	}
	at := r.At.Format(time.RFC3339Nano)
	var lb behaviour.Result // the zero Result: unlabelled
	if r.label != nil {
		lb = *r.label
	}
	if !claim {
		// The common case, a row of a call just made: a plain upsert.
		_, err = s.w.ExecContext(ctx, s.putSQL,
			r.Stage, r.ProblemID, r.Prefix, r.Sample, r.Model, r.Provider, r.ServedModel, request, r.Response,
			r.FinishReason, r.Correct, r.Answer, r.Reason, r.Restarted, r.RestartReason, r.InputTokens, r.OutputTokens,
			r.CostUSD, r.PrefillMethod, r.LatencyMS, r.Cached, r.Error, at, key, r.SavedUSD,
			seed, r.Upstream, r.Reasoning, r.Rule, r.Batch, messages,
			string(lb.Label), lb.Rule, string(lb.Locus), lb.Evidence.Start, lb.Evidence.End)
	} else {
		_, err = s.w.ExecContext(ctx, s.claimSQL,
			r.Stage, r.ProblemID, r.Prefix, r.Sample, r.Model, r.Provider, r.ServedModel, request, r.Response, r.FinishReason,
			r.Correct, r.Answer, r.Reason, r.Restarted, r.RestartReason, r.InputTokens, r.OutputTokens, r.CostUSD,
			r.PrefillMethod, r.LatencyMS, r.Cached, r.Error, at, r.SavedUSD, claim, key,
			seed, r.Upstream, r.Reasoning, r.Rule, r.Batch, messages,
			string(lb.Label), lb.Rule, string(lb.Locus), lb.Evidence.Start, lb.Evidence.End)
	}
	if err != nil {
		return fmt.Errorf("recovery: store %s sample %d of %q: %w", r.Stage, r.Sample, r.ProblemID, err)
	}
	return s.shareTexts(r)
}

// PutPrefix upserts a prefix row keyed by (ProblemID, Strategy).
func (s *Store) PutPrefix(ctx context.Context, r Prefix) error {
	if r.At.IsZero() {
		r.At = time.Now().UTC()
	}
	meta := ""
	if len(r.Meta) > 0 {
		b, err := json.Marshal(r.Meta)
		if err != nil {
			return fmt.Errorf("recovery: prefix meta of %q: %w", r.ProblemID, err)
		}
		meta = string(b)
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO prefixes(problem_id, strategy, set_aside, error, text, source, steps_kept,
		steps_total, depth, origin, error_step, meta, calls, cached_calls, input_tokens, output_tokens, cost_usd, at)
		VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT(problem_id, strategy) DO UPDATE SET set_aside = excluded.set_aside, error = excluded.error,
		text = excluded.text, source = excluded.source, steps_kept = excluded.steps_kept, steps_total = excluded.steps_total,
		depth = excluded.depth, origin = excluded.origin, error_step = excluded.error_step, meta = excluded.meta,
		calls = excluded.calls, cached_calls = excluded.cached_calls, input_tokens = excluded.input_tokens,
		output_tokens = excluded.output_tokens, cost_usd = excluded.cost_usd, at = excluded.at`,
		r.ProblemID, r.Strategy, r.SetAside, r.Error, r.Text, r.Source, r.StepsKept, r.StepsTotal, r.Depth, r.Origin,
		r.ErrorStep, meta, r.Calls, r.CachedCalls, r.InputTokens, r.OutputTokens, r.CostUSD, r.At.Format(time.RFC3339Nano))
	if err != nil {
		return fmt.Errorf("recovery: store %s prefix of %q: %w", r.Strategy, r.ProblemID, err)
	}
	return nil
}

const problemCols = `id, question, answer, solution, source, subject, level, strong_k, strong_n, weak_k, weak_n, bucket, membership`

func scanProblem(sc interface{ Scan(...any) error }) (Problem, error) {
	var p Problem
	var m string
	if err := sc.Scan(&p.ID, &p.Question, &p.Answer, &p.Solution, &p.Source, &p.Subject, &p.Level,
		&p.StrongK, &p.StrongN, &p.WeakK, &p.WeakN, &p.Bucket, &m); err != nil {
		return p, err
	}
	if m != "" {
		if err := json.Unmarshal([]byte(m), &p.Membership); err != nil {
			return p, fmt.Errorf("membership of %q: %w", p.ID, err)
		}
	}
	return p, nil
}

// Problems returns every problem in the order they were stored.
func (s *Store) Problems(ctx context.Context) ([]Problem, error) {
	if err := s.Flush(ctx); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+problemCols+` FROM problems ORDER BY ord, id`)
	if err != nil {
		return nil, fmt.Errorf("recovery: read problems: %w", err)
	}
	defer rows.Close()
	var out []Problem
	for rows.Next() {
		p, err := scanProblem(rows)
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

// Problem returns one problem; ok is false if there is none with that id.
func (s *Store) Problem(ctx context.Context, id string) (p Problem, ok bool, err error) {
	if err := s.Flush(ctx); err != nil {
		return Problem{}, false, err
	}
	p, err = scanProblem(s.db.QueryRowContext(ctx, `SELECT `+problemCols+` FROM problems WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Problem{}, false, nil
	}
	if err != nil {
		return Problem{}, false, fmt.Errorf("recovery: read problem %q: %w", id, err)
	}
	return p, true, nil
}

const sampleCols = `stage, problem_id, prefix, sample, model, provider, served_model, ` + requestCol + `, response, finish_reason,
	correct, answer, reason, restarted, restart_reason, input_tokens, output_tokens, cost_usd, prefill_method,
	latency_ms, cached, error, at, seed, upstream, reasoning, rule, batch, behaviour`

// leanSampleCols replaces the long text columns by markers: Response and
// Error are "x" when non-empty, Request and the other texts empty.
const leanSampleCols = `stage, problem_id, prefix, sample, '', '', '', '', NULL,
	CASE WHEN response = '' THEN '' ELSE 'x' END, '', correct, '', '', restarted, '', input_tokens, output_tokens,
	cost_usd, '', 0, cached, CASE WHEN error = '' THEN '' ELSE 'x' END, '', NULL, '', '', '', 0, ''`

// eachSample calls fn for every row matching where, streaming; lean rows
// leave out long texts (see leanSampleCols).
func (s *Store) eachSample(ctx context.Context, lean bool, where string, fn func(Sample) error, args ...any) error {
	q := `SELECT ` + sampleCols + ` FROM samples WHERE ` + where + ` ORDER BY problem_id, stage, prefix, sample`
	if where == `1 = 1` {
		// Every row: primary-key order needs no sort, which for a large run
		// would hold every row's text in SQLite's sorter.
		q = `SELECT ` + sampleCols + ` FROM samples ORDER BY stage, problem_id, prefix, sample`
	}
	if lean {
		// Primary-key order: no sort, and a fixed order keeps float sums
		// reproducible.
		q = `SELECT ` + leanSampleCols + ` FROM samples WHERE ` + where + ` ORDER BY stage, problem_id, prefix, sample`
	}
	if err := s.Flush(ctx); err != nil {
		return err
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("recovery: read samples: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r Sample
		var at string
		var seed sql.NullInt64
		var messages sql.NullString
		if err := rows.Scan(&r.Stage, &r.ProblemID, &r.Prefix, &r.Sample, &r.Model, &r.Provider, &r.ServedModel,
			&r.Request, &messages, &r.Response, &r.FinishReason, &r.Correct, &r.Answer, &r.Reason, &r.Restarted,
			&r.RestartReason, &r.InputTokens, &r.OutputTokens, &r.CostUSD, &r.PrefillMethod, &r.LatencyMS,
			&r.Cached, &r.Error, &at, &seed, &r.Upstream, &r.Reasoning, &r.Rule, &r.Batch, &r.behaviour); err != nil {
			return fmt.Errorf("recovery: read samples: %w", err)
		}
		if seed.Valid {
			r.Seed = &seed.Int64
		}
		if messages.Valid {
			r.Request = joinMessages(r.Request, messages.String)
		}
		if at != "" {
			r.At, _ = time.Parse(time.RFC3339Nano, at)
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("recovery: read samples: %w", err)
	}
	return nil
}

func (s *Store) querySamples(ctx context.Context, where string, args ...any) ([]Sample, error) {
	var out []Sample
	err := s.eachSample(ctx, false, where, func(r Sample) error { out = append(out, r); return nil }, args...)
	return out, err
}

// Samples returns a problem's straight-shot samples (stage strong, then
// weak, by sample index). Pass problemID "" for every problem's.
func (s *Store) Samples(ctx context.Context, problemID string) ([]Sample, error) {
	if problemID == "" {
		return s.querySamples(ctx, `stage IN ('strong', 'weak')`)
	}
	return s.querySamples(ctx, `stage IN ('strong', 'weak') AND problem_id = ?`, problemID)
}

// PerturbCalls returns the calls perturbers made for a problem (e.g. the
// weak model's tries), by strategy and call number. Pass problemID "" for
// every problem's.
func (s *Store) PerturbCalls(ctx context.Context, problemID string) ([]Sample, error) {
	if problemID == "" {
		return s.querySamples(ctx, `stage = 'perturb'`)
	}
	return s.querySamples(ctx, `stage = 'perturb' AND problem_id = ?`, problemID)
}

// Continuations returns a problem's continuations by strategy and sample
// index. Pass problemID "" for every problem's.
func (s *Store) Continuations(ctx context.Context, problemID string) ([]Sample, error) {
	if problemID == "" {
		return s.querySamples(ctx, `stage = 'continue'`)
	}
	return s.querySamples(ctx, `stage = 'continue' AND problem_id = ?`, problemID)
}

// StageSamples returns every row of one stage (StageStrong, StageWeak or
// StageContinue).
func (s *Store) StageSamples(ctx context.Context, stage string) ([]Sample, error) {
	return s.querySamples(ctx, `stage = ?`, stage)
}

func (s *Store) queryPrefixes(ctx context.Context, where string, args ...any) ([]Prefix, error) {
	return s.prefixRows(ctx, `text, source`, where, args...)
}

// prefixRows reads prefix rows; textCols is "text, source" or a lean
// stand-in such as "”, ”".
func (s *Store) prefixRows(ctx context.Context, textCols, where string, args ...any) ([]Prefix, error) {
	if err := s.Flush(ctx); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT problem_id, strategy, set_aside, error, `+textCols+`, steps_kept,
		steps_total, depth, origin, error_step, meta, calls, cached_calls, input_tokens, output_tokens, cost_usd, at
		FROM prefixes WHERE `+where+` ORDER BY problem_id, strategy`, args...)
	if err != nil {
		return nil, fmt.Errorf("recovery: read prefixes: %w", err)
	}
	defer rows.Close()
	var out []Prefix
	for rows.Next() {
		var r Prefix
		var meta, at string
		if err := rows.Scan(&r.ProblemID, &r.Strategy, &r.SetAside, &r.Error, &r.Text, &r.Source, &r.StepsKept,
			&r.StepsTotal, &r.Depth, &r.Origin, &r.ErrorStep, &meta, &r.Calls, &r.CachedCalls, &r.InputTokens,
			&r.OutputTokens, &r.CostUSD, &at); err != nil {
			return nil, fmt.Errorf("recovery: read prefixes: %w", err)
		}
		if meta != "" {
			if err := json.Unmarshal([]byte(meta), &r.Meta); err != nil {
				return nil, fmt.Errorf("recovery: prefix meta of %q: %w", r.ProblemID, err)
			}
		}
		r.At, _ = time.Parse(time.RFC3339Nano, at)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("recovery: read prefixes: %w", err)
	}
	return out, nil
}

// Prefixes returns a problem's prefix rows (including set-aside outcomes).
// Pass problemID "" for every problem's.
func (s *Store) Prefixes(ctx context.Context, problemID string) ([]Prefix, error) {
	if problemID == "" {
		return s.queryPrefixes(ctx, `1 = 1`)
	}
	return s.queryPrefixes(ctx, `problem_id = ?`, problemID)
}

// ExportSamples writes every sample, perturbation call and continuation as
// JSON lines, one Sample per line, for pandas and jq, ordered by stage,
// problem, prefix and sample. It streams, so it needs little memory.
func (s *Store) ExportSamples(ctx context.Context, w io.Writer) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	err := s.eachSample(ctx, false, `1 = 1`, func(r Sample) error {
		if err := enc.Encode(r); err != nil {
			return fmt.Errorf("recovery: export samples: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("recovery: export samples: %w", err)
	}
	return nil
}
