package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/rebound-lab/rebound/recovery"
)

// plainEvery is how often a plain progress line is written when stderr is
// not a terminal.
const plainEvery = 2 * time.Second

// progress shows the run on stderr: on a terminal one bar per stage, else a
// plain line every few seconds; either way a summary line per finished
// stage that stays on screen. Its counts are the recovery.Cost definitions
// (new calls, of which cached; resumed), the same the final lines print.
type progress struct {
	w        io.Writer
	quiet    bool
	tty      bool
	plan     map[string]int
	runStart time.Time

	mu         sync.Mutex
	stage      string
	bar        *progressbar.ProgressBar
	stageCost  recovery.Cost // totals when the stage started
	stageStart time.Time
	doneBefore int // items of finished stages
	lastPlain  time.Time
	ev         recovery.Event
	have       bool
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func newProgress(w io.Writer, quiet bool, plan map[string]int) *progress {
	return &progress{w: w, quiet: quiet, tty: isTerminal(w), plan: plan, runStart: time.Now()}
}

func (p *progress) event(e recovery.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if e.Stage != p.stage {
		p.endStage()
		p.stage, p.stageStart, p.stageCost = e.Stage, time.Now().Add(-e.Elapsed), p.ev.Cost
		if !p.quiet && p.tty {
			p.bar = progressbar.NewOptions(e.Total, progressbar.OptionSetWriter(p.w), progressbar.OptionSetWidth(30),
				progressbar.OptionShowCount(), progressbar.OptionSetPredictTime(true), progressbar.OptionSetElapsedTime(true),
				progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish())
		}
	}
	p.ev, p.have = e, true
	if p.quiet {
		return
	}
	counts := p.counts(e.Cost)
	if p.bar != nil {
		p.bar.Describe(fmt.Sprintf("%-8s so far %s · run ETA %s", e.Stage, counts, p.runETA(e)))
		_ = p.bar.Set(e.Done)
		return
	}
	if time.Since(p.lastPlain) >= plainEvery || e.Done == e.Total {
		p.lastPlain = time.Now()
		fmt.Fprintf(p.w, "%-8s %d/%d (%.0f%%) · so far %s · stage ETA %s · run ETA %s\n", e.Stage, e.Done, e.Total,
			100*float64(e.Done)/float64(max(1, e.Total)), counts, e.ETA.Round(time.Second), p.runETA(e))
	}
}

// counts formats the run's new and resumed calls so far.
func (p *progress) counts(c recovery.Cost) string {
	return fmt.Sprintf("%d new calls (%d cached), %d resumed, $%.4f", c.Calls, c.CachedCalls, c.Resumed, c.USD)
}

// runETA extrapolates the whole run from the items finished so far; later
// stages count at their planned size (continuations as an upper bound).
func (p *progress) runETA(e recovery.Event) string {
	done := p.doneBefore + e.Done
	if done == 0 {
		return "?"
	}
	total := p.doneBefore + e.Total
	seen := false
	for _, st := range []string{recovery.StageStrong, recovery.StageWeak, recovery.StagePerturb, recovery.StageContinue} {
		if seen {
			total += p.plan[st]
		}
		if st == e.Stage {
			seen = true
		}
	}
	el := time.Since(p.runStart)
	left := time.Duration(float64(el) / float64(done) * float64(max(0, total-done)))
	return "~" + left.Round(time.Second).String()
}

// endStage prints the finished stage's summary line.
func (p *progress) endStage() {
	if p.bar != nil {
		_ = p.bar.Finish()
		p.bar = nil
	}
	if !p.have || p.stage == "" {
		return
	}
	e := p.ev
	d := e.Cost
	c := recovery.Cost{Calls: d.Calls - p.stageCost.Calls, CachedCalls: d.CachedCalls - p.stageCost.CachedCalls,
		Resumed: d.Resumed - p.stageCost.Resumed, USD: d.USD - p.stageCost.USD}
	p.doneBefore += e.Total
	if !p.quiet {
		fmt.Fprintf(p.w, "%-8s done %d/%d in %s: %s\n", p.stage, e.Done, e.Total, time.Since(p.stageStart).Round(time.Millisecond), p.counts(c))
	}
	p.stage = ""
}

func (p *progress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.endStage()
}
