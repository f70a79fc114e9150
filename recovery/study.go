package recovery

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/rebound-lab/rebound/perturb"
	"github.com/rebound-lab/rebound/providers"
)

// Study directory layout: Study.Dir holds the shared stage in StudyShared
// and one ordinary run directory per strong model under StudyModels.
const (
	// StudyShared is the subdirectory holding the weak model's calibration,
	// the shared prefixes and their calls (a run.db like any run's).
	StudyShared = "shared"
	// StudyModels is the subdirectory holding one run directory per strong
	// model, named by ModelDirName.
	StudyModels = "models"
)

// SharedStrategies are the built-in strategies whose prefixes do not depend
// on the strong model (a weak model's mistake, a labelled trace), so a Study
// builds them once and every strong model continues the same prefixes.
var SharedStrategies = []string{StrategyWeak, StrategyLabeled}

// StudyModel is one strong model of a Study.
type StudyModel struct {
	// Spec names the model ("openai:gpt-4o"); it is recorded in every row
	// and names the model's run directory (ModelDirName).
	Spec string
	// Completer is the raw model; the study wraps it like Run does.
	Completer providers.Completer
	// PrefillMethod, if set, overrides Base.PrefillMethod for this model.
	PrefillMethod providers.PrefillMethod
}

// Study runs several strong models over the same problems in one directory,
// as a paired design: the prefixes of the shared strategies (Shared, by
// default those of SharedStrategies in Base.Strategies) are a function of
// the problem, the weak model, the seed and the cut only, so they are built
// once, in Dir/shared, and every strong model continues the same prefix
// text. Model differences can then be estimated per prefix (Compare). Every
// other strategy (on-policy, injected, custom) is built per model, from
// that model's own calibration, as in Run; each model also gets its own
// calibration and bins.
//
// Each strong model's results live in an ordinary run directory,
// Dir/models/<ModelDirName(spec)>, with its report, plots and viewer, so
// everything that works on a run works on one model of a study. The shared
// rows are copied into each model's store as cached rows (no cost), so a
// model's own report and budget count only what that model paid.
//
// Rerunning a study resumes it; adding a model to a finished study pays only
// for the new model's calls (the shared stage and the other models find
// their rows finished). Base.BudgetUSD caps the whole study's spending
// across the shared stage and every model.
type Study struct {
	// Dir is the study directory.
	Dir string
	// Title heads study.md; "" means "Rebound study".
	Title string
	// Base configures everything but the strong model: Problems, Weak and
	// WeakModel, Strategies, samples, seed, cut, budget and so on. Its Dir,
	// Strong and StrongModel are ignored.
	Base Config
	// Models are the strong models, at least one, with distinct specs.
	Models []StudyModel
	// Shared lists the strategies built once and continued by every model;
	// nil means the strategies of Base.Strategies that are in
	// SharedStrategies. Each must be in Base.Strategies, and custom ones
	// (Base.Perturbers) get a nil Strong completer and no traces.
	Shared []string
	// Reference, if set, is the spec of the model whose bins define the
	// common buckets of the comparison (CompareOptions.Reference).
	Reference string
	// Progress, if set, is told which model is about to run ("" for the
	// shared stage) before its stage events arrive through Base.Progress.
	Progress func(model string)
	// Parallel is how many models run at the same time after the shared
	// stage; 0 or 1 runs them one after another. Each model's stages keep
	// Base.Concurrency calls in flight, so up to Parallel × Concurrency
	// calls are in flight in all (RPM and TPM limits are per model). The
	// models share one budget (Base.BudgetUSD caps the whole study).
	Parallel int
	// ModelProgress, if set, hears every model's stage events with the
	// model's spec; with Parallel > 1 and ModelProgress nil, Base.Progress
	// hears every model's events, one at a time.
	ModelProgress func(model string, e Event)
}

// StudyResult is what RunStudy returns: each model's run Summary and the
// comparison.
type StudyResult struct {
	// Models are the models' Summaries in Study.Models order.
	Models []ModelSummary `json:"models"`
	// SharedCost is what the shared stage cost (weak calibration and shared
	// prefixes), counted once.
	SharedCost Cost `json:"shared_cost"`
	// Comparison is the cross-model statistics.
	Comparison Comparison `json:"comparison"`
}

// ModelSummary is one model's Summary in a study, with its directory.
type ModelSummary struct {
	Model   string  `json:"model"`
	Dir     string  `json:"dir"`
	Summary Summary `json:"summary"`
}

// ModelDirName is the run-directory name of a model spec: the spec with
// every character other than letters, digits, '.', '-' and '_' replaced by
// '_' ("openai:gpt-4o" → "openai_gpt-4o").
func ModelDirName(spec string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			return r
		}
		return '_'
	}, spec)
}

// ModelDir is the run directory of one model of the study.
func (s *Study) ModelDir(spec string) string {
	return filepath.Join(s.Dir, StudyModels, ModelDirName(spec))
}

func (s *Study) validate() (Config, error) {
	if s.Dir == "" {
		return Config{}, fmt.Errorf("%w: Study.Dir is empty", ErrConfig)
	}
	if len(s.Models) == 0 {
		return Config{}, fmt.Errorf("%w: Study.Models is empty (want at least one strong model)", ErrConfig)
	}
	dirs := map[string]string{}
	for i, m := range s.Models {
		if m.Spec == "" || m.Completer == nil {
			return Config{}, fmt.Errorf("%w: Study.Models[%d]: Spec and Completer are required", ErrConfig, i)
		}
		d := ModelDirName(m.Spec)
		if prev, ok := dirs[d]; ok {
			return Config{}, fmt.Errorf("%w: Study.Models: %q and %q share the directory name %q; list each model once",
				ErrConfig, prev, m.Spec, d)
		}
		dirs[d] = m.Spec
	}
	if s.Reference != "" && !slices.ContainsFunc(s.Models, func(m StudyModel) bool { return m.Spec == s.Reference }) {
		return Config{}, fmt.Errorf("%w: Study.Reference %q is not one of the models", ErrConfig, s.Reference)
	}
	base := s.Base
	if base.NoWeak {
		return Config{}, fmt.Errorf("%w: a Study needs the weak model (Base.NoWeak is set)", ErrConfig)
	}
	base.Dir = s.Dir
	base.Strong, base.StrongModel = s.Models[0].Completer, s.Models[0].Spec
	if err := base.defaults(); err != nil {
		return Config{}, err
	}
	if s.Shared == nil {
		for _, st := range base.Strategies {
			if _, custom := base.Perturbers[st]; !custom && slices.Contains(SharedStrategies, st) {
				s.Shared = append(s.Shared, st)
			}
		}
	}
	for _, st := range s.Shared {
		if !slices.Contains(base.Strategies, st) {
			return Config{}, fmt.Errorf("%w: Study.Shared strategy %q is not in Base.Strategies %q", ErrConfig, st, base.Strategies)
		}
	}
	if s.Title == "" {
		s.Title = "Rebound study"
	}
	return base, nil
}

// RunStudy runs the study: the shared stage, then each model in turn (each
// as Run would, reusing the shared rows), then the comparison, written as
// study.md, study.json and the study plots in s.Dir. On a fatal error it
// still writes what finished and returns the error.
func RunStudy(ctx context.Context, s Study) (StudyResult, error) {
	base, err := s.validate()
	if err != nil {
		return StudyResult{}, err
	}
	var res StudyResult
	sharedDir := filepath.Join(s.Dir, StudyShared)
	if s.Progress != nil {
		s.Progress("")
	}
	runErr := s.runShared(ctx, base, sharedDir)
	if runErr == nil {
		runErr = s.runModels(ctx, base, sharedDir)
	}
	out, err := s.collect(detach(ctx), base, sharedDir)
	if err != nil {
		return out, errors.Join(runErr, err)
	}
	res = out
	if err := WriteStudy(s.Dir, s.Title, res); err != nil {
		return res, errors.Join(runErr, err)
	}
	if err := s.writeTidy(detach(ctx), sharedDir); err != nil {
		return res, errors.Join(runErr, err)
	}
	return res, runErr
}

// writeTidy writes the study's tidy export into s.Dir: every model's
// continuations and strong straight shots, and the shared weak straight
// shots once.
func (s *Study) writeTidy(ctx context.Context, sharedDir string) error {
	var srcs []TidySource
	defer func() {
		for _, src := range srcs {
			src.Store.Close()
		}
	}()
	var ref map[string]string
	if s.Reference != "" {
		if st, err := OpenStore(s.ModelDir(s.Reference)); err == nil {
			ps, err := st.Problems(ctx)
			st.Close()
			if err != nil {
				return err
			}
			ref = map[string]string{}
			for _, p := range ps {
				ref[p.ID] = p.Bucket
			}
		}
	}
	st, err := OpenStore(sharedDir)
	if err != nil {
		return err
	}
	srcs = append(srcs, TidySource{Store: st, Study: s.Title, Reference: ref})
	for _, m := range s.Models {
		dir := s.ModelDir(m.Spec)
		if _, err := os.Stat(filepath.Join(dir, StoreFile)); err != nil {
			continue
		}
		st, err := OpenStore(dir)
		if err != nil {
			return err
		}
		srcs = append(srcs, TidySource{Store: st, Study: s.Title, Model: m.Spec, Reference: ref, SkipWeak: true})
	}
	return WriteTidy(ctx, s.Dir, srcs)
}

// studySpent is what the whole study has paid so far, skipping the store
// at skip (whose own spending Run subtracts itself).
func (s *Study) studySpent(ctx context.Context, sharedDir, skip string) (float64, error) {
	spent, err := s.spentByStore(ctx, sharedDir)
	if err != nil {
		return 0, err
	}
	var total float64
	for d, v := range spent {
		if d != skip {
			total += v
		}
	}
	return total, nil
}

// budgetFor returns the BudgetUSD to give the run at dir: the study's cap
// less what every other store of the study spent. 0 means no cap.
func (s *Study) budgetFor(ctx context.Context, base Config, sharedDir, dir string) (float64, error) {
	if base.BudgetUSD <= 0 {
		return 0, nil
	}
	other, err := s.studySpent(ctx, sharedDir, dir)
	if err != nil {
		return 0, err
	}
	left := base.BudgetUSD - other
	if left <= 0 {
		return 0, fmt.Errorf("recovery: study budget of $%.2f already spent ($%.4f in %s): %w",
			base.BudgetUSD, other, s.Dir, providers.ErrBudgetExceeded)
	}
	return left, nil
}

// runShared calibrates the weak model and builds the shared prefixes in
// sharedDir.
func (s *Study) runShared(ctx context.Context, base Config, sharedDir string) error {
	st, err := OpenStore(sharedDir)
	if err != nil {
		return err
	}
	defer st.Close()
	cfg := base
	cfg.Dir = sharedDir
	cfg.Strong, cfg.StrongModel = base.Weak, "(study: shared stage)"
	cfg.Weak = nil
	if err := checkIdentity(ctx, st, &cfg); err != nil {
		return err
	}
	if err := st.PutProblems(ctx, cfg.Problems); err != nil {
		return err
	}
	if cfg.BudgetUSD, err = s.budgetFor(ctx, base, sharedDir, sharedDir); err != nil {
		return err
	}
	meter := &Meter{}
	var auto *AutoConcurrency
	if cfg.Concurrency == 0 && cfg.RPM > 0 {
		auto = NewAutoConcurrency(cfg.RPM)
	}
	weak, _, err := cfg.wrap(ctx, st, meter, auto)
	if err != nil {
		return err
	}
	exec := Exec{Concurrency: cfg.Concurrency, Auto: auto, Store: st, Meter: meter, Progress: cfg.Progress}
	ws := &StraightShot{Exec: exec, Stage: StageWeak, Model: cfg.WeakModel, Completer: weak,
		Verifier: cfg.Verifier, Samples: cfg.WeakSamples, Temperature: cfg.Temperature, MaxTokens: cfg.MaxTokens}
	if _, err := ws.Run(ctx, cfg.Problems); err != nil {
		return err
	}
	for _, name := range s.Shared {
		p, err := cfg.perturber(name, Models{Weak: weak, Traces: func(string) []perturb.Trace { return nil }})
		if err != nil {
			return err
		}
		ps := &PerturbStage{Exec: exec, Strategy: name, Perturber: p}
		if _, err := ps.Run(ctx, cfg.Problems); err != nil {
			return err
		}
	}
	return nil
}

// errSharedOnly is what a study model's weak completer answers: every weak
// call belongs to the shared stage, so a call here means a shared row was
// missing (it failed there) and is recorded as a failure, not paid twice.
var errSharedOnly = errors.New("recovery: study: weak-model calls are made once, in the shared stage; this row failed there (rerun the study to retry it)")

type sharedOnly struct{}

func (sharedOnly) Complete(context.Context, providers.Request) (providers.Completion, error) {
	return providers.Completion{}, errSharedOnly
}

// importShared copies the shared stage's finished rows into a model's
// store: weak samples, shared prefixes and the calls that built them, as
// cached rows that cost this model nothing.
func importShared(ctx context.Context, from, to *Store, shared []string) error {
	// A resumed study whose model already holds every shared row skips the
	// copy (shared rows are only ever added, never changed).
	if a, err := sharedRowCount(ctx, from, shared); err != nil {
		return err
	} else if b, err := sharedRowCount(ctx, to, shared); err != nil {
		return err
	} else if a == b {
		return nil
	}
	rows, err := from.querySamples(ctx, `stage = 'weak' OR stage = 'perturb'`)
	if err != nil {
		return err
	}
	for _, r := range rows {
		if r.Error != "" || (r.Stage == StagePerturb && !slices.Contains(shared, r.Prefix)) {
			continue
		}
		r.SavedUSD += r.CostUSD
		r.CostUSD, r.Cached = 0, true
		if err := to.PutSample(ctx, r); err != nil {
			return err
		}
	}
	pres, err := from.Prefixes(ctx, "")
	if err != nil {
		return err
	}
	for _, p := range pres {
		if p.Error != "" || !slices.Contains(shared, p.Strategy) {
			continue
		}
		p.CachedCalls, p.CostUSD = p.Calls, 0
		if err := to.PutPrefix(ctx, p); err != nil {
			return err
		}
	}
	return nil
}

// sharedRowCount counts the finished shared rows in st: weak samples,
// perturbation calls and prefixes of the shared strategies.
func sharedRowCount(ctx context.Context, st *Store, shared []string) (int, error) {
	if len(shared) == 0 {
		shared = []string{""}
	}
	in := strings.TrimSuffix(strings.Repeat("?,", len(shared)), ",")
	args := make([]any, len(shared))
	for i, s := range shared {
		args[i] = s
	}
	var n, m int
	q := `SELECT COUNT(*) FROM samples WHERE error = '' AND (stage = 'weak' OR (stage = 'perturb' AND prefix IN (` + in + `)))`
	if err := st.db.QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("recovery: study: count shared rows in %s: %w", st.Path(), err)
	}
	q = `SELECT COUNT(*) FROM prefixes WHERE error = '' AND strategy IN (` + in + `)`
	if err := st.db.QueryRowContext(ctx, q, args...).Scan(&m); err != nil {
		return 0, fmt.Errorf("recovery: study: count shared rows in %s: %w", st.Path(), err)
	}
	return n + m, nil
}

// runModels runs the models, up to s.Parallel at a time, after the shared
// stage. Budgets are fixed before any model starts: one providers.Budget
// holding what the study's cap leaves after every store's spending so far,
// shared by every model's calls (so models running at the same time can
// never spend past the cap together), and each Run's own BudgetUSD, the cap
// less what the other stores spent. After a model fails no further model
// starts; those running finish.
func (s *Study) runModels(ctx context.Context, base Config, sharedDir string) error {
	own := make([]float64, len(s.Models))
	var shared *providers.Budget
	if base.BudgetUSD > 0 {
		spent, err := s.spentByStore(ctx, sharedDir)
		if err != nil {
			return err
		}
		var total float64
		for _, v := range spent {
			total += v
		}
		left := base.BudgetUSD - total
		if left <= 0 {
			return fmt.Errorf("recovery: study budget of $%.2f already spent ($%.4f in %s): %w",
				base.BudgetUSD, total, s.Dir, providers.ErrBudgetExceeded)
		}
		for i, m := range s.Models {
			own[i] = left + spent[s.ModelDir(m.Spec)]
		}
		shared = providers.NewBudget(providers.BudgetConfig{LimitUSD: left, Prices: base.Prices,
			DefaultMaxTokens: base.MaxTokens, AllowUnpriced: base.AllowUnpriced, Batch: base.Batch})
	}
	from, err := OpenStore(sharedDir)
	if err != nil {
		return err
	}
	defer from.Close()
	par := max(1, min(s.Parallel, len(s.Models)))
	var (
		importMu sync.Mutex
		mu       sync.Mutex // guards errs and serializes progress
		errs     []error
		wg       sync.WaitGroup
		sem      = make(chan struct{}, par)
	)
	failed := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(errs) > 0
	}
	for i, m := range s.Models {
		sem <- struct{}{}
		if failed() || ctx.Err() != nil {
			<-sem
			break
		}
		cfg := base
		cfg.BudgetUSD, cfg.SharedBudget = own[i], shared
		switch {
		case s.ModelProgress != nil:
			cfg.Progress = func(e Event) { s.ModelProgress(m.Spec, e) }
		case par > 1 && base.Progress != nil:
			cfg.Progress = func(e Event) {
				mu.Lock()
				defer mu.Unlock()
				base.Progress(e)
			}
		}
		if s.Progress != nil {
			mu.Lock()
			s.Progress(m.Spec)
			mu.Unlock()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := s.runModel(ctx, cfg, from, &importMu, m); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("%s: %w", m.Spec, err))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil && len(errs) == 0 {
		return err
	}
	return errors.Join(errs...)
}

// spentByStore is what each store of the study (the shared stage and every
// model directory under models/) has paid so far, by directory.
func (s *Study) spentByStore(ctx context.Context, sharedDir string) (map[string]float64, error) {
	dirs := []string{sharedDir}
	ents, err := os.ReadDir(filepath.Join(s.Dir, StudyModels))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("recovery: study %s: %w", s.Dir, err)
	}
	for _, e := range ents {
		if e.IsDir() {
			dirs = append(dirs, filepath.Join(s.Dir, StudyModels, e.Name()))
		}
	}
	out := map[string]float64{}
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, StoreFile)); err != nil {
			continue
		}
		st, err := OpenStore(d)
		if err != nil {
			return nil, err
		}
		v, err := st.spentUSD(ctx)
		st.Close()
		if err != nil {
			return nil, err
		}
		out[d] = v
	}
	return out, nil
}

// runModel runs one strong model in its own directory on the shared rows;
// base carries the model's budgets and progress (runModels).
// The copy of the shared rows is made under importMu, one model at a time,
// from the one open shared store.
func (s *Study) runModel(ctx context.Context, base Config, from *Store, importMu *sync.Mutex, m StudyModel) error {
	dir := s.ModelDir(m.Spec)
	importMu.Lock()
	to, err := OpenStore(dir)
	if err == nil {
		err = importShared(ctx, from, to, s.Shared)
		to.Close()
	}
	importMu.Unlock()
	if err != nil {
		return fmt.Errorf("recovery: study: copy shared rows into %s: %w", dir, err)
	}
	cfg := base
	cfg.Dir = dir
	cfg.Strong, cfg.StrongModel = m.Completer, m.Spec
	cfg.Weak = sharedOnly{}
	if m.PrefillMethod != "" {
		cfg.PrefillMethod = m.PrefillMethod
	}
	if cfg.Title == "" || cfg.Title == "Rebound recovery run" {
		cfg.Title = fmt.Sprintf("%s: %s", s.Title, m.Spec)
	}
	_, err = Run(ctx, cfg)
	return err
}

// collect reads every model's store and computes the summaries and the
// comparison.
func (s *Study) collect(ctx context.Context, base Config, sharedDir string) (StudyResult, error) {
	var res StudyResult
	buckets := base.Binner.Buckets()
	if _, err := os.Stat(filepath.Join(sharedDir, StoreFile)); err == nil {
		st, err := OpenStore(sharedDir)
		if err != nil {
			return res, err
		}
		sum, err := Summarize(ctx, st, buckets)
		st.Close()
		if err != nil {
			return res, err
		}
		res.SharedCost = sum.Paid
	}
	var data []ModelCounts
	for _, m := range s.Models {
		dir := s.ModelDir(m.Spec)
		if _, err := os.Stat(filepath.Join(dir, StoreFile)); err != nil {
			continue
		}
		st, err := OpenStore(dir)
		if err != nil {
			return res, err
		}
		sum, err := Summarize(ctx, st, buckets)
		if err == nil {
			var mc ModelCounts
			mc, err = LoadModelCounts(ctx, st, m.Spec)
			data = append(data, mc)
		}
		st.Close()
		if err != nil {
			return res, err
		}
		res.Models = append(res.Models, ModelSummary{Model: m.Spec, Dir: filepath.Join(StudyModels, ModelDirName(m.Spec)), Summary: sum})
	}
	res.Comparison = Compare(data, CompareOptions{Buckets: buckets, Reference: s.Reference, Shared: s.Shared,
		Edges: base.Binner.Edges()})
	return res, nil
}
