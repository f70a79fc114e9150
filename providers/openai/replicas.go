package openai

import (
	"fmt"
	"os"
	"strings"

	"github.com/rebound-lab/rebound/providers"
)

// BaseURLs splits a <NAME>_BASE_URL value into its base URLs: one URL, or
// several separated by commas (replicas of one model, e.g. one vLLM or
// SGLang server per GPU node). Blank entries are an error naming env.
func BaseURLs(env, value string) ([]string, error) {
	if strings.TrimSpace(value) == "" {
		return nil, nil
	}
	var out []string
	for i, u := range strings.Split(value, ",") {
		u = strings.TrimSpace(u)
		if u == "" {
			return nil, fmt.Errorf("openai: %s: entry %d of %q is empty (want comma-separated base URLs, e.g. http://gpu1:8000/v1,http://gpu2:8000/v1)", env, i+1, value)
		}
		out = append(out, u)
	}
	return out, nil
}

// OpenReplicas opens preset's model as providers.Open does, from the
// environment (see FromEnv): with one base URL in <NAME>_BASE_URL (or none:
// the preset's default) it is FromEnv's Client; with several,
// comma-separated, it is a providers.Balancer over one Client per URL —
// least outstanding requests, per-replica health and failover — whose
// Endpoint (and so every cache key) is the first URL's.
func OpenReplicas(preset, model string) (providers.Completer, error) {
	p, ok := LookupPreset(preset)
	if !ok {
		return nil, unknownPreset(preset)
	}
	env := p.EnvPrefix() + "_BASE_URL"
	urls, err := BaseURLs(env, os.Getenv(env))
	if err != nil {
		return nil, err
	}
	if len(urls) <= 1 {
		return FromEnv(preset, model)
	}
	reps := make([]providers.Completer, len(urls))
	for i, u := range urls {
		c, err := fromEnvAt(preset, model, u)
		if err != nil {
			return nil, fmt.Errorf("openai: replica %d (%s) of %s: %w", i+1, u, env, err)
		}
		reps[i] = c
	}
	return providers.NewBalancer(reps...)
}
