package providers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/providers"
	"github.com/rebound-lab/rebound/providers/anthropic"
	"github.com/rebound-lab/rebound/providers/openai"
)

// behaviour is how a fake endpoint treats a trailing assistant message.
type behaviour func(question, prefill string) string

var (
	honours = func(q, p string) string {
		switch {
		case strings.HasPrefix(q, "Count"):
			return " 18, 19, 20, 21"
		case strings.HasPrefix(q, "List the even"):
			return " 24, 26, 28"
		}
		return "ly warm and bright."
	}
	ignores = func(q, p string) string { // the prefill never reached the model
		switch {
		case strings.HasPrefix(q, "Count"):
			return "1, 2, 3, 4, 5, 6"
		case strings.HasPrefix(q, "List the even"):
			return "2, 4, 6, 8, 10"
		}
		return "It is sunny and mild today."
	}
	echoes        = func(q, p string) string { return p + honours(q, p) }
	partialEchoes = func(q, p string) string { // re-emits the last item
		switch {
		case strings.HasPrefix(q, "Count"):
			return " 17, 18, 19"
		case strings.HasPrefix(q, "List the even"):
			return " 22, 24, 26"
		}
		return "ly warm."
	}
	rambles = func(q, p string) string { return "" }
)

// chatServer is an OpenAI-compatible endpoint that answers each canary per b.
func chatServer(t *testing.T, b behaviour) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Messages []providers.Message `json:"messages"`
		}
		raw, _ := io.ReadAll(r.Body)
		require.NoError(t, json.Unmarshal(raw, &body))
		q, p := body.Messages[0].Content, ""
		if last := body.Messages[len(body.Messages)-1]; last.Role == "assistant" {
			p = last.Content
		}
		text, _ := json.Marshal(b(q, p))
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"x","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":%s},"finish_reason":"length"}],"usage":{"prompt_tokens":30,"completion_tokens":6,"total_tokens":36}}`, text)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestProbePrefillVerdicts(t *testing.T) {
	cases := []struct {
		name string
		b    behaviour
		want providers.ProbeVerdict
	}{
		{"an endpoint that continues the prefix is honoured", honours, providers.ProbeHonoured},
		{"an endpoint that drops the prefix is ignored", ignores, providers.ProbeIgnored},
		{"an endpoint that returns prefix plus continuation is echoed", echoes, providers.ProbeEchoed},
		{"an endpoint that re-emits the last item is echoed", partialEchoes, providers.ProbeEchoed},
		{"an endpoint that returns nothing is inconclusive", rambles, providers.ProbeInconclusive},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := chatServer(t, tc.b)
			c, err := openai.New("m", openai.Options{Preset: "openrouter", BaseURL: srv.URL, APIKey: "k"})
			require.NoError(t, err)
			res, err := providers.ProbePrefill(context.Background(), c, "m")
			require.NoError(t, err)
			assert.Equal(t, tc.want, res.Verdict, "%s\n%+v", res, res.Calls)
			require.Len(t, res.Calls, len(providers.DefaultCanaries))
			for _, call := range res.Calls {
				assert.NotEmpty(t, call.Reason)
				assert.Equal(t, providers.PrefillAssistantMessage, call.Method)
			}
			assert.Equal(t, 3*36, res.Usage.Total())
			assert.Equal(t, "openrouter", res.Endpoint.Provider)
		})
	}
}

func TestProbePrefillRejected(t *testing.T) {
	t.Run("a model refusing prefill with a 400 is rejected", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(400)
			io.WriteString(w, `{"type":"error","error":{"type":"invalid_request_error","message":"This model does not support assistant message prefill. The conversation must end with a user message."}}`)
		}))
		defer srv.Close()
		c, err := anthropic.New("claude-opus-4-6", anthropic.Options{BaseURL: srv.URL, APIKey: "k"})
		require.NoError(t, err)
		res, err := providers.ProbePrefill(context.Background(), c, "claude-opus-4-6")
		require.NoError(t, err)
		assert.Equal(t, providers.ProbeRejected, res.Verdict)
		assert.Contains(t, res.Calls[0].Err, "does not support assistant message prefill")
	})
	t.Run("a provider without prefill is rejected without a call", func(t *testing.T) {
		var hits int
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits++ }))
		defer srv.Close()
		c, err := openai.New("gpt-4o-mini", openai.Options{Preset: "openai", BaseURL: srv.URL, APIKey: "k"})
		require.NoError(t, err)
		res, err := providers.ProbePrefill(context.Background(), c, "gpt-4o-mini")
		require.NoError(t, err)
		assert.Equal(t, providers.ProbeRejected, res.Verdict)
		assert.Zero(t, hits)
	})
}

func TestProbePrefillInstructedAndInfrastructureErrors(t *testing.T) {
	t.Run("the requested method is used and recorded", func(t *testing.T) {
		srv := chatServer(t, honours)
		c, err := openai.New("gpt-4o-mini", openai.Options{Preset: "openai", BaseURL: srv.URL, APIKey: "k"})
		require.NoError(t, err)
		res, err := providers.ProbePrefill(context.Background(), c, "gpt-4o-mini", providers.ProbeMethod(providers.PrefillInstructed))
		require.NoError(t, err)
		assert.Equal(t, providers.PrefillInstructed, res.Method)
		assert.Equal(t, providers.PrefillInstructed, res.Calls[0].Method)
	})
	t.Run("an auth failure aborts the probe with the error", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(401)
			io.WriteString(w, `{"error":{"message":"bad key","type":"invalid_request_error"}}`)
		}))
		defer srv.Close()
		c, err := openai.New("m", openai.Options{Preset: "groq", BaseURL: srv.URL, APIKey: "k"})
		require.NoError(t, err)
		res, err := providers.ProbePrefill(context.Background(), c, "m")
		require.Error(t, err)
		var apiErr *providers.APIError
		require.ErrorAs(t, err, &apiErr)
		assert.Equal(t, 401, apiErr.StatusCode)
		assert.Equal(t, providers.ProbeInconclusive, res.Verdict)
		assert.Len(t, res.Calls, 1)
	})
	t.Run("requests are cheap and deterministic", func(t *testing.T) {
		var mu sync.Mutex
		var seen []providers.Request
		c := providers.CompleterFunc(func(ctx context.Context, r providers.Request) (providers.Completion, error) {
			mu.Lock()
			seen = append(seen, r)
			mu.Unlock()
			return providers.Completion{Text: honours(r.Messages[0].Content, r.Prefill), PrefillMethod: providers.PrefillNative}, nil
		})
		res, err := providers.ProbePrefill(context.Background(), c, "sim", providers.ProbeMaxTokens(5))
		require.NoError(t, err)
		assert.Equal(t, providers.ProbeHonoured, res.Verdict)
		for _, r := range seen {
			require.NotNil(t, r.Temperature)
			assert.Equal(t, 0.0, *r.Temperature)
			assert.Equal(t, 5, r.MaxTokens)
			assert.Equal(t, "sim", r.Model)
		}
	})
}

// The canaries are sent at once: a barrier answers none until all have
// arrived, so a probe sending them one after another would time out. The
// probe then costs one latency before a run, not one per canary.
func TestProbePrefillSendsTheCanariesAtOnce(t *testing.T) {
	var arrived sync.WaitGroup
	arrived.Add(len(providers.DefaultCanaries))
	all := make(chan struct{})
	go func() { arrived.Wait(); close(all) }()
	c := providers.CompleterFunc(func(ctx context.Context, r providers.Request) (providers.Completion, error) {
		arrived.Done()
		select {
		case <-all:
		case <-time.After(5 * time.Second):
			return providers.Completion{}, fmt.Errorf("canary %q waited 5 s for the others: sent one at a time", r.Messages[0].Content)
		case <-ctx.Done():
			return providers.Completion{}, ctx.Err()
		}
		return providers.Completion{Text: honours(r.Messages[0].Content, r.Prefill), CostUSD: 0.001,
			Usage: providers.Usage{InputTokens: 30, OutputTokens: 6}}, nil
	})
	res, err := providers.ProbePrefill(context.Background(), c, "m")
	require.NoError(t, err)
	assert.Equal(t, providers.ProbeHonoured, res.Verdict)
	require.Len(t, res.Calls, len(providers.DefaultCanaries))
	for i, call := range res.Calls {
		assert.Equal(t, providers.DefaultCanaries[i].Name, call.Canary, "the evidence is in canary order")
	}
	assert.InDelta(t, 0.003, res.CostUSD, 1e-12)
	assert.Equal(t, 90, res.Usage.InputTokens)
}

// A canary that fails for a reason other than the prefill cancels the
// others and is the error, however the canaries finish; every completion
// received still counts in the cost.
func TestProbePrefillAFailingCanaryCancelsTheOthersAndPaidOnesCount(t *testing.T) {
	var cancelled atomic.Int64
	c := providers.CompleterFunc(func(ctx context.Context, r providers.Request) (providers.Completion, error) {
		switch q := r.Messages[0].Content; {
		case strings.HasPrefix(q, "Count"): // the first canary: answered
			return providers.Completion{Text: honours(q, r.Prefill), CostUSD: 0.002}, nil
		case strings.HasPrefix(q, "Write"): // the second: fails at once
			return providers.Completion{}, &providers.APIError{StatusCode: 401, Message: "bad key"}
		}
		select { // the third would hang
		case <-ctx.Done():
			cancelled.Add(1)
			return providers.Completion{}, ctx.Err()
		case <-time.After(10 * time.Second):
			return providers.Completion{Text: "24"}, nil
		}
	})
	start := time.Now()
	res, err := providers.ProbePrefill(context.Background(), c, "m")
	require.Error(t, err)
	assert.Less(t, time.Since(start), 5*time.Second, "the hanging canary was cancelled")
	assert.Equal(t, int64(1), cancelled.Load())
	var apiErr *providers.APIError
	require.ErrorAs(t, err, &apiErr, "the failure, not the cancellation it caused")
	assert.Contains(t, err.Error(), "canary mid-word")
	assert.Equal(t, providers.ProbeInconclusive, res.Verdict)
	require.Len(t, res.Calls, 2, "the evidence up to the failed canary")
	assert.Equal(t, "count", res.Calls[0].Canary)
	assert.Equal(t, providers.ProbeHonoured, res.Calls[0].Outcome)
	assert.Equal(t, "mid-word", res.Calls[1].Canary)
	assert.InDelta(t, 0.002, res.CostUSD, 1e-12, "the answered canary was paid for")
}
