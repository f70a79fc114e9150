package dataset

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// FieldMap says which source fields fill a Problem, for LoadJSONL and
// LoadParquet. Each string names a field (a top-level JSON key or Parquet
// column); an empty name means "not in this dataset". Question is required,
// and so is Answer unless AnswerFromSolution is set with a Solution field.
type FieldMap struct {
	ID       string // unique id; "" means ID = "name:line" (JSONL) or "name:rowN" (Parquet)
	Question string // problem statement (required)
	Answer   string // final reference answer
	Solution string // worked solution
	Subject  string
	Level    string // 3, "3" or "Level 3"; anything else is kept as Meta["level"] and Level 0
	// AnswerFromSolution takes the answer from the solution's last \boxed{}
	// when the Answer field is unset, absent, null or empty.
	AnswerFromSolution bool
	// Meta lists further fields copied (as text) into Problem.Meta when present.
	Meta []string
	// Dataset is the constant Problem.Source for every record, e.g. "aime24".
	Dataset string
}

// decoder validates fm and returns its record decoder.
func (fm FieldMap) decoder(name string) (decoder, error) {
	if fm.Question == "" {
		return nil, &Error{File: name, Err: fmt.Errorf("%w: Question field not set", ErrFieldMap)}
	}
	if fm.Answer == "" && !(fm.AnswerFromSolution && fm.Solution != "") {
		return nil, &Error{File: name, Err: fmt.Errorf("%w: set Answer, or AnswerFromSolution with Solution", ErrFieldMap)}
	}
	return fm.decode, nil
}

func (fm FieldMap) decode(r *record) (Problem, error) {
	var p Problem
	var err error
	if p.ID, err = idOf(r, fm.ID); err != nil {
		return p, err
	}
	if p.Question, err = r.required(fm.Question); err != nil {
		return p, err
	}
	if fm.Solution != "" {
		if p.Solution, _, err = r.str(fm.Solution); err != nil {
			return p, err
		}
	}
	if fm.Answer != "" {
		if p.Answer, _, err = r.str(fm.Answer); err != nil {
			return p, err
		}
		p.Answer = strings.TrimSpace(p.Answer)
	}
	if p.Answer == "" && fm.AnswerFromSolution && fm.Solution != "" {
		p.Answer, _ = LastBoxed(p.Solution)
	}
	if p.Answer == "" {
		field := fm.Answer
		why := "answer field absent or empty"
		if field == "" || (fm.AnswerFromSolution && fm.Solution != "") {
			if field == "" {
				field = fm.Solution
			}
			why += ` and no \boxed{} in the solution`
		}
		return p, r.err(field, fmt.Errorf("%w: %s", ErrEmptyAnswer, why))
	}
	p.Source = fm.Dataset
	if fm.Subject != "" {
		if p.Subject, _, err = r.str(fm.Subject); err != nil {
			return p, err
		}
	}
	if err := setLevel(r, fm.Level, &p); err != nil {
		return p, err
	}
	for _, f := range fm.Meta {
		if err := setMeta(r, f, f, &p); err != nil {
			return p, err
		}
	}
	return p, nil
}

// idOf reads the id field, or falls back to the record's position.
func idOf(r *record, field string) (string, error) {
	if field == "" {
		return r.pos(), nil
	}
	return r.required(field)
}

func setLevel(r *record, field string, p *Problem) error {
	if field == "" {
		return nil
	}
	s, ok, err := r.str(field)
	if err != nil || !ok {
		return err
	}
	if p.Level = ParseLevel(s); p.Level == 0 && strings.TrimSpace(s) != "" {
		setMetaValue(p, "level", s)
	}
	return nil
}

// setMeta copies field (if present) into p.Meta[key]. Arrays and objects are
// kept as compact JSON.
func setMeta(r *record, field, key string, p *Problem) error {
	v, ok := r.fields[field]
	if !ok || isNull(v) {
		return nil
	}
	s, _, err := r.str(field)
	if err != nil { // object or array: keep its JSON text
		s = string(v)
	}
	setMetaValue(p, key, s)
	return nil
}

func setMetaValue(p *Problem, key, value string) {
	if p.Meta == nil {
		p.Meta = make(map[string]string)
	}
	p.Meta[key] = value
}

// decodeGSM8K: Answer is the text after the last "####" line with commas
// removed; Solution is everything before that line with calculator
// annotations stripped; the annotated text is kept in
// Meta["annotated_solution"].
func decodeGSM8K(r *record) (Problem, error) {
	q, err := r.required("question")
	if err != nil {
		return Problem{}, err
	}
	raw, err := r.required("answer")
	if err != nil {
		return Problem{}, err
	}
	sol, ans, ok := splitGSM8K(raw)
	if !ok {
		return Problem{}, r.err("answer", fmt.Errorf(`%w: no "#### <answer>" line`, ErrMalformed))
	}
	if ans == "" {
		return Problem{}, r.err("answer", fmt.Errorf(`%w: nothing after "####"`, ErrEmptyAnswer))
	}
	p := Problem{
		ID:       r.pos(),
		Question: q,
		Answer:   ans,
		Solution: StripCalculatorAnnotations(sol),
		Source:   "gsm8k",
	}
	if p.Solution != sol {
		setMetaValue(&p, "annotated_solution", sol)
	}
	return p, nil
}

// splitGSM8K splits a GSM8K answer field at its last "####" line.
func splitGSM8K(raw string) (solution, answer string, ok bool) {
	i := strings.LastIndex(raw, "####")
	if i < 0 || (i > 0 && raw[i-1] != '\n') {
		return "", "", false
	}
	answer = strings.TrimSpace(raw[i+4:])
	if nl := strings.IndexByte(answer, '\n'); nl >= 0 {
		answer = strings.TrimSpace(answer[:nl])
	}
	answer = strings.ReplaceAll(answer, ",", "")
	return strings.TrimSpace(raw[:i]), answer, true
}

func decodeMATH(r *record) (Problem, error) {
	idField := ""
	if r.has("unique_id") {
		idField = "unique_id"
	}
	fm := FieldMap{
		ID: idField, Question: "problem", Answer: "answer", Solution: "solution",
		Subject: r.firstPresent("subject", "type"), Level: "level",
		AnswerFromSolution: true, Dataset: "math",
	}
	return fm.decode(r)
}

func decodeNumina(r *record) (Problem, error) {
	var p Problem
	var err error
	p.ID = r.pos()
	p.Source = "numina"
	msgs, err := messagesOf(r)
	if err != nil {
		return p, err
	}
	if r.has("problem") {
		if p.Question, err = r.required("problem"); err != nil {
			return p, err
		}
	} else if p.Question = msgs.first("user"); p.Question == "" {
		return p, r.err("problem", fmt.Errorf("%w, and no user message (fields present: %s)", ErrMissingField, r.fieldList()))
	}
	if p.Solution, _, err = r.str("solution"); err != nil {
		return p, err
	}
	if p.Solution == "" {
		p.Solution = msgs.last("assistant")
	}
	a, _, err := r.str("answer")
	if err != nil {
		return p, err
	}
	switch a = strings.TrimSpace(a); strings.ToLower(a) {
	case "", "proof", "notfound", "none":
		p.Answer, _ = LastBoxed(p.Solution)
	default:
		p.Answer = a
	}
	if p.Answer == "" {
		return p, r.err("solution", fmt.Errorf(`%w: no usable "answer" field and no \boxed{} in the solution`, ErrEmptyAnswer))
	}
	for _, f := range []string{"source", "problem_type", "question_type", "synthetic"} {
		if err := setMeta(r, f, f, &p); err != nil {
			return p, err
		}
	}
	return p, nil
}

type chat []struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

func messagesOf(r *record) (chat, error) {
	v, ok := r.fields["messages"]
	if !ok || isNull(v) {
		return nil, nil
	}
	var c chat
	if err := json.Unmarshal(v, &c); err != nil {
		return nil, r.err("messages", fmt.Errorf("%w: want [{role, content}]: %v", ErrFieldType, err))
	}
	return c, nil
}

func (c chat) first(role string) string {
	for _, m := range c {
		if m.Role == role {
			return m.Content
		}
	}
	return ""
}

func (c chat) last(role string) string {
	for i := len(c) - 1; i >= 0; i-- {
		if c[i].Role == role {
			return c[i].Content
		}
	}
	return ""
}

// detect picks a decoder from the fields of a file's first record.
func detect(r *record) (decoder, error) {
	names := fieldNames(r)
	if names["question"] && names["answer"] {
		if a, _, _ := r.str("answer"); strings.Contains(a, "####") {
			return decodeGSM8K, nil
		}
	}
	fm, err := Detect(names)
	if err != nil {
		return nil, r.err("", err)
	}
	switch fm.Dataset {
	case "math":
		return decodeMATH, nil
	case "numina":
		return decodeNumina, nil
	}
	return fm.decode, nil
}

func fieldNames(r *record) map[string]bool {
	m := make(map[string]bool, len(r.fields))
	for k, v := range r.fields {
		if !isNull(v) {
			m[k] = true
		}
	}
	return m
}

// Detect guesses a FieldMap from the field (column) names of a dataset.
// Recognised layouts set Dataset: "numina" (problem with source or
// messages, no unique_id) or "math" (problem with solution or answer, and
// unique_id or level). Otherwise common names are tried (question / problem
// / prompt / input / query; answer / final_answer / target / ground_truth /
// gold; solution / rationale; id / unique_id / uuid / idx) and Dataset is
// "". It returns ErrUnknownFormat when no question field, or neither an
// answer nor a solution field, is found. (Open and OpenParquet also look at
// the first record's values: a question/answer file whose answer has a
// "####" line is read as GSM8K.)
func Detect(fields map[string]bool) (FieldMap, error) {
	switch {
	case fields["problem"] && (fields["messages"] || fields["source"]) && !fields["unique_id"]:
		return FieldMap{Question: "problem", Answer: "answer", Solution: "solution", AnswerFromSolution: true, Dataset: "numina"}, nil
	case fields["problem"] && (fields["solution"] || fields["answer"]) && (fields["unique_id"] || fields["level"]):
		return FieldMap{ID: pick(fields, "unique_id"), Question: "problem", Answer: "answer", Solution: "solution",
			Subject: pick(fields, "subject", "type"), Level: "level", AnswerFromSolution: true, Dataset: "math"}, nil
	}
	fm := guess(fields)
	if fm.Question == "" || (fm.Answer == "" && fm.Solution == "") {
		names := make([]string, 0, len(fields))
		for k := range fields {
			names = append(names, k)
		}
		sort.Strings(names)
		return fm, fmt.Errorf("%w: no question or answer field among [%s]", ErrUnknownFormat, strings.Join(names, ", "))
	}
	return fm, nil
}

func guess(fields map[string]bool) FieldMap {
	fm := FieldMap{
		ID:       pick(fields, "id", "unique_id", "uuid", "idx", "problem_id", "question_id"),
		Question: pick(fields, "question", "problem", "prompt", "input", "query"),
		Answer:   pick(fields, "answer", "final_answer", "target", "ground_truth", "ground_truth_answer", "gold", "expected_answer"),
		Solution: pick(fields, "solution", "rationale", "ground_truth_solution", "explanation", "reasoning"),
		Subject:  pick(fields, "subject", "type", "category"),
		Level:    pick(fields, "level"),
	}
	fm.AnswerFromSolution = fm.Solution != ""
	return fm
}

func pick(fields map[string]bool, names ...string) string {
	for _, n := range names {
		if fields[n] {
			return n
		}
	}
	return ""
}
