package anthropic

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/providers"
)

// messageBatchServer speaks the Message Batches API as
// anthropics/anthropic-sdk-go messagebatch.go describes it: POST
// /v1/messages/batches {"requests": [{"custom_id", "params"}]} → a
// MessageBatch {id, type "message_batch", processing_status in_progress |
// canceling | ended, request_counts {processing, succeeded, errored,
// canceled, expired}, results_url}; GET .../{id}; POST .../{id}/cancel;
// GET .../{id}/results → JSONL of MessageBatchIndividualResponse
// {custom_id, result {type succeeded + message | errored + error | canceled
// | expired}}. A batch ends after polls GETs; outcome decides each line.
type messageBatchServer struct {
	*httptest.Server
	polls   int
	outcome func(customID string, params map[string]any) string // "succeeded", "errored:<type>", "canceled", "expired"

	mu      sync.Mutex
	batches map[string]*mbatch
	params  map[string][]byte // raw params by custom_id
	n       int
}

type mbatch struct {
	created  time.Time
	reqs     []batchRequest
	gets     int
	canceled bool
}

func newMessageBatchServer(t *testing.T, polls int, outcome func(string, map[string]any) string) *messageBatchServer {
	s := &messageBatchServer{polls: polls, outcome: outcome, batches: map[string]*mbatch{}, params: map[string][]byte{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *messageBatchServer) obj(id string, b *mbatch) map[string]any {
	counts := map[string]int{"processing": len(b.reqs), "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
	status := "in_progress"
	var results any
	if b.canceled {
		status = "canceling"
	}
	if b.gets >= s.polls || b.canceled && b.gets > 0 {
		status = "ended"
		counts["processing"] = 0
		for _, r := range b.reqs {
			kind, _, _ := strings.Cut(s.result(b, r), ":")
			counts[kind]++
		}
		results = s.URL + "/v1/messages/batches/" + id + "/results"
	}
	return map[string]any{"id": id, "type": "message_batch", "processing_status": status, "request_counts": counts,
		"created_at": b.created.UTC().Format(time.RFC3339), "expires_at": "2026-11-28T10:00:00Z", "ended_at": nil, "archived_at": nil,
		"cancel_initiated_at": nil, "results_url": results}
}

func (s *messageBatchServer) result(b *mbatch, r batchRequest) string {
	if b.canceled {
		return "canceled"
	}
	var p map[string]any
	_ = json.Unmarshal(r.Params, &p)
	return s.outcome(r.CustomID, p)
}

func (s *messageBatchServer) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.Header.Get("x-api-key") != "k" || r.Header.Get("anthropic-version") == "" {
		writeJSON(w, 401, nil, errShape("authentication_error", "invalid x-api-key"))
		return
	}
	path := strings.TrimPrefix(r.URL.Path, "/v1/messages/batches")
	switch {
	case path == "" && r.Method == http.MethodPost:
		var body struct {
			Requests []batchRequest `json:"requests"`
		}
		raw, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(raw, &body); err != nil || len(body.Requests) == 0 {
			writeJSON(w, 400, nil, errShape("invalid_request_error", "requests: field required"))
			return
		}
		for _, q := range body.Requests {
			if q.CustomID == "" || len(q.CustomID) > 64 {
				writeJSON(w, 400, nil, errShape("invalid_request_error", "requests.0.custom_id: String should match pattern '^[a-zA-Z0-9_-]{1,64}$'"))
				return
			}
			s.params[q.CustomID] = q.Params
		}
		s.n++
		id := fmt.Sprintf("msgbatch_%02d", s.n)
		s.batches[id] = &mbatch{reqs: body.Requests, created: time.Now()}
		b, _ := json.Marshal(s.obj(id, s.batches[id]))
		writeJSON(w, 200, nil, string(b))
	case path == "" && r.Method == http.MethodGet:
		var data []map[string]any
		for i := s.n; i >= 1; i-- {
			id := fmt.Sprintf("msgbatch_%02d", i)
			data = append(data, s.obj(id, s.batches[id]))
		}
		o, _ := json.Marshal(map[string]any{"data": data, "has_more": false})
		writeJSON(w, 200, nil, string(o))
	case strings.HasSuffix(path, "/results"):
		id := strings.TrimSuffix(strings.TrimPrefix(path, "/"), "/results")
		b := s.batches[id]
		var out bytes.Buffer
		for _, q := range b.reqs {
			res := map[string]any{}
			kind, typ, _ := strings.Cut(s.result(b, q), ":")
			res["type"] = kind
			switch kind {
			case "succeeded":
				var m map[string]any
				_ = json.Unmarshal([]byte(messageShape("claude-x", "the answer is 42")), &m)
				res["message"] = m
			case "errored":
				var e map[string]any
				_ = json.Unmarshal([]byte(errShape(typ, "line failed")), &e)
				res["error"] = e
			}
			line, _ := json.Marshal(map[string]any{"custom_id": q.CustomID, "result": res})
			out.Write(line)
			out.WriteByte('\n')
		}
		w.Header().Set("Content-Type", "application/binary")
		_, _ = w.Write(out.Bytes())
	case strings.HasSuffix(path, "/cancel") && r.Method == http.MethodPost:
		id := strings.TrimSuffix(strings.TrimPrefix(path, "/"), "/cancel")
		b := s.batches[id]
		b.canceled = true
		o, _ := json.Marshal(s.obj(id, b))
		writeJSON(w, 200, nil, string(o))
	case r.Method == http.MethodGet:
		id := strings.TrimPrefix(path, "/")
		b, ok := s.batches[id]
		if !ok {
			writeJSON(w, 404, nil, errShape("not_found_error", "no such batch"))
			return
		}
		b.gets++
		o, _ := json.Marshal(s.obj(id, b))
		writeJSON(w, 200, nil, string(o))
	}
}

func TestMessageBatchLinesAreTheLiveBodiesAndDecodeLikeLiveAnswers(t *testing.T) {
	srv := newMessageBatchServer(t, 2, func(id string, _ map[string]any) string {
		switch id {
		case "rb-err":
			return "errored:invalid_request_error"
		case "rb-over":
			return "errored:overloaded_error"
		case "rb-exp":
			return "expired"
		}
		return "succeeded"
	})
	c, err := New("claude-x", Options{BaseURL: srv.URL, APIKey: "k"})
	require.NoError(t, err)
	ctx := context.Background()
	prefill := "Step 1: 6 × 7 = 42.\n"
	its := []providers.BatchItem{
		{CustomID: "rb-ok", Request: providers.Request{Messages: []providers.Message{{Role: "system", Content: "Be brief."}, {Role: "user", Content: "6 × 7?"}}, Prefill: prefill, Temperature: providers.Float(0)}},
		{CustomID: "rb-err", Request: providers.Request{Messages: []providers.Message{{Role: "user", Content: "a"}}}},
		{CustomID: "rb-over", Request: providers.Request{Messages: []providers.Message{{Role: "user", Content: "b"}}}},
		{CustomID: "rb-exp", Request: providers.Request{Messages: []providers.Message{{Role: "user", Content: "c"}}, MaxTokens: 99}},
	}
	id, err := c.SubmitBatch(ctx, "tok", its)
	require.NoError(t, err)
	for _, it := range its {
		want, err := c.BatchBody(ctx, it.Request)
		require.NoError(t, err)
		assert.JSONEq(t, string(want), string(srv.params[it.CustomID]), "params are the live body")
	}
	st, err := c.PollBatch(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, providers.BatchRunning, st.State)
	st, err = c.PollBatch(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, providers.BatchEnded, st.State)
	assert.Equal(t, 4, st.Total)
	assert.Equal(t, 1, st.Succeeded)
	lines, err := c.BatchResults(ctx, id, its)
	require.NoError(t, err)
	got := map[string]providers.BatchLine{}
	for _, l := range lines {
		got[l.CustomID] = l
	}
	require.NoError(t, got["rb-ok"].Err)
	assert.Equal(t, "the answer is 42", got["rb-ok"].Completion.Text)
	assert.Equal(t, providers.PrefillAssistantMessage, got["rb-ok"].Completion.PrefillMethod)
	assert.Equal(t, "anthropic", got["rb-ok"].Completion.Provider)
	var apiErr *providers.APIError
	require.ErrorAs(t, got["rb-err"].Err, &apiErr)
	assert.Equal(t, 400, apiErr.StatusCode)
	assert.False(t, providers.IsRetryable(got["rb-err"].Err), "an invalid request is permanent")
	require.ErrorAs(t, got["rb-over"].Err, &apiErr)
	assert.Equal(t, 529, apiErr.StatusCode)
	assert.True(t, providers.IsRetryable(got["rb-over"].Err), "overloaded is worth another batch")
	assert.ErrorIs(t, got["rb-exp"].Err, providers.ErrBatchExpired)
}

func TestMessageBatchParamsAreByteForByteTheLiveBody(t *testing.T) {
	var live []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		live, _ = io.ReadAll(r.Body)
		writeJSON(w, 200, nil, messageShape("claude-x", "ok"))
	}))
	t.Cleanup(srv.Close)
	c, err := New("claude-x", Options{BaseURL: srv.URL, APIKey: "k"})
	require.NoError(t, err)
	req := providers.Request{Messages: []providers.Message{{Role: "system", Content: "S"}, {Role: "user", Content: "<q> & \"x\""}},
		Prefill: "Step 1:  ", Stop: []string{"\n\n"}, TopP: providers.Float(0.5), Extra: map[string]any{"top_k": 3}}
	_, err = c.Complete(context.Background(), req)
	require.NoError(t, err)
	body, err := c.BatchBody(context.Background(), req)
	require.NoError(t, err)
	assert.Equal(t, string(live), string(body))
}

func TestMessageBatchCancellationCancelsEveryLine(t *testing.T) {
	srv := newMessageBatchServer(t, 100, func(string, map[string]any) string { return "succeeded" })
	c, err := New("claude-x", Options{BaseURL: srv.URL, APIKey: "k"})
	require.NoError(t, err)
	ctx := context.Background()
	its := []providers.BatchItem{{CustomID: "rb-1", Request: providers.Request{Messages: []providers.Message{{Role: "user", Content: "a"}}}}}
	id, err := c.SubmitBatch(ctx, "t", its)
	require.NoError(t, err)
	require.NoError(t, c.CancelBatch(ctx, id))
	st, err := c.PollBatch(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, providers.BatchEnded, st.State)
	lines, err := c.BatchResults(ctx, id, its)
	require.NoError(t, err)
	require.Len(t, lines, 1)
	assert.ErrorIs(t, lines[0].Err, providers.ErrBatchExpired)

	_, err = c.SubmitBatch(ctx, "t", []providers.BatchItem{{CustomID: strings.Repeat("x", 65), Request: its[0].Request}})
	var apiErr *providers.APIError
	require.ErrorAs(t, err, &apiErr, "a validation error is the API's error")
	assert.Equal(t, 400, apiErr.StatusCode)
}

func FuzzParseResults(f *testing.F) {
	f.Add([]byte(`{"custom_id":"a","result":{"type":"succeeded","message":{"type":"message","content":[]}}}` + "\n"))
	f.Add([]byte(`{"custom_id":"a","result":{"type":"errored","error":{"type":"error","error":{"type":"api_error","message":"x"}}}}`))
	f.Add([]byte(`{"custom_id":"b","result":{"type":"expired"}}` + "\n\n" + `{"custom_id":"c","result":{"type":"canceled"}}`))
	f.Add([]byte(`{"custom_id":"","result":{}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		lines, err := parseResults(data)
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

func TestFindBatchRecognisesAnUnjournaledBatchByTimeAndSize(t *testing.T) {
	srv := newMessageBatchServer(t, 100, func(string, map[string]any) string { return "succeeded" })
	c, err := New("claude-x", Options{BaseURL: srv.URL, APIKey: "k"})
	require.NoError(t, err)
	ctx := context.Background()
	req := providers.Request{Messages: []providers.Message{{Role: "user", Content: "a"}}}
	rec := providers.BatchRecord{Token: "t", Created: time.Now(), Lines: make([]providers.BatchLineRecord, 2)}
	_, found, err := c.FindBatch(ctx, rec)
	require.NoError(t, err)
	assert.False(t, found, "nothing submitted yet")
	id, err := c.SubmitBatch(ctx, "t", []providers.BatchItem{{CustomID: "a", Request: req}, {CustomID: "b", Request: req}})
	require.NoError(t, err)
	_, err = c.SubmitBatch(ctx, "u", []providers.BatchItem{{CustomID: "c", Request: req}})
	require.NoError(t, err)
	got, found, err := c.FindBatch(ctx, rec)
	require.NoError(t, err)
	require.True(t, found)
	assert.Equal(t, id, got, "the batch of the record's size, created after it was journaled")
	_, err = c.SubmitBatch(ctx, "v", []providers.BatchItem{{CustomID: "d", Request: req}, {CustomID: "e", Request: req}})
	require.NoError(t, err)
	_, found, err = c.FindBatch(ctx, rec)
	require.NoError(t, err)
	assert.False(t, found, "two candidates: the journal cannot tell, so not found")
	old := rec
	old.Created = time.Now().Add(-time.Hour)
	_, found, _ = c.FindBatch(ctx, old)
	assert.False(t, found, "batches created long after the record are not it")
}
