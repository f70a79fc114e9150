package sim

import (
	"container/list"
	"maps"
	"strings"
	"sync"

	"github.com/rebound-lab/rebound/dataset"
)

// entry is one problem the Solver knows (taught, or found by its Finder).
// Its parsed gold solution is not kept on it but in the Solver's recent
// cache (goldOf), so the memory it costs does not grow with the problems
// answered.
type entry struct {
	p     dataset.Problem
	truth Truth
}

// cached is a recent entry with its gold solution, parsed on first use.
type cached struct {
	e    *entry
	once sync.Once
	g    *gold
}

func (c *cached) gold() *gold {
	c.once.Do(func() { c.g = newGold(c.e.p) })
	return c.g
}

// recentSize is how many problems' parsed gold solutions a Solver keeps
// (≈ 5 KB each): many more than a run has in flight, so every problem's
// gold is parsed about once, however many problems the run has.
const recentSize = 1024

// recent is a least-recently-used cache of entries by question key.
type recent struct {
	mu    sync.Mutex
	items map[uint64]*list.Element // of *cached
	order list.List                // front: most recently used
}

func (r *recent) get(key uint64) *cached {
	r.mu.Lock()
	defer r.mu.Unlock()
	el, ok := r.items[key]
	if !ok {
		return nil
	}
	r.order.MoveToFront(el)
	return el.Value.(*cached)
}

func (r *recent) put(key uint64, c *cached) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.items == nil {
		r.items = map[uint64]*list.Element{}
	}
	if el, ok := r.items[key]; ok {
		el.Value = c
		r.order.MoveToFront(el)
		return
	}
	r.items[key] = r.order.PushFront(c)
	if r.order.Len() > recentSize {
		old := r.order.Back()
		r.order.Remove(old)
		delete(r.items, dataset.QuestionKey(old.Value.(*cached).e.p.Question))
	}
}

func (r *recent) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.order.Len()
}

// goldOf is e's parsed gold solution, from the recent cache.
func (s *Solver) goldOf(e *entry) *gold {
	key := dataset.QuestionKey(e.p.Question)
	if c := s.recent.get(key); c != nil && c.e == e {
		return c.gold()
	}
	c := &cached{e: e}
	s.recent.put(key, c)
	return c.gold()
}

// gold is a parsed reference solution. It is immutable once built.
type gold struct {
	steps  []string
	nums   [][]numSpan
	skel   map[string][]int // skeleton → indices of steps with it
	skels  []string         // skeleton of each step
	known  map[string]bool  // every number of the question, steps and answer
	given  map[string]bool  // numbers of the question
	answer string
}

func newGold(p dataset.Problem) *gold {
	g := &gold{
		steps:  goldSteps(p.Solution),
		skel:   map[string][]int{},
		known:  map[string]bool{},
		given:  map[string]bool{},
		answer: strings.TrimSpace(p.Answer),
	}
	g.nums = make([][]numSpan, len(g.steps))
	for i, st := range g.steps {
		g.nums[i] = numbers(stripLabel(st))
		for _, n := range g.nums[i] {
			g.known[n.Value] = true
		}
		sk := skeleton(stripLabel(st))
		g.skel[sk] = append(g.skel[sk], i)
		g.skels = append(g.skels, sk)
	}
	for _, n := range numbers(p.Question) {
		g.known[n.Value] = true
		g.given[n.Value] = true
	}
	for _, n := range numbers(g.answer) {
		g.known[n.Value] = true
	}
	return g
}

// stripLabel removes a leading step label: "Step 3:", "3.", "3)", "-", "*".
func stripLabel(l string) string {
	t := l
	if len(t) > 5 && strings.EqualFold(t[:5], "step ") {
		t = t[5:]
	}
	i := 0
	for i < len(t) && isDigit(t[i]) {
		i++
	}
	if i > 0 && i < len(t) && (t[i] == '.' || t[i] == ')' || t[i] == ':') && (i+1 == len(t) || t[i+1] == ' ') {
		return strings.TrimSpace(t[i+1:])
	}
	if strings.HasPrefix(l, "- ") || strings.HasPrefix(l, "* ") {
		return strings.TrimSpace(l[2:])
	}
	return l
}

// minPartial is the shortest skeleton matched as the beginning of a gold
// step.
const minPartial = 16

// analysis is what the Solver reads from a prefix.
type analysis struct {
	// progress is how many gold steps the prefix is read as having done.
	progress int
	// flawed: some number disagrees with the gold solution.
	flawed bool
	// errStep is the 0-based gold step of the first disagreement, -1 if
	// unknown.
	errStep int
	// subst maps gold values to the prefix's wrong values, for carrying on
	// down the wrong path.
	subst map[string]string
}

// analyze reads prefix step by step, split into steps as gold solutions are
// (goldSteps). A step with the skeleton of a gold step (same words, numbers
// masked) is that step: it advances progress and is wrong if any of its
// numbers differs from the gold step's. Any other step is wrong if it holds
// a number that appears nowhere in the question, the gold steps or the
// answer. Without any recognised step, progress is the number of steps read
// (at most the number of gold steps).
func (g *gold) analyze(prefix string) analysis {
	a := analysis{errStep: -1}
	next, matched, lines := 0, 0, 0
	anyMatch := false
	markErr := func(step int) {
		a.flawed = true
		if a.errStep < 0 || step < a.errStep {
			a.errStep = step
		}
	}
	// Segment the prefix exactly as the gold solution was segmented, so a
	// paragraph written as one line still meets the gold sentences.
	pieces := goldSteps(prefix)
	// A prefix cut inside a number ends with a partial one ("= 1" of "= 12"),
	// which is a truncation, not an error.
	cutNumber := prefix != "" && (isDigit(prefix[len(prefix)-1]) || prefix[len(prefix)-1] == ',')
	for pi, l := range pieces {
		l = stripLabel(l)
		if l == "" {
			continue
		}
		partialAt := -1 // end offset of a possibly partial trailing number
		if cutNumber && pi == len(pieces)-1 {
			l = strings.TrimRight(l, ",") // "10," of "10,000"
			partialAt = len(l)
		}
		lines++
		ln := numbers(l)
		sk := skeleton(l)
		idx := -1
		if cands := g.skel[sk]; len(cands) > 0 {
			idx = cands[0]
			for _, c := range cands {
				if c >= next {
					idx = c
					break
				}
			}
		}
		if idx < 0 && len(sk) >= minPartial {
			// A step cut short (the prefix's last, or one segmented
			// differently): the next gold step that it begins.
			for c := next; c < len(g.skels); c++ {
				if strings.HasPrefix(g.skels[c], sk) {
					idx = c
					break
				}
			}
		}
		if idx >= 0 && len(ln) <= len(g.nums[idx]) {
			anyMatch = true
			next = idx + 1
			matched = max(matched, idx+1)
			for j, n := range ln {
				gv := g.nums[idx][j].Value
				if n.End == partialAt && strings.HasPrefix(gv, n.Value) {
					continue
				}
				if n.Value != gv {
					markErr(idx)
					if a.subst == nil {
						a.subst = map[string]string{}
					}
					if !g.given[gv] {
						a.subst[gv] = n.Value
					}
				}
			}
			continue
		}
		for _, n := range ln {
			if !g.known[n.Value] && !(n.End == partialAt && g.knownPrefix(n.Value)) {
				markErr(min(next, len(g.steps)))
				break
			}
		}
	}
	if anyMatch {
		a.progress = matched
	} else {
		a.progress = min(lines, len(g.steps))
	}
	return a
}

// knownPrefix reports whether some known number begins with v.
func (g *gold) knownPrefix(v string) bool {
	for k := range g.known {
		if strings.HasPrefix(k, v) {
			return true
		}
	}
	return false
}

// write appends to b the gold steps from index from on and a final answer
// line. A correct solution uses the gold steps and answer verbatim; a wrong
// one first replaces values by subst, corrupts the result of one remaining
// step (if any has a number) by a nonzero delta, carries the corrupted
// value into later steps (unless it is a number given in the question), and
// ends with wrongAnswer(gold, delta).
func (g *gold) write(b *strings.Builder, from int, correct bool, subst map[string]string, r *rng) {
	n := len(g.steps)
	from = max(0, min(from, n))
	corrupt, delta := -1, 0
	if !correct {
		delta = 1 + r.intn(9)
		if r.intn(2) == 0 {
			delta = -delta
		}
		cands := 0
		for k := from; k < n; k++ {
			if len(g.nums[k]) > 0 {
				cands++
			}
		}
		if cands > 0 {
			pick := r.intn(cands)
			for k := from; k < n; k++ {
				if len(g.nums[k]) > 0 {
					if pick == 0 {
						corrupt = k
						break
					}
					pick--
				}
			}
		}
	}
	owned := false
	for k := from; k < n; k++ {
		line := g.steps[k]
		if !correct && len(subst) > 0 {
			line = substitute(line, subst)
		}
		if k == corrupt {
			ns := numbers(line)
			if len(ns) > 0 {
				sp := resultSpan(line, ns)
				w := bump(sp.Value, delta)
				line = replaceNumber(line, sp, w)
				if !g.given[sp.Value] {
					if !owned {
						subst = maps.Clone(subst)
						if subst == nil {
							subst = map[string]string{}
						}
						owned = true
					}
					subst[sp.Value] = w
				}
			}
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	ans := g.answer
	if !correct {
		ans = wrongAnswer(g.answer, delta)
	}
	b.WriteString(`The answer is \boxed{`)
	b.WriteString(ans)
	b.WriteString("}.")
}

// resultSpan picks the number a step computes: the first number after its
// last '=', else its last number.
func resultSpan(line string, ns []numSpan) numSpan {
	if eq := strings.LastIndexByte(line, '='); eq >= 0 {
		for _, n := range ns {
			if n.Start > eq {
				return n
			}
		}
	}
	return ns[len(ns)-1]
}
