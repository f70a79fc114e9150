package providers

import "strings"

// ReasoningMaxTokens is the output budget for a short answer (a probe
// canary, a judge's YES/NO) from a reasoning model: such a model spends
// hundreds of tokens reasoning before its first visible word, so the few
// tokens enough for a chat model would return an empty text.
const ReasoningMaxTokens = 2048

// baseModelName strips a router's vendor prefix ("openai/o3" → "o3") and
// lower-cases the name.
func baseModelName(model string) string {
	m := strings.ToLower(model)
	if i := strings.LastIndex(m, "/"); i >= 0 {
		m = m[i+1:]
	}
	return m
}

// OpenAIReasoningFamily returns the OpenAI reasoning family of model ("o1",
// "o3", "o4", "gpt-5", "gpt-6") or "" if it is not one. A router prefix
// ("openai/o3-mini") is ignored; gpt-5-chat models are chat models. These
// are the families go-openai's ReasoningValidator checks
// (github.com/sashabaranov/go-openai reasoning_validator.go); they fix
// temperature and top_p at 1.
func OpenAIReasoningFamily(model string) string {
	m := baseModelName(model)
	for _, f := range []string{"o1", "o3", "o4"} {
		if m == f || strings.HasPrefix(m, f+"-") {
			return f
		}
	}
	for _, f := range []string{"gpt-5", "gpt-6"} {
		if strings.HasPrefix(m, f) && !strings.Contains(m, "-chat") {
			return f
		}
	}
	return ""
}

// LikelyReasoningModel reports whether model's name belongs to a family that
// reasons before answering by default: OpenAI's (OpenAIReasoningFamily),
// DeepSeek-R1 and deepseek-reasoner, QwQ, Qwen3 (thinking unless an
// -Instruct-2507 build), Magistral, gpt-oss, and names saying "thinking" or
// "reasoner". It is a name heuristic for sizing budgets, not a capability
// check.
func LikelyReasoningModel(model string) bool {
	if OpenAIReasoningFamily(model) != "" {
		return true
	}
	m := baseModelName(model)
	switch {
	case strings.Contains(m, "reasoner"), strings.Contains(m, "thinking"), strings.Contains(m, "-r1"),
		strings.HasPrefix(m, "r1"), strings.HasPrefix(m, "qwq"), strings.HasPrefix(m, "magistral"), strings.HasPrefix(m, "gpt-oss"):
		return true
	case strings.HasPrefix(m, "qwen3"):
		return !strings.Contains(m, "instruct")
	}
	return false
}
