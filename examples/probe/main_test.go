package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/providers"
)

// TestProbeEveryDialectOfAPreset runs the command against a local vLLM-like
// server that honours continue_final_message but ignores a bare trailing
// assistant message, as real template-less servers do.
func TestProbeEveryDialectOfAPreset(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		var body struct {
			Messages []struct{ Role, Content string } `json:"messages"`
			Continue bool                             `json:"continue_final_message"`
		}
		require.NoError(t, json.Unmarshal(raw, &body))
		q := body.Messages[0].Content
		var text string
		switch {
		case body.Continue && strings.HasPrefix(q, "Count"):
			text = " 18, 19"
		case body.Continue && strings.HasPrefix(q, "List"):
			text = " 24, 26"
		case body.Continue:
			text = "ly warm."
		case strings.HasPrefix(q, "Count"):
			text = "1, 2, 3"
		case strings.HasPrefix(q, "List"):
			text = "2, 4, 6"
		default:
			text = "Sunny."
		}
		b, _ := json.Marshal(text)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"x","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":%s},"finish_reason":"length"}],"usage":{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12}}`, b)
	}))
	defer srv.Close()
	t.Setenv("VLLM_BASE_URL", srv.URL+"/v1")
	var out bytes.Buffer
	require.NoError(t, run([]string{"-model", "vllm:Qwen/Qwen2.5-7B-Instruct"}, &out))
	lines := out.String()
	assert.Contains(t, lines, "continue_final_message   honoured (3/3 canaries continued in place)")
	assert.Contains(t, lines, "assistant_message        ignored (3/3 canaries restarted instead of continuing)")
	assert.Contains(t, lines, "instructed               ignored")

	assert.Contains(t, lines, "verdict: vllm:Qwen/Qwen2.5-7B-Instruct continues the prefix with continue_final_message")

	out.Reset()
	require.NoError(t, run([]string{"-model", "vllm:m", "-json"}, &out))
	dec := json.NewDecoder(&out)
	var verdicts []string
	for dec.More() {
		var r struct{ Dialect, Verdict string }
		require.NoError(t, dec.Decode(&r))
		verdicts = append(verdicts, r.Dialect+"="+r.Verdict)
	}
	assert.Equal(t, []string{"continue_final_message=honoured", "assistant_message=ignored", "instructed=ignored"}, verdicts)
}

func TestProbeNeedsAModel(t *testing.T) {
	err := run(nil, io.Discard)
	assert.ErrorContains(t, err, "-model is required")
	err = run([]string{"-model", "nosuch:x"}, io.Discard)
	assert.ErrorContains(t, err, `unknown provider "nosuch"`)
}

func TestProbeFailsWithAVerdictWhenNoDialectContinuesAndStopsAtAPermanentError(t *testing.T) {
	var requests atomic.Int64
	restart := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"id":"x","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"1, 2, 3"},"finish_reason":"length"}],"usage":{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12}}`)
	}))
	defer restart.Close()
	t.Setenv("OLLAMA_BASE_URL", restart.URL+"/v1")
	var out bytes.Buffer
	err := run([]string{"-model", "ollama:m"}, &out)
	require.Error(t, err, "nothing works: a non-zero exit")
	assert.Contains(t, out.String(), "verdict: no dialect continues the prefix — do not run ollama:m")

	// A wrong key (401) stops the probe at once: no retries, no other dialect.
	// The error body is OpenAI's error envelope as the adapter's client
	// decodes it (sashabaranov/go-openai, error.go: ErrorResponse{Error
	// *APIError{Code, Message, Param, Type}}).
	requests.Store(0)
	unauthorized := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","code":"invalid_api_key"}}`)
	}))
	defer unauthorized.Close()
	t.Setenv("OLLAMA_BASE_URL", unauthorized.URL+"/v1")
	out.Reset()
	err = run([]string{"-model", "ollama:m"}, &out)
	require.Error(t, err)
	assert.Contains(t, out.String(), "verdict: cannot probe ollama:m")
	assert.Contains(t, err.Error(), "401")
	// The canaries are sent at once (one latency), and the first failure
	// cancels the rest, so the endpoint sees each of the first dialect's
	// canaries at most once (those cancelled before they were sent, not at
	// all): none retried, no other dialect.
	n := requests.Load()
	assert.GreaterOrEqual(t, n, int64(1))
	assert.LessOrEqual(t, n, int64(len(providers.DefaultCanaries)), "the first dialect's canaries, no retry, no other dialect")
}
