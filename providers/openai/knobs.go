package openai

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/rebound-lab/rebound/providers"
)

// DefaultCompletionMaxTokens is the max_tokens sent to a raw /completions
// endpoint when Request.MaxTokens is 0. The endpoint's own default is 16
// (openai/openai-openapi CreateCompletionRequest.max_tokens "default: 16";
// sglang CompletionRequest "max_tokens: int = 16"; vLLM the same), which
// would cut every continuation after 16 tokens.
const DefaultCompletionMaxTokens = 4096

// ReasoningEfforts are the reasoning_effort values the OpenAI spec defines
// (openai/openai-openapi components.schemas.ReasoningEffort).
var ReasoningEfforts = []string{"none", "minimal", "low", "medium", "high", "xhigh", "max"}

// Routing pins how OpenRouter picks the upstream host
// (openrouter.ai/docs/features/provider-routing): it is sent as the body's
// "provider" object. The zero value sends nothing (OpenRouter load-balances
// across hosts, which may differ in quantization and in how they honour a
// prefill).
type Routing struct {
	// Order lists provider slugs to try, in order.
	Order []string `json:"order,omitempty"`
	// AllowFallbacks false forbids hosts outside Order; nil sends nothing
	// (OpenRouter's default is true).
	AllowFallbacks *bool `json:"allow_fallbacks,omitempty"`
	// RequireParameters true routes only to hosts that support every
	// parameter of the request (seed, top_p, ...); nil sends nothing.
	RequireParameters *bool `json:"require_parameters,omitempty"`
	// Quantizations restricts hosts to these quantization levels
	// ("fp8", "bf16", ...).
	Quantizations []string `json:"quantizations,omitempty"`
}

func (r *Routing) empty() bool {
	return r == nil || (len(r.Order) == 0 && r.AllowFallbacks == nil && r.RequireParameters == nil && len(r.Quantizations) == 0)
}

func (r *Routing) body() map[string]any {
	m := map[string]any{}
	if len(r.Order) > 0 {
		m["order"] = slices.Clone(r.Order)
	}
	if r.AllowFallbacks != nil {
		m["allow_fallbacks"] = *r.AllowFallbacks
	}
	if r.RequireParameters != nil {
		m["require_parameters"] = *r.RequireParameters
	}
	if len(r.Quantizations) > 0 {
		m["quantizations"] = slices.Clone(r.Quantizations)
	}
	return m
}

// routingFromEnv reads <NAME>_PROVIDER_ORDER and <NAME>_QUANTIZATIONS
// (comma-separated) and <NAME>_ALLOW_FALLBACKS and
// <NAME>_REQUIRE_PARAMETERS (true/false).
func routingFromEnv(env string) (*Routing, error) {
	r := &Routing{Order: splitList(os.Getenv(env + "_PROVIDER_ORDER")), Quantizations: splitList(os.Getenv(env + "_QUANTIZATIONS"))}
	for _, f := range []struct {
		name string
		dst  **bool
	}{{"_ALLOW_FALLBACKS", &r.AllowFallbacks}, {"_REQUIRE_PARAMETERS", &r.RequireParameters}} {
		v := strings.TrimSpace(os.Getenv(env + f.name))
		if v == "" {
			continue
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, fmt.Errorf("openai: %s%s=%q is not true or false", env, f.name, v)
		}
		*f.dst = &b
	}
	if r.empty() {
		return nil, nil
	}
	return r, nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// baseModel strips a router's vendor prefix ("openai/o3" → "o3") and
// lower-cases the name.
func baseModel(model string) string {
	m := strings.ToLower(model)
	if i := strings.LastIndex(m, "/"); i >= 0 {
		m = m[i+1:]
	}
	return m
}

// ReasoningFamily returns the OpenAI reasoning family of model ("o1", "o3",
// "o4", "gpt-5", "gpt-6") or ""; see providers.OpenAIReasoningFamily.
func ReasoningFamily(model string) string { return providers.OpenAIReasoningFamily(model) }

// checkKnobs refuses, before anything is sent, the knobs the model or the
// API would reject or silently ignore.
func (c *Client) checkKnobs(model string, req providers.Request) error {
	if req.ReasoningEffort != "" && !slices.Contains(ReasoningEfforts, req.ReasoningEffort) {
		return fmt.Errorf("openai: %s %s: reasoning effort %q is not one of %s: %w", c.preset.Name, model,
			req.ReasoningEffort, strings.Join(ReasoningEfforts, ", "), providers.ErrUnsupported)
	}
	openaiModel := c.preset.Name == "openai" || (c.preset.Name == "openrouter" && strings.HasPrefix(strings.ToLower(model), "openai/"))
	if !openaiModel {
		return nil
	}
	fam := ReasoningFamily(model)
	if fam == "" {
		if req.ReasoningEffort != "" && c.preset.Name == "openai" {
			return fmt.Errorf("openai: model %s is not a reasoning model (o1, o3, o4, gpt-5, gpt-6 families): it takes no reasoning effort (got %q): %w",
				model, req.ReasoningEffort, providers.ErrUnsupported)
		}
		return nil
	}
	// gpt-5.1 and later accept sampling knobs when reasoning is off
	// (go-openai validateGPT6ChatParams: sampling is refused only "when
	// reasoning is enabled"); the o-series and gpt-5 itself never do.
	sampling := req.ReasoningEffort == "none" && (fam == "gpt-6" || strings.HasPrefix(baseModel(model), "gpt-5."))
	if !sampling {
		if req.Temperature != nil && *req.Temperature != 1 {
			return fmt.Errorf("openai: model %s (reasoning family %s) does not accept temperature %g (accepted: leave it unset, or 1): %w",
				model, fam, *req.Temperature, providers.ErrUnsupported)
		}
		if req.TopP != nil && *req.TopP != 1 {
			return fmt.Errorf("openai: model %s (reasoning family %s) does not accept top_p %g (accepted: leave it unset, or 1): %w",
				model, fam, *req.TopP, providers.ErrUnsupported)
		}
	}
	// openai/openai-openapi StopConfiguration: "Not supported with latest
	// reasoning models o3 and o4-mini"; gpt-5 and later likewise.
	if len(req.Stop) > 0 && fam != "o1" {
		return fmt.Errorf("openai: model %s (reasoning family %s) does not support stop sequences (got %d; accepted: none): %w",
			model, fam, len(req.Stop), providers.ErrUnsupported)
	}
	return nil
}

// mergeStops returns the user's stops followed by the template's, without
// duplicates, refusing more than the preset's cap (openai/openai-openapi
// StopConfiguration: "Up to 4 sequences", maxItems: 4).
func (c *Client) mergeStops(model string, user, template []string) ([]string, error) {
	var out []string
	for _, s := range append(slices.Clone(user), template...) {
		if s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	if c.preset.MaxStop > 0 && len(out) > c.preset.MaxStop {
		from := ""
		if len(template) > 0 {
			from = fmt.Sprintf(" (with the chat template's %q)", template)
		}
		return nil, fmt.Errorf("openai: %s %s: %d stop sequences%s but the API takes at most %d: drop some of Request.Stop: %w",
			c.preset.Name, model, len(out), from, c.preset.MaxStop, providers.ErrUnsupported)
	}
	return out, nil
}
