package dataset

import "context"

type problemKey struct{}

// WithProblem returns a copy of ctx that names the problem the calls made
// with it are about. The recovery harness sets it on every call it makes
// for a problem (straight shots, perturbation calls, continuations). A
// real provider ignores it: a model sees only the request. A simulator or
// a researcher's mock completer may read it with ProblemOf instead of
// finding the problem from the prompt text (the simulator still answers
// only a prompt that holds the problem's question).
func WithProblem(ctx context.Context, p Problem) context.Context {
	return context.WithValue(ctx, problemKey{}, &p)
}

// ProblemOf is the problem WithProblem put in ctx; ok is false when there
// is none (a probe's canary, a call made outside the harness).
func ProblemOf(ctx context.Context) (p Problem, ok bool) {
	if v, _ := ctx.Value(problemKey{}).(*Problem); v != nil {
		return *v, true
	}
	return Problem{}, false
}
