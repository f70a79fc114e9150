package openai

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/internal/faultserver"
	"github.com/rebound-lab/rebound/providers"
)

// The batch wire format is checked against openai/openai-openapi
// openapi.yaml (schemas BatchRequestInput {custom_id, method, url, body},
// Batch {id, status, input_file_id, output_file_id, error_file_id,
// request_counts {total, completed, failed}, errors, metadata},
// BatchRequestOutput {id, custom_id, response {status_code, request_id,
// body}, error {code, message}}; paths /files (multipart, purpose "batch"),
// /batches, /batches/{batch_id}, /batches/{batch_id}/cancel,
// /files/{file_id}/content). internal/faultserver.BatchServer implements it.

// rawRecorder answers chat completions and keeps every raw body.
type rawRecorder struct {
	mu     sync.Mutex
	bodies [][]byte
}

func (r *rawRecorder) server(t *testing.T) *httptest.Server {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.bodies = append(r.bodies, b)
		r.mu.Unlock()
		writeJSON(w, 200, chatShape("openai", "m", "fine"))
	}))
	t.Cleanup(s.Close)
	return s
}

func TestBatchBodyIsTheLiveBodyByteForByteInEveryDialect(t *testing.T) {
	rec := &rawRecorder{}
	srv := rec.server(t)
	temp0 := providers.Float(0)
	msgs := []providers.Message{{Role: "system", Content: "Be brief."}, {Role: "user", Content: "What is 6 × 7? \"quote\" <tag>"}}
	cases := []struct {
		preset  string
		dialect providers.PrefillMethod
		req     providers.Request
	}{
		{"openai", "", providers.Request{Model: "gpt-4o-mini", Messages: msgs, Temperature: temp0, MaxTokens: 50, Seed: providers.Int64(7)}},
		{"openai", "", providers.Request{Model: "gpt-4o-mini", Messages: msgs, Prefill: "Step 1: ", PrefillMethod: providers.PrefillInstructed}},
		{"together", "", providers.Request{Model: "meta-llama/x", Messages: msgs, Prefill: "Step 1: 6 × 7", TopP: providers.Float(0.9), Stop: []string{"\n\n"}}},
		{GenericName, providers.PrefillContinueFinal, providers.Request{Model: "m", Messages: msgs, Prefill: "Step 1:"}},
		{GenericName, providers.PrefillPrefixFlag, providers.Request{Model: "m", Messages: msgs, Prefill: "Step 1:", Extra: map[string]any{"top_k": 5}}},
	}
	for _, tc := range cases {
		t.Run(tc.preset+"/"+string(tc.dialect), func(t *testing.T) {
			c, err := New("m", Options{Preset: tc.preset, BaseURL: srv.URL + "/v1", APIKey: "k", Dialect: tc.dialect})
			require.NoError(t, err)
			rec.mu.Lock()
			n := len(rec.bodies)
			rec.mu.Unlock()
			_, err = c.Complete(context.Background(), tc.req)
			require.NoError(t, err)
			path, body, err := c.BatchBody(context.Background(), tc.req)
			require.NoError(t, err)
			rec.mu.Lock()
			live := rec.bodies[n]
			rec.mu.Unlock()
			assert.Equal(t, string(live), string(body), "the batch line's body is the live body")
			assert.Equal(t, "/v1/chat/completions", path)
		})
	}
}

func batchClient(t *testing.T, s *faultserver.BatchServer) *Client {
	t.Setenv("OPENAI_COMPATIBLE_BATCH", "1")
	c, err := New("m", Options{Preset: GenericName, BaseURL: s.BaseURL, APIKey: "k"})
	require.NoError(t, err)
	return c
}

func items(n int) []providers.BatchItem {
	out := make([]providers.BatchItem, n)
	for i := range out {
		out[i] = providers.BatchItem{CustomID: "rb-" + strings.Repeat(string(rune('a'+i)), 4),
			Request: providers.Request{Model: "m", Messages: []providers.Message{{Role: "user", Content: "q" + string(rune('a'+i))}}, Temperature: providers.Float(0)}}
	}
	return out
}

func waitEnded(t *testing.T, c *Client, id string) providers.BatchStatus {
	t.Helper()
	for range 200 {
		st, err := c.PollBatch(context.Background(), id)
		require.NoError(t, err)
		if st.State != providers.BatchRunning {
			return st
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("batch never ended")
	return providers.BatchStatus{}
}

func TestOpenAIBatchLinesEqualLiveAnswersWithPartialFailuresAndExpiry(t *testing.T) {
	answer := func(ctx context.Context, r faultserver.Request) (faultserver.Reply, error) {
		q := r.Messages[len(r.Messages)-1].Content
		if q == "qc" {
			return faultserver.Reply{}, errors.New("engine fell over")
		}
		return faultserver.Reply{Text: "answer to " + q, InputTokens: 11, OutputTokens: 5}, nil
	}
	s := faultserver.NewBatchServer(faultserver.Config{Answer: answer}, faultserver.BatchConfig{Delay: 20 * time.Millisecond,
		Expire: func(n int64, customID string) bool { return customID == "rb-bbbb" }})
	t.Cleanup(s.Close)
	c := batchClient(t, s)
	ctx := context.Background()
	its := items(4)
	id, err := c.SubmitBatch(ctx, "tok-1", its)
	require.NoError(t, err)
	found, ok, err := c.FindBatch(ctx, providers.BatchRecord{Token: "tok-1"})
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, id, found, "a batch is found by its token in metadata")
	_, ok, _ = c.FindBatch(ctx, providers.BatchRecord{Token: "tok-2"})
	assert.False(t, ok)

	st := waitEnded(t, c, id)
	assert.Equal(t, providers.BatchEnded, st.State)
	assert.Equal(t, 4, st.Total)
	assert.Equal(t, 2, st.Succeeded)
	assert.Equal(t, 2, st.Failed)
	lines, err := c.BatchResults(ctx, id, its)
	require.NoError(t, err)
	require.Len(t, lines, 4)
	byID := map[string]providers.BatchLine{}
	for _, l := range lines {
		byID[l.CustomID] = l
	}
	live, err := c.Complete(ctx, its[0].Request)
	require.NoError(t, err)
	a := byID["rb-aaaa"]
	require.NoError(t, a.Err)
	assert.Equal(t, live.Text, a.Completion.Text, "a batch line decodes as the live answer does")
	assert.Equal(t, live.Usage, a.Completion.Usage)
	assert.Equal(t, "answer to qd", byID["rb-dddd"].Completion.Text)
	assert.ErrorIs(t, byID["rb-bbbb"].Err, providers.ErrBatchExpired, "an expired line is marked for a later batch")
	var apiErr *providers.APIError
	require.ErrorAs(t, byID["rb-cccc"].Err, &apiErr, "a failed line is the live path's API error")
	assert.Equal(t, 500, apiErr.StatusCode)
	assert.True(t, providers.IsRetryable(byID["rb-cccc"].Err))
	bs := s.BatchStats()
	assert.EqualValues(t, 1, bs.Files)
	assert.EqualValues(t, 4, bs.Lines)
}

func TestOpenAIBatchValidationFailureAndCancellation(t *testing.T) {
	s := faultserver.NewBatchServer(faultserver.Config{}, faultserver.BatchConfig{Delay: time.Hour,
		Fail: func(n int) string {
			if n == 1 {
				return "line 1: model not found"
			}
			return ""
		}})
	t.Cleanup(s.Close)
	c := batchClient(t, s)
	ctx := context.Background()
	id, err := c.SubmitBatch(ctx, "t", items(2))
	require.NoError(t, err)
	st, err := c.PollBatch(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, providers.BatchFailed, st.State)
	assert.Contains(t, st.Message, "model not found", "the provider's validation message is kept")

	its := items(3)
	id, err = c.SubmitBatch(ctx, "t2", its)
	require.NoError(t, err)
	st, err = c.PollBatch(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, providers.BatchRunning, st.State, "a batch runs until its window (an hour here)")
	require.NoError(t, c.CancelBatch(ctx, id))
	st = waitEnded(t, c, id)
	assert.Equal(t, providers.BatchEnded, st.State)
	lines, err := c.BatchResults(ctx, id, its)
	require.NoError(t, err)
	require.Len(t, lines, 3)
	for _, l := range lines {
		assert.ErrorIs(t, l.Err, providers.ErrBatchExpired, "cancelled lines are retried later, not answered")
	}
	_, err = c.PollBatch(ctx, "batch_nope")
	var apiErr *providers.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, 404, apiErr.StatusCode)
}

func TestBatchSupportIsOptInForCompatibleServersAndAbsentForFireworks(t *testing.T) {
	for _, p := range []string{"openai", "groq", "together"} {
		c, err := New("m", Options{Preset: p, APIKey: "k"})
		require.NoError(t, err)
		assert.NoError(t, c.BatchSupport(), p)
	}
	c, err := New("m", Options{Preset: "fireworks", APIKey: "k"})
	require.NoError(t, err)
	err = c.BatchSupport()
	assert.ErrorIs(t, err, providers.ErrNoBatchAPI)
	assert.Contains(t, err.Error(), "fireworks")
	_, err = providers.BatchAPIOf(c)
	assert.ErrorIs(t, err, providers.ErrNoBatchAPI, "BatchAPIOf asks the adapter")

	t.Setenv("OPENAI_COMPATIBLE_BATCH", "")
	c, err = New("m", Options{Preset: GenericName, BaseURL: "http://127.0.0.1:1/v1"})
	require.NoError(t, err)
	assert.ErrorIs(t, c.BatchSupport(), providers.ErrNoBatchAPI)
	t.Setenv("OPENAI_COMPATIBLE_BATCH", "1")
	assert.NoError(t, c.BatchSupport())
}

func TestTheUploadedFileIsMultipartJSONLOfLiveBodies(t *testing.T) {
	var upload []byte
	var purpose string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/files":
			require.NoError(t, r.ParseMultipartForm(1<<20))
			purpose = r.FormValue("purpose")
			f, _, err := r.FormFile("file")
			require.NoError(t, err)
			upload, _ = io.ReadAll(f)
			writeJSON(w, 200, `{"id":"file-abc","object":"file","bytes":1,"created_at":1,"filename":"x.jsonl","purpose":"batch-api"}`)
		case "/v1/batches":
			// Together wraps the batch in "job" and capitalises the status.
			writeJSON(w, 200, `{"job":{"id":"b-1","status":"IN_PROGRESS","input_file_id":"file-abc"}}`)
		}
	}))
	t.Cleanup(srv.Close)
	c, err := New("m", Options{Preset: "together", BaseURL: srv.URL + "/v1", APIKey: "k"})
	require.NoError(t, err)
	its := items(2)
	its[1].Request.Prefill = "Step 1:"
	id, err := c.SubmitBatch(context.Background(), "t", its)
	require.NoError(t, err)
	assert.Equal(t, "b-1", id)
	assert.Equal(t, "batch-api", purpose, "Together's file purpose")
	lines := bytes.Split(bytes.TrimSpace(upload), []byte("\n"))
	require.Len(t, lines, 2)
	for i, l := range lines {
		_, body, err := c.BatchBody(context.Background(), its[i].Request)
		require.NoError(t, err)
		want := `{"custom_id":"` + its[i].CustomID + `","method":"POST","url":"/v1/chat/completions","body":` + string(body) + `}`
		assert.Equal(t, want, string(l))
	}
}

func FuzzParseBatchOutput(f *testing.F) {
	f.Add([]byte(`{"id":"batch_req_1","custom_id":"request-2","response":{"status_code":200,"request_id":"req_c187b3","body":{"id":"chatcmpl-9758Iw","object":"chat.completion","choices":[]}},"error":null}` + "\n"))
	f.Add([]byte(`{"id":"batch_req_2","custom_id":"r","response":null,"error":{"code":"batch_expired","message":"expired"}}`))
	f.Add([]byte("\n\n{\"custom_id\":\"\"}\n"))
	f.Add([]byte(`{"custom_id":"x","response":{"status_code":"200"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		lines, err := parseBatchOutput(data)
		if err != nil {
			return
		}
		for _, l := range lines {
			if l.CustomID == "" {
				t.Fatal("a line without a custom_id was accepted")
			}
		}
	})
}
