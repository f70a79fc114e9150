package providers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
)

// ProbeVerdict classifies how an endpoint treats a prefill.
type ProbeVerdict string

// Probe verdicts, from best to worst for the experiment.
const (
	// ProbeHonoured: the model continued every canary prefix in place.
	ProbeHonoured ProbeVerdict = "honoured"
	// ProbeEchoed: the reply repeated the prefix before continuing it. The
	// adapters strip the echo, so results stay usable, but the endpoint is
	// not a clean prefill.
	ProbeEchoed ProbeVerdict = "echoed"
	// ProbeIgnored: the model started over instead of continuing (the
	// prefill was dropped or not presented as the model's own text).
	ProbeIgnored ProbeVerdict = "ignored"
	// ProbeRejected: the endpoint refused the prefill (an error wrapping
	// ErrPrefillUnsupported, e.g. Anthropic's 400 for Claude 4.6+).
	ProbeRejected ProbeVerdict = "rejected"
	// ProbeInconclusive: the replies neither continued nor clearly restarted
	// (empty, off-topic); run it again or read the evidence.
	ProbeInconclusive ProbeVerdict = "inconclusive"
)

// ProbeCanary is one test prefix: a question, a prefill that stops
// mid-sequence or mid-word, and what an honoured continuation starts with.
type ProbeCanary struct {
	Name     string
	Question string
	Prefill  string
	// Continues matches the start of an honoured continuation (leading
	// whitespace removed).
	Continues *regexp.Regexp
	// Restarts matches the start of a reply that ignored the prefill (the
	// raw continuation, whitespace kept).
	Restarts *regexp.Regexp
}

// DefaultCanaries are the probe's prefixes. Each is answered in a few
// tokens, and a model that restarts produces text that does not match.
var DefaultCanaries = []ProbeCanary{
	{
		Name:      "count",
		Question:  "Count from 1 to 30, separated by commas. Output only the numbers.",
		Prefill:   "1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17,",
		Continues: regexp.MustCompile(`^18\b`),
		Restarts:  regexp.MustCompile(`^\s*1\b`),
	},
	{
		Name:      "mid-word",
		Question:  "Write one short sentence about today's weather.",
		Prefill:   "The weather today is unseasonab",
		Continues: regexp.MustCompile(`^l[ey]\b`),
		// A word cut mid-way is continued without a space; a space or a
		// capital means a fresh sentence.
		Restarts: regexp.MustCompile(`^(\s|[A-Z])`),
	},
	{
		Name:      "evens",
		Question:  "List the even numbers from 2 to 40, separated by commas. Output only the numbers.",
		Prefill:   "2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22,",
		Continues: regexp.MustCompile(`^24\b`),
		Restarts:  regexp.MustCompile(`^\s*2\b`),
	},
}

// ProbeCall is the evidence of one canary call.
type ProbeCall struct {
	Canary  string       `json:"canary"`
	Prefill string       `json:"prefill"`
	Text    string       `json:"text"` // the continuation as the Completer returned it
	Echoed  bool         `json:"echoed,omitempty"`
	Outcome ProbeVerdict `json:"outcome"`
	Reason  string       `json:"reason"`
	Err     string       `json:"error,omitempty"`
	// Method is the prefill method the Completer reported using.
	Method PrefillMethod `json:"method,omitempty"`
}

// ProbeResult is ProbePrefill's verdict with its evidence.
type ProbeResult struct {
	Endpoint Endpoint      `json:"endpoint"`
	Model    string        `json:"model"`
	Method   PrefillMethod `json:"method"` // as requested ("" = native)
	Verdict  ProbeVerdict  `json:"verdict"`
	Reason   string        `json:"reason"`
	Calls    []ProbeCall   `json:"calls"`
	Usage    Usage         `json:"usage"`
	CostUSD  float64       `json:"cost_usd"`
}

// String is a one-line summary, e.g. `honoured (3/3 canaries continued in place)`.
func (r ProbeResult) String() string { return fmt.Sprintf("%s (%s)", r.Verdict, r.Reason) }

type probeConfig struct {
	method    PrefillMethod
	maxTokens int
	canaries  []ProbeCanary
}

// ProbeOption adjusts ProbePrefill.
type ProbeOption func(*probeConfig)

// ProbeMethod probes prefill method m instead of the Completer's native one.
func ProbeMethod(m PrefillMethod) ProbeOption { return func(c *probeConfig) { c.method = m } }

// ProbeMaxTokens caps each canary's output (default 12, or
// ReasoningMaxTokens for a LikelyReasoningModel).
// n ≤ 0 keeps the default.
func ProbeMaxTokens(n int) ProbeOption {
	return func(c *probeConfig) {
		if n > 0 {
			c.maxTokens = n
		}
	}
}

// ProbeCanaries replaces DefaultCanaries.
func ProbeCanaries(cs ...ProbeCanary) ProbeOption { return func(c *probeConfig) { c.canaries = cs } }

// ProbePrefill checks whether c really continues a prefill for model, with
// one cheap call per canary (temperature 0, a few output tokens), all sent
// at once (c must be safe for concurrent use). Each call is classified:
//
//   - rejected: the call failed with ErrPrefillUnsupported (or an HTTP 400
//     that names prefill);
//   - echoed: the reply repeated the prefix (Completion.PrefillEchoed, or
//     the text still starts with it) and then continued correctly;
//   - honoured: the continuation starts where the prefix stops (" 18" after
//     "… 17,");
//   - ignored: the reply starts over (DetectRestart, or it begins the
//     sequence or sentence afresh);
//   - inconclusive: anything else.
//
// The verdict is the worst outcome over the canaries, except that
// inconclusive calls only decide when nothing else failed. Other errors
// (network, auth, rate limits) abort the probe (the canaries still in
// flight are cancelled) and are returned with the evidence in canary order
// up to the first canary that failed; Usage and CostUSD still sum every
// completion received.
func ProbePrefill(ctx context.Context, c Completer, model string, opts ...ProbeOption) (ProbeResult, error) {
	cfg := probeConfig{maxTokens: 12, canaries: DefaultCanaries}
	// A reasoning model spends its first tokens reasoning, and OpenAI's
	// reasoning families refuse temperature 0.
	reasoning := LikelyReasoningModel(model)
	if reasoning {
		cfg.maxTokens = ReasoningMaxTokens
	}
	var temperature *float64
	if OpenAIReasoningFamily(model) == "" {
		temperature = Float(0)
	}
	for _, o := range opts {
		o(&cfg)
	}
	res := ProbeResult{Endpoint: EndpointOf(c), Model: model, Method: cfg.method}
	// The canaries are sent at once, so the probe costs one latency, not
	// one per canary: it runs before any paid call of a run, which waits
	// for its verdict.
	type answer struct {
		comp Completion
		err  error
	}
	answers := make([]answer, len(cfg.canaries))
	pctx, abort := context.WithCancel(ctx)
	defer abort()
	var wg sync.WaitGroup
	for i, can := range cfg.canaries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			comp, err := c.Complete(pctx, Request{
				Model:         model,
				Messages:      []Message{{Role: RoleUser, Content: can.Question}},
				Prefill:       can.Prefill,
				PrefillMethod: cfg.method,
				Temperature:   temperature,
				MaxTokens:     cfg.maxTokens,
			})
			if err != nil && !rejectsPrefill(err) {
				abort() // the probe fails: the other canaries need not finish
			}
			answers[i] = answer{comp, err}
		}()
	}
	wg.Wait()
	// Every completion received is paid for, whatever the others did.
	for _, a := range answers {
		if a.err == nil {
			res.Usage = res.Usage.Add(a.comp.Usage)
			res.CostUSD += a.comp.CostUSD
		}
	}
	// The evidence is read in canary order, as if they had been sent one
	// after another: up to the first canary that failed for another reason
	// than refusing the prefill (the others were cancelled because of it).
	counts := map[ProbeVerdict]int{}
	failedAt := -1
	for i, a := range answers {
		if a.err == nil || rejectsPrefill(a.err) {
			continue
		}
		// A canary cancelled because another failed is not the failure.
		if failedAt < 0 || (aborted(ctx, answers[failedAt].err) && !aborted(ctx, a.err)) {
			failedAt = i
		}
	}
	for i, can := range cfg.canaries {
		a := answers[i]
		call := ProbeCall{Canary: can.Name, Prefill: can.Prefill}
		if i == failedAt {
			call.Err = a.err.Error()
			res.Calls = append(res.Calls, call)
			res.Verdict = ProbeInconclusive
			res.Reason = fmt.Sprintf("canary %s failed: %v", can.Name, a.err)
			return res, fmt.Errorf("providers: probe %s: canary %s: %w", model, can.Name, a.err)
		}
		if a.err != nil && !rejectsPrefill(a.err) {
			continue // cancelled by a later canary's failure
		}
		if a.err != nil {
			call.Err = a.err.Error()
			call.Outcome, call.Reason = ProbeRejected, "the endpoint refused the prefill"
		} else {
			call.Text, call.Method = a.comp.Text, a.comp.PrefillMethod
			call.Outcome, call.Reason, call.Echoed = classify(can, a.comp)
		}
		counts[call.Outcome]++
		res.Calls = append(res.Calls, call)
	}
	n := len(cfg.canaries)
	switch {
	case counts[ProbeRejected] > 0:
		res.Verdict = ProbeRejected
		res.Reason = fmt.Sprintf("%d/%d canaries refused", counts[ProbeRejected], n)
	case counts[ProbeIgnored] > 0:
		res.Verdict = ProbeIgnored
		res.Reason = fmt.Sprintf("%d/%d canaries restarted instead of continuing", counts[ProbeIgnored], n)
	case counts[ProbeInconclusive] > 0:
		res.Verdict = ProbeInconclusive
		res.Reason = fmt.Sprintf("%d/%d canaries neither continued nor restarted", counts[ProbeInconclusive], n)
	case counts[ProbeEchoed] > 0:
		res.Verdict = ProbeEchoed
		res.Reason = fmt.Sprintf("%d/%d canaries echoed the prefix before continuing", counts[ProbeEchoed], n)
	default:
		res.Verdict = ProbeHonoured
		res.Reason = fmt.Sprintf("%d/%d canaries continued in place", n, n)
	}
	return res, nil
}

// aborted reports a canary's error caused by the probe's own abort (its
// context cancelled while the caller's was not).
func aborted(ctx context.Context, err error) bool {
	return errors.Is(err, context.Canceled) && ctx.Err() == nil
}

// rejectsPrefill reports an error that means "this endpoint will not take a
// prefill": ErrPrefillUnsupported, or an HTTP 400 whose message names prefill
// (routers relay the model's refusal that way).
func rejectsPrefill(err error) bool {
	if errors.Is(err, ErrPrefillUnsupported) {
		return true
	}
	var apiErr *APIError
	return errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusBadRequest &&
		strings.Contains(strings.ToLower(apiErr.Message), "prefill")
}

// classify decides one canary's outcome from its completion.
func classify(can ProbeCanary, comp Completion) (ProbeVerdict, string, bool) {
	text := comp.Text
	echoed := comp.PrefillEchoed
	if rest, ok := StripEcho(can.Prefill, text); ok {
		text, echoed = rest, true
	}
	// A partial echo: the reply re-emits the prefix's last item(s) before
	// continuing ("17, 18, 19" after "… 17,").
	head := strings.TrimLeft(text, " \t\n")
	if tail := lastItem(can.Prefill); !echoed && tail != "" && strings.HasPrefix(head, tail) {
		if rest := strings.TrimLeft(head[len(tail):], " \t\n"); can.Continues.MatchString(rest) {
			return ProbeEchoed, fmt.Sprintf("re-emitted %q before continuing", tail), true
		}
	}
	if can.Continues.MatchString(head) {
		if echoed {
			return ProbeEchoed, "repeated the prefix, then continued it", true
		}
		return ProbeHonoured, fmt.Sprintf("continued with %q", clipText(head, 20)), false
	}
	if r := DetectRestart(can.Question, can.Prefill, text); r.Restarted {
		return ProbeIgnored, r.Reason, echoed
	}
	if can.Restarts != nil && can.Restarts.MatchString(text) {
		return ProbeIgnored, fmt.Sprintf("started over with %q", clipText(text, 20)), echoed
	}
	if head == "" {
		return ProbeInconclusive, "empty continuation", echoed
	}
	return ProbeInconclusive, fmt.Sprintf("unexpected continuation %q", clipText(head, 30)), echoed
}

// lastItem is the prefix's last comma-separated item ("17," → "17,"), or ""
// when the prefix does not end in a list separator.
func lastItem(prefill string) string {
	p := strings.TrimRight(prefill, " ")
	if !strings.HasSuffix(p, ",") {
		return ""
	}
	i := strings.LastIndex(p[:len(p)-1], ",")
	return strings.TrimSpace(p[i+1:])
}

func clipText(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}
