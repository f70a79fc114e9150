package openai

import (
	"errors"
	"fmt"

	"github.com/rebound-lab/rebound/providers"
)

var _ providers.Preflighter = (*Client)(nil)

// Preflight reports, without a network call, whether c could send req: the
// model it names (the client's own, if the request names one), its prefill
// method, its Extra fields. Errors name the environment variable that
// fixes them (<NAME>_PREFILL, <NAME>_CHAT_TEMPLATE).
func (c *Client) Preflight(req providers.Request) error {
	env := c.preset.EnvPrefix()
	if req.Model != "" && c.model != "" && req.Model != c.model {
		return fmt.Errorf("openai: %s: the request names model %q but the client was opened for %q; name the model once", c.preset.Name, req.Model, c.model)
	}
	m, err := c.method(req)
	if err != nil {
		if errors.Is(err, providers.ErrPrefillUnsupported) {
			return fmt.Errorf("%w; fix: set %s_PREFILL to one of %s (%s_PREFILL=%s emulates prefill: the prefix is then shown as the user's text, a different experiment)",
				err, env, dialectList(c.preset), env, providers.PrefillInstructed)
		}
		return err
	}
	if m == raw && c.template == "" {
		return fmt.Errorf("openai: %s: prefill method %s needs a chat template: set %s_CHAT_TEMPLATE: %w", c.preset.Name, raw, env, providers.ErrPrefillUnsupported)
	}
	_, err = c.patch(req, m)
	return err
}
