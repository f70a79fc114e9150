package recovery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/rebound-lab/rebound/dataset"
	"github.com/rebound-lab/rebound/perturb"
	"github.com/rebound-lab/rebound/providers"
	"github.com/rebound-lab/rebound/verify"
)

// DefaultSamples is StraightShot's samples per problem when Samples is 0,
// and Continue's continuations per prefix when K is 0.
const DefaultSamples = 5

// StraightShot samples a model on each problem with no prefix — N samples
// with distinct Request.Sample 0 … N-1 under perturb.Prompt — and verifies
// each against the problem's answer, giving a per-problem pass rate k/n.
//
// With Stop set, sampling is adaptive: problems are sampled in rounds
// (MinSamples first, then one at a time) and a problem stops as soon as
// Stop(k, n) says its bucket is settled, or at Samples.
//
// Completer, Model and Verifier are required. A StraightShot is safe to Run
// from several goroutines if its Completer and Verifier are.
type StraightShot struct {
	Exec
	// Stage labels the rows: StageStrong or StageWeak.
	Stage string
	// Model is the spec recorded with every sample ("sim:strong"); the part
	// after the first colon is sent as Request.Model.
	Model     string
	Completer providers.Completer
	Verifier  verify.Verifier
	// Samples is the most samples per problem (N); 0 means DefaultSamples.
	Samples int
	// Stop, if set, makes sampling adaptive; see StraightShot.
	Stop func(k, n int) bool
	// MinSamples is the first adaptive round's size; 0 means 1.
	MinSamples int
	// Temperature and MaxTokens are sent as given.
	Temperature *float64
	MaxTokens   int
	// RunSeed, if set, gives every sample its own seed,
	// providers.SampleSeed(*RunSeed, problem, Stage, sample), sent where
	// the completer accepts seeds (providers.AcceptsSampleSeeds) and
	// recorded on the row.
	RunSeed *int64
	// ReasoningEffort is sent as Request.ReasoningEffort ("" sends none).
	ReasoningEffort string
}

// sampleSeed is the seed to send for one sample, or nil.
func sampleSeed(run *int64, c providers.Completer, problem, stage string, sample int) *int64 {
	if run == nil || !providers.AcceptsSampleSeeds(c) {
		return nil
	}
	return providers.Int64(providers.SampleSeed(*run, problem, stage, sample))
}

// Calibration is one problem's straight-shot result.
type Calibration struct {
	Problem dataset.Problem
	// K of N verified samples were correct (samples that failed are not
	// counted in N).
	K, N int
	// Samples by index, including failed ones (Error set). With a Store,
	// their Request is left empty here (it is in the store).
	Samples []Sample
}

// Rate is K/N, or 0 when N is 0.
func (c Calibration) Rate() float64 { return ratio(c.K, c.N) }

// RequestModel returns the model name to send for spec "provider:model"
// (spec itself if it has no colon).
func RequestModel(spec string) string {
	if _, m, err := providers.ParseSpec(spec); err == nil {
		return m
	}
	return spec
}

// Run calibrates problems and returns their results in order. It returns an
// error only for fatal failures (see IsFatal); other failures are recorded
// in the failed sample's Error.
func (s *StraightShot) Run(ctx context.Context, problems []dataset.Problem) ([]Calibration, error) {
	if s.Completer == nil || s.Verifier == nil || s.Model == "" {
		return nil, errors.New("recovery: StraightShot needs a Completer, a Model and a Verifier")
	}
	if s.Stage == "" {
		s.Stage = StageStrong
	}
	n := s.Samples
	if n <= 0 {
		n = DefaultSamples
	}
	done, err := loadDone(ctx, s.Store, s.Stage)
	if err != nil {
		return nil, err
	}
	out := make([]Calibration, len(problems))
	for i, p := range problems {
		out[i] = Calibration{Problem: p, Samples: make([]Sample, 0, n)}
	}
	prog := newProgress(&s.Exec, s.Stage, len(problems)*n)

	type job struct{ prob, sample int }
	first := n
	if s.Stop != nil {
		first = max(1, min(n, s.MinSamples))
	}
	var jobs []job
	for i := range problems {
		for j := range first {
			jobs = append(jobs, job{i, j})
		}
	}
	stopped := make([]bool, len(problems))
	var fails failures
	for len(jobs) > 0 {
		res := make([]Sample, len(jobs))
		err := s.fanOut(ctx, len(jobs), func(ctx context.Context, x int) error {
			jb := jobs[x]
			p := problems[jb.prob]
			if r, ok := done[doneKey{p.ID, "", jb.sample}]; ok {
				res[x] = r
				fails.resumed()
				prog.item(1, "", 1)
				return nil
			}
			r, err := s.sample(ctx, p, jb.sample)
			if err != nil {
				return err
			}
			fails.note(r.Error)
			res[x] = r
			prog.step(1)
			return nil
		})
		if err == nil {
			err = fails.err(s.Stage, s.Model)
		}
		if err != nil {
			return out, err
		}
		for x, jb := range jobs {
			c := &out[jb.prob]
			c.Samples = append(c.Samples, res[x])
			if res[x].Error == "" {
				c.N++
				if res[x].Correct {
					c.K++
				}
			}
		}
		jobs = jobs[:0]
		if s.Stop == nil {
			break
		}
		for i := range out {
			c := out[i]
			next := len(c.Samples)
			if next >= n || stopped[i] {
				continue
			}
			if s.Stop(c.K, c.N) {
				stopped[i] = true
				prog.step(n - next) // settled early: the rest will not be sampled
				continue
			}
			jobs = append(jobs, job{i, next})
		}
	}
	if s.Store != nil {
		for _, c := range out {
			if err := s.Store.PutCalibration(detach(ctx), c.Problem.ID, s.Stage, c.K, c.N); err != nil {
				return out, err
			}
		}
	}
	return out, nil
}

// request is the request of sample idx of p (also what Preflight checks).
func (s *StraightShot) request(p dataset.Problem, idx int) providers.Request {
	return providers.Request{
		Model:       RequestModel(s.Model),
		Messages:    perturb.Prompt(p),
		Temperature: s.Temperature,
		MaxTokens:   s.MaxTokens,
		Sample:      idx,
		Seed:        sampleSeed(s.RunSeed, s.Completer, p.ID, s.Stage, idx),

		ReasoningEffort: s.ReasoningEffort,
	}
}

func (s *StraightShot) sample(ctx context.Context, p dataset.Problem, idx int) (Sample, error) {
	req := s.request(p, idx)
	r := Sample{Stage: s.Stage, ProblemID: p.ID, Sample: idx, Model: s.Model, Request: requestJSON(req), Seed: req.Seed}
	c, err := s.Completer.Complete(dataset.WithProblem(ctx, p), req)
	if err != nil {
		if IsFatal(err) {
			return r, fmt.Errorf("recovery: %s sample %d of problem %s: %w", s.Stage, idx, p.ID, err)
		}
		r.Error = err.Error()
		return s.put(ctx, r)
	}
	fillCompletion(&r, c)
	v, err := s.Verifier.Verify(detach(ctx), p.Answer, c.Text)
	fillVerdict(&r, v, err)
	return s.put(ctx, r)
}

// put records r in the store, if any, and returns it; with a store the
// returned copy leaves out the request JSON (it is in the store), which
// keeps large runs small in memory.
func (s *StraightShot) put(ctx context.Context, r Sample) (Sample, error) {
	if s.Store == nil {
		return r, nil
	}
	err := s.Store.PutSample(detach(ctx), r)
	r.Request = ""
	return r, err
}

func requestJSON(req providers.Request) string {
	b, err := json.Marshal(req)
	if err != nil {
		return ""
	}
	return string(b)
}

func fillCompletion(r *Sample, c providers.Completion) {
	r.Provider = c.Provider
	r.ServedModel = c.Model
	r.Response = c.Text
	r.FinishReason = c.FinishReason
	r.InputTokens = c.Usage.InputTokens
	r.OutputTokens = c.Usage.OutputTokens
	r.CostUSD = c.CostUSD
	r.PrefillMethod = string(c.PrefillMethod)
	r.LatencyMS = float64(c.Latency) / float64(time.Millisecond)
	r.Cached = c.Cached
	r.SavedUSD = c.SavedUSD
	r.Upstream = c.Upstream
	r.Reasoning = c.Reasoning
	r.Batch = c.Batch
}

func fillVerdict(r *Sample, v verify.Verdict, err error) {
	if err != nil {
		r.Error = "verify: " + err.Error()
		return
	}
	r.Correct = v.Correct
	r.Answer = v.Answer
	r.Reason = v.Reason
	r.Rule = v.Rule
}

type doneKey struct {
	problem, prefix string
	sample          int
}

// loadDone returns the finished (error-free) rows of a stage, for resuming.
func loadDone(ctx context.Context, st *Store, stage string) (map[doneKey]Sample, error) {
	done := map[doneKey]Sample{}
	if st == nil {
		return done, nil
	}
	rows, err := st.StageSamples(ctx, stage)
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		if r.Error == "" {
			done[doneKey{r.ProblemID, r.Prefix, r.Sample}] = r
		}
	}
	return done, nil
}

// PerturbStage builds one prefix per problem with a Perturber and records
// set-aside outcomes by reason (see SetAsideReason). Wrap the perturber's
// completers with Exec.Meter to have the calls each prefix cost recorded on
// its row.
type PerturbStage struct {
	Exec
	// Strategy names the prefixes ("weak", "onpolicy", "inject",
	// "labeled"); it keys the rows, so two strategies coexist in one run.
	Strategy  string
	Perturber perturb.Perturber
}

// PrefixResult is one problem's perturbation outcome: a Prefix, or a
// set-aside reason, or a per-item Error.
type PrefixResult struct {
	Problem  dataset.Problem
	Strategy string
	Prefix   perturb.Prefix
	// SetAside is the reason no prefix was built, "" otherwise.
	SetAside string
	// Error is a failure that is neither a set-aside outcome nor fatal.
	Error string
	// Cost of the calls made while building it (needs Exec.Meter).
	Cost Cost
}

// OK reports whether the result holds a usable prefix.
func (r PrefixResult) OK() bool { return r.SetAside == "" && r.Error == "" }

// Run perturbs problems and returns their results in order; only fatal
// failures are returned as errors.
func (s *PerturbStage) Run(ctx context.Context, problems []dataset.Problem) ([]PrefixResult, error) {
	if s.Perturber == nil || s.Strategy == "" {
		return nil, errors.New("recovery: PerturbStage needs a Perturber and a Strategy")
	}
	done := map[string]Prefix{}
	if s.Store != nil {
		rows, err := s.Store.Prefixes(ctx, "")
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			if r.Strategy == s.Strategy && r.Error == "" {
				done[r.ProblemID] = r
			}
		}
	}
	out := make([]PrefixResult, len(problems))
	prog := newProgress(&s.Exec, StagePerturb, len(problems))
	var fails failures
	err := s.fanOut(ctx, len(problems), func(ctx context.Context, i int) error {
		p := problems[i]
		if row, ok := done[p.ID]; ok {
			out[i] = prefixResultFromRow(p, row)
			fails.resumed()
			prog.item(1, s.Strategy, row.Calls)
			return nil
		}
		r, err := s.one(ctx, p)
		if err != nil {
			return err
		}
		fails.note(r.Error)
		out[i] = r
		prog.item(1, s.Strategy, -1)
		return nil
	})
	if err == nil {
		err = fails.err(StagePerturb+" ("+s.Strategy+")", "its perturber")
	}
	return out, err
}

// one perturbs p and records the result in the store, if any; the error is
// a fatal one (or the store's), every other outcome is in the result.
func (s *PerturbStage) one(ctx context.Context, p dataset.Problem) (PrefixResult, error) {
	t := &tally{store: s.Store, problem: p.ID, strategy: s.Strategy}
	pre, err := s.Perturber.Perturb(context.WithValue(dataset.WithProblem(ctx, p), tallyKey{}, t), p)
	r := PrefixResult{Problem: p, Strategy: s.Strategy, Prefix: pre, Cost: t.get()}
	switch {
	case err == nil:
		if pre.Strategy == "" {
			r.Prefix.Strategy = s.Strategy
		}
	case SetAsideReason(err) != "":
		r.SetAside = SetAsideReason(err)
	case IsFatal(err):
		return r, fmt.Errorf("recovery: perturb (%s) problem %s: %w", s.Strategy, p.ID, err)
	default:
		r.Error = err.Error()
	}
	if s.Store != nil {
		return r, s.Store.PutPrefix(detach(ctx), prefixRow(r))
	}
	return r, nil
}

func prefixRow(r PrefixResult) Prefix {
	p := r.Prefix
	return Prefix{ProblemID: r.Problem.ID, Strategy: r.Strategy, SetAside: r.SetAside, Error: r.Error,
		Text: p.Text, Source: p.Source, StepsKept: p.StepsKept, StepsTotal: p.StepsTotal, Depth: p.Depth(),
		Origin: p.Origin, ErrorStep: p.ErrorStep, Meta: p.Meta,
		Calls: r.Cost.Calls, CachedCalls: r.Cost.CachedCalls, InputTokens: r.Cost.InputTokens,
		OutputTokens: r.Cost.OutputTokens, CostUSD: r.Cost.USD}
}

func prefixResultFromRow(p dataset.Problem, row Prefix) PrefixResult {
	return PrefixResult{Problem: p, Strategy: row.Strategy, SetAside: row.SetAside, Error: row.Error,
		Prefix: perturb.Prefix{Text: row.Text, Source: row.Source, StepsKept: row.StepsKept, StepsTotal: row.StepsTotal,
			Strategy: row.Strategy, Origin: row.Origin, ErrorStep: row.ErrorStep, Meta: row.Meta,
			Usage:   providers.Usage{InputTokens: row.InputTokens, OutputTokens: row.OutputTokens},
			CostUSD: row.CostUSD},
		Cost: Cost{Calls: row.Calls, CachedCalls: row.CachedCalls, InputTokens: row.InputTokens,
			OutputTokens: row.OutputTokens, USD: row.CostUSD}}
}

// Continue has the strong model continue each prefix K times as its own
// text (Request.Prefill, Sample 0 … K-1, under perturb.Prompt), flags
// continuations that start over (providers.DetectRestart), and verifies
// prefix + continuation as the full trace. With a Store, each verified
// continuation is stored with its behaviour label (as LabelBehaviours
// would give the stored row).
type Continue struct {
	Exec
	// Model is the spec recorded with every row; see StraightShot.Model.
	Model     string
	Completer providers.Completer
	Verifier  verify.Verifier
	// K continuations per prefix; 0 means DefaultSamples.
	K int
	// PrefillMethod asks for a prefill dialect ("" = the adapter's native).
	PrefillMethod providers.PrefillMethod
	Temperature   *float64
	MaxTokens     int
	// RunSeed, if set, gives every continuation its own seed (see
	// StraightShot.RunSeed; the stage key is "continue/" + strategy).
	RunSeed *int64
	// PrefillTarget says where the prefix goes for a reasoning model
	// (providers.PrefillTargetAnswer or PrefillTargetReasoning); "" means
	// the answer.
	PrefillTarget string
	// ReasoningEffort is sent as Request.ReasoningEffort ("" sends none).
	ReasoningEffort string
}

// Continued is one prefix's continuations.
type Continued struct {
	PrefixResult
	// Samples are the K continuations by index (Stage StageContinue). With
	// a Store, their Request is left empty here (it is in the store).
	Samples []Sample
}

// Run continues every usable prefix in items (others are skipped) and
// returns one Continued per usable prefix, in order.
func (s *Continue) Run(ctx context.Context, items []PrefixResult) ([]Continued, error) {
	if s.Completer == nil || s.Verifier == nil || s.Model == "" {
		return nil, errors.New("recovery: Continue needs a Completer, a Model and a Verifier")
	}
	k := s.K
	if k <= 0 {
		k = DefaultSamples
	}
	done, err := loadDone(ctx, s.Store, StageContinue)
	if err != nil {
		return nil, err
	}
	var out []Continued
	for _, it := range items {
		if it.OK() {
			out = append(out, Continued{PrefixResult: it, Samples: make([]Sample, k)})
		}
	}
	prog := newProgress(&s.Exec, StageContinue, len(out)*k)
	var fails failures
	err = s.fanOut(ctx, len(out)*k, func(ctx context.Context, x int) error {
		c := &out[x/k]
		j := x % k
		if r, ok := done[doneKey{c.Problem.ID, c.Strategy, j}]; ok {
			c.Samples[j] = r
			fails.resumed()
			prog.item(1, c.Strategy, 1)
			return nil
		}
		r, err := s.continueOne(ctx, c.PrefixResult, j)
		if err != nil {
			return err
		}
		fails.note(r.Error)
		c.Samples[j] = r
		prog.item(1, c.Strategy, -1)
		return nil
	})
	if err == nil {
		err = fails.err(StageContinue, s.Model)
	}
	return out, err
}

// request is the request of continuation j of it (also what Preflight
// checks).
func (s *Continue) request(it PrefixResult, j int) providers.Request {
	return providers.Request{
		Model:         RequestModel(s.Model),
		Messages:      perturb.Prompt(it.Problem),
		Prefill:       it.Prefix.Text,
		PrefillMethod: s.PrefillMethod,
		Temperature:   s.Temperature,
		MaxTokens:     s.MaxTokens,
		Sample:        j,
		Seed:          sampleSeed(s.RunSeed, s.Completer, it.Problem.ID, StageContinue+"/"+it.Strategy, j),
		PrefillTarget: s.PrefillTarget,

		ReasoningEffort: s.ReasoningEffort,
	}
}

func (s *Continue) continueOne(ctx context.Context, it PrefixResult, j int) (Sample, error) {
	p := it.Problem
	req := s.request(it, j)
	r := Sample{Stage: StageContinue, ProblemID: p.ID, Prefix: it.Strategy, Sample: j, Model: s.Model,
		Request: requestJSON(req), Seed: req.Seed}
	c, err := s.Completer.Complete(dataset.WithProblem(ctx, p), req)
	if err != nil {
		if IsFatal(err) {
			return r, fmt.Errorf("recovery: continuation %d of %s prefix of problem %s: %w", j, it.Strategy, p.ID, err)
		}
		r.Error = err.Error()
		return s.put(ctx, r)
	}
	fillCompletion(&r, c)
	cont := c.Text
	if s.PrefillTarget == providers.PrefillTargetReasoning {
		// The prefix was placed in the reasoning: its continuation is the
		// rest of the reasoning, the answer comes after.
		cont = c.Reasoning
	}
	rs := providers.DetectRestart(p.Question, it.Prefix.Text, cont)
	r.Restarted, r.RestartReason = rs.Restarted, rs.Reason
	v, err := s.Verifier.Verify(detach(ctx), p.Answer, it.Prefix.Text+c.Text)
	fillVerdict(&r, v, err)
	if r.Error == "" && s.Store != nil {
		// Labelled now, as LabelBehaviours would label the stored row, so
		// the run's last pass has nothing left to read and rewrite.
		lb := labelContinuation(r, it.Prefix, p)
		r.label = &lb
	}
	if c.PrefillEchoed && s.Store != nil {
		if err := s.Store.putFlag(detach(ctx), r, CondEchoed); err != nil {
			return r, err
		}
	}
	return s.put(ctx, r)
}

// put records r in the store, if any, and returns it; with a store the
// returned copy leaves out the request JSON (it is in the store), which
// keeps large runs small in memory.
func (s *Continue) put(ctx context.Context, r Sample) (Sample, error) {
	if s.Store == nil {
		return r, nil
	}
	err := s.Store.PutSample(detach(ctx), r)
	r.Request, r.label = "", nil
	return r, err
}
