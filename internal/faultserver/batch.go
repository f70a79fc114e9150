package faultserver

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rebound-lab/rebound/providers"
)

// BatchConfig configures the OpenAI batch API of NewBatchServer.
type BatchConfig struct {
	// Delay is how long a batch stays in_progress before it completes.
	Delay time.Duration
	// Expire, if set, decides which lines expire (error code batch_expired,
	// in the error file) instead of being answered: n is the line's
	// arrival number over all batches, 0-based.
	Expire func(n int64, customID string) bool
	// Fail, if set, rejects a whole batch with status failed (validation)
	// when it returns a non-empty message.
	Fail func(batch int) string
}

// BatchStats counts the batch API's work server-side.
type BatchStats struct {
	// Files counts uploads; Batches batches created; Lines request lines
	// received; Answered lines answered (billed); Expired lines expired.
	Files, Batches, Lines, Answered, Expired int64
	// ByHash counts lines by request content hash (Request.Hash, the same
	// hash the live endpoint counts): above 1 means a request was submitted
	// twice.
	ByHash map[string]int64
	// InputTokens and OutputTokens sum the usage of answered lines.
	InputTokens, OutputTokens int64
}

// BatchServer is a Server that also speaks OpenAI's batch API:
// POST /v1/files (multipart, purpose "batch"), GET /v1/files/{id}/content,
// POST /v1/batches, GET /v1/batches/{id}, GET /v1/batches (list),
// POST /v1/batches/{id}/cancel. Lines are answered by the same AnswerFunc
// as the live endpoint, so a batch run and a live run get the same answers.
type BatchServer struct {
	*Server
	h   *Handler
	cfg BatchConfig

	mu      sync.Mutex
	files   map[string][]byte
	batches map[string]*fakeBatch
	order   []string
	stats   BatchStats
	arrived int64
}

type fakeBatch struct {
	obj       map[string]any
	input     []byte
	created   time.Time
	done      bool
	cancelled bool
}

// NewBatchServer starts a server answering live and batch requests.
func NewBatchServer(cfg Config, bcfg BatchConfig) *BatchServer {
	h := NewHandler(cfg)
	bs := &BatchServer{h: h, cfg: bcfg, files: map[string][]byte{}, batches: map[string]*fakeBatch{}}
	bs.stats.ByHash = map[string]int64{}
	ts := httptest.NewServer(bs)
	bs.Server = &Server{URL: ts.URL, BaseURL: ts.URL + "/v1", ts: ts, h: h}
	return bs
}

// BatchStats returns a snapshot of the batch counters.
func (s *BatchServer) BatchStats() BatchStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.ByHash = map[string]int64{}
	for k, v := range s.stats.ByHash {
		st.ByHash[k] = v
	}
	return st
}

// ServeHTTP serves the batch endpoints and hands everything else to the
// fault-injecting Handler.
func (s *BatchServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimSuffix(r.URL.Path, "/")
	switch {
	case path == "/v1/files" && r.Method == http.MethodPost:
		s.upload(w, r)
	case strings.HasPrefix(path, "/v1/files/") && strings.HasSuffix(path, "/content") && r.Method == http.MethodGet:
		s.content(w, strings.TrimSuffix(strings.TrimPrefix(path, "/v1/files/"), "/content"))
	case path == "/v1/batches" && r.Method == http.MethodPost:
		s.create(w, r)
	case path == "/v1/batches" && r.Method == http.MethodGet:
		s.list(w)
	case strings.HasPrefix(path, "/v1/batches/") && strings.HasSuffix(path, "/cancel") && r.Method == http.MethodPost:
		s.cancel(w, strings.TrimSuffix(strings.TrimPrefix(path, "/v1/batches/"), "/cancel"))
	case strings.HasPrefix(path, "/v1/batches/") && r.Method == http.MethodGet:
		s.get(w, strings.TrimPrefix(path, "/v1/batches/"))
	default:
		s.h.ServeHTTP(w, r)
	}
}

func (s *BatchServer) fail(w http.ResponseWriter, status int, msg string) {
	s.h.writeError(w, status, "invalid_request_error", "", msg, 0)
}

func (s *BatchServer) json(w http.ResponseWriter, v any) {
	b, _ := json.Marshal(v)
	s.h.write(w, http.StatusOK, "application/json", b)
}

func (s *BatchServer) upload(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseMultipartForm(64 << 20); err != nil {
		s.fail(w, http.StatusBadRequest, "expected multipart/form-data: "+err.Error())
		return
	}
	if p := r.FormValue("purpose"); p != "batch" {
		s.fail(w, http.StatusBadRequest, fmt.Sprintf("'purpose' must be 'batch', got %q", p))
		return
	}
	f, hdr, err := r.FormFile("file")
	if err != nil {
		s.fail(w, http.StatusBadRequest, "missing 'file' part")
		return
	}
	data, _ := io.ReadAll(f)
	f.Close()
	s.mu.Lock()
	s.stats.Files++
	id := "file-" + strconv.FormatInt(s.stats.Files, 10)
	s.files[id] = data
	s.mu.Unlock()
	s.json(w, map[string]any{"id": id, "object": "file", "bytes": len(data), "created_at": time.Now().Unix(),
		"filename": hdr.Filename, "purpose": "batch", "status": "processed"})
}

func (s *BatchServer) content(w http.ResponseWriter, id string) {
	s.mu.Lock()
	data, ok := s.files[id]
	s.mu.Unlock()
	if !ok {
		s.fail(w, http.StatusNotFound, "No such File object: "+id)
		return
	}
	s.h.write(w, http.StatusOK, "application/octet-stream", data)
}

func (s *BatchServer) create(w http.ResponseWriter, r *http.Request) {
	var req struct {
		InputFileID      string            `json:"input_file_id"`
		Endpoint         string            `json:"endpoint"`
		CompletionWindow string            `json:"completion_window"`
		Metadata         map[string]string `json:"metadata"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		s.fail(w, http.StatusBadRequest, "body is not JSON")
		return
	}
	switch {
	case req.Endpoint != "/v1/chat/completions":
		s.fail(w, http.StatusBadRequest, "endpoint must be /v1/chat/completions")
		return
	case req.CompletionWindow != "24h":
		s.fail(w, http.StatusBadRequest, "completion_window must be 24h")
		return
	}
	s.mu.Lock()
	input, ok := s.files[req.InputFileID]
	if !ok {
		s.mu.Unlock()
		s.fail(w, http.StatusBadRequest, "No such File object: "+req.InputFileID)
		return
	}
	s.stats.Batches++
	n := int(s.stats.Batches)
	id := "batch_" + strconv.Itoa(n)
	obj := map[string]any{"id": id, "object": "batch", "endpoint": req.Endpoint, "input_file_id": req.InputFileID,
		"completion_window": "24h", "status": "validating", "created_at": time.Now().Unix(), "metadata": req.Metadata,
		"output_file_id": nil, "error_file_id": nil, "errors": nil,
		"request_counts": map[string]int{"total": 0, "completed": 0, "failed": 0}}
	fb := &fakeBatch{obj: obj, input: input, created: time.Now()}
	s.batches[id] = fb
	s.order = append(s.order, id)
	// Validate now, as OpenAI does before in_progress.
	msg := ""
	if s.cfg.Fail != nil {
		msg = s.cfg.Fail(n)
	}
	lines := strings.Split(strings.TrimSpace(string(input)), "\n")
	seen := map[string]bool{}
	for i, l := range lines {
		var in struct {
			CustomID string          `json:"custom_id"`
			Method   string          `json:"method"`
			URL      string          `json:"url"`
			Body     json.RawMessage `json:"body"`
		}
		if err := json.Unmarshal([]byte(l), &in); err != nil || in.CustomID == "" || in.Method != "POST" || in.URL != req.Endpoint || seen[in.CustomID] {
			msg = fmt.Sprintf("line %d: invalid batch request (custom_id, method POST, url %s and a body are required; custom_id unique)", i+1, req.Endpoint)
			break
		}
		seen[in.CustomID] = true
		if _, err := decodeRequest(in.Body); err != nil {
			msg = fmt.Sprintf("line %d: %v", i+1, err)
			break
		}
	}
	if msg != "" {
		obj["status"] = "failed"
		obj["errors"] = map[string]any{"object": "list", "data": []map[string]any{{"code": "invalid_request", "message": msg, "line": nil}}}
		fb.done = true
	} else {
		obj["status"] = "in_progress"
		obj["request_counts"] = map[string]int{"total": len(lines), "completed": 0, "failed": 0}
		s.stats.Lines += int64(len(lines))
		for _, l := range lines {
			var in struct {
				Body json.RawMessage `json:"body"`
			}
			_ = json.Unmarshal([]byte(l), &in)
			if rq, err := decodeRequest(in.Body); err == nil {
				s.stats.ByHash[rq.Hash]++
			}
		}
	}
	s.mu.Unlock()
	s.json(w, obj)
}

// advance completes a batch whose delay has passed, answering its lines.
func (s *BatchServer) advance(fb *fakeBatch) {
	if fb.done || (!fb.cancelled && time.Since(fb.created) < s.cfg.Delay) {
		return
	}
	fb.done = true
	var out, errs strings.Builder
	completed, failed := 0, 0
	for _, l := range strings.Split(strings.TrimSpace(string(fb.input)), "\n") {
		var in struct {
			CustomID string          `json:"custom_id"`
			Body     json.RawMessage `json:"body"`
		}
		_ = json.Unmarshal([]byte(l), &in)
		n := s.arrived
		s.arrived++
		if fb.cancelled || (s.cfg.Expire != nil && s.cfg.Expire(n, in.CustomID)) {
			code, msg := "batch_expired", "This request could not be executed before the completion window expired."
			if fb.cancelled {
				code, msg = "batch_cancelled", "This request was cancelled."
			}
			s.stats.Expired++
			failed++
			b, _ := json.Marshal(map[string]any{"id": "batch_req_" + in.CustomID, "custom_id": in.CustomID, "response": nil,
				"error": map[string]string{"code": code, "message": msg}})
			errs.Write(b)
			errs.WriteByte('\n')
			continue
		}
		rq, _ := decodeRequest(in.Body)
		rep, err := s.h.answer(context.Background(), rq)
		if err != nil {
			failed++
			b, _ := json.Marshal(map[string]any{"id": "batch_req_" + in.CustomID, "custom_id": in.CustomID,
				"response": map[string]any{"status_code": 500, "request_id": "req_x", "body": json.RawMessage(errorJSON("server_error", "", err.Error()))},
				"error":    nil})
			errs.Write(b)
			errs.WriteByte('\n')
			continue
		}
		in0, out0 := rep.InputTokens, rep.OutputTokens
		if in0 == 0 {
			chars := 0
			for _, m := range rq.Messages {
				chars += len(m.Content)
			}
			in0 = (chars + 3) / 4
		}
		if out0 == 0 {
			out0 = max(1, (len(rep.Text)+3)/4)
		}
		finish := rep.FinishReason
		if finish == "" {
			finish = "stop"
		}
		resp := wireResponse{ID: "chatcmpl-b" + in.CustomID, Object: "chat.completion", Created: time.Now().Unix(), Model: rq.Model,
			Choices: []wireChoice{{Message: &wireOutMsg{Role: providers.RoleAssistant, Content: rep.Text}, FinishReason: &finish}},
			Usage:   &wireUsage{PromptTokens: in0, CompletionTokens: out0, TotalTokens: in0 + out0}}
		body, _ := jsonMarshal(resp)
		b, _ := json.Marshal(map[string]any{"id": "batch_req_" + in.CustomID, "custom_id": in.CustomID,
			"response": map[string]any{"status_code": 200, "request_id": "req_" + in.CustomID, "body": json.RawMessage(body)}, "error": nil})
		out.Write(b)
		out.WriteByte('\n')
		completed++
		s.stats.Answered++
		s.stats.InputTokens += int64(in0)
		s.stats.OutputTokens += int64(out0)
	}
	id := fb.obj["id"].(string)
	if out.Len() > 0 {
		s.files["file-out-"+id] = []byte(out.String())
		fb.obj["output_file_id"] = "file-out-" + id
	}
	if errs.Len() > 0 {
		s.files["file-err-"+id] = []byte(errs.String())
		fb.obj["error_file_id"] = "file-err-" + id
	}
	fb.obj["status"] = "completed"
	if fb.cancelled {
		fb.obj["status"] = "cancelled"
	}
	rc := fb.obj["request_counts"].(map[string]int)
	fb.obj["request_counts"] = map[string]int{"total": rc["total"], "completed": completed, "failed": failed}
}

func (s *BatchServer) get(w http.ResponseWriter, id string) {
	s.mu.Lock()
	fb, ok := s.batches[id]
	if ok {
		s.advance(fb)
	}
	var obj []byte
	if ok {
		obj, _ = json.Marshal(fb.obj)
	}
	s.mu.Unlock()
	if !ok {
		s.fail(w, http.StatusNotFound, "No such Batch object: "+id)
		return
	}
	s.h.write(w, http.StatusOK, "application/json", obj)
}

func (s *BatchServer) cancel(w http.ResponseWriter, id string) {
	s.mu.Lock()
	fb, ok := s.batches[id]
	if ok && !fb.done {
		fb.cancelled = true
		fb.obj["status"] = "cancelling"
	}
	var obj []byte
	if ok {
		obj, _ = json.Marshal(fb.obj)
	}
	s.mu.Unlock()
	if !ok {
		s.fail(w, http.StatusNotFound, "No such Batch object: "+id)
		return
	}
	s.h.write(w, http.StatusOK, "application/json", obj)
}

func (s *BatchServer) list(w http.ResponseWriter) {
	s.mu.Lock()
	data := make([]map[string]any, 0, len(s.order))
	for i := len(s.order) - 1; i >= 0; i-- {
		data = append(data, s.batches[s.order[i]].obj)
	}
	b, _ := json.Marshal(map[string]any{"object": "list", "data": data, "has_more": false})
	s.mu.Unlock()
	s.h.write(w, http.StatusOK, "application/json", b)
}
