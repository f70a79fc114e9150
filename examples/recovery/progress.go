package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/rebound-lab/rebound/recovery"
)

// plainEvery is how often a plain progress line is written when stderr is
// not a terminal.
const plainEvery = 2 * time.Second

// progress shows the run on stderr: on a terminal one bar over every
// stage's items, else a plain line every few seconds; either way a summary
// line per finished stage that stays on screen. The run's stages overlap
// (a problem is perturbed and continued as soon as its own straight shots
// are done), so every line shows each stage's own count. Its counts are the
// recovery.Cost definitions (new calls, of which cached; resumed), the same
// the final lines print.
type progress struct {
	w        io.Writer
	quiet    bool
	tty      bool
	plan     map[string]int
	runStart time.Time

	mu        sync.Mutex
	last      map[string]recovery.Event
	ended     map[string]bool
	bar       *progressbar.ProgressBar
	lastPlain time.Time
	ev        recovery.Event // the latest event of any stage
	have      bool
}

// stageOrder is the order the stages are shown in.
var stageOrder = []string{recovery.StageStrong, recovery.StageWeak, recovery.StagePerturb, recovery.StageContinue}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func newProgress(w io.Writer, quiet bool, plan map[string]int) *progress {
	return &progress{w: w, quiet: quiet, tty: isTerminal(w), plan: plan, runStart: time.Now(),
		last: map[string]recovery.Event{}, ended: map[string]bool{}}
}

func (p *progress) event(e recovery.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.last[e.Stage], p.ev, p.have = e, e, true
	if p.quiet {
		return
	}
	done, total := p.items()
	if p.tty {
		if p.bar == nil {
			p.bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(p.w), progressbar.OptionSetWidth(30),
				progressbar.OptionShowCount(), progressbar.OptionSetPredictTime(true), progressbar.OptionSetElapsedTime(true),
				progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish())
		}
		p.bar.ChangeMax(total)
		p.bar.Describe(fmt.Sprintf("%s · so far %s · run ETA %s", p.stages(), p.counts(e.Cost), p.runETA()))
		_ = p.bar.Set(done)
	} else if time.Since(p.lastPlain) >= plainEvery || e.Done == e.Total {
		p.lastPlain = time.Now()
		fmt.Fprintf(p.w, "%s · so far %s · stage ETA %s · run ETA %s\n", p.stages(), p.counts(e.Cost),
			e.ETA.Round(time.Second), p.runETA())
	}
	if e.Done == e.Total && e.Stage != recovery.StageContinue {
		// The straight shots' and perturbations' totals are known from the
		// start; the continuations' grows until the last prefix is built,
		// so theirs is summarized at the end.
		p.endStage(e.Stage)
	}
}

// stages formats each stage's count, as "strong 30/30 · weak 12/30".
func (p *progress) stages() string {
	var b strings.Builder
	for _, st := range stageOrder {
		e, ok := p.last[st]
		if !ok {
			continue
		}
		if b.Len() > 0 {
			b.WriteString(" · ")
		}
		fmt.Fprintf(&b, "%s %d/%d", st, e.Done, e.Total)
	}
	return b.String()
}

// items is the items finished over every stage and the run's total so far:
// a stage not heard from yet counts at its planned size, continuations at
// the plan (an upper bound) until the perturbations are done.
func (p *progress) items() (done, total int) {
	perturbDone := false
	if e, ok := p.last[recovery.StagePerturb]; ok && e.Done == e.Total {
		perturbDone = true
	}
	for _, st := range stageOrder {
		e, ok := p.last[st]
		done += e.Done
		switch {
		case !ok:
			total += p.plan[st]
		case st == recovery.StageContinue && !perturbDone:
			total += max(e.Total, p.plan[st])
		default:
			total += e.Total
		}
	}
	return done, max(total, done)
}

// counts formats the run's new and resumed calls so far.
func (p *progress) counts(c recovery.Cost) string {
	return fmt.Sprintf("%d new calls (%d cached), %d resumed, $%.4f", c.Calls, c.CachedCalls, c.Resumed, c.USD)
}

// runETA extrapolates the whole run from the items finished so far.
func (p *progress) runETA() string {
	done, total := p.items()
	if done == 0 {
		return "?"
	}
	el := time.Since(p.runStart)
	left := time.Duration(float64(el) / float64(done) * float64(max(0, total-done)))
	return "~" + left.Round(time.Second).String()
}

// endStage prints a finished stage's summary line, once.
func (p *progress) endStage(st string) {
	if p.ended[st] {
		return
	}
	p.ended[st] = true
	e := p.last[st]
	if !p.quiet {
		if p.bar != nil {
			_ = p.bar.Clear()
		}
		fmt.Fprintf(p.w, "%-8s done %d/%d in %s (the run so far: %s)\n", st, e.Done, e.Total,
			e.Elapsed.Round(time.Millisecond), p.counts(p.ev.Cost))
	}
}

func (p *progress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		_ = p.bar.Finish()
		p.bar = nil
	}
	for _, st := range stageOrder {
		if _, ok := p.last[st]; ok {
			p.endStage(st)
		}
	}
}
