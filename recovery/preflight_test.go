package recovery

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/providers"
	"github.com/rebound-lab/rebound/providers/openai"
)

// countingServer counts the requests an adapter sends; it answers none
// usefully (a preflight failure must stop the run before the first).
func countingServer(t *testing.T) (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		http.Error(w, `{"error":{"message":"no"}}`, http.StatusInternalServerError)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func TestPreflightRefusesAStrongModelWithoutPrefillBeforeAnyCallNamingTheEnvVar(t *testing.T) {
	srv, calls := countingServer(t)
	strong, err := openai.New("gpt-4o", openai.Options{Preset: "openai", APIKey: "k", BaseURL: srv.URL})
	require.NoError(t, err)
	cfg := simConfig(t, t.TempDir(), 5, 1)
	cfg.Strong, cfg.StrongModel = strong, "openai:gpt-4o"
	_, err = Run(context.Background(), cfg)
	require.ErrorIs(t, err, ErrPreflight)
	require.ErrorIs(t, err, providers.ErrPrefillUnsupported)
	assert.Contains(t, err.Error(), "continue stage")
	assert.Contains(t, err.Error(), "OPENAI_PREFILL=instructed", "the message names the setting a command-line user can change")
	assert.Zero(t, calls.Load(), "nothing was sent: calibration is not paid for before the check")

	// With the instructed emulation asked for, the same model passes.
	cfg.PrefillMethod = providers.PrefillInstructed
	assert.NoError(t, Preflight(cfg))
}

func TestPreflightRefusesACompleterOpenedForAnotherModel(t *testing.T) {
	srv, calls := countingServer(t)
	strong, err := openai.New("model-A", openai.Options{Preset: openai.GenericName, BaseURL: srv.URL})
	require.NoError(t, err)
	cfg := simConfig(t, t.TempDir(), 5, 1)
	cfg.Strong, cfg.StrongModel = strong, "openai-compatible:model-B"
	err = Preflight(cfg)
	require.ErrorIs(t, err, ErrPreflight)
	assert.Contains(t, err.Error(), `"model-B"`)
	assert.Contains(t, err.Error(), `"model-A"`)
	assert.Contains(t, err.Error(), "name the model once")
	assert.Zero(t, calls.Load())
}

func TestABudgetWithAnUnpricedModelSaysSoBeforeSpendingAndAllowUnpricedRunsIt(t *testing.T) {
	cfg := acmeConfig(t, t.TempDir())
	cfg.Prices = providers.NewPriceTable() // acme unknown
	cfg.BudgetUSD = 5
	_, err := Run(context.Background(), cfg)
	require.ErrorIs(t, err, ErrPreflight)
	assert.NotErrorIs(t, err, providers.ErrBudgetExceeded, "not 'the budget is exhausted': nothing was spent")
	for _, want := range []string{"no price for acme:strong", "no price for acme:weak", "-prices FILE", "-allow-unpriced"} {
		assert.Contains(t, err.Error(), want)
	}
	cfg.AllowUnpriced, cfg.BudgetUSD = true, 1000
	_, err = Run(context.Background(), cfg)
	assert.NoError(t, err)
}

func TestAStageWhoseEveryCallFailsStopsTheRunWithTheFailure(t *testing.T) {
	cfg := simConfig(t, t.TempDir(), 6, 1)
	var n atomic.Int64
	cfg.Weak = providers.CompleterFunc(func(ctx context.Context, req providers.Request) (providers.Completion, error) {
		n.Add(1)
		return providers.Completion{}, errors.New("dial tcp: lookup api.example.invalid: no such host")
	})
	cfg.Retry = providers.RetryPolicy{MaxAttempts: 1}
	sum, err := Run(context.Background(), cfg)
	require.ErrorIs(t, err, ErrStageFailed)
	assert.Contains(t, err.Error(), "weak stage")
	assert.Contains(t, err.Error(), "no such host")
	assert.Contains(t, err.Error(), "sim:weak")
	assert.Zero(t, sum.Overall.Continuations, "no continuation was paid for after the failed stage")
}

// canaries answers the probe's canaries as a model that honours (or, with
// restart, ignores) a prefill, and passes everything else to next.
type canaries struct {
	providers.Completer
	restart bool
	n       atomic.Int64
}

func (c *canaries) Complete(ctx context.Context, req providers.Request) (providers.Completion, error) {
	for _, can := range providers.DefaultCanaries {
		if len(req.Messages) > 0 && req.Messages[len(req.Messages)-1].Content == can.Question {
			c.n.Add(1)
			text := map[string]string{"count": " 18, 19, 20", "mid-word": "ly warm.", "evens": " 24, 26"}[can.Name]
			if c.restart {
				text = strings.TrimSpace(can.Prefill)
			}
			return providers.Completion{Text: text, Usage: providers.Usage{InputTokens: 20, OutputTokens: 5}}, nil
		}
	}
	return c.Completer.Complete(ctx, req)
}

func TestTheProbeStopsARunWhoseEndpointIgnoresThePrefixAndIsRecorded(t *testing.T) {
	dir := t.TempDir()
	cfg := simConfig(t, dir, 5, 1)
	// Every call but the canaries is counted: a refused probe means none
	// was made — the checks come before the money, though the canaries are
	// sent at once.
	var paid atomic.Int64
	count := func(c providers.Completer) providers.Completer {
		return providers.CompleterFunc(func(ctx context.Context, req providers.Request) (providers.Completion, error) {
			paid.Add(1)
			return c.Complete(ctx, req)
		})
	}
	bad := &canaries{Completer: count(cfg.Strong), restart: true}
	cfg.Strong, cfg.Weak, cfg.Probe = bad, count(cfg.Weak), true
	cfg.Concurrency, cfg.RPM = 0, 600000 // automatic concurrency: many calls ready to go at once
	sum, err := Run(context.Background(), cfg)
	require.ErrorIs(t, err, ErrPreflight)
	assert.Equal(t, int64(3), bad.n.Load(), "the three canaries")
	assert.Zero(t, paid.Load(), "no straight shot or continuation before the probe's verdict")
	assert.Contains(t, err.Error(), "do not run")
	assert.Contains(t, err.Error(), "canary count")
	assert.Zero(t, sum.Overall.Problems)
	st, err := OpenStore(dir)
	require.NoError(t, err)
	rec, ok, err := st.Probe(context.Background())
	require.NoError(t, err)
	require.True(t, ok, "the probe's result is kept in run.db")
	assert.NotEqual(t, providers.ProbeHonoured, rec.Verdict)
	require.NoError(t, st.Close())

	good := &canaries{Completer: simConfig(t, dir, 5, 1).Strong}
	cfg.Strong = good
	sum, err = Run(context.Background(), cfg)
	require.NoError(t, err)
	assert.Equal(t, int64(3), good.n.Load(), "a new verdict is sought after a bad one")
	require.NotNil(t, sum.Health.Probe)
	assert.Equal(t, providers.ProbeHonoured, sum.Health.Probe.Verdict)
	_, err = Run(context.Background(), cfg)
	require.NoError(t, err)
	assert.Equal(t, int64(3), good.n.Load(), "a resume trusts the recorded passing probe")
	report := readReport(t, dir)
	assert.Contains(t, report, "Preflight probe")
	assert.Contains(t, report, "honoured")
}

func readReport(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, ReportMD))
	require.NoError(t, err)
	return string(b)
}
