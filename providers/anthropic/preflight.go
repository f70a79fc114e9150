package anthropic

import (
	"fmt"
	"slices"

	"github.com/rebound-lab/rebound/providers"
)

var _ providers.Preflighter = (*Client)(nil)

// Preflight reports, without a network call, whether c could send req: the
// model it names (the client's own, if the request names one), its prefill
// method, a seed (the Messages API has none) and its Extra fields.
func (c *Client) Preflight(req providers.Request) error {
	if req.Model != "" && c.model != "" && req.Model != c.model {
		return fmt.Errorf("anthropic: the request names model %q but the client was opened for %q; name the model once", req.Model, c.model)
	}
	if req.Prefill != "" {
		switch req.PrefillMethod {
		case "", providers.PrefillAssistantMessage, providers.PrefillInstructed:
		default:
			return fmt.Errorf("anthropic: cannot use prefill method %q (allowed: assistant_message, instructed): %w", req.PrefillMethod, providers.ErrPrefillUnsupported)
		}
	}
	if req.Seed != nil {
		return fmt.Errorf("anthropic: the Messages API has no seed (Request.Seed is set): %w", providers.ErrUnsupported)
	}
	for k := range req.Extra {
		if slices.Contains(reservedExtra, k) {
			return fmt.Errorf("anthropic: Request.Extra[%q] is set by the adapter (use the Request field): %w", k, providers.ErrUnsupported)
		}
	}
	return nil
}
