package recovery

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"slices"

	"github.com/rebound-lab/rebound/difficulty"
	"github.com/rebound-lab/rebound/providers"
	"github.com/rebound-lab/rebound/verify"
)

// ScreenFile is the default name of the dataset file Screen writes in the
// run directory.
const ScreenFile = "screened.jsonl"

// ScreenResult is what Screen found and kept.
type ScreenResult struct {
	// Observed counts the screened problems by assigned bucket; Selected
	// counts those written, by bucket.
	Observed map[string]int `json:"observed"`
	Selected map[string]int `json:"selected"`
	// Problems are the selected problems with their calibration, in the
	// order written.
	Problems []Binned `json:"-"`
	// Out is the dataset file written.
	Out string `json:"out"`
	// Cost is what the screen's calls cost (cached calls included).
	Cost Cost `json:"cost"`
}

// screenRecord is one line of the dataset file Screen writes: fields
// dataset.Open reads back (id, question, answer, solution, subject, level)
// and the calibration that selected it.
type screenRecord struct {
	ID       string  `json:"id"`
	Question string  `json:"question"`
	Answer   string  `json:"answer"`
	Solution string  `json:"solution,omitempty"`
	Source   string  `json:"source,omitempty"`
	Subject  string  `json:"subject,omitempty"`
	Level    int     `json:"level,omitempty"`
	Bucket   string  `json:"bucket"`
	Conf     float64 `json:"bucket_membership"`
	StrongK  int     `json:"strong_k"`
	StrongN  int     `json:"strong_n"`
}

// Screen is calibration at scale: it runs only the strong model's
// straight-shot stage over cfg.Problems, adaptively (cfg.Adaptive, or
// difficulty.DefaultPlan with Max = cfg.Samples when nil: a problem stops
// as soon as its bucket is settled), bins the problems, and writes a
// calibrated subset as a JSON-lines dataset file (ScreenFile in cfg.Dir
// when out is ""): up to perBucket problems of every observed bucket (all
// of them when perBucket is 0), the most surely placed first (highest
// membership of their bucket, ties in input order). The file reads back
// with dataset.Open, problem IDs unchanged, so the full experiment can run
// on it (-dataset FILE).
//
// cfg is a Run config: Dir, Problems, Strong and StrongModel are required;
// the weak model, strategies and continuations are not used. Rows go to
// cfg.Dir's store like Run's, so a screen resumes, and a full Run in the
// same directory with the same models reuses the strong calibration (set
// Weak/WeakModel for the screen too, or the run's identity will differ).
func Screen(ctx context.Context, cfg Config, perBucket int, out string) (ScreenResult, error) {
	switch {
	case cfg.Dir == "":
		return ScreenResult{}, fmt.Errorf("%w: Dir is empty", ErrConfig)
	case len(cfg.Problems) == 0:
		return ScreenResult{}, fmt.Errorf("%w: no Problems", ErrConfig)
	case cfg.Strong == nil || cfg.StrongModel == "":
		return ScreenResult{}, fmt.Errorf("%w: Strong and StrongModel are required", ErrConfig)
	case perBucket < 0:
		return ScreenResult{}, fmt.Errorf("%w: per-bucket target %d is negative", ErrConfig, perBucket)
	}
	if cfg.Weak == nil || cfg.WeakModel == "" {
		cfg.NoWeak, cfg.Weak = true, nil
	}
	if cfg.Verifier == nil {
		cfg.Verifier = verify.NewMath()
	}
	if cfg.Binner == nil {
		cfg.Binner = difficulty.DefaultBinner()
	}
	if cfg.Prices == nil {
		cfg.Prices = providers.DefaultPrices()
	}
	if cfg.Adaptive == nil {
		plan := difficulty.DefaultPlan()
		if cfg.Samples > 0 {
			plan.Max = cfg.Samples
			plan.Min = min(plan.Min, plan.Max)
		}
		cfg.Adaptive = &plan
	}
	if err := cfg.Adaptive.Validate(); err != nil {
		return ScreenResult{}, fmt.Errorf("%w: Adaptive: %w", ErrConfig, err)
	}
	if out == "" {
		out = filepath.Join(cfg.Dir, ScreenFile)
	}

	st, err := OpenStore(cfg.Dir)
	if err != nil {
		return ScreenResult{}, err
	}
	defer st.Close()
	if err := checkIdentity(ctx, st, &cfg); err != nil {
		return ScreenResult{}, err
	}
	if err := st.PutProblems(ctx, cfg.Problems); err != nil {
		return ScreenResult{}, err
	}
	meter := &Meter{}
	var auto *AutoConcurrency
	if cfg.Concurrency == 0 && cfg.RPM > 0 {
		auto = NewAutoConcurrency(cfg.RPM)
	}
	strong, _, err := cfg.wrap(ctx, st, meter, auto)
	if err != nil {
		return ScreenResult{}, err
	}
	plan, binner := *cfg.Adaptive, cfg.Binner
	ss := &StraightShot{Exec: Exec{Concurrency: cfg.Concurrency, Auto: auto, Store: st, Meter: meter, Progress: cfg.Progress},
		Stage: StageStrong, Model: cfg.StrongModel, Completer: strong, Verifier: cfg.Verifier, Samples: plan.Max,
		Stop: func(k, n int) bool { return plan.Done(binner, k, n) }, MinSamples: plan.Min,
		Temperature: cfg.Temperature, MaxTokens: cfg.MaxTokens}
	cals, err := ss.Run(ctx, cfg.Problems)
	res := ScreenResult{Out: out, Cost: meter.Totals()}
	if err != nil {
		return res, err
	}
	binned, err := Bin(ctx, st, binner, cals)
	if err != nil {
		return res, err
	}
	res.Problems = selectPerBucket(binned, binner.Buckets(), perBucket)
	res.Observed, res.Selected = map[string]int{}, map[string]int{}
	for _, b := range binned {
		res.Observed[b.Bucket]++
	}
	for _, b := range res.Problems {
		res.Selected[b.Bucket]++
	}
	if err := writeScreen(out, res.Problems); err != nil {
		return res, err
	}
	return res, nil
}

// selectPerBucket keeps up to perBucket problems of each bucket (all when
// 0), the highest membership first, ties in input order, and returns them
// bucket by bucket in names order.
func selectPerBucket(binned []Binned, names []string, perBucket int) []Binned {
	by := map[string][]Binned{}
	for _, b := range binned {
		by[b.Bucket] = append(by[b.Bucket], b)
	}
	var out []Binned
	for _, name := range names {
		list := by[name]
		slices.SortStableFunc(list, func(a, b Binned) int { return cmp.Compare(b.Confidence, a.Confidence) })
		if perBucket > 0 && len(list) > perBucket {
			list = list[:perBucket]
		}
		out = append(out, list...)
	}
	return out
}

func writeScreen(path string, problems []Binned) error {
	return writeAtomic(path, func(w io.Writer) error {
		bw := bufio.NewWriter(w)
		enc := json.NewEncoder(bw)
		enc.SetEscapeHTML(false)
		for _, b := range problems {
			p := b.Problem
			if err := enc.Encode(screenRecord{ID: p.ID, Question: p.Question, Answer: p.Answer, Solution: p.Solution,
				Source: p.Source, Subject: p.Subject, Level: p.Level, Bucket: b.Bucket, Conf: b.Confidence,
				StrongK: b.K, StrongN: b.N}); err != nil {
				return err
			}
		}
		return bw.Flush()
	})
}
