// Package sim is a simulated math solver with known truth, for offline runs
// of the recovery experiment and for statistical tests of its estimators.
//
// A Solver answers the default prompt (perturb.Prompt: the question, a blank
// line, the instruction) for the problems it has been taught, writing the
// problem's gold steps one per line and a final line
// "The answer is \boxed{ANSWER}." Each problem has a true pass rate, drawn
// deterministically from a documented bimodal mixture (see Mixture, Strong
// and Weak), and a true recovery rate; a fresh sample is correct with the
// pass rate, and a wrong sample has one corrupted arithmetic result and a
// wrong final answer.
//
// Given Request.Prefill the Solver continues honestly: it reads how many gold
// steps the prefix holds and whether any of its numbers disagree with the
// gold solution. A clean prefix is continued to a correct answer with the
// pass rate; a flawed one is recovered ("Wait, ..." and the corrected steps)
// with the recovery rate, else carried on to a wrong answer. With
// probability Config.RestartProb it starts over instead ("Let me start
// over."), and the fresh answer is correct with the pass rate. The truth is
// exposed (Solver.Truth, Solver.ContinueProb) so tests can compare estimates
// with it.
//
// Importing the package registers the provider "sim" with providers.Open:
// "sim:strong" and "sim:weak" open Solvers preloaded with dataset.GSM8KTest
// and dataset.MATH500.
package sim

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rebound-lab/rebound/dataset"
	"github.com/rebound-lab/rebound/providers"
	"gonum.org/v1/gonum/stat/distuv"
)

// ErrUnknownProblem is wrapped by the error Complete returns when the last
// user message holds no question the Solver has been taught.
var ErrUnknownProblem = errors.New("sim: unknown problem")

// ErrNoQuestion is wrapped by the error Complete returns for a request
// without a user message.
var ErrNoQuestion = errors.New("sim: request has no user message")

// Component is one Beta(Alpha, Beta) component of a pass-rate mixture, with
// its mixing Weight. Beta(1, 1) is uniform.
type Component struct {
	Weight, Alpha, Beta float64
}

// Mixture is a distribution of true per-problem pass rates: a weighted sum of
// Beta densities. Weights need not sum to 1; they are normalized.
type Mixture []Component

// Mean is the mixture's mean pass rate.
func (m Mixture) Mean() float64 {
	var w, s float64
	for _, c := range m {
		w += c.Weight
		s += c.Weight * c.Alpha / (c.Alpha + c.Beta)
	}
	if w == 0 {
		return 0
	}
	return s / w
}

// CDF is the mixture's cumulative distribution function at x.
func (m Mixture) CDF(x float64) float64 {
	var w, s float64
	for _, c := range m {
		w += c.Weight
		s += c.Weight * distuv.Beta{Alpha: c.Alpha, Beta: c.Beta}.CDF(x)
	}
	if w == 0 {
		return 0
	}
	return s / w
}

// validate reports the first unusable component.
func (m Mixture) validate() error {
	if len(m) == 0 {
		return errors.New("sim: Config.PassRate: empty mixture")
	}
	var w float64
	for i, c := range m {
		if !(c.Weight >= 0) || !(c.Alpha > 0) || !(c.Beta > 0) || math.IsInf(c.Alpha+c.Beta+c.Weight, 0) {
			return fmt.Errorf("sim: Config.PassRate[%d]: want Weight ≥ 0, Alpha > 0, Beta > 0; got %+v", i, c)
		}
		w += c.Weight
	}
	if w == 0 {
		return errors.New("sim: Config.PassRate: all weights are zero")
	}
	return nil
}

// Config describes a simulated model. Build one from Strong or Weak and
// adjust fields; the zero Config is not usable (it has no mixture).
type Config struct {
	// Name is the preset or model name reported in Completion.Model and
	// used in the Endpoint ("strong", "weak").
	Name string
	// Seed selects the draw of true pass rates and of samples. Two Solvers
	// with the same Seed give every problem the same difficulty quantile u;
	// its pass rate is the PassRate mixture's u-quantile, so a problem hard
	// for the weak preset is hard for the strong one.
	Seed int64
	// PassRate is the distribution the true pass rates are drawn from.
	PassRate Mixture
	// RecoverBase and RecoverSlope set a problem's true recovery rate, the
	// probability that a continuation of a flawed prefix (one that does not
	// restart) ends correct: clamp(RecoverBase + RecoverSlope·passRate, 0, 1).
	RecoverBase, RecoverSlope float64
	// RestartProb is the probability that a continuation of a non-empty
	// prefix ignores it and starts over ("Let me start over." and a fresh
	// solution, correct with the pass rate).
	RestartProb float64
	// Latency is waited (honouring ctx) before each answer.
	Latency time.Duration
	// OutputScale multiplies the reported output tokens (0 means 1). The
	// simulator writes terse gold steps; real models write several times
	// more, so a dry run that prices a real model may set 3 to 5 here.
	OutputScale float64
	// Price, if non-nil, prices every call (CostUSD = Price.Cost(Usage)) so a
	// dry run on the simulator estimates a real model's dollars. Nil means
	// free: CostUSD 0, CostKnown true.
	Price *providers.Price
	// Behaviours, if non-nil, decides how a flawed prefix is continued: one
	// of five behaviours (explicit correction, silent recovery, restart,
	// propagated, other failure) drawn with probabilities that depend on
	// the flaw's magnitude and position (see Behaviours, Solver.Behaviour).
	// RecoverBase, RecoverSlope and RestartProb then apply only to prefixes
	// whose flaw the Solver cannot read a gold value for.
	Behaviours *Behaviours
	// Recovery, if non-nil, replaces RecoverBase and RecoverSlope: a
	// problem's true recovery rate is Recovery.ProblemRecovery of its true
	// pass rate (see RecoveryCurve).
	Recovery *RecoveryCurve
}

// Strong is the preset "strong". Pass rates come from the mixture
// 55 % Beta(8, 1.5) (mean 0.84, solved almost always), 25 % Beta(1.5, 8)
// (mean 0.16, almost never) and 20 % uniform; mean ≈ 0.60. Recovery rate is
// 0.15 + 0.7·passRate (0.15 to 0.85); RestartProb is 0.05.
func Strong() Config {
	return Config{
		Name: "strong",
		PassRate: Mixture{
			{Weight: 0.55, Alpha: 8, Beta: 1.5},
			{Weight: 0.25, Alpha: 1.5, Beta: 8},
			{Weight: 0.20, Alpha: 1, Beta: 1},
		},
		RecoverBase:  0.15,
		RecoverSlope: 0.7,
		RestartProb:  0.05,
	}
}

// Weak is the preset "weak": the same shapes shifted down, 25 %
// Beta(8, 1.5), 50 % Beta(1.5, 8) and 25 % uniform; mean ≈ 0.41. Recovery
// rate is 0.05 + 0.4·passRate (0.05 to 0.45); RestartProb is 0.05.
func Weak() Config {
	return Config{
		Name: "weak",
		PassRate: Mixture{
			{Weight: 0.25, Alpha: 8, Beta: 1.5},
			{Weight: 0.50, Alpha: 1.5, Beta: 8},
			{Weight: 0.25, Alpha: 1, Beta: 1},
		},
		RecoverBase:  0.05,
		RecoverSlope: 0.4,
		RestartProb:  0.05,
	}
}

// Truth is what the simulator knows about one problem.
type Truth struct {
	// PassRate is the probability that a fresh sample is correct.
	PassRate float64
	// RecoverRate is the probability that a continuation of a flawed prefix
	// that does not restart ends correct.
	RecoverRate float64
}

// Solver is a simulated math model. It answers only problems it has been
// taught (New, Teach) and keeps no per-call state. Its zero value is not
// usable; call New. A Solver is safe for concurrent use.
type Solver struct {
	cfg      Config
	endpoint providers.Endpoint
	quant    []float64 // quant[i] = mixture quantile of i/(len-1)

	mu     sync.RWMutex
	byID   map[string]*entry
	byQ    map[string]*entry   // trimmed question → entry
	byHead map[string][]*entry // first headLen bytes of trimmed question

	find   Finder // problems not taught (NewFinder), or nil
	recent recent // recently answered problems with their parsed gold
}

var _ providers.Completer = (*Solver)(nil)
var _ providers.Describer = (*Solver)(nil)

const (
	headLen   = 24
	quantGrid = 4096
)

// New returns a Solver for cfg that knows problems. It panics if cfg's
// mixture is unusable or its rates are outside [0, 1], like regexp.MustCompile:
// configurations are written by programmers, not read from input.
func New(cfg Config, problems ...dataset.Problem) *Solver {
	if err := cfg.PassRate.validate(); err != nil {
		panic(err)
	}
	if cfg.RestartProb < 0 || cfg.RestartProb > 1 || math.IsNaN(cfg.RestartProb) {
		panic(fmt.Sprintf("sim: Config.RestartProb %v outside [0, 1]", cfg.RestartProb))
	}
	if math.IsNaN(cfg.RecoverBase) || math.IsNaN(cfg.RecoverSlope) {
		panic("sim: Config.RecoverBase and RecoverSlope must be numbers")
	}
	if cfg.OutputScale < 0 || math.IsNaN(cfg.OutputScale) || math.IsInf(cfg.OutputScale, 0) {
		panic(fmt.Sprintf("sim: Config.OutputScale %v: want ≥ 0", cfg.OutputScale))
	}
	if cfg.Behaviours != nil {
		if err := cfg.Behaviours.validate(); err != nil {
			panic(err)
		}
	}
	if cfg.Recovery != nil {
		if err := cfg.Recovery.Validate(); err != nil {
			panic(err)
		}
	}
	if cfg.Name == "" {
		cfg.Name = "sim"
	}
	s := &Solver{
		cfg:    cfg,
		quant:  quantiles(cfg.PassRate, quantGrid),
		byID:   map[string]*entry{},
		byQ:    map[string]*entry{},
		byHead: map[string][]*entry{},
	}
	s.endpoint = providers.Endpoint{Provider: "sim", BaseURL: "sim://" + cfg.Name + "/" + cfg.fingerprint()}
	s.Teach(problems...)
	return s
}

// fingerprint identifies everything that changes the Solver's answers, so
// two differently configured Solvers never share cached completions.
func (c Config) fingerprint() string {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d|%v|%v|%v|%v", c.Seed, c.PassRate, c.RecoverBase, c.RecoverSlope, c.RestartProb)
	if c.Behaviours != nil {
		fmt.Fprintf(h, "|behaviours %v", c.Behaviours.Cells)
	}
	if c.Recovery != nil {
		fmt.Fprintf(h, "|%v", c.Recovery)
	}
	return strconv.FormatUint(h.Sum64(), 16)
}

// quantiles tabulates the mixture's inverse CDF at n+1 evenly spaced
// probabilities, inverting the CDF tabulated on a grid of 8,192 steps by
// linear interpolation (error far below 1e-3).
func quantiles(m Mixture, n int) []float64 {
	// Tabulate the CDF on a fine x grid, then invert by interpolation.
	const nx = 8192
	cdf := make([]float64, nx+1)
	for i := range cdf {
		cdf[i] = m.CDF(float64(i) / nx)
	}
	q := make([]float64, n+1)
	j := 0
	for i := range q {
		p := float64(i) / float64(n)
		for j < nx && cdf[j+1] < p {
			j++
		}
		if j >= nx {
			q[i] = 1
			continue
		}
		lo, hi := cdf[j], cdf[j+1]
		x := float64(j) / nx
		if hi > lo {
			x += (p - lo) / (hi - lo) / nx
		}
		q[i] = math.Min(1, math.Max(0, x))
	}
	return q
}

// Teach adds problems (or replaces those with the same ID). It is safe to
// call concurrently with Complete. A problem without Question is ignored.
func (s *Solver) Teach(problems ...dataset.Problem) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range problems {
		q := strings.TrimSpace(p.Question)
		if q == "" {
			continue
		}
		e := &entry{p: p, truth: s.truthFor(p.ID)}
		if old, ok := s.byID[p.ID]; ok {
			oq := strings.TrimSpace(old.p.Question)
			if s.byQ[oq] == old {
				delete(s.byQ, oq)
			}
			s.removeHead(old)
		}
		s.byID[p.ID] = e
		s.byQ[q] = e
		h := head(q)
		s.byHead[h] = append(s.byHead[h], e)
	}
}

func (s *Solver) removeHead(old *entry) {
	h := head(strings.TrimSpace(old.p.Question))
	list := s.byHead[h]
	for i, e := range list {
		if e == old {
			list = append(list[:i:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(s.byHead, h)
	} else {
		s.byHead[h] = list
	}
}

func head(q string) string {
	if len(q) > headLen {
		return q[:headLen]
	}
	return q
}

// Len reports how many problems the Solver knows.
func (s *Solver) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.byID)
}

// Config returns the Solver's configuration.
func (s *Solver) Config() Config { return s.cfg }

// Endpoint reports provider "sim" and a base URL naming the preset and a
// fingerprint of its configuration.
func (s *Solver) Endpoint() providers.Endpoint { return s.endpoint }

// truthFor draws a problem's truth: u = hash(Seed, ID) in (0, 1), pass rate
// = the mixture's u-quantile, recovery = clamp(base + slope·pass).
func (s *Solver) truthFor(id string) Truth {
	h := newHasher()
	h.int(s.cfg.Seed)
	h.str("difficulty")
	h.str(id)
	u := (float64(h.sum()>>11) + 0.5) / (1 << 53)
	x := u * float64(len(s.quant)-1)
	i := int(x)
	var p float64
	if i >= len(s.quant)-1 {
		p = s.quant[len(s.quant)-1]
	} else {
		f := x - float64(i)
		p = s.quant[i]*(1-f) + s.quant[i+1]*f
	}
	if c := s.cfg.Recovery; c != nil {
		return Truth{PassRate: p, RecoverRate: c.ProblemRecovery(p, s.recoveryDraw(id))}
	}
	return Truth{PassRate: p, RecoverRate: clamp01(s.cfg.RecoverBase + s.cfg.RecoverSlope*p)}
}

func clamp01(x float64) float64 { return math.Min(1, math.Max(0, x)) }

// Truth returns the true pass and recovery rates of a taught problem.
func (s *Solver) Truth(problemID string) (Truth, bool) {
	e, ok := s.entryByID(problemID)
	if !ok {
		return Truth{}, false
	}
	return e.truth, true
}

// ContinueProb is the exact probability that the Solver's continuation of
// prefix for the problem ends with a correct final answer: the pass rate
// for an empty or clean prefix; for a flawed one
// RestartProb·passRate + (1−RestartProb)·recoverRate. It returns NaN for an
// unknown problem.
func (s *Solver) ContinueProb(problemID, prefix string) float64 {
	e, ok := s.entryByID(problemID)
	if !ok {
		return math.NaN()
	}
	if strings.TrimSpace(prefix) == "" {
		return e.truth.PassRate
	}
	a := s.goldOf(e).analyze(prefix)
	if !a.flawed {
		return e.truth.PassRate
	}
	if s.cfg.Behaviours != nil {
		if f, ok := s.goldOf(e).flawOf(a); ok {
			m := s.cfg.Behaviours.mix(f)
			return m.Prob(BehaviourExplicit) + m.Prob(BehaviourSilent) + m.Prob(BehaviourRestart)*e.truth.PassRate
		}
	}
	r := s.cfg.RestartProb
	return r*e.truth.PassRate + (1-r)*e.truth.RecoverRate
}

// Flawed reports whether the Solver reads prefix as having gone wrong for
// the problem (some number disagrees with the gold solution), and how many
// gold steps it reads as done. ok is false for an unknown problem.
func (s *Solver) Flawed(problemID, prefix string) (flawed bool, stepsDone int, ok bool) {
	e, found := s.entryByID(problemID)
	if !found {
		return false, 0, false
	}
	a := s.goldOf(e).analyze(prefix)
	return a.flawed, a.progress, true
}

// lookup finds the problem whose question the message content holds:
// the one ctx names (dataset.WithProblem) if content holds its question,
// else a taught one, else one its Finder finds.
func (s *Solver) lookup(ctx context.Context, content string) (*entry, error) {
	c := strings.TrimSpace(content)
	if e := s.lookupNamed(ctx, c); e != nil {
		return e, nil
	}
	if s.find != nil && s.taughtNone() {
		// Nothing is taught: the Finder first, so that lookupTaught (whose
		// error quotes the prompt) runs only to fail.
		if f, ok, err := s.lookupFound(ctx, c); err != nil || ok {
			return f, err
		}
		return s.lookupTaught(c)
	}
	e, err := s.lookupTaught(c)
	if err != nil && s.find != nil {
		if f, ok, ferr := s.lookupFound(ctx, c); ferr != nil {
			return nil, ferr
		} else if ok {
			return f, nil
		}
	}
	return e, err
}

// taughtNone reports whether no problem is taught.
func (s *Solver) taughtNone() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.byID) == 0
}

// lookupNamed is the problem ctx names (dataset.WithProblem) when the
// trimmed content c holds its question and the Solver knows it: taught
// with the same question, or, with a Finder, any (the Finder is not asked:
// the harness names the problems it stored). It is nil otherwise, and the
// prompt decides.
func (s *Solver) lookupNamed(ctx context.Context, c string) *entry {
	p, ok := dataset.ProblemOf(ctx)
	if !ok {
		return nil
	}
	q := strings.TrimSpace(p.Question)
	if q == "" || !strings.Contains(c, q) {
		return nil
	}
	s.mu.RLock()
	e, taught := s.byID[p.ID]
	s.mu.RUnlock()
	if taught {
		if strings.TrimSpace(e.p.Question) != q {
			return nil
		}
		return e
	}
	if s.find == nil {
		return nil
	}
	key := dataset.QuestionKey(q)
	if r := s.recent.get(key); r != nil && r.e.p.ID == p.ID && strings.TrimSpace(r.e.p.Question) == q {
		return r.e
	}
	p.Meta = nil // the Solver does not read it; the run's copy may be large
	e = &entry{p: p, truth: s.truthFor(p.ID)}
	s.recent.put(key, &cached{e: e})
	return e
}

// lookupTaught finds a taught problem for the trimmed content c.
func (s *Solver) lookupTaught(c string) (*entry, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if e, ok := s.byQ[c]; ok {
		return e, nil
	}
	// The default prompt is question + "\n\n" + instruction; questions may
	// themselves hold blank lines, so try every cut from the right.
	for i := strings.LastIndex(c, "\n\n"); i > 0; i = strings.LastIndex(c[:i], "\n\n") {
		if e, ok := s.byQ[strings.TrimSpace(c[:i])]; ok {
			return e, nil
		}
	}
	var best *entry
	for _, e := range s.byHead[head(c)] {
		q := strings.TrimSpace(e.p.Question)
		if strings.HasPrefix(c, q) && (best == nil || len(q) > len(strings.TrimSpace(best.p.Question))) {
			best = e
		}
	}
	if best != nil {
		return best, nil
	}
	short := []rune(c)
	if len(short) > 60 {
		short = short[:60]
	}
	return nil, fmt.Errorf("%w: no taught question matches %q (first 60 characters of the last user message)", ErrUnknownProblem, string(short))
}

// Complete answers req: a fresh solution, or a continuation of req.Prefill.
// The text is a deterministic function of the Solver's Config, the problem,
// req.Sample, req.Temperature, req.Seed and req.Prefill. The problem is the
// one ctx names (dataset.WithProblem) if the last user message holds its
// question, else the one that message's question is. A request whose last
// user message holds no taught question fails with an error wrapping
// ErrUnknownProblem. Model is ignored; MaxTokens truncates the text (finish
// reason "length"); Stop is ignored.
func (s *Solver) Complete(ctx context.Context, req providers.Request) (providers.Completion, error) {
	if err := ctx.Err(); err != nil {
		return providers.Completion{}, err
	}
	start := time.Now()
	content, inChars := "", 0
	for _, m := range req.Messages {
		inChars += len(m.Content)
		if m.Role == providers.RoleUser {
			content = m.Content
		}
	}
	if content == "" {
		return providers.Completion{}, ErrNoQuestion
	}
	e, err := s.lookup(ctx, content)
	if err != nil {
		return providers.Completion{}, err
	}
	if s.cfg.Latency > 0 {
		t := time.NewTimer(s.cfg.Latency)
		select {
		case <-ctx.Done():
			t.Stop()
			return providers.Completion{}, ctx.Err()
		case <-t.C:
		}
	}
	text := s.write(e, req)
	finish := "stop"
	if req.MaxTokens > 0 && len(text) > 4*req.MaxTokens {
		text, finish = text[:4*req.MaxTokens], "length"
	}
	c := providers.Completion{
		Text:         text,
		FinishReason: finish,
		Usage: providers.Usage{
			InputTokens:  ceilDiv(inChars, 4) + ceilDiv(len(req.Prefill), 4),
			OutputTokens: max(1, ceilDiv(len(text), 4)),
		},
		CostKnown: true,
		Model:     s.cfg.Name,
		Provider:  "sim",
	}
	if s.cfg.OutputScale > 0 {
		c.Usage.OutputTokens = max(1, int(math.Round(float64(c.Usage.OutputTokens)*s.cfg.OutputScale)))
	}
	if req.Prefill != "" {
		c.PrefillMethod = providers.PrefillNative
	}
	if s.cfg.Price != nil {
		c.CostUSD = s.cfg.Price.Cost(c.Usage)
	}
	c.Latency = time.Since(start)
	return c, nil
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// write produces the answer text for req.
func (s *Solver) write(e *entry, req providers.Request) string {
	r := s.rngFor(e, req)
	g := s.goldOf(e)
	pass := e.truth.PassRate

	var b strings.Builder
	b.Grow(len(e.p.Solution) + len(e.p.Answer) + 128)
	uRestart, uCorrect := r.float(), r.float() // drawn in this order for every request
	if strings.TrimSpace(req.Prefill) == "" {
		g.write(&b, 0, uCorrect < pass, nil, &r)
		return b.String()
	}
	if !strings.HasSuffix(req.Prefill, "\n") {
		b.WriteByte('\n')
	}
	if s.cfg.Behaviours != nil && s.writeBehaviour(&b, e, req.Prefill, uRestart, uCorrect, &r) {
		return b.String()
	}
	if uRestart < s.cfg.RestartProb {
		b.WriteString("Let me start over.\n")
		g.write(&b, 0, uCorrect < pass, nil, &r)
		return b.String()
	}
	a := g.analyze(req.Prefill)
	switch {
	case !a.flawed:
		g.write(&b, a.progress, uCorrect < pass, nil, &r)
	case uCorrect < e.truth.RecoverRate:
		b.WriteString("Wait, that does not look right. Let me recheck the calculation.\n")
		from := a.progress
		if a.errStep >= 0 && a.errStep < from {
			from = a.errStep
		}
		g.write(&b, from, true, nil, &r)
	default:
		g.write(&b, a.progress, false, a.subst, &r)
	}
	return b.String()
}

// rngFor seeds the draws of one request: a function of the Solver's Config,
// the problem, req.Sample, req.Temperature, req.Seed and req.Prefill.
func (s *Solver) rngFor(e *entry, req providers.Request) rng {
	h := newHasher()
	h.int(s.cfg.Seed)
	h.str(s.cfg.Name)
	h.str(e.p.ID)
	h.int(int64(req.Sample))
	if req.Temperature != nil {
		h.int(int64(math.Float64bits(*req.Temperature)))
	} else {
		h.str("T")
	}
	if req.Seed != nil {
		h.int(*req.Seed)
	} else {
		h.str("S")
	}
	h.str(req.Prefill)
	return rng(h.sum())
}

// hasher is FNV-1a over length-prefixed fields, without allocation.
type hasher uint64

func newHasher() hasher { return 14695981039346656037 }

func (h *hasher) byte(c byte) { *h = (*h ^ hasher(c)) * 1099511628211 }

func (h *hasher) str(s string) {
	h.int(int64(len(s)))
	for i := 0; i < len(s); i++ {
		h.byte(s[i])
	}
}

func (h *hasher) int(v int64) {
	for i := 0; i < 8; i++ {
		h.byte(byte(v >> (8 * i)))
	}
}

// sum finalizes with a splitmix64 mix so nearby inputs give unrelated bits.
func (h hasher) sum() uint64 { r := rng(h); return r.next() }

// rng is splitmix64.
type rng uint64

func (r *rng) next() uint64 {
	*r += 0x9e3779b97f4a7c15
	z := uint64(*r)
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// float is uniform in [0, 1).
func (r *rng) float() float64 { return float64(r.next()>>11) / (1 << 53) }

// intn is uniform in [0, n).
func (r *rng) intn(n int) int { return int(r.next() % uint64(n)) }
