package recovery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rebound-lab/rebound/perturb"
	"github.com/rebound-lab/rebound/providers"
)

// ErrPreflight is wrapped by Run's and Preflight's errors about a model that
// cannot serve a stage it is configured for, found before any call is paid
// for. It wraps ErrConfig.
var ErrPreflight = fmt.Errorf("%w: preflight", ErrConfig)

// ErrStageFailed is returned by a stage when every call it made failed (no
// network, a wrong base URL, a model the endpoint does not serve): the run
// stops with the first failure instead of reporting nothing.
var ErrStageFailed = errors.New("recovery: every call of the stage failed")

// Preflight checks, without sending anything, that each model can serve
// every stage it is configured for — the strong model's straight shots and
// continuations (prefill), the weak model's straight shots — by passing a
// representative request of each stage to the model's
// providers.Preflighter, and that with a budget every paid model has a
// price. Run calls it before its first call; call it yourself to check a
// Config for a dry run. Completers that are not Preflighters (simulators,
// wrapped chains) are not checked. Every problem found is reported, each
// naming the stage, the model and the setting that fixes it.
func Preflight(cfg Config) error {
	if err := cfg.defaults(); err != nil {
		return err
	}
	return cfg.preflight()
}

func (cfg *Config) preflight() error {
	p, err := cfg.firstProblem()
	if err != nil {
		return err
	}
	probe := PrefixResult{Problem: p, Strategy: "preflight", Prefix: perturb.Prefix{Text: prefixForPreflight(p.Question)}}
	type check struct {
		stage, spec string
		c           providers.Completer
		req         providers.Request
	}
	checks := []check{
		{StageStrong, cfg.StrongModel, cfg.Strong, cfg.strongStage(Exec{}, cfg.Strong).request(p, 0)},
		{StageContinue, cfg.StrongModel, cfg.Strong, cfg.continueStage(Exec{}, cfg.Strong).request(probe, 0)},
	}
	if !cfg.NoWeak {
		checks = append(checks, check{StageWeak, cfg.WeakModel, cfg.Weak, cfg.weakStage(Exec{}, cfg.Weak).request(p, 0)})
	}
	var errs []error
	for _, c := range checks {
		if err := providers.Preflight(c.c, c.req); err != nil {
			what := "straight-shot samples"
			if c.stage == StageContinue {
				what = "continuations (it must continue a prefix as its own text)"
			}
			errs = append(errs, fmt.Errorf("%w: the %s stage needs %s from %s: %w", ErrPreflight, c.stage, what, c.spec, err))
		}
	}
	if cfg.BudgetUSD > 0 && !cfg.AllowUnpriced {
		specs := map[string]providers.Completer{cfg.StrongModel: cfg.Strong}
		if !cfg.NoWeak {
			specs[cfg.WeakModel] = cfg.Weak
		}
		for _, spec := range []string{cfg.StrongModel, cfg.WeakModel} {
			c, ok := specs[spec]
			if !ok {
				continue
			}
			delete(specs, spec)
			provider := providers.EndpointOf(c).Provider
			if provider == "" {
				provider, _, _ = providers.ParseSpec(spec)
			}
			if _, ok := cfg.Prices.Lookup(provider, RequestModel(spec)); !ok {
				errs = append(errs, fmt.Errorf("%w: no price for %s (provider %q, model %q) in the price table, so the $%.2f budget cannot count its dollars: "+
					"give its price with -prices FILE (Config.Prices), or, for a free local server (vLLM, Ollama), pass -allow-unpriced (Config.AllowUnpriced)",
					ErrPreflight, spec, provider, RequestModel(spec), cfg.BudgetUSD))
			}
		}
	}
	return errors.Join(errs...)
}

// prefixForPreflight is a plausible first step, so an adapter checking a
// prefill sees a non-empty one.
func prefixForPreflight(question string) string {
	if i := strings.IndexAny(question, ".?"); i > 0 && i < 80 {
		return "Let's work through it. " + question[:i+1] + "\n"
	}
	return "Let's work through it step by step.\n"
}

// ProbeRecord is the preflight probe's outcome as run.db keeps it (run
// config key "probe") and the report shows it.
type ProbeRecord struct {
	Model  string                  `json:"model"`
	Method providers.PrefillMethod `json:"method,omitempty"`
	providers.ProbeResult
	// Forced reports that the run went on despite a bad verdict.
	Forced bool      `json:"forced,omitempty"`
	At     time.Time `json:"at"`
}

// probeConfigKey is the run-config key of the ProbeRecord.
const probeConfigKey = "probe"

// runProbe runs providers.ProbePrefill on the strong model (retried and
// priced, not cached or metered: its calls are not rows) unless run.db
// already holds a passing probe of the same model and method, records it,
// and refuses a verdict other than honoured unless cfg.ForceProbe.
func (cfg *Config) runProbe(ctx context.Context, st *Store) error {
	if prev, ok, err := st.Config(ctx, probeConfigKey); err != nil {
		return err
	} else if ok {
		var r ProbeRecord
		if json.Unmarshal([]byte(prev), &r) == nil && r.Model == cfg.StrongModel && r.Method == cfg.PrefillMethod &&
			(r.Verdict == providers.ProbeHonoured || r.Forced) {
			return nil
		}
	}
	// The canaries are paid calls: they count against the budget (what
	// the run spent before, and, through the record, what it spends after:
	// see spentUSD).
	mws := []providers.Middleware{providers.Pricing(cfg.Prices)}
	if cfg.BudgetUSD > 0 {
		spent, err := st.spentUSD(ctx)
		if err != nil {
			return err
		}
		if spent >= cfg.BudgetUSD {
			return fmt.Errorf("recovery: budget of $%.2f already spent ($%.4f in %s): %w",
				cfg.BudgetUSD, spent, st.Path(), providers.ErrBudgetExceeded)
		}
		b := providers.NewBudget(providers.BudgetConfig{LimitUSD: cfg.BudgetUSD - spent, Prices: cfg.Prices,
			DefaultMaxTokens: cfg.MaxTokens, AllowUnpriced: cfg.AllowUnpriced})
		mws = append(mws, b.Middleware())
	}
	mws = append(mws, providers.Retry(cfg.Retry))
	c := providers.Chain(cfg.Strong, mws...)
	res, err := providers.ProbePrefill(ctx, c, RequestModel(cfg.StrongModel), providers.ProbeMethod(cfg.PrefillMethod))
	rec := ProbeRecord{Model: cfg.StrongModel, Method: cfg.PrefillMethod, ProbeResult: res, At: time.Now().UTC(),
		Forced: err == nil && res.Verdict != providers.ProbeHonoured && cfg.ForceProbe}
	if b, jerr := json.Marshal(rec); jerr == nil {
		if serr := st.SetConfig(detach(ctx), probeConfigKey, string(b)); serr != nil && err == nil {
			err = serr
		}
	}
	if err != nil {
		return fmt.Errorf("recovery: preflight probe of %s: %w", cfg.StrongModel, err)
	}
	if res.Verdict == providers.ProbeHonoured || cfg.ForceProbe {
		return nil
	}
	var ev strings.Builder
	for _, call := range res.Calls {
		detail := fmt.Sprintf("%q", call.Text)
		if call.Err != "" {
			detail = call.Err
		}
		fmt.Fprintf(&ev, "\n  canary %-9s %-12s %s — %s", call.Canary, call.Outcome, call.Reason, detail)
	}
	return fmt.Errorf("%w: the probe of %s (prefill method %s) says %s: it does not continue a prefix in place, so the continuation stage would "+
		"measure restarts, not recovery; do not run. Try another prefill method (<PROVIDER>_PREFILL, Config.PrefillMethod) or provider, "+
		"or force the run (-probe=force, Config.ForceProbe). Evidence:%s", ErrPreflight, cfg.StrongModel, methodName(cfg.PrefillMethod), res, ev.String())
}

func methodName(m providers.PrefillMethod) string {
	if m == "" {
		return "native"
	}
	return string(m)
}

// Probe reads the preflight probe's record from st; ok is false if no probe
// ran in this run directory.
func (s *Store) Probe(ctx context.Context) (r ProbeRecord, ok bool, err error) {
	v, ok, err := s.Config(ctx, probeConfigKey)
	if err != nil || !ok {
		return r, false, err
	}
	if err := json.Unmarshal([]byte(v), &r); err != nil {
		return r, false, fmt.Errorf("recovery: run config %q: %w", probeConfigKey, err)
	}
	return r, true, nil
}

// openModels opens StrongModel (and WeakModel) through the provider
// registry when no completer was given.
func (c *Config) openModels() error {
	if c.Strong == nil {
		m, err := providers.Open(c.StrongModel)
		if err != nil {
			return fmt.Errorf("%w: StrongModel: %w", ErrConfig, err)
		}
		c.Strong = m
	}
	if !c.NoWeak && c.Weak == nil {
		m, err := providers.Open(c.WeakModel)
		if err != nil {
			return fmt.Errorf("%w: WeakModel: %w", ErrConfig, err)
		}
		c.Weak = m
	}
	return nil
}
