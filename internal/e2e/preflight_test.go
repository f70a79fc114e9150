package e2e_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/dataset"
	"github.com/rebound-lab/rebound/internal/faultserver"
)

// What the preflight refuses, it refuses before the first request.
func TestPreflightRefusesThroughTheBinaryBeforeAnyRequest(t *testing.T) {
	if testing.Short() {
		t.Skip("drives the harness binary")
	}
	cases := []struct {
		name string
		env  func(s *faultserver.Server) map[string]string
		args []string
		want []string
	}{
		{name: "a strong model without prefill",
			env: func(s *faultserver.Server) map[string]string {
				return map[string]string{"OPENAI_BASE_URL": s.BaseURL, "OPENAI_API_KEY": "k"}
			},
			args: []string{"-strong", "openai:gpt-4o", "-weak", "openai:gpt-4o-mini"},
			want: []string{"continue stage", "OPENAI_PREFILL=instructed", "-prefill METHOD"}},
		{name: "a budget with an unpriced model",
			env:  func(s *faultserver.Server) map[string]string { return compatEnv(s, "k") },
			args: []string{"-strong", "openai-compatible:strong", "-weak", "openai-compatible:weak", "-budget", "1"},
			want: []string{"no price for openai-compatible:strong", "-prices FILE", "-allow-unpriced"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := newModels(dataset.GSM8KTest(), "strong", "weak").server(t, faultserver.Config{})
			dir := filepath.Join(t.TempDir(), "run")
			r := run(t, context.Background(), c.env(srv), append([]string{"-out", dir, "-limit", "5", "-quiet"}, c.args...)...)
			require.NotEqual(t, 0, r.exit)
			for _, w := range c.want {
				assert.Contains(t, r.stderr, w)
			}
			assert.NotContains(t, r.stderr, "budget is exhausted", "not the budget: nothing was spent")
			assert.Zero(t, srv.Stats().Requests, "nothing was sent")
		})
	}
}
