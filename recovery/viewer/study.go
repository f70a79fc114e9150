package viewer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/rebound-lab/rebound/recovery"
)

// StudyView is the comparison a study's overview shows: per model, strategy
// and bucket the pass rate, recovery and normalized recovery with their
// intervals, and the paired differences between models.
type StudyView struct {
	Models  []string
	Binning string
	Rows    []StudyRow
	Paired  []PairedRow
	// Latent are the models' latent-bucket rows (true difficulty, estimated).
	Latent []StudyLatentRow
}

// StudyLatentRow is one model's estimate for one strategy and latent bucket
// (recovery.LatentRow). Rates are fractions; NaN is undefined.
type StudyLatentRow struct {
	Model, Strategy, Bucket string
	Problems                float64
	PassRate, Recovery      float64
	Normalized              float64
	PassCI, RecoveryCI      [2]float64
	NormalizedCI            [2]float64
}

// StudyRow is one model's line for one strategy and bucket. Rates are
// fractions; NaN is undefined.
type StudyRow struct {
	Model, Strategy, Bucket string
	Problems, Continuations int
	PassRate, Recovery      float64
	Normalized              float64
	PassCI, RecoveryCI      [2]float64
	NormalizedCI            [2]float64
}

// PairedRow is one paired difference A − B on shared prefixes.
type PairedRow struct {
	A, B, Strategy, Bucket string
	Problems, Unpaired     int
	Diff                   float64
	DiffCI, IndependentCI  [2]float64
	WidthRatio             float64
}

// Study is a Source reading a study directory written by recovery.RunStudy:
// study.json, the study plots and exports, and each model's run directory.
// Its problem list is the first model's; a problem page shows every model's
// samples, and each shared prefix once with every model's continuations
// side by side. Safe for concurrent use; Close it when done.
type Study struct {
	dir    string
	root   *os.Root
	models []string
	runs   []*Run
}

var _ Source = (*Study)(nil)

// IsStudy reports whether dir looks like a study directory (it has
// study.json or a shared stage).
func IsStudy(dir string) bool {
	for _, p := range []string{recovery.StudyJSON, filepath.Join(recovery.StudyShared, recovery.StoreFile)} {
		if _, err := os.Stat(filepath.Join(dir, p)); err == nil {
			return true
		}
	}
	return false
}

// Open opens dir as a study if IsStudy says so, else as a run.
func Open(dir string) (interface {
	Source
	Close() error
}, error) {
	if IsStudy(dir) {
		return OpenStudy(dir)
	}
	return OpenRun(dir)
}

// OpenStudy opens the study directory dir. The models are those of
// study.json in its order (else every run directory under models/).
func OpenStudy(dir string) (*Study, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("viewer: %w", err)
	}
	s := &Study{dir: dir, root: root}
	var dirs []string
	if b, err := root.ReadFile(recovery.StudyJSON); err == nil {
		res, err := recovery.ReadStudy(strings.NewReader(string(b)))
		if err != nil {
			root.Close()
			return nil, fmt.Errorf("viewer: %s: %w", filepath.Join(dir, recovery.StudyJSON), err)
		}
		for _, m := range res.Models {
			s.models = append(s.models, m.Model)
			dirs = append(dirs, filepath.Join(dir, m.Dir))
		}
	} else {
		ents, _ := os.ReadDir(filepath.Join(dir, recovery.StudyModels))
		for _, e := range ents {
			if e.IsDir() {
				s.models = append(s.models, e.Name())
				dirs = append(dirs, filepath.Join(dir, recovery.StudyModels, e.Name()))
			}
		}
	}
	for _, d := range dirs {
		r, err := OpenRun(d)
		if err != nil {
			s.Close()
			return nil, err
		}
		s.runs = append(s.runs, r)
	}
	if len(s.runs) == 0 {
		s.Close()
		return nil, fmt.Errorf("viewer: %s: a study directory with no model runs yet (no %s/*/%s)", dir, recovery.StudyModels, recovery.StoreFile)
	}
	return s, nil
}

// Close closes every model's run.
func (s *Study) Close() error {
	var errs []error
	for _, r := range s.runs {
		errs = append(errs, r.Close())
	}
	return errors.Join(append(errs, s.root.Close())...)
}

var studyFiles = []FileRef{
	{Name: recovery.StudyMD, Title: "the study report (Markdown)"},
	{Name: recovery.StudyJSON, Title: "the comparison (stable keys, for tools)"},
	{Name: recovery.TidyContinuationsParquet, Title: "one row per continuation, every covariate (Parquet)"},
	{Name: recovery.TidyContinuationsCSV, Title: "one row per continuation (CSV)"},
	{Name: recovery.TidyStraightShotsParquet, Title: "one row per straight-shot sample (Parquet)"},
	{Name: recovery.TidyStraightShotsCSV, Title: "one row per straight-shot sample (CSV)"},
}

var studyPlotTitles = map[string]string{
	recovery.PlotStudyRecoveryVsPass:   "Recovery against intrinsic pass rate, per model",
	recovery.PlotStudyRecoveryByBucket: "Recovery per bucket, per model",
	recovery.PlotStudyPaired:           "Paired differences between models (same prefixes)",
	recovery.PlotStudyLatent:           "Recovery against true pass rate per latent bucket, per model",
}

func f64(r recovery.Rate) float64 { return float64(r) }

func ci64(c [2]recovery.Rate) [2]float64 { return [2]float64{float64(c[0]), float64(c[1])} }

// Overview shows the comparison table, the paired differences, the study
// plots and files; cost totals every model's run.
func (s *Study) Overview(ctx context.Context) (Overview, error) {
	ov := Overview{Title: filepath.Base(filepath.Clean(s.dir)) + " (study of " + fmt.Sprint(len(s.runs)) + " models)"}
	b, err := s.root.ReadFile(recovery.StudyJSON)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return Overview{}, fmt.Errorf("viewer: %w", err)
	}
	sv := &StudyView{Models: s.models}
	if err == nil {
		res, err := recovery.ReadStudy(strings.NewReader(string(b)))
		if err != nil {
			return Overview{}, fmt.Errorf("viewer: %s: %w", filepath.Join(s.dir, recovery.StudyJSON), err)
		}
		c := res.Comparison
		sv.Binning = c.Binning
		for _, m := range c.Models {
			for _, r := range m.Rows {
				sv.Rows = append(sv.Rows, StudyRow{Model: m.Model, Strategy: r.Strategy, Bucket: r.Bucket, Problems: r.Problems,
					Continuations: r.Continuations, PassRate: f64(r.PassRate), Recovery: f64(r.Recovery), Normalized: f64(r.Normalized),
					PassCI: ci64(r.PassRateCI), RecoveryCI: ci64(r.RecoveryCI), NormalizedCI: ci64(r.NormalizedCI)})
			}
		}
		for _, m := range c.Models {
			for _, r := range m.Latent {
				sv.Latent = append(sv.Latent, StudyLatentRow{Model: m.Model, Strategy: r.Strategy, Bucket: r.Bucket, Problems: r.Problems,
					PassRate: f64(r.PassRate), Recovery: f64(r.Recovery), Normalized: f64(r.Normalized),
					PassCI: ci64(r.PassRateCI), RecoveryCI: ci64(r.RecoveryCI), NormalizedCI: ci64(r.NormalizedCI)})
			}
		}
		for _, d := range c.Paired {
			sv.Paired = append(sv.Paired, PairedRow{A: d.A, B: d.B, Strategy: d.Strategy, Bucket: d.Bucket, Problems: d.Problems,
				Unpaired: d.Unpaired, Diff: f64(d.Diff), DiffCI: ci64(d.DiffCI), IndependentCI: ci64(d.IndependentCI), WidthRatio: f64(d.WidthRatio)})
		}
		for _, m := range res.Models {
			p := m.Summary.Cost
			ov.Cost.Calls += p.Calls
			ov.Cost.CachedCalls += p.CachedCalls
			ov.Cost.InputTokens += p.InputTokens
			ov.Cost.OutputTokens += p.OutputTokens
			ov.Cost.USD += p.USD
		}
		ov.Cost.Calls += res.SharedCost.Calls
		ov.Cost.InputTokens += res.SharedCost.InputTokens
		ov.Cost.OutputTokens += res.SharedCost.OutputTokens
		ov.Cost.USD += res.SharedCost.USD
	}
	ov.Study = sv
	ov.Params = []Param{{Name: "models", Value: strings.Join(s.models, ", ")}}
	if sv.Binning != "" {
		ov.Params = append(ov.Params, Param{Name: "buckets", Value: sv.Binning})
	}
	for _, stem := range []string{recovery.PlotStudyRecoveryVsPass, recovery.PlotStudyRecoveryByBucket, recovery.PlotStudyPaired, recovery.PlotStudyLatent} {
		for _, ext := range []string{".svg", ".png"} {
			if _, err := s.root.Stat(stem + ext); err == nil {
				ov.Plots = append(ov.Plots, FileRef{Name: stem + ext, Title: studyPlotTitles[stem]})
				break
			}
		}
		for _, ext := range []string{".pdf", ".png"} {
			if _, err := s.root.Stat(stem + ext); err == nil {
				ov.Files = append(ov.Files, FileRef{Name: stem + ext, Title: studyPlotTitles[stem] + " (" + strings.ToUpper(ext[1:]) + ")"})
			}
		}
	}
	for _, f := range studyFiles {
		if _, err := s.root.Stat(f.Name); err == nil {
			ov.Files = append(ov.Files, f)
		}
	}
	return ov, nil
}

// ProblemList is the first model's list; continuation counts add up every
// model's.
func (s *Study) ProblemList(ctx context.Context) ([]ProblemSummary, error) {
	first, err := s.runs[0].ProblemList(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]ProblemSummary, len(first))
	copy(out, first)
	idx := make(map[string]int, len(out))
	for i, p := range out {
		idx[p.ID] = i
	}
	for _, r := range s.runs[1:] {
		list, err := r.ProblemList(ctx)
		if err != nil {
			return nil, err
		}
		for _, p := range list {
			if i, ok := idx[p.ID]; ok {
				out[i].Continuations += p.Continuations
				out[i].Recovered += p.Recovered
				out[i].Restarts += p.Restarts
			}
		}
	}
	return out, nil
}

// Problem merges every model's page for the problem: the first model's
// page, every other model's strong samples, its continuations of the
// prefixes it shares with the first (same strategy and text) added beside
// the first model's, and its own prefixes (on-policy, injected) after.
func (s *Study) Problem(ctx context.Context, id string) (Problem, error) {
	p, err := s.runs[0].Problem(ctx, id)
	if err != nil {
		return Problem{}, err
	}
	s.label(&p, s.models[0])
	for i, r := range s.runs[1:] {
		q, err := r.Problem(ctx, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return Problem{}, err
		}
		s.label(&q, s.models[i+1])
		for _, smp := range q.Samples {
			if smp.Role == "strong" {
				p.Samples = append(p.Samples, smp)
			}
		}
		for _, qp := range q.Prefixes {
			merged := false
			for j := range p.Prefixes {
				if p.Prefixes[j].Strategy == qp.Strategy && p.Prefixes[j].Text == qp.Text {
					p.Prefixes[j].Continuations = append(p.Prefixes[j].Continuations, qp.Continuations...)
					merged = true
					break
				}
			}
			if !merged {
				p.Prefixes = append(p.Prefixes, qp)
			}
		}
		p.Continuations += q.Continuations
		p.Recovered += q.Recovered
		p.Restarts += q.Restarts
	}
	return p, nil
}

// label sets the model on every strong sample and continuation of p (rows
// record the spec already; this covers runs that did not).
func (s *Study) label(p *Problem, model string) {
	for i := range p.Samples {
		if p.Samples[i].Role == "strong" && p.Samples[i].Model == "" {
			p.Samples[i].Model = model
		}
	}
	for i := range p.Prefixes {
		for j := range p.Prefixes[i].Continuations {
			if p.Prefixes[i].Continuations[j].Model == "" {
				p.Prefixes[i].Continuations[j].Model = model
			}
		}
	}
}

// File opens a study-level file listed in the overview.
func (s *Study) File(ctx context.Context, name string) (io.ReadSeekCloser, error) {
	if strings.ContainsAny(name, `/\`) || strings.HasPrefix(name, ".") {
		return nil, fmt.Errorf("viewer: file %q: %w", name, ErrNotFound)
	}
	f, err := s.root.Open(name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("viewer: file %q: %w", name, ErrNotFound)
		}
		return nil, fmt.Errorf("viewer: %w", err)
	}
	return f, nil
}

// ModelGroup is one model's continuations of a prefix.
type ModelGroup struct {
	Model string
	Items []Continuation
}

// byModel groups continuations by model, in order of first appearance.
func byModel(cs []Continuation) []ModelGroup {
	var out []ModelGroup
	for _, c := range cs {
		i := len(out) - 1
		for ; i >= 0 && out[i].Model != c.Model; i-- {
		}
		if i < 0 {
			out = append(out, ModelGroup{Model: c.Model})
			i = len(out) - 1
		}
		out[i].Items = append(out[i].Items, c)
	}
	return out
}

// formatCI shows an interval of rates as "lo – hi" percentages, "—" if
// undefined.
func formatCI(c [2]float64) string {
	if c[0] != c[0] || c[1] != c[1] {
		return "—"
	}
	return formatPct(c[0]) + " – " + formatPct(c[1])
}

// formatSignedPct shows a difference of rates in percentage points with
// its sign.
func formatSignedPct(f float64) string {
	if f != f {
		return "—"
	}
	return fmt.Sprintf("%+.1f pp", f*100)
}
