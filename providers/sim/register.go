package sim

import (
	"fmt"
	"sync"

	"github.com/rebound-lab/rebound/dataset"
	"github.com/rebound-lab/rebound/providers"
)

func init() { providers.Register("sim", Open) }

// embedded is the union of the embedded problem sets, loaded once.
var embedded = sync.OnceValue(func() []dataset.Problem {
	return append(dataset.GSM8KTest(), dataset.MATH500()...)
})

// Open returns a Solver for a preset model name, "strong" or "weak",
// preloaded with dataset.GSM8KTest and dataset.MATH500. It is the Opener
// registered as provider "sim", so providers.Open("sim:strong") calls it.
func Open(model string) (providers.Completer, error) {
	var cfg Config
	switch model {
	case "strong":
		cfg = Strong()
	case "weak":
		cfg = Weak()
	default:
		return nil, fmt.Errorf("sim: unknown model %q (known: strong, weak)", model)
	}
	return New(cfg, embedded()...), nil
}
