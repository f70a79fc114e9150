package recovery

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"slices"
	"strings"

	"github.com/rebound-lab/rebound/dataset"
	"github.com/rebound-lab/rebound/perturb"
	"github.com/rebound-lab/rebound/providers"
)

// identity is what a run directory's finished rows depend on: resuming with
// different values would silently mix two experiments. Fields added later
// are compared only when the stored identity has them.
type identity struct {
	StrongModel   string                  `json:"strong_model"`
	WeakModel     string                  `json:"weak_model"`
	Seed          int64                   `json:"seed"`
	Temperature   *float64                `json:"temperature"`
	MaxTokens     int                     `json:"max_tokens"`
	PrefillMethod providers.PrefillMethod `json:"prefill_method"`
	// Samples, WeakSamples and Continuations may grow on a resume (the
	// finished ones are kept, the rest added), never shrink.
	Samples       int `json:"samples,omitempty"`
	WeakSamples   int `json:"weak_samples,omitempty"`
	Continuations int `json:"continuations,omitempty"`
	// Strategies may gain names, never lose them.
	Strategies   []string   `json:"strategies,omitempty"`
	Cut          string     `json:"cut,omitempty"`
	OnPolicyBand [2]float64 `json:"onpolicy_band"`
	Adaptive     string     `json:"adaptive,omitempty"`
	// Problems is a fingerprint of the problem IDs, questions and answers
	// (the dataset); the problems themselves are compared one by one, and
	// more problems may be added.
	Problems string `json:"problems,omitempty"`
	// ReasoningEffort and PrefillTarget change the requests; omitempty, so
	// a directory made before they existed (or without them) still
	// matches. Config.Batch is not here: batch and live calls ask the same
	// questions.
	ReasoningEffort string `json:"reasoning_effort,omitempty"`
	PrefillTarget   string `json:"prefill_target,omitempty"`
}

// cutFingerprint describes a Cut by what it does: the steps it keeps of
// synthetic traces of several lengths, with and without a known error step.
func cutFingerprint(c perturb.Cut) string {
	if c == nil {
		return "default"
	}
	var b strings.Builder
	for _, n := range []int{2, 3, 5, 8, 13} {
		steps := make([]perturb.Step, n)
		for i := range steps {
			steps[i] = perturb.Step{Text: fmt.Sprintf("Step %d.", i+1)}
		}
		for _, errStep := range []int{0, (n + 1) / 2} {
			k, err := c.Cut(perturb.CutInput{Steps: steps, ErrorStep: errStep, Rand: perturb.Rand(1, fmt.Sprint(n, errStep))})
			if err != nil {
				k = -1
			}
			fmt.Fprintf(&b, "%d/%d:%d ", k, n, errStep)
		}
	}
	return strings.TrimSpace(b.String())
}

func problemKey(id, question, answer string) string {
	h := sha256.Sum256([]byte(question + "\x00" + answer))
	return id + "\x00" + hex.EncodeToString(h[:8])
}

func (cfg *Config) identity() identity {
	id := cfg.baseIdentity()
	id.Problems = problemsFingerprint(cfg.Problems)
	return id
}

// problemsFingerprint is identity.Problems of a slice of problems: a hash
// of their sorted problemKeys (the order of the problems does not count).
func problemsFingerprint(problems []dataset.Problem) string {
	keys := make([]string, len(problems))
	for i, p := range problems {
		keys[i] = problemKey(p.ID, p.Question, p.Answer)
	}
	slices.Sort(keys)
	h := newKeyHash()
	for _, k := range keys {
		h.add(k)
	}
	return h.sum()
}

// keyHash hashes problemKeys given in sorted order.
type keyHash struct{ h hash.Hash }

func newKeyHash() keyHash { return keyHash{sha256.New()} }

func (k keyHash) add(key string) {
	k.h.Write([]byte(key))
	k.h.Write([]byte{'\n'})
}

func (k keyHash) sum() string { return hex.EncodeToString(k.h.Sum(nil)[:12]) }

// baseIdentity is the identity without its Problems fingerprint.
func (cfg *Config) baseIdentity() identity {
	id := identity{StrongModel: cfg.StrongModel, WeakModel: cfg.WeakModel, Seed: cfg.Seed, Temperature: cfg.Temperature,
		MaxTokens: cfg.MaxTokens, PrefillMethod: cfg.PrefillMethod, Samples: cfg.Samples, WeakSamples: cfg.WeakSamples,
		Continuations: cfg.Continuations, Strategies: slices.Sorted(slices.Values(cfg.Strategies)),
		Cut: cutFingerprint(cfg.Cut), OnPolicyBand: cfg.OnPolicyBand,
		ReasoningEffort: cfg.ReasoningEffort, PrefillTarget: cfg.PrefillTarget}
	if id.PrefillTarget == providers.PrefillTargetAnswer {
		id.PrefillTarget = "" // the same requests (see providers.Request.PrefillTarget)
	}
	if cfg.NoWeak {
		id.WeakModel, id.WeakSamples = "", 0
	}
	if cfg.Adaptive != nil {
		b, _ := json.Marshal(cfg.Adaptive)
		id.Adaptive = string(b)
	}
	return id
}

// checkIdentity records the run's identity on first use of a directory and
// refuses to resume one made with a different experiment, saying what
// differs. The documented extensions are allowed: more samples, more
// continuations, more strategies, more problems (every stored problem must
// be among cfg.Problems, with the same question and answer).
func checkIdentity(ctx context.Context, st *Store, cfg *Config) error {
	id := cfg.identity()
	b, err := json.Marshal(id)
	if err != nil {
		return fmt.Errorf("recovery: run identity: %w", err)
	}
	prevJSON, ok, err := st.Config(ctx, "identity")
	if err != nil {
		return err
	}
	if ok {
		var prev identity
		if err := json.Unmarshal([]byte(prevJSON), &prev); err != nil {
			return fmt.Errorf("recovery: run identity in %s: %w", st.Path(), err)
		}
		diffs := identityDiffs(prev, id)
		pd, err := problemDiffs(ctx, st, cfg)
		if err != nil {
			return err
		}
		if err := identityError(st, append(diffs, pd...)); err != nil {
			return err
		}
	}
	return st.SetConfig(ctx, "identity", string(b))
}

// identityError is checkIdentity's refusal of a directory holding another
// experiment, listing diffs; nil without any.
func identityError(st *Store, diffs []string) error {
	if len(diffs) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s holds another experiment; it differs in:\n  - %s\nuse a new run directory (-out), or the same settings to resume (allowed changes: more -samples, -continuations, strategies or problems)",
		ErrConfig, st.Dir(), strings.Join(diffs, "\n  - "))
}

func identityDiffs(prev, cur identity) []string {
	var d []string
	ptr := func(p *float64) string {
		if p == nil {
			return "unset"
		}
		return fmt.Sprint(*p)
	}
	same := func(name, a, b string) {
		if a != b {
			d = append(d, fmt.Sprintf("%s: stored %q, now %q", name, a, b))
		}
	}
	same("strong model", prev.StrongModel, cur.StrongModel)
	same("weak model", prev.WeakModel, cur.WeakModel)
	same("seed", fmt.Sprint(prev.Seed), fmt.Sprint(cur.Seed))
	same("temperature", ptr(prev.Temperature), ptr(cur.Temperature))
	same("max tokens", fmt.Sprint(prev.MaxTokens), fmt.Sprint(cur.MaxTokens))
	same("prefill method", string(prev.PrefillMethod), string(cur.PrefillMethod))
	same("reasoning effort", prev.ReasoningEffort, cur.ReasoningEffort)
	same("prefill target", prev.PrefillTarget, cur.PrefillTarget)
	grow := func(name string, a, b int) {
		if a > 0 && b < a {
			d = append(d, fmt.Sprintf("%s: stored %d, now %d (fewer would re-bucket on a subset of the stored rows; more is allowed)", name, a, b))
		}
	}
	grow("samples", prev.Samples, cur.Samples)
	grow("weak samples", prev.WeakSamples, cur.WeakSamples)
	grow("continuations", prev.Continuations, cur.Continuations)
	for _, s := range prev.Strategies {
		if !slices.Contains(cur.Strategies, s) {
			d = append(d, fmt.Sprintf("strategies: stored %v, now %v (strategies may be added, not dropped)", prev.Strategies, cur.Strategies))
			break
		}
	}
	if prev.Cut != "" {
		same("cut policy (what it keeps of test traces)", prev.Cut, cur.Cut)
	}
	if prev.Problems != "" || prev.Cut != "" {
		same("onpolicy band", fmt.Sprint(prev.OnPolicyBand), fmt.Sprint(cur.OnPolicyBand))
		same("adaptive plan", prev.Adaptive, cur.Adaptive)
	}
	return d
}

// problemDiffs compares the stored problems with cfg.Problems: every stored
// one must be present with the same question and answer.
func problemDiffs(ctx context.Context, st *Store, cfg *Config) ([]string, error) {
	if err := st.Flush(ctx); err != nil {
		return nil, err
	}
	rows, err := st.db.QueryContext(ctx, `SELECT id, question, answer FROM problems ORDER BY ord, id`)
	if err != nil {
		return nil, fmt.Errorf("recovery: read problems: %w", err)
	}
	defer rows.Close()
	cur := make(map[string]string, len(cfg.Problems))
	for _, p := range cfg.Problems {
		cur[p.ID] = problemKey(p.ID, p.Question, p.Answer)
	}
	var stored, missing, changed int
	var firstMissing, firstChanged string
	for rows.Next() {
		var id, q, a string
		if err := rows.Scan(&id, &q, &a); err != nil {
			return nil, fmt.Errorf("recovery: read problems: %w", err)
		}
		stored++
		k, ok := cur[id]
		switch {
		case !ok:
			if missing++; firstMissing == "" {
				firstMissing = id
			}
		case k != problemKey(id, q, a):
			if changed++; firstChanged == "" {
				firstChanged = id
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("recovery: read problems: %w", err)
	}
	var d []string
	if missing > 0 {
		d = append(d, fmt.Sprintf("dataset: %d of the %d stored problems are not in this one (first: %s) — another dataset, fewer problems (-limit), or IDs that changed",
			missing, stored, firstMissing))
	}
	if changed > 0 {
		d = append(d, fmt.Sprintf("dataset: %d stored problems have another question or answer now (first: %s)", changed, firstChanged))
	}
	return d, nil
}
