package e2e_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/dataset"
	"github.com/rebound-lab/rebound/internal/faultserver"
	"github.com/rebound-lab/rebound/providers"
)

// canaryReply answers the preflight probe's canaries (providers.DefaultCanaries)
// as a model that continues a prefill in place, or, with restart, as one
// that ignores it; ok is false for any other request.
func canaryReply(req faultserver.Request, restart bool) (faultserver.Reply, bool) {
	for _, can := range providers.DefaultCanaries {
		for _, msg := range req.Messages {
			if msg.Role == providers.RoleUser && msg.Content == can.Question {
				text := map[string]string{"count": " 18, 19, 20", "mid-word": "ly warm.", "evens": " 24, 26"}[can.Name]
				if restart {
					text = strings.TrimSpace(can.Prefill)
				}
				return faultserver.Reply{Text: text}, true
			}
		}
	}
	return faultserver.Reply{}, false
}

// distinctSamples answers the n-th arrival of one request body as sample n
// (the wire has no sample index), so N samples of a prompt differ as a
// sampling model's would.
type distinctSamples struct {
	m    *models
	mu   sync.Mutex
	seen map[string]int
}

func (d *distinctSamples) answer(ctx context.Context, req faultserver.Request) (faultserver.Reply, error) {
	if rep, ok := canaryReply(req, false); ok {
		return rep, nil
	}
	d.mu.Lock()
	n := d.seen[req.Hash]
	d.seen[req.Hash]++
	d.mu.Unlock()
	s, ok := d.m.byModel[req.Model]
	if !ok {
		return faultserver.Reply{}, nil
	}
	pr := providers.Request{Model: req.Model, Messages: req.Messages, MaxTokens: req.MaxTokens, Sample: n, Seed: req.Seed}
	if k := len(pr.Messages); k > 0 && pr.Messages[k-1].Role == providers.RoleAssistant {
		pr.Prefill, pr.Messages = pr.Messages[k-1].Content, pr.Messages[:k-1]
	}
	c, err := s.Complete(ctx, pr)
	if err != nil {
		return faultserver.Reply{}, err
	}
	return faultserver.Reply{Text: c.Text, InputTokens: c.Usage.InputTokens, OutputTokens: c.Usage.OutputTokens}, nil
}

type healthDoc struct {
	Health struct {
		MeasuredNothing bool `json:"measured_nothing"`
		Warnings        []struct {
			Stage, Condition string
		} `json:"warnings"`
	} `json:"health"`
}

func healthOf(t *testing.T, dir string) healthDoc {
	var h healthDoc
	require.NoError(t, json.Unmarshal([]byte(readFile(t, filepath.Join(dir, "summary.json"))), &h))
	return h
}

func conditions(h healthDoc) map[string]bool {
	out := map[string]bool{}
	for _, w := range h.Health.Warnings {
		out[w.Condition] = true
	}
	return out
}

// Each silent failure mode of a server ends the run with the matching WARN,
// and with a non-zero exit where the run measured nothing.
func TestEachSilentFailureModeEndsWithItsWarningAndNothingMeasuredFailsTheRun(t *testing.T) {
	if testing.Short() {
		t.Skip("drives the harness binary")
	}
	problems := dataset.GSM8KTest()
	cases := []struct {
		name    string
		answer  func(m *models) faultserver.AnswerFunc
		extra   []string
		warn    string // in stderr
		cond    string // in summary.json health
		failing bool
	}{
		{name: "a server that truncates every reply", warn: "hit max_tokens 4096: raise -max-tokens", cond: "length", failing: true,
			answer: func(m *models) faultserver.AnswerFunc {
				return func(ctx context.Context, req faultserver.Request) (faultserver.Reply, error) {
					if rep, ok := canaryReply(req, false); ok {
						return rep, nil
					}
					rep, err := m.answer(ctx, req)
					rep.Text, rep.FinishReason = firstWords(rep.Text, 6), "length"
					return rep, err
				}
			}},
		{name: "a server that returns empty content", warn: "came back empty", cond: "empty", failing: true,
			answer: func(m *models) faultserver.AnswerFunc {
				return func(ctx context.Context, req faultserver.Request) (faultserver.Reply, error) {
					if rep, ok := canaryReply(req, false); ok {
						return rep, nil
					}
					rep, err := m.answer(ctx, req)
					rep.Text = ""
					return rep, err
				}
			}},
		{name: "a server that ignores the prefix (probe off)", warn: "started over instead of continuing", cond: "restart", failing: true,
			extra: []string{"-probe", "off"},
			answer: func(m *models) faultserver.AnswerFunc {
				return func(ctx context.Context, req faultserver.Request) (faultserver.Reply, error) {
					if k := len(req.Messages); k > 0 && req.Messages[k-1].Role == providers.RoleAssistant {
						req.Messages = req.Messages[:k-1] // drop the prefill: answer afresh
					}
					return m.answer(ctx, req)
				}
			}},
		{name: "a server that returns identical samples", warn: "byte-identical samples", cond: "identical",
			answer: func(m *models) faultserver.AnswerFunc {
				// A deterministic server: it ignores the per-sample seed the
				// harness sends (or a gateway that caches by prompt).
				return func(ctx context.Context, req faultserver.Request) (faultserver.Reply, error) {
					req.Seed = nil
					return m.answer(ctx, req)
				}
			}},
		{name: "a sampling server (the control: no warning)",
			answer: func(m *models) faultserver.AnswerFunc {
				return (&distinctSamples{m: m, seen: map[string]int{}}).answer
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := newModels(problems, "strong", "weak")
			srv := faultserver.New(faultserver.Config{Answer: c.answer(m), Latency: time.Millisecond})
			t.Cleanup(srv.Close)
			dir := filepath.Join(t.TempDir(), "run")
			r := run(t, context.Background(), compatEnv(srv, "k"), runArgs(dir, 12, append([]string{"-samples", "3", "-continuations", "2"}, c.extra...)...)...)
			t.Logf("exit %d\nstderr:\n%s", r.exit, r.stderr)
			h := healthOf(t, dir)
			if c.failing {
				assert.NotEqual(t, 0, r.exit, "a run that measured nothing fails")
				assert.True(t, h.Health.MeasuredNothing)
				assert.Contains(t, r.stderr, "the run measured nothing")
			} else {
				assert.Equal(t, 0, r.exit)
				assert.False(t, h.Health.MeasuredNothing)
			}
			if c.warn == "" {
				assert.NotContains(t, r.stderr, "WARN")
				assert.Empty(t, h.Health.Warnings)
				return
			}
			assert.Contains(t, r.stderr, "WARN")
			assert.Contains(t, r.stderr, c.warn)
			assert.True(t, conditions(h)[c.cond], "summary.json health has %s: %+v", c.cond, h.Health.Warnings)
			assert.Contains(t, readFile(t, filepath.Join(dir, "report.md")), "## Health")
		})
	}
}

func firstWords(s string, n int) string {
	f := strings.Fields(s)
	if len(f) > n {
		f = f[:n]
	}
	return strings.Join(f, " ")
}

func TestTheProbeStopsARunAgainstAnEndpointThatIgnoresThePrefixBeforeAnyStage(t *testing.T) {
	if testing.Short() {
		t.Skip("drives the harness binary")
	}
	m := newModels(dataset.GSM8KTest(), "strong", "weak")
	srv := faultserver.New(faultserver.Config{Answer: func(ctx context.Context, req faultserver.Request) (faultserver.Reply, error) {
		if rep, ok := canaryReply(req, true); ok {
			return rep, nil
		}
		return m.answer(ctx, req)
	}})
	t.Cleanup(srv.Close)
	dir := filepath.Join(t.TempDir(), "run")
	r := run(t, context.Background(), compatEnv(srv, "k"), runArgs(dir, 12)...)
	require.NotEqual(t, 0, r.exit)
	assert.Contains(t, r.stderr, "do not run")
	assert.Contains(t, r.stderr, "canary count")
	assert.Equal(t, int64(len(providers.DefaultCanaries)), srv.Stats().Requests, "only the probe's canaries were sent")
}
