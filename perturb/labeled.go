package perturb

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/rebound-lab/rebound/dataset"
)

// LabeledTrace is a model's solution from a dataset whose first mistake was
// labelled (by people, or by the dataset's construction).
type LabeledTrace struct {
	// Problem is the question the trace answers, with its gold answer when
	// the dataset has one. Problem.ID is unique per trace.
	Problem dataset.Problem `json:"problem"`
	// Steps are the trace's steps as the dataset gives them; the trace text
	// is strings.Join(Steps, "\n").
	Steps []string `json:"steps"`
	// ErrorStep is the 1-indexed first erroneous step, in [1, len(Steps)].
	ErrorStep int `json:"error_step"`
	// Origin names the dataset, e.g. "mr_gsm8k", "big_bench_mistake/word_sorting".
	Origin string `json:"origin"`
	// Meta carries other labels worth keeping (error reason, question type).
	Meta map[string]string `json:"meta,omitempty"`
}

// Skipped is a dataset record a loader left out, and why.
type Skipped struct {
	// Where is "file:line".
	Where string `json:"where"`
	// Reason says what disqualified the record.
	Reason string `json:"reason"`
}

// LabeledSet is what a loader read: the usable traces, and the records it
// skipped (no labelled error, error step beyond the trace, blank steps, …).
type LabeledSet struct {
	Traces  []LabeledTrace `json:"traces"`
	Skipped []Skipped      `json:"skipped,omitempty"`
}

// AttachAnswers fills the empty gold answers (and solutions) of s's traces
// from problems with the same question (compared after collapsing
// whitespace) and returns how many traces it filled. PRMBench records carry
// no answer; their questions come from MATH-500.
func (s *LabeledSet) AttachAnswers(problems []dataset.Problem) int {
	byQ := make(map[string]dataset.Problem, len(problems))
	for _, p := range problems {
		byQ[questionKey(p.Question)] = p
	}
	n := 0
	for i := range s.Traces {
		t := &s.Traces[i]
		if t.Problem.Answer != "" {
			continue
		}
		if p, ok := byQ[questionKey(t.Problem.Question)]; ok && p.Answer != "" {
			t.Problem.Answer = p.Answer
			if t.Problem.Solution == "" {
				t.Problem.Solution = p.Solution
			}
			n++
		}
	}
	return n
}

func questionKey(q string) string { return strings.Join(strings.Fields(q), " ") }

// readJSONL decodes each non-blank line of r into a fresh T and calls fn
// with the line's "name:line" location. A malformed line is an error naming
// its location.
func readJSONL[T any](r io.Reader, name string, fn func(where string, rec T) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		where := name + ":" + strconv.Itoa(line)
		var rec T
		if err := json.Unmarshal(b, &rec); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		if err := fn(where, rec); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s:%d: %w", name, line+1, err)
	}
	return nil
}

func checkSteps(steps []string) string {
	for i, s := range steps {
		if strings.TrimSpace(s) == "" {
			return fmt.Sprintf("step %d is blank", i+1)
		}
		if strings.ContainsRune(s, '\n') {
			return fmt.Sprintf("step %d contains a newline", i+1)
		}
	}
	return ""
}

func answerString(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return strings.TrimSpace(string(raw))
}

// ReadMRGSM8K reads MR-GSM8K records (JSONL; fields question,
// ground_truth_answer, ground_truth_solution, model_output_steps,
// model_output_solution_first_error_step (1-indexed), uuid, question_type,
// model_output_solution_first_error_reason). name labels errors and IDs
// ("name:line"). Records without a first error step in range are skipped.
func ReadMRGSM8K(r io.Reader, name string) (LabeledSet, error) {
	type rec struct {
		UUID        string          `json:"uuid"`
		Question    *string         `json:"question"`
		Answer      json.RawMessage `json:"ground_truth_answer"`
		Solution    string          `json:"ground_truth_solution"`
		Steps       *[]string       `json:"model_output_steps"`
		ErrorStep   *int            `json:"model_output_solution_first_error_step"`
		Reason      string          `json:"model_output_solution_first_error_reason"`
		Type        string          `json:"question_type"`
		Correctness string          `json:"model_output_solution_correctness"`
	}
	var set LabeledSet
	err := readJSONL(r, name, func(where string, x rec) error {
		switch {
		case x.Question == nil:
			return fmt.Errorf("%s: missing field \"question\"", where)
		case x.Steps == nil:
			return fmt.Errorf("%s: missing field \"model_output_steps\"", where)
		}
		steps := *x.Steps
		if x.ErrorStep == nil || *x.ErrorStep <= 0 {
			set.Skipped = append(set.Skipped, Skipped{where, "no labelled first error step"})
			return nil
		}
		if *x.ErrorStep > len(steps) {
			set.Skipped = append(set.Skipped, Skipped{where, fmt.Sprintf("first error step %d beyond %d steps", *x.ErrorStep, len(steps))})
			return nil
		}
		if why := checkSteps(steps); why != "" {
			set.Skipped = append(set.Skipped, Skipped{where, why})
			return nil
		}
		id := where
		if x.UUID != "" {
			id = "mr_gsm8k/" + x.UUID
		}
		set.Traces = append(set.Traces, LabeledTrace{
			Problem: dataset.Problem{
				ID: id, Question: *x.Question, Answer: answerString(x.Answer),
				Solution: x.Solution, Source: "mr_gsm8k",
			},
			Steps:     steps,
			ErrorStep: *x.ErrorStep,
			Origin:    "mr_gsm8k",
			Meta:      map[string]string{"question_type": x.Type, "error_reason": x.Reason, "record": where},
		})
		return nil
	})
	return set, err
}

// ReadBigBenchMistake reads BIG-Bench Mistake records (JSONL; fields input,
// steps, target, answer, mistake_index (0-indexed, null when the trace has
// no mistake)). name (e.g. "word_sorting.jsonl") labels errors, IDs and the
// Origin "big_bench_mistake/word_sorting". Records without a mistake are
// skipped.
func ReadBigBenchMistake(r io.Reader, name string) (LabeledSet, error) {
	type rec struct {
		Input   *string   `json:"input"`
		Steps   *[]string `json:"steps"`
		Target  string    `json:"target"`
		Answer  string    `json:"answer"`
		Mistake *int      `json:"mistake_index"`
	}
	task := strings.TrimSuffix(filepath.Base(name), filepath.Ext(name))
	origin := "big_bench_mistake/" + task
	var set LabeledSet
	err := readJSONL(r, name, func(where string, x rec) error {
		switch {
		case x.Input == nil:
			return fmt.Errorf("%s: missing field \"input\"", where)
		case x.Steps == nil:
			return fmt.Errorf("%s: missing field \"steps\"", where)
		}
		steps := *x.Steps
		if x.Mistake == nil {
			set.Skipped = append(set.Skipped, Skipped{where, "no mistake (mistake_index null)"})
			return nil
		}
		if *x.Mistake < 0 || *x.Mistake >= len(steps) {
			set.Skipped = append(set.Skipped, Skipped{where, fmt.Sprintf("mistake_index %d outside %d steps", *x.Mistake, len(steps))})
			return nil
		}
		if why := checkSteps(steps); why != "" {
			set.Skipped = append(set.Skipped, Skipped{where, why})
			return nil
		}
		set.Traces = append(set.Traces, LabeledTrace{
			Problem: dataset.Problem{
				ID: origin + ":" + where[strings.LastIndexByte(where, ':')+1:], Question: *x.Input,
				Answer: x.Target, Source: origin,
			},
			Steps:     steps,
			ErrorStep: *x.Mistake + 1,
			Origin:    origin,
			Meta:      map[string]string{"model_answer": x.Answer, "record": where},
		})
		return nil
	})
	return set, err
}

// ReadPRMBench reads PRMBench records (JSONL; fields question,
// original_question, modified_question, modified_process, error_steps
// (1-indexed into modified_process), idx, classification, reason). The
// first error is the smallest of error_steps. Skipped: records whose first
// error step lies beyond modified_process (a known upstream quirk), whose
// question was modified (the trace answers a different question), or with
// a blank step. The records carry no gold answer: use AttachAnswers with
// MATH-500.
func ReadPRMBench(r io.Reader, name string) (LabeledSet, error) {
	type rec struct {
		Question         *string   `json:"question"`
		OriginalQuestion string    `json:"original_question"`
		ModifiedQuestion string    `json:"modified_question"`
		Process          *[]string `json:"modified_process"`
		ErrorSteps       []int     `json:"error_steps"`
		Idx              string    `json:"idx"`
		Class            string    `json:"classification"`
		Reason           string    `json:"reason"`
	}
	var set LabeledSet
	err := readJSONL(r, name, func(where string, x rec) error {
		switch {
		case x.Question == nil:
			return fmt.Errorf("%s: missing field \"question\"", where)
		case x.Process == nil:
			return fmt.Errorf("%s: missing field \"modified_process\"", where)
		}
		steps := *x.Process
		if len(x.ErrorSteps) == 0 {
			set.Skipped = append(set.Skipped, Skipped{where, "no error_steps"})
			return nil
		}
		first := x.ErrorSteps[0]
		for _, e := range x.ErrorSteps {
			first = min(first, e)
		}
		if first < 1 || first > len(steps) {
			set.Skipped = append(set.Skipped, Skipped{where, fmt.Sprintf("first error step %d beyond %d steps", first, len(steps))})
			return nil
		}
		if x.ModifiedQuestion != "" && x.ModifiedQuestion != x.OriginalQuestion {
			set.Skipped = append(set.Skipped, Skipped{where, "question modified (" + x.Class + ")"})
			return nil
		}
		if why := checkSteps(steps); why != "" {
			set.Skipped = append(set.Skipped, Skipped{where, why})
			return nil
		}
		id := "prmbench/" + x.Idx + "/" + x.Class
		if x.Idx == "" {
			id = where
		}
		set.Traces = append(set.Traces, LabeledTrace{
			Problem:   dataset.Problem{ID: id, Question: *x.Question, Source: "prmbench"},
			Steps:     steps,
			ErrorStep: first,
			Origin:    "prmbench",
			Meta:      map[string]string{"classification": x.Class, "error_reason": x.Reason, "record": where},
		})
		return nil
	})
	return set, err
}

// LoadLabeled reads a labelled-trace file, choosing the format from the
// fields of its first record: MR-GSM8K (model_output_steps), BIG-Bench
// Mistake (mistake_index) or PRMBench (modified_process).
func LoadLabeled(path string) (LabeledSet, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return LabeledSet{}, err
	}
	first := data
	if i := bytes.IndexByte(first, '\n'); i >= 0 {
		first = first[:i]
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(first, &fields); err != nil {
		return LabeledSet{}, fmt.Errorf("%s:1: %w", path, err)
	}
	switch {
	case fields["model_output_steps"] != nil:
		return ReadMRGSM8K(bytes.NewReader(data), path)
	case fields["mistake_index"] != nil || fields["steps"] != nil && fields["input"] != nil:
		return ReadBigBenchMistake(bytes.NewReader(data), path)
	case fields["modified_process"] != nil:
		return ReadPRMBench(bytes.NewReader(data), path)
	}
	return LabeledSet{}, fmt.Errorf("%s:1: unknown labelled format: want a model_output_steps, mistake_index or modified_process field", path)
}

// Labeled perturbs problems with real, labelled mistakes from datasets: it
// finds the problem's labelled traces (by ID, else by question text), picks
// one (seeded per problem) and cuts it right after its first error step —
// real model mistakes at known positions, at no API cost. Steps are the
// dataset's own; the prefix is strings.Join(Steps[:k], "\n").
//
// A problem with no labelled trace is set aside with ErrNoTrace; one whose
// every trace states a final answer at or before its error step with
// ErrTooShort (other traces of the same question are tried first).
//
// Build one with NewLabeled; it is safe for concurrent use. A Labeled may
// be copied to change Cut or Seed: copies share the (read-only) index.
type Labeled struct {
	// Cut chooses where to truncate; nil means CutAfterError.
	Cut Cut
	// Seed seeds the choice among a question's traces and the cut.
	Seed int64

	traces []LabeledTrace
	groups [][]int        // trace indices sharing a question, in load order
	byID   map[string]int // problem ID (trace or group) → group
	byQ    map[string]int // question key → group
}

var _ Perturber = (*Labeled)(nil)

// NewLabeled indexes traces for perturbing. Traces with the same question
// form one problem.
func NewLabeled(traces []LabeledTrace) *Labeled {
	l := &Labeled{traces: traces, byID: map[string]int{}, byQ: map[string]int{}}
	for i, t := range traces {
		k := questionKey(t.Problem.Question)
		g, ok := l.byQ[k]
		if !ok {
			g = len(l.groups)
			l.groups = append(l.groups, nil)
			l.byQ[k] = g
		}
		l.groups[g] = append(l.groups[g], i)
		l.byID[t.Problem.ID] = g
	}
	return l
}

// Traces returns the indexed traces (not a copy; do not modify).
func (l *Labeled) Traces() []LabeledTrace { return l.traces }

// Problems returns one problem per distinct question, in load order, with
// the ID, answer and solution of the question's first trace (the first
// with a non-empty answer, if any). Pass them straight to a run.
func (l *Labeled) Problems() []dataset.Problem {
	out := make([]dataset.Problem, 0, len(l.groups))
	for _, g := range l.groups {
		p := l.traces[g[0]].Problem
		for _, i := range g {
			if a := l.traces[i].Problem; a.Answer != "" {
				p.Answer, p.Solution = a.Answer, a.Solution
				break
			}
		}
		out = append(out, p)
	}
	return out
}

// Perturb cuts one of p's labelled traces right after its first error; see
// Labeled.
func (l *Labeled) Perturb(ctx context.Context, p dataset.Problem) (Prefix, error) {
	if err := ctx.Err(); err != nil {
		return Prefix{}, err
	}
	g, ok := l.byID[p.ID]
	if !ok {
		g, ok = l.byQ[questionKey(p.Question)]
	}
	if !ok {
		return Prefix{}, fmt.Errorf("%w: no labelled trace for problem %s", ErrNoTrace, p.ID)
	}
	cut := l.Cut
	if cut == nil {
		cut = CutAfterError()
	}
	idx := append([]int(nil), l.groups[g]...)
	r := Rand(l.Seed, p.ID)
	r.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
	var lastErr error
	for _, i := range idx {
		t := l.traces[i]
		source, steps, err := JoinSteps(t.Steps)
		if err != nil {
			return Prefix{}, fmt.Errorf("perturb: labeled trace %s: %w", t.Problem.ID, err)
		}
		pre, err := Truncate(source, cut, CutInput{Steps: steps, ErrorStep: t.ErrorStep, Rand: r})
		if errors.Is(err, ErrTooShort) {
			lastErr = fmt.Errorf("labeled trace %s: %w", t.Problem.ID, err)
			continue
		}
		if err != nil {
			return Prefix{}, fmt.Errorf("perturb: labeled trace %s: %w", t.Problem.ID, err)
		}
		pre.Strategy = "labeled"
		pre.Origin = t.Origin
		if pre.Meta == nil {
			pre.Meta = map[string]string{}
		}
		for k, v := range t.Meta {
			pre.Meta[k] = v
		}
		pre.Meta["trace_id"] = t.Problem.ID
		return pre, nil
	}
	return Prefix{}, fmt.Errorf("perturb: problem %s: none of its %d labelled traces can be cut before its answer: %w", p.ID, len(idx), lastErr)
}
