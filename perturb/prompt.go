package perturb

import (
	"github.com/rebound-lab/rebound/dataset"
	"github.com/rebound-lab/rebound/providers"
)

// Instruction follows the question in the default prompt. It asks for one
// step per line and a boxed final answer, the format the step splitter and
// the verifier read best.
const Instruction = "Solve the problem step by step, one step per line. " +
	"End with a final line of the form \"The answer is \\boxed{ANSWER}.\""

// Prompt is the default prompt that asks a model to solve p: one user message
// holding the question verbatim, a blank line, and Instruction. The
// straight-shot, weak-model and continuation stages all use it, so a prefix
// is continued under the same prompt it was written under.
func Prompt(p dataset.Problem) []providers.Message {
	return []providers.Message{{Role: providers.RoleUser, Content: p.Question + "\n\n" + Instruction}}
}
