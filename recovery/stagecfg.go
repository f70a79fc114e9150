package recovery

import "github.com/rebound-lab/rebound/providers"

// The stages Run builds from a Config, in one place, so Preflight checks the
// very requests the stages will send.

func (cfg *Config) strongStage(exec Exec, strong providers.Completer) *StraightShot {
	return &StraightShot{Exec: exec, Stage: StageStrong, Model: cfg.StrongModel, Completer: strong,
		Verifier: cfg.Verifier, Samples: cfg.Samples, Temperature: cfg.Temperature, MaxTokens: cfg.MaxTokens,
		RunSeed: &cfg.Seed, ReasoningEffort: cfg.ReasoningEffort}
}

func (cfg *Config) weakStage(exec Exec, weak providers.Completer) *StraightShot {
	return &StraightShot{Exec: exec, Stage: StageWeak, Model: cfg.WeakModel, Completer: weak,
		Verifier: cfg.Verifier, Samples: cfg.WeakSamples, Temperature: cfg.Temperature, MaxTokens: cfg.MaxTokens,
		RunSeed: &cfg.Seed, ReasoningEffort: cfg.ReasoningEffort}
}

func (cfg *Config) continueStage(exec Exec, strong providers.Completer) *Continue {
	return &Continue{Exec: exec, Model: cfg.StrongModel, Completer: strong, Verifier: cfg.Verifier,
		K: cfg.Continuations, PrefillMethod: cfg.PrefillMethod, Temperature: cfg.Temperature, MaxTokens: cfg.MaxTokens,
		RunSeed: &cfg.Seed, ReasoningEffort: cfg.ReasoningEffort, PrefillTarget: cfg.PrefillTarget}
}
