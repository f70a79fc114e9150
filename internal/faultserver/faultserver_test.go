package faultserver

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	openai "github.com/sashabaranov/go-openai"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/dataset"
	"github.com/rebound-lab/rebound/providers"
	"github.com/rebound-lab/rebound/providers/sim"
)

const chatBody = `{"model":"m","messages":[{"role":"user","content":"What is 6*7?"}]}`

// post sends body to the server's completions endpoint.
func post(t *testing.T, s *Server, body string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Post(s.BaseURL+"/chat/completions", "application/json", strings.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, b
}

func TestAnswersInTheOpenAIWireFormat(t *testing.T) {
	s := New(Config{Answer: func(_ context.Context, r Request) (Reply, error) {
		return Reply{Text: "echo: " + r.Messages[0].Content, InputTokens: 11, OutputTokens: 5}, nil
	}})
	defer s.Close()

	// go-openai, a real client, parses the answer.
	cfg := openai.DefaultConfig("sk-test")
	cfg.BaseURL = s.BaseURL
	c := openai.NewClientWithConfig(cfg)
	out, err := c.CreateChatCompletion(context.Background(), openai.ChatCompletionRequest{
		Model:    "gpt-test",
		Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "hi <there>"}},
	})
	require.NoError(t, err)
	require.Len(t, out.Choices, 1)
	assert.Equal(t, "echo: hi <there>", out.Choices[0].Message.Content)
	assert.Equal(t, openai.FinishReasonStop, out.Choices[0].FinishReason)
	assert.Equal(t, "gpt-test", out.Model)
	assert.Equal(t, 11, out.Usage.PromptTokens)
	assert.Equal(t, 5, out.Usage.CompletionTokens)
	assert.Equal(t, 16, out.Usage.TotalTokens)

	st := s.Stats()
	assert.EqualValues(t, 1, st.Requests)
	assert.EqualValues(t, 1, st.Answered)
	assert.EqualValues(t, 11, st.InputTokens)
	assert.EqualValues(t, 5, st.OutputTokens)
	assert.EqualValues(t, 1, st.ByStatus[200])
	assert.EqualValues(t, 1, st.ByFault[None])

	models, err := c.ListModels(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "faultserver", models.Models[0].ID)
}

func TestEveryFault(t *testing.T) {
	tests := []struct {
		fault       Fault
		status      int
		contentType string
		retryAfter  string
		body        string
	}{
		{RateLimit, 429, "application/json", "2", `"code":"rate_limit_exceeded"`},
		{ServerError, 500, "application/json", "", `"type":"server_error"`},
		{Unavailable, 503, "application/json", "2", `"type":"server_error"`},
		{Overloaded, 529, "application/json", "2", `"type":"overloaded_error"`},
		{BadGatewayHTML, 502, "text/html", "", "<title>502 Bad Gateway</title>"},
		{ErrorIn200, 200, "application/json", "", `{"error":{"message":"The server had an error`},
		{BadRequest, 400, "application/json", "", `"type":"invalid_request_error"`},
		{Unauthorized, 401, "application/json", "", `"code":"invalid_api_key"`},
	}
	for _, tt := range tests {
		t.Run(string(tt.fault)+" is answered with its status and body", func(t *testing.T) {
			s := New(Config{Schedule: []Fault{tt.fault}, RetryAfter: 1500 * time.Millisecond})
			defer s.Close()
			resp, body := post(t, s, chatBody)
			assert.Equal(t, tt.status, resp.StatusCode)
			assert.Equal(t, tt.contentType, resp.Header.Get("Content-Type"))
			assert.Equal(t, tt.retryAfter, resp.Header.Get("Retry-After"))
			assert.Contains(t, string(body), tt.body)
			// The schedule is used up: the next request is answered.
			resp, body = post(t, s, chatBody)
			assert.Equal(t, 200, resp.StatusCode)
			assert.Contains(t, string(body), `"content":"The answer is \\boxed{42}."`)
			st := s.Stats()
			assert.EqualValues(t, 1, st.ByFault[tt.fault])
			wantStatus := int64(1)
			if tt.status == 200 {
				wantStatus = 2
			}
			assert.Equal(t, wantStatus, st.ByStatus[tt.status])
			assert.EqualValues(t, 1, st.Answered)
			assert.EqualValues(t, 2, st.Requests)
		})
	}
}

func TestTruncatedJSON(t *testing.T) {
	s := New(Config{Schedule: []Fault{TruncatedJSON}})
	defer s.Close()
	resp, body := post(t, s, chatBody)
	assert.Equal(t, 200, resp.StatusCode)
	var v map[string]any
	err := json.Unmarshal(body, &v)
	require.Error(t, err, "the body does not decode")
	_, full := post(t, s, chatBody)
	// The truncated body is the first half of a full one (whose id differs
	// only in its arrival number).
	assert.True(t, strings.HasPrefix(string(body), `{"id":"chatcmpl-fs0","object":"chat.completion"`), string(body))
	assert.Equal(t, len(full)/2, len(body))
	assert.EqualValues(t, 1, s.Stats().Answered, "a truncated answer is not counted as delivered")
}

func TestConnectionReset(t *testing.T) {
	s := New(Config{Schedule: []Fault{Reset}})
	defer s.Close()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	_, err := client.Post(s.BaseURL+"/chat/completions", "application/json", strings.NewReader(chatBody))
	require.Error(t, err)
	assert.True(t, errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF), "got %v", err)
	assert.True(t, providers.IsRetryable(err), "a reset is retryable: %v", err)
	assert.EqualValues(t, 1, s.Stats().Resets)
}

func TestHangUntilTheClientsDeadline(t *testing.T) {
	s := New(Config{Schedule: []Fault{Hang, Hang}})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.BaseURL+"/chat/completions", strings.NewReader(chatBody))
	start := time.Now()
	_, err := http.DefaultClient.Do(req)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.GreaterOrEqual(t, time.Since(start), 100*time.Millisecond)

	// A second hang is released by Close, which then returns.
	done := make(chan error, 1)
	go func() {
		_, err := http.Post(s.BaseURL+"/chat/completions", "application/json", strings.NewReader(chatBody))
		done <- err
	}()
	require.Eventually(t, func() bool { return s.Stats().ByFault[Hang] == 2 }, 5*time.Second, 5*time.Millisecond)
	s.Close()
	err = <-done
	assert.Error(t, err, "the hung request gets no answer")
	assert.EqualValues(t, 0, s.Stats().Answered)
}

func TestLatencyIsWaitedAndCancellable(t *testing.T) {
	s := New(Config{Latency: 80 * time.Millisecond})
	defer s.Close()
	start := time.Now()
	resp, _ := post(t, s, chatBody)
	assert.Equal(t, 200, resp.StatusCode)
	assert.GreaterOrEqual(t, time.Since(start), 80*time.Millisecond)

	// A client that gives up during the latency gets nothing and nothing is
	// counted as answered.
	slow := New(Config{Latency: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, slow.BaseURL+"/chat/completions", strings.NewReader(chatBody))
	_, err := http.DefaultClient.Do(req)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	slow.Close() // returns although the handler was sleeping for an hour
	assert.EqualValues(t, 0, slow.Stats().Answered)
}

func TestRPMCeiling(t *testing.T) {
	// 6 per minute refills one request every 10 s: the bucket of 3 is not
	// refilled during the test.
	s := New(Config{RPM: 6, Burst: 3})
	defer s.Close()
	for i := range 3 {
		resp, _ := post(t, s, chatBody)
		require.Equal(t, 200, resp.StatusCode, "request %d", i)
		assert.Equal(t, "6", resp.Header.Get("x-ratelimit-limit-requests"))
	}
	resp, body := post(t, s, chatBody)
	assert.Equal(t, 429, resp.StatusCode)
	assert.Contains(t, string(body), "rate_limit_exceeded")
	ra, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	require.NoError(t, err)
	assert.True(t, ra >= 9 && ra <= 10, "Retry-After %d s", ra)
	ms, err := strconv.Atoi(resp.Header.Get("retry-after-ms"))
	require.NoError(t, err)
	assert.True(t, ms > 9000 && ms <= 10000, "retry-after-ms %d", ms)
	assert.Equal(t, "0", resp.Header.Get("x-ratelimit-remaining-requests"))
	st := s.Stats()
	assert.EqualValues(t, 1, st.RateLimited)
	assert.EqualValues(t, 3, st.Answered)
	assert.EqualValues(t, 4, st.Requests)

	// The ceiling's 429 classifies as a retryable rate limit.
	apiErr := providers.NewAPIError("openai", resp.StatusCode, "requests", "", time.Duration(ra)*time.Second)
	assert.ErrorIs(t, apiErr, providers.ErrRateLimited)
}

func TestRPMRefills(t *testing.T) {
	// 60,000 per minute = one per millisecond; burst 1.
	s := New(Config{RPM: 60000, Burst: 1})
	defer s.Close()
	ok := 0
	for range 20 {
		resp, _ := post(t, s, chatBody)
		if resp.StatusCode == 200 {
			ok++
		}
		time.Sleep(3 * time.Millisecond)
	}
	assert.Equal(t, 20, ok, "a request every 3 ms stays under one per ms")
}

func TestFaultFractionsAreDeterministic(t *testing.T) {
	h1 := NewHandler(Config{Seed: 5, Faults: []Rate{{ServerError, 0.2}, {Reset, 0.1}}})
	h2 := NewHandler(Config{Seed: 5, Faults: []Rate{{ServerError, 0.2}, {Reset, 0.1}}})
	h3 := NewHandler(Config{Seed: 6, Faults: []Rate{{ServerError, 0.2}, {Reset, 0.1}}})
	const n = 5000
	counts := map[Fault]int{}
	same, differ := 0, 0
	for i := range int64(n) {
		f := h1.decide(Attempt{N: i})
		counts[f]++
		if f == h2.decide(Attempt{N: i}) {
			same++
		}
		if f != h3.decide(Attempt{N: i}) {
			differ++
		}
	}
	assert.Equal(t, n, same)
	assert.Greater(t, differ, n/5)
	for f, p := range map[Fault]float64{ServerError: 0.2, Reset: 0.1, None: 0.7} {
		sd := math.Sqrt(n * p * (1 - p))
		assert.InDelta(t, n*p, float64(counts[f]), 4.5*sd, "fault %q", f)
	}
}

func TestDecideSeesRetries(t *testing.T) {
	// Every distinct request fails its first attempt.
	s := New(Config{Decide: func(a Attempt) Fault {
		if a.Try == 1 {
			return Unavailable
		}
		return None
	}})
	defer s.Close()
	bodies := []string{chatBody, `{"model":"m","messages":[{"role":"user","content":"other"}]}`}
	for _, b := range bodies {
		resp, _ := post(t, s, b)
		assert.Equal(t, 503, resp.StatusCode)
		resp, _ = post(t, s, b)
		assert.Equal(t, 200, resp.StatusCode)
	}
	// Same content with keys in another order is the same request.
	resp, _ := post(t, s, `{"messages":[{"content":"What is 6*7?","role":"user"}],"model":"m"}`)
	assert.Equal(t, 200, resp.StatusCode)
	st := s.Stats()
	assert.Len(t, st.ByHash, 2)
	assert.EqualValues(t, 3, st.Repeats())
	assert.EqualValues(t, 1, st.AnsweredRepeats(), "the reordered copy was answered again")
}

func TestCountsInFlight(t *testing.T) {
	const n = 6
	var arrived sync.WaitGroup
	arrived.Add(n)
	release := make(chan struct{})
	s := New(Config{Answer: func(ctx context.Context, r Request) (Reply, error) {
		arrived.Done()
		<-release
		return Reply{Text: "ok"}, nil
	}})
	defer s.Close()
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := `{"model":"m","messages":[{"role":"user","content":"q` + strconv.Itoa(i) + `"}]}`
			resp, err := http.Post(s.BaseURL+"/chat/completions", "application/json", strings.NewReader(body))
			if err == nil {
				resp.Body.Close()
			}
		}()
	}
	arrived.Wait()
	close(release)
	wg.Wait()
	st := s.Stats()
	assert.EqualValues(t, n, st.MaxInFlight)
	assert.EqualValues(t, n, st.Answered)
	assert.Len(t, st.ByHash, n)
	assert.Zero(t, st.Repeats())
}

func TestServerSideCost(t *testing.T) {
	s := New(Config{Answer: func(context.Context, Request) (Reply, error) {
		return Reply{Text: "x", InputTokens: 1000, OutputTokens: 200}, nil
	}, Schedule: []Fault{ServerError}})
	defer s.Close()
	for range 3 {
		post(t, s, chatBody)
	}
	st := s.Stats()
	assert.EqualValues(t, 2000, st.InputTokens, "the faulted request is not billed")
	assert.EqualValues(t, 400, st.OutputTokens)
	assert.InDelta(t, 2000*2.0/1e6+400*8.0/1e6, st.Cost(providers.Price{InputPerM: 2, OutputPerM: 8}), 1e-12)
}

func TestTokensAreEstimatedWhenTheAnswerGivesNone(t *testing.T) {
	s := New(Config{})
	defer s.Close()
	post(t, s, chatBody)
	st := s.Stats()
	assert.EqualValues(t, (len("What is 6*7?")+3)/4, st.InputTokens)
	assert.EqualValues(t, (len(`The answer is \boxed{42}.`)+3)/4, st.OutputTokens)
}

func TestAnswersFromTheSimulator(t *testing.T) {
	p := dataset.Problem{ID: "robe", Question: "A robe takes 2 bolts of blue fiber and half that much white fiber. How many bolts in total does it take?",
		Solution: "It takes 2/2=1 bolt of white fiber\nSo the total amount of fabric is 2+1=3 bolts of fabric", Answer: "3"}
	solver := sim.New(sim.Strong(), p)
	s := New(Config{Answer: FromCompleter(solver)})
	defer s.Close()

	prefill := "It takes 2/2=1 bolt of white fiber\n"
	body, _ := json.Marshal(map[string]any{
		"model": "sim-strong", "seed": 3, "temperature": 0.7,
		"messages": []map[string]any{
			{"role": "user", "content": p.Question},
			{"role": "assistant", "content": prefill},
		},
		"continue_final_message": true, "add_generation_prompt": false,
	})
	resp, b := post(t, s, string(body))
	require.Equal(t, 200, resp.StatusCode, string(b))
	var out wireResponse
	require.NoError(t, json.Unmarshal(b, &out))
	want, err := solver.Complete(context.Background(), providers.Request{
		Messages: []providers.Message{{Role: "user", Content: p.Question}}, Prefill: prefill,
		Seed: providers.Int64(3), Temperature: providers.Float(0.7),
	})
	require.NoError(t, err)
	assert.Equal(t, want.Text, out.Choices[0].Message.Content, "the continuation only, as the simulator wrote it")
	assert.NotContains(t, out.Choices[0].Message.Content, "It takes 2/2=1")
	assert.Equal(t, want.Usage.InputTokens, out.Usage.PromptTokens)

	// An unknown question is a 500 naming the problem, counted as a failed
	// answer.
	resp, b = post(t, s, `{"model":"m","messages":[{"role":"user","content":"Who are you?"}]}`)
	assert.Equal(t, 500, resp.StatusCode)
	assert.Contains(t, string(b), "unknown problem")
	assert.EqualValues(t, 1, s.Stats().AnswerErrors)
}

func TestStreaming(t *testing.T) {
	text := strings.Repeat("step by step. ", 10) + `The answer is \boxed{42}.`
	s := New(Config{Answer: func(context.Context, Request) (Reply, error) { return Reply{Text: text}, nil },
		Schedule: []Fault{None, TruncatedJSON}})
	defer s.Close()
	cfg := openai.DefaultConfig("k")
	cfg.BaseURL = s.BaseURL
	c := openai.NewClientWithConfig(cfg)
	req := openai.ChatCompletionRequest{Model: "m", Stream: true,
		StreamOptions: &openai.StreamOptions{IncludeUsage: true},
		Messages:      []openai.ChatCompletionMessage{{Role: "user", Content: "q"}}}
	st, err := c.CreateChatCompletionStream(context.Background(), req)
	require.NoError(t, err)
	var got strings.Builder
	var usage *openai.Usage
	for {
		chunk, err := st.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		for _, ch := range chunk.Choices {
			got.WriteString(ch.Delta.Content)
		}
		if chunk.Usage != nil {
			usage = chunk.Usage
		}
	}
	st.Close()
	assert.Equal(t, text, got.String())
	require.NotNil(t, usage)
	assert.Equal(t, (len(text)+3)/4, usage.CompletionTokens)

	// The truncated stream stops half-way without [DONE].
	resp, body := post(t, s, `{"model":"m","stream":true,"messages":[{"role":"user","content":"q"}]}`)
	assert.Equal(t, 200, resp.StatusCode)
	assert.NotContains(t, string(body), "[DONE]")
	var partial strings.Builder
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			var ch wireResponse
			require.NoError(t, json.Unmarshal([]byte(d), &ch))
			if ch.Choices[0].Delta != nil {
				partial.WriteString(ch.Choices[0].Delta.Content)
			}
		}
	}
	assert.True(t, strings.HasPrefix(text, partial.String()))
	assert.Less(t, partial.Len(), len(text))
	assert.EqualValues(t, 1, s.Stats().Answered)
}

func TestBadRequestsNameTheField(t *testing.T) {
	s := New(Config{})
	defer s.Close()
	for body, want := range map[string]string{
		`not json`:                       "not a chat-completions JSON object",
		`{"messages":[{"role":"user"}]}`: `field \"model\": missing`,
		`{"model":"m","messages":[]}`:    `field \"messages\": missing or empty`,
		`{"model":"m","messages":[{"role":"x","content":"a"}]}`:             `field \"messages[0].role\": unknown role`,
		`{"model":"m","messages":[{"role":"user","content":5}]}`:            `field \"messages[0].content\"`,
		`{"model":"m","stop":5,"messages":[{"role":"user","content":"a"}]}`: `field \"stop\"`,
	} {
		resp, b := post(t, s, body)
		assert.Equal(t, 400, resp.StatusCode, body)
		assert.Contains(t, string(b), want, body)
	}
	resp, err := http.Get(s.BaseURL + "/chat/completions")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 405, resp.StatusCode)
	resp, err = http.Get(s.URL + "/v1/embeddings")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 404, resp.StatusCode)
}

func TestAPIKeyIsCheckedAndNeverEchoed(t *testing.T) {
	const key = "sk-canary-7f3a9e"
	s := New(Config{APIKey: key})
	defer s.Close()
	for _, k := range []string{"", "sk-wrong"} {
		req, _ := http.NewRequest(http.MethodPost, s.BaseURL+"/chat/completions", strings.NewReader(chatBody))
		if k != "" {
			req.Header.Set("Authorization", "Bearer "+k)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, 401, resp.StatusCode)
		assert.NotContains(t, string(b), "sk-")
	}
	cfg := openai.DefaultConfig(key)
	cfg.BaseURL = s.BaseURL
	_, err := openai.NewClientWithConfig(cfg).CreateChatCompletion(context.Background(), openai.ChatCompletionRequest{
		Model: "m", Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "q"}}})
	require.NoError(t, err)
}

func TestContentPartsAndStopForms(t *testing.T) {
	var got Request
	s := New(Config{Answer: func(_ context.Context, r Request) (Reply, error) { got = r; return Reply{Text: "ok"}, nil }})
	defer s.Close()
	resp, b := post(t, s, `{"model":"m","max_completion_tokens":9,"max_tokens":3,"stop":"\n\n","seed":4,"temperature":0,
		"messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url"},{"type":"text","text":"b"}]},
		{"role":"assistant","content":"pre","prefix":true}]}`)
	require.Equal(t, 200, resp.StatusCode, string(b))
	assert.Equal(t, "ab", got.Messages[0].Content)
	assert.Equal(t, 9, got.MaxTokens, "max_completion_tokens wins")
	assert.Equal(t, []string{"\n\n"}, got.Stop)
	require.NotNil(t, got.Temperature)
	assert.Zero(t, *got.Temperature, "temperature 0 is sent")
	assert.EqualValues(t, 4, *got.Seed)
	assert.True(t, got.PrefixFlag)
	assert.False(t, got.ContinueFinal)
}

func TestTPMCeiling(t *testing.T) {
	// 600 tokens per minute: a bucket of 10 tokens refilled at 10 per second.
	s := New(Config{TPM: 600})
	defer s.Close()
	// "What is 6*7?" is 3 tokens; with max_tokens 5 a request costs 8.
	body := `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"What is 6*7?"}]}`
	resp, _ := post(t, s, body)
	require.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, "600", resp.Header.Get("x-ratelimit-limit-tokens"))
	resp, b := post(t, s, body)
	require.Equal(t, 429, resp.StatusCode)
	assert.Contains(t, string(b), `"type":"tokens"`)
	assert.Equal(t, "0", resp.Header.Get("x-ratelimit-remaining-tokens"))
	ms, err := strconv.Atoi(resp.Header.Get("retry-after-ms"))
	require.NoError(t, err)
	assert.True(t, ms > 0 && ms <= 800, "retry-after-ms %d: 8 tokens at 10/s", ms)
	assert.EqualValues(t, 1, s.Stats().RateLimited)
	// After the advised wait the request goes through.
	time.Sleep(time.Duration(ms) * time.Millisecond)
	resp, _ = post(t, s, body)
	assert.Equal(t, 200, resp.StatusCode)
}

func TestSlowFault(t *testing.T) {
	s := New(Config{Schedule: []Fault{Slow}, SlowLatency: 60 * time.Millisecond})
	defer s.Close()
	start := time.Now()
	resp, _ := post(t, s, chatBody)
	assert.Equal(t, 200, resp.StatusCode)
	assert.GreaterOrEqual(t, time.Since(start), 60*time.Millisecond)
	assert.EqualValues(t, 1, s.Stats().ByFault[Slow])
	assert.EqualValues(t, 1, s.Stats().Answered)
}
