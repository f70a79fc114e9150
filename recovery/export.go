package recovery

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"
)

// Tidy export file names written by WriteTidy: one row per continuation and
// one row per straight-shot sample, each as CSV and Parquet.
const (
	TidyContinuationsCSV     = "continuations.csv"
	TidyContinuationsParquet = "continuations.parquet"
	TidyStraightShotsCSV     = "straight_shots.csv"
	TidyStraightShotsParquet = "straight_shots.parquet"
)

// ContinuationRow is one continuation with every covariate, for analysis
// in R or pandas (one row per continuation; the schema is in the README).
// ExtractionRule is the verifier's rule (verify.Source*), Batch "batch" or
// "live" ("" for a failed call), Upstream the host a router named,
// Behaviour the behaviour label ("" until labelled). Integers that may be
// unknown use 0 (ErrorStep: 0 = unknown).
type ContinuationRow struct {
	Study   string `parquet:"study" json:"study"`
	Model   string `parquet:"model" json:"model"`
	Problem string `parquet:"problem_id" json:"problem_id"`
	// Dataset is the problem's source; Subject and Level where known.
	Dataset string `parquet:"dataset" json:"dataset"`
	Subject string `parquet:"subject" json:"subject"`
	Level   int64  `parquet:"level" json:"level"`
	// Bucket is the model's own observed bucket, Membership its fuzzy
	// membership as JSON ({"hard":0.1,...}) and BucketProb the assigned
	// bucket's membership; ReferenceBucket the study's reference model's
	// bucket ("" outside a study or without a reference).
	Bucket          string  `parquet:"bucket" json:"bucket"`
	Membership      string  `parquet:"membership" json:"membership"`
	BucketProb      float64 `parquet:"bucket_prob" json:"bucket_prob"`
	ReferenceBucket string  `parquet:"reference_bucket" json:"reference_bucket"`
	StrongK         int64   `parquet:"strong_k" json:"strong_k"`
	StrongN         int64   `parquet:"strong_n" json:"strong_n"`
	WeakK           int64   `parquet:"weak_k" json:"weak_k"`
	WeakN           int64   `parquet:"weak_n" json:"weak_n"`
	Strategy        string  `parquet:"strategy" json:"strategy"`
	// PrefixID identifies the prefix text (equal across models when they
	// continued the same prefix); PrefixOrigin the model whose trace it is.
	PrefixID     string  `parquet:"prefix_id" json:"prefix_id"`
	PrefixOrigin string  `parquet:"prefix_origin" json:"prefix_origin"`
	Depth        float64 `parquet:"depth" json:"depth"`
	StepsKept    int64   `parquet:"steps_kept" json:"steps_kept"`
	StepsTotal   int64   `parquet:"steps_total" json:"steps_total"`
	ErrorStep    int64   `parquet:"error_step" json:"error_step"`
	Sample       int64   `parquet:"sample" json:"sample"`
	// PrefillMethod is how the prefix was presented (native, continue,
	// prefix, emulated…); PrefillTarget where it went for a reasoning model
	// (the request's prefill_target, else the run's Config.PrefillTarget;
	// "" means the answer).
	PrefillMethod  string  `parquet:"prefill_method" json:"prefill_method"`
	PrefillTarget  string  `parquet:"prefill_target" json:"prefill_target"`
	Correct        bool    `parquet:"correct" json:"correct"`
	Answer         string  `parquet:"answer" json:"answer"`
	ExtractionRule string  `parquet:"extraction_rule" json:"extraction_rule"`
	Restarted      bool    `parquet:"restarted" json:"restarted"`
	RestartReason  string  `parquet:"restart_reason" json:"restart_reason"`
	FinishReason   string  `parquet:"finish_reason" json:"finish_reason"`
	InputTokens    int64   `parquet:"input_tokens" json:"input_tokens"`
	OutputTokens   int64   `parquet:"output_tokens" json:"output_tokens"`
	CostUSD        float64 `parquet:"cost_usd" json:"cost_usd"`
	Cached         bool    `parquet:"cached" json:"cached"`
	Batch          string  `parquet:"batch" json:"batch"`
	Upstream       string  `parquet:"upstream" json:"upstream"`
	Behaviour      string  `parquet:"behaviour" json:"behaviour"`
	Provider       string  `parquet:"provider" json:"provider"`
	ServedModel    string  `parquet:"served_model" json:"served_model"`
	LatencyMS      float64 `parquet:"latency_ms" json:"latency_ms"`
	Error          string  `parquet:"error" json:"error"`
}

// StraightShotRow is one straight-shot sample (no prefix) with its
// covariates. Stage is "strong" or "weak"; Model the sampled model.
type StraightShotRow struct {
	Study           string  `parquet:"study" json:"study"`
	Model           string  `parquet:"model" json:"model"`
	Stage           string  `parquet:"stage" json:"stage"`
	Problem         string  `parquet:"problem_id" json:"problem_id"`
	Dataset         string  `parquet:"dataset" json:"dataset"`
	Subject         string  `parquet:"subject" json:"subject"`
	Level           int64   `parquet:"level" json:"level"`
	Bucket          string  `parquet:"bucket" json:"bucket"`
	Membership      string  `parquet:"membership" json:"membership"`
	BucketProb      float64 `parquet:"bucket_prob" json:"bucket_prob"`
	ReferenceBucket string  `parquet:"reference_bucket" json:"reference_bucket"`
	StrongK         int64   `parquet:"strong_k" json:"strong_k"`
	StrongN         int64   `parquet:"strong_n" json:"strong_n"`
	WeakK           int64   `parquet:"weak_k" json:"weak_k"`
	WeakN           int64   `parquet:"weak_n" json:"weak_n"`
	Sample          int64   `parquet:"sample" json:"sample"`
	Correct         bool    `parquet:"correct" json:"correct"`
	Answer          string  `parquet:"answer" json:"answer"`
	ExtractionRule  string  `parquet:"extraction_rule" json:"extraction_rule"`
	FinishReason    string  `parquet:"finish_reason" json:"finish_reason"`
	InputTokens     int64   `parquet:"input_tokens" json:"input_tokens"`
	OutputTokens    int64   `parquet:"output_tokens" json:"output_tokens"`
	CostUSD         float64 `parquet:"cost_usd" json:"cost_usd"`
	Cached          bool    `parquet:"cached" json:"cached"`
	Batch           string  `parquet:"batch" json:"batch"`
	Upstream        string  `parquet:"upstream" json:"upstream"`
	Provider        string  `parquet:"provider" json:"provider"`
	ServedModel     string  `parquet:"served_model" json:"served_model"`
	LatencyMS       float64 `parquet:"latency_ms" json:"latency_ms"`
	Error           string  `parquet:"error" json:"error"`
}

// TidySource is one run store to export: a single run, or one model of a
// study (Study names it; Reference maps problem IDs to the reference
// model's bucket).
type TidySource struct {
	Store     *Store
	Study     string
	Model     string
	Reference map[string]string
	// SkipWeak leaves out the weak straight-shot rows (a study's model
	// stores hold copies of the shared ones; export those once).
	SkipWeak bool
}

type problemInfo struct {
	p          Problem
	membership string
	prob       float64
}

// problemsIn returns the problems of one ID range with what the tidy rows
// need of them.
func (src TidySource) problemsIn(ctx context.Context, rg idRange) (map[string]problemInfo, error) {
	ps, err := src.Store.problemsIn(ctx, rg)
	if err != nil {
		return nil, err
	}
	out := make(map[string]problemInfo, len(ps))
	for _, p := range ps {
		p.Question, p.Solution = "", ""
		info := problemInfo{p: p, prob: p.Membership[p.Bucket]}
		if len(p.Membership) > 0 {
			b, _ := json.Marshal(p.Membership) // map keys are sorted: stable text
			info.membership = string(b)
		}
		out[p.ID] = info
	}
	return out, nil
}

// eachChunk streams the sample rows of stages where (a condition on
// stage) one range of reportChunk problems at a time, in problem, stage,
// prefix and sample order, calling fn with the range's problems and
// prefixes (when withPrefixes), so memory stays bounded by the chunk.
func (src TidySource) eachChunk(ctx context.Context, stages string, withPrefixes bool,
	fn func(probs map[string]problemInfo, pres map[[2]string]Prefix, s Sample) error) error {
	ranges, err := src.Store.problemRanges(ctx, reportChunk)
	if err != nil {
		return err
	}
	for _, rg := range ranges {
		probs, err := src.problemsIn(ctx, rg)
		if err != nil {
			return err
		}
		inRange, args := rg.where(`problem_id`)
		var pres map[[2]string]Prefix
		if withPrefixes {
			rows, err := src.Store.queryPrefixes(ctx, inRange, args...)
			if err != nil {
				return err
			}
			pres = make(map[[2]string]Prefix, len(rows))
			for _, r := range rows {
				r.Meta = nil
				r.Source = PrefixID(r.Text)
				r.Text = ""
				pres[[2]string{r.ProblemID, r.Strategy}] = r
			}
		}
		if err := src.Store.eachSampleCols(ctx, tidySampleCols, stages+` AND `+inRange, func(s Sample) error {
			return fn(probs, pres, s)
		}, args...); err != nil {
			return err
		}
	}
	return nil
}

// EachContinuation calls fn for every continuation in src, streaming.
func (src TidySource) EachContinuation(ctx context.Context, fn func(ContinuationRow) error) error {
	runTarget := src.prefillTarget(ctx)
	return src.eachChunk(ctx, `stage = 'continue'`, true, func(probs map[string]problemInfo, pres map[[2]string]Prefix, s Sample) error {
		info := probs[s.ProblemID]
		pre := pres[[2]string{s.ProblemID, s.Prefix}]
		model := src.Model
		if model == "" {
			model = s.Model
		}
		return fn(ContinuationRow{Study: src.Study, Model: model, Problem: s.ProblemID,
			Dataset: info.p.Source, Subject: info.p.Subject, Level: int64(info.p.Level),
			Bucket: info.p.Bucket, Membership: info.membership, BucketProb: info.prob, ReferenceBucket: src.Reference[s.ProblemID],
			StrongK: int64(info.p.StrongK), StrongN: int64(info.p.StrongN), WeakK: int64(info.p.WeakK), WeakN: int64(info.p.WeakN),
			Strategy: s.Prefix, PrefixID: pre.Source, PrefixOrigin: pre.Origin, Depth: pre.Depth,
			StepsKept: int64(pre.StepsKept), StepsTotal: int64(pre.StepsTotal), ErrorStep: int64(pre.ErrorStep),
			Sample: int64(s.Sample), PrefillMethod: s.PrefillMethod, PrefillTarget: requestPrefillTarget(s.Request, runTarget), Correct: s.Correct, Answer: s.Answer, ExtractionRule: s.Rule,
			Restarted: s.Restarted, RestartReason: s.RestartReason, FinishReason: s.FinishReason,
			InputTokens: int64(s.InputTokens), OutputTokens: int64(s.OutputTokens), CostUSD: s.CostUSD, Cached: s.Cached, Batch: batchOf(s),
			Upstream: s.Upstream, Behaviour: s.behaviour,
			Provider: s.Provider, ServedModel: s.ServedModel, LatencyMS: s.LatencyMS, Error: s.Error})
	})
}

// prefillTarget is the run's Config.PrefillTarget as stored in run_config
// ("" when unset or unknown).
func (src TidySource) prefillTarget(ctx context.Context) string {
	v, ok, err := src.Store.Config(ctx, "config")
	if err != nil || !ok {
		return ""
	}
	var c struct {
		PrefillTarget string `json:"prefill_target"`
	}
	if json.Unmarshal([]byte(v), &c) != nil {
		return ""
	}
	return c.PrefillTarget
}

// requestPrefillTarget is the prefill_target of a stored request JSON, or
// fallback when the request names none (or was not recorded).
func requestPrefillTarget(request, fallback string) string {
	var r struct {
		PrefillTarget string `json:"prefill_target"`
	}
	if request != "" && json.Unmarshal([]byte(request), &r) == nil && r.PrefillTarget != "" {
		return r.PrefillTarget
	}
	return fallback
}

// EachStraightShot calls fn for every straight-shot sample in src,
// streaming.
func (src TidySource) EachStraightShot(ctx context.Context, fn func(StraightShotRow) error) error {
	where := `stage IN ('strong', 'weak')`
	if src.SkipWeak {
		where = `stage = 'strong'`
	}
	return src.eachChunk(ctx, where, false, func(probs map[string]problemInfo, _ map[[2]string]Prefix, s Sample) error {
		info := probs[s.ProblemID]
		model := s.Model
		if s.Stage == StageStrong && src.Model != "" {
			model = src.Model
		}
		return fn(StraightShotRow{Study: src.Study, Model: model, Stage: s.Stage, Problem: s.ProblemID,
			Dataset: info.p.Source, Subject: info.p.Subject, Level: int64(info.p.Level),
			Bucket: info.p.Bucket, Membership: info.membership, BucketProb: info.prob, ReferenceBucket: src.Reference[s.ProblemID],
			StrongK: int64(info.p.StrongK), StrongN: int64(info.p.StrongN), WeakK: int64(info.p.WeakK), WeakN: int64(info.p.WeakN),
			Sample: int64(s.Sample), Correct: s.Correct, Answer: s.Answer, ExtractionRule: s.Rule, FinishReason: s.FinishReason,
			InputTokens: int64(s.InputTokens), OutputTokens: int64(s.OutputTokens), CostUSD: s.CostUSD, Cached: s.Cached, Batch: batchOf(s),
			Upstream: s.Upstream, Provider: s.Provider, ServedModel: s.ServedModel, LatencyMS: s.LatencyMS, Error: s.Error})
	})
}

// batchOf is the tidy batch column: "batch" for a completion bought through
// a batch API, "live" for one bought by a live call, "" for a failed call
// with no completion.
func batchOf(s Sample) string {
	switch {
	case s.Batch:
		return "batch"
	case s.Error != "" && s.Response == "":
		return ""
	}
	return "live"
}

// TidyColumns returns the column names of a tidy row type (ContinuationRow
// or StraightShotRow), in file order.
func TidyColumns(row any) []string {
	t := reflect.TypeOf(row)
	cols := make([]string, t.NumField())
	for i := range cols {
		cols[i] = t.Field(i).Tag.Get("parquet")
	}
	return cols
}

func csvRecord(v reflect.Value, rec []string) []string {
	rec = rec[:0]
	for i := range v.NumField() {
		f := v.Field(i)
		switch f.Kind() {
		case reflect.String:
			rec = append(rec, f.String())
		case reflect.Int64:
			rec = append(rec, strconv.FormatInt(f.Int(), 10))
		case reflect.Float64:
			rec = append(rec, strconv.FormatFloat(f.Float(), 'g', -1, 64))
		case reflect.Bool:
			rec = append(rec, strconv.FormatBool(f.Bool()))
		default:
			panic("recovery: tidy row field of kind " + f.Kind().String())
		}
	}
	return rec
}

// tidyWriter writes rows of T to a CSV and a Parquet file together,
// buffering Parquet rows in groups.
type tidyWriter[T any] struct {
	csvFile, pqFile *os.File
	csvBuf          *bufio.Writer
	cw              *csv.Writer
	pw              *parquet.GenericWriter[T]
	batch           []T
	grouped         int // rows in the Parquet row group being written
	rec             []string
	paths           []string
}

func newTidyWriter[T any](csvPath, pqPath string) (*tidyWriter[T], error) {
	w := &tidyWriter[T]{paths: []string{csvPath, pqPath}}
	var err error
	if w.csvFile, err = os.Create(csvPath + ".tmp"); err != nil {
		return nil, fmt.Errorf("recovery: export %s: %w", csvPath, err)
	}
	if w.pqFile, err = os.Create(pqPath + ".tmp"); err != nil {
		w.csvFile.Close()
		return nil, fmt.Errorf("recovery: export %s: %w", pqPath, err)
	}
	w.csvBuf = bufio.NewWriter(w.csvFile)
	w.cw = csv.NewWriter(w.csvBuf)
	w.pw = parquet.NewGenericWriter[T](w.pqFile, parquet.Compression(tidyCodec), parquet.PageBufferSize(tidyPageBuffer))
	var zero T
	if err := w.cw.Write(TidyColumns(zero)); err != nil {
		w.abort()
		return nil, fmt.Errorf("recovery: export %s: %w", csvPath, err)
	}
	return w, nil
}

func (w *tidyWriter[T]) write(r T) error {
	w.rec = csvRecord(reflect.ValueOf(r), w.rec)
	if err := w.cw.Write(w.rec); err != nil {
		return fmt.Errorf("recovery: export %s: %w", w.paths[0], err)
	}
	w.batch = append(w.batch, r)
	if len(w.batch) >= min(1024, tidyRowGroup) {
		return w.flush()
	}
	return nil
}

func (w *tidyWriter[T]) flush() error {
	if len(w.batch) == 0 {
		return nil
	}
	if _, err := w.pw.Write(w.batch); err != nil {
		return fmt.Errorf("recovery: export %s: %w", w.paths[1], err)
	}
	w.grouped += len(w.batch)
	w.batch = w.batch[:0]
	if w.grouped >= tidyRowGroup {
		// A row group is held in memory until flushed: end one every
		// few thousand rows, so the export's memory does not grow with
		// the run.
		if err := w.pw.Flush(); err != nil {
			return fmt.Errorf("recovery: export %s: %w", w.paths[1], err)
		}
		w.grouped = 0
	}
	return nil
}

// tidyRowGroup is the number of rows per Parquet row group of the tidy
// export. The writer keeps every row group's metadata and page index until
// the file ends, so small groups grow the export's memory with the run:
// at 300,000 problems 8,192-row groups peaked at 32.9 MB of heap (15.4 MB
// live), 65,536-row groups at 23.8 MB (10.8 MB live), about what 8,192
// gave at 100,000. A group's compressed pages wait in memory until it
// ends: about 1–2 MB at this size.
var tidyRowGroup = 65536

func (w *tidyWriter[T]) abort() {
	w.csvFile.Close()
	w.pqFile.Close()
	os.Remove(w.csvFile.Name())
	os.Remove(w.pqFile.Name())
}

func (w *tidyWriter[T]) close() error {
	err := w.flush()
	if err == nil {
		err = w.pw.Close()
	}
	w.cw.Flush()
	if err == nil {
		err = w.cw.Error()
	}
	if err == nil {
		err = w.csvBuf.Flush()
	}
	if err != nil {
		w.abort()
		return err
	}
	for i, f := range []*os.File{w.csvFile, w.pqFile} {
		if err := f.Close(); err != nil {
			return fmt.Errorf("recovery: export %s: %w", w.paths[i], err)
		}
		if err := os.Rename(f.Name(), w.paths[i]); err != nil {
			return fmt.Errorf("recovery: export %s: %w", w.paths[i], err)
		}
	}
	return nil
}

// WriteTidy writes the tidy export of sources into dir: continuations.csv
// and .parquet (one row per continuation), straight_shots.csv and .parquet
// (one row per straight-shot sample). It streams the rows.
func WriteTidy(ctx context.Context, dir string, sources []TidySource) error {
	cw, err := newTidyWriter[ContinuationRow](filepath.Join(dir, TidyContinuationsCSV), filepath.Join(dir, TidyContinuationsParquet))
	if err != nil {
		return err
	}
	for _, src := range sources {
		if err := src.EachContinuation(ctx, cw.write); err != nil {
			cw.abort()
			return err
		}
	}
	if err := cw.close(); err != nil {
		return err
	}
	sw, err := newTidyWriter[StraightShotRow](filepath.Join(dir, TidyStraightShotsCSV), filepath.Join(dir, TidyStraightShotsParquet))
	if err != nil {
		return err
	}
	for _, src := range sources {
		if err := src.EachStraightShot(ctx, sw.write); err != nil {
			sw.abort()
			return err
		}
	}
	return sw.close()
}

// ReadTidyContinuations reads a continuations.parquet written by WriteTidy.
func ReadTidyContinuations(r io.ReaderAt, size int64) ([]ContinuationRow, error) {
	return readTidy[ContinuationRow](r, size)
}

// ReadTidyStraightShots reads a straight_shots.parquet written by WriteTidy.
func ReadTidyStraightShots(r io.ReaderAt, size int64) ([]StraightShotRow, error) {
	return readTidy[StraightShotRow](r, size)
}

func readTidy[T any](r io.ReaderAt, size int64) ([]T, error) {
	f, err := parquet.OpenFile(r, size)
	if err != nil {
		return nil, fmt.Errorf("recovery: read tidy parquet: %w", err)
	}
	var zero T
	want := TidyColumns(zero)
	var got []string
	for _, c := range f.Schema().Fields() {
		got = append(got, c.Name())
	}
	for _, c := range want {
		if !slices.Contains(got, c) {
			return nil, fmt.Errorf("recovery: read tidy parquet: column %q is missing (have %q)", c, got)
		}
	}
	pr := parquet.NewGenericReader[T](f)
	defer pr.Close()
	out := make([]T, 0, f.NumRows())
	buf := make([]T, 256)
	for {
		n, err := pr.Read(buf)
		out = append(out, buf[:n]...)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, fmt.Errorf("recovery: read tidy parquet: %w", err)
		}
	}
}

// tidyCodec compresses the tidy Parquet files. The fastest Zstandard level
// keeps each pooled encoder's history small: the default level's made the
// export's heap tens of MB whatever the run's size. tidyPageBuffer is each
// column's page buffer (parquet-go's default, 256 KiB, times 30–37
// columns was most of the export's live heap).
var tidyCodec = &zstd.Codec{Level: zstd.SpeedFastest}

const tidyPageBuffer = 64 << 10
