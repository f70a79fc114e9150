package openai

import (
	"fmt"
	"slices"
	"strings"

	"github.com/rebound-lab/rebound/providers"
)

// Raw-completion chat templates of reasoning families. Each renders the
// conversation as the model's published chat template does, then opens the
// assistant turn with the prefill either in the visible answer
// (providers.PrefillTargetAnswer) or inside the reasoning section
// (providers.PrefillTargetReasoning). As for every template here, no
// leading BOS is written: the server's tokenizer adds it.
const (
	// TemplateQwen3 is Qwen3's template (ChatML plus a <think> section).
	// Answer target: the assistant turn opens with the empty
	// "<think>\n\n</think>\n\n" of non-thinking mode, which is also how
	// the template renders a final assistant message without reasoning;
	// reasoning target: it opens with "<think>\n" and the prefill.
	TemplateQwen3 = "qwen3"
	// TemplateDeepSeekR1 is DeepSeek-R1's template (<｜User｜> /
	// <｜Assistant｜>, system text first without a marker). Answer target:
	// "<｜Assistant｜>" and the prefill, as the template renders a final
	// assistant message; reasoning target: "<｜Assistant｜><think>\n" and
	// the prefill, the opening DeepSeek recommends forcing.
	TemplateDeepSeekR1 = "deepseek-r1"
	// TemplateGPTOSS is gpt-oss's harmony format with the library's
	// default system message (reasoning medium, no date); a system message
	// becomes the developer message's "# Instructions". Answer target: the
	// final channel; reasoning target: the analysis channel.
	TemplateGPTOSS = "gpt-oss"
)

// reasoningTemplate renders a chat for a model that reasons before it
// answers, and splits a reasoning-target reply into reasoning and answer.
type reasoningTemplate struct {
	render func(b *strings.Builder, msgs []providers.Message) error
	// open starts the assistant turn for each target.
	openAnswer, openReasoning string
	// trimPrefill strips what the template strips from assistant content
	// before it is written (Qwen3: leading newlines).
	trimPrefill func(string) string
	stop        []string
	// endReasoning ends the reasoning section in the model's output.
	endReasoning []string
	// fields are body fields the raw request needs (e.g. keeping harmony's
	// special tokens in the reply so it can be split).
	fields map[string]any
}

// reasoningTemplates holds the templates of reasoning families by name.
var reasoningTemplates = map[string]reasoningTemplate{
	TemplateQwen3: {
		render: func(b *strings.Builder, msgs []providers.Message) error {
			for i, m := range msgs {
				if err := checkRole(m, i); err != nil {
					return err
				}
				content := m.Content
				if m.Role == providers.RoleAssistant {
					// Earlier turns: the template drops their reasoning.
					if j := strings.LastIndex(content, "</think>"); j >= 0 {
						content = strings.TrimLeft(content[j+len("</think>"):], "\n")
					}
				}
				fmt.Fprintf(b, "<|im_start|>%s\n%s<|im_end|>\n", m.Role, content)
			}
			return nil
		},
		openAnswer:    "<|im_start|>assistant\n<think>\n\n</think>\n\n",
		openReasoning: "<|im_start|>assistant\n<think>\n",
		trimPrefill:   func(s string) string { return strings.TrimLeft(s, "\n") },
		stop:          []string{"<|im_end|>", "<|endoftext|>"},
		endReasoning:  []string{"</think>"},
	},
	TemplateDeepSeekR1: {
		render: func(b *strings.Builder, msgs []providers.Message) error {
			for i, m := range msgs {
				if err := checkRole(m, i); err != nil {
					return err
				}
			}
			// The template writes the (last) system message's text first,
			// unmarked, then the turns.
			for _, m := range msgs {
				if m.Role == providers.RoleSystem {
					b.Reset()
					b.WriteString(m.Content)
				}
			}
			for _, m := range msgs {
				switch m.Role {
				case providers.RoleUser:
					b.WriteString("<｜User｜>" + m.Content)
				case providers.RoleAssistant:
					content := m.Content
					if j := strings.Index(content, "</think>"); j >= 0 {
						content = content[strings.LastIndex(content, "</think>")+len("</think>"):]
					}
					b.WriteString("<｜Assistant｜>" + content + "<｜end▁of▁sentence｜>")
				}
			}
			return nil
		},
		openAnswer:    "<｜Assistant｜>",
		openReasoning: "<｜Assistant｜><think>\n",
		stop:          []string{"<｜end▁of▁sentence｜>"},
		endReasoning:  []string{"</think>"},
	},
	TemplateGPTOSS: {
		render: func(b *strings.Builder, msgs []providers.Message) error {
			b.WriteString("<|start|>system<|message|>You are ChatGPT, a large language model trained by OpenAI.\n" +
				"Knowledge cutoff: 2024-06\n\nReasoning: medium\n\n" +
				"# Valid channels: analysis, commentary, final. Channel must be included for every message.<|end|>")
			var instructions []string
			for i, m := range msgs {
				if err := checkRole(m, i); err != nil {
					return err
				}
				if m.Role == providers.RoleSystem {
					instructions = append(instructions, m.Content)
				}
			}
			if len(instructions) > 0 {
				b.WriteString("<|start|>developer<|message|># Instructions\n\n" + strings.Join(instructions, "\n\n") + "<|end|>")
			}
			for _, m := range msgs {
				switch m.Role {
				case providers.RoleUser:
					b.WriteString("<|start|>user<|message|>" + m.Content + "<|end|>")
				case providers.RoleAssistant:
					b.WriteString("<|start|>assistant<|channel|>final<|message|>" + m.Content + "<|end|>")
				}
			}
			return nil
		},
		openAnswer:    "<|start|>assistant<|channel|>final<|message|>",
		openReasoning: "<|start|>assistant<|channel|>analysis<|message|>",
		// openai/harmony docs/format.md: <|return|> and <|call|> are the
		// stop tokens; <|end|> only ends a message (the analysis one, here).
		stop:         []string{"<|return|>", "<|call|>"},
		endReasoning: []string{"<|end|><|start|>assistant<|channel|>final<|message|>", "<|end|>"},
		fields:       map[string]any{"skip_special_tokens": false},
	},
}

func (rt reasoningTemplate) renderTarget(msgs []providers.Message, prefill, target string) (string, []string, error) {
	var b strings.Builder
	if err := rt.render(&b, msgs); err != nil {
		return "", nil, err
	}
	if rt.trimPrefill != nil {
		prefill = rt.trimPrefill(prefill)
	}
	if target == providers.PrefillTargetReasoning {
		b.WriteString(rt.openReasoning)
	} else {
		b.WriteString(rt.openAnswer)
	}
	b.WriteString(prefill)
	return b.String(), slices.Clone(rt.stop), nil
}

// splitReasoning splits a reasoning-target reply at the end of the
// reasoning: the rest of the reasoning, then the answer. A reply that never
// closes its reasoning (out of tokens) is all reasoning.
func (rt reasoningTemplate) splitReasoning(text string) (reasoning, answer string) {
	for _, end := range rt.endReasoning {
		if i := strings.Index(text, end); i >= 0 {
			return text[:i], strings.TrimLeft(text[i+len(end):], "\n")
		}
	}
	return text, ""
}

// ReasoningTemplates returns the names of the chat templates with a
// reasoning section, sorted.
func ReasoningTemplates() []string {
	var out []string
	for k := range reasoningTemplates {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TemplateReasons reports whether the named template has a reasoning
// section a prefill can be placed in.
func TemplateReasons(name string) bool {
	_, ok := reasoningTemplates[name]
	return ok
}
