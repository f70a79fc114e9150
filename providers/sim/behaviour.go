package sim

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/rebound-lab/rebound/perturb"
	"github.com/rebound-lab/rebound/providers"
)

// Behaviour names, as package behaviour labels them.
const (
	BehaviourExplicit   = "explicit_correction"
	BehaviourSilent     = "silent_recovery"
	BehaviourRestart    = "restart"
	BehaviourPropagated = "propagated"
	BehaviourOther      = "other_failure"
)

// Mix is a distribution over the five behaviours of a continuation of a
// flawed prefix. Weights need not sum to 1; they are normalized.
type Mix struct {
	Explicit, Silent, Restart, Propagated, Other float64
}

// Prob returns the normalized probability of the named behaviour (NaN for
// an unknown name or an all-zero Mix).
func (m Mix) Prob(name string) float64 {
	t := m.Explicit + m.Silent + m.Restart + m.Propagated + m.Other
	if !(t > 0) {
		return math.NaN()
	}
	switch name {
	case BehaviourExplicit:
		return m.Explicit / t
	case BehaviourSilent:
		return m.Silent / t
	case BehaviourRestart:
		return m.Restart / t
	case BehaviourPropagated:
		return m.Propagated / t
	case BehaviourOther:
		return m.Other / t
	}
	return math.NaN()
}

// Behaviours is a table of behaviour distributions by the flaw's magnitude
// (perturb.MagnitudeOf the right and wrong values: small, medium, large)
// and position (perturb.PositionOf its gold step among the gold steps:
// early, middle, late): Cells[magnitude][position].
type Behaviours struct {
	Cells [3][3]Mix
}

// DefaultBehaviours follows the pattern Yee et al. (2024) report: more
// obvious (larger) errors are corrected explicitly more often, and errors
// later in the solution are recovered silently more often. The numbers are
// illustrative, not fitted to any model.
func DefaultBehaviours() *Behaviours {
	return &Behaviours{Cells: [3][3]Mix{
		{ // small
			{Explicit: 0.20, Silent: 0.25, Restart: 0.05, Propagated: 0.40, Other: 0.10},
			{Explicit: 0.15, Silent: 0.32, Restart: 0.05, Propagated: 0.38, Other: 0.10},
			{Explicit: 0.10, Silent: 0.40, Restart: 0.05, Propagated: 0.35, Other: 0.10},
		},
		{ // medium
			{Explicit: 0.35, Silent: 0.20, Restart: 0.05, Propagated: 0.30, Other: 0.10},
			{Explicit: 0.28, Silent: 0.27, Restart: 0.05, Propagated: 0.30, Other: 0.10},
			{Explicit: 0.22, Silent: 0.35, Restart: 0.05, Propagated: 0.28, Other: 0.10},
		},
		{ // large
			{Explicit: 0.50, Silent: 0.15, Restart: 0.05, Propagated: 0.20, Other: 0.10},
			{Explicit: 0.42, Silent: 0.22, Restart: 0.05, Propagated: 0.21, Other: 0.10},
			{Explicit: 0.35, Silent: 0.30, Restart: 0.05, Propagated: 0.20, Other: 0.10},
		},
	}}
}

func (b *Behaviours) validate() error {
	for i, row := range b.Cells {
		for j, m := range row {
			for _, w := range []float64{m.Explicit, m.Silent, m.Restart, m.Propagated, m.Other} {
				if !(w >= 0) || math.IsInf(w, 0) {
					return fmt.Errorf("sim: Config.Behaviours.Cells[%d][%d] = %+v: weights must be finite and ≥ 0", i, j, m)
				}
			}
			if !(m.Explicit+m.Silent+m.Restart+m.Propagated+m.Other > 0) {
				return fmt.Errorf("sim: Config.Behaviours.Cells[%d][%d]: all weights are zero", i, j)
			}
		}
	}
	return nil
}

var magnitudes = []perturb.Magnitude{perturb.Small, perturb.Medium, perturb.Large}
var positions = []perturb.Position{perturb.Early, perturb.Middle, perturb.Late}

// Flaw is what the Solver reads about a flawed prefix: the first gold step
// it disagrees with, the gold (right) and prefix (wrong) values there, and
// their magnitude and position classes.
type Flaw struct {
	Step         int // 0-based gold step
	Steps        int // gold steps
	Right, Wrong string
	Magnitude    perturb.Magnitude
	Position     perturb.Position
}

// flawOf finds the flaw the Solver reads in prefix; ok is false for a
// clean prefix or one whose disagreement names no gold value.
func (g *gold) flawOf(a analysis) (Flaw, bool) {
	if !a.flawed || a.errStep < 0 || a.errStep >= len(g.steps) {
		return Flaw{}, false
	}
	f := Flaw{Step: a.errStep, Steps: len(g.steps), Position: perturb.PositionOf(a.errStep, len(g.steps))}
	nums := g.nums[a.errStep]
	line := stripLabel(g.steps[a.errStep])
	if len(nums) > 0 {
		// The computed value first, then any other substituted one.
		res := resultSpan(line, nums)
		for _, v := range append([]string{res.Value}, valuesOf(nums)...) {
			if w, ok := a.subst[v]; ok {
				f.Right, f.Wrong = v, w
				break
			}
		}
	}
	if f.Right == "" {
		return Flaw{}, false
	}
	f.Magnitude = perturb.MagnitudeOf(f.Right, f.Wrong)
	if f.Magnitude == "" {
		return Flaw{}, false
	}
	return f, true
}

func valuesOf(ns []numSpan) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = n.Value
	}
	return out
}

func (b *Behaviours) mix(f Flaw) Mix {
	i, j := 0, 0
	for k, m := range magnitudes {
		if m == f.Magnitude {
			i = k
		}
	}
	for k, p := range positions {
		if p == f.Position {
			j = k
		}
	}
	return b.Cells[i][j]
}

// draw picks a behaviour from m with the uniform u.
func (m Mix) draw(u float64) string {
	t := m.Explicit + m.Silent + m.Restart + m.Propagated + m.Other
	x := u * t
	for _, c := range []struct {
		w    float64
		name string
	}{{m.Explicit, BehaviourExplicit}, {m.Silent, BehaviourSilent}, {m.Restart, BehaviourRestart}, {m.Propagated, BehaviourPropagated}} {
		if x < c.w {
			return c.name
		}
		x -= c.w
	}
	return BehaviourOther
}

// BehaviourTruth is what the Solver did, or would do, with one
// continuation request.
type BehaviourTruth struct {
	// Behaviour is the drawn behaviour ("" when the prefix is clean, empty,
	// or its flaw names no gold value: the Solver then answers as without
	// Config.Behaviours).
	Behaviour string
	// Probs is the distribution it was drawn from.
	Probs Mix
	// Flaw is what the Solver read in the prefix.
	Flaw Flaw
}

// Behaviour reports the behaviour the Solver draws for req (a request with
// a Prefill): the truth that package behaviour's labels are tested
// against. ok is false for an unknown problem, an empty prefill, or a
// Solver without Config.Behaviours.
func (s *Solver) Behaviour(req providers.Request) (BehaviourTruth, bool) {
	if s.cfg.Behaviours == nil || strings.TrimSpace(req.Prefill) == "" {
		return BehaviourTruth{}, false
	}
	content := ""
	for _, m := range req.Messages {
		if m.Role == providers.RoleUser {
			content = m.Content
		}
	}
	e, err := s.lookup(context.Background(), content)
	if err != nil {
		return BehaviourTruth{}, false
	}
	r := s.rngFor(e, req)
	u := r.float()
	t, _ := s.behaviourTruth(e, req.Prefill, u)
	return t, true
}

func (s *Solver) behaviourTruth(e *entry, prefill string, u float64) (BehaviourTruth, analysis) {
	g := s.goldOf(e)
	a := g.analyze(prefill)
	f, ok := g.flawOf(a)
	if !ok {
		return BehaviourTruth{}, a
	}
	m := s.cfg.Behaviours.mix(f)
	return BehaviourTruth{Behaviour: m.draw(u), Probs: m, Flaw: f}, a
}

// writeBehaviour writes the continuation of a flawed prefix under
// Config.Behaviours; ok is false when the prefix's flaw names no gold value
// (the caller then answers as usual). uBehaviour and uCorrect are the
// request's first two draws.
func (s *Solver) writeBehaviour(b *strings.Builder, e *entry, prefill string, uBehaviour, uCorrect float64, r *rng) bool {
	t, a := s.behaviourTruth(e, prefill, uBehaviour)
	if t.Behaviour == "" {
		return false
	}
	g := s.goldOf(e)
	f := t.Flaw
	switch t.Behaviour {
	case BehaviourRestart:
		b.WriteString("Let me start over.\n")
		g.write(b, 0, uCorrect < e.truth.PassRate, nil, r)
	case BehaviourExplicit:
		fmt.Fprintf(b, "Wait, %s is wrong: it should be %s. Let me redo that step.\n", f.Wrong, f.Right)
		g.write(b, f.Step, true, nil, r)
	case BehaviourSilent:
		g.write(b, max(a.progress, f.Step+1), true, nil, r)
	case BehaviourPropagated:
		g.writeCarried(b, max(a.progress, f.Step+1), a.subst, f)
	default:
		g.writeOther(b, max(a.progress, f.Step+1), f, r)
	}
	return true
}

// writeCarried writes the remaining gold steps with the prefix's wrong
// values carried in, and a final answer moved by what the flaw implies:
// the carried value if the answer is one, else the gold answer plus
// wrong − right.
func (g *gold) writeCarried(b *strings.Builder, from int, subst map[string]string, f Flaw) {
	for k := from; k < len(g.steps); k++ {
		b.WriteString(substitute(g.steps[k], subst))
		b.WriteByte('\n')
	}
	ans, ok := subst[strings.ReplaceAll(g.answer, ",", "")]
	if !ok {
		ans = shifted(g.answer, f)
	}
	b.WriteString(`The answer is \boxed{`)
	b.WriteString(ans)
	b.WriteString("}.")
}

// shifted is the gold answer plus wrong − right, or wrongAnswer when either
// is not a plain number.
func shifted(answer string, f Flaw) string {
	a, err1 := strconv.ParseFloat(strings.ReplaceAll(answer, ",", ""), 64)
	r, err2 := strconv.ParseFloat(f.Right, 64)
	w, err3 := strconv.ParseFloat(f.Wrong, 64)
	if err1 != nil || err2 != nil || err3 != nil || w == r {
		return wrongAnswer(answer, 1)
	}
	d := max(decimals(answer), decimals(f.Right), decimals(f.Wrong))
	return strconv.FormatFloat(a+w-r, 'f', d, 64)
}

// writeOther writes the remaining gold steps with the right values (the
// flaw is dropped, not carried) but a new slip in one of them, and a wrong
// final answer the flaw does not explain (not off by wrong − right, nor by
// the ratio wrong ÷ right, and never mentioning the wrong value).
func (g *gold) writeOther(b *strings.Builder, from int, f Flaw, r *rng) {
	right, _ := strconv.ParseFloat(f.Right, 64)
	wrong, _ := strconv.ParseFloat(f.Wrong, 64)
	gold, errG := strconv.ParseFloat(strings.ReplaceAll(g.answer, ",", ""), 64)
	var ans string
	for try := 0; ; try++ {
		delta := 11 + r.intn(20) + try
		ans = wrongAnswer(g.answer, delta)
		v, err := strconv.ParseFloat(strings.ReplaceAll(ans, ",", ""), 64)
		if errG != nil || err != nil || try > 20 {
			break
		}
		if !closeTo(v-gold, wrong-right) && !(right != 0 && gold != 0 && closeTo(v/gold, wrong/right)) && !closeTo(v, wrong) {
			break
		}
	}
	// A gold step that happens to hold the wrong value would read as the
	// flaw carried forward: move that number too (one more slip).
	avoid := map[string]string{f.Wrong: bump(f.Wrong, 1)}
	if avoid[f.Wrong] == f.Right {
		avoid[f.Wrong] = bump(f.Wrong, 2)
	}
	for k := from; k < len(g.steps); k++ {
		line := substitute(g.steps[k], avoid)
		b.WriteString(line)
		b.WriteByte('\n')
	}
	b.WriteString(`The answer is \boxed{`)
	b.WriteString(ans)
	b.WriteString("}.")
}

func closeTo(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

func decimals(s string) int {
	if i := strings.IndexByte(s, '.'); i >= 0 {
		return len(s) - i - 1
	}
	return 0
}
