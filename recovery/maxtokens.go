package recovery

import "fmt"

// DefaultMaxTokens is Config.MaxTokens when it is 0: the output limit sent
// on every request. Without one, each API applies its own default, which
// for raw text completion is 16 tokens (the OpenAI spec, vLLM and SGLang),
// enough to cut every continuation short; 4096 tokens fit a worked math
// solution with room to spare. Reasoning models spend part of it on
// reasoning; raise it (-max-tokens) for them.
const DefaultMaxTokens = 4096

func (c *Config) maxTokensDefault() error {
	switch {
	case c.MaxTokens < 0:
		return fmt.Errorf("%w: MaxTokens is %d (want > 0, or 0 for DefaultMaxTokens = %d)", ErrConfig, c.MaxTokens, DefaultMaxTokens)
	case c.MaxTokens == 0:
		c.MaxTokens = DefaultMaxTokens
	}
	return nil
}
