package recovery

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/rebound-lab/rebound/providers"
	"github.com/rebound-lab/rebound/verify"
)

// Health is the run's diagnostics: per stage and model, the calls that came
// back unusable in a way that would otherwise read as "the model never
// recovers" — truncated at the token limit, empty, without a final answer,
// refused, restarted, echoing the prefix, byte-identical across samples, or
// failed — and the warnings those counts raise. It is summary.json's
// "health", a section of report.md and the console's closing WARN block.
type Health struct {
	Stages   []StageHealth   `json:"stages"`
	Warnings []HealthWarning `json:"warnings"`
	// UsableContinuations counts continuations that can measure recovery:
	// no error, non-empty, not cut by the token limit, not restarted, with
	// a final answer. MeasuredNothing is set when there are none, or when
	// RestartsMeasureNothing of the returned continuations started over.
	UsableContinuations int  `json:"usable_continuations"`
	MeasuredNothing     bool `json:"measured_nothing"`
	// Probe is the preflight probe's verdict, if one ran.
	Probe *ProbeSummary `json:"probe,omitempty"`
}

// ProbeSummary is the part of a ProbeRecord the summary carries.
type ProbeSummary struct {
	Model   string                  `json:"model"`
	Method  providers.PrefillMethod `json:"method,omitempty"`
	Verdict providers.ProbeVerdict  `json:"verdict"`
	Reason  string                  `json:"reason"`
	Forced  bool                    `json:"forced,omitempty"`
	CostUSD float64                 `json:"cost_usd"`
}

// StageHealth counts one stage's rows of one model. Every count but Calls
// and Errors is over the calls that returned (OK).
type StageHealth struct {
	Stage string `json:"stage"`
	Model string `json:"model"`
	Calls int    `json:"calls"`
	OK    int    `json:"ok"`
	// Length: finish_reason "length" (cut at max tokens).
	Length int `json:"length"`
	Empty  int `json:"empty"`
	// Unparsable: the verifier found no final answer (straight shots and
	// continuations only).
	Unparsable int `json:"unparsable"`
	Refusals   int `json:"refusals"`
	Restarts   int `json:"restarts"`
	Echoed     int `json:"echoed"`
	// Prompts with two or more returned samples, and of those the ones
	// whose samples are all byte-identical.
	Prompts   int `json:"prompts"`
	Identical int `json:"identical"`
	// Errors counts failed calls by class (see ErrorClass).
	Errors map[string]int `json:"errors"`
	// Answered counts the returned calls with a final answer (straight
	// shots and continuations only); Fallback those of them whose answer
	// only the verifier's last-number fallback found (verify.SourceNumber).
	Answered int `json:"answered"`
	Fallback int `json:"fallback"`
}

// HealthWarning is one count over its threshold, with the fix.
type HealthWarning struct {
	Stage     string `json:"stage"`
	Model     string `json:"model"`
	Condition string `json:"condition"`
	Count     int    `json:"count"`
	Of        int    `json:"of"`
	Message   string `json:"message"`
}

// Health conditions, as HealthWarning.Condition and the viewer's filters.
const (
	CondLength     = "length"
	CondEmpty      = "empty"
	CondUnparsable = "unparsable"
	CondRefusal    = "refusal"
	CondRestart    = "restart"
	CondEchoed     = "echoed"
	CondIdentical  = "identical"
	CondErrors     = "errors"
	CondNothing    = "nothing_measured"
	// CondFallback: the final answer was found only by the verifier's
	// last-number fallback (verify.SourceNumber), not by any answer format.
	CondFallback = "fallback_answer"
)

// RestartsMeasureNothing is the share of returned continuations that
// started over at which a run counts as having measured nothing: the
// endpoint is not continuing prefixes, so recovery is not what was measured.
const RestartsMeasureNothing = 0.5

// HealthThresholds are the shares above which a condition warns.
var HealthThresholds = map[string]float64{
	CondLength: 0.10, CondEmpty: 0.05, CondUnparsable: 0.25, CondRefusal: 0.05,
	CondRestart: 0.25, CondEchoed: 0.10, CondIdentical: 0.50, CondErrors: 0.05,
	CondFallback: 0.20,
}

// refusalPatterns mark a reply that declines the task (matched, lower-cased,
// in its first 200 characters).
var refusalPatterns = []string{"i can't help", "i cannot help", "i can't assist", "i cannot assist",
	"i'm sorry, but i can", "i am sorry, but i can", "i'm unable to", "i am unable to", "i won't be able to"}

// HealthCondition returns the SQL condition over the samples table that
// selects the rows with condition cond (CondLength … CondErrors), for
// filters; "" for an unknown condition. CondIdentical is per prompt: it
// selects rows whose prompt's samples are all identical.
func HealthCondition(cond string) string {
	switch cond {
	case CondLength:
		return `(error = '' AND finish_reason = 'length')`
	case CondEmpty:
		return `(error = '' AND response = '')`
	case CondUnparsable:
		return `(error = '' AND stage != 'perturb' AND answer = '')`
	case CondRefusal:
		var ors []string
		for _, p := range refusalPatterns {
			ors = append(ors, `instr(lower(substr(response, 1, 200)), '`+strings.ReplaceAll(p, "'", "''")+`') > 0`)
		}
		return `(error = '' AND (` + strings.Join(ors, " OR ") + `))`
	case CondRestart:
		return `(error = '' AND restarted = 1)`
	case CondEchoed:
		return `(EXISTS (SELECT 1 FROM sample_flags f WHERE f.flag = 'echoed' AND f.stage = samples.stage AND
			f.problem_id = samples.problem_id AND f.prefix = samples.prefix AND f.sample = samples.sample))`
	case CondIdentical:
		return `(error = '' AND stage != 'perturb' AND EXISTS (SELECT 1 FROM samples o WHERE o.stage = samples.stage AND
			o.problem_id = samples.problem_id AND o.prefix = samples.prefix AND o.error = '' AND o.sample != samples.sample) AND
			NOT EXISTS (SELECT 1 FROM samples o WHERE o.stage = samples.stage AND o.problem_id = samples.problem_id AND
			o.prefix = samples.prefix AND o.error = '' AND o.response != samples.response))`
	case CondErrors:
		return `(error != '')`
	case CondFallback:
		return `(error = '' AND stage != 'perturb' AND answer != '' AND rule = '` + verify.SourceNumber + `')`
	}
	return ""
}

const flagsSchema = `CREATE TABLE IF NOT EXISTS sample_flags (
	stage      TEXT NOT NULL,
	problem_id TEXT NOT NULL,
	prefix     TEXT NOT NULL DEFAULT '',
	sample     INTEGER NOT NULL,
	flag       TEXT NOT NULL,
	PRIMARY KEY (stage, problem_id, prefix, sample, flag)
)`

// putFlag marks a sample row with flag (e.g. "echoed").
func (s *Store) putFlag(ctx context.Context, r Sample, flag string) error {
	_, err := s.w.ExecContext(ctx, `INSERT OR IGNORE INTO sample_flags(stage, problem_id, prefix, sample, flag) VALUES(?, ?, ?, ?, ?)`,
		r.Stage, r.ProblemID, r.Prefix, r.Sample, flag)
	if err != nil {
		return fmt.Errorf("recovery: flag %s sample %d of %q: %w", r.Stage, r.Sample, r.ProblemID, err)
	}
	return nil
}

// ErrorClass sorts a failed call's error text into a class: "timeout",
// "rate_limit", "auth", "not_found", "bad_request", "server", "network",
// "budget", "verify" or "other".
func ErrorClass(errText string) string {
	e := strings.ToLower(errText)
	has := func(subs ...string) bool {
		for _, s := range subs {
			if strings.Contains(e, s) {
				return true
			}
		}
		return false
	}
	switch {
	case strings.HasPrefix(e, "verify: "):
		return "verify"
	case has("deadline exceeded", "timeout", "timed out"):
		return "timeout"
	case has("429", "rate limit", "rate_limit"):
		return "rate_limit"
	case has("401", "403", "api key", "unauthorized", "forbidden"):
		return "auth"
	case has("404", "not found", "does not exist"):
		return "not_found"
	case has("budget"):
		return "budget"
	case has("400", "invalid_request", "bad request"):
		return "bad_request"
	case has("500", "502", "503", "504", "529", "overloaded", "server error", "server_error"):
		return "server"
	case has("connection refused", "no such host", "connection reset", "eof", "dial tcp", "broken pipe"):
		return "network"
	}
	return "other"
}

// computeHealth counts every condition with one query per kind over st.
func computeHealth(ctx context.Context, st *Store) (Health, error) {
	if err := st.Flush(ctx); err != nil {
		return Health{}, err
	}
	h := Health{Stages: []StageHealth{}, Warnings: []HealthWarning{}}
	q := `SELECT stage, model, COUNT(*), SUM(error = ''), SUM(` + HealthCondition(CondLength) + `), SUM(` + HealthCondition(CondEmpty) +
		`), SUM(` + HealthCondition(CondUnparsable) + `), SUM(` + HealthCondition(CondRefusal) + `), SUM(` + HealthCondition(CondRestart) +
		`), SUM(` + HealthCondition(CondEchoed) + `), SUM(error = '' AND stage != 'perturb' AND answer != ''), SUM(` +
		HealthCondition(CondFallback) + `) FROM samples GROUP BY stage, model`
	rows, err := st.db.QueryContext(ctx, q)
	if err != nil {
		return h, fmt.Errorf("recovery: health: %w", err)
	}
	byKey := map[[2]string]*StageHealth{}
	for rows.Next() {
		var s StageHealth
		if err := rows.Scan(&s.Stage, &s.Model, &s.Calls, &s.OK, &s.Length, &s.Empty, &s.Unparsable, &s.Refusals,
			&s.Restarts, &s.Echoed, &s.Answered, &s.Fallback); err != nil {
			rows.Close()
			return h, fmt.Errorf("recovery: health: %w", err)
		}
		s.Errors = map[string]int{}
		h.Stages = append(h.Stages, s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return h, fmt.Errorf("recovery: health: %w", err)
	}
	for i := range h.Stages {
		byKey[[2]string{h.Stages[i].Stage, h.Stages[i].Model}] = &h.Stages[i]
	}
	scan := func(q string, fn func(stage, model string, a, b int, text string)) error {
		rows, err := st.db.QueryContext(ctx, q)
		if err != nil {
			return fmt.Errorf("recovery: health: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var stage, model, text string
			var a, b int
			if err := rows.Scan(&stage, &model, &a, &b, &text); err != nil {
				return fmt.Errorf("recovery: health: %w", err)
			}
			fn(stage, model, a, b, text)
		}
		return rows.Err()
	}
	// Prompts with ≥ 2 returned samples, and those whose samples are all
	// byte-identical.
	if err := scan(`SELECT stage, model, COUNT(*), SUM(d = 1), '' FROM (SELECT stage, model, COUNT(*) n,
			COUNT(DISTINCT response) d FROM samples WHERE error = '' AND stage != 'perturb'
			GROUP BY stage, model, problem_id, prefix HAVING n > 1) GROUP BY stage, model`,
		func(stage, model string, prompts, identical int, _ string) {
			if s := byKey[[2]string{stage, model}]; s != nil {
				s.Prompts, s.Identical = prompts, identical
			}
		}); err != nil {
		return h, err
	}
	if err := scan(`SELECT stage, model, 0, 0, error FROM samples WHERE error != ''`,
		func(stage, model string, _, _ int, text string) {
			if s := byKey[[2]string{stage, model}]; s != nil {
				s.Errors[ErrorClass(text)]++
			}
		}); err != nil {
		return h, err
	}
	usable := `stage = 'continue' AND error = '' AND response != '' AND finish_reason != 'length' AND restarted = 0 AND answer != ''`
	var conts int
	if err := st.db.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(`+usable+`), 0) FROM samples WHERE stage = 'continue'`).
		Scan(&conts, &h.UsableContinuations); err != nil {
		return h, fmt.Errorf("recovery: health: %w", err)
	}
	var problems int
	if err := st.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM problems`).Scan(&problems); err != nil {
		return h, fmt.Errorf("recovery: health: %w", err)
	}
	// A run whose continuations mostly started over measured straight
	// shots, not recovery: that counts as measuring nothing too.
	var restarts, returned int
	for _, s := range h.Stages {
		if s.Stage == StageContinue {
			restarts += s.Restarts
			returned += s.OK
		}
	}
	h.MeasuredNothing = h.UsableContinuations == 0 || (returned > 0 && float64(restarts)/float64(returned) >= RestartsMeasureNothing)
	maxTokens := 0
	if v, ok, err := st.Config(ctx, "config"); err == nil && ok {
		var c struct {
			MaxTokens int `json:"max_tokens"`
		}
		if json.Unmarshal([]byte(v), &c) == nil {
			maxTokens = c.MaxTokens
		}
	}
	if p, ok, err := st.Probe(ctx); err == nil && ok {
		h.Probe = &ProbeSummary{Model: p.Model, Method: p.Method, Verdict: p.Verdict, Reason: p.Reason, Forced: p.Forced, CostUSD: p.CostUSD}
	}
	h.Warnings = healthWarnings(h, maxTokens, conts)
	return h, nil
}

func pct(k, n int) float64 { return 100 * float64(k) / float64(n) }

func healthWarnings(h Health, maxTokens, conts int) []HealthWarning {
	out := []HealthWarning{}
	limit := "the provider's default max_tokens"
	if maxTokens > 0 {
		limit = fmt.Sprintf("max_tokens %d", maxTokens)
	}
	for _, s := range h.Stages {
		what := s.Stage + " calls of " + s.Model
		add := func(cond string, k, n int, msg string) {
			if n > 0 && k > 0 && float64(k)/float64(n) >= HealthThresholds[cond] {
				subject := what
				if cond == CondIdentical {
					subject = "prompts of the " + s.Stage + " stage (" + s.Model + ")"
				}
				out = append(out, HealthWarning{Stage: s.Stage, Model: s.Model, Condition: cond, Count: k, Of: n,
					Message: fmt.Sprintf("%.0f %% (%d/%d) of %s %s", pct(k, n), k, n, subject, msg)})
			}
		}
		add(CondLength, s.Length, s.OK, "hit "+limit+": raise -max-tokens (Config.MaxTokens)")
		add(CondEmpty, s.Empty, s.OK, "came back empty: check the model and endpoint (a reasoning model may spend every token thinking: raise -max-tokens)")
		if s.Stage != StagePerturb {
			add(CondUnparsable, s.Unparsable, s.OK, "have no final answer the verifier could find: check the output format and -max-tokens")
			add(CondFallback, s.Fallback, s.Answered, "with an answer had their answer found only by the last-number fallback: the model ignores the answer-format instruction: check the prompt or the model's output format")
		}
		add(CondRefusal, s.Refusals, s.OK, "were refused by the model: check the prompt and the provider's content filter")
		if s.Stage == StageContinue {
			add(CondRestart, s.Restarts, s.OK, "started over instead of continuing the prefix: the endpoint probably does not honour prefill; run -probe or examples/probe, or change <PROVIDER>_PREFILL")
			add(CondEchoed, s.Echoed, s.OK, "echoed the prefix before continuing (the echo was stripped): the endpoint is not a clean prefill; run examples/probe")
		}
		if s.Stage != StagePerturb {
			add(CondIdentical, s.Identical, s.Prompts, "got byte-identical samples: a response-caching gateway or temperature 0 collapses the samples; set -temperature above 0 or turn the gateway's cache off")
		}
		var failed int
		var classes []string
		for _, c := range slices.Sorted(mapsKeys(s.Errors)) {
			failed += s.Errors[c]
			classes = append(classes, fmt.Sprintf("%s %d", c, s.Errors[c]))
		}
		add(CondErrors, failed, s.Calls, "failed ("+strings.Join(classes, ", ")+"): rerun the same command to retry them")
	}
	if h.MeasuredNothing {
		msg := "no continuation was measured"
		switch {
		case h.UsableContinuations > 0:
			msg = fmt.Sprintf("at least %.0f %% of the continuations started over instead of continuing their prefix, so what was measured is not recovery", 100*RestartsMeasureNothing)
		case conts > 0:
			msg = fmt.Sprintf("none of the %d continuations can measure recovery (each failed, was empty, hit the token limit, restarted or had no final answer)", conts)
		}
		out = append(out, HealthWarning{Stage: StageContinue, Condition: CondNothing, Count: conts, Of: conts,
			Message: "the run measured nothing: " + msg + "; see the warnings above"})
	}
	return out
}

// WarnBlock renders the warnings for the console, one "WARN" line each;
// "" when there are none.
func (h Health) WarnBlock() string {
	if len(h.Warnings) == 0 {
		return ""
	}
	var b strings.Builder
	for _, w := range h.Warnings {
		fmt.Fprintf(&b, "WARN %s\n", w.Message)
	}
	return b.String()
}

// markdown renders the report's health section.
func (h Health) markdown() string {
	var b strings.Builder
	b.WriteString("## Health\n\n")
	if p := h.Probe; p != nil {
		forced := ""
		if p.Forced {
			forced = " (run forced despite it)"
		}
		fmt.Fprintf(&b, "Preflight probe of %s (prefill %s): **%s** (%s)%s, $%.4f.\n\n", p.Model, methodName(p.Method), p.Verdict, p.Reason, forced, p.CostUSD)
	}
	if len(h.Warnings) == 0 {
		b.WriteString("No health warnings.\n\n")
	} else {
		for _, w := range h.Warnings {
			fmt.Fprintf(&b, "- **WARN** %s\n", w.Message)
		}
		b.WriteString("\n")
	}
	b.WriteString("| stage | model | calls | ok | length | empty | no answer | refused | restarted | echoed | identical prompts | errors |\n")
	b.WriteString("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, s := range h.Stages {
		var errs []string
		for _, c := range slices.Sorted(mapsKeys(s.Errors)) {
			errs = append(errs, fmt.Sprintf("%s %d", c, s.Errors[c]))
		}
		fmt.Fprintf(&b, "| %s | %s | %d | %d | %d | %d | %d | %d | %d | %d | %d/%d | %s |\n", s.Stage, s.Model, s.Calls, s.OK,
			s.Length, s.Empty, s.Unparsable, s.Refusals, s.Restarts, s.Echoed, s.Identical, s.Prompts, strings.Join(errs, ", "))
	}
	fmt.Fprintf(&b, "\nUsable continuations (returned, non-empty, not cut at the token limit, not restarted, with a final answer): %d. "+
		"Thresholds: a warning when a share reaches length %.0f %%, empty %.0f %%, no answer %.0f %%, refused %.0f %%, restarted %.0f %%, "+
		"echoed %.0f %%, identical %.0f %% of prompts, errors %.0f %%, answers found only by the last-number fallback %.0f %%.\n\n", h.UsableContinuations,
		100*HealthThresholds[CondLength], 100*HealthThresholds[CondEmpty], 100*HealthThresholds[CondUnparsable],
		100*HealthThresholds[CondRefusal], 100*HealthThresholds[CondRestart], 100*HealthThresholds[CondEchoed],
		100*HealthThresholds[CondIdentical], 100*HealthThresholds[CondErrors], 100*HealthThresholds[CondFallback])
	return b.String()
}

// healthFold counts what computeHealth counts, from the rows of the
// summary pass (Summarize) instead of five queries of its own, one of
// which sorted every row's response. Rows must come in the store's
// primary-key order, so a prompt's samples (stage, problem, prefix) come
// together.
type healthFold struct {
	by map[[2]string]*StageHealth
	// The current prompt and, per model, its error-free samples: how many
	// and whether every response so far equals the first.
	stage, problem, prefix string
	prompt                 map[string]*promptFold
	usable, conts          int
}

type promptFold struct {
	n     int
	first string
	same  bool
}

func newHealthFold() *healthFold {
	return &healthFold{by: map[[2]string]*StageHealth{}, prompt: map[string]*promptFold{}}
}

func (f *healthFold) row(r *summaryRow) {
	k := [2]string{r.stage, r.model}
	s := f.by[k]
	if s == nil {
		s = &StageHealth{Stage: r.stage, Model: r.model, Errors: map[string]int{}}
		f.by[k] = s
	}
	ok := !r.failed
	straight := r.stage != StagePerturb
	s.Calls++
	count := func(n *int, c bool) {
		if c {
			*n++
		}
	}
	count(&s.OK, ok)
	count(&s.Length, ok && r.lengthCut)
	count(&s.Empty, ok && !r.responded)
	count(&s.Unparsable, ok && straight && !r.answered)
	count(&s.Refusals, r.refusal)
	count(&s.Restarts, ok && r.restarted)
	count(&s.Echoed, r.echoed)
	count(&s.Answered, ok && straight && r.answered)
	count(&s.Fallback, ok && straight && r.answered && r.fallback)
	if r.failed {
		s.Errors[ErrorClass(r.errText)]++
	}
	if r.stage == StageContinue {
		f.conts++
		count(&f.usable, ok && r.responded && !r.lengthCut && !r.restarted && r.answered)
	}
	if r.stage != f.stage || r.problemID != f.problem || r.prefix != f.prefix {
		f.flush()
		f.stage, f.problem, f.prefix = r.stage, r.problemID, r.prefix
	}
	if ok && straight {
		p := f.prompt[r.model]
		if p == nil {
			p = &promptFold{first: strings.Clone(r.response), same: true}
			f.prompt[r.model] = p
		} else if p.same && r.response != p.first {
			p.same = false
		}
		p.n++
	}
}

// flush ends the current prompt: a prompt sampled more than once counts,
// and is identical when every sample's response was the same.
func (f *healthFold) flush() {
	for model, p := range f.prompt {
		if p.n > 1 {
			if s := f.by[[2]string{f.stage, model}]; s != nil {
				s.Prompts++
				if p.same {
					s.Identical++
				}
			}
		}
	}
	clear(f.prompt)
}

// finish completes the Health as computeHealth does.
func (f *healthFold) finish(ctx context.Context, st *Store) Health {
	f.flush()
	h := Health{Stages: []StageHealth{}, Warnings: []HealthWarning{}, UsableContinuations: f.usable}
	keys := slices.SortedFunc(maps.Keys(f.by), func(a, b [2]string) int {
		if c := strings.Compare(a[0], b[0]); c != 0 {
			return c
		}
		return strings.Compare(a[1], b[1])
	})
	var restarts, returned int
	for _, k := range keys {
		s := *f.by[k]
		h.Stages = append(h.Stages, s)
		if s.Stage == StageContinue {
			restarts += s.Restarts
			returned += s.OK
		}
	}
	h.MeasuredNothing = h.UsableContinuations == 0 || (returned > 0 && float64(restarts)/float64(returned) >= RestartsMeasureNothing)
	if p, ok, err := st.Probe(ctx); err == nil && ok {
		h.Probe = &ProbeSummary{Model: p.Model, Method: p.Method, Verdict: p.Verdict, Reason: p.Reason, Forced: p.Forced, CostUSD: p.CostUSD}
	}
	h.Warnings = healthWarnings(h, runMaxTokens(ctx, st), f.conts)
	return h
}

// runMaxTokens is the run's Config.MaxTokens as stored (0 when unknown).
func runMaxTokens(ctx context.Context, st *Store) int {
	v, ok, err := st.Config(ctx, "config")
	if err != nil || !ok {
		return 0
	}
	var c struct {
		MaxTokens int `json:"max_tokens"`
	}
	if json.Unmarshal([]byte(v), &c) != nil {
		return 0
	}
	return c.MaxTokens
}

// refused reports what HealthCondition(CondRefusal) does in SQL: the
// first 200 characters of response, ASCII letters lowered as SQLite's
// lower() does, contain a refusal pattern.
func refused(response string) bool {
	var buf [800]byte
	n, chars := 0, 0
	for i := 0; i < len(response) && n < len(buf); i++ {
		c := response[i]
		if c&0xC0 != 0x80 { // a character starts (SQLite counts UTF-8 lead bytes)
			if chars == 200 {
				break
			}
			chars++
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[n] = c
		n++
	}
	head := string(buf[:n])
	for _, p := range refusalPatterns {
		if strings.Contains(head, p) {
			return true
		}
	}
	return false
}
