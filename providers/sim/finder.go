package sim

import (
	"context"
	"fmt"
	"strings"

	"github.com/rebound-lab/rebound/dataset"
)

// Finder is where a Solver made by NewFinder finds the problems it
// answers, instead of holding them: a run's store
// (recovery.StoredProblems), or any index of a dataset. It must be safe
// for concurrent use.
type Finder interface {
	// ByQuestion returns the problems whose question, trimmed, has
	// dataset.QuestionKey key: usually one, more only when two questions
	// share the hash (the Solver compares the questions), none when no
	// problem has it.
	ByQuestion(ctx context.Context, key uint64) ([]dataset.Problem, error)
	// ByID returns the problem with the ID; ok is false if there is none.
	ByID(ctx context.Context, id string) (p dataset.Problem, ok bool, err error)
}

// BatchFinder is a Finder that also looks up several question keys at
// once. A Solver whose Finder is one asks about all of a prompt's candidate
// questions (the prompt, and each cut at a blank line) in one call instead
// of one call each.
type BatchFinder interface {
	Finder
	// ByQuestions returns, for each of keys, what ByQuestion returns for it.
	ByQuestions(ctx context.Context, keys []uint64) ([][]dataset.Problem, error)
}

// NewFinder returns a Solver for cfg that finds the problems it is asked
// about through f, holding none of them: its memory does not grow with
// the dataset (the parsed gold solutions of the last 1,024 problems it
// answered are kept, ≈ 5 KB each). It answers exactly as New(cfg,
// problems...) would for the problems f finds, with the same Endpoint
// (so the same cache keys), with one difference: a prompt must hold the
// question as a whole, or the question followed by a blank line (the
// default prompt); New's Solver also finds a question that the prompt
// merely begins with. Problems taught with Teach are looked up first. A
// call whose context names its problem (dataset.WithProblem, as the
// recovery harness does) is answered for that problem, without asking f,
// when the prompt holds its question. It panics on a bad cfg, like New.
func NewFinder(cfg Config, f Finder) *Solver {
	s := New(cfg)
	s.find = f
	return s
}

// lookupFound finds the problem for the trimmed content c through the
// Finder: c itself, or c cut at a blank line from the right (the default
// prompt is question, blank line, instruction), the recently answered
// problems first.
func (s *Solver) lookupFound(ctx context.Context, c string) (*entry, bool, error) {
	cands := []string{c}
	for i := strings.LastIndex(c, "\n\n"); i > 0; i = strings.LastIndex(c[:i], "\n\n") {
		cands = append(cands, strings.TrimSpace(c[:i]))
	}
	keys := make([]uint64, len(cands))
	for i, q := range cands {
		keys[i] = dataset.QuestionKey(q)
		if r := s.recent.get(keys[i]); r != nil && strings.TrimSpace(r.e.p.Question) == q {
			return r.e, true, nil
		}
	}
	var found [][]dataset.Problem
	if bf, ok := s.find.(BatchFinder); ok {
		var err error
		if found, err = bf.ByQuestions(ctx, keys); err != nil {
			return nil, false, fmt.Errorf("sim: find the problem: %w", err)
		}
		if len(found) != len(keys) {
			return nil, false, fmt.Errorf("sim: find the problem: ByQuestions answered %d of %d keys", len(found), len(keys))
		}
	}
	for i, q := range cands {
		var ps []dataset.Problem
		if found != nil {
			ps = found[i]
		} else {
			var err error
			if ps, err = s.find.ByQuestion(ctx, keys[i]); err != nil {
				return nil, false, fmt.Errorf("sim: find the problem: %w", err)
			}
		}
		for _, p := range ps {
			if strings.TrimSpace(p.Question) == q {
				e := &entry{p: p, truth: s.truthFor(p.ID)}
				s.recent.put(keys[i], &cached{e: e})
				return e, true, nil
			}
		}
	}
	return nil, false, nil
}

// entryByID finds a problem by ID: a taught one, else through the Finder.
func (s *Solver) entryByID(id string) (*entry, bool) {
	s.mu.RLock()
	e, ok := s.byID[id]
	s.mu.RUnlock()
	if ok || s.find == nil {
		return e, ok
	}
	p, ok, err := s.find.ByID(context.Background(), id)
	if err != nil || !ok || strings.TrimSpace(p.Question) == "" {
		return nil, false
	}
	key := dataset.QuestionKey(p.Question)
	if r := s.recent.get(key); r != nil && r.e.p.ID == id {
		return r.e, true
	}
	e = &entry{p: p, truth: s.truthFor(p.ID)}
	s.recent.put(key, &cached{e: e})
	return e, true
}
