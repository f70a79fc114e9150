package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/rebound-lab/rebound/providers"
	"github.com/rebound-lab/rebound/providers/internal/wire"
)

// batchPresets are the presets whose servers speak OpenAI's batch format
// (POST /files with a JSONL of {custom_id, method, url, body}, POST
// /batches, GET /batches/{id}, GET /files/{id}/content), with the file
// purpose each expects. openai-compatible servers opt in with
// OPENAI_COMPATIBLE_BATCH=1. Fireworks' batch inference is a different API
// (datasets and batch jobs), so it is not listed.
var batchPresets = map[string]string{
	"openai":    "batch",     // platform.openai.com/docs/api-reference/batch
	"groq":      "batch",     // console.groq.com/docs/batch
	"together":  "batch-api", // docs.together.ai/docs/batch-inference
	GenericName: "batch",
}

var (
	_ providers.BatchAPI     = (*Client)(nil)
	_ providers.BatchFinder  = (*Client)(nil)
	_ providers.BatchCapable = (*Client)(nil)
)

// BatchSupport reports whether the client can send batches: nil for
// openai, groq and together, and for openai-compatible when
// OPENAI_COMPATIBLE_BATCH=1 (the server must implement OpenAI's batch
// API); an error wrapping providers.ErrNoBatchAPI otherwise.
func (c *Client) BatchSupport() error {
	if _, ok := batchPresets[c.preset.Name]; !ok {
		return fmt.Errorf("%w: provider %s has no OpenAI-format batch API (batch-capable presets: openai, groq, together; openai-compatible with %s_BATCH=1); run it without -batch",
			providers.ErrNoBatchAPI, c.preset.Name, strings.ToUpper(strings.ReplaceAll(GenericName, "-", "_")))
	}
	if c.preset.Name == GenericName && os.Getenv("OPENAI_COMPATIBLE_BATCH") != "1" {
		return fmt.Errorf("%w: openai-compatible servers must opt in: set OPENAI_COMPATIBLE_BATCH=1 if %s implements /files and /batches", providers.ErrNoBatchAPI, c.baseURL)
	}
	return nil
}

// through returns a copy of c whose HTTP calls go to d.
func (c *Client) through(d Doer) *Client {
	cc := *c
	cfg := goopenai.DefaultConfig(c.key)
	cfg.BaseURL = c.baseURL
	cfg.HTTPClient = &doer{inner: d, header: c.header}
	cc.api = goopenai.NewClientWithConfig(cfg)
	return &cc
}

// BatchBody returns what the live Complete would send for req: the URL
// path relative to the API root's version ("/v1/chat/completions", or
// "/v1/completions" for the raw_completion dialect) and the exact body
// bytes. It runs the live path up to the network, so every dialect, knob
// and Extra field is encoded by the same code.
func (c *Client) BatchBody(ctx context.Context, req providers.Request) (path string, body []byte, err error) {
	d := &wire.Capture{}
	_, err = c.through(d).Complete(ctx, req)
	if !errors.Is(err, wire.ErrCaptured) {
		if err == nil {
			err = errors.New("openai: the live path sent nothing")
		}
		return "", nil, err
	}
	base, _ := url.Parse(c.baseURL)
	p := strings.TrimPrefix(d.Path, strings.TrimRight(base.Path, "/"))
	return "/v1" + p, d.Body, nil
}

// batchLineIn is one line of the input JSONL (OpenAI's BatchRequestInput).
type batchLineIn struct {
	CustomID string          `json:"custom_id"`
	Method   string          `json:"method"`
	URL      string          `json:"url"`
	Body     json.RawMessage `json:"body"`
}

// batchObject is OpenAI's Batch (Together wraps it in {"job": ...} and
// writes the status in capitals).
type batchObject struct {
	ID            string            `json:"id"`
	Status        string            `json:"status"`
	InputFileID   string            `json:"input_file_id"`
	OutputFileID  string            `json:"output_file_id"`
	ErrorFileID   string            `json:"error_file_id"`
	Metadata      map[string]string `json:"metadata"`
	RequestCounts struct {
		Total     int `json:"total"`
		Completed int `json:"completed"`
		Failed    int `json:"failed"`
	} `json:"request_counts"`
	Errors *struct {
		Data []struct {
			Code    string `json:"code"`
			Message string `json:"message"`
			Line    *int   `json:"line"`
		} `json:"data"`
	} `json:"errors"`
	Job *batchObject `json:"job"`
}

// tokenKey is the metadata key holding Rebound's batch token.
const tokenKey = "rebound_token"

// call sends one batch-API request and decodes a JSON reply into out (nil:
// return the raw body).
func (c *Client) call(ctx context.Context, method, path, contentType string, body []byte, out any) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	r, err := http.NewRequestWithContext(ctx, method, c.baseURL+path, rd)
	if err != nil {
		return nil, fmt.Errorf("openai: %s batch: %w", c.preset.Name, err)
	}
	for k, vs := range c.header {
		r.Header[k] = slices.Clone(vs)
	}
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	if c.key != "" {
		r.Header.Set("Authorization", "Bearer "+c.key)
	}
	hc := c.httpClient()
	resp, err := hc.Do(r)
	if err != nil {
		return nil, fmt.Errorf("openai: %s batch %s %s: %w", c.preset.Name, method, path, err)
	}
	data, err := wire.ReadBody(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("openai: %s batch %s %s: HTTP %d: %w", c.preset.Name, method, path, resp.StatusCode, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, wire.ErrorFromResponse(c.preset.Name, c.model, resp.StatusCode, resp.Header, data, c.now())
	}
	if out == nil {
		return data, nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return nil, wire.BadShape(c.preset.Name, c.model, resp.StatusCode, resp.Header, err)
	}
	return data, nil
}

// httpClient returns the HTTP client the live path uses.
func (c *Client) httpClient() Doer {
	if c.hc != nil {
		return c.hc
	}
	return &http.Client{}
}

// SubmitBatch uploads items as a JSONL file (multipart, purpose "batch" or
// the preset's) and creates a batch for the chat-completions endpoint with
// a 24h window, tagging it with token in its metadata.
func (c *Client) SubmitBatch(ctx context.Context, token string, items []providers.BatchItem) (string, error) {
	if err := c.BatchSupport(); err != nil {
		return "", err
	}
	var jsonl bytes.Buffer
	endpoint := ""
	for _, it := range items {
		path, body, err := c.BatchBody(ctx, it.Request)
		if err != nil {
			return "", fmt.Errorf("openai: %s batch line %s: %w", c.preset.Name, it.CustomID, err)
		}
		if endpoint == "" {
			endpoint = path
		} else if endpoint != path {
			return "", fmt.Errorf("openai: %s batch mixes %s and %s requests: %w", c.preset.Name, endpoint, path, providers.ErrUnsupported)
		}
		line, err := json.Marshal(batchLineIn{CustomID: it.CustomID, Method: http.MethodPost, URL: path, Body: body})
		if err != nil {
			return "", err
		}
		jsonl.Write(line)
		jsonl.WriteByte('\n')
	}
	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	if err := mw.WriteField("purpose", batchPresets[c.preset.Name]); err != nil {
		return "", err
	}
	fw, err := mw.CreateFormFile("file", token+".jsonl")
	if err != nil {
		return "", err
	}
	fw.Write(jsonl.Bytes())
	if err := mw.Close(); err != nil {
		return "", err
	}
	var file struct {
		ID string `json:"id"`
	}
	if _, err := c.call(ctx, http.MethodPost, "/files", mw.FormDataContentType(), form.Bytes(), &file); err != nil {
		return "", err
	}
	if file.ID == "" {
		return "", wire.BadShape(c.preset.Name, c.model, http.StatusOK, nil, errors.New("file upload returned no id"))
	}
	create, _ := json.Marshal(map[string]any{"input_file_id": file.ID, "endpoint": endpoint, "completion_window": "24h",
		"metadata": map[string]string{tokenKey: token}})
	var b batchObject
	if _, err := c.call(ctx, http.MethodPost, "/batches", "application/json", create, &b); err != nil {
		return "", err
	}
	if b.Job != nil {
		b = *b.Job
	}
	if b.ID == "" {
		return "", wire.BadShape(c.preset.Name, c.model, http.StatusOK, nil, errors.New("batch create returned no id"))
	}
	return b.ID, nil
}

func (c *Client) getBatch(ctx context.Context, id string) (batchObject, error) {
	var b batchObject
	if _, err := c.call(ctx, http.MethodGet, "/batches/"+url.PathEscape(id), "", nil, &b); err != nil {
		return b, err
	}
	if b.Job != nil {
		b = *b.Job
	}
	return b, nil
}

// PollBatch maps the batch's status: validating, in_progress, finalizing
// and cancelling are running; completed, expired and cancelled are ended
// (their lines are in the output and error files); failed is failed.
func (c *Client) PollBatch(ctx context.Context, id string) (providers.BatchStatus, error) {
	b, err := c.getBatch(ctx, id)
	if err != nil {
		return providers.BatchStatus{}, err
	}
	st := providers.BatchStatus{Total: b.RequestCounts.Total, Succeeded: b.RequestCounts.Completed, Failed: b.RequestCounts.Failed}
	switch strings.ToLower(b.Status) {
	case "completed", "expired", "cancelled", "canceled":
		st.State = providers.BatchEnded
	case "failed":
		st.State = providers.BatchFailed
		var msgs []string
		if b.Errors != nil {
			for _, e := range b.Errors.Data {
				m := e.Code + ": " + e.Message
				if e.Line != nil {
					m = fmt.Sprintf("line %d: %s", *e.Line, m)
				}
				msgs = append(msgs, m)
			}
		}
		st.Message = strings.Join(msgs, "; ")
		if st.Message == "" {
			st.Message = "the provider reported the batch failed"
		}
	default:
		st.State = providers.BatchRunning
	}
	return st, nil
}

// batchLineOut is one line of the output or error file (OpenAI's
// BatchRequestOutput).
type batchLineOut struct {
	ID       string `json:"id"`
	CustomID string `json:"custom_id"`
	Response *struct {
		StatusCode int             `json:"status_code"`
		RequestID  string          `json:"request_id"`
		Body       json.RawMessage `json:"body"`
	} `json:"response"`
	Error *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// BatchResults downloads the output and error files and decodes each line
// through the live path (so prefill echoes, usage and costs are read the
// same way): a 200 line becomes its Completion, a non-200 line the
// *providers.APIError the live call would have returned, a line with an
// error code batch_expired or batch_cancelled an error wrapping
// providers.ErrBatchExpired.
func (c *Client) BatchResults(ctx context.Context, id string, items []providers.BatchItem) ([]providers.BatchLine, error) {
	b, err := c.getBatch(ctx, id)
	if err != nil {
		return nil, err
	}
	reqs := make(map[string]providers.Request, len(items))
	for _, it := range items {
		reqs[it.CustomID] = it.Request
	}
	var out []providers.BatchLine
	for _, fid := range []string{b.OutputFileID, b.ErrorFileID} {
		if fid == "" {
			continue
		}
		data, err := c.call(ctx, http.MethodGet, "/files/"+url.PathEscape(fid)+"/content", "", nil, nil)
		if err != nil {
			return nil, err
		}
		lines, err := parseBatchOutput(data)
		if err != nil {
			return nil, fmt.Errorf("openai: %s batch %s file %s: %w", c.preset.Name, id, fid, err)
		}
		for _, l := range lines {
			req, ok := reqs[l.CustomID]
			if !ok {
				continue
			}
			out = append(out, c.decodeLine(ctx, id, req, l))
		}
	}
	return out, nil
}

// parseBatchOutput parses an output or error file: one JSON object per
// line; blank lines are skipped; a malformed line is an error naming it.
func parseBatchOutput(data []byte) ([]batchLineOut, error) {
	return wire.Lines(data, func(l batchLineOut) error {
		if l.CustomID == "" {
			return errors.New("no custom_id")
		}
		return nil
	})
}

func (c *Client) decodeLine(ctx context.Context, id string, req providers.Request, l batchLineOut) providers.BatchLine {
	bl := providers.BatchLine{CustomID: l.CustomID}
	if l.Response == nil {
		code, msg := "", "no response"
		if l.Error != nil {
			code, msg = l.Error.Code, l.Error.Message
		}
		switch code {
		case "batch_expired", "batch_cancelled", "batch_canceled":
			bl.Err = fmt.Errorf("openai: %s batch %s line %s: %s: %w", c.preset.Name, id, l.CustomID, msg, providers.ErrBatchExpired)
		default:
			bl.Err = &providers.APIError{Provider: c.preset.Name, Model: req.Model, StatusCode: http.StatusOK, Code: code,
				Type: "batch_line_error", Message: msg, Retryable: false}
		}
		return bl
	}
	_, want, err := c.BatchBody(ctx, req)
	if err != nil {
		bl.Err = err
		return bl
	}
	status := l.Response.StatusCode
	if status == 0 {
		status = http.StatusOK
	}
	start := time.Now()
	comp, err := c.through(&wire.Replay{Want: want, Status: status, Body: l.Response.Body}).Complete(ctx, req)
	comp.Latency = time.Since(start)
	bl.Completion, bl.Err = comp, err
	return bl
}

// CancelBatch cancels the batch (POST /batches/{id}/cancel).
func (c *Client) CancelBatch(ctx context.Context, id string) error {
	_, err := c.call(ctx, http.MethodPost, "/batches/"+url.PathEscape(id)+"/cancel", "application/json", []byte("{}"), nil)
	return err
}

// FindBatch lists recent batches (GET /batches, newest first, up to 100)
// and returns the one whose metadata holds token.
func (c *Client) FindBatch(ctx context.Context, rec providers.BatchRecord) (string, bool, error) {
	token := rec.Token
	var list struct {
		Data []batchObject `json:"data"`
	}
	if _, err := c.call(ctx, http.MethodGet, "/batches?limit=100", "", nil, &list); err != nil {
		return "", false, err
	}
	for _, b := range list.Data {
		if b.Metadata[tokenKey] == token {
			return b.ID, true, nil
		}
	}
	return "", false, nil
}
