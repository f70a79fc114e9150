package openai

import (
	"slices"

	"github.com/rebound-lab/rebound/providers"
)

// reasoningTemplate renders a chat for a model that reasons before it
// answers, with the prefill in the answer or in the reasoning.
type reasoningTemplate struct {
	render func(msgs []providers.Message, prefill, target string) (string, []string, error)
}

// reasoningTemplates holds the templates of reasoning families by name.
var reasoningTemplates = map[string]reasoningTemplate{}

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
