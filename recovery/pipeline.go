package recovery

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/rebound-lab/rebound/dataset"
	"github.com/rebound-lab/rebound/perturb"
	"github.com/rebound-lab/rebound/providers"
)

// The pipeline is Run's driver: each problem goes through the stages on its
// own — strong and weak straight shots (at once), then every strategy's
// perturbation, then each prefix's continuations as soon as that prefix is
// built — while other problems are at other stages. There is no barrier
// between stages, so the rate limit is never left idle at a stage's tail,
// and only the problems in flight are in memory.
//
// The results are the ones the stage types (StraightShot, PerturbStage,
// Continue, Bin) give when run one after another: every request, every
// seed, the adaptive stopping rule, the perturbers' choices and each
// strategy's inputs depend only on the problem's own results. The one
// global step, assigning buckets with a prior fitted to every problem's
// counts, is a reporting step after the last calibration (binStored); no
// stage reads buckets. The on-policy band is applied to the problem's own
// straight-shot pass rate (perturb.OnPolicy), so it needs nothing global.
//
// Two slot pools bound the work: calls (one per straight shot, perturbation
// or continuation in progress: Exec.Concurrency, or Exec.Auto's limit) and
// problems in flight (twice the calls plus a few, so that problems in a
// phase with a single call at a time — the weak model's sequential tries —
// never starve the calls).

// pipeline is one run of the driver.
type pipeline struct {
	cfg          *Config
	exec         Exec
	strong, weak *StraightShot
	nStrong      int
	perturbs     []*PerturbStage
	cont         *Continue
	k            int

	calls, problems *slots

	strongP, weakP, perturbP, contP *progress
	strongF, weakF, contF           failures
	perturbF                        []failures

	// Each straight-shot stage's gate opens when one of its calls
	// succeeds (or a result is reused): until then no problem goes on to
	// perturbation, so a model whose every call fails stops the run before
	// anything is paid downstream, as the stage's barrier did.
	strongG, weakG *gate
	fed            atomic.Int64 // problems handed to the pipeline
	feedDone       atomic.Bool
	strongN, weakN atomic.Int64 // problems whose calibration ended

	traces sync.Map // problem ID → []perturb.Trace, while the problem is in flight

	// abort ends the context every problem runs under at the first fatal
	// error, so no new call starts while the failing problem winds down.
	abort context.CancelCauseFunc
}

// fail aborts the pipeline with err (if any) and returns it.
func (pl *pipeline) fail(err error) error {
	if err != nil {
		pl.abort(err)
	}
	return err
}

// pipelineProblems is the most problems in flight for a call limit.
func pipelineProblems(calls int) int { return 2*calls + DefaultConcurrency }

func (cfg *Config) newPipeline(ctx context.Context, exec Exec, strong, weak providers.Completer, total int) (*pipeline, error) {
	pl := &pipeline{cfg: cfg, exec: exec, strongG: newGate(), weakG: newGate()}
	pl.strong = cfg.strongStage(exec, strong)
	if cfg.Adaptive != nil {
		plan, binner := *cfg.Adaptive, cfg.Binner
		pl.strong.Stop = func(k, n int) bool { return plan.Done(binner, k, n) }
		pl.strong.MinSamples = plan.Min
	}
	pl.nStrong = cfg.Samples
	pl.strongP = newProgress(&pl.exec, StageStrong, total*pl.nStrong)
	if cfg.NoWeak {
		pl.weakG.open(nil)
	} else {
		pl.weak = cfg.weakStage(exec, weak)
		pl.weakP = newProgress(&pl.exec, StageWeak, total*cfg.WeakSamples)
	}
	m := Models{Strong: strong, Weak: weak, Traces: pl.tracesOf(ctx),
		StrongModel: cfg.StrongModel, WeakModel: cfg.WeakModel, Verifier: cfg.Verifier, Seed: cfg.Seed, Cut: cfg.Cut}
	for _, name := range cfg.Strategies {
		p, err := cfg.perturber(name, m)
		if err != nil {
			return nil, err
		}
		pl.perturbs = append(pl.perturbs, &PerturbStage{Exec: exec, Strategy: name, Perturber: p})
	}
	pl.perturbF = make([]failures, len(pl.perturbs))
	pl.perturbP = newProgress(&pl.exec, StagePerturb, total*len(pl.perturbs))
	pl.cont = cfg.continueStage(exec, strong)
	pl.k = cfg.Continuations
	pl.contP = newProgress(&pl.exec, StageContinue, 0) // grows as prefixes are built
	// One lock for every stage's events: Exec.Progress hears one at a time.
	for _, p := range []*progress{pl.strongP, pl.weakP, pl.perturbP, pl.contP} {
		if p != nil {
			p.mu = pl.strongP.mu
		}
	}

	limit := func() int { return max(1, exec.Concurrency) }
	if exec.Concurrency <= 0 {
		limit = func() int { return DefaultConcurrency }
	}
	if exec.Auto != nil {
		limit = exec.Auto.Limit
	}
	pl.calls = newSlots(ctx, limit)
	pl.problems = newSlots(ctx, func() int { return pipelineProblems(limit()) })
	return pl, nil
}

// tracesOf is Models.Traces: the strong model's error-free straight-shot
// traces of a problem, in sample order — from memory while the problem is
// in flight (its perturbers run then), else read from the store.
func (pl *pipeline) tracesOf(ctx context.Context) func(string) []perturb.Trace {
	return func(id string) []perturb.Trace {
		if t, ok := pl.traces.Load(id); ok {
			return t.([]perturb.Trace)
		}
		rows, err := pl.exec.Store.Samples(detach(ctx), id)
		if err != nil {
			return nil
		}
		var out []perturb.Trace
		for _, s := range rows {
			if s.Stage == StageStrong {
				out = appendTrace(out, s, pl.cfg.StrongModel)
			}
		}
		return out
	}
}

func appendTrace(ts []perturb.Trace, s Sample, origin string) []perturb.Trace {
	if s.Error != "" {
		return ts
	}
	return append(ts, perturb.Trace{Text: s.Response, Correct: s.Correct, Origin: origin, Sample: s.Sample})
}

// stages runs the experiment through the pipeline, then assigns buckets.
func (cfg *Config) stages(ctx context.Context, exec Exec, strong, weak providers.Completer) error {
	n := cfg.admitted.n // counted by admitProblems
	if n == 0 {
		n = len(cfg.Problems)
	}
	g, gctx := errgroup.WithContext(ctx)
	gctx, abort := context.WithCancelCause(gctx)
	defer abort(nil)
	pl, err := cfg.newPipeline(gctx, exec, strong, weak, n)
	if err != nil {
		return err
	}
	pl.abort = abort
	g.Go(func() error { return pl.feed(gctx, g, cfg.source()) })
	err = g.Wait()
	if cause := context.Cause(gctx); cause != nil && !errors.Is(cause, context.Canceled) {
		err = cause // the first fatal error, not a problem that stopped because of it
	}
	if err == nil {
		err = ctx.Err()
	}
	if pl.feedDone.Load() && pl.strongN.Load() == pl.fed.Load() && pl.strongG.err() == nil {
		// Every problem is calibrated: assign the buckets, even if a
		// later stage stopped the run (the barrier driver had by then).
		if berr := cfg.binStored(ctx, exec.Store); berr != nil && err == nil {
			err = berr
		}
	}
	if err != nil {
		return err
	}
	for i, ps := range pl.perturbs {
		if err := pl.perturbF[i].err(StagePerturb+" ("+ps.Strategy+")", "its perturber"); err != nil {
			return err
		}
	}
	return pl.contF.err(StageContinue, cfg.StrongModel)
}

// feed hands the problems to the pipeline in order, a problem slot each,
// reading them from src a chunk at a time and what each chunk of them
// already finished in one go.
func (pl *pipeline) feed(ctx context.Context, g *errgroup.Group, src dataset.Source) error {
	err := src.Each(ctx, func(problems []dataset.Problem) error {
		for lo := 0; lo < len(problems); lo += doneChunk {
			if err := pl.feedChunk(ctx, g, problems[lo:min(lo+doneChunk, len(problems))]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	pl.feedDone.Store(true)
	pl.settle()
	return nil
}

// feedChunk feeds one chunk of at most doneChunk problems.
func (pl *pipeline) feedChunk(ctx context.Context, g *errgroup.Group, chunk []dataset.Problem) error {
	ids := make([]string, len(chunk))
	for i, p := range chunk {
		ids[i] = p.ID
	}
	done, err := pl.exec.Store.doneFor(ctx, ids)
	if err != nil {
		return err
	}
	for _, p := range chunk {
		if err := pl.problems.acquire(ctx, 0); err != nil {
			return err
		}
		d := done[p.ID]
		delete(done, p.ID)
		pl.fed.Add(1)
		g.Go(func() error {
			defer pl.problems.release()
			return pl.fail(pl.problem(ctx, p, d))
		})
	}
	return nil
}

// settle closes a straight-shot gate once every problem fed has been
// calibrated by that stage without one call succeeding: the stage failed
// (ErrStageFailed) unless nothing was attempted.
func (pl *pipeline) settle() {
	if !pl.feedDone.Load() {
		return
	}
	fed := pl.fed.Load()
	if pl.strongN.Load() == fed {
		pl.strongG.open(pl.strongF.err(StageStrong, pl.cfg.StrongModel))
	}
	if pl.weak != nil && pl.weakN.Load() == fed {
		pl.weakG.open(pl.weakF.err(StageWeak, pl.cfg.WeakModel))
	}
}

// problem takes one problem through every stage. The weak model's
// strategy needs only the weak straight shots (its first tries are their
// requests, answered by the cache), so it starts as soon as they are done;
// the other strategies wait for the strong ones (their traces).
func (pl *pipeline) problem(ctx context.Context, p dataset.Problem, d *problemDone) error {
	defer pl.traces.Delete(p.ID)
	g, gctx := errgroup.WithContext(ctx)
	strongDone := make(chan struct{})
	g.Go(func() error {
		cal, err := pl.calibrate(gctx, pl.strong, pl.nStrong, p, d, pl.strongP, &pl.strongF, pl.strongG)
		if err != nil {
			return err
		}
		var traces []perturb.Trace
		for _, s := range cal.Samples {
			traces = appendTrace(traces, s, pl.cfg.StrongModel)
		}
		pl.traces.Store(p.ID, traces)
		pl.strongN.Add(1)
		pl.settle()
		close(strongDone)
		return nil
	})
	if pl.weak != nil {
		if _, err := pl.calibrate(gctx, pl.weak, pl.cfg.WeakSamples, p, d, pl.weakP, &pl.weakF, pl.weakG); err != nil {
			_ = g.Wait()
			return err
		}
		pl.weakN.Add(1)
		pl.settle()
	}
	if !pl.strongG.isOpen() || !pl.weakG.isOpen() {
		// Wait for the stages to prove themselves without holding a
		// problem slot, so the problems that can prove them get one.
		pl.problems.release()
		err := pl.strongG.wait(gctx)
		if err == nil {
			err = pl.weakG.wait(gctx)
		}
		if aerr := pl.problems.acquire(ctx, 0); aerr != nil {
			pl.problems.undo() // the deferred release balances this
			err = aerr
		}
		if err != nil {
			_ = g.Wait()
			return err
		}
	}

	// The strategies' perturbations run at once; their continuations one
	// strategy after another, in Config.Strategies order. Two strategies
	// can build the same prefix (then the same requests): the earlier
	// strategy pays for them and the later one is answered by the cache,
	// as when each stage ran over every problem before the next.
	prev := make(chan struct{})
	close(prev)
	for i, ps := range pl.perturbs {
		_, custom := pl.cfg.Perturbers[ps.Strategy]
		needStrong := custom || ps.Strategy != StrategyWeak
		after, mine := prev, make(chan struct{})
		prev = mine
		g.Go(func() error {
			defer close(mine)
			if needStrong {
				select {
				case <-strongDone:
				case <-gctx.Done():
					return gctx.Err()
				}
			}
			r, err := pl.perturb(gctx, i, p, d)
			if err != nil {
				return err
			}
			select {
			case <-after:
			case <-gctx.Done():
				return gctx.Err()
			}
			if !r.OK() {
				return nil
			}
			return pl.continueAll(gctx, r, d)
		})
	}
	return g.Wait()
}

// calibrate takes n straight shots of p (adaptively with s.Stop, in the
// rounds StraightShot.Run makes) and records the counts.
func (pl *pipeline) calibrate(ctx context.Context, s *StraightShot, n int, p dataset.Problem, d *problemDone,
	prog *progress, fails *failures, g *gate) (Calibration, error) {
	c := Calibration{Problem: p, Samples: make([]Sample, 0, n)}
	prio := prioStrong
	if s.Stage == StageWeak {
		prio = prioWeak
	}
	count := n
	if s.Stop != nil {
		count = max(1, min(n, s.MinSamples))
	}
	for {
		next := len(c.Samples)
		res := make([]Sample, count)
		eg, ectx := errgroup.WithContext(ctx)
		for x := range count {
			j := next + x
			if r, ok := d.sample(s.Stage, "", j); ok {
				res[x] = r
				fails.resumed()
				g.open(nil)
				prog.item(1, "", 1)
				continue
			}
			eg.Go(func() error {
				if err := pl.calls.acquire(ectx, prio); err != nil {
					return err
				}
				r, err := s.sample(withCallPriority(ectx, prio), p, j)
				pl.calls.release()
				if err != nil {
					return pl.fail(err)
				}
				fails.note(r.Error)
				if callWorked(r.Error) {
					g.open(nil)
				}
				res[x] = r
				prog.step(1)
				return nil
			})
		}
		if err := eg.Wait(); err != nil {
			return c, err
		}
		for _, r := range res {
			c.Samples = append(c.Samples, r)
			if r.Error == "" {
				c.N++
				if r.Correct {
					c.K++
				}
			}
		}
		if s.Stop == nil || len(c.Samples) >= n {
			break
		}
		if s.Stop(c.K, c.N) {
			prog.step(n - len(c.Samples)) // settled early: the rest will not be sampled
			break
		}
		count = 1
	}
	return c, s.Store.PutCalibration(detach(ctx), p.ID, s.Stage, c.K, c.N)
}

// callWorked reports whether a row's Error means the call itself worked
// (none, or only its verification failed), as failures.note counts it.
func callWorked(errText string) bool { return errText == "" || strings.HasPrefix(errText, "verify: ") }

// perturb builds strategy i's prefix of p, or reuses the finished one.
func (pl *pipeline) perturb(ctx context.Context, i int, p dataset.Problem, d *problemDone) (PrefixResult, error) {
	ps := pl.perturbs[i]
	if row, ok := d.prefix(ps.Strategy); ok {
		pl.perturbF[i].resumed()
		pl.perturbP.item(1, ps.Strategy, row.Calls)
		return prefixResultFromRow(p, row), nil
	}
	if err := pl.calls.acquire(ctx, prioPerturb); err != nil {
		return PrefixResult{}, err
	}
	r, err := ps.one(withCallPriority(ctx, prioPerturb), p)
	pl.calls.release()
	if err != nil {
		return r, pl.fail(err)
	}
	pl.perturbF[i].note(r.Error)
	pl.perturbP.item(1, ps.Strategy, -1)
	return r, nil
}

// continueAll continues a usable prefix K times, reusing finished rows.
func (pl *pipeline) continueAll(ctx context.Context, it PrefixResult, d *problemDone) error {
	pl.contP.grow(pl.k)
	g, gctx := errgroup.WithContext(ctx)
	for j := range pl.k {
		if _, ok := d.sample(StageContinue, it.Strategy, j); ok {
			pl.contF.resumed()
			pl.contP.item(1, it.Strategy, 1)
			continue
		}
		g.Go(func() error {
			if err := pl.calls.acquire(gctx, prioContinue); err != nil {
				return err
			}
			r, err := pl.cont.continueOne(gctx, it, j)
			pl.calls.release()
			if err != nil {
				return pl.fail(err)
			}
			pl.contF.note(r.Error)
			pl.contP.item(1, it.Strategy, -1)
			return nil
		})
	}
	return g.Wait()
}

// Call priorities: when calls wait for a slot, the weak model's
// sequential tries go first (a problem's longest chain), then the weak and
// the strong straight shots (which the perturbations wait for), then the
// continuations (leaves, left for last so the run ends with many of them
// at once rather than a few chains of single calls).
const (
	prioContinue = iota
	prioStrong
	prioWeak
	prioPerturb
	nPrios
)

// slots is a counting semaphore whose size limit() may change while it is
// in use (AutoConcurrency's limit follows the latency); waiters are served
// by priority, first come first served within one.
type slots struct {
	mu    sync.Mutex
	n     int
	limit func() int
	ctx   context.Context
	queue [nPrios][]chan struct{}
}

// slotsRecheck is how often waiters are let in when the limit has grown
// past the slots in use (a release lets one in at once).
const slotsRecheck = 50 * time.Millisecond

// newSlots returns slots that stop waiting (acquire fails) once ctx ends.
func newSlots(ctx context.Context, limit func() int) *slots {
	s := &slots{limit: limit, ctx: ctx}
	go func() {
		t := time.NewTicker(slotsRecheck)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			s.mu.Lock()
			s.dispatch()
			s.mu.Unlock()
		}
	}()
	return s
}

// dispatch hands free slots to the waiters, highest priority first.
func (s *slots) dispatch() {
	for p := nPrios - 1; p >= 0; p-- {
		for len(s.queue[p]) > 0 && s.n < s.limit() {
			ch := s.queue[p][0]
			s.queue[p] = s.queue[p][1:]
			s.n++
			close(ch)
		}
	}
}

// acquire takes a slot at priority prio, waiting while all are taken; it
// fails only when ctx (or the slots' own context) ends.
func (s *slots) acquire(ctx context.Context, prio int) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	if s.n < s.limit() {
		waiting := false
		for q := prio; q < nPrios; q++ {
			waiting = waiting || len(s.queue[q]) > 0
		}
		if !waiting {
			s.n++
			s.mu.Unlock()
			return nil
		}
	}
	ch := make(chan struct{})
	s.queue[prio] = append(s.queue[prio], ch)
	s.mu.Unlock()
	var err error
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		err = ctx.Err()
	case <-s.ctx.Done():
		err = s.ctx.Err()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, c := range s.queue[prio] {
		if c == ch {
			s.queue[prio] = append(s.queue[prio][:i:i], s.queue[prio][i+1:]...)
			return err
		}
	}
	// Granted while giving up: hand the slot on.
	s.n--
	s.dispatch()
	return err
}

func (s *slots) release() {
	s.mu.Lock()
	s.n--
	s.dispatch()
	s.mu.Unlock()
}

// undo counts a slot as taken without waiting, so that a deferred release
// stays balanced after a failed acquire.
func (s *slots) undo() {
	s.mu.Lock()
	s.n++
	s.mu.Unlock()
}

// gate is opened once, with the error that later waiters get.
type gate struct {
	once sync.Once
	ch   chan struct{}
	e    error
}

func newGate() *gate { return &gate{ch: make(chan struct{})} }

func (g *gate) open(err error) {
	g.once.Do(func() {
		g.e = err
		close(g.ch)
	})
}

func (g *gate) isOpen() bool {
	select {
	case <-g.ch:
		return true
	default:
		return false
	}
}

// err is the error the gate opened with (nil while it is closed).
func (g *gate) err() error {
	if !g.isOpen() {
		return nil
	}
	return g.e
}

func (g *gate) wait(ctx context.Context) error {
	select {
	case <-g.ch:
		return g.e
	case <-ctx.Done():
		return ctx.Err()
	}
}
