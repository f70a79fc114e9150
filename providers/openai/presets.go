package openai

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/rebound-lab/rebound/providers"
)

// Preset describes one OpenAI-compatible provider: where it lives, how it
// authenticates and which prefill dialects it speaks.
type Preset struct {
	// Name is the registry name, e.g. "deepseek".
	Name string
	// BaseURL is the default API root, e.g. "https://api.deepseek.com/beta".
	BaseURL string
	// KeyRequired: Open fails when <NAME>_API_KEY is unset. Local servers
	// (vLLM, SGLang, Ollama) need no key.
	KeyRequired bool
	// Native is the dialect used when Request.PrefillMethod is empty;
	// PrefillNone means the provider has no prefill (a request with a
	// prefill then fails with ErrPrefillUnsupported unless it asks for
	// PrefillInstructed).
	Native providers.PrefillMethod
	// Dialects lists every method the preset accepts when asked explicitly,
	// Native first. PrefillInstructed is always accepted and not listed.
	Dialects []providers.PrefillMethod
	// MaxCompletionTokens: send Request.MaxTokens as max_completion_tokens
	// (OpenAI's current name) instead of max_tokens.
	MaxCompletionTokens bool
	// ReportsCost: the response's usage.cost is the call's price in USD
	// (OpenRouter).
	ReportsCost bool
	// SeedField is the body field Request.Seed is sent as; "" means "seed".
	// Mistral's is "random_seed" (its ChatCompletionRequest schema has
	// additionalProperties: false, so "seed" would be a 422).
	SeedField string
	// SampleSeeds: the API honours a seed, so harnesses should send a
	// per-sample seed (see providers.AcceptsSampleSeeds). False for OpenAI,
	// whose spec marks seed deprecated, and for APIs without one.
	SampleSeeds bool
	// MaxStop caps the stop sequences the API takes (OpenAI: 4); 0 means
	// no known cap.
	MaxStop int
	// NoAddGenerationPrompt: the server does not define
	// add_generation_prompt, so continue_final_message is sent alone
	// (SGLang's ChatCompletionRequest has continue_final_message only).
	NoAddGenerationPrompt bool
	// ReasoningObject: Request.ReasoningEffort is sent as
	// "reasoning": {"effort": ...} (OpenRouter) instead of
	// "reasoning_effort".
	ReasoningObject bool
}

// seedField is the body field for Request.Seed.
func (p Preset) seedField() string {
	if p.SeedField == "" {
		return "seed"
	}
	return p.SeedField
}

// EnvPrefix is the prefix of the preset's environment variables:
// "OPENAI_COMPATIBLE" for "openai-compatible", upper case otherwise.
func (p Preset) EnvPrefix() string {
	return strings.ToUpper(strings.ReplaceAll(p.Name, "-", "_"))
}

// Allows reports whether the preset accepts method m when asked explicitly.
func (p Preset) Allows(m providers.PrefillMethod) bool {
	return m == providers.PrefillInstructed || slices.Contains(p.Dialects, m)
}

const (
	assistant = providers.PrefillAssistantMessage
	cont      = providers.PrefillContinueFinal
	prefix    = providers.PrefillPrefixFlag
	raw       = providers.PrefillRawCompletion
)

// GenericName is the preset whose base URL must come from the environment
// (OPENAI_COMPATIBLE_BASE_URL) or Options.BaseURL.
const GenericName = "openai-compatible"

var presets = []Preset{
	{Name: "openai", BaseURL: "https://api.openai.com/v1", KeyRequired: true, Native: providers.PrefillNone, MaxCompletionTokens: true, MaxStop: 4},
	{Name: "together", BaseURL: "https://api.together.xyz/v1", KeyRequired: true, Native: assistant, Dialects: []providers.PrefillMethod{assistant, raw}, SampleSeeds: true},
	{Name: "openrouter", BaseURL: "https://openrouter.ai/api/v1", KeyRequired: true, Native: assistant, Dialects: []providers.PrefillMethod{assistant}, ReportsCost: true, SampleSeeds: true, ReasoningObject: true},
	{Name: "deepseek", BaseURL: "https://api.deepseek.com/beta", KeyRequired: true, Native: prefix, Dialects: []providers.PrefillMethod{prefix}, SampleSeeds: true},
	{Name: "mistral", BaseURL: "https://api.mistral.ai/v1", KeyRequired: true, Native: prefix, Dialects: []providers.PrefillMethod{prefix}, SeedField: "random_seed", SampleSeeds: true},
	{Name: "groq", BaseURL: "https://api.groq.com/openai/v1", KeyRequired: true, Native: assistant, Dialects: []providers.PrefillMethod{assistant}, SampleSeeds: true},
	{Name: "fireworks", BaseURL: "https://api.fireworks.ai/inference/v1", KeyRequired: true, Native: assistant, Dialects: []providers.PrefillMethod{assistant, raw}, SampleSeeds: true},
	{Name: "cohere", BaseURL: "https://api.cohere.ai/compatibility/v1", KeyRequired: true, Native: providers.PrefillNone, Dialects: []providers.PrefillMethod{assistant}, SampleSeeds: true},
	{Name: "vllm", BaseURL: "http://localhost:8000/v1", Native: cont, Dialects: []providers.PrefillMethod{cont, raw, assistant}, SampleSeeds: true},
	{Name: "sglang", BaseURL: "http://localhost:30000/v1", Native: cont, Dialects: []providers.PrefillMethod{cont, raw, assistant}, SampleSeeds: true, NoAddGenerationPrompt: true},
	{Name: "ollama", BaseURL: "http://localhost:11434/v1", Native: assistant, Dialects: []providers.PrefillMethod{assistant}, SampleSeeds: true},
	{Name: GenericName, Native: assistant, Dialects: []providers.PrefillMethod{assistant, cont, prefix, raw}, SampleSeeds: true},
}

// Presets returns every preset, in registration order.
func Presets() []Preset {
	out := make([]Preset, len(presets))
	for i, p := range presets {
		p.Dialects = slices.Clone(p.Dialects)
		out[i] = p
	}
	return out
}

// LookupPreset returns the preset named name.
func LookupPreset(name string) (Preset, bool) {
	for _, p := range Presets() {
		if p.Name == name {
			return p, true
		}
	}
	return Preset{}, false
}

func init() {
	for _, p := range presets {
		name := p.Name
		providers.Register(name, func(model string) (providers.Completer, error) {
			return OpenReplicas(name, model) // several <NAME>_BASE_URL: balanced (replicas.go)
		})
		providers.DeclareSampleSeeds(name, p.SampleSeeds)
	}
}

// FromEnv opens preset's model with configuration from the environment:
// <NAME>_API_KEY, <NAME>_BASE_URL (override), <NAME>_PREFILL (dialect
// override) and <NAME>_CHAT_TEMPLATE (for raw_completion), where NAME is
// Preset.EnvPrefix. This is what providers.Open("deepseek:deepseek-chat")
// calls. For OpenRouter, OPENROUTER_PROVIDER_ORDER and
// OPENROUTER_QUANTIZATIONS (comma-separated), OPENROUTER_ALLOW_FALLBACKS and
// OPENROUTER_REQUIRE_PARAMETERS (true/false) set Options.Routing.
func FromEnv(preset, model string) (*Client, error) {
	p, ok := LookupPreset(preset)
	if !ok {
		return nil, unknownPreset(preset)
	}
	env := p.EnvPrefix()
	if u := os.Getenv(env + "_BASE_URL"); strings.Contains(u, ",") {
		return nil, fmt.Errorf("openai: %s_BASE_URL names several base URLs (%q): a Client has one; open them with providers.Open or OpenReplicas, which balance the replicas", env, u)
	}
	return fromEnvAt(preset, model, os.Getenv(env+"_BASE_URL"))
}

// fromEnvAt is FromEnv with baseURL instead of <NAME>_BASE_URL.
func fromEnvAt(preset, model, baseURL string) (*Client, error) {
	p, ok := LookupPreset(preset)
	if !ok {
		return nil, unknownPreset(preset)
	}
	env := p.EnvPrefix()
	var routing *Routing
	if p.Name == "openrouter" {
		var err error
		if routing, err = routingFromEnv(env); err != nil {
			return nil, err
		}
	}
	return New(model, Options{
		Routing:      routing,
		Preset:       preset,
		BaseURL:      baseURL,
		APIKey:       os.Getenv(env + "_API_KEY"),
		Dialect:      providers.PrefillMethod(os.Getenv(env + "_PREFILL")),
		ChatTemplate: os.Getenv(env + "_CHAT_TEMPLATE"),
		keyFromEnv:   true,
	})
}
