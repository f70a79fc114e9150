package viewer

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
)

// Static is a Source held entirely in memory: an Overview, the problems
// with all their details, and the files the overview names. Build one with
// NewStatic. It is safe for concurrent use; do not modify it after use.
type Static struct {
	overview Overview
	problems []Problem
	list     []ProblemSummary
	byID     map[string]int
	files    map[string][]byte
}

var _ Source = (*Static)(nil)

// NewStatic returns a Static serving ov, problems (in that order) and files
// (name → content). Each problem's summary counts are recomputed from its
// samples and prefixes with Tally, so callers fill in details only. Problem
// IDs must be unique.
func NewStatic(ov Overview, problems []Problem, files map[string][]byte) (*Static, error) {
	s := &Static{overview: ov, files: files, byID: make(map[string]int, len(problems))}
	s.problems = make([]Problem, len(problems))
	s.list = make([]ProblemSummary, len(problems))
	for i, p := range problems {
		if _, dup := s.byID[p.ID]; dup {
			return nil, fmt.Errorf("viewer: problem %d: duplicate id %q", i, p.ID)
		}
		p.Tally()
		s.problems[i] = p
		s.list[i] = p.ProblemSummary
		s.byID[p.ID] = i
	}
	return s, nil
}

// Overview returns the overview given to NewStatic.
func (s *Static) Overview(ctx context.Context) (Overview, error) {
	return s.overview, ctx.Err()
}

// ProblemList returns the problems' summaries in order.
func (s *Static) ProblemList(ctx context.Context) ([]ProblemSummary, error) {
	return s.list, ctx.Err()
}

// Problem returns the problem with the given id.
func (s *Static) Problem(ctx context.Context, id string) (Problem, error) {
	if err := ctx.Err(); err != nil {
		return Problem{}, err
	}
	i, ok := s.byID[id]
	if !ok {
		return Problem{}, fmt.Errorf("problem %q: %w", id, ErrNotFound)
	}
	return s.problems[i], nil
}

// File opens the named file.
func (s *Static) File(ctx context.Context, name string) (io.ReadSeekCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b, ok := s.files[name]
	if !ok {
		return nil, fmt.Errorf("file %q: %w", name, ErrNotFound)
	}
	return nopCloser{bytes.NewReader(b)}, nil
}

type nopCloser struct{ io.ReadSeeker }

func (nopCloser) Close() error { return nil }

// Tally recomputes p's summary counts (straight-shot correct/samples by
// role, strategies, prefixes, continuations, recovered, restarts) from
// p.Samples and p.Prefixes. SetAside and Strategies already present are
// kept; strategies of prefixes are added.
func (p *Problem) Tally() {
	s := &p.ProblemSummary
	s.StrongCorrect, s.StrongSamples, s.WeakCorrect, s.WeakSamples = 0, 0, 0, 0
	for _, x := range p.Samples {
		ok := x.Verified && x.Verdict.Correct
		switch x.Role {
		case "weak":
			s.WeakSamples++
			if ok {
				s.WeakCorrect++
			}
		default:
			s.StrongSamples++
			if ok {
				s.StrongCorrect++
			}
		}
	}
	s.Prefixes, s.Continuations, s.Recovered, s.Restarts = len(p.Prefixes), 0, 0, 0
	strategies := slices.Clone(s.Strategies)
	for _, pre := range p.Prefixes {
		if pre.Strategy != "" {
			strategies = append(strategies, pre.Strategy)
		}
		for _, c := range pre.Continuations {
			s.Continuations++
			if c.Verified && c.Verdict.Correct {
				s.Recovered++
			}
			if c.Restart {
				s.Restarts++
			}
		}
	}
	slices.Sort(strategies)
	s.Strategies = slices.Compact(strategies)
}
