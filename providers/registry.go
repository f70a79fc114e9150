package providers

import (
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Opener opens a Completer for one model of a registered provider. Openers
// read their configuration (keys, base URLs) from the environment.
type Opener func(model string) (Completer, error)

var (
	registryMu sync.RWMutex
	registry   = map[string]Opener{}
)

// Register makes a provider available to Open under name, like a
// database/sql driver. Adapters call it from init. It panics if name is
// empty, contains ':', or is registered twice.
func Register(name string, open Opener) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if name == "" || strings.Contains(name, ":") {
		panic(fmt.Sprintf("providers: invalid provider name %q", name))
	}
	if open == nil {
		panic("providers: Register opener is nil for " + name)
	}
	if _, dup := registry[name]; dup {
		panic("providers: Register called twice for " + name)
	}
	registry[name] = open
}

// Registered returns the sorted names of all registered providers.
func Registered() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// ParseSpec splits a "provider:model" spec. The model may itself contain
// colons (e.g. "ollama:llama3.1:8b").
func ParseSpec(spec string) (provider, model string, err error) {
	provider, model, ok := strings.Cut(strings.TrimSpace(spec), ":")
	if !ok || provider == "" || model == "" {
		return "", "", fmt.Errorf("providers: spec %q: want provider:model (e.g. openai:gpt-4o-mini, sim:strong)", spec)
	}
	return provider, model, nil
}

// Open returns a Completer for spec "provider:model" using the registered
// adapter. Import an adapter package (e.g. for its side effects) to register
// it. An unknown provider's error lists the known ones.
func Open(spec string) (Completer, error) {
	provider, model, err := ParseSpec(spec)
	if err != nil {
		return nil, err
	}
	registryMu.RLock()
	open, ok := registry[provider]
	registryMu.RUnlock()
	if !ok {
		known := strings.Join(Registered(), ", ")
		if known == "" {
			known = "none: no adapter package is imported"
		}
		hint := ""
		if pkg, ok := adapterPackage(provider); ok {
			hint = fmt.Sprintf("; import _ %q to register it", pkg)
		}
		return nil, fmt.Errorf("providers: unknown provider %q in spec %q (known: %s)%s", provider, spec, known, hint)
	}
	c, err := open(model)
	if err != nil {
		return nil, fmt.Errorf("providers: open %s: %w", spec, err)
	}
	return c, nil
}

// adapterPackage names the package of this module whose import registers
// provider, for Open's error.
func adapterPackage(provider string) (string, bool) {
	const mod = "github.com/rebound-lab/rebound/providers/"
	switch provider {
	case "sim":
		return mod + "sim", true
	case "anthropic":
		return mod + "anthropic", true
	case "openai", "together", "openrouter", "deepseek", "mistral", "groq", "fireworks", "cohere", "vllm", "sglang",
		"ollama", "openai-compatible":
		return mod + "openai", true
	}
	return "", false
}
