package faultserver_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/internal/faultserver"
	"github.com/rebound-lab/rebound/providers"
	"github.com/rebound-lab/rebound/providers/openai"
)

// TestTheOpenAIAdapterClassifiesEveryFault sends one request per fault
// through the project's OpenAI-compatible adapter and checks the error the
// retry middleware will see: transient faults retryable, permanent ones not,
// each naming provider, model and status.
func TestTheOpenAIAdapterClassifiesEveryFault(t *testing.T) {
	tests := []struct {
		fault     faultserver.Fault
		status    int // 0: a transport error, not an *APIError
		retryable bool
	}{
		{faultserver.RateLimit, 429, true},
		{faultserver.ServerError, 500, true},
		{faultserver.Unavailable, 503, true},
		{faultserver.Overloaded, 529, true},
		{faultserver.BadGatewayHTML, 502, true},
		{faultserver.TruncatedJSON, 200, true},
		{faultserver.ErrorIn200, 200, true},
		{faultserver.Reset, 0, true},
		{faultserver.BadRequest, 400, false},
		{faultserver.Unauthorized, 401, false},
		// A hang outlives the caller's own deadline: not retryable (a retry
		// middleware needs a per-attempt timeout to retry it).
		{faultserver.Hang, 0, false},
	}
	for _, tt := range tests {
		t.Run(string(tt.fault), func(t *testing.T) {
			s := faultserver.New(faultserver.Config{Schedule: []faultserver.Fault{tt.fault}})
			defer s.Close()
			c, err := openai.New("gpt-test", openai.Options{BaseURL: s.BaseURL, APIKey: "k"})
			require.NoError(t, err)
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			req := providers.Request{Messages: []providers.Message{{Role: providers.RoleUser, Content: "q"}}}
			_, err = c.Complete(ctx, req)
			require.Error(t, err)
			assert.Equal(t, tt.retryable, providers.IsRetryable(err), "%v", err)
			assert.Contains(t, err.Error(), "gpt-test", "names the model")
			var ae *providers.APIError
			if tt.status == 0 {
				assert.False(t, errors.As(err, &ae), "%v", err)
			} else {
				require.True(t, errors.As(err, &ae), "%v", err)
				assert.Equal(t, tt.status, ae.StatusCode)
				assert.Contains(t, err.Error(), "HTTP ")
			}
			// The schedule is used up: the same client now succeeds.
			out, err := c.Complete(context.Background(), req)
			require.NoError(t, err)
			assert.Equal(t, `The answer is \boxed{42}.`, out.Text)
		})
	}
}
