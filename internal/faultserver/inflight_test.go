package faultserver_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/internal/faultserver"
)

func TestInFlightCountsRequestsBeingHandledNow(t *testing.T) {
	s := faultserver.New(faultserver.Config{Schedule: []faultserver.Fault{faultserver.Hang}})
	defer s.Close()
	assert.Zero(t, s.InFlight())
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.BaseURL+"/chat/completions",
		strings.NewReader(`{"model":"m","messages":[{"role":"user","content":"hi"}]}`))
	require.NoError(t, err)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	require.Eventually(t, func() bool { return s.InFlight() == 1 }, 5*time.Second, time.Millisecond, "the hanging request is in flight")
	cancel()
	<-done
	require.Eventually(t, func() bool { return s.InFlight() == 0 }, 5*time.Second, time.Millisecond, "and leaves when the client gives up")
}
