package behaviour

import (
	"context"
	_ "embed" // the judge prompt
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/rebound-lab/rebound/providers"
)

// JudgePrompt is the prompt Judge sends (judge_prompt.txt), with five %s
// verbs: the problem, the prefix, what is known about the flaw, the
// continuation and the verdict.
//
//go:embed judge_prompt.txt
var JudgePrompt string

// ErrJudgeReply reports a judge reply naming no label.
var ErrJudgeReply = errors.New("behaviour: judge reply names no behaviour label")

// Judge is an optional LLM classifier for the continuations rules cannot
// decide (see Decided). It sends JudgePrompt to Completer at temperature 0
// and reads the label from the reply.
//
// The zero value is not usable: Completer is required. A Judge is safe for
// concurrent use when its Completer is. Completer errors are returned
// wrapped, so errors.Is(err, providers.ErrRateLimited) and
// context.Canceled work.
type Judge struct {
	// Completer answers the prompt (required).
	Completer providers.Completer
	// Model is sent as Request.Model; empty lets the Completer choose.
	Model string
	// MaxChars keeps only the tail of a long prefix and of a long
	// continuation in the prompt; 0 means 3000 each.
	MaxChars int
}

// JudgeInput is what the judge sees of one continuation.
type JudgeInput struct {
	Question, Prefix string
	Input
}

// Classify asks the judge for one continuation's label. The Result's Rule
// is "judge" and its Evidence empty; its Locus is the flaw's.
func (j *Judge) Classify(ctx context.Context, in JudgeInput) (Result, error) {
	if j.Completer == nil {
		return Result{}, errors.New("behaviour: Judge.Completer is nil")
	}
	limit := j.MaxChars
	if limit <= 0 {
		limit = 3000
	}
	verdict := "WRONG"
	if in.Correct {
		verdict = "RIGHT"
	}
	prompt := fmt.Sprintf(JudgePrompt, in.Question, tail(in.Prefix, limit), describe(in.Flaw), tail(in.Continuation, limit), verdict)
	c, err := j.Completer.Complete(ctx, providers.Request{
		Model:       j.Model,
		Messages:    []providers.Message{{Role: providers.RoleUser, Content: prompt}},
		Temperature: providers.Float(0),
		MaxTokens:   16,
	})
	if err != nil {
		return Result{}, fmt.Errorf("behaviour: judge: %w", err)
	}
	l, ok := ParseLabel(c.Text)
	if !ok {
		return Result{}, fmt.Errorf("%w: %q", ErrJudgeReply, clip(c.Text))
	}
	locus := in.Flaw.Locus
	if locus == "" {
		locus = Unlocated
	}
	return Result{Label: l, Rule: "judge", Locus: locus}, nil
}

// ParseLabel reads a label from a judge's reply: the first label named in
// it, written with underscores, spaces or hyphens, in any case ("Silent
// recovery.", "**propagated**").
func ParseLabel(reply string) (Label, bool) {
	s := strings.ToLower(reply)
	s = strings.NewReplacer("-", "_", " ", "_", "*", "", "`", "", "\"", "").Replace(s)
	best, at := Label(""), len(s)+1
	for _, l := range Labels {
		if i := strings.Index(s, string(l)); i >= 0 && i < at {
			best, at = l, i
		}
	}
	return best, best != ""
}

// Decided reports whether a rule-based Result is one the rules can stand
// behind: every rule but the weak default for a wrong answer whose flaw
// has no known value ("wrong answer, flaw never addressed") and every
// label of an unlocated flaw except a restart. The others are what Judge
// is for.
func Decided(r Result) bool {
	if r.Label == Restart {
		return true
	}
	return r.Locus != Unlocated && !strings.HasPrefix(r.Rule, "wrong answer, flaw never addressed")
}

func describe(f Flaw) string {
	var parts []string
	switch f.Locus {
	case Injected:
		parts = append(parts, "an error was injected")
	case Labelled:
		parts = append(parts, "a dataset labels the first erroneous step")
	case GoldDivergence:
		parts = append(parts, "the prefix first diverges from the reference solution")
	default:
		return "nothing beyond the final answer being wrong"
	}
	if f.Step > 0 {
		parts = append(parts, fmt.Sprintf("at step %d", f.Step))
	}
	if f.Wrong != "" {
		parts = append(parts, "where "+f.Wrong+" was written")
	}
	if f.Right != "" {
		parts = append(parts, "instead of "+f.Right)
	}
	return strings.Join(parts, " ")
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// Agreement compares two labellings of the same continuations (e.g. rules
// and judge).
type Agreement struct {
	// N pairs compared, Agree of them equal.
	N, Agree int
	// Confusion counts pairs by (first label, second label).
	Confusion map[[2]Label]int
	// Kappa is Cohen's kappa: agreement beyond what the two labellings'
	// marginal rates give by chance (NaN when chance agreement is 1).
	Kappa float64
}

// Rate is Agree/N (NaN when N is 0).
func (a Agreement) Rate() float64 {
	if a.N == 0 {
		return nan()
	}
	return float64(a.Agree) / float64(a.N)
}

// Compare measures the agreement of two labellings of the same items;
// pairs where either label is empty (undecided) are left out.
func Compare(first, second []Label) (Agreement, error) {
	if len(first) != len(second) {
		return Agreement{}, fmt.Errorf("behaviour: compare %d labels with %d", len(first), len(second))
	}
	a := Agreement{Confusion: map[[2]Label]int{}}
	m1, m2 := map[Label]int{}, map[Label]int{}
	for i := range first {
		x, y := first[i], second[i]
		if x == "" || y == "" {
			continue
		}
		a.N++
		if x == y {
			a.Agree++
		}
		a.Confusion[[2]Label{x, y}]++
		m1[x]++
		m2[y]++
	}
	if a.N == 0 {
		a.Kappa = nan()
		return a, nil
	}
	var pe float64
	for _, l := range slices.Concat(Labels) {
		pe += float64(m1[l]) / float64(a.N) * float64(m2[l]) / float64(a.N)
	}
	po := a.Rate()
	if pe >= 1 {
		a.Kappa = nan()
	} else {
		a.Kappa = (po - pe) / (1 - pe)
	}
	return a, nil
}
