package recovery

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/rebound-lab/rebound/difficulty"
)

// Chunked and streaming reads for the pipeline (pipeline.go): what a chunk
// of problems already finished, and the strong counts of every problem.
// They go through the Store's own row scanners (eachSample, queryPrefixes)
// and the problems table only, so they do not depend on where the long
// texts are kept.

// doneChunk is the most problems whose finished rows one query reads.
const doneChunk = 256

// sampleKey names one finished row of one problem.
type sampleKey struct {
	stage, prefix string
	sample        int
}

// problemDone is what one problem already finished in the store: its
// error-free straight-shot and continuation rows and its error-free
// prefix rows by strategy. A nil *problemDone has nothing finished.
type problemDone struct {
	samples  map[sampleKey]Sample
	prefixes map[string]Prefix
}

func (d *problemDone) sample(stage, prefix string, i int) (Sample, bool) {
	if d == nil {
		return Sample{}, false
	}
	r, ok := d.samples[sampleKey{stage, prefix, i}]
	return r, ok
}

func (d *problemDone) prefix(strategy string) (Prefix, bool) {
	if d == nil {
		return Prefix{}, false
	}
	r, ok := d.prefixes[strategy]
	return r, ok
}

// doneFor reads what the problems ids already finished: one query for
// their straight-shot and continuation rows, one for their prefixes.
// Problems with nothing finished are absent from the map.
func (s *Store) doneFor(ctx context.Context, ids []string) (map[string]*problemDone, error) {
	out := map[string]*problemDone{}
	if len(ids) == 0 {
		return out, nil
	}
	in := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(ids)), ", ") + ")"
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	get := func(id string) *problemDone {
		d := out[id]
		if d == nil {
			d = &problemDone{}
			out[id] = d
		}
		return d
	}
	err := s.eachSample(ctx, false, `stage IN ('strong', 'weak', 'continue') AND problem_id IN `+in, func(r Sample) error {
		if r.Error != "" {
			return nil
		}
		d := get(r.ProblemID)
		if d.samples == nil {
			d.samples = map[sampleKey]Sample{}
		}
		r.Request = "" // in the store; not needed to resume
		d.samples[sampleKey{r.Stage, r.Prefix, r.Sample}] = r
		return nil
	}, args...)
	if err != nil {
		return nil, err
	}
	pres, err := s.queryPrefixes(ctx, `problem_id IN `+in, args...)
	if err != nil {
		return nil, err
	}
	for _, r := range pres {
		if r.Error != "" {
			continue
		}
		d := get(r.ProblemID)
		if d.prefixes == nil {
			d.prefixes = map[string]Prefix{}
		}
		d.prefixes[r.Strategy] = r
	}
	return out, nil
}

// eachStrongCount calls fn with every stored problem's strong-model
// straight-shot counts, in the problems' stored order, streaming.
func (s *Store) eachStrongCount(ctx context.Context, fn func(id string, c difficulty.Count) error) error {
	if err := s.Flush(ctx); err != nil {
		return err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT id, strong_k, strong_n FROM problems ORDER BY ord, id`)
	if err != nil {
		return fmt.Errorf("recovery: read calibrations: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var c difficulty.Count
		if err := rows.Scan(&id, &c.K, &c.N); err != nil {
			return fmt.Errorf("recovery: read calibrations: %w", err)
		}
		if err := fn(id, c); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("recovery: read calibrations: %w", err)
	}
	return nil
}

// reportChunk is the most problems the report's chunked passes
// (LabelBehaviours, the tidy export) hold at once.
var reportChunk = 256

// idRange is a range of problem IDs, (lo, hi]; an empty lo or hi (with
// its flag false) leaves that side open.
type idRange struct {
	lo, hi       string
	hasLo, hasHi bool
}

// where returns the range as a condition on col with its arguments.
func (r idRange) where(col string) (string, []any) {
	var conds []string
	var args []any
	if r.hasLo {
		conds, args = append(conds, col+` > ?`), append(args, r.lo)
	}
	if r.hasHi {
		conds, args = append(conds, col+` <= ?`), append(args, r.hi)
	}
	if len(conds) == 0 {
		return `1 = 1`, nil
	}
	return strings.Join(conds, ` AND `), args
}

// problemRanges splits the problem IDs into ranges of size problems each,
// in ID order; the first and last ranges are open, so rows of problems the
// store does not hold fall in one of them too. It holds one ID per range.
func (s *Store) problemRanges(ctx context.Context, size int) ([]idRange, error) {
	if err := s.Flush(ctx); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT id FROM problems ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("recovery: read problem ids: %w", err)
	}
	defer rows.Close()
	var bounds []string
	n := 0
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("recovery: read problem ids: %w", err)
		}
		if n++; n%size == 0 {
			bounds = append(bounds, id)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("recovery: read problem ids: %w", err)
	}
	out := make([]idRange, 0, len(bounds)+1)
	var prev idRange
	for _, b := range bounds {
		r := idRange{lo: prev.hi, hasLo: prev.hasHi, hi: b, hasHi: true}
		out = append(out, r)
		prev = r
	}
	return append(out, idRange{lo: prev.hi, hasLo: prev.hasHi}), nil
}

// problemsIn returns the problems whose IDs are in r, by ID.
func (s *Store) problemsIn(ctx context.Context, r idRange) (map[string]Problem, error) {
	where, args := r.where(`id`)
	rows, err := s.db.QueryContext(ctx, `SELECT `+problemCols+` FROM problems WHERE `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("recovery: read problems: %w", err)
	}
	defer rows.Close()
	out := map[string]Problem{}
	for rows.Next() {
		p, err := scanProblem(rows)
		if err != nil {
			return nil, fmt.Errorf("recovery: read problems: %w", err)
		}
		out[p.ID] = p
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("recovery: read problems: %w", err)
	}
	return out, nil
}

// tidySampleCols are sampleCols with what the tidy export does not use
// left out: the response (a marker, "x" when non-empty, as batchOf needs),
// the reasoning, the time and the request's messages (the prefill target
// is a top-level field of the stored request).
const tidySampleCols = `stage, problem_id, prefix, sample, model, provider, served_model, request, NULL,
	CASE WHEN response = '' THEN '' ELSE 'x' END, finish_reason, correct, answer, reason, restarted, restart_reason,
	input_tokens, output_tokens, cost_usd, prefill_method, latency_ms, cached, error, '', seed, upstream, '', rule, batch, behaviour`

// labelSampleCols are the columns LabelBehaviours reads: the response, the
// verdict and the restart flag.
const labelSampleCols = `stage, problem_id, prefix, sample, '', '', '', '', NULL, response, '', correct, answer, '',
	restarted, '', 0, 0, 0, '', 0, 0, error, '', NULL, '', '', '', 0, ''`

// eachSampleCols is eachSample with a column list of sampleCols' shape
// (such as tidySampleCols), in problem, stage, prefix and sample order.
func (s *Store) eachSampleCols(ctx context.Context, cols, where string, fn func(Sample) error, args ...any) error {
	if err := s.Flush(ctx); err != nil {
		return err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+cols+` FROM samples WHERE `+where+
		` ORDER BY problem_id, stage, prefix, sample`, args...)
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
