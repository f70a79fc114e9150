package openai

import (
	"fmt"
	"slices"
	"strings"

	"github.com/rebound-lab/rebound/providers"
)

// Chat templates for the raw_completion dialect: the conversation is
// rendered to one prompt string that ends with the assistant header and the
// prefill, and sent to /completions.
const (
	// TemplateChatML is ChatML (Qwen, many fine-tunes):
	// <|im_start|>role\ncontent<|im_end|>\n ...
	TemplateChatML = "chatml"
	// TemplateLlama3 is the Llama 3 / 3.1 / 3.3 instruct template.
	TemplateLlama3 = "llama3"
)

// Templates returns the names RenderChat knows.
func Templates() []string {
	return append([]string{TemplateChatML, TemplateLlama3}, ReasoningTemplates()...)
}

// RenderChat renders msgs with the named chat template and appends the open
// assistant turn holding prefill, so a text-completion model continues the
// prefill as the assistant. It also returns the template's end-of-turn stop
// sequences. An unknown template or an unknown role is an error.
func RenderChat(template string, msgs []providers.Message, prefill string) (prompt string, stop []string, err error) {
	return RenderChatTarget(template, msgs, prefill, "")
}

// RenderChatTarget is RenderChat with the prefill placed per target
// (providers.PrefillTargetAnswer or "", or providers.PrefillTargetReasoning
// for the templates TemplateReasons reports).
//
// No rendered prompt starts with a BOS token: servers add it when they
// tokenize a /completions prompt (vLLM add_special_tokens defaults to true,
// SGLang and Hugging Face tokenizers likewise), so a literal one would be
// the second.
func RenderChatTarget(template string, msgs []providers.Message, prefill, target string) (prompt string, stop []string, err error) {
	if target != "" && target != providers.PrefillTargetAnswer {
		if !TemplateReasons(template) {
			return "", nil, fmt.Errorf("chat template %q has no reasoning section for PrefillTarget %q (reasoning templates: %s)", template, target, strings.Join(ReasoningTemplates(), ", "))
		}
	}
	var b strings.Builder
	switch template {
	case TemplateChatML:
		for i, m := range msgs {
			if err := checkRole(m, i); err != nil {
				return "", nil, err
			}
			fmt.Fprintf(&b, "<|im_start|>%s\n%s<|im_end|>\n", m.Role, m.Content)
		}
		b.WriteString("<|im_start|>assistant\n")
		b.WriteString(prefill)
		return b.String(), []string{"<|im_end|>", "<|endoftext|>"}, nil
	case TemplateLlama3:
		for i, m := range msgs {
			if err := checkRole(m, i); err != nil {
				return "", nil, err
			}
			fmt.Fprintf(&b, "<|start_header_id|>%s<|end_header_id|>\n\n%s<|eot_id|>", m.Role, strings.TrimSpace(m.Content))
		}
		b.WriteString("<|start_header_id|>assistant<|end_header_id|>\n\n")
		b.WriteString(prefill)
		return b.String(), []string{"<|eot_id|>", "<|end_of_text|>"}, nil
	default:
		if rt, ok := reasoningTemplates[template]; ok {
			return rt.renderTarget(msgs, prefill, target)
		}
	case "":
		return "", nil, fmt.Errorf("raw_completion needs a chat template (Options.ChatTemplate or <NAME>_CHAT_TEMPLATE; one of %s)", strings.Join(Templates(), ", "))
	}
	return "", nil, fmt.Errorf("unknown chat template %q (known: %s)", template, strings.Join(Templates(), ", "))
}

func checkRole(m providers.Message, i int) error {
	if !slices.Contains([]string{providers.RoleSystem, providers.RoleUser, providers.RoleAssistant}, m.Role) {
		return fmt.Errorf("message %d: unknown role %q", i, m.Role)
	}
	return nil
}
