package providers

import "strings"

// InstructedPrompt is the user turn the PrefillInstructed emulation appends:
// it presents the partial solution as text to continue verbatim. %s is
// replaced by the prefill.
const InstructedPrompt = "Below is the beginning of a solution that was cut off mid-way. " +
	"Continue it from exactly where it stops: do not repeat any of it, do not start over, " +
	"and do not comment on it. Output only the continuation.\n\n" +
	"<partial_solution>\n%s\n</partial_solution>"

// InstructedMessages returns msgs followed by the PrefillInstructed user turn
// for prefill. Adapters use it when a caller opts in to emulation.
func InstructedMessages(msgs []Message, prefill string) []Message {
	out := make([]Message, 0, len(msgs)+1)
	out = append(out, msgs...)
	return append(out, Message{Role: RoleUser, Content: strings.Replace(InstructedPrompt, "%s", prefill, 1)})
}
