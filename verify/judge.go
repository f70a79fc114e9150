package verify

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/rebound-lab/rebound/providers"
)

// ErrJudgeReply reports a judge reply that was neither YES nor NO. It is
// recorded in the Verdict's Reason, not returned: an unclear reply leaves
// the answer undecided (Correct false, Method "none").
var ErrJudgeReply = errors.New("verify: judge reply is neither YES nor NO")

// Judge is an opt-in LLM judge for answers the parser cannot decide. It
// first asks Base (NewMath() when nil); only when Base's verdict has Method
// "none" — no answer found, or an answer the parser cannot read — does it ask
// the Completer whether the response's final answer equals the reference.
// Every judged verdict has Method "judge".
//
// The zero value is not usable: Completer is required. A Judge is safe for
// concurrent use when its Completer and Base are. Completer errors are
// returned wrapped, so errors.Is(err, providers.ErrRateLimited) and
// context.Canceled work.
type Judge struct {
	// Completer answers the judge prompt (required).
	Completer providers.Completer
	// Model is sent as Request.Model; empty lets the Completer choose.
	Model string
	// Base decides first; nil means NewMath().
	Base Verifier
	// MaxResponseChars keeps only the tail of long responses in the prompt;
	// 0 means 4000.
	MaxResponseChars int
}

var _ Verifier = (*Judge)(nil)

// judgePrompt is the user message sent to the judge model.
const judgePrompt = `You are grading a math answer. Decide whether the final answer in the RESPONSE is mathematically equivalent to the REFERENCE answer. Ignore the reasoning; judge only the final answer. Formatting, units and equivalent forms (1/2 vs 0.5) do not matter.

REFERENCE: %s

RESPONSE (may be truncated at the start):
%s

Reply with exactly one word: YES or NO.`

// Verify implements Verifier.
func (j *Judge) Verify(ctx context.Context, reference, response string) (Verdict, error) {
	if j.Completer == nil {
		return Verdict{}, errors.New("verify: Judge.Completer is nil")
	}
	base := j.Base
	if base == nil {
		base = NewMath()
	}
	v, err := base.Verify(ctx, reference, response)
	if err != nil || v.Method != MethodNone {
		return v, err
	}
	limit := j.MaxResponseChars
	if limit <= 0 {
		limit = 4000
	}
	tail := response
	if len(tail) > limit {
		tail = "…" + tail[len(tail)-limit:]
	}
	// A reasoning judge needs room to reason before its YES/NO, and
	// OpenAI's reasoning families refuse temperature 0.
	req := providers.Request{
		Model:       j.Model,
		Messages:    []providers.Message{{Role: providers.RoleUser, Content: fmt.Sprintf(judgePrompt, reference, tail)}},
		Temperature: providers.Float(0),
		MaxTokens:   8,
	}
	if providers.LikelyReasoningModel(j.Model) {
		req.MaxTokens = providers.ReasoningMaxTokens
	}
	if providers.OpenAIReasoningFamily(j.Model) != "" {
		req.Temperature = nil
	}
	c, err := j.Completer.Complete(ctx, req)
	if err != nil {
		return v, fmt.Errorf("verify: judge: %w", err)
	}
	switch judgeWord(c.Text) {
	case "YES":
		v.Correct, v.Method = true, MethodJudge
		v.Reason = "judge says equivalent (parser could not decide: " + v.Reason + ")"
	case "NO":
		v.Correct, v.Method = false, MethodJudge
		v.Reason = "judge says different (parser could not decide: " + v.Reason + ")"
	default:
		v.Reason = fmt.Sprintf("%v: %q (parser could not decide: %s)", ErrJudgeReply, clip(c.Text), v.Reason)
	}
	return v, nil
}

// judgeWord returns YES or NO when the reply starts with one of them.
func judgeWord(s string) string {
	f := strings.FieldsFunc(strings.ToUpper(s), func(r rune) bool { return !(r >= 'A' && r <= 'Z') })
	if len(f) == 0 {
		return ""
	}
	switch f[0] {
	case "YES", "NO":
		return f[0]
	}
	return ""
}
